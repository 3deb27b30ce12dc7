"""Prekey bundles: signed, time-stamped, one entry per installation (spec: bundle.md).

A bundle travels without a server: inside messages, as a contact code, or
over any other channel. Its signature covers the *signed bundle bytes*
(BUNDLE-010), a byte string defined by the spec, never a protobuf encoding.
A receiver verifies a bundle against an injected clock and rejects one older
than the profile's maximum age (BUNDLE-020).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import (
    BundleSignatureInvalid,
    BundleStale,
    BundleTimestampInFuture,
    InvalidArgument,
    InvalidKey,
    InvalidSignature,
    MalformedMessage,
    UnknownInstallation,
    UnsupportedProfile,
)
from .keys import IdentityKey, IdentityKeyPair, InstallationKeys, check_installation_id
from .primitives import DH_KEY_SIZE, SIGNATURE_SIZE, ed25519_verify
from .profile import PROFILE_1, Profile
from .versioning import CURRENT_POLICY, VersionPolicy

__all__ = ["Bundle", "InstallationPreKeys"]

_U32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class InstallationPreKeys:
    """The public prekeys one installation offers (a bundle entry)."""

    installation_id: bytes
    signed_prekey_id: int
    signed_prekey: bytes
    protocol_versions: tuple[int, ...]
    one_time_prekeys: tuple[tuple[int, bytes], ...] = ()

    def __post_init__(self) -> None:
        check_installation_id(self.installation_id)
        if not 0 <= self.signed_prekey_id <= _U32:
            raise InvalidArgument("signed prekey id must fit in 32 bits")
        if not isinstance(self.signed_prekey, bytes) or len(self.signed_prekey) != DH_KEY_SIZE:
            raise InvalidKey("signed prekey must be 32 bytes")
        versions = self.protocol_versions
        if not versions or list(versions) != sorted(set(versions)) or versions[0] < 1:
            raise InvalidArgument("protocol versions must be ascending, unique and >= 1")
        if len(versions) > 255 or versions[-1] > _U32:
            raise InvalidArgument("too many or too large protocol versions")
        ids = [opk_id for opk_id, _ in self.one_time_prekeys]
        if len(set(ids)) != len(ids) or any(not 0 <= i <= _U32 for i in ids):
            raise InvalidArgument("one-time prekey ids must be unique 32-bit numbers")
        if any(len(key) != DH_KEY_SIZE for _, key in self.one_time_prekeys):
            raise InvalidKey("one-time prekey must be 32 bytes")

    @classmethod
    def of(
        cls,
        installation: InstallationKeys,
        policy: VersionPolicy = CURRENT_POLICY,
        one_time_prekeys: int | None = None,
    ) -> InstallationPreKeys:
        """The entry for a local installation: its current signed prekey and,
        unless ``one_time_prekeys`` limits them, all of its one-time prekeys."""
        spk = installation.current_signed_prekey
        opks = sorted(installation.one_time_prekeys.values(), key=lambda k: k.id)
        if one_time_prekeys is not None:
            opks = opks[:one_time_prekeys]
        return cls(
            installation.installation_id,
            spk.id,
            spk.key_pair.public,
            policy.advertised,
            tuple((k.id, k.key_pair.public) for k in opks),
        )

    def signed_bytes(self) -> bytes:
        parts = [
            self.installation_id,
            struct.pack(">I", self.signed_prekey_id),
            self.signed_prekey,
            struct.pack(">B", len(self.protocol_versions)),
            *(struct.pack(">I", v) for v in self.protocol_versions),
            struct.pack(">H", len(self.one_time_prekeys)),
        ]
        for opk_id, key in self.one_time_prekeys:
            parts += [struct.pack(">I", opk_id), key]
        return b"".join(parts)

    def one_time_prekey(self, opk_id: int) -> bytes | None:
        for i, key in self.one_time_prekeys:
            if i == opk_id:
                return key
        return None


@dataclass(frozen=True, slots=True)
class Bundle:
    """A signed prekey bundle (BUNDLE-001)."""

    profile: int
    identity: IdentityKey
    installations: tuple[InstallationPreKeys, ...]
    timestamp: int
    signature: bytes

    def __post_init__(self) -> None:
        if not 0 < self.profile <= 255:
            raise InvalidArgument("profile must be 1..255")
        if not self.installations:
            raise InvalidArgument("a bundle has at least one installation")
        ids = [i.installation_id for i in self.installations]
        if ids != sorted(set(ids)):
            raise InvalidArgument("installations must be sorted by id, without repeats")
        if not 0 <= self.timestamp < 1 << 64:
            raise InvalidArgument("timestamp must fit in 64 bits")
        if len(self.signature) != SIGNATURE_SIZE:
            raise InvalidArgument("bundle signature must be 64 bytes")

    @classmethod
    def create(
        cls,
        identity: IdentityKeyPair,
        installations: Iterable[InstallationPreKeys],
        now: int,
        profile: Profile = PROFILE_1,
    ) -> Bundle:
        """Sign a bundle for ``installations`` at time ``now`` (seconds)."""
        entries = tuple(sorted(installations, key=lambda i: i.installation_id))
        if len(entries) > profile.max_installations_per_bundle:
            raise InvalidArgument("too many installations for one bundle")
        message = signed_bundle_bytes(profile.id, identity.public, entries, now, profile)
        return cls(profile.id, identity.public, entries, now, identity.sign(message))

    def signed_bytes(self, profile: Profile = PROFILE_1) -> bytes:
        """The bytes the signature covers (BUNDLE-010)."""
        return signed_bundle_bytes(
            self.profile, self.identity, self.installations, self.timestamp, profile
        )

    def verify(self, now: int, profile: Profile = PROFILE_1) -> None:
        """Check profile, limits, identity binding, signature and age (BUNDLE-011, -020)."""
        if self.profile != profile.id:
            raise UnsupportedProfile(f"bundle of profile {self.profile}, expected {profile.id}")
        if len(self.installations) > profile.max_installations_per_bundle:
            raise MalformedMessage("too many installations in the bundle")
        for entry in self.installations:
            if len(entry.one_time_prekeys) > profile.max_one_time_prekeys_per_installation:
                raise MalformedMessage("too many one-time prekeys in a bundle entry")
        self.identity.verify(profile)
        try:
            ed25519_verify(self.identity.signing_key, self.signed_bytes(profile), self.signature)
        except (InvalidSignature, InvalidKey):
            raise BundleSignatureInvalid("bundle signature does not verify") from None
        if self.timestamp > now + profile.clock_skew:
            raise BundleTimestampInFuture("bundle is signed in the future")
        if now - self.timestamp > profile.bundle_max_age:
            raise BundleStale("bundle is older than the maximum bundle age")

    def installation(self, installation_id: bytes) -> InstallationPreKeys:
        for entry in self.installations:
            if entry.installation_id == installation_id:
                return entry
        raise UnknownInstallation("the bundle has no entry for this installation")

    @property
    def installation_ids(self) -> tuple[bytes, ...]:
        return tuple(i.installation_id for i in self.installations)

    def to_bytes(self) -> bytes:
        from .codec import encode_bundle

        return encode_bundle(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> Bundle:
        from .codec import decode_bundle

        return decode_bundle(data)


def signed_bundle_bytes(
    profile_id: int,
    identity: IdentityKey,
    installations: Iterable[InstallationPreKeys],
    timestamp: int,
    profile: Profile = PROFILE_1,
) -> bytes:
    """label || u8 profile || IK signing key || IK DH key || u64 timestamp
    || u16 count || entries (BUNDLE-010; every integer big-endian)."""
    entries = tuple(installations)
    return b"".join(
        (
            profile.bundle_signature_label,
            struct.pack(">B", profile_id),
            identity.signing_key,
            identity.dh_key,
            struct.pack(">QH", timestamp, len(entries)),
            *(entry.signed_bytes() for entry in entries),
        )
    )
