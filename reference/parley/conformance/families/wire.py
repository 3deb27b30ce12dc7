"""The wire family: decoding of ratchet messages and envelopes."""

from __future__ import annotations

from ...bundle import Bundle, InstallationPreKeys
from ...keys import IdentityKeyPair, InstallationKeys
from ...session import Session
from ...v1 import wire_pb2 as wire
from ...versioning import VersionPolicy
from .common import (
    NOW,
    F,
    Keys,
    _case,
    _file,
    _record,
    h,
)

# == wire codec ====================================================================

WIRE_NOTES = {
    "CopyReencoded": {
        "bugType": "FUNCTIONALITY",
        "description": "DecodeEnvelope gives each copy's body as the canonical encoding of the "
        "decoded sub-message, without unknown fields (WIRE-007).",
    },
    "CheckOrder": {
        "bugType": "FUNCTIONALITY",
        "description": "Two faults in one input: the spec's order of checks (WIRE-005, "
        "WIRE-006, WIRE-007) says which one gives the code.",
    },
    "Valid": {"bugType": "BASIC", "description": "A message as the reference sends it."},
    "Malformed": {
        "bugType": "CAN_OF_WORMS",
        "description": "Exactly one field breaks a rule of the wire format.",
    },
    "WrongLength": {"bugType": "CAN_OF_WORMS", "description": "A key of a wrong length."},
    "UnsupportedVersion": {"bugType": "FUNCTIONALITY", "description": "A version not read."},
    "TooLarge": {
        "bugType": "CAN_OF_WORMS",
        "description": "The message is 'message' followed by zero bytes up to 'paddedLength' "
        "bytes, above max_message_size; it is refused before it is parsed (WIRE-002).",
    },
    "UnknownField": {
        "bugType": "MALLEABILITY",
        "description": "An unknown protobuf field outside the MAC-covered bytes. Protobuf "
        "readers ignore it; a stricter reader may refuse it. Both are acceptable.",
    },
    "Fanout": {"bugType": "FUNCTIONALITY", "description": "An envelope with several copies."},
}


def _pair(k: Keys, policy_a=None, policy_b=None, opk=True):
    """A live session pair made with the core directly (for codec vectors)."""
    # CONF-003's order, party by party: identity, then installation
    alice = IdentityKeyPair.generate(k.rng)
    a_dev = InstallationKeys.generate(k.rng, NOW)
    bob = IdentityKeyPair.generate(k.rng)
    b_dev = InstallationKeys.generate(k.rng, NOW, one_time_prekeys=1 if opk else 0)
    pol_b = policy_b or VersionPolicy(frozenset({1}), 1)
    bundle = Bundle.create(bob, [InstallationPreKeys.of(b_dev, pol_b)], NOW)
    kw = {"policy": policy_a} if policy_a else {}
    opk_id = next(iter(b_dev.one_time_prekeys)) if opk else None
    a = Session.initiate(
        alice,
        a_dev.installation_id,
        bundle,
        b_dev.installation_id,
        now=NOW,
        rng=k.rng,
        one_time_prekey_id=opk_id,
        **kw,
    )
    return alice, bob, a_dev, b_dev, a


def _rebuild(message: bytes, **changes) -> bytes:
    pb = wire.RatchetMessage.FromString(message)
    header = wire.RatchetHeader.FromString(pb.header)
    for key, value in changes.items():
        if key in ("ratchet_key", "version", "previous_chain_length", "message_number"):
            setattr(header, key, value)
            pb.header = header.SerializeToString()
        else:
            setattr(pb, key, value)
    return pb.SerializeToString()


