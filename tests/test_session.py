"""Unit tests of sessions: X3DH handshake, the Double Ratchet, wire input
checks, transactional decryption, saving and loading, and hygiene (reprs,
error codes, determinism)."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from helpers import (
    NOW,
    Pair,
    Party,
    clone,
    establish,
    flip,
    flip_field,
    initiate,
    make_parties,
    make_party,
    parse_message,
    rebuild_message,
)
from parley import errors as E
from parley.bundle import Bundle
from parley.codec import (
    X3DHHeader,
    decode_ratchet_message,
    encode_ratchet_header,
    encode_ratchet_message,
    encode_x3dh_header,
)
from parley.keys import IdentityKey, InstallationKeys
from parley.local.v1 import state_pb2
from parley.primitives import (
    DeterministicRandom,
    DHKeyPair,
    aes256_cbc_decrypt,
    hkdf_sha256,
    hmac_sha256,
)
from parley.profile import PROFILE_1
from parley.ratchet import DoubleRatchet
from parley.session import Session
from parley.state import (
    dump_identity,
    dump_installation,
    load_identity,
    load_installation,
)
from parley.v1 import wire_pb2

P = PROFILE_1
LOW_ORDER_POINTS = [
    bytes(32),
    b"\x01" + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ec" + "ff" * 30 + "7f"),  # p - 1
    bytes.fromhex("ed" + "ff" * 30 + "7f"),  # p
    bytes.fromhex("ee" + "ff" * 30 + "7f"),  # p + 1
    bytes(31) + b"\x80",  # 0 with the (ignored) top bit set
]


# -- helpers --------------------------------------------------------------------


def reject(session: Session, message: bytes, error: type[E.ParleyError], rng=None):
    """``session.decrypt(message)`` raises exactly ``error`` and changes nothing."""
    before = session.to_bytes()
    with pytest.raises(E.ParleyError) as info:
        session.decrypt(message, rng or DeterministicRandom(b"unused"))
    assert type(info.value) is error, repr(info.value)
    assert session.to_bytes() == before
    return info.value


def reject_any(session: Session, message: bytes, rng=None) -> E.RemoteError:
    """``session.decrypt(message)`` raises some RemoteError and changes nothing."""
    before = session.to_bytes()
    with pytest.raises(E.RemoteError) as info:
        session.decrypt(message, rng or DeterministicRandom(b"unused"))
    assert session.to_bytes() == before
    return info.value


def respond(bob: Party, message: bytes, alice: Party, rng=None) -> tuple[Session, bytes]:
    return Session.respond(
        bob.identity,
        bob.installation,
        message,
        alice.installation_id,
        rng=rng or DeterministicRandom(b"respond"),
    )


def reject_respond(
    bob: Party,
    message: bytes,
    remote_installation_id: bytes,
    error: type[E.ParleyError] | None = None,
) -> E.ParleyError:
    """``Session.respond`` raises (exactly ``error`` if given, else a RemoteError)
    and leaves the installation unchanged."""
    before = dump_installation(bob.installation)
    with pytest.raises(E.RemoteError) as info:
        Session.respond(
            bob.identity,
            bob.installation,
            message,
            remote_installation_id,
            rng=DeterministicRandom(b"respond"),
        )
    if error is not None:
        assert type(info.value) is error, repr(info.value)
    assert dump_installation(bob.installation) == before
    return info.value


def ping_pong(p: Pair, tag: bytes = b"") -> None:
    """Bob sends, Alice reads, Alice sends, Bob reads: one DH ratchet turn each."""
    assert p.a.decrypt(p.b.encrypt(b"b" + tag), p.rng) == b"b" + tag
    assert p.b.decrypt(p.a.encrypt(b"a" + tag), p.rng) == b"a" + tag


def first_message(seed: bytes = b"first", **kw) -> tuple[DeterministicRandom, Party, Party, bytes]:
    rng, alice, bob = make_parties(seed, one_time_prekeys=kw.pop("one_time_prekeys", 0))
    a = initiate(alice, bob, rng, **kw)
    return rng, alice, bob, a.encrypt(b"first")


# -- handshake (X3DH) -------------------------------------------------------------


@pytest.mark.requirement("X3DH-001", "X3DH-010", "SESSION-001")
@pytest.mark.parametrize("use_opk", [False, True], ids=["no-opk", "opk"])
def test_handshake_both_sides(use_opk):
    rng, alice, bob = make_parties(b"handshake", one_time_prekeys=2 if use_opk else 0)
    opk_id = bob.bundle.installations[0].one_time_prekeys[0][0] if use_opk else None
    a = initiate(alice, bob, rng, one_time_prekey_id=opk_id)
    assert a.initiator and a.pending_x3dh == (1, opk_id)
    m0, m1 = a.encrypt(b"one"), a.encrypt(b"two")
    b, plaintext = respond(bob, m0, alice, rng)
    assert plaintext == b"one"
    assert not b.initiator
    assert b.session_id == a.session_id
    assert b.remote_identity == alice.identity.public
    assert a.remote_identity == bob.identity.public
    assert b.remote_installation_id == alice.installation_id
    assert a.remote_installation_id == bob.installation_id
    assert b.decrypt(m1, rng) == b"two"
    assert a.decrypt(b.encrypt(b"three"), rng) == b"three"
    assert b.decrypt(a.encrypt(b"four"), rng) == b"four"


@pytest.mark.requirement("X3DH-010", "RATCHET-001", "RATCHET-010", "SESSION-003")
@pytest.mark.parametrize("use_opk", [False, True], ids=["no-opk", "opk"])
def test_shared_key_derivation_by_hand(use_opk):
    """SK = HKDF(0xFF*32 || DH1 || DH2 || DH3 [|| DH4]); RK, CKs = KDF_RK(SK, DH(DHs, SPK)).

    Recomputed here from Bob's private keys and Alice's public values only.
    """
    rng, alice, bob = make_parties(b"sk by hand", one_time_prekeys=1)
    opk = next(iter(bob.installation.one_time_prekeys.values()))
    a = initiate(alice, bob, rng, one_time_prekey_id=opk.id if use_opk else None)
    spk = bob.installation.current_signed_prekey.key_pair
    ek = a.session_id
    dh = [
        spk.exchange(alice.identity.public.dh_key),  # DH(IK_A, SPK_B)
        bob.identity.dh.exchange(ek),  # DH(EK_A, IK_B)
        spk.exchange(ek),  # DH(EK_A, SPK_B)
    ]
    if use_opk:
        dh.append(opk.key_pair.exchange(ek))  # DH(EK_A, OPK_B)
    sk = hkdf_sha256(b"\xff" * 32 + b"".join(dh), bytes(32), b"Parley X3DH v1", 32)
    okm = hkdf_sha256(spk.exchange(a.ratchet.sending_ratchet.public), sk, b"Parley ratchet v1", 64)
    assert a.ratchet.root_key.key == okm[:32]
    assert a.ratchet.sending_chain.key == okm[32:]
    assert a.ratchet.sending_chain.index == 0
    # Neither SK nor a DH output is kept in the session.
    for secret in (sk, *dh):
        assert secret not in a.to_bytes()
    # Bob, from the first message, derives the same SK (his root key is SK
    # until his first DH step, which respond performs: check the chain instead).
    b, _ = respond(bob, a.encrypt(b"x"), alice, rng)
    assert b.ratchet.receiving_ratchet_key == a.ratchet.sending_ratchet.public
    for secret in (sk, *dh):
        assert secret not in b.to_bytes()


@pytest.mark.requirement("X3DH-002")
def test_new_ephemeral_key_for_every_session():
    rng, alice, bob = make_parties(b"ephemeral")
    sessions = [initiate(alice, bob, rng) for _ in range(4)]
    ids = {s.session_id for s in sessions}
    assert len(ids) == 4
    assert not ids & {alice.identity.public.dh_key, sessions[0].ratchet.sending_ratchet.public}
    # The responder tells the sessions apart by EK_A and accepts each once.
    for i, session in enumerate(sessions):
        b, plaintext = respond(bob, session.encrypt(b"%d" % i), alice)
        assert plaintext == b"%d" % i and b.session_id == session.session_id


@pytest.mark.requirement("X3DH-030", "SESSION-002")
def test_associated_data_layout():
    p = establish(b"ad layout")
    ik_a, ik_b = p.alice.identity.public, p.bob.identity.public
    expected = (
        ik_a.signing_key
        + ik_a.dh_key
        + p.alice.installation_id
        + ik_b.signing_key
        + ik_b.dh_key
        + p.bob.installation_id
    )
    assert len(expected) == 160
    assert p.a.ratchet.associated_data == expected
    assert p.b.ratchet.associated_data == expected
    assert clone(p.a).ratchet.associated_data == expected
    assert clone(p.b).ratchet.associated_data == expected


@pytest.mark.requirement("RATCHET-011", "RATCHET-012", "RATCHET-013", "RATCHET-020", "RATCHET-022")
@pytest.mark.parametrize("pending", [True, False], ids=["with-x3dh", "without-x3dh"])
def test_message_keys_and_mac_input_by_hand(pending):
    """mk = HMAC(CK, 0x01); HKDF(mk) -> enc key, MAC key, IV; MAC over
    AD || u32 len(header) || header || u32 len(x3dh) || x3dh || ciphertext."""
    p = establish(b"mac by hand", reply=not pending)
    ck = p.a.ratchet.sending_chain.key
    message = p.a.encrypt(b"by hand")
    mk = hmac_sha256(ck, b"\x01")
    assert p.a.ratchet.sending_chain.key == hmac_sha256(ck, b"\x02")
    okm = hkdf_sha256(mk, bytes(32), b"Parley message keys v1", 80)
    enc_key, mac_key, iv = okm[:32], okm[32:64], okm[64:]
    wire = parse_message(message)
    assert bool(wire.x3dh_header) is pending
    mac_input = (
        p.a.ratchet.associated_data
        + struct.pack(">I", len(wire.header))
        + wire.header
        + struct.pack(">I", len(wire.x3dh_header))
        + wire.x3dh_header
        + wire.ciphertext
    )
    assert wire.mac == hmac_sha256(mac_key, mac_input)
    assert aes256_cbc_decrypt(enc_key, iv, wire.ciphertext) == b"by hand"
    # The used chain key and message key are gone from the saved state.
    assert ck not in p.a.to_bytes() and mk not in p.a.to_bytes()


@pytest.mark.requirement("PREKEY-005", "X3DH-041")
def test_one_time_prekey_deleted_after_accept():
    rng, alice, bob = make_parties(b"opk", one_time_prekeys=3)
    entry = bob.bundle.installations[0]
    opk_id = entry.one_time_prekeys[0][0]
    opk_private = bob.installation.one_time_prekeys[opk_id].key_pair.private_bytes()
    a = initiate(alice, bob, rng, one_time_prekey_id=opk_id)
    m0 = a.encrypt(b"with opk")
    assert decode_ratchet_message(m0).x3dh_header.one_time_prekey_id == opk_id
    b, plaintext = respond(bob, m0, alice, rng)
    assert plaintext == b"with opk"
    assert opk_id not in bob.installation.one_time_prekeys
    assert len(bob.installation.one_time_prekeys) == 2
    assert opk_private not in dump_installation(bob.installation)
    # The session goes on without the prekey.
    assert a.decrypt(b.encrypt(b"reply"), rng) == b"reply"
    # A second use of the prekey (Alice again, or someone else) is refused.
    again = initiate(alice, bob, rng, one_time_prekey_id=opk_id).encrypt(b"again")
    error = reject_respond(bob, again, alice.installation_id, E.UnknownPreKey)
    assert error.code == "UNKNOWN_PREKEY"
    carol = make_party("carol", rng)
    from_carol = initiate(carol, bob, rng, one_time_prekey_id=opk_id).encrypt(b"carol")
    reject_respond(bob, from_carol, carol.installation_id, E.UnknownPreKey)
    # The other one-time prekeys still work.
    other = entry.one_time_prekeys[1][0]
    _, plaintext = respond(
        bob, initiate(carol, bob, rng, one_time_prekey_id=other).encrypt(b"ok"), carol
    )
    assert plaintext == b"ok"
    assert other not in bob.installation.one_time_prekeys


@pytest.mark.requirement("X3DH-041")
def test_initiate_with_unknown_one_time_prekey():
    rng, alice, bob = make_parties(b"opk unknown", one_time_prekeys=1)
    with pytest.raises(E.UnknownPreKey):
        initiate(alice, bob, rng, one_time_prekey_id=999)


@pytest.mark.requirement("X3DH-020")
def test_x3dh_header_until_reply():
    rng, alice, bob = make_parties(b"x3dh header", one_time_prekeys=1)
    opk_id = bob.bundle.installations[0].one_time_prekeys[0][0]
    a = initiate(alice, bob, rng, one_time_prekey_id=opk_id)
    expected = X3DHHeader(alice.identity.public, a.session_id, 1, opk_id)
    sent = [a.encrypt(b"m%d" % i) for i in range(3)]
    sent.append(clone(a).encrypt(b"after a reload"))  # pending survives saving
    for message in sent:
        assert decode_ratchet_message(message).x3dh_header == expected
    b, _ = respond(bob, sent[0], alice, rng)
    for message in sent[1:3]:
        b.decrypt(message, rng)
    replies = [b.encrypt(b"r0"), b.encrypt(b"r1")]
    for reply in replies:
        assert decode_ratchet_message(reply).x3dh_header is None
        assert parse_message(reply).x3dh_header == b""
    # A forged reply does not end the X3DH phase...
    reject(a, flip_field(replies[0], "mac", 0), E.InvalidMac)
    assert decode_ratchet_message(a.encrypt(b"still")).x3dh_header == expected
    # ...the first authentic reply does.
    assert a.decrypt(replies[1], rng) == b"r1"
    assert a.pending_x3dh is None
    for message in (a.encrypt(b"n0"), a.encrypt(b"n1"), clone(a).encrypt(b"n2")):
        assert decode_ratchet_message(message).x3dh_header is None
        assert b.decrypt(message, rng).startswith(b"n")


@pytest.mark.requirement("X3DH-040", "X3DH-021", "X3DH-042")
def test_replayed_initial_message():
    rng, alice, bob = make_parties(b"replay")
    a = initiate(alice, bob, rng)
    m0, m1 = a.encrypt(b"m0"), a.encrypt(b"m1")
    b, _ = respond(bob, m0, alice, rng)
    error = reject_respond(bob, m0, alice.installation_id, E.ReplayedInitialMessage)
    assert error.code == "REPLAYED_INITIAL_MESSAGE"
    # Any message of the same X3DH run (same EK_A) is refused by respond...
    reject_respond(bob, m1, alice.installation_id, E.ReplayedInitialMessage)
    # ...but the existing session, which accepts it, decrypts it.
    assert b.accepts(decode_ratchet_message(m1))
    assert b.decrypt(m1, rng) == b"m1"
    # The replay guard is part of the saved installation.
    bob.installation = load_installation(dump_installation(bob.installation))
    reject_respond(bob, m0, alice.installation_id, E.ReplayedInitialMessage)


@pytest.mark.requirement("X3DH-040", "X3DH-042")
def test_replay_guard_recorded_only_after_decrypt():
    rng, alice, bob, m0 = first_message(b"replay after forgery")
    reject_respond(bob, flip_field(m0, "mac", 3), alice.installation_id, E.InvalidMac)
    assert bob.installation.seen_initial_messages == {}
    _, plaintext = respond(bob, m0, alice, rng)
    assert plaintext == b"first"


@pytest.mark.requirement("X3DH-041", "PREKEY-004")
def test_unknown_signed_prekey():
    rng, alice, bob, m0 = first_message(b"unknown spk")
    # A header naming a signed prekey Bob never had.
    wire = parse_message(m0)
    x3dh = wire_pb2.X3DHHeader.FromString(wire.x3dh_header)
    x3dh.signed_prekey_id = 99
    forged = rebuild_message(m0, x3dh_header=x3dh.SerializeToString())
    reject_respond(bob, forged, alice.installation_id, E.UnknownPreKey)
    # The prekey Alice used, superseded and then deleted after its grace period.
    bob.installation.rotate_signed_prekey(rng, NOW + 10)
    assert bob.installation.delete_expired_prekeys(NOW + 10 + P.signed_prekey_grace - 1) == []
    kept = load_installation(dump_installation(bob.installation))  # within the grace period
    assert bob.installation.delete_expired_prekeys(NOW + 10 + P.signed_prekey_grace) == [1]
    reject_respond(bob, m0, alice.installation_id, E.UnknownPreKey)
    bob.installation = kept
    _, plaintext = respond(bob, m0, alice, rng)
    assert plaintext == b"first"


@pytest.mark.requirement("X3DH-030", "X3DH-042")
def test_misdirected_initial_message():
    rng, alice, bob, m0 = first_message(b"misdirected")
    # The wrong sender installation: AD differs.
    reject_respond(bob, m0, b"\x07" * 16, E.InvalidMac)
    # The right prekeys under another installation id: AD differs.
    twin = dataclasses.replace(
        bob,
        installation=InstallationKeys(b"\x08" * 16, list(bob.installation.signed_prekeys)),
    )
    reject_respond(twin, m0, alice.installation_id, E.InvalidMac)
    # Another installation of Bob with its own prekeys.
    other = dataclasses.replace(bob, installation=InstallationKeys.generate(rng, NOW))
    reject_respond(other, m0, alice.installation_id, E.InvalidMac)
    _, plaintext = respond(bob, m0, alice, rng)
    assert plaintext == b"first"


def test_misdirected_message_between_sessions():
    """A message of one session does not decrypt in another one."""
    p = establish(b"session one")
    q = establish(b"session two")
    message = p.a.encrypt(b"for p.b only")
    reject_any(q.b, message)
    assert p.b.decrypt(message, p.rng) == b"for p.b only"


# -- bundles --------------------------------------------------------------------------


@pytest.mark.requirement("BUNDLE-020")
def test_bundle_age_limits():
    rng, alice, bob = make_parties(b"bundle age")
    initiate(alice, bob, rng, now=NOW + P.bundle_max_age)
    with pytest.raises(E.BundleStale) as info:
        initiate(alice, bob, rng, now=NOW + P.bundle_max_age + 1)
    assert info.value.code == "BUNDLE_STALE"
    initiate(alice, bob, rng, now=NOW - P.clock_skew)
    with pytest.raises(E.BundleTimestampInFuture) as info:
        initiate(alice, bob, rng, now=NOW - P.clock_skew - 1)
    assert info.value.code == "BUNDLE_TIMESTAMP_IN_FUTURE"


def _initiate_with(alice: Party, bob: Party, bundle: Bundle, rng) -> Session:
    return Session.initiate(
        alice.identity, alice.installation_id, bundle, bob.installation_id, now=NOW, rng=rng
    )


@pytest.mark.requirement("BUNDLE-011")
def test_tampered_bundle_signature():
    rng, alice, bob = make_parties(b"bundle signature")
    bundle = bob.bundle
    entry = bundle.installations[0]
    carol = make_party("carol", rng)
    forgeries = [
        dataclasses.replace(bundle, signature=flip(bundle.signature, 5)),
        dataclasses.replace(bundle, timestamp=bundle.timestamp + 1),
        dataclasses.replace(
            bundle,
            installations=(
                dataclasses.replace(
                    entry, signed_prekey=carol.bundle.installations[0].signed_prekey
                ),
            ),
        ),
        dataclasses.replace(
            bundle,
            installations=(dataclasses.replace(entry, one_time_prekeys=((7, bytes(range(32))),)),),
        ),
        # Carol signs a bundle that claims Bob's identity.
        dataclasses.replace(carol.bundle, identity=bundle.identity),
    ]
    for forged in forgeries:
        with pytest.raises(E.BundleSignatureInvalid) as info:
            _initiate_with(alice, bob, Bundle.from_bytes(forged.to_bytes()), rng)
        assert info.value.code == "BUNDLE_SIGNATURE_INVALID"
    _initiate_with(alice, bob, Bundle.from_bytes(bundle.to_bytes()), rng)


@pytest.mark.requirement("KEYS-003", "BUNDLE-011")
def test_bad_identity_binding_in_bundle():
    rng, alice, bob = make_parties(b"binding")
    carol = make_party("carol", rng)
    ik = bob.bundle.identity
    for identity in (
        IdentityKey(ik.signing_key, ik.dh_key, flip(ik.binding_signature, 0)),
        IdentityKey(ik.signing_key, carol.identity.public.dh_key, ik.binding_signature),
        IdentityKey(
            ik.signing_key,
            carol.identity.public.dh_key,
            carol.identity.public.binding_signature,
        ),
    ):
        with pytest.raises(E.InvalidIdentityBinding) as info:
            _initiate_with(alice, bob, dataclasses.replace(bob.bundle, identity=identity), rng)
        assert info.value.code == "INVALID_IDENTITY_BINDING"


@pytest.mark.requirement("KEYS-003")
def test_bad_identity_binding_in_initial_message():
    _rng, alice, bob, m0 = first_message(b"binding in header")
    wire = parse_message(m0)
    x3dh = wire_pb2.X3DHHeader.FromString(wire.x3dh_header)
    x3dh.initiator_identity.binding_signature = flip(x3dh.initiator_identity.binding_signature, 9)
    forged = rebuild_message(m0, x3dh_header=x3dh.SerializeToString())
    reject_respond(bob, forged, alice.installation_id, E.InvalidIdentityBinding)


# -- wire input checks -----------------------------------------------------------


REGIONS = ["header", "ciphertext", "mac", "x3dh_header"]


def _region_flips(message: bytes, region: str):
    value = getattr(parse_message(message), region)
    for index in range(len(value)):
        for mask in (0x01, 0x80):
            yield flip_field(message, region, index, mask)


@pytest.mark.requirement("RATCHET-013", "RATCHET-040", "RATCHET-030", "ERR-002", "X3DH-042")
@pytest.mark.parametrize("region", [*REGIONS, "whole"])
def test_byte_flips_are_rejected_and_change_nothing(region):
    """Every flipped byte of a message is rejected; no state changes; the
    genuine message still decrypts afterwards. Checked for a reply (no X3DH
    header), a message of the X3DH phase in an established session, and an
    initial message given to respond."""
    p = establish(b"flips", reply=False)
    pending = p.a.encrypt(b"pending")  # carries the X3DH header
    reply = p.b.encrypt(b"reply")
    _, alice, bob, initial = first_message(b"flips initial")
    cases = [(p.b, pending, b"pending"), (p.a, reply, b"reply")]
    for session, message, plaintext in cases:
        if region == "x3dh_header" and not parse_message(message).x3dh_header:
            continue
        flips = (
            (flip(message, i, m) for i in range(len(message)) for m in (0x01, 0x80))
            if region == "whole"
            else _region_flips(message, region)
        )
        count = 0
        for forged in flips:
            error = reject_any(session, forged)
            if region in ("ciphertext", "mac"):
                assert type(error) is E.InvalidMac
            count += 1
        assert count >= 2
        assert session.decrypt(message, p.rng) == plaintext
    flips = (
        (flip(initial, i, m) for i in range(len(initial)) for m in (0x01, 0x80))
        if region == "whole"
        else _region_flips(initial, region)
    )
    for forged in flips:
        reject_respond(bob, forged, alice.installation_id)
    assert respond(bob, initial, alice)[1] == b"first"


@pytest.mark.requirement("RATCHET-013", "RATCHET-030")
def test_header_bytes_are_authenticated_as_sent():
    """A header re-encoded to the same values, but other bytes, is rejected."""
    p = establish(b"raw header")
    message = p.a.encrypt(b"raw")
    header = parse_message(message).header
    for variant in (
        header + b"\x08\x01",  # version repeated (last one wins: same value)
        header + b"\x28\x00",  # an unknown field
        bytes(reversed_fields(header)),
    ):
        assert variant != header
        decoded = decode_ratchet_message(rebuild_message(message, header=variant)).header
        assert (decoded.version, decoded.ratchet_key, decoded.message_number) == (
            1,
            p.a.ratchet.sending_ratchet.public,
            0,
        )
        reject(p.b, rebuild_message(message, header=variant), E.InvalidMac)
    assert p.b.decrypt(message, p.rng) == b"raw"


@pytest.mark.requirement("WIRE-003")
def test_any_valid_encoding_is_accepted():
    """Any field order and unknown fields: in the outer message, and in a
    header as the sender MACed it (the receiver must not re-encode it)."""
    p = establish(b"encodings")
    message = p.a.encrypt(b"outer")
    wire = parse_message(message)

    def field(number: int, value: bytes) -> bytes:
        assert len(value) < 128
        return bytes([number << 3 | 2, len(value)]) + value

    reordered = field(3, wire.mac) + b"\x78\x2a" + field(2, wire.ciphertext) + field(1, wire.header)
    assert reordered != message
    assert p.b.decrypt(reordered, p.rng) == b"outer"
    # A header encoded another way by the sender, MACed as sent.
    ck = p.a.ratchet.sending_chain.key
    r = p.a.ratchet
    header = bytes(reversed_fields(encode_ratchet_header(1, r.sending_ratchet.public, 1, 1)))
    header += b"\x28\x07"  # and an unknown field
    mk = hmac_sha256(ck, b"\x01")
    ciphertext, mac = P.encrypt(mk, b"hand made", r.associated_data, header)
    p.a.encrypt(b"burn message number 1")  # the sender never reuses that key
    assert p.b.decrypt(encode_ratchet_message(header, ciphertext, mac), p.rng) == b"hand made"
    assert p.b.decrypt(p.a.encrypt(b"next"), p.rng) == b"next"
    assert p.b.decrypt(p.a.encrypt(b""), p.rng) == b""  # SESSION-004: 0 bytes is fine


def reversed_fields(header: bytes) -> bytes:
    """The RatchetHeader's fields in reverse order (a valid, different encoding)."""
    h = wire_pb2.RatchetHeader.FromString(header)
    parts = [b"\x08" + bytes([h.version]), b"\x12\x20" + h.ratchet_key]
    if h.previous_chain_length:
        parts.append(b"\x18" + bytes([h.previous_chain_length]))
    if h.message_number:
        parts.append(b"\x20" + bytes([h.message_number]))
    assert b"".join(parts) == header
    return b"".join(reversed(parts))


