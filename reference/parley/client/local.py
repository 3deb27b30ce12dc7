"""This installation's own keys: the identity, its prekeys and its signed bundle.

They live in the ``meta`` table (``identity``, ``installation``,
``own_bundle``). The prekeys hold the replay guard of initial messages
(PREKEY-005), so they change on every new session a peer starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..bundle import Bundle, InstallationPreKeys
from ..errors import StateFormatError
from ..keys import IdentityKeyPair, InstallationKeys, SignedPreKey
from ..primitives import DHKeyPair, Random
from ..profile import Profile
from ..state import dump_identity, dump_installation, load_identity, load_installation
from ..versioning import VersionPolicy
from .store import Store

__all__ = ["BUNDLE_REFRESH", "LocalInstallation", "new_installation_keys"]

#: Own bundle: re-signed when its entries change, or once it is this old.
BUNDLE_REFRESH = 24 * 60 * 60


def new_installation_keys(
    rng: Random, now: int, installation_id: bytes | None = None
) -> InstallationKeys:
    """A fresh installation; prekey ids start at a random point so that a restored
    installation (same id, new keys) never reuses a prekey id of its past."""
    iid = installation_id if installation_id is not None else rng.random_bytes(16)
    first = 1 + int.from_bytes(rng.random_bytes(3), "big")
    return InstallationKeys(
        iid, [SignedPreKey(first, DHKeyPair.generate(rng), now)], next_prekey_id=first + 1
    )


class LocalInstallation:
    """The identity key pair and this installation's prekeys, as stored."""

    def __init__(self, store: Store, profile: Profile, policy: VersionPolicy) -> None:
        self._store = store
        self.profile = profile
        self.policy = policy
        identity = store.get_meta("identity")
        installation = store.get_meta("installation")
        if identity is None or installation is None:
            raise StateFormatError("the store holds no account")
        self.identity = load_identity(identity)
        self.keys = load_installation(installation)
        self.installation_id = self.keys.installation_id

    @staticmethod
    def initialise(store: Store, identity: IdentityKeyPair, keys: InstallationKeys) -> None:
        store.set_meta("identity", dump_identity(identity))
        store.set_meta("installation", dump_installation(keys))

    def reload(self) -> None:
        """Read the prekeys again (after a rollback)."""
        data = self._store.get_meta("installation")
        if data is not None:
            self.keys = load_installation(data)

    def save(self) -> None:
        self._store.set_meta("installation", dump_installation(self.keys))

    def maintain(self, rng: Random, now: int) -> None:
        """Rotate the signed prekey on schedule; delete expired ones (PREKEY-001, -004)."""
        changed = False
        if self.keys.needs_rotation(now, self.profile):
            self.keys.rotate_signed_prekey(rng, now)
            changed = True
        if self.keys.delete_expired_prekeys(now, self.profile):
            changed = True
        if changed:
            self.save()

    def set_bundle(self, bundle: Bundle) -> None:
        self._store.set_meta("own_bundle", bundle.to_bytes())

    def bundle(self, now: int, siblings: Iterable[InstallationPreKeys]) -> Bundle:
        """The account's bundle: this installation's entry and its siblings', signed
        again when they changed or the last one is BUNDLE_REFRESH old."""
        entries = [InstallationPreKeys.of(self.keys, self.policy), *siblings]
        entries = sorted(
            entries[: self.profile.max_installations_per_bundle], key=lambda e: e.installation_id
        )
        cached = self._store.get_meta("own_bundle")
        if cached is not None:
            bundle = Bundle.from_bytes(cached)
            if (
                list(bundle.installations) == entries
                and now - bundle.timestamp < BUNDLE_REFRESH
                and bundle.timestamp <= now + self.profile.clock_skew
            ):
                return bundle
        # Timestamps strictly increase, so a peer always takes the new bundle.
        timestamp = now if cached is None else max(now, Bundle.from_bytes(cached).timestamp + 1)
        bundle = Bundle.create(self.identity, entries, timestamp, self.profile)
        self.set_bundle(bundle)
        return bundle
