"""Safety numbers (KEYS-007): a known answer, an independent computation from
the spec's text, symmetry, and sensitivity to every byte of either identity."""

from __future__ import annotations

import hashlib

import pytest
from parley.errors import InvalidArgument
from parley.keys import IdentityKey
from parley.safety_number import fingerprint_digits, format_safety_number, safety_number

# Public keys of RFC 8032 (tests 1 and 2) and RFC 7748 (Alice, Bob), as identities.
ALICE = IdentityKey(
    bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
    bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
    bytes(64),
)
BOB = IdentityKey(
    bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
    bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
    bytes(64),
)
#: Pinned: a change to the computation breaks every number users compared before.
ALICE_DIGITS = "932838158004330211906795239543"
BOB_DIGITS = "905479026190543069236076370179"


def spec_digits(identity: IdentityKey) -> str:
    """KEYS-007 as written, with hashlib (not the reference's primitives)."""
    ik = identity.signing_key + identity.dh_key
    h = hashlib.sha512(b"Parley safety number v1" + ik).digest()
    for _ in range(2, 5200 + 1):
        h = hashlib.sha512(h + ik).digest()
    return "".join(
        str(int.from_bytes(h[5 * k : 5 * k + 5], "big") % 100000).zfill(5) for k in range(6)
    )


@pytest.mark.requirement("KEYS-007")
def test_known_answer_and_the_spec_text_agree():
    assert fingerprint_digits(ALICE) == spec_digits(ALICE) == ALICE_DIGITS
    assert fingerprint_digits(BOB) == spec_digits(BOB) == BOB_DIGITS
    # the half that sorts first comes first, whoever computes it
    assert safety_number(ALICE, BOB) == safety_number(BOB, ALICE) == BOB_DIGITS + ALICE_DIGITS


@pytest.mark.requirement("KEYS-007")
@pytest.mark.parametrize("field", ["signing_key", "dh_key"])
def test_every_key_byte_changes_the_number(field):
    base = safety_number(ALICE, BOB)
    for index in (0, 31):
        key = bytearray(getattr(BOB, field))
        key[index] ^= 1
        changed = IdentityKey(
            **{**{f: getattr(BOB, f) for f in IdentityKey.__slots__}, field: bytes(key)}
        )
        assert safety_number(ALICE, changed) != base


def test_binding_signature_is_not_part_of_it():
    other = IdentityKey(BOB.signing_key, BOB.dh_key, b"\x01" * 64)
    assert safety_number(ALICE, other) == safety_number(ALICE, BOB)


def test_format_and_bad_input():
    shown = format_safety_number(safety_number(ALICE, BOB))
    assert shown.splitlines() == [
        "90547 90261 90543 06923",
        "60763 70179 93283 81580",
        "04330 21190 67952 39543",
    ]
    for bad in ("123", "x" * 60, "1" * 61):
        with pytest.raises(InvalidArgument):
            format_safety_number(bad)
    with pytest.raises(InvalidArgument):
        fingerprint_digits(b"not an identity")  # type: ignore[arg-type]
