"""The replay caches: digests of processed envelopes and no-bundle ephemeral keys.

It owns the ``seen`` table. An envelope's digest (``b"E" + SHA-256``) is
recorded with the history row it gave, so that a redelivered envelope changes
nothing and reports its message again; a no-bundle message's ephemeral key
(``b"N" + key``) is recorded so that a replay is refused (NOBUNDLE-020).

Both are bounded (STORE-020): an envelope digest is kept ENVELOPE_WINDOW
seconds, and at most MAX_ENVELOPES of them; at most MAX_NO_BUNDLE_KEYS
ephemeral keys are kept, the oldest forgotten first (a replay of a forgotten
one is still refused by its message id, NOBUNDLE-020).
"""

from __future__ import annotations

import hashlib

from .store import Store

__all__ = ["ENVELOPE_WINDOW", "MAX_ENVELOPES", "MAX_NO_BUNDLE_KEYS", "ReplayCache"]

ENVELOPE_WINDOW = 30 * 24 * 60 * 60
MAX_ENVELOPES = 10_000
MAX_NO_BUNDLE_KEYS = 10_000

_ENVELOPES = (b"E", b"F")  # the digest range of each kind: [low, high)
_NO_BUNDLE = (b"N", b"O")


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

    def prune(self, now: int) -> None:
        """Forget envelope digests past the window, then the oldest of each kind
        beyond its bound."""
        self._store.execute(
            "DELETE FROM seen WHERE digest >= ? AND digest < ? AND at < ?",
            (*_ENVELOPES, now - ENVELOPE_WINDOW),
        )
        for (low, high), bound in ((_ENVELOPES, MAX_ENVELOPES), (_NO_BUNDLE, MAX_NO_BUNDLE_KEYS)):
            (count,) = self._store.one(
                "SELECT count(*) FROM seen WHERE digest >= ? AND digest < ?", (low, high)
            )
            if count > bound:
                self._store.execute(
                    "DELETE FROM seen WHERE rowid IN (SELECT rowid FROM seen "
                    "WHERE digest >= ? AND digest < ? ORDER BY at, rowid LIMIT ?)",
                    (low, high, count - bound),
                )