def wire_file() -> dict:
    k = Keys("wire")
    alice, bob, a_dev, b_dev, a = _pair(k)
    initial = a.encrypt(b"hello over the wire")
    b, _ = Session.respond(bob, b_dev, initial, a_dev.installation_id, rng=k.rng)
    a.decrypt(b.encrypt(b"reply"), k.rng)
    plain = a.encrypt(b"no X3DH header any more")
    v2_pol = VersionPolicy(frozenset({1, 2}), 2)
    *_, a2 = _pair(Keys("wire/v2"), v2_pol, v2_pol)
    v2 = a2.encrypt(b"version 2")
    ratchet = []

    def rcase(tc, comment, flags, reqs, message, expect="ok", acceptable=False, **extra):
        ratchet.append(
            (_case(tc, comment, flags, reqs, message=h(message), **extra), expect, acceptable)
        )

    W = ["WIRE-001"]
    rcase(
        "wire/ratchet/initial",
        "an initial message with its X3DH header",
        ["Valid"],
        ["X3DH-020", "RATCHET-030"],
        initial,
    )
    rcase(
        "wire/ratchet/plain",
        "a message after the first reply: no X3DH header",
        ["Valid"],
        ["X3DH-020", "RATCHET-030"],
        plain,
    )
    rcase(
        "wire/ratchet/version-2-read",
        "version 2, read by a policy that reads it",
        ["Valid"],
        ["VERSION-010", "VERSION-020"],
        v2,
        policy={"reads": [1, 2], "writes": 2},
    )
    rcase(
        "wire/ratchet/version-2-unread",
        "version 2, read by a v1-only reader",
        ["UnsupportedVersion"],
        ["VERSION-001", "VERSION-010"],
        v2,
        "UNSUPPORTED_VERSION",
    )
    rcase(
        "wire/ratchet/truncated",
        "cut in the middle of a field",
        ["Malformed"],
        W,
        plain[: len(plain) // 2],
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/header-not-protobuf",
        "the header bytes do not decode",
        ["Malformed"],
        W,
        _rebuild(plain, header=b"\x0a\xff"),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/short-ratchet-key",
        "a 31-byte ratchet key",
        ["WrongLength"],
        [*W, "KEYS-005"],
        _rebuild(plain, ratchet_key=bytes(31)),
        "INVALID_KEY",
    )
    rcase(
        "wire/ratchet/long-ratchet-key",
        "a 33-byte ratchet key",
        ["WrongLength"],
        [*W, "KEYS-005"],
        _rebuild(plain, ratchet_key=bytes(33)),
        "INVALID_KEY",
    )
    pb = wire.RatchetMessage.FromString(plain)
    rcase(
        "wire/ratchet/short-mac",
        "a 31-byte MAC",
        ["Malformed"],
        [*W, "PROFILE-011"],
        _rebuild(plain, mac=pb.mac[:31]),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/ciphertext-not-block-multiple",
        "a ciphertext of 15 bytes",
        ["Malformed"],
        [*W, "PROFILE-012"],
        _rebuild(plain, ciphertext=pb.ciphertext[:15]),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/empty-ciphertext",
        "no ciphertext",
        ["Malformed"],
        [*W, "PROFILE-012"],
        _rebuild(plain, ciphertext=b""),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/x3dh-not-protobuf",
        "the X3DH header bytes do not decode",
        ["Malformed"],
        W,
        _rebuild(initial, x3dh_header=b"\x12\xff"),
        "MALFORMED_MESSAGE",
    )
    x3 = wire.X3DHHeader.FromString(wire.RatchetMessage.FromString(initial).x3dh_header)
    no_id = wire.X3DHHeader()
    no_id.CopyFrom(x3)
    no_id.ClearField("initiator_identity")
    rcase(
        "wire/ratchet/x3dh-without-identity",
        "an X3DH header without the initiator identity",
        ["Malformed"],
        W,
        _rebuild(initial, x3dh_header=no_id.SerializeToString()),
        "MALFORMED_MESSAGE",
    )
    short_ek = wire.X3DHHeader()
    short_ek.CopyFrom(x3)
    short_ek.ephemeral_key = x3.ephemeral_key[:31]
    rcase(
        "wire/ratchet/x3dh-short-ephemeral",
        "a 31-byte ephemeral key",
        ["WrongLength"],
        W,
        _rebuild(initial, x3dh_header=short_ek.SerializeToString()),
        "INVALID_KEY",
    )
    rcase(
        "wire/ratchet/too-large",
        "max_message_size + 1 bytes",
        ["TooLarge"],
        ["WIRE-002"],
        plain,
        "MESSAGE_TOO_LARGE",
        paddedLength=F.max_message_size + 1,
    )
    rcase(
        "wire/ratchet/unknown-field",
        "an unknown field 15 appended to the RatchetMessage",
        ["UnknownField"],
        ["RATCHET-030", "WIRE-003"],
        plain + b"\x78\x01",
        acceptable=True,
    )
    # two faults in one message: the order of WIRE-005 decides the code
    order = ["WIRE-005"]
    v2_pb = wire.RatchetMessage.FromString(v2)
    v2_header = wire.RatchetHeader.FromString(v2_pb.header)
    v2_header.ratchet_key = v2_header.ratchet_key[:31]
    rcase(
        "wire/ratchet/order/version-before-ratchet-key",
        "version 2 for a v1-only reader, and a 31-byte ratchet key: the version first",
        ["CheckOrder"],
        [*order, "VERSION-003"],
        _rebuild(v2, header=v2_header.SerializeToString()),
        "UNSUPPORTED_VERSION",
    )
    plain_pb = wire.RatchetMessage.FromString(plain)
    plain_header = wire.RatchetHeader.FromString(plain_pb.header)
    plain_header.ratchet_key = plain_header.ratchet_key[:31]
    rcase(
        "wire/ratchet/order/ratchet-key-before-ciphertext",
        "a 31-byte ratchet key and an empty ciphertext: the key first",
        ["CheckOrder"],
        order,
        _rebuild(plain, header=plain_header.SerializeToString(), ciphertext=b""),
        "INVALID_KEY",
    )
    init_pb = wire.RatchetMessage.FromString(initial)
    short_ek = wire.X3DHHeader.FromString(init_pb.x3dh_header)
    short_ek.ephemeral_key = short_ek.ephemeral_key[:31]
    rcase(
        "wire/ratchet/order/mac-before-x3dh-header",
        "a 31-byte MAC and an X3DH header with a 31-byte EK_A: the MAC first",
        ["CheckOrder"],
        order,
        _rebuild(initial, mac=init_pb.mac[:31], x3dh_header=short_ek.SerializeToString()),
        "MALFORMED_MESSAGE",
    )
    short_binding = wire.X3DHHeader.FromString(init_pb.x3dh_header)
    short_binding.initiator_identity.binding_signature = (
        short_binding.initiator_identity.binding_signature[:63]
    )
    short_binding.ephemeral_key = short_binding.ephemeral_key[:31]
    rcase(
        "wire/ratchet/order/binding-signature-before-ephemeral",
        "an X3DH header with a 63-byte binding signature and a 31-byte EK_A: the identity first",
        ["CheckOrder"],
        [*order, "WIRE-001"],
        _rebuild(initial, x3dh_header=short_binding.SerializeToString()),
        "MALFORMED_MESSAGE",
    )
    ratchet_group = {"type": "RatchetMessageDecodeTest", "tests": []}
    for test, expect, acceptable in ratchet:
        ratchet_group["tests"].append(_record(ratchet_group, test, expect, acceptable))

    # no-bundle messages
    from ...no_bundle import seal_no_bundle

    nb = seal_no_bundle(alice, a_dev.installation_id, bob.public, b"sealed", rng=k.rng)
    nb2 = seal_no_bundle(alice, a_dev.installation_id, bob.public, b"sealed", rng=k.rng, version=2)
    nb_tests = []

    def ncase(tc, comment, flags, reqs, message, expect="ok"):
        nb_tests.append((_case(tc, comment, flags, reqs, message=h(message)), expect))

    ncase("wire/no-bundle/valid", "a no-bundle message", ["Valid"], ["NOBUNDLE-010"], nb)
    ncase(
        "wire/no-bundle/version-2-unread",
        "version 2, read by a v1-only reader",
        ["UnsupportedVersion"],
        ["VERSION-001"],
        nb2,
        "UNSUPPORTED_VERSION",
    )
    pbn = wire.NoBundleMessage.FromString(nb)
    hdr = wire.NoBundleHeader.FromString(pbn.header)
    for field_name, tc in (
        ("ephemeral_key", "short-ephemeral"),
        ("recipient_dh_key", "short-recipient-key"),
    ):
        bad = wire.NoBundleHeader()
        bad.CopyFrom(hdr)
        setattr(bad, field_name, getattr(hdr, field_name)[:31])
        ncase(
            f"wire/no-bundle/{tc}",
            f"a 31-byte {field_name}",
            ["WrongLength"],
            W,
            wire.NoBundleMessage(
                header=bad.SerializeToString(), ciphertext=pbn.ciphertext, mac=pbn.mac
            ).SerializeToString(),
            "INVALID_KEY",
        )
    bad = wire.NoBundleHeader()
    bad.CopyFrom(hdr)
    bad.ClearField("sender_identity")
    ncase(
        "wire/no-bundle/without-sender",
        "no sender identity",
        ["Malformed"],
        W,
        wire.NoBundleMessage(
            header=bad.SerializeToString(), ciphertext=pbn.ciphertext, mac=pbn.mac
        ).SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    ncase(
        "wire/no-bundle/short-mac",
        "a 31-byte MAC",
        ["Malformed"],
        W,
        wire.NoBundleMessage(
            header=pbn.header, ciphertext=pbn.ciphertext, mac=pbn.mac[:31]
        ).SerializeToString(),
        "MALFORMED_MESSAGE",
    )

    # two faults: the order of WIRE-006
    def nb_with(header: wire.NoBundleHeader, mac: bytes = pbn.mac, ct: bytes = pbn.ciphertext):
        return wire.NoBundleMessage(
            header=header.SerializeToString(), ciphertext=ct, mac=mac
        ).SerializeToString()

    pbn2 = wire.NoBundleMessage.FromString(nb2)
    bad = wire.NoBundleHeader.FromString(pbn2.header)
    bad.ephemeral_key = bad.ephemeral_key[:31]
    ncase(
        "wire/no-bundle/order/version-before-ephemeral",
        "version 2 for a v1-only reader, and a 31-byte ephemeral key: the version first",
        ["CheckOrder"],
        ["WIRE-006", "VERSION-003"],
        nb_with(bad, pbn2.mac),
        "UNSUPPORTED_VERSION",
    )
    bad = wire.NoBundleHeader()
    bad.CopyFrom(hdr)
    bad.ephemeral_key = hdr.ephemeral_key[:31]
    ncase(
        "wire/no-bundle/order/ephemeral-before-mac",
        "a 31-byte ephemeral key and a 31-byte MAC: the header's keys first",
        ["CheckOrder"],
        ["WIRE-006"],
        nb_with(bad, pbn.mac[:31]),
        "INVALID_KEY",
    )
    bad = wire.NoBundleHeader()
    bad.CopyFrom(hdr)
    bad.sender_identity.binding_signature = hdr.sender_identity.binding_signature[:63]
    bad.recipient_dh_key = hdr.recipient_dh_key[:31]
    ncase(
        "wire/no-bundle/order/identity-before-keys",
        "a 63-byte binding signature and a 31-byte recipient key: the identity first",
        ["CheckOrder"],
        ["WIRE-006", "WIRE-001"],
        nb_with(bad),
        "MALFORMED_MESSAGE",
    )
    nb_group = {"type": "NoBundleMessageDecodeTest", "tests": []}
    for test, expect in nb_tests:
        nb_group["tests"].append(_record(nb_group, test, expect))

    # envelopes
    bundle_a = Bundle.create(alice, [InstallationPreKeys.of(a_dev)], NOW).to_bytes()
    copies = [
        {"recipientInstallationId": h(b_dev.installation_id), "kind": "ratchet", "body": h(plain)},
        {"recipientInstallationId": h(k.raw(16)), "kind": "ratchet", "body": h(initial)},
        {"recipientInstallationId": "", "kind": "no_bundle", "body": h(nb)},
    ]
    enc_group = {"type": "EnvelopeEncodeTest", "tests": []}
    enc = _case(
        "wire/envelope/encode-fanout",
        "three copies and the sender's bundle",
        ["Fanout"],
        ["WIRE-040", "BUNDLE-030"],
        version=1,
        senderInstallationId=h(a_dev.installation_id),
        copies=copies,
        senderBundle=h(bundle_a),
    )
    enc_group["tests"].append(_record(enc_group, enc))
    envelope = bytes.fromhex(enc["envelope"])
    dec_tests = []

    def ecase(tc, comment, flags, reqs, data, expect="ok"):
        dec_tests.append((_case(tc, comment, flags, reqs, envelope=h(data)), expect))

    ecase(
        "wire/envelope/decode-fanout",
        "three copies and the sender's bundle",
        ["Fanout"],
        ["WIRE-040", "BUNDLE-030"],
        envelope,
    )
    env = wire.Envelope.FromString(envelope)
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.version = 2
    ecase(
        "wire/envelope/version-2-unread",
        "envelope version 2",
        ["UnsupportedVersion"],
        ["VERSION-001"],
        bad.SerializeToString(),
        "UNSUPPORTED_VERSION",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.sender_installation_id = env.sender_installation_id[:15]
    ecase(
        "wire/envelope/short-sender-id",
        "a 15-byte sender installation id",
        ["Malformed"],
        ["WIRE-001", "KEYS-004"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.messages[0].recipient_installation_id = env.messages[0].recipient_installation_id[:15]
    ecase(
        "wire/envelope/short-recipient-id",
        "a 15-byte recipient installation id",
        ["Malformed"],
        ["WIRE-001", "WIRE-040", "WIRE-041"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.messages[2].recipient_installation_id = b"\x01" * 16
    ecase(
        "wire/envelope/addressed-no-bundle",
        "a no-bundle copy addressed to an installation",
        ["Malformed"],
        ["WIRE-040", "WIRE-041"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.messages.add(recipient_installation_id=b"\x02" * 16)
    ecase(
        "wire/envelope/copy-without-body",
        "a copy with neither body",
        ["Malformed"],
        ["WIRE-040"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    # the envelope format version is not a protocol version (VERSION-004)
    dec_tests.append(
        (
            _case(
                "wire/envelope/format-1-for-a-v2-only-reader",
                "an envelope (format 1) read by a policy that reads only protocol version 2: "
                "the envelope decodes, its copies are not checked",
                ["Valid"],
                ["VERSION-004", "WIRE-007"],
                envelope=h(envelope),
                policy={"reads": [2], "writes": 2},
            ),
            "ok",
        )
    )
    mixed = wire.Envelope()
    mixed.CopyFrom(env)
    mixed.messages[1].ratchet.CopyFrom(wire.RatchetMessage.FromString(v2))
    ecase(
        "wire/envelope/mixed-version-copies",
        "one fan-out with a version-1 and a version-2 copy, envelope format 1: decodes for a "
        "v1-only reader",
        ["Valid"],
        ["VERSION-004", "WIRE-007"],
        mixed.SerializeToString(),
    )
    unknown = wire.Envelope()
    unknown.CopyFrom(env)
    unknown_body = wire.RatchetMessage.FromString(plain + b"\x78\x01")  # field 15
    unknown.messages[0].ratchet.CopyFrom(unknown_body)
    ecase(
        "wire/envelope/copy-with-unknown-field",
        "a copy whose RatchetMessage has an unknown field: the decoded body is its canonical "
        "encoding without it",
        ["CopyReencoded"],
        ["WIRE-007", "WIRE-004"],
        unknown.SerializeToString(),
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.version = 2
    bad.sender_installation_id = env.sender_installation_id[:15]
    ecase(
        "wire/envelope/order/version-before-sender-id",
        "envelope format 2 and a 15-byte sender id: the format version first",
        ["CheckOrder"],
        ["WIRE-007", "VERSION-004"],
        bad.SerializeToString(),
        "UNSUPPORTED_VERSION",
    )
    bad = wire.Envelope()
    bad.CopyFrom(env)
    bad.sender_installation_id = env.sender_installation_id[:15]
    bad.sender_bundle.identity.signing_key = env.sender_bundle.identity.signing_key[:31]
    ecase(
        "wire/envelope/order/sender-id-before-bundle",
        "a 15-byte sender id and an attached bundle with a 31-byte signing key: the id first",
        ["CheckOrder"],
        ["WIRE-007"],
        bad.SerializeToString(),
        "MALFORMED_MESSAGE",
    )
    dec_group = {"type": "EnvelopeDecodeTest", "tests": []}
    for test, expect in dec_tests:
        dec_group["tests"].append(_record(dec_group, test, expect))
    return _file(
        "PARLEY-WIRE",
        "wire.schema.json",
        ["The wire codec: messages and envelopes, their decoded fields, malformed inputs."],
        WIRE_NOTES,
        [ratchet_group, nb_group, enc_group, dec_group],
    )