@pytest.mark.requirement("WIRE-001")
def test_truncated_message():
    p = establish(b"truncated")
    message = p.a.encrypt(b"truncate me, please")
    for length in range(1, len(message)):
        error = reject(p.b, message[:length], E.MalformedMessage)
        assert error.code == "MALFORMED_MESSAGE"
    reject_any(p.b, b"")
    _, alice, bob, initial = first_message(b"truncated initial")
    for length in range(1, len(initial)):
        reject_respond(bob, initial[:length], alice.installation_id, E.MalformedMessage)
    assert p.b.decrypt(message, p.rng) == b"truncate me, please"


@pytest.mark.requirement("WIRE-001", "PROFILE-011", "PROFILE-012")
def test_missing_or_misshaped_fields():
    p = establish(b"fields")
    message = p.a.encrypt(b"fields")
    for forged in (
        rebuild_message(message, ciphertext=b""),
        rebuild_message(message, ciphertext=parse_message(message).ciphertext[:-1]),
        rebuild_message(message, mac=b""),
        rebuild_message(message, mac=parse_message(message).mac + b"\x00"),
        rebuild_message(message, x3dh_header=b"\xff\xff"),
    ):
        reject(p.b, forged, E.MalformedMessage)
    assert p.b.decrypt(message, p.rng) == b"fields"


