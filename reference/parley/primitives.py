"""The primitives of profile 1 (spec: profile.md, section "Primitives").

This is the only module of Parley that imports pyca/cryptography. Each
function checks lengths before it uses its input, raises a typed Parley error
when a check fails (never returns a sentinel), and compares secrets in
constant time.

=================  ==========================================================
DH                 X25519 (RFC 7748); an all-zero output is an error
signature          Ed25519 (RFC 8032), strict verification as in libsodium
KDF                HKDF-SHA256 (RFC 5869)
MAC                HMAC-SHA256 (RFC 2104), full 32-byte tags
cipher             AES-256-CBC with PKCS#7 padding (NIST SP 800-38A)
random             the operating system's CSPRNG, or a seeded ChaCha20
                   keystream for reproducible tests and vectors
=================  ==========================================================
"""

from __future__ import annotations

import hmac as _hmac
import os

from cryptography.exceptions import InvalidSignature as _PycaInvalidSignature
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as _pyca_hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import (
    InvalidArgument,
    InvalidKey,
    InvalidMac,
    InvalidPadding,
    InvalidSignature,
    MalformedMessage,
    ZeroSharedSecret,
)

__all__ = [
    "AES_BLOCK_SIZE",
    "DH_KEY_SIZE",
    "ED25519_ORDER",
    "MAC_SIZE",
    "SIGNATURE_SIZE",
    "SIGNING_KEY_SIZE",
    "DHKeyPair",
    "DeterministicRandom",
    "Random",
    "SigningKeyPair",
    "SystemRandom",
    "aes256_cbc_decrypt",
    "aes256_cbc_encrypt",
    "ed25519_has_small_order",
    "ed25519_is_canonical",
    "ed25519_verify",
    "hkdf_sha256",
    "hmac_sha256",
    "hmac_sha256_verify",
    "sha512",
    "x25519",
]

DH_KEY_SIZE = 32
SIGNING_KEY_SIZE = 32
SIGNATURE_SIZE = 64
MAC_SIZE = 32
AES_KEY_SIZE = 32
AES_BLOCK_SIZE = 16
_HKDF_MAX_LENGTH = 255 * 32
_ZERO32 = bytes(32)
_SHA256 = hashes.SHA256()
_SHA512 = hashes.SHA512()


def _need(value: object, size: int, what: str, error: type[Exception] = InvalidArgument) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidArgument(f"{what} must be bytes, not {type(value).__name__}")
    if len(value) != size:
        raise error(f"{what} must be {size} bytes, got {len(value)}")


# -- randomness -------------------------------------------------------------


class Random:
    """Source of randomness injected into every operation that needs it."""

    def random_bytes(self, n: int) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError


class SystemRandom(Random):
    """The operating system's CSPRNG (``os.urandom``)."""

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)

    def __repr__(self) -> str:
        return "SystemRandom()"


class DeterministicRandom(Random):
    """A reproducible stream: ChaCha20 keyed by SHA-256(label || seed), nonce 0.

    For tests, benchmarks and test vectors only: the same seed gives the same
    bytes, in every implementation (spec: conformance.md, "Randomness").
    """

    LABEL = b"Parley deterministic random v1"

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes):
            raise InvalidArgument("seed must be bytes")
        digest = hashes.Hash(_SHA256)
        digest.update(self.LABEL + seed)
        key = digest.finalize()
        self._stream = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()

    def random_bytes(self, n: int) -> bytes:
        return self._stream.update(bytes(n))

    def __repr__(self) -> str:
        return "DeterministicRandom(...)"


# -- X25519 -------------------------------------------------------------------


class DHKeyPair:
    """An X25519 key pair. ``public`` is the raw 32-byte public key."""

    __slots__ = ("_key", "public")

    def __init__(self, key: X25519PrivateKey, public: bytes) -> None:
        self._key = key
        self.public = public

    @classmethod
    def from_private_bytes(cls, data: bytes) -> DHKeyPair:
        _need(data, DH_KEY_SIZE, "X25519 private key")
        key = X25519PrivateKey.from_private_bytes(bytes(data))
        return cls(key, key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, rng: Random) -> DHKeyPair:
        return cls.from_private_bytes(rng.random_bytes(DH_KEY_SIZE))

    def private_bytes(self) -> bytes:
        return self._key.private_bytes_raw()

    def exchange(self, peer_public: bytes) -> bytes:
        return x25519(self, peer_public)

    def __repr__(self) -> str:
        return f"DHKeyPair(public={self.public.hex()[:16]}...)"


