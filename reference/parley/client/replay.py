"""The replay caches: digests of processed envelopes and no-bundle ephemeral keys.

It owns the ``seen`` table. An envelope's digest (``b"E" + SHA-256``) is
recorded with the history row it gave, so that a redelivered envelope changes
nothing and reports its message again; a no-bundle message's ephemeral key
(``b"N" + key``) is recorded so that a replay is refused (NOBUNDLE-020), and
so is the digest of its (sender, payload message id) (``b"M" + SHA-256``),
which catches the replay of a forgotten key even once its sender, a pending
contact, was forgotten with its history (NOBUNDLE-020, NOBUNDLE-021).

Both are bounded (STORE-020): an envelope digest is kept ENVELOPE_WINDOW
seconds, and at most MAX_ENVELOPES of them; at most MAX_NO_BUNDLE_KEYS
ephemeral keys are kept, the oldest forgotten first (a replay of a forgotten
one is still refused by its message id, NOBUNDLE-020), and at most
MAX_NO_BUNDLE_MESSAGES message-id digests.
"""

from __future__ import annotations

import hashlib

from .store import Store

__all__ = [
    "ENVELOPE_WINDOW",
    "MAX_ENVELOPES",
    "MAX_NO_BUNDLE_KEYS",
    "MAX_NO_BUNDLE_MESSAGES",
    "ReplayCache",
]

ENVELOPE_WINDOW = 30 * 24 * 60 * 60
MAX_ENVELOPES = 10_000
MAX_NO_BUNDLE_KEYS = 10_000
MAX_NO_BUNDLE_MESSAGES = 100_000

_ENVELOPES = (b"E", b"F")  # the digest range of each kind: [low, high)
_NO_BUNDLE = (b"N", b"O")
_NO_BUNDLE_MESSAGES = (b"M", b"N")


def envelope_key(envelope: bytes) -> bytes:
    return b"E" + hashlib.sha256(envelope).digest()


def no_bundle_key(ephemeral_key: bytes) -> bytes:
    return b"N" + ephemeral_key


def no_bundle_message_key(sender: bytes, message_id: bytes) -> bytes:
    """The digest of (sender account, payload message id) of a no-bundle message."""
    h = hashlib.sha256(b"parley no-bundle message\x00")
    h.update(len(sender).to_bytes(2, "big") + sender + message_id)
    return b"M" + h.digest()


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
        self._store.execute(  # by age first: the index finds the few past the window
            "DELETE FROM seen INDEXED BY seen_by_age WHERE at < ? AND digest >= ? AND digest < ?",
            (now - ENVELOPE_WINDOW, *_ENVELOPES),
        )
        for (low, high), bound in (
            (_ENVELOPES, MAX_ENVELOPES),
            (_NO_BUNDLE, MAX_NO_BUNDLE_KEYS),
            (_NO_BUNDLE_MESSAGES, MAX_NO_BUNDLE_MESSAGES),
        ):
            (count,) = self._store.one(
                "SELECT count(*) FROM seen WHERE digest >= ? AND digest < ?", (low, high)
            )
            if count > bound:
                self._store.execute(
                    "DELETE FROM seen WHERE rowid IN (SELECT rowid FROM seen "
                    "WHERE digest >= ? AND digest < ? ORDER BY at, rowid LIMIT ?)",
                    (low, high, count - bound),
                )
