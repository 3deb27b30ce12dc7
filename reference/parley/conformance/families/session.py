"""The session family: scripted Double Ratchet sessions."""

from __future__ import annotations

from ...bundle import Bundle, InstallationPreKeys
from ...keys import IdentityKeyPair
from ...local.v1 import state_pb2
from ...v1 import wire_pb2 as wire
from .common import (
    DAY,
    LOW_ORDER,
    LOW_ORDER_1,
    NOW,
    h,
    text,
)
from .scenarios import (
    R_SESSION,
    Build,
    bad_padding_message,
    scenario_file,
    tamper,
    two,
)


def session_scenarios() -> list[dict]:
    out = []

    b = Build(
        "session/in-order-with-ratchet-turns",
        "A sends 3, B replies 2, A sends 2",
        ["InOrder", "RatchetTurns", "X3dhHeader"],
        [*R_SESSION, "RATCHET-033", "X3DH-020", "PREKEY-005"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[1])
    b.recv("ba", m[2])
    r = [b.send("ba", f"bob {i}") for i in range(2)]
    b.recv("ab", r[0])
    b.recv("ab", r[1])
    m2 = [b.send("ab", f"alice again {i}") for i in range(2)]  # no X3DH header any more
    b.recv("ba", m2[0])
    b.recv("ba", m2[1])
    out.append(b.done())

    b = Build(
        "session/without-one-time-prekey",
        "X3DH with three DH outputs",
        ["InOrder"],
        [*R_SESSION, "X3DH-010"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    b.respond("bob", "ba", "alice", b.send("ab", "hi"))
    b.recv("ab", b.send("ba", "hello"))
    out.append(b.done())

    b = Build(
        "session/superseded-signed-prekey",
        "B rotated; A used the old bundle within the grace period",
        ["PreKeys"],
        [*R_SESSION, "PREKEY-001", "PREKEY-004"],
    )
    b.party("alice")
    b.party("bob", old_spk=True)
    # the bundle Bob signed before the rotation: a twin installation whose current
    # signed prekey is the one now superseded
    twin = dict(b.test["parties"]["bob"])
    b.test["parties"]["bob-old"] = {**twin, "signedPreKeys": [twin["signedPreKeys"][1]]}
    # signed an hour before the rotation: the old prekey was 7 days less an hour
    # old, so PREKEY-001 did not yet require a new one
    bun = b.bundle("bob-old", name="old-bundle", now=NOW - 2 * DAY - 3600)
    b.initiate("alice", "ab", bun, "bob")
    b.respond("bob", "ba", "alice", b.send("ab", "to your old prekey"))
    out.append(b.done())

    b = Build(
        "session/out-of-order-in-chain",
        "m2, m0, m1 of one chain",
        ["OutOfOrder", "SkippedKeys"],
        [*R_SESSION, "RATCHET-031", "RATCHET-032"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[2])
    b.recv("ba", m[0])
    b.recv("ba", m[1])
    out.append(b.done())

    b = Build(
        "session/out-of-order-across-turn",
        "a late message of the previous chain arrives after the next chain's first (PN)",
        ["OutOfOrder", "SkippedKeys", "RatchetTurns"],
        [*R_SESSION, "RATCHET-033", "RATCHET-031"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ab", b.send("ba", "bob"))
    late = b.send("ab", "alice new chain")
    b.recv("ba", late)
    b.recv("ba", m[2])
    b.recv("ba", m[1])
    out.append(b.done())

    b = Build(
        "session/skipped-key-used-once",
        "a late message decrypts once; its second copy is a duplicate",
        ["SkippedKeys", "Duplicate", "StateUnchanged"],
        ["RATCHET-032", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[2])
    b.recv("ba", m[1])
    b.recv("ba", m[1], expect="DUPLICATE_MESSAGE")
    b.recv("ba", b.send("ab", "still fine"))
    out.append(b.done())

    b = Build(
        "session/duplicate-in-chain",
        "a message delivered twice in order",
        ["Duplicate", "StateUnchanged"],
        ["RATCHET-036", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(2)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[1])
    b.recv("ba", m[1], expect="DUPLICATE_MESSAGE")
    b.recv("ba", b.send("ab", "next"))
    out.append(b.done())

    b = Build(
        "session/duplicate-retired-chain",
        "a copy of a message of a chain that was replaced",
        ["Duplicate", "RatchetTurns", "StateUnchanged"],
        ["RATCHET-036", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(2)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[1])
    b.recv("ab", b.send("ba", "bob"))
    b.recv("ba", b.send("ab", "alice chain 2"))
    b.recv("ba", m[1], expect="DUPLICATE_MESSAGE")
    b.recv("ba", b.send("ab", "still fine"))
    out.append(b.done())

    b = Build(
        "session/max-skip-at-limit",
        "message 1000 first: exactly MAX_SKIP keys skipped",
        ["MaxSkip", "SkippedKeys"],
        ["RATCHET-034", "RATCHET-031"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    first = b.send("ab", "first")
    b.respond("bob", "ba", "alice", first)
    b.recv("ab", b.send("ba", "reply"))
    m0 = b.send("ab", "n=0")
    far = b.send("ab", "n=1000", count=1000)  # messages 1..1000; the last is kept
    b.recv("ba", far)
    b.recv("ba", m0)
    out.append(b.done())

    b = Build(
        "session/max-skip-exceeded",
        "after message 0, message 1002 would skip "
        "MAX_SKIP + 1 keys; message 1001 (MAX_SKIP keys) is then accepted",
        ["MaxSkip", "StateUnchanged"],
        ["RATCHET-034", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    b.recv("ba", b.send("ab", "n=0"))
    b.send("ab", "n=1..1000", count=1000)
    x = b.send("ab", "n=1001")
    y = b.send("ab", "n=1002")
    b.recv("ba", y, expect="TOO_MANY_SKIPPED_MESSAGES")
    b.recv("ba", x)
    out.append(b.done())

    b = Build(
        "session/max-skip-exceeded-new-chain",
        "the first message of a new chain has N = 1001",
        ["MaxSkip", "StateUnchanged", "RatchetTurns"],
        ["RATCHET-034", "RATCHET-033", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    m0 = b.send("ab", "n=0")
    far = b.send("ab", "n=1001", count=1001)
    b.recv("ba", far, expect="TOO_MANY_SKIPPED_MESSAGES")
    b.recv("ba", m0)
    out.append(b.done())

    for tc, comment, kw, reqs in (
        ("mac", "the last bit of the MAC flipped", {"mac": True}, ["RATCHET-013"]),
        ("ciphertext", "a bit of the ciphertext flipped", {"ciphertext": True}, ["RATCHET-013"]),
        (
            "header-n",
            "N changed in the header: a later key, then MAC failure",
            {"header": {"message_number": 5}},
            ["RATCHET-013", "RATCHET-030"],
        ),
        (
            "header-pn",
            "PN changed in the header",
            {"header": {"previous_chain_length": 3}},
            ["RATCHET-013", "RATCHET-030"],
        ),
        (
            "header-unknown-field",
            "an unknown field appended to the header bytes: the "
            "decoded header is the same, the bytes are not",
            {"header_extra": b"\x28\x01"},
            ["RATCHET-013", "RATCHET-030", "WIRE-003"],
        ),
        (
            "header-version",
            "version 1 changed to 2 (the reader reads 1 and 2)",
            {"header": {"version": 2}},
            ["VERSION-001", "RATCHET-013"],
        ),
    ):
        b = Build(
            f"session/tampered-{tc}",
            comment,
            ["Tampered", "StateUnchanged"],
            [*reqs, "RATCHET-040", "ERR-002"],
        )
        b.party("alice")
        b.party("bob", opks=1, policy=((1, 2), 1) if tc == "header-version" else None)
        bun = b.bundle("bob")
        b.initiate("alice", "ab", bun, "bob", opk=100)
        b.respond("bob", "ba", "alice", b.send("ab", "first"))
        m1 = b.send("ab", "second")
        b.recv("ba", raw=tamper(b.value(m1), **kw), expect="INVALID_MAC")
        b.recv("ba", m1)
        out.append(b.done())

    b = Build(
        "session/tampered-after-ratchet-turn",
        "a forged first message of a new chain changes nothing; the real one then decrypts",
        ["Tampered", "StateUnchanged", "RatchetTurns"],
        ["RATCHET-033", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    r1 = b.send("ba", "reply")
    b.recv("ab", raw=tamper(b.value(r1), mac=True), expect="INVALID_MAC")
    b.recv("ab", r1)
    out.append(b.done())

    b = Build(
        "session/bad-padding",
        "a correct MAC over a badly padded ciphertext",
        ["BadPadding", "StateUnchanged"],
        ["RATCHET-020", "RATCHET-040", "PROFILE-012", "ERR-002"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.step("exportSession", session="ab", name="alice-state")
    forged = bad_padding_message(b.value("alice-state"))
    b.recv("ba", raw=forged, expect="INVALID_PADDING")
    b.recv("ba", b.send("ab", "second"))
    out.append(b.done())

    # initial messages
    b = Build(
        "session/initial-tampered-x3dh-header",
        "unknown field appended to the X3DH "
        "header bytes: same SK, but the MAC covers the bytes as sent",
        ["Tampered", "X3dhHeader"],
        ["RATCHET-013", "X3DH-020", "PREKEY-005"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh_extra=b"\x30\x01"),
        expect="INVALID_MAC",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    b = Build(
        "session/initial-opk-removed",
        "the one-time prekey id removed from the X3DH "
        "header: another SK, and the prekey is not consumed",
        ["Tampered", "PreKeys"],
        ["X3DH-010", "PREKEY-005", "RATCHET-040", "X3DH-042"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=lambda x: x.ClearField("one_time_prekey_id")),
        expect="INVALID_MAC",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    b = Build(
        "session/initial-replayed",
        "the same initial message accepted twice",
        ["Replay"],
        ["X3DH-040", "RATCHET-040", "X3DH-042"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    m1 = b.send("ab", "first")
    b.respond("bob", "ba", "alice", m1)
    b.respond("bob", "ba2", "alice", m1, expect="REPLAYED_INITIAL_MESSAGE", unchanged=True)
    out.append(b.done())

    b = Build(
        "session/initial-replay-after-failure",
        "a forged initial message is not "
        "recorded by the replay guard; the real one is accepted afterwards",
        ["Replay", "Tampered"],
        ["X3DH-040"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), mac=True),
        expect="INVALID_MAC",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    b = Build(
        "session/one-time-prekey-used-twice",
        "a second initiator with the same one-time prekey after the first was accepted",
        ["PreKeys"],
        ["PREKEY-005", "X3DH-041"],
    )
    b.party("alice")
    b.party("alice2", same_account_as="alice")
    b.party("bob", opks=1)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.initiate("alice2", "a2b", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.respond(
        "bob", "ba2", "alice2", b.send("a2b", "second"), expect="UNKNOWN_PREKEY", unchanged=True
    )
    out.append(b.done())

    b = Build(
        "session/unknown-signed-prekey",
        "the X3DH header names a signed prekey Bob does not have",
        ["PreKeys"],
        ["X3DH-041"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=lambda x: setattr(x, "signed_prekey_id", 99)),
        expect="UNKNOWN_PREKEY",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    def low_order(x):
        x.ephemeral_key = LOW_ORDER

    b = Build(
        "session/initial-low-order-ephemeral",
        "the X3DH header's ephemeral key is a low-order point",
        ["LowOrderPoint"],
        ["X3DH-011", "X3DH-042", "PROFILE-010"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=low_order),
        expect="ZERO_SHARED_SECRET",
        unchanged=True,
    )
    b.respond("bob", "ba", "alice", m1)
    out.append(b.done())

    def bad_binding(x):
        sig = bytearray(x.initiator_identity.binding_signature)
        sig[0] ^= 1
        x.initiator_identity.binding_signature = bytes(sig)

    def unknown_spk(x):
        x.signed_prekey_id = 999

    def low_order_ek(x):
        x.ephemeral_key = LOW_ORDER

    order = ["X3DH-043"]
    b = Build(
        "session/respond-order/replay-before-prekey",
        "an accepted initial message that used a one-time prekey, offered again: the replay "
        "guard comes before the prekey lookup (the one-time prekey is deleted)",
        ["Replay", "CheckOrder"],
        [*order, "X3DH-040", "PREKEY-005"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond("bob", "ba", "alice", m1)
    b.respond("bob", "ba2", "alice", m1, expect="REPLAYED_INITIAL_MESSAGE", unchanged=True)
    out.append(b.done())

    b = Build(
        "session/respond-order/binding-before-replay",
        "an accepted initial message offered again with its initiator's binding broken: the "
        "binding comes before the replay guard",
        ["Replay", "CheckOrder"],
        [*order, "KEYS-003"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    m1 = b.send("ab", "first")
    b.respond("bob", "ba", "alice", m1)
    b.respond(
        "bob",
        "ba2",
        "alice",
        raw=tamper(b.value(m1), x3dh=bad_binding),
        expect="INVALID_IDENTITY_BINDING",
        unchanged=True,
    )
    out.append(b.done())

    b = Build(
        "session/respond-order/binding-before-prekey",
        "a broken binding and an unknown signed prekey: the binding first",
        ["BadBinding", "CheckOrder"],
        order,
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    m1 = b.send("ab", "first")

    def both(x):
        bad_binding(x)
        unknown_spk(x)

    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=both),
        expect="INVALID_IDENTITY_BINDING",
        unchanged=True,
    )
    out.append(b.done())

    b = Build(
        "session/respond-order/prekey-before-dh",
        "an unknown signed prekey and a low-order EK_A: the prekey lookup comes before any DH",
        ["LowOrderPoint", "CheckOrder"],
        [*order, "X3DH-041"],
    )
    bun = two(b, opks=0)
    b.initiate("alice", "ab", bun, "bob")
    m1 = b.send("ab", "first")

    def prekey_and_point(x):
        unknown_spk(x)
        low_order_ek(x)

    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=prekey_and_point),
        expect="UNKNOWN_PREKEY",
        unchanged=True,
    )
    out.append(b.done())

    b = Build(
        "session/initial-bad-identity-binding",
        "the initiator identity's binding signature fails",
        ["Tampered"],
        ["KEYS-003"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m1 = b.send("ab", "first")
    b.respond(
        "bob",
        "ba",
        "alice",
        raw=tamper(b.value(m1), x3dh=bad_binding),
        expect="INVALID_IDENTITY_BINDING",
        unchanged=True,
    )
    out.append(b.done())

    b = Build(
        "session/respond-without-x3dh-header",
        "Respond to a message that is not an initial message",
        ["X3dhHeader"],
        ["X3DH-020"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    b.respond(
        "bob", "ba2", "alice", b.send("ab", "plain"), expect="MALFORMED_MESSAGE", unchanged=True
    )
    out.append(b.done())

    b = Build(
        "session/foreign-x3dh-header",
        "an initial message of another session is delivered to an existing session",
        ["X3dhHeader", "StateUnchanged"],
        ["X3DH-020", "RATCHET-040", "X3DH-021", "ERR-002"],
    )
    b.party("alice")
    b.party("bob", opks=0)
    bun = b.bundle("bob")
    b.initiate("alice", "ab", bun, "bob")
    b.initiate("alice", "ab2", bun, "bob")
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ba", b.send("ab2", "other session"), expect="MALFORMED_MESSAGE")
    b.recv("ba", b.send("ab", "second"))
    out.append(b.done())

    # bundles at session start
    for tc, now, _, want, comment, reqs in (
        (
            "stale-bundle",
            NOW + 31 * DAY,
            {},
            "BUNDLE_STALE",
            "the bundle is 31 days old",
            ["BUNDLE-020"],
        ),
        (
            "future-bundle",
            NOW - 600,
            {},
            "BUNDLE_TIMESTAMP_IN_FUTURE",
            "the bundle is signed 10 minutes ahead of the initiator's clock",
            ["BUNDLE-020"],
        ),
    ):
        b = Build(f"session/initiate-{tc}", comment, ["BundleCheck"], [*reqs, "X3DH-001"])
        bun = two(b)
        b.initiate("alice", "ab", bun, "bob", opk=100, now=now, expect=want)
        b.initiate("alice", "ab", bun, "bob", opk=100, now=NOW + DAY)
        out.append(b.done())

    b = Build(
        "session/initiate-unknown-installation",
        "the bundle has no entry for the installation asked for",
        ["BundleCheck"],
        ["X3DH-001", "BUNDLE-001"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "00" * 16, expect="UNKNOWN_INSTALLATION")
    out.append(b.done())

    b = Build(
        "session/initiate-unknown-one-time-prekey",
        "a one-time prekey id the bundle does not offer",
        ["BundleCheck", "PreKeys"],
        ["X3DH-001", "X3DH-041"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=7, expect="UNKNOWN_PREKEY")
    out.append(b.done())

    b = Build(
        "session/initiate-bad-signature",
        "a bundle whose signature fails",
        ["BundleCheck"],
        ["BUNDLE-011", "X3DH-001"],
    )
    bun = two(b)
    pb = wire.Bundle.FromString(b.value(bun))
    sig = bytearray(pb.signature)
    sig[1] ^= 4
    pb.signature = bytes(sig)
    b.initiate(
        "alice",
        "ab",
        None,
        "bob",
        bundle_hex=pb.SerializeToString(deterministic=True),
        expect="BUNDLE_SIGNATURE_INVALID",
    )
    out.append(b.done())

    b = Build(
        "session/initiate-low-order-signed-prekey",
        "a validly signed bundle whose signed prekey is a low-order point",
        ["BundleCheck", "LowOrderPoint"],
        ["X3DH-011"],
    )
    b.party("alice")
    bob = b.party("bob")
    ident = IdentityKeyPair.from_private_bytes(
        bytes.fromhex(bob["signingPrivateKey"]), bytes.fromhex(bob["dhPrivateKey"])
    )
    entry = InstallationPreKeys(bytes.fromhex(bob["installationId"]), 1, LOW_ORDER_1, (1,))
    bad = Bundle.create(ident, [entry], NOW).to_bytes()
    b.initiate("alice", "ab", None, "bob", bundle_hex=bad, expect="ZERO_SHARED_SECRET")
    out.append(b.done())

    # state
    b = Build(
        "session/export-import-continue",
        "B's state is exported mid-session and imported; the import continues the session",
        ["StateExport", "SkippedKeys"],
        ["STORE-010", "STORE-004", "RATCHET-031"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m = [b.send("ab", f"alice {i}") for i in range(3)]
    b.respond("bob", "ba", "alice", m[0])
    b.recv("ba", m[2])
    b.step("exportSession", session="ba", name="saved")
    b.step("importSession", party="bob", input="saved", session="ba-restored")
    b.recv("ba-restored", m[1])
    b.recv("ab", b.send("ba-restored", "from the restored session"))
    out.append(b.done())

    b = Build(
        "session/import-newer-format",
        "a state record of format_version 2",
        ["StateExport"],
        ["STORE-010"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.step("exportSession", session="ab", name="saved")
    record = state_pb2.SessionState.FromString(b.value("saved"))
    record.format_version = 2
    b.step(
        "importSession",
        "STATE_FORMAT",
        party="alice",
        inputHex=h(record.SerializeToString()),
        session="x",
    )
    b.step("importSession", "STATE_FORMAT", party="alice", inputHex="0aff", session="y")
    out.append(b.done())

    b = Build(
        "session/encrypt-without-sending-chain",
        "a session state with no sending chain cannot encrypt",
        ["LocalMisuse", "StateExport"],
        ["RATCHET-002", "ERR-001"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.step("exportSession", session="ab", name="saved")
    record = state_pb2.SessionState.FromString(b.value("saved"))
    record.ClearField("sending_chain_key")
    record.sending_message_number = 0
    b.step(
        "importSession", party="alice", inputHex=h(record.SerializeToString()), session="no-chain"
    )
    b.step("encrypt", "SESSION_STATE", session="no-chain", plaintext=text("x"), name="never")
    out.append(b.done())

    # MAX_SKIP on the old chain when a new ratchet key arrives (RATCHET-034)
    for tc, skipped, expect in (
        ("session/max-skip-old-chain-at-limit", 1000, "ok"),
        ("session/max-skip-old-chain-exceeded", 1001, "TOO_MANY_SKIPPED_MESSAGES"),
    ):
        b = Build(
            tc,
            f"A's chain holds {skipped} messages B never got; A's next chain (PN = "
            f"{skipped + 1}) makes B skip {skipped} keys of the old chain",
            ["MaxSkip", "RatchetTurns"] + (["StateUnchanged"] if expect != "ok" else []),
            ["RATCHET-034", "RATCHET-033"] + (["RATCHET-040"] if expect != "ok" else []),
        )
        bun = two(b)
        b.initiate("alice", "ab", bun, "bob", opk=100)
        b.respond("bob", "ba", "alice", b.send("ab", "first"))
        b.recv("ab", b.send("ba", "reply"))
        b.recv("ba", b.send("ab", "chain 1, n=0"))
        b.send("ab", "lost", count=skipped)
        b.recv("ab", b.send("ba", "bob again"))
        b.recv("ba", b.send("ab", "chain 2, n=0"), expect=expect)
        out.append(b.done())

    # the total bound evicts the oldest skipped keys first (RATCHET-035)
    b = Build(
        "session/skipped-keys-evict-oldest",
        "B holds 2000 skipped keys (1000 of A's chain 1, then 1000 of chain 2); 5 more of "
        "chain 3 evict the 5 oldest (chain 1, n = 0..4): n = 0 is then a duplicate, while "
        "n = 5 of chain 1 and n = 0 of chain 3 still decrypt",
        ["SkippedKeys", "RatchetTurns"],
        ["RATCHET-035", "RATCHET-031", "RATCHET-036"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    c1 = [b.send("ab", f"chain 1, n={i}") for i in range(6)]
    b.recv("ba", b.send("ab", "chain 1, n=1000", count=995))
    b.recv("ab", b.send("ba", "turn"))
    b.send("ab", "chain 2", count=1000)
    b.recv("ba", b.send("ab", "chain 2, n=1000"))
    b.recv("ab", b.send("ba", "turn again"))
    c3 = b.send("ab", "chain 3, n=0")
    b.recv("ba", b.send("ab", "chain 3, n=5", count=5))
    b.recv("ba", c3)
    b.recv("ba", c1[0], expect="DUPLICATE_MESSAGE")
    b.recv("ba", c1[5])
    out.append(b.done())

    # only the 2 most recent retired chains are remembered (RATCHET-036)
    b = Build(
        "session/retired-chain-forgotten",
        "a copy of a message of A's chain 1 after chains 2, 3 and 4: chain 1 is no longer "
        "among the 2 retired chains, so the copy is taken for a new ratchet key and fails "
        "its MAC",
        ["Duplicate", "RatchetTurns", "StateUnchanged"],
        ["RATCHET-036", "RATCHET-040"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "first"))
    b.recv("ab", b.send("ba", "reply"))
    old = b.send("ab", "chain 1")
    b.recv("ba", old)
    for i in range(3):
        b.recv("ab", b.send("ba", f"turn {i}"))
        b.recv("ba", b.send("ab", f"chain {i + 2}"))
    b.recv("ba", old, expect="INVALID_MAC")
    b.recv("ba", b.send("ab", "still fine"))
    out.append(b.done())

    # the last message number of a sending chain (RATCHET-023)
    b = Build(
        "session/sending-chain-exhausted",
        "a saved session whose sending chain has reached N = 2^32 - 1: encrypting fails with "
        "SESSION_STATE; one number below, it still encrypts",
        ["LocalMisuse", "StateExport"],
        ["RATCHET-023", "ERR-001"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.step("exportSession", session="ab", name="saved")
    for number, session, expect in (
        (0xFFFFFFFF, "full", "SESSION_STATE"),
        (0xFFFFFFFE, "last", "ok"),
    ):
        record = state_pb2.SessionState.FromString(b.value("saved"))
        record.sending_message_number = number
        b.step(
            "importSession", party="alice", inputHex=h(record.SerializeToString()), session=session
        )
        b.step("encrypt", expect, session=session, plaintext=text("one more"), name=f"m-{session}")
    out.append(b.done())

    # a saved session whose identity binding does not verify (STORE-010, KEYS-003)
    b = Build(
        "session/import-bad-binding",
        "a saved session whose peer identity, then whose own identity, has a broken binding "
        "signature: both refused as STATE_FORMAT",
        ["StateExport", "BadBinding"],
        ["STORE-010", "KEYS-003"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.step("exportSession", session="ab", name="saved")
    for field_name, session in (("remote_identity", "x"), ("local_identity", "y")):
        record = state_pb2.SessionState.FromString(b.value("saved"))
        identity = bytearray(getattr(record, field_name))
        identity[64] ^= 1  # the first byte of the binding signature
        setattr(record, field_name, bytes(identity))
        b.step(
            "importSession",
            "STATE_FORMAT",
            party="alice",
            inputHex=h(record.SerializeToString()),
            session=session,
        )
    b.step("importSession", party="alice", input="saved", session="z")
    b.respond("bob", "ba", "alice", b.send("z", "the saved state is fine"))
    out.append(b.done())

    return out


def session_file() -> dict:
    return scenario_file(
        "session", "PARLEY-SESSION", "Scripted Double Ratchet sessions.", session_scenarios()
    )
