"""The stores of one account, passed together to the send and receive steps."""

from __future__ import annotations

from dataclasses import dataclass

from ..bundle import Bundle
from ..primitives import Random
from ..profile import Profile
from ..versioning import VersionPolicy
from .directory import Directory
from .history import History
from .local import LocalInstallation
from .outbox import Outbox
from .replay import ReplayCache
from .sessions import SessionStore
from .store import Store

__all__ = ["Stores"]


@dataclass(frozen=True, slots=True)
class Stores:
    store: Store
    local: LocalInstallation
    directory: Directory
    sessions: SessionStore
    history: History
    seen: ReplayCache
    outbox: Outbox
    rng: Random
    profile: Profile
    policy: VersionPolicy

    @classmethod
    def of(cls, store: Store, rng: Random, profile: Profile, policy: VersionPolicy) -> Stores:
        local = LocalInstallation(store, profile, policy)
        directory = Directory(store, local.identity.public.signing_key, local.installation_id)
        return cls(
            store,
            local,
            directory,
            SessionStore(store, profile.max_sessions_per_installation),
            History(store),
            ReplayCache(store),
            Outbox(store),
            rng,
            profile,
            policy,
        )

    @property
    def account_id(self) -> bytes:
        return self.directory.account_id

    @property
    def installation_id(self) -> bytes:
        return self.directory.installation_id

    def own_bundle(self, now: int) -> Bundle:
        return self.local.bundle(now, self.directory.sibling_entries())
