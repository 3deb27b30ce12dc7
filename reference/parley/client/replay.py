"""The replay caches: digests of processed envelopes and no-bundle ephemeral keys.

It owns the ``seen`` table. An envelope's digest (``b"E" + SHA-256``) is
recorded with the history row it gave, so that a redelivered envelope changes
nothing and reports its message again; a no-bundle message's ephemeral key
(``b"N" + key``) is recorded so that a replay is refused (NOBUNDLE-020).
"""

from __future__ import annotations

import hashlib

from .store import Store

__all__ = ["ReplayCache"]


def envelope_key(envelope: bytes) -> bytes:
    return b"E" + hashlib.sha256(envelope).digest()


def no_bundle_key(ephemeral_key: bytes) -> bytes:
    return b"N" + ephemeral_key


class ReplayCache:
    def __init__(self, store: Store) -> None:
        self._store = store

    def lookup(self, key: bytes) -> tuple[bool, int | None]:
        """(seen before, the history row it gave)."""
        row = self._store.one("SELECT message FROM seen WHERE digest = ?", (key,))
        return (False, None) if row is None else (True, row[0])

    def record(self, key: bytes, now: int, message: int | None = None) -> None:
        self._store.execute(
            "INSERT INTO seen (digest, at, message) VALUES (?, ?, ?)", (key, now, message)
        )
