"""Requirements of the sans-IO core that no vector covers: randomness and time,
the primitives' edge rules, the order of checks, versions and encodings.

Each test checks one requirement's statement directly and would fail if the
reference violated it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import random
import secrets
import struct
import time

import pytest
from helpers import NOW, establish, make_parties, make_party
from parley import errors as E
from parley.bundle import Bundle, InstallationPreKeys
from parley.codec import (
    Envelope,
    InstallationMessage,
    decode_envelope,
    decode_no_bundle_message,
    decode_ratchet_message,
    encode_envelope,
)
from parley.keys import IdentityKey, IdentityKeyPair, InstallationKeys
from parley.no_bundle import open_no_bundle, seal_no_bundle
from parley.primitives import (
    DeterministicRandom,
    DHKeyPair,
    Random,
    SigningKeyPair,
    SystemRandom,
    aes256_cbc_decrypt,
    hmac_sha256,
    hmac_sha256_verify,
    x25519,
)
from parley.profile import PROFILE_1
from parley.session import Session
from parley.state import dump_installation, dump_session, load_installation, load_session
from parley.v1 import wire_pb2
from parley.versioning import VersionPolicy

P = PROFILE_1
CURVE_P = 2**255 - 19


# -- CONF-002: the deterministic random stream ---------------------------------------


def _rotl(v: int, n: int) -> int:
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def _quarter(s: list[int], a: int, b: int, c: int, d: int) -> None:
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF
    s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """The ChaCha20 block function of RFC 8439 section 2.3, written out (20 rounds)."""
    constants = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)
    state = [
        *constants,
        *struct.unpack("<8I", key),
        counter,
        *struct.unpack("<3I", nonce),
    ]
    s = list(state)
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12)
        _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14)
        _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15)
        _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13)
        _quarter(s, 3, 4, 9, 14)
    return struct.pack("<16I", *((x + y) & 0xFFFFFFFF for x, y in zip(s, state, strict=True)))


def test_chacha20_block_matches_rfc8439_section_2_3_2():
    """The hand-written block function is right (so the next test means something)."""
    block = chacha20_block(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
    assert block == bytes.fromhex(
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
    )


@pytest.mark.requirement("CONF-002")
@pytest.mark.parametrize("seed", [b"", b"parley", bytes(range(64))])
def test_deterministic_random_is_the_chacha20_keystream_of_the_seed(seed):
    """key = SHA-256("Parley deterministic random v1" || seed), nonce 0, counter 0;
    consecutive calls continue the keystream, across block boundaries."""
    key = hashlib.sha256(b"Parley deterministic random v1" + seed).digest()
    keystream = b"".join(chacha20_block(key, i, bytes(12)) for i in range(5))
    rng = DeterministicRandom(seed)
    sizes = [0, 1, 31, 32, 7, 64, 100, 1]
    drawn = b"".join(rng.random_bytes(n) for n in sizes)
    assert drawn == keystream[: sum(sizes)]


@pytest.mark.requirement("CONF-002", "SESSION-030")
def test_production_defaults_use_the_operating_system_csprng(tmp_path):
    """The deterministic stream is only ever used when a caller passes it in."""
    from parley.client import Account

    acc = Account.create(tmp_path / "a.db", "pass", clock=lambda: NOW, kdf_iterations=2)
    try:
        assert type(acc.rng) is SystemRandom
    finally:
        acc.close()
    for function in (Session.initiate, Session.respond, Session.decrypt):
        default = inspect.signature(function).parameters["rng"].default
        assert type(default) is SystemRandom, function.__qualname__


# -- CONF-003: what each operation draws --------------------------------------------


class Recorder(Random):
    """A deterministic source that records every draw."""

    def __init__(self, seed: bytes) -> None:
        self._inner = DeterministicRandom(seed)
        self.draws: list[bytes] = []

    def random_bytes(self, n: int) -> bytes:
        data = self._inner.random_bytes(n)
        self.draws.append(data)
        return data

    def take(self) -> list[bytes]:
        out, self.draws = self.draws, []
        return out


def _dh_private(data: bytes) -> bytes:
    return DHKeyPair.from_private_bytes(data).private_bytes()


@pytest.mark.requirement("CONF-003")
def test_random_draws_of_every_operation_in_order():
    rng = Recorder(b"draw order")
    # An identity: 32 bytes Ed25519 seed, then 32 bytes X25519 key.
    alice = IdentityKeyPair.generate(rng)
    d = rng.take()
    assert [len(x) for x in d] == [32, 32]
    assert alice.signing.private_bytes() == d[0]
    assert alice.dh.private_bytes() == _dh_private(d[1])
    bob = IdentityKeyPair.generate(rng)
    rng.take()
    # A new installation: 16 id, 32 signed prekey, 32 per one-time prekey.
    bob_keys = InstallationKeys.generate(rng, NOW, one_time_prekeys=2)
    d = rng.take()
    assert [len(x) for x in d] == [16, 32, 32, 32]
    assert bob_keys.installation_id == d[0]
    assert bob_keys.current_signed_prekey.key_pair.private_bytes() == _dh_private(d[1])
    opks = sorted(bob_keys.one_time_prekeys.values(), key=lambda k: k.id)
    assert [k.key_pair.private_bytes() for k in opks] == [_dh_private(x) for x in d[2:]]
    alice_iid = bytes(range(16))
    # Rotation and an added one-time prekey: 32 each.
    rotated = InstallationKeys.generate(DeterministicRandom(b"other"), NOW)
    new_spk = rotated.rotate_signed_prekey(rng, NOW + 1)
    [opk] = rotated.add_one_time_prekeys(rng, 1)
    d = rng.take()
    assert [len(x) for x in d] == [32, 32]
    assert new_spk.key_pair.private_bytes() == _dh_private(d[0])
    assert opk.key_pair.private_bytes() == _dh_private(d[1])
    # Signing a bundle draws nothing (it takes no random source at all).
    bundle = Bundle.create(bob, [InstallationPreKeys.of(bob_keys)], NOW)
    assert rng.take() == []
    # Starting a session: 32 for EK_A, then 32 for the first DHs.
    a = Session.initiate(alice, alice_iid, bundle, bob_keys.installation_id, now=NOW, rng=rng)
    d = rng.take()
    assert [len(x) for x in d] == [32, 32]
    assert DHKeyPair.from_private_bytes(d[0]).public == a.session_id
    assert a.ratchet.sending_ratchet.private_bytes() == _dh_private(d[1])
    # Encrypting draws nothing.
    first = a.encrypt(b"one")
    second = a.encrypt(b"two")
    assert rng.take() == []
    # Accepting an initial message is a DH ratchet step: 32 for the new DHs.
    b, _ = Session.respond(bob, bob_keys, first, alice_iid, rng=rng)
    d = rng.take()
    assert [len(x) for x in d] == [32]
    assert b.ratchet.sending_ratchet.private_bytes() == _dh_private(d[0])
    # A message of the current chain: nothing.
    assert b.decrypt(second, rng) == b"two"
    assert rng.take() == []
    # A DH ratchet step draws only after the MAC verified: a forgery draws nothing.
    reply = b.encrypt(b"reply")
    wire = wire_pb2.RatchetMessage.FromString(reply)
    wire.mac = bytes([wire.mac[0] ^ 1]) + wire.mac[1:]
    with pytest.raises(E.InvalidMac):
        a.decrypt(wire.SerializeToString(), rng)
    assert rng.take() == []
    assert a.decrypt(reply, rng) == b"reply"
    d = rng.take()
    assert [len(x) for x in d] == [32]
    assert a.ratchet.sending_ratchet.private_bytes() == _dh_private(d[0])
    # A no-bundle message: 32 for EK.
    sealed = seal_no_bundle(alice, alice_iid, bob.public, b"nb", rng=rng)
    d = rng.take()
    assert [len(x) for x in d] == [32]
    header = decode_no_bundle_message(sealed).header
    assert header.ephemeral_key == DHKeyPair.from_private_bytes(d[0]).public
    assert open_no_bundle(bob, sealed, alice_iid).plaintext == b"nb"
    assert rng.take() == []


# -- SESSION-030: no global clock, no global random generator -----------------------


def _forbidden(*_args, **_kwargs):
    raise AssertionError("the core read a global clock or random generator")


def _core_run(seed: bytes) -> list[bytes]:
    """Every core operation that needs randomness or time, with injected ones."""
    rng = DeterministicRandom(seed)
    alice = make_party("alice", rng)
    bob = make_party("bob", rng, one_time_prekeys=2)
    bundle = Bundle.from_bytes(bob.bundle.to_bytes())
    bundle.verify(NOW)
    a = Session.initiate(
        alice.identity,
        alice.installation_id,
        bundle,
        bob.installation_id,
        now=NOW,
        rng=rng,
        one_time_prekey_id=bundle.installations[0].one_time_prekeys[0][0],
    )
    out = [a.encrypt(b"first")]
    b, plaintext = Session.respond(
        bob.identity, bob.installation, out[0], alice.installation_id, rng=rng
    )
    out.append(plaintext)
    for i in range(3):
        out.append(a.decrypt(b.encrypt(b"b%d" % i), rng))
        out.append(b.decrypt(a.encrypt(b"a%d" % i), rng))
    out.append(
        seal_no_bundle(alice.identity, alice.installation_id, bob.identity.public, b"x", rng=rng)
    )
    out.append(open_no_bundle(bob.identity, out[-1], alice.installation_id).plaintext)
    later = NOW + P.signed_prekey_rotation
    assert bob.installation.needs_rotation(later)
    bob.installation.rotate_signed_prekey(rng, later)
    bob.installation.delete_expired_prekeys(later + P.signed_prekey_grace)
    out += [dump_session(a), dump_session(b), dump_installation(bob.installation)]
    load_session(out[-3])
    load_installation(out[-1])
    return out


@pytest.mark.requirement("SESSION-030")
def test_core_takes_randomness_and_time_only_from_its_caller(monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(os, "urandom", _forbidden)
        m.setattr(secrets, "token_bytes", _forbidden)
        for name in ("random", "getrandbits", "randbytes", "randint"):
            m.setattr(random, name, _forbidden)
        for name in ("time", "time_ns", "monotonic", "monotonic_ns", "localtime", "gmtime"):
            m.setattr(time, name, _forbidden)
        # and never the default source instead of the one passed in
        m.setattr(SystemRandom, "random_bytes", _forbidden)
        first = _core_run(b"injected")
    # Reproducible: the same seed and clock give the same bytes.
    assert _core_run(b"injected") == first


@pytest.mark.requirement("SESSION-030")
def test_operations_that_need_the_time_require_it_from_the_caller():
    for function in (Bundle.create, Bundle.verify, Session.initiate, InstallationKeys.generate):
        param = inspect.signature(function).parameters["now"]
        assert param.default is inspect.Parameter.empty, function.__qualname__


# -- SEC-002: identity keys sign only the binding and bundles ------------------------


@pytest.mark.requirement("SEC-002")
def test_identity_keys_sign_only_bindings_and_bundles(monkeypatch):
    signed: list[bytes] = []
    original = SigningKeyPair.sign

    def spy(self, message: bytes) -> bytes:
        signed.append(message)
        return original(self, message)

    monkeypatch.setattr(SigningKeyPair, "sign", spy)
    _core_run(b"signatures")
    assert signed, "the spy saw nothing"
    labels = (P.identity_binding_label, P.bundle_signature_label)
    assert all(m.startswith(labels) for m in signed), [m[:30] for m in signed]
    # Messages carry no signature field at all.
    for message in (wire_pb2.RatchetMessage, wire_pb2.NoBundleMessage, wire_pb2.X3DHHeader):
        assert not any("signature" in f.name for f in message.DESCRIPTOR.fields)


# -- PROFILE-002: an unsupported profile is refused first ----------------------------


@pytest.mark.requirement("PROFILE-002")
@pytest.mark.parametrize("profile_id", [2, 255])
def test_bundle_of_another_profile_is_refused_before_any_key_is_used(profile_id, monkeypatch):
    rng, alice, bob = make_parties(b"profile %d" % profile_id)
    other = dataclasses.replace(P, id=profile_id)
    # Properly bound and signed under its own profile id: only the profile is wrong.
    identity = IdentityKeyPair.from_private_bytes(
        bob.identity.signing.private_bytes(), bob.identity.dh.private_bytes(), other
    )
    signed = Bundle.create(identity, bob.bundle.installations, NOW, other)
    signed.verify(NOW, other)
    # And one whose binding and signature are garbage too.
    ik = identity.public
    broken = dataclasses.replace(
        signed, identity=IdentityKey(ik.signing_key, ik.dh_key, bytes(64)), signature=bytes(64)
    )
    decoded = Bundle.from_bytes(signed.to_bytes())
    assert decoded.profile == profile_id

    def no_key_use(*_args, **_kwargs):
        raise AssertionError("a key was used before the profile was checked")

    monkeypatch.setattr("parley.bundle.ed25519_verify", no_key_use)
    monkeypatch.setattr(IdentityKey, "verify", no_key_use)
    for bundle in (signed, broken, decoded):
        with pytest.raises(E.UnsupportedProfile) as info:
            bundle.verify(NOW)
        assert info.value.code == "UNSUPPORTED_PROFILE"
        with pytest.raises(E.UnsupportedProfile):
            Session.initiate(
                alice.identity,
                alice.installation_id,
                bundle,
                bob.installation_id,
                now=NOW,
                rng=rng,
            )


# -- PROFILE-010: X25519 public keys ---------------------------------------------------


@pytest.mark.requirement("PROFILE-010")
def test_x25519_accepts_any_32_bytes_and_masks_the_top_bit():
    own = DHKeyPair.from_private_bytes(bytes(range(32)))
    nine = (9).to_bytes(32, "little")
    assert x25519(own, nine) == own.public  # X25519(k, 9) is the public key
    # The top bit is masked.
    assert x25519(own, (9 | 1 << 255).to_bytes(32, "little")) == own.public
    # A non-canonical encoding (u + p) is accepted and means u.
    assert x25519(own, (9 + CURVE_P).to_bytes(32, "little")) == own.public
    peer = DHKeyPair.from_private_bytes(bytes(range(32, 64))).public
    masked = bytearray(peer)
    masked[31] |= 0x80
    assert x25519(own, bytes(masked)) == x25519(own, peer)
    # A point on the twist is still a public key: a non-zero result.
    twist = (2).to_bytes(32, "little")
    assert x25519(own, twist) != bytes(32)


@pytest.mark.requirement("PROFILE-010")
@pytest.mark.parametrize(
    "u",
    [0, 1, CURVE_P - 1, CURVE_P, CURVE_P + 1, 1 << 255],
    ids=["0", "1", "p-1", "p", "p+1", "0-with-top-bit"],
)
def test_x25519_all_zero_output_is_zero_shared_secret(u):
    own = DHKeyPair.from_private_bytes(bytes(range(32)))
    with pytest.raises(E.ZeroSharedSecret) as info:
        x25519(own, (u % (1 << 256)).to_bytes(32, "little"))
    assert info.value.code == "ZERO_SHARED_SECRET"


@pytest.mark.requirement("PROFILE-010")
@pytest.mark.parametrize("size", [0, 1, 31, 33, 64])
def test_x25519_public_key_of_another_length_is_invalid_key(size):
    own = DHKeyPair.from_private_bytes(bytes(range(32)))
    with pytest.raises(E.InvalidKey) as info:
        x25519(own, b"\x09" * size)
    assert info.value.code == "INVALID_KEY"


# -- PROFILE-011: HMAC tags --------------------------------------------------------------


@pytest.mark.requirement("PROFILE-011")
def test_hmac_tags_are_32_bytes_and_other_lengths_are_invalid_mac():
    key, data = bytes(range(32)), b"parley"
    tag = hmac_sha256(key, data)
    assert len(tag) == 32
    assert {len(hmac_sha256(bytes(n), b"x" * n)) for n in (0, 1, 64, 200)} == {32}
    hmac_sha256_verify(key, data, tag)
    # A truncated (but correct) prefix, or an extended tag, is not accepted.
    for other in (b"", tag[:16], tag[:31], tag + b"\x00", tag + tag):
        with pytest.raises(E.InvalidMac) as info:
            hmac_sha256_verify(key, data, other)
        assert info.value.code == "INVALID_MAC"


@pytest.mark.requirement("PROFILE-011")
@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_a_tag_of_another_length_is_malformed_when_decoded(size):
    p = establish(b"mac length")
    wire = wire_pb2.RatchetMessage.FromString(p.a.encrypt(b"m"))
    wire.mac = bytes(size)
    with pytest.raises(E.MalformedMessage):
        decode_ratchet_message(wire.SerializeToString())
    sealed = seal_no_bundle(
        p.alice.identity, p.alice.installation_id, p.bob.identity.public, b"m", rng=p.rng
    )
    nb = wire_pb2.NoBundleMessage.FromString(sealed)
    nb.mac = bytes(size)
    with pytest.raises(E.MalformedMessage):
        decode_no_bundle_message(nb.SerializeToString())


# -- PROFILE-012: AES-256-CBC ------------------------------------------------------------


@pytest.mark.requirement("PROFILE-012")
@pytest.mark.parametrize("size", [0, 1, 15, 17, 33])
def test_cbc_ciphertext_of_a_bad_length_is_malformed_before_the_key_is_used(size, monkeypatch):
    def no_key_use(*_args, **_kwargs):
        raise AssertionError("the key was used")

    monkeypatch.setattr("parley.primitives.Cipher", no_key_use)
    with pytest.raises(E.MalformedMessage) as info:
        aes256_cbc_decrypt(bytes(32), bytes(16), bytes(size))
    assert info.value.code == "MALFORMED_MESSAGE"


@pytest.mark.requirement("PROFILE-012")
def test_padding_is_checked_only_after_the_mac():
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    message_key, ad, header = bytes(range(32)), bytes(160), b"header"
    enc_key, mac_key, iv = P.message_keys(message_key)
    for last_block in (bytes(16), b"\x11" * 16, b"A" * 15 + b"\x02"):
        encryptor = Cipher(algorithms.AES256(enc_key), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(b"B" * 16 + last_block) + encryptor.finalize()
        mac = hmac_sha256(mac_key, P.mac_input(ad, header, ciphertext))
        with pytest.raises(E.InvalidPadding) as info:
            P.decrypt(message_key, ciphertext, mac, ad, header)
        assert info.value.code == "INVALID_PADDING"
        # The same bad padding under a wrong MAC says INVALID_MAC: no oracle.
        with pytest.raises(E.InvalidMac):
            P.decrypt(message_key, ciphertext, bytes(32), ad, header)


# -- NOBUNDLE-011: the order of a no-bundle receiver's checks -------------------------


def _no_bundle_variant(sealed: bytes, mac: bytes | None = None, **header_fields) -> bytes:
    message = wire_pb2.NoBundleMessage.FromString(sealed)
    header = wire_pb2.NoBundleHeader.FromString(message.header)
    for name, value in header_fields.items():
        if name == "binding_signature":
            header.sender_identity.binding_signature = value
        else:
            setattr(header, name, value)
    message.header = header.SerializeToString()
    if mac is not None:
        message.mac = mac
    return message.SerializeToString()


@pytest.mark.requirement("NOBUNDLE-011")
def test_no_bundle_receiver_checks_lengths_recipient_binding_then_mac():
    rng, alice, bob = make_parties(b"no-bundle order")
    carol = make_party("carol", rng)
    iid = alice.installation_id
    sealed = seal_no_bundle(alice.identity, iid, bob.identity.public, b"hello", rng=rng)
    assert open_no_bundle(bob.identity, sealed, iid).plaintext == b"hello"
    bad_binding = bytes(64)
    bad_mac = bytes(32)
    # 1. Lengths first, even when everything after them is wrong as well.
    with pytest.raises(E.InvalidKey):
        open_no_bundle(
            bob.identity,
            _no_bundle_variant(
                sealed, bad_mac, recipient_dh_key=bytes(31), binding_signature=bad_binding
            ),
            iid,
        )
    # 2. The recipient key, before the binding and the MAC.
    with pytest.raises(E.MalformedMessage):
        open_no_bundle(
            bob.identity,
            _no_bundle_variant(
                sealed,
                bad_mac,
                recipient_dh_key=carol.identity.public.dh_key,
                binding_signature=bad_binding,
            ),
            iid,
        )
    with pytest.raises(E.MalformedMessage):
        open_no_bundle(carol.identity, sealed, iid)  # a genuine message for someone else
    # 3. The binding, before the MAC.
    with pytest.raises(E.InvalidIdentityBinding):
        open_no_bundle(
            bob.identity, _no_bundle_variant(sealed, bad_mac, binding_signature=bad_binding), iid
        )
    # 4. The MAC, which also binds the sender installation id from the envelope.
    with pytest.raises(E.InvalidMac):
        open_no_bundle(bob.identity, _no_bundle_variant(sealed, bad_mac), iid)
    with pytest.raises(E.InvalidMac):
        open_no_bundle(bob.identity, sealed, bytes(16))


# -- VERSION-011: a session keeps its version -------------------------------------------


def _party_with_policy(rng, policy: VersionPolicy):
    identity = IdentityKeyPair.generate(rng)
    keys = InstallationKeys.generate(rng, NOW)
    bundle = Bundle.create(identity, [InstallationPreKeys.of(keys, policy)], NOW)
    return identity, keys, bundle


def _header_version(message: bytes) -> int:
    return decode_ratchet_message(message, VersionPolicy(frozenset({1, 2}), 2)).header.version


@pytest.mark.requirement("VERSION-011")
@pytest.mark.parametrize(("alice_writes", "bob_writes"), [(1, 2), (2, 1)])
def test_a_session_writes_its_first_version_for_its_whole_life(alice_writes, bob_writes):
    reads = frozenset({1, 2})
    alice_policy = VersionPolicy(reads, alice_writes)
    bob_policy = VersionPolicy(reads, bob_writes)
    rng = DeterministicRandom(b"version %d %d" % (alice_writes, bob_writes))
    alice, _alice_keys, _ = _party_with_policy(rng, alice_policy)
    bob, bob_keys, bob_bundle = _party_with_policy(rng, bob_policy)
    assert bob_bundle.installations[0].protocol_versions == (1, 2)
    a_iid, b_iid = b"A" * 16, bob_keys.installation_id
    a = Session.initiate(alice, a_iid, bob_bundle, b_iid, now=NOW, rng=rng, policy=alice_policy)
    assert a.version == alice_writes
    first = a.encrypt(b"first")
    assert _header_version(first) == alice_writes
    # The responder writes the version of the initial message, not its own policy's.
    b, _ = Session.respond(bob, bob_keys, first, a_iid, rng=rng, policy=bob_policy)
    assert b.version == alice_writes
    for i in range(3):
        reply = b.encrypt(b"b%d" % i)
        assert _header_version(reply) == alice_writes
        assert a.decrypt(reply, rng) == b"b%d" % i
        message = a.encrypt(b"a%d" % i)
        assert _header_version(message) == alice_writes
        assert b.decrypt(message, rng) == b"a%d" % i
    # Loaded under a policy that would write another version: still the same.
    for session in (a, b):
        other = VersionPolicy(reads, 3 - alice_writes)
        loaded = Session.from_bytes(session.to_bytes(), other)
        assert _header_version(loaded.encrypt(b"later")) == alice_writes


# -- WIRE-041: recipient ids and copy kinds ---------------------------------------------


def _envelope(recipient: bytes, kind: str, body: bytes) -> bytes:
    message = wire_pb2.Envelope(version=1, sender_installation_id=b"S" * 16)
    item = message.messages.add(recipient_installation_id=recipient)
    getattr(item, kind).MergeFromString(body)
    return message.SerializeToString()


@pytest.mark.requirement("WIRE-041")
def test_recipient_id_must_match_the_kind_of_copy():
    p = establish(b"wire-041")
    ratchet = p.a.encrypt(b"r")
    no_bundle = seal_no_bundle(
        p.alice.identity, p.alice.installation_id, p.bob.identity.public, b"n", rng=p.rng
    )
    iid = p.bob.installation_id
    [copy] = decode_envelope(_envelope(iid, "ratchet", ratchet)).messages
    assert (copy.recipient_installation_id, copy.kind) == (iid, "ratchet")
    [copy] = decode_envelope(_envelope(b"", "no_bundle", no_bundle)).messages
    assert (copy.recipient_installation_id, copy.kind) == (None, "no_bundle")
    for recipient, kind, body in (
        (b"", "ratchet", ratchet),
        (iid[:15], "ratchet", ratchet),
        (iid + b"\x00", "ratchet", ratchet),
        (iid, "no_bundle", no_bundle),
        (b"\x00", "no_bundle", no_bundle),
    ):
        with pytest.raises(E.MalformedMessage) as info:
            decode_envelope(_envelope(recipient, kind, body))
        assert info.value.code == "MALFORMED_MESSAGE", (recipient, kind)


# -- WIRE-004 (SHOULD): canonical encodings ----------------------------------------------


def _top_level_fields(data: bytes) -> list[int]:
    """The field numbers of an encoded message, in the order written."""
    numbers, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire_type = key >> 3, key & 7
        numbers.append(number)
        if wire_type == 0:
            _, i = _varint(data, i)
        elif wire_type == 2:
            length, i = _varint(data, i)
            i += length
        else:
            raise AssertionError(f"unexpected wire type {wire_type}")
    return numbers


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _canonical(cls, data: bytes) -> None:
    message = cls.FromString(data)
    numbers = _top_level_fields(data)
    assert numbers == sorted(numbers), (cls.__name__, numbers)
    clean = cls.FromString(data)
    clean.DiscardUnknownFields()
    assert clean.SerializeToString(deterministic=True) == data, cls.__name__  # no defaults
    assert message.SerializeToString(deterministic=True) == data


@pytest.mark.requirement("WIRE-004")
def test_encoder_writes_canonical_protobuf():
    p = establish(b"wire-004", reply=False)
    initial = p.a.encrypt(b"initial")  # with an X3DH header
    p.a.decrypt(p.b.encrypt(b"reply"), p.rng)
    plain = p.a.encrypt(b"plain")
    sealed = seal_no_bundle(
        p.alice.identity, p.alice.installation_id, p.bob.identity.public, b"n", rng=p.rng
    )
    for message in (initial, plain):
        _canonical(wire_pb2.RatchetMessage, message)
        wire = wire_pb2.RatchetMessage.FromString(message)
        _canonical(wire_pb2.RatchetHeader, wire.header)
        if wire.x3dh_header:
            _canonical(wire_pb2.X3DHHeader, wire.x3dh_header)
    _canonical(wire_pb2.NoBundleMessage, sealed)
    _canonical(wire_pb2.NoBundleHeader, wire_pb2.NoBundleMessage.FromString(sealed).header)
    _canonical(wire_pb2.Bundle, p.bob.bundle.to_bytes())
    envelope = encode_envelope(
        Envelope(
            1,
            p.alice.installation_id,
            (
                InstallationMessage(p.bob.installation_id, "ratchet", plain),
                InstallationMessage(None, "no_bundle", sealed),
            ),
            p.alice.bundle,
        )
    )
    _canonical(wire_pb2.Envelope, envelope)
