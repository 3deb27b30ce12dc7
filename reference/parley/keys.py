"""Identities, installations and their prekeys (spec: keys.md).

* An **account** is named by an Ed25519 signing key. Its X25519 identity key
  (IK in X3DH) is bound to the signing key by a signature (KEYS-003), so one
  identity signs bundles and takes part in Diffie-Hellman without converting
  keys between curves.
* An **installation** (a device) has a random 16-byte identifier, its own
  signed prekeys and optional one-time prekeys. Every installation of an
  account holds the account's identity key pair.
* Prekey private keys are deleted: a superseded signed prekey after the
  profile's grace period, a one-time prekey as soon as it is used (PREKEY-004,
  PREKEY-005).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import (
    InvalidArgument,
    InvalidIdentityBinding,
    InvalidKey,
    InvalidSignature,
    SessionStateError,
)
from .primitives import (
    DH_KEY_SIZE,
    SIGNATURE_SIZE,
    SIGNING_KEY_SIZE,
    DHKeyPair,
    Random,
    SigningKeyPair,
    ed25519_verify,
)
from .profile import PROFILE_1, Profile

__all__ = [
    "INSTALLATION_ID_SIZE",
    "IdentityKey",
    "IdentityKeyPair",
    "InstallationKeys",
    "OneTimePreKey",
    "SignedPreKey",
]

INSTALLATION_ID_SIZE = 16
IDENTITY_KEY_SIZE = SIGNING_KEY_SIZE + DH_KEY_SIZE + SIGNATURE_SIZE


def _check_length(value: bytes, size: int, what: str, error: type[Exception]) -> None:
    if not isinstance(value, bytes):
        raise InvalidArgument(f"{what} must be bytes")
    if len(value) != size:
        raise error(f"{what} must be {size} bytes, got {len(value)}")


def check_installation_id(value: bytes, error: type[Exception] = InvalidArgument) -> bytes:
    """Return ``value`` if it is a 16-byte installation identifier, else raise ``error``."""
    _check_length(value, INSTALLATION_ID_SIZE, "installation id", error)
    return value


@functools.lru_cache(maxsize=4096)
def _verified_binding(signing_key: bytes, message: bytes, signature: bytes) -> bool:
    """ed25519_verify, remembered when it succeeds (a failure raises, and is not kept)."""
    ed25519_verify(signing_key, message, signature)
    return True


@dataclass(frozen=True, slots=True)
class IdentityKey:
    """The public identity of an account (KEYS-001).

    ``signing_key`` (Ed25519) names the account; ``dh_key`` (X25519) is IK in
    X3DH; ``binding_signature`` is the signing key's signature over
    ``binding_label || profile id || dh_key``.
    """

    signing_key: bytes
    dh_key: bytes
    binding_signature: bytes

    def __post_init__(self) -> None:
        _check_length(self.signing_key, SIGNING_KEY_SIZE, "identity signing key", InvalidKey)
        _check_length(self.dh_key, DH_KEY_SIZE, "identity DH key", InvalidKey)
        _check_length(
            self.binding_signature, SIGNATURE_SIZE, "identity binding signature", InvalidKey
        )

    @staticmethod
    def binding_message(dh_key: bytes, profile: Profile = PROFILE_1) -> bytes:
        """The bytes the binding signature covers (KEYS-003)."""
        return profile.identity_binding_label + bytes([profile.id]) + dh_key

    def verify(self, profile: Profile = PROFILE_1) -> None:
        """Check the binding signature; raise InvalidIdentityBinding if it fails.

        A binding that verified once is remembered (the check is a pure
        function of public bytes), so loading a saved session, which checks
        both identities (STORE-010), costs no signature verification after
        the first.
        """
        try:
            _verified_binding(
                self.signing_key,
                self.binding_message(self.dh_key, profile),
                self.binding_signature,
            )
        except (InvalidSignature, InvalidKey):
            raise InvalidIdentityBinding("identity binding signature does not verify") from None

    @property
    def keys(self) -> bytes:
        """signing_key || dh_key: the 64 bytes that name the identity in AD."""
        return self.signing_key + self.dh_key

    def to_bytes(self) -> bytes:
        """signing_key || dh_key || binding_signature (128 bytes, local storage)."""
        return self.signing_key + self.dh_key + self.binding_signature

    @classmethod
    def from_bytes(cls, data: bytes) -> IdentityKey:
        _check_length(data, IDENTITY_KEY_SIZE, "identity key record", InvalidKey)
        return cls(data[:32], data[32:64], data[64:])

    def fingerprint(self) -> str:
        """The signing key in hex: the account's name for people to compare."""
        return self.signing_key.hex()