@pytest.mark.requirement("WIRE-002")
def test_oversized_message():
    p = establish(b"oversized")
    message = p.a.encrypt(b"big")
    error = reject(p.b, bytes(P.max_message_size + 1), E.MessageTooLarge)
    assert error.code == "MESSAGE_TOO_LARGE"
    huge = rebuild_message(message, ciphertext=bytes(P.max_message_size))
    assert len(huge) > P.max_message_size
    reject(p.b, huge, E.MessageTooLarge)
    # At the limit, the size is no reason to refuse.
    reject(p.b, bytes(P.max_message_size), E.MalformedMessage)
    _, alice, bob, _initial = first_message(b"oversized initial")
    reject_respond(bob, bytes(P.max_message_size + 1), alice.installation_id, E.MessageTooLarge)
    assert p.b.decrypt(message, p.rng) == b"big"


@pytest.mark.requirement("WIRE-002", "SESSION-004")
def test_oversized_plaintext_is_refused_before_the_chain_moves():
    p = establish(b"big plaintext")
    before = p.a.to_bytes()
    with pytest.raises(E.InvalidArgument):
        p.a.encrypt(bytes(P.max_plaintext_size + 1))
    assert p.a.to_bytes() == before
    assert p.b.decrypt(p.a.encrypt(bytes(P.max_plaintext_size)), p.rng) == bytes(
        P.max_plaintext_size
    )


