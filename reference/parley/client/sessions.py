"""The session store: Double Ratchet sessions per peer installation (SESSION-010).

It owns the ``sessions`` table. Each row is one ``Session.to_bytes()`` (its
skipped message keys included); at most one session per peer installation is
active: the one this installation sends with. At most
``max_sessions_per_installation`` are kept per peer installation: a new one
drops the oldest that is not chosen (SESSION-011).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..session import Session
from .store import Store

__all__ = ["SessionStore", "StoredSession"]

#: (row id, session, active)
StoredSession = tuple[int, Session, bool]


class SessionStore:
    def __init__(self, store: Store, cap: int) -> None:
        self._store = store
        self.cap = cap
        # Inside batch(): sending sessions kept in memory, written once at its end.
        self._cache: dict[tuple[bytes, bytes], tuple[int, Session]] | None = None
        self._dirty: dict[int, Session] = {}

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within the caller's transaction: the sending session of each peer
        installation is loaded once and its state written once, when the block
        ends (before the commit). Any other read writes it back first."""
        self._cache, self._dirty = {}, {}
        try:
            yield
            self._write_back()
        finally:
            self._cache, self._dirty = None, {}

    def _write_back(self) -> None:
        for rowid, session in self._dirty.items():
            self._store.execute(
                "UPDATE sessions SET state = ? WHERE id = ?", (session.to_bytes(), rowid)
            )
        self._dirty = {}
        if self._cache is not None:
            self._cache = {}

    def to_try(self, iid: bytes) -> list[StoredSession]:
        """The sessions to try a message from installation ``iid`` in, at most
        ``cap``: those of contacts first (then of pending senders), the chosen
        ones first, then the newest first (SESSION-011)."""
        self._write_back()
        rows = self._store.query(
            "SELECT s.id, s.state, s.active FROM sessions s "
            "LEFT JOIN accounts a ON a.account = s.account WHERE s.installation_id = ? "
            "ORDER BY coalesce(a.pending, 1), s.active DESC, s.id DESC LIMIT ?",
            (iid, self.cap),
        )
        return [(rid, Session.from_bytes(bytes(state)), bool(act)) for rid, state, act in rows]

    def with_installation(self, account: bytes, iid: bytes) -> list[StoredSession]:
        """Sessions with one installation of ``account``: the chosen one first,
        then newest first."""
        self._write_back()
        rows = self._store.query(
            "SELECT id, state, active FROM sessions WHERE account = ? AND installation_id = ? "
            "ORDER BY active DESC, id DESC",
            (account, iid),
        )
        return [(rid, Session.from_bytes(bytes(state)), bool(act)) for rid, state, act in rows]

    def active(self, account: bytes, iid: bytes) -> tuple[int, Session] | None:
        """The session to send with to one installation, if any."""
        if self._cache is not None and (account, iid) in self._cache:
            return self._cache[account, iid]
        for rowid, session, active in self.with_installation(account, iid):
            if active:
                if self._cache is not None:
                    self._cache[account, iid] = (rowid, session)
                return rowid, session
        return None

    def insert(self, session: Session, active: bool, now: int) -> int:
        """Store a new session; if ``active``, it becomes the one to send with."""
        account = session.remote_identity.signing_key
        iid = session.remote_installation_id
        if active:
            self._store.execute(
                "UPDATE sessions SET active = 0 WHERE account = ? AND installation_id = ?",
                (account, iid),
            )
        cursor = self._store.execute(
            "INSERT INTO sessions (account, installation_id, session_id, state, active, created_at)"
            " VALUES (?,?,?,?,?,?)",
            (account, iid, session.session_id, session.to_bytes(), int(active), now),
        )
        # SESSION-011: keep the chosen session and the newest others, cap in all.
        self._store.execute(
            "DELETE FROM sessions WHERE account = ? AND installation_id = ? AND active = 0 "
            "AND id NOT IN (SELECT id FROM sessions WHERE account = ? AND installation_id = ? "
            "AND active = 0 ORDER BY id DESC LIMIT ?)",
            (account, iid, account, iid, self.cap - 1),
        )
        if self._cache is not None and active:
            self._cache[account, iid] = (cursor.lastrowid, session)
        return cursor.lastrowid

    def save(self, rowid: int, session: Session) -> None:
        if self._cache is not None:
            self._dirty[rowid] = session
            return
        self._store.execute(
            "UPDATE sessions SET state = ? WHERE id = ?", (session.to_bytes(), rowid)
        )

    def keep_only(self, account: bytes, iid: bytes, rowid: int) -> None:
        """Drop every other session with this installation."""
        self._write_back()
        self._store.execute(
            "DELETE FROM sessions WHERE account = ? AND installation_id = ? AND id != ?",
            (account, iid, rowid),
        )

    def count(self) -> int:
        self._write_back()
        (n,) = self._store.one("SELECT count(*) FROM sessions")
        return n
