"""Shared test helpers: parties, session pairs, message surgery.

Plain functions (no pytest fixtures) so that unit tests, hypothesis state
machines and fixture generators can all call them with their own seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.bundle import Bundle, InstallationPreKeys
from parley.keys import IdentityKeyPair, InstallationKeys
from parley.primitives import DeterministicRandom
from parley.session import Session
from parley.v1 import wire_pb2

#: The fixed clock of every test (seconds since the Unix epoch).
NOW = 1_700_000_000


@dataclass
class Party:
    """One account with one installation, and the bundle it publishes."""

    name: str
    identity: IdentityKeyPair
    installation: InstallationKeys
    bundle: Bundle

    @property
    def installation_id(self) -> bytes:
        return self.installation.installation_id


def make_party(
    name: str, rng: DeterministicRandom, *, one_time_prekeys: int = 0, now: int = NOW
) -> Party:
    identity = IdentityKeyPair.generate(rng)
    installation = InstallationKeys.generate(rng, now, one_time_prekeys=one_time_prekeys)
    bundle = Bundle.create(identity, [InstallationPreKeys.of(installation)], now)
    return Party(name, identity, installation, bundle)


def make_parties(
    seed: bytes, *, one_time_prekeys: int = 0
) -> tuple[DeterministicRandom, Party, Party]:
    """(rng, alice, bob) from ``seed``; Bob offers ``one_time_prekeys`` OPKs."""
    rng = DeterministicRandom(seed)
    alice = make_party("alice", rng)
    bob = make_party("bob", rng, one_time_prekeys=one_time_prekeys)
    return rng, alice, bob


def initiate(
    alice: Party,
    bob: Party,
    rng: DeterministicRandom,
    *,
    now: int = NOW,
    one_time_prekey_id: int | None = None,
) -> Session:
    """Alice's session with Bob's installation, from Bob's bundle (through its bytes)."""
    return Session.initiate(
        alice.identity,
        alice.installation_id,
        Bundle.from_bytes(bob.bundle.to_bytes()),
        bob.installation_id,
        now=now,
        rng=rng,
        one_time_prekey_id=one_time_prekey_id,
    )


@dataclass
class Pair:
    """Two parties and their two sessions (``a``: the initiator)."""

    rng: DeterministicRandom
    alice: Party
    bob: Party
    a: Session
    b: Session
    #: Alice's first message, the one Bob accepted with Session.respond.
    first: bytes


def establish(
    seed: bytes = b"parley tests",
    *,
    reply: bool = True,
    one_time_prekeys: int = 0,
    one_time_prekey_id: int | None = None,
) -> Pair:
    """A session pair: Alice sends one message, Bob accepts it, and (if
    ``reply``) Bob answers once and Alice decrypts the answer."""
    rng, alice, bob = make_parties(seed, one_time_prekeys=one_time_prekeys)
    a = initiate(alice, bob, rng, one_time_prekey_id=one_time_prekey_id)
    first = a.encrypt(b"hello Bob")
    b, plaintext = Session.respond(
        bob.identity, bob.installation, first, alice.installation_id, rng=rng
    )
    assert plaintext == b"hello Bob"
    if reply:
        assert a.decrypt(b.encrypt(b"hello Alice"), rng) == b"hello Alice"
    return Pair(rng, alice, bob, a, b, first)


def clone(session: Session) -> Session:
    """An independent copy of ``session`` through the local state format."""
    return Session.from_bytes(session.to_bytes())


# -- message surgery ------------------------------------------------------------


def parse_message(data: bytes) -> wire_pb2.RatchetMessage:
    return wire_pb2.RatchetMessage.FromString(data)


def rebuild_message(data: bytes, **fields: bytes) -> bytes:
    """``data`` with some RatchetMessage fields replaced (header, ciphertext,
    mac, x3dh_header), re-encoded."""
    message = parse_message(data)
    for name, value in fields.items():
        setattr(message, name, value)
    return message.SerializeToString()


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    """``data`` with the byte at ``index`` XORed with ``mask``."""
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


def flip_field(data: bytes, field: str, index: int, mask: int = 0x01) -> bytes:
    """``data`` with one byte of one RatchetMessage field flipped."""
    value = getattr(parse_message(data), field)
    return rebuild_message(data, **{field: flip(value, index, mask)})
