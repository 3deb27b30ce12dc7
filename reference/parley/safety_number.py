"""Safety numbers: what two people compare to check each other's identity (KEYS-007).

Like Signal's numeric fingerprints: each identity ``IK`` (``signing_key ||
dh_key``, 64 bytes) gives 30 digits from an iterated SHA-512; the safety
number of two accounts is both halves, the smaller first, so both sides
compute the same 60 digits. It changes when either identity changes.
"""

from __future__ import annotations

from .errors import InvalidArgument
from .keys import IdentityKey
from .primitives import sha512
from .profile import PROFILE_1, Profile

__all__ = ["DIGITS", "fingerprint_digits", "format_safety_number", "safety_number"]

#: Digits of a safety number: 30 per identity.
DIGITS = 60
_CHUNKS = 6  # 5-byte chunks per identity, 5 digits each


def fingerprint_digits(identity: IdentityKey, profile: Profile = PROFILE_1) -> str:
    """The 30 digits of one identity: ``H_1 = SHA-512(label || IK)``,
    ``H_i = SHA-512(H_(i-1) || IK)`` up to the profile's count, then each of the
    first six 5-byte chunks of the last hash, big-endian, modulo 100000."""
    if not isinstance(identity, IdentityKey):
        raise InvalidArgument("a safety number needs an IdentityKey")
    ik = identity.signing_key + identity.dh_key
    digest = sha512(profile.safety_number_label + ik)
    for _ in range(profile.safety_number_iterations - 1):
        digest = sha512(digest + ik)
    return "".join(
        f"{int.from_bytes(digest[5 * k : 5 * k + 5], 'big') % 100000:05d}" for k in range(_CHUNKS)
    )


def safety_number(a: IdentityKey, b: IdentityKey, profile: Profile = PROFILE_1) -> str:
    """The 60-digit safety number of two identities; the same for either order."""
    halves = sorted((fingerprint_digits(a, profile), fingerprint_digits(b, profile)))
    return halves[0] + halves[1]


def format_safety_number(number: str, per_line: int = 4) -> str:
    """Twelve groups of five digits, ``per_line`` groups on a line."""
    if len(number) != DIGITS or not number.isdigit():
        raise InvalidArgument(f"a safety number is {DIGITS} digits")
    groups = [number[i : i + 5] for i in range(0, DIGITS, 5)]
    return "\n".join(" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line))
