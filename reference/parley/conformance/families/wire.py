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
    alice, bob = IdentityKeyPair.generate(k.rng), IdentityKeyPair.generate(k.rng)
    a_dev = InstallationKeys.generate(k.rng, NOW)
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
        W,
        _rebuild(plain, ratchet_key=bytes(31)),
        "INVALID_KEY",
    )
    rcase(
        "wire/ratchet/long-ratchet-key",
        "a 33-byte ratchet key",
        ["WrongLength"],
        W,
        _rebuild(plain, ratchet_key=bytes(33)),
        "INVALID_KEY",
    )
    pb = wire.RatchetMessage.FromString(plain)
    rcase(
        "wire/ratchet/short-mac",
        "a 31-byte MAC",
        ["Malformed"],
        W,
        _rebuild(plain, mac=pb.mac[:31]),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/ciphertext-not-block-multiple",
        "a ciphertext of 15 bytes",
        ["Malformed"],
        W,
        _rebuild(plain, ciphertext=pb.ciphertext[:15]),
        "MALFORMED_MESSAGE",
    )
    rcase(
        "wire/ratchet/empty-ciphertext",
        "no ciphertext",
        ["Malformed"],
        W,
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
        ["RATCHET-030"],
        plain + b"\x78\x01",
        acceptable=True,
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
        ["WIRE-001", "WIRE-040"],
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
        ["WIRE-040"],
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