def _with_header(message: bytes, version: int, ratchet_key: bytes, pn: int = 0, n: int = 0):
    wire = parse_message(message)
    return encode_ratchet_message(
        encode_ratchet_header(version, ratchet_key, pn, n),
        wire.ciphertext,
        wire.mac,
        wire.x3dh_header,
    )


@pytest.mark.requirement("VERSION-001", "VERSION-003")
@pytest.mark.parametrize("version", [0, 2, 255])
def test_unsupported_version(version):
    p = establish(b"version")
    message = p.a.encrypt(b"v1")
    forged = _with_header(message, version, p.a.ratchet.sending_ratchet.public)
    error = reject(p.b, forged, E.UnsupportedVersion)
    assert error.code == "UNSUPPORTED_VERSION"
    _, alice, bob, initial = first_message(b"version initial")
    key = decode_ratchet_message(initial).header.ratchet_key
    reject_respond(
        bob, _with_header(initial, version, key), alice.installation_id, E.UnsupportedVersion
    )
    assert p.b.decrypt(message, p.rng) == b"v1"


@pytest.mark.requirement("WIRE-001", "KEYS-005")
@pytest.mark.parametrize("length", [0, 1, 31, 33, 64])
def test_wrong_length_ratchet_key(length):
    p = establish(b"key length")
    message = p.a.encrypt(b"k")
    error = reject(p.b, _with_header(message, 1, bytes(range(length))), E.InvalidKey)
    assert error.code == "INVALID_KEY"
    assert p.b.decrypt(message, p.rng) == b"k"


