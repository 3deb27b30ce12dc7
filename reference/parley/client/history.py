"""The message history: every message sent or received, in order.

It owns the ``messages`` table. A row is written in the same transaction as
the ratchet step that sent or decrypted it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .store import Store

__all__ = ["History", "HistoryEntry"]

_SELECT = (
    "SELECT message_id, at, direction, account, installation_id, body, forward_secret "
    "FROM messages "
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    message_id: bytes
    at: int
    direction: str  # "in" or "out"
    account: bytes
    installation: bytes
    body: bytes = field(repr=False)
    forward_secret: bool


def _entry(row: tuple) -> HistoryEntry:
    m, at, d, a, i, b, fs = row
    return HistoryEntry(bytes(m), at, d, bytes(a), bytes(i), bytes(b), bool(fs))


class History:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        message_id: bytes,
        now: int,
        direction: str,
        account: bytes,
        iid: bytes,
        body: bytes,
        forward_secret: bool,
    ) -> int:
        """Append one message; its row id."""
        cursor = self._store.execute(
            "INSERT INTO messages (message_id, at, direction, account, installation_id, body, "
            "forward_secret) VALUES (?,?,?,?,?,?,?)",
            (message_id, now, direction, account, iid, body, int(forward_secret)),
        )
        return cursor.lastrowid

    def trim(self, account: bytes, budget: int) -> None:
        """Forget the oldest messages of ``account`` beyond ``budget`` bytes of
        bodies, the newest kept (a pending contact's, NOBUNDLE-021)."""
        self._store.execute(
            "DELETE FROM messages WHERE account = ? AND id < coalesce((SELECT min(id) FROM "
            "(SELECT id, sum(length(body)) OVER (ORDER BY id DESC) AS total FROM messages "
            "WHERE account = ?) WHERE total <= ?), "
            "(SELECT max(id) FROM messages WHERE account = ?))",
            (account, account, budget, account),
        )

    def has_received(self, account: bytes, message_id: bytes) -> bool:
        """Whether a message with this id came from ``account`` before."""
        row = self._store.one(
            "SELECT 1 FROM messages WHERE message_id = ? AND account = ? AND direction = 'in'",
            (message_id, account),
        )
        return row is not None

    def get(self, rowid: int) -> HistoryEntry | None:
        row = self._store.one(_SELECT + "WHERE id = ?", (rowid,))
        return None if row is None else _entry(row)

    def newest(self, account: bytes | None, limit: int) -> list[HistoryEntry]:
        """The newest ``limit`` messages, oldest first; of one account if given."""
        if account is None:
            rows = self._store.query(_SELECT + "ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._store.query(
                _SELECT + "WHERE account = ? ORDER BY id DESC LIMIT ?", (account, limit)
            )
        return [_entry(r) for r in reversed(rows)]
