"""This installation's own keys: the identity, its prekeys and its signed bundle.

They live in the ``meta`` table (``identity``, ``installation``,
``own_bundle``). The prekeys hold the replay guard of initial messages
(PREKEY-005), so they change on every new session a peer starts. Another
process may share the store, so the prekeys are read again at the start of
every transaction (:meth:`LocalInstallation.refresh`) and written back inside
it: two processes serialise on the store's write lock and neither erases
what the other recorded.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..bundle import Bundle, InstallationPreKeys
from ..errors import SessionStateError, StateFormatError
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
        self._raw = installation
        self.keys = load_installation(installation)
        self.installation_id = self.keys.installation_id
        self._parsed: tuple[bytes, Bundle] | None = None  # the stored own bundle, decoded

    @staticmethod
    def initialise(store: Store, identity: IdentityKeyPair, keys: InstallationKeys) -> None:
        store.set_meta("identity", dump_identity(identity))
        store.set_meta("installation", dump_installation(keys))

    def refresh(self) -> None:
        """Read the prekeys as stored now: at the start of a transaction (another
        process may have changed them) and after a rollback."""
        data = self._store.get_meta("installation")
        if data is None:
            raise StateFormatError("the store holds no installation")
        if data != self._raw:
            self.keys = load_installation(data)
            self._raw = data

    def save(self) -> None:
        self._raw = dump_installation(self.keys)
        self._store.set_meta("installation", self._raw)

    def maintain(self, rng: Random, now: int) -> None:
        """Rotate the signed prekey on schedule; delete expired ones (PREKEY-001, -004)."""
        changed = False
        if self.keys.needs_rotation(now, self.profile):
            try:
                self.keys.rotate_signed_prekey(rng, now)
                changed = True
            except SessionStateError:
                pass  # no prekey id left: keep the current prekey (the account still works)
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
            if self._parsed is None or self._parsed[0] != cached:
                self._parsed = (cached, Bundle.from_bytes(cached))
            bundle = self._parsed[1]
            if (
                list(bundle.installations) == entries
                and now - bundle.timestamp < BUNDLE_REFRESH
                and bundle.timestamp <= now + self.profile.clock_skew
            ):
                return bundle
        # Timestamps strictly increase, so a peer always takes the new bundle.
        timestamp = now if cached is None else max(now, self._parsed[1].timestamp + 1)
        bundle = Bundle.create(self.identity, entries, timestamp, self.profile)
        self.set_bundle(bundle)
        return bundle