@pytest.mark.requirement("X3DH-011", "RATCHET-040")
@pytest.mark.parametrize("point", LOW_ORDER_POINTS, ids=lambda p: p.hex()[:8] + p.hex()[-2:])
def test_low_order_ratchet_key(point):
    p = establish(b"low order")
    message = p.a.encrypt(b"genuine")
    forged = _with_header(message, 1, point)
    error = reject(p.b, forged, E.ZeroSharedSecret)
    assert error.code == "ZERO_SHARED_SECRET"
    reject(p.a, _with_header(p.b.encrypt(b"x"), 1, point), E.ZeroSharedSecret)
    assert p.b.decrypt(message, p.rng) == b"genuine"


@pytest.mark.requirement("X3DH-011")
def test_low_order_keys_in_x3dh():
    rng, alice, bob, initial = first_message(b"low order x3dh")
    wire = parse_message(initial)
    ik = alice.identity.public
    point = LOW_ORDER_POINTS[2]
    # A low-order ephemeral key.
    bad_ek = encode_x3dh_header(X3DHHeader(ik, point, 1))
    reject_respond(
        bob,
        rebuild_message(initial, x3dh_header=bad_ek),
        alice.installation_id,
        E.ZeroSharedSecret,
    )
    # A low-order identity DH key, with a valid binding signature.
    bound = IdentityKey(
        ik.signing_key, point, alice.identity.sign(IdentityKey.binding_message(point))
    )
    bound.verify()
    x3dh = X3DHHeader(bound, wire_pb2.X3DHHeader.FromString(wire.x3dh_header).ephemeral_key, 1)
    reject_respond(
        bob,
        rebuild_message(initial, x3dh_header=encode_x3dh_header(x3dh)),
        alice.installation_id,
        E.ZeroSharedSecret,
    )
    # A bundle whose (validly signed) signed prekey is a low-order point.
    entry = dataclasses.replace(bob.bundle.installations[0], signed_prekey=point)
    bundle = Bundle.create(bob.identity, [entry], NOW)
    with pytest.raises(E.ZeroSharedSecret):
        _initiate_with(alice, bob, bundle, rng)


# -- the Double Ratchet -------------------------------------------------------------


@pytest.mark.requirement("RATCHET-034", "RATCHET-040")
def test_max_skip_in_the_current_chain():
    p = establish(b"max skip current", reply=False)  # Bob: Nr = 1 in Alice's chain
    sent = [p.a.encrypt(b"%d" % n) for n in range(1, 1003)]  # numbers 1..1002
    error = reject(p.b, sent[-1], E.TooManySkippedMessages)  # skips 1001
    assert error.code == "TOO_MANY_SKIPPED_MESSAGES"
    assert p.b.decrypt(sent[-2], p.rng) == b"1001"  # skips 1000
    assert len(p.b.ratchet.skipped) == 1000
    assert p.b.decrypt(sent[-1], p.rng) == b"1002"
    assert p.b.decrypt(sent[0], p.rng) == b"1"


@pytest.mark.requirement("RATCHET-034", "RATCHET-033")
def test_max_skip_in_a_new_chain():
    p = establish(b"max skip new")  # Alice is on her second chain; Bob has not seen it
    sent = [p.a.encrypt(b"%d" % n) for n in range(1002)]
    reject(p.b, sent[1001], E.TooManySkippedMessages)
    assert p.b.decrypt(sent[1000], p.rng) == b"1000"
    assert len(p.b.ratchet.skipped) == 1000
    assert p.b.decrypt(sent[1001], p.rng) == b"1001"


@pytest.mark.requirement("RATCHET-034", "RATCHET-033")
@pytest.mark.parametrize(("length", "ok"), [(1001, True), (1002, False)])
def test_max_skip_to_the_previous_chain_length(length, ok):
    """PN of a new chain also bounds the skip in the old one."""
    p = establish(b"max skip pn", reply=False)  # Alice's first chain: 1 message, read
    for n in range(1, length):
        p.a.encrypt(b"lost %d" % n)
    assert p.a.decrypt(p.b.encrypt(b"reply"), p.rng) == b"reply"
    message = p.a.encrypt(b"new chain")
    assert decode_ratchet_message(message).header.previous_chain_length == length
    if ok:
        assert p.b.decrypt(message, p.rng) == b"new chain"
        assert len(p.b.ratchet.skipped) == length - 1
    else:
        reject(p.b, message, E.TooManySkippedMessages)


@pytest.mark.requirement("RATCHET-035")
def test_skipped_key_cap_evicts_oldest_first():
    p = establish(b"cap")  # Bob: Nr = 1 in chain A0; Alice on chain A1
    rng = p.rng
    a1 = [p.a.encrypt(b"a1 %d" % n) for n in range(1001)]
    assert p.b.decrypt(a1[-1], rng) == b"a1 1000"  # holds (A1, 0..999)
    assert p.a.decrypt(p.b.encrypt(b"turn"), rng) == b"turn"
    a2 = [p.a.encrypt(b"a2 %d" % n) for n in range(1001)]
    assert p.b.decrypt(a2[-1], rng) == b"a2 1000"  # holds (A2, 0..999) too
    assert len(p.b.ratchet.skipped) == P.max_skipped_keys == 2000
    assert p.a.decrypt(p.b.encrypt(b"turn"), rng) == b"turn"
    a3 = [p.a.encrypt(b"a3 %d" % n) for n in range(20)]
    assert p.b.decrypt(a3[10], rng) == b"a3 10"  # 10 more: (A1, 0..9) go
    assert len(p.b.ratchet.skipped) == 2000
    for message in a1[:10]:
        error = reject(p.b, message, E.DuplicateMessage)
        assert error.code == "DUPLICATE_MESSAGE"
    assert p.b.decrypt(a1[10], rng) == b"a1 10"
    assert p.b.decrypt(a2[0], rng) == b"a2 0"
    assert p.b.decrypt(a3[0], rng) == b"a3 0"
    assert len(p.b.ratchet.skipped) == 1997
    # In the current chain too: 11..18 skipped makes 2005, so (A1, 11..15) go.
    assert p.b.decrypt(a3[19], rng) == b"a3 19"
    assert len(p.b.ratchet.skipped) == 2000
    for message in a1[11:16]:
        reject(p.b, message, E.DuplicateMessage)
    assert p.b.decrypt(a1[16], rng) == b"a1 16"
    assert p.b.decrypt(a3[11], rng) == b"a3 11"
    # The cap and order survive saving: the next eviction takes (A1, 17) first.
    b = clone(p.b)
    a3_more = [p.a.encrypt(b"a3 %d" % n) for n in range(20, 24)]
    assert b.decrypt(a3_more[-1], rng) == b"a3 23"  # skips 20..22: 2001, one goes
    assert len(b.ratchet.skipped) == 2000
    reject(b, a1[17], E.DuplicateMessage)
    assert b.decrypt(a1[18], rng) == b"a1 18"