class IdentityKeyPair:
    """An account's identity: an Ed25519 key pair and a bound X25519 key pair."""

    __slots__ = ("dh", "public", "signing")

    def __init__(self, signing: SigningKeyPair, dh: DHKeyPair, binding_signature: bytes) -> None:
        self.signing = signing
        self.dh = dh
        self.public = IdentityKey(signing.public, dh.public, binding_signature)

    @classmethod
    def generate(cls, rng: Random, profile: Profile = PROFILE_1) -> IdentityKeyPair:
        signing = SigningKeyPair.generate(rng)
        dh = DHKeyPair.generate(rng)
        return cls(signing, dh, signing.sign(IdentityKey.binding_message(dh.public, profile)))

    @classmethod
    def from_private_bytes(
        cls, signing_private: bytes, dh_private: bytes, profile: Profile = PROFILE_1
    ) -> IdentityKeyPair:
        """Rebuild from private keys; the binding signature is deterministic (Ed25519)."""
        signing = SigningKeyPair.from_private_bytes(signing_private)
        dh = DHKeyPair.from_private_bytes(dh_private)
        return cls(signing, dh, signing.sign(IdentityKey.binding_message(dh.public, profile)))

    def sign(self, message: bytes) -> bytes:
        return self.signing.sign(message)

    def __repr__(self) -> str:
        return f"IdentityKeyPair(signing_key={self.public.signing_key.hex()[:16]}...)"


class SignedPreKey:
    """A signed prekey of an installation, with its private key."""

    __slots__ = ("created_at", "id", "key_pair", "superseded_at")

    def __init__(self, id: int, key_pair: DHKeyPair, created_at: int, superseded_at: int = 0):
        self.id = id
        self.key_pair = key_pair
        self.created_at = created_at
        self.superseded_at = superseded_at

    def __repr__(self) -> str:
        return f"SignedPreKey(id={self.id}, created_at={self.created_at})"


class OneTimePreKey:
    """A one-time prekey of an installation, with its private key."""

    __slots__ = ("id", "key_pair")

    def __init__(self, id: int, key_pair: DHKeyPair):
        self.id = id
        self.key_pair = key_pair

    def __repr__(self) -> str:
        return f"OneTimePreKey(id={self.id})"


_U32 = 0xFFFFFFFF


