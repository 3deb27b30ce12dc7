"""The outbox: envelopes committed with the ratchet step that made them.

It owns the ``outbox`` table. :meth:`Account.send <parley.client.Account.send>`
(and a reset or announce) stores its envelope in the same transaction as the
advanced sending chain, so a crash can neither lose a message that the
history shows as sent nor make the next run encrypt it again with another
key (STORE-003). Delivery comes afterwards (:meth:`Account.flush_outbox
<parley.client.Account.flush_outbox>`): each envelope is handed to the
transport, then marked delivered. A crash between the two hands the same
bytes over again on the next flush; the receiver recognises them by their
digest, so the application sees the message once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .store import Store

__all__ = ["DELIVERED_KEPT", "Outbox", "OutboxEntry"]

#: Delivered entries are kept this long (seconds), then deleted.
DELIVERED_KEPT = 7 * 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One envelope waiting for delivery. ``account`` is the recipient account
    (for a no-bundle copy, which names no installation)."""

    id: int
    envelope: bytes = field(repr=False)
    account: bytes
    created_at: int


class Outbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, envelope: bytes, account: bytes, now: int) -> int:
        cursor = self._store.execute(
            "INSERT INTO outbox (envelope, account, created_at) VALUES (?,?,?)",
            (envelope, account, now),
        )
        return cursor.lastrowid

    def pending(self, limit: int = 1000) -> list[OutboxEntry]:
        """Envelopes not yet delivered, oldest first."""
        rows = self._store.query(
            "SELECT id, envelope, account, created_at FROM outbox "
            "WHERE delivered_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [OutboxEntry(i, bytes(e), bytes(a), at) for i, e, a, at in rows]

    def mark_delivered(self, entry_id: int, now: int) -> None:
        self._store.execute(
            "UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL",
            (now, entry_id),
        )

    def prune(self, now: int) -> None:
        """Delete entries delivered more than DELIVERED_KEPT ago."""
        self._store.execute(
            "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?",
            (now - DELIVERED_KEPT,),
        )
