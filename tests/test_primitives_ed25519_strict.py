"""Strict Ed25519 verification (PROFILE-013): what pyca/cryptography alone accepts
and parley.primitives refuses, and what both accept."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from parley.conformance.families import edwards as E
from parley.errors import InvalidKey, InvalidSignature, MalformedMessage
from parley.primitives import (
    ED25519_ORDER,
    SigningKeyPair,
    ed25519_has_small_order,
    ed25519_is_canonical,
    ed25519_verify,
)

NEUTRAL = E.encode(E.NEUTRAL)
FORGERY = NEUTRAL + bytes(32)  # R = neutral point, S = 0
P = 2**255 - 19

pytestmark = pytest.mark.requirement("PROFILE-013")


def test_pyca_alone_accepts_the_neutral_key_forgery() -> None:
    """The reason for the extra checks: this verifies for every message under pyca."""
    for message in (b"", b"any message", b"Parley bundle v1"):
        Ed25519PublicKey.from_public_bytes(NEUTRAL).verify(FORGERY, message)


@pytest.mark.parametrize("message", [b"", b"any message"])
def test_the_neutral_key_forgery_is_refused(message: bytes) -> None:
    with pytest.raises((InvalidSignature, InvalidKey)):
        ed25519_verify(NEUTRAL, message, FORGERY)


def test_every_small_order_point_is_in_the_table() -> None:
    """The eight points of order dividing 8, both signs, and the non-canonical y = p, p + 1."""
    points = [E.mul(i, E.TORSION_8) for i in range(8)]
    for point in points:
        assert E.order_divides_8(point)
        encoding = E.encode(point)
        assert ed25519_has_small_order(encoding)
        flipped = encoding[:31] + bytes([encoding[31] ^ 0x80])
        assert ed25519_has_small_order(flipped)
    for y in (P, P + 1):
        encoding = y.to_bytes(32, "little")
        assert not ed25519_is_canonical(encoding)
        assert ed25519_has_small_order(encoding)


def test_an_ordinary_key_is_neither_small_order_nor_non_canonical() -> None:
    key = SigningKeyPair.from_private_bytes(bytes(range(32)))
    assert ed25519_is_canonical(key.public)
    assert not ed25519_has_small_order(key.public)
    ed25519_verify(key.public, b"m", key.sign(b"m"))


def test_non_canonical_s_is_refused() -> None:
    key = SigningKeyPair.from_private_bytes(bytes(range(32)))
    signature = key.sign(b"m")
    s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
    with pytest.raises(InvalidSignature):
        ed25519_verify(key.public, b"m", signature[:32] + s.to_bytes(32, "little"))


def test_small_order_r_is_refused_even_when_the_equation_holds() -> None:
    """A key [a]B + T8 and R = -[h]T8, S = [h]a: cofactorless-valid, libsodium refuses."""
    a = 12345678901234567890
    key = E.encode(E.add(E.mul(a, E.BASE), E.TORSION_8))
    for n in range(64):
        message = b"message %d" % n
        for i in range(8):
            r_point = E.mul(i, E.TORSION_8)
            r = E.encode(r_point)
            h = E.challenge(r, key, message)
            if E.add(r_point, E.mul(h, E.TORSION_8)) == E.NEUTRAL:
                signature = r + (h * a % E.L).to_bytes(32, "little")
                Ed25519PublicKey.from_public_bytes(key).verify(signature, message)  # pyca: ok
                with pytest.raises(InvalidSignature):
                    ed25519_verify(key, message, signature)
                return
    pytest.fail("no message gave a small-order R")


def test_wrong_length_signature_is_malformed() -> None:
    key = SigningKeyPair.from_private_bytes(bytes(range(32)))
    with pytest.raises(MalformedMessage):
        ed25519_verify(key.public, b"m", key.sign(b"m")[:63])