@pytest.mark.requirement("RATCHET-021", "RATCHET-036")
def test_duplicates_in_the_current_chain():
    p = establish(b"duplicates")
    m0, m1 = p.a.encrypt(b"m0"), p.a.encrypt(b"m1")
    assert p.b.decrypt(m0, p.rng) == b"m0"
    reject(p.b, m0, E.DuplicateMessage)
    assert p.b.decrypt(m1, p.rng) == b"m1"
    reject(p.b, m0, E.DuplicateMessage)
    reject(p.b, m1, E.DuplicateMessage)
    reject(clone(p.b), m1, E.DuplicateMessage)


@pytest.mark.requirement("RATCHET-031", "RATCHET-032", "RATCHET-022")
def test_skipped_key_used_once_then_deleted():
    p = establish(b"skipped")
    m0, m1, m2 = (p.a.encrypt(b"m%d" % i) for i in range(3))
    assert p.b.decrypt(m2, p.rng) == b"m2"
    skipped = dict(p.b.ratchet.skipped)
    assert set(skipped) == {
        (p.a.ratchet.sending_ratchet.public, 0),
        (p.a.ratchet.sending_ratchet.public, 1),
    }
    state = p.b.to_bytes()
    assert all(key in state for key in skipped.values())
    assert p.b.decrypt(m1, p.rng) == b"m1"
    assert (p.a.ratchet.sending_ratchet.public, 1) not in p.b.ratchet.skipped
    assert skipped[(p.a.ratchet.sending_ratchet.public, 1)] not in p.b.to_bytes()
    reject(p.b, m1, E.DuplicateMessage)
    assert p.b.decrypt(m0, p.rng) == b"m0"
    assert p.b.ratchet.skipped == {}
    assert not any(key in p.b.to_bytes() for key in skipped.values())
    reject(p.b, m0, E.DuplicateMessage)


@pytest.mark.requirement("RATCHET-032", "RATCHET-040")
def test_skipped_key_survives_a_forgery():
    p = establish(b"skipped forgery")
    m0, m1 = p.a.encrypt(b"m0"), p.a.encrypt(b"m1")
    assert p.b.decrypt(m1, p.rng) == b"m1"
    reject(p.b, flip_field(m0, "ciphertext", 0), E.InvalidMac)
    assert len(p.b.ratchet.skipped) == 1
    assert p.b.decrypt(m0, p.rng) == b"m0"


@pytest.mark.requirement("RATCHET-040", "ERR-002")
def test_forgeries_change_nothing_on_every_decrypt_path():
    """A forged copy is rejected without a trace whichever path it takes: a
    held skipped key, the current chain with a gap, a DH step that skips in
    both the old and the new chain."""
    p = establish(b"paths")
    held = [p.a.encrypt(b"held %d" % i) for i in range(3)]
    assert p.b.decrypt(held[2], p.rng) == b"held 2"  # holds (A1, 0), (A1, 1)
    gap = [p.a.encrypt(b"gap %d" % i) for i in range(3)]  # 3..5 in the current chain
    reject(p.b, flip_field(held[0], "mac", 0), E.InvalidMac)
    reject(p.b, flip_field(gap[2], "mac", 0), E.InvalidMac)
    reject(p.b, flip_field(gap[2], "ciphertext", 15), E.InvalidMac)
    # A new chain from Alice whose first arriving message is number 2, with
    # PN telling of more messages in the old chain.
    assert p.a.decrypt(p.b.encrypt(b"turn"), p.rng) == b"turn"
    step = [p.a.encrypt(b"step %d" % i) for i in range(3)]
    reject(p.b, flip_field(step[2], "mac", 31), E.InvalidMac)
    assert decode_ratchet_message(step[2]).header.previous_chain_length == 6
    for message in [*step[::-1], *gap, held[1], held[0]]:
        assert p.b.decrypt(message, p.rng).split()[0] in (b"held", b"gap", b"step")
    assert p.b.ratchet.skipped == {}


@pytest.mark.requirement("RATCHET-033", "RATCHET-035")
def test_skipped_keys_kept_in_arrival_order():
    """A DH step stores the old chain's keys (up to PN) before the new chain's."""
    p = establish(b"order")
    a1 = [p.a.encrypt(b"x") for _ in range(3)]
    assert p.b.decrypt(a1[1], p.rng) == b"x"  # holds (A1, 0)
    assert p.a.decrypt(p.b.encrypt(b"turn"), p.rng) == b"turn"
    a2 = [p.a.encrypt(b"y") for _ in range(3)]
    assert p.b.decrypt(a2[2], p.rng) == b"y"  # then (A1, 2), then (A2, 0), (A2, 1)
    k1, k2 = (decode_ratchet_message(m[0]).header.ratchet_key for m in (a1, a2))
    assert list(p.b.ratchet.skipped) == [(k1, 0), (k1, 2), (k2, 0), (k2, 1)]
    assert list(clone(p.b).ratchet.skipped) == list(p.b.ratchet.skipped)
    assert p.b.ratchet.retired_chains[-1] == (k1, 3)  # the chain and its length (PN)


@pytest.mark.requirement("RATCHET-036")
def test_retired_chains_window():
    """Late copies: DUPLICATE_MESSAGE for the current chain and the two most
    recently retired ones; an older chain is indistinguishable from a forgery."""
    p = establish(b"retired")
    old = p.first
    reject(p.b, old, E.DuplicateMessage)  # chain A0 is current
    x1 = p.a.encrypt(b"x1")
    assert p.b.decrypt(x1, p.rng) == b"x1"  # A1 current; retired: A0
    assert len(p.b.ratchet.retired_chains) == 1
    reject(p.b, old, E.DuplicateMessage)
    ping_pong(p, b"2")  # A2 current; retired: A0, A1
    assert len(p.b.ratchet.retired_chains) == 2
    reject(p.b, old, E.DuplicateMessage)
    reject(p.b, x1, E.DuplicateMessage)
    ping_pong(p, b"3")  # A3 current; retired: A1, A2
    assert len(p.b.ratchet.retired_chains) == P.max_retired_chains == 2
    reject(p.b, old, E.InvalidMac)
    reject(p.b, x1, E.DuplicateMessage)
    ping_pong(p, b"4")  # retired: A2, A3
    reject(p.b, x1, E.InvalidMac)
    reject(clone(p.b), x1, E.InvalidMac)


@pytest.mark.requirement("RATCHET-031", "RATCHET-036")
def test_late_message_of_an_old_chain_uses_its_skipped_key():
    """A key held for an old chain still decrypts, even beyond the retired window."""
    p = establish(b"late")
    late = p.a.encrypt(b"late")
    p.a.encrypt(b"lost")
    ping_pong(p, b"1")  # Bob first sees A1 at number 2: holds (A1, 0) and (A1, 1)
    for i in range(2, 6):
        ping_pong(p, b"%d" % i)
    assert len(p.b.ratchet.skipped) == 2
    assert p.b.decrypt(late, p.rng) == b"late"
    reject(p.b, late, E.InvalidMac)  # no key, and its chain is out of the window


@pytest.mark.requirement("RATCHET-021")
def test_sending_chain_key_used_once():
    p = establish(b"once")
    first, second = p.a.encrypt(b"same"), p.a.encrypt(b"same")
    h1, h2 = decode_ratchet_message(first).header, decode_ratchet_message(second).header
    assert (h1.message_number, h2.message_number) == (0, 1)
    assert parse_message(first).ciphertext != parse_message(second).ciphertext
    assert parse_message(first).mac != parse_message(second).mac
    assert p.b.decrypt(second, p.rng) == p.b.decrypt(first, p.rng) == b"same"