def x25519(own: DHKeyPair, peer_public: bytes) -> bytes:
    """X25519(own private key, peer public key) -> 32-byte shared secret.

    Any 32-byte string is accepted as a u-coordinate, as RFC 7748 section 5
    prescribes (non-canonical values and twist points included). An all-zero
    result, which every low-order point gives, raises ZeroSharedSecret.
    """
    _need(peer_public, DH_KEY_SIZE, "X25519 public key", InvalidKey)
    try:
        shared = own._key.exchange(X25519PublicKey.from_public_bytes(bytes(peer_public)))
    except ValueError:
        # pyca refuses an all-zero output; say so with the profile's error.
        raise ZeroSharedSecret("X25519 output is all zeros (low-order public key)") from None
    if _hmac.compare_digest(shared, _ZERO32):  # defence in depth: never use zeros
        raise ZeroSharedSecret("X25519 output is all zeros (low-order public key)")
    return shared


# -- Ed25519 ------------------------------------------------------------------


class SigningKeyPair:
    """An Ed25519 key pair. ``public`` is the raw 32-byte public key."""

    __slots__ = ("_key", "public")

    def __init__(self, key: Ed25519PrivateKey, public: bytes) -> None:
        self._key = key
        self.public = public

    @classmethod
    def from_private_bytes(cls, data: bytes) -> SigningKeyPair:
        _need(data, SIGNING_KEY_SIZE, "Ed25519 private key")
        key = Ed25519PrivateKey.from_private_bytes(bytes(data))
        return cls(key, key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, rng: Random) -> SigningKeyPair:
        return cls.from_private_bytes(rng.random_bytes(SIGNING_KEY_SIZE))

    def private_bytes(self) -> bytes:
        return self._key.private_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"SigningKeyPair(public={self.public.hex()[:16]}...)"


#: The group order L of Ed25519 (RFC 8032 section 5.1).
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
_P25519 = 2**255 - 19

#: The y-coordinates of the eight points of order 1, 2, 4 and 8 of edwards25519
#: (as libsodium's ``ge25519_has_small_order`` lists them): 1 (the neutral
#: point), p - 1 (order 2), 0 (order 4) and the two of order 8. A 32-byte
#: encoding names a small-order point when its low 255 bits, reduced mod p, are
#: one of these, whatever the sign bit: that also catches the non-canonical
#: encodings p (= 0) and p + 1 (= 1), and x = 0 written with the sign bit set.
_SMALL_ORDER_Y = frozenset(
    {
        0,
        1,
        _P25519 - 1,
        int.from_bytes(
            bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
            "little",
        ),
        int.from_bytes(
            bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
            "little",
        ),
    }
)


def _ed25519_y(encoding: bytes) -> int:
    return int.from_bytes(encoding, "little") & ((1 << 255) - 1)


def ed25519_is_canonical(encoding: bytes) -> bool:
    """True when a 32-byte point encoding has y < p (RFC 8032 section 5.1.3)."""
    return _ed25519_y(encoding) < _P25519