class InstallationKeys:
    """The private prekeys of one installation (spec: keys.md, "Prekey life").

    ``signed_prekeys`` holds the current signed prekey first, then superseded
    ones still within the grace period.
    """

    __slots__ = (
        "installation_id",
        "next_prekey_id",
        "one_time_prekeys",
        "seen_initial_messages",
        "signed_prekeys",
    )

    def __init__(
        self,
        installation_id: bytes,
        signed_prekeys: list[SignedPreKey],
        one_time_prekeys: dict[int, OneTimePreKey] | None = None,
        next_prekey_id: int = 1,
        seen_initial_messages: dict[int, set[bytes]] | None = None,
    ) -> None:
        self.installation_id = check_installation_id(installation_id)
        if not signed_prekeys:
            raise InvalidArgument("an installation needs a signed prekey")
        self.signed_prekeys = signed_prekeys
        self.one_time_prekeys = one_time_prekeys or {}
        self.next_prekey_id = next_prekey_id
        #: The replay guard (X3DH-040): the ephemeral keys of accepted initial
        #: messages, by signed prekey id. Entries go when their prekey goes.
        self.seen_initial_messages = seen_initial_messages or {}

    @classmethod
    def generate(cls, rng: Random, now: int, one_time_prekeys: int = 0) -> InstallationKeys:
        """A new installation: a random identifier and a first signed prekey."""
        keys = cls(
            rng.random_bytes(INSTALLATION_ID_SIZE),
            [SignedPreKey(1, DHKeyPair.generate(rng), now)],
            next_prekey_id=2,
        )
        keys.add_one_time_prekeys(rng, one_time_prekeys)
        return keys

    def _new_id(self) -> int:
        """The next prekey id (PREKEY-002). The counter is a uint32 at rest, so
        the last id it gives is 2^32 - 2; past that, SessionStateError."""
        prekey_id = self.next_prekey_id
        self._new_id_check(1)
        self.next_prekey_id = prekey_id + 1
        return prekey_id

    def _new_id_check(self, count: int) -> None:
        if self.next_prekey_id < 1 or self.next_prekey_id + count - 1 >= _U32:
            raise SessionStateError(
                "this installation has used every prekey id: restore it as a new installation"
            )

    @property
    def current_signed_prekey(self) -> SignedPreKey:
        return self.signed_prekeys[0]

    def rotate_signed_prekey(self, rng: Random, now: int) -> SignedPreKey:
        """Make a new current signed prekey; the old one enters its grace period."""
        new = SignedPreKey(self._new_id(), DHKeyPair.generate(rng), now)
        self.signed_prekeys[0].superseded_at = now
        self.signed_prekeys.insert(0, new)
        return new

    def needs_rotation(self, now: int, profile: Profile = PROFILE_1) -> bool:
        return now - self.current_signed_prekey.created_at >= profile.signed_prekey_rotation

    def delete_expired_prekeys(self, now: int, profile: Profile = PROFILE_1) -> list[int]:
        """Delete superseded signed prekeys past the grace period (PREKEY-004).

        Returns the identifiers deleted, so the caller can also drop their
        replay-guard entries.
        """
        keep = [self.signed_prekeys[0]]
        deleted = []
        for spk in self.signed_prekeys[1:]:
            if now - spk.superseded_at >= profile.signed_prekey_grace:
                deleted.append(spk.id)
            else:
                keep.append(spk)
        self.signed_prekeys = keep
        for prekey_id in deleted:
            self.seen_initial_messages.pop(prekey_id, None)
        return deleted

    def is_replay(self, signed_prekey_id: int, ephemeral_key: bytes) -> bool:
        """True if an initial message with this prekey and ephemeral key was accepted."""
        return ephemeral_key in self.seen_initial_messages.get(signed_prekey_id, ())

    def record_initial_message(self, signed_prekey_id: int, ephemeral_key: bytes) -> None:
        self.seen_initial_messages.setdefault(signed_prekey_id, set()).add(ephemeral_key)

    def add_one_time_prekeys(self, rng: Random, count: int) -> list[OneTimePreKey]:
        if count > 0:
            self._new_id_check(count)  # all or none
        new = [OneTimePreKey(self._new_id(), DHKeyPair.generate(rng)) for _ in range(count)]
        for opk in new:
            self.one_time_prekeys[opk.id] = opk
        return new

    def signed_prekey(self, prekey_id: int) -> SignedPreKey | None:
        for spk in self.signed_prekeys:
            if spk.id == prekey_id:
                return spk
        return None

    def iter_signed_prekeys(self) -> Iterator[SignedPreKey]:
        return iter(self.signed_prekeys)

    def __repr__(self) -> str:
        return (
            f"InstallationKeys(installation_id={self.installation_id.hex()}, "
            f"signed_prekeys={[s.id for s in self.signed_prekeys]}, "
            f"one_time_prekeys={len(self.one_time_prekeys)})"
        )