@pytest.mark.requirement("X3DH-021")
def test_local_misuse_errors():
    p = establish(b"misuse")
    with pytest.raises(E.InvalidArgument) as info:
        p.a.encrypt("text")  # type: ignore[arg-type]
    assert isinstance(info.value, E.LocalError) and info.value.code == "INVALID_ARGUMENT"
    responder = DoubleRatchet.responder(P, 1, bytes(32), DHKeyPair.generate(p.rng), bytes(160))
    with pytest.raises(E.SessionStateError) as info:
        responder.encrypt(b"too early")
    assert info.value.code == "SESSION_STATE"
    # A message with an X3DH header is not for the initiator's own session.
    _, _alice, _bob, initial = first_message(b"misuse initial")
    reject(p.a, initial, E.MalformedMessage)
    # Nor for a responder's session of another X3DH run (another EK_A).
    assert not p.b.accepts(decode_ratchet_message(initial))
    reject(p.b, initial, E.MalformedMessage)
    # respond needs an initial message.
    reject_respond(p.bob, p.a.encrypt(b"no x3dh"), p.alice.installation_id, E.MalformedMessage)


# -- errors -----------------------------------------------------------------------


REGISTRY = {
    "InvalidArgument": "INVALID_ARGUMENT",
    "SessionStateError": "SESSION_STATE",
    "StateFormatError": "STATE_FORMAT",
    "MalformedMessage": "MALFORMED_MESSAGE",
    "MessageTooLarge": "MESSAGE_TOO_LARGE",
    "UnsupportedVersion": "UNSUPPORTED_VERSION",
    "UnsupportedProfile": "UNSUPPORTED_PROFILE",
    "InvalidKey": "INVALID_KEY",
    "ZeroSharedSecret": "ZERO_SHARED_SECRET",
    "InvalidSignature": "INVALID_SIGNATURE",
    "InvalidIdentityBinding": "INVALID_IDENTITY_BINDING",
    "BundleSignatureInvalid": "BUNDLE_SIGNATURE_INVALID",
    "BundleStale": "BUNDLE_STALE",
    "BundleTimestampInFuture": "BUNDLE_TIMESTAMP_IN_FUTURE",
    "UnknownInstallation": "UNKNOWN_INSTALLATION",
    "UnknownPreKey": "UNKNOWN_PREKEY",
    "ReplayedInitialMessage": "REPLAYED_INITIAL_MESSAGE",
    "InvalidMac": "INVALID_MAC",
    "InvalidPadding": "INVALID_PADDING",
    "DuplicateMessage": "DUPLICATE_MESSAGE",
    "TooManySkippedMessages": "TOO_MANY_SKIPPED_MESSAGES",
}
LOCAL = {"InvalidArgument", "SessionStateError", "StateFormatError"}


@pytest.mark.requirement("ERR-001")
def test_error_registry():
    assert {cls.__name__: code for code, cls in E.ERROR_CODES.items()} == REGISTRY
    for name, code in REGISTRY.items():
        cls = getattr(E, name)
        assert E.ERROR_CODES[code] is cls
        assert cls.code == code
        base = E.LocalError if name in LOCAL else E.RemoteError
        assert issubclass(cls, base)
        error = cls("fixed text")
        assert error.code == code and error.message == "fixed text"
        assert code in repr(error)


@pytest.mark.requirement("ERR-001")
def test_raised_errors_carry_their_code():
    p = establish(b"codes")
    message = p.a.encrypt(b"code")
    raised = [
        reject(p.b, flip_field(message, "mac", 0), E.InvalidMac),
        reject(p.b, message[:5], E.MalformedMessage),
        reject(p.b, _with_header(message, 1, bytes(3)), E.InvalidKey),
    ]
    p.b.decrypt(message, p.rng)
    raised.append(reject(p.b, message, E.DuplicateMessage))
    for error in raised:
        assert E.ERROR_CODES[error.code] is type(error)


# -- hygiene: no secret in any repr ------------------------------------------------------


def _session_secrets(session: Session) -> list[bytes]:
    r = session.ratchet
    out = [r.root_key.key, r.sending_ratchet.private_bytes()]
    for chain in (r.sending_chain, r.receiving_chain):
        if chain is not None:
            out.append(chain.key)
            next_chain, message_key = chain.next(r.profile)
            out += [next_chain.key, message_key.key, *r.profile.message_keys(message_key.key)]
    for key in r.skipped.values():
        out += [key, *r.profile.message_keys(key)]
    return out


def _party_secrets(party: Party) -> list[bytes]:
    out = [party.identity.signing.private_bytes(), party.identity.dh.private_bytes()]
    out += [s.key_pair.private_bytes() for s in party.installation.signed_prekeys]
    out += [o.key_pair.private_bytes() for o in party.installation.one_time_prekeys.values()]
    return out


def _leaks(text: str, secrets: list[bytes]) -> list[str]:
    found = []
    lower = text.lower()
    for secret in secrets:
        for needle in (secret.hex(), secret.hex()[:16], secret.hex()[-16:], repr(secret)[2:18]):
            if needle.lower() in lower:
                found.append(needle)
    return found


@pytest.mark.requirement("ERR-003")
def test_reprs_hold_no_secrets():
    rng, alice, bob = make_parties(b"reprs", one_time_prekeys=2)
    opk_id = bob.bundle.installations[0].one_time_prekeys[0][0]
    a = initiate(alice, bob, rng, one_time_prekey_id=opk_id)
    secrets = _party_secrets(alice) + _party_secrets(bob)
    first = a.encrypt(b"m0")
    lost = a.encrypt(b"lost")
    a.encrypt(b"lost too")
    b, _ = respond(bob, a.encrypt(b"m3"), alice, rng)
    p = Pair(rng, alice, bob, a, b, first)
    for i in range(2):
        ping_pong(p, b"%d" % i)
    assert b.decrypt(first, rng) == b"m0"
    assert b.ratchet.skipped and b.ratchet.retired_chains
    secrets += _session_secrets(a) + _session_secrets(b)
    assert len(secrets) > 20
    errors = [
        reject(b, flip_field(lost, "mac", 0), E.InvalidMac),
        reject(b, first, E.DuplicateMessage),
        reject(b, _with_header(first, 1, bytes(32)), E.ZeroSharedSecret),
        reject(b, b"\x00garbage", E.MalformedMessage),
    ]
    with pytest.raises(E.StateFormatError) as info:
        Session.from_bytes(b"\x00" + b.to_bytes())
    errors.append(info.value)
    r = b.ratchet
    objects = [
        a,
        b,
        a.ratchet,
        r,
        r.root_key,
        r.sending_chain,
        r.receiving_chain,
        r.sending_ratchet,
        alice.identity,
        bob.identity,
        alice.installation,
        bob.installation,
        *bob.installation.signed_prekeys,
        *bob.installation.one_time_prekeys.values(),
        *errors,
        rng,
    ]
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert not _leaks(text, secrets), (type(obj).__name__, text)
    # The check would see a leak.
    assert _leaks(f"{r.root_key.key.hex()}", secrets)
    assert b.decrypt(lost, rng) == b"lost"


# -- determinism and saving ----------------------------------------------------------


def _scripted_conversation(seed: bytes) -> list[bytes]:
    """Every message and state of a fixed conversation with losses and reordering."""
    p = establish(seed, one_time_prekeys=1, one_time_prekey_id=2)
    out = [p.first]
    held = []
    for turn in range(4):
        sent = [p.a.encrypt(b"a%d.%d" % (turn, i)) for i in range(3)]
        held.append(sent[0])
        for message in reversed(sent[1:]):
            p.b.decrypt(message, p.rng)
        replies = [p.b.encrypt(b"b%d.%d" % (turn, i)) for i in range(2)]
        p.a.decrypt(replies[1], p.rng)
        out += sent + replies + [p.a.to_bytes(), p.b.to_bytes()]
    for message in held:
        p.b.decrypt(message, p.rng)
    out += [p.a.to_bytes(), p.b.to_bytes(), dump_installation(p.bob.installation)]
    return out