def ed25519_has_small_order(encoding: bytes) -> bool:
    """True when a 32-byte encoding names a point of order 1, 2, 4 or 8."""
    return _ed25519_y(encoding) % _P25519 in _SMALL_ORDER_Y


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> None:
    """Verify an Ed25519 signature; raise InvalidSignature when it fails.

    Strict verification (profile.md, "Key handling"), as libsodium's
    ``crypto_sign_verify_detached`` does: the signature is 64 bytes
    (``MalformedMessage`` otherwise); ``S`` is canonical (below the group
    order L); ``R`` is a canonical encoding of a point that is not of small
    order; the public key is a canonical encoding of a point that is not of
    small order (``InvalidKey`` otherwise); then the cofactorless equation
    ``[S]B = R + [k]A`` of RFC 8032, which pyca/cryptography (OpenSSL) checks.
    pyca alone accepts small-order keys and ``R``: with the neutral point as
    key, ``R`` = neutral and ``S`` = 0 verify for every message.
    """
    _need(public, SIGNING_KEY_SIZE, "Ed25519 public key", InvalidKey)
    if not isinstance(signature, bytes | bytearray | memoryview):
        raise InvalidArgument("an Ed25519 signature must be bytes")
    signature = bytes(signature)
    if len(signature) != SIGNATURE_SIZE:
        raise MalformedMessage(f"Ed25519 signature must be {SIGNATURE_SIZE} bytes")
    public = bytes(public)
    r, s = signature[:32], signature[32:]
    if int.from_bytes(s, "little") >= ED25519_ORDER:
        raise InvalidSignature("Ed25519 signature: S is not below the group order")
    if not ed25519_is_canonical(r) or ed25519_has_small_order(r):
        raise InvalidSignature("Ed25519 signature: R is non-canonical or of small order")
    if not ed25519_is_canonical(public) or ed25519_has_small_order(public):
        raise InvalidKey("Ed25519 public key is non-canonical or of small order")
    try:
        key = Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        raise InvalidKey("Ed25519 public key is not a valid point encoding") from None
    try:
        key.verify(signature, message)
    except _PycaInvalidSignature:
        raise InvalidSignature("Ed25519 signature does not verify") from None


# -- hashes, HKDF, HMAC -----------------------------------------------------


def sha512(data: bytes) -> bytes:
    """SHA-512 (FIPS 180-4) of ``data``: 64 bytes (the safety number, KEYS-007)."""
    digest = hashes.Hash(_SHA512)
    digest.update(data)
    return digest.finalize()


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt``, expand to ``length`` bytes."""
    if not 0 < length <= _HKDF_MAX_LENGTH:
        raise InvalidArgument(f"HKDF-SHA256 output length must be 1..{_HKDF_MAX_LENGTH}")
    return HKDF(algorithm=_SHA256, length=length, salt=salt, info=info).derive(ikm)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``data`` under ``key``: 32 bytes."""
    mac = _pyca_hmac.HMAC(key, _SHA256)
    mac.update(data)
    return mac.finalize()


def hmac_sha256_verify(key: bytes, data: bytes, tag: bytes) -> None:
    """Check a full 32-byte HMAC-SHA256 tag in constant time; raise InvalidMac."""
    if len(tag) != MAC_SIZE:
        raise InvalidMac(f"MAC must be {MAC_SIZE} bytes, got {len(tag)}")
    mac = _pyca_hmac.HMAC(key, _SHA256)
    mac.update(data)
    try:
        mac.verify(tag)  # constant-time comparison inside pyca
    except _PycaInvalidSignature:
        raise InvalidMac("MAC does not verify") from None


# -- AES-256-CBC --------------------------------------------------------------


def _need_key_iv(key: bytes, iv: bytes) -> None:
    # Lengths only: pyca/cryptography itself rejects a non-bytes key or IV.
    if len(key) != AES_KEY_SIZE:
        raise InvalidArgument(f"AES-256 key must be {AES_KEY_SIZE} bytes, got {len(key)}")
    if len(iv) != AES_BLOCK_SIZE:
        raise InvalidArgument(f"CBC IV must be {AES_BLOCK_SIZE} bytes, got {len(iv)}")


def aes256_cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-256-CBC with PKCS#7 padding."""
    _need_key_iv(key, iv)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES256(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def aes256_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of :func:`aes256_cbc_encrypt`; raise InvalidPadding on bad padding."""
    _need_key_iv(key, iv)
    if not ciphertext or len(ciphertext) % AES_BLOCK_SIZE:
        raise MalformedMessage("ciphertext length must be a non-zero multiple of 16")
    dec = Cipher(algorithms.AES256(key), modes.CBC(iv)).decryptor()
    padded = dec.update(ciphertext) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise InvalidPadding("invalid PKCS#7 padding") from None
