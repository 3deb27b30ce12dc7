"""Just enough edwards25519 arithmetic to craft the Ed25519 strictness vectors.

The vectors need signatures that a lax verifier (pyca/cryptography alone)
accepts and a strict one (profile.md, "Key handling") refuses: small-order
keys and ``R``, keys with a torsion component. No secret ever goes through
this code; it is slow, simple, and used by the vector generator only.
Verification stays in ``parley.primitives``.
"""

from __future__ import annotations

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, -1, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int]  # affine (x, y)
NEUTRAL: Point = (0, 1)


def add(a: Point, b: Point) -> Point:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, -1, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, P) % P
    return x3, y3


def mul(n: int, a: Point) -> Point:
    result, addend = NEUTRAL, a
    while n:
        if n & 1:
            result = add(result, addend)
        addend = add(addend, addend)
        n >>= 1
    return result


def decode(data: bytes) -> Point | None:
    """RFC 8032 section 5.1.3, canonical encodings only."""
    y = int.from_bytes(data, "little") & ((1 << 255) - 1)
    sign = data[31] >> 7
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P == (-u) % P:
        x = x * _SQRT_M1 % P
    elif v * x * x % P != u:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def encode(a: Point) -> bytes:
    x, y = a
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


BASE: Point = decode(bytes.fromhex("58" + "66" * 31))  # type: ignore[assignment]
#: A point of order 8; its multiples are the eight small-order points.
TORSION_8: Point = decode(  # type: ignore[assignment]
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
)


def challenge(r: bytes, a: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + a + message).digest(), "little") % L


def order_divides_8(a: Point) -> bool:
    return mul(8, a) == NEUTRAL