def test_determinism():
    one = _scripted_conversation(b"determinism")
    assert one == _scripted_conversation(b"determinism")
    other = _scripted_conversation(b"determinism 2")
    assert len(one) == len(other)
    assert all(x != y for x, y in zip(one, other, strict=True))


def _continue(a: Session, b: Session, seed: bytes) -> list[bytes]:
    """A fixed continuation of a conversation; returns every output."""
    rng = DeterministicRandom(seed)
    out = []
    for turn in range(3):
        sent = [a.encrypt(b"a%d" % turn), a.encrypt(b"a%d'" % turn)]
        out += [*sent, b.decrypt(sent[1], rng), b.decrypt(sent[0], rng)]
        reply = b.encrypt(b"b%d" % turn)
        out += [reply, a.decrypt(reply, rng), a.to_bytes(), b.to_bytes()]
    return out


@pytest.mark.requirement("STORE-010")
@pytest.mark.parametrize("stage", ["pending", "established", "skipped-and-retired"])
def test_session_round_trip(stage):
    p = establish(b"round trip", reply=stage != "pending")
    if stage == "skipped-and-retired":
        late = [p.a.encrypt(b"late 0"), p.a.encrypt(b"late 1")]
        for i in range(3):
            ping_pong(p, b"%d" % i)
        p.b.encrypt(b"lost")
        assert p.b.ratchet.skipped and len(p.b.ratchet.retired_chains) == 2
    for session in (p.a, p.b):
        data = session.to_bytes()
        loaded = Session.from_bytes(data)
        assert loaded.to_bytes() == data
        for attr in (
            "initiator",
            "local_identity",
            "remote_identity",
            "local_installation_id",
            "remote_installation_id",
            "session_id",
            "pending_x3dh",
            "version",
            "profile",
        ):
            assert getattr(loaded, attr) == getattr(session, attr), attr
        assert loaded.ratchet.associated_data == session.ratchet.associated_data
        assert loaded.ratchet.skipped == session.ratchet.skipped
        assert list(loaded.ratchet.skipped) == list(session.ratchet.skipped)  # order
        assert loaded.ratchet.retired_chains == session.ratchet.retired_chains
    a2, b2 = clone(p.a), clone(p.b)
    expected = _continue(p.a, p.b, b"go on")
    assert _continue(a2, b2, b"go on") == expected
    # Mixed: an original Alice with a reloaded Bob, from the same starting point.
    p2 = establish(b"round trip", reply=stage != "pending")
    if stage == "skipped-and-retired":
        assert [p2.a.encrypt(b"late 0"), p2.a.encrypt(b"late 1")] == late
        for i in range(3):
            ping_pong(p2, b"%d" % i)
        p2.b.encrypt(b"lost")
        for message in late:
            assert clone(p2.b).decrypt(message, p2.rng).startswith(b"late")
    assert _continue(p2.a, clone(p2.b), b"go on") == expected


@pytest.mark.requirement("STORE-010", "PREKEY-002", "PREKEY-003")
def test_identity_and_installation_round_trip():
    rng, alice, bob = make_parties(b"keys round trip", one_time_prekeys=3)
    identity = load_identity(dump_identity(bob.identity))
    assert identity.public == bob.identity.public
    assert dump_identity(identity) == dump_identity(bob.identity)
    bob.installation.rotate_signed_prekey(rng, NOW + 5)
    a = initiate(alice, bob, rng, one_time_prekey_id=2)
    respond(bob, a.encrypt(b"x"), alice)
    data = dump_installation(bob.installation)
    installation = load_installation(data)
    assert dump_installation(installation) == data
    assert installation.seen_initial_messages == bob.installation.seen_initial_messages
    assert [s.id for s in installation.signed_prekeys] == [5, 1]
    assert sorted(installation.one_time_prekeys) == [3, 4]
    # The loaded keys accept a new session.
    loaded_bob = dataclasses.replace(bob, identity=identity, installation=installation)
    _b, plaintext = respond(loaded_bob, initiate(alice, bob, rng).encrypt(b"y"), alice)
    assert plaintext == b"y"


@pytest.mark.requirement("STORE-010")
def test_state_format_errors():
    p = establish(b"state errors")
    records = {
        "session": (p.b.to_bytes(), state_pb2.SessionState, Session.from_bytes),
        "identity": (dump_identity(p.bob.identity), state_pb2.IdentityState, load_identity),
        "installation": (
            dump_installation(p.bob.installation),
            state_pb2.InstallationState,
            load_installation,
        ),
    }
    for name, (data, cls, load) in records.items():
        load(data)
        for bad in (b"\xff\xff\xff", b"\x0a\x05ab", b"", b"\x08", data[:-1]):
            with pytest.raises(E.StateFormatError) as info:
                load(bad)
            assert info.value.code == "STATE_FORMAT", name
        with pytest.raises(E.StateFormatError):
            load(bytearray(data))
        for version in (0, 2, 1000):
            record = cls.FromString(data)
            record.format_version = version
            with pytest.raises(E.StateFormatError, match="format version"):
                load(record.SerializeToString())
    # Every proper prefix of a session or identity record is refused.
    for data, load in (
        (records["session"][0], Session.from_bytes),
        (records["identity"][0], load_identity),
    ):
        for length in range(len(data)):
            with pytest.raises(E.StateFormatError):
                load(data[:length])
    # Invalid contents.
    record = state_pb2.SessionState.FromString(p.b.to_bytes())
    record.root_key = bytes(31)
    with pytest.raises(E.StateFormatError):
        Session.from_bytes(record.SerializeToString())
    record = state_pb2.SessionState.FromString(p.b.to_bytes())
    record.profile = 9
    with pytest.raises(E.StateFormatError):
        Session.from_bytes(record.SerializeToString())
    record = state_pb2.IdentityState.FromString(records["identity"][0])
    record.binding_signature = flip(record.binding_signature, 0)
    with pytest.raises(E.StateFormatError):
        load_identity(record.SerializeToString())
    record = state_pb2.InstallationState.FromString(records["installation"][0])
    del record.signed_prekeys[:]
    with pytest.raises(E.StateFormatError):
        load_installation(record.SerializeToString())


@pytest.mark.requirement("STORE-013", "VERSION-003")
def test_a_running_session_keeps_its_version_after_the_policy_drops_it():
    """Stage x+2 (reads 2 only): a saved version-1 session still reads its peer's next
    message, but no new session starts in version 1."""
    from parley.versioning import VersionPolicy

    p = establish(b"store-013 dropped version")
    stage_x2 = VersionPolicy(frozenset({2}), 2)
    b = Session.from_bytes(p.b.to_bytes(), stage_x2)
    assert b.decrypt(p.a.encrypt(b"still version 1"), p.rng) == b"still version 1"
    # the decoder with the session's version added takes a v1 initial message,
    # but Respond under the policy refuses to start a session in version 1
    rng, alice, bob = make_parties(b"store-013 no new v1 session")
    first = initiate(alice, bob, rng).encrypt(b"hello")
    decoded = decode_ratchet_message(first, VersionPolicy(frozenset({1, 2}), 2))
    with pytest.raises(E.UnsupportedVersion):
        Session.respond(
            bob.identity, bob.installation, decoded, alice.installation_id, policy=stage_x2
        )
