"""The encrypted store: one SQLCipher file per installation (STORE-001).

Everything an installation keeps lives in one file encrypted under a
passphrase: the identity, this installation's prekeys, the account's other
installations, contacts and their bundles, sessions (each one
``Session.to_bytes()``, skipped message keys included), the replay caches
and the message history. SQLCipher encrypts every page (AES-256, HMAC per
page, PBKDF2-HMAC-SHA512 from the passphrase), so no plaintext, key or
contact name is written to disk. ``secure_delete`` overwrites deleted
records, so a deleted prekey or message key does not linger in free pages.

Every change is made inside :meth:`Store.transaction`; the journal mode is
SQLite's rollback journal with ``synchronous=FULL``, so a transaction that
returned is on disk, and one cut short by a crash is rolled back on the next
open.

Opening never writes before it has checked the file: a wrong passphrase
(WrongPassphrase), a damaged file (StoreCorrupt) or a file of a newer schema
(StoreVersionTooNew) leaves it exactly as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlcipher3

from ..errors import InvalidArgument
from .errors import AccountExists, NoAccount, StoreCorrupt, StoreVersionTooNew, WrongPassphrase

__all__ = ["SCHEMA_VERSION", "Store"]

#: The schema this code writes and reads; a file with a higher one is refused.
SCHEMA_VERSION = 1
#: SQLite's application_id header field: "PRLY".
APPLICATION_ID = 0x50524C59

#: A test hook, called with "write" after every statement that changes the
#: store and with "commit" after every commit. The crash tests set it to kill
#: the process at the Nth call; it is None in normal use.
WRITE_HOOK: Callable[[str], None] | None = None

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

_SCHEMA = (
    """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
-- Contacts, and this account itself (is_self = 1). account = identity signing key.
CREATE TABLE accounts (
    account        BLOB PRIMARY KEY,
    identity       BLOB NOT NULL,
    name           TEXT UNIQUE,
    is_self        INTEGER NOT NULL DEFAULT 0,
    bundle         BLOB,
    bundle_ts      INTEGER NOT NULL DEFAULT 0,
    replied        INTEGER NOT NULL DEFAULT 0,
    sent_bundle_ts INTEGER NOT NULL DEFAULT 0,
    added_at       INTEGER NOT NULL
);
-- Known installations of each account (bundle: the newest bundle holding its entry).
CREATE TABLE installations (
    account         BLOB NOT NULL,
    installation_id BLOB NOT NULL,
    bundle          BLOB,
    bundle_ts       INTEGER NOT NULL DEFAULT 0,
    prekey_id       INTEGER,
    first_seen      INTEGER NOT NULL,
    PRIMARY KEY (account, installation_id)
);
-- Double Ratchet sessions, one active (sending) session per peer installation (SESSION-010).
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account         BLOB NOT NULL,
    installation_id BLOB NOT NULL,
    session_id      BLOB NOT NULL,
    state           BLOB NOT NULL,
    active          INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (installation_id, session_id)
);
CREATE INDEX sessions_by_installation ON sessions (installation_id);
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      BLOB NOT NULL,
    at              INTEGER NOT NULL,
    direction       TEXT NOT NULL,
    account         BLOB NOT NULL,
    installation_id BLOB NOT NULL,
    body            BLOB NOT NULL,
    forward_secret  INTEGER NOT NULL
);
CREATE INDEX messages_by_account ON messages (account, id);
-- Replay caches: digests of processed envelopes and no-bundle ephemeral keys (NOBUNDLE-020).
-- message: the history row an envelope gave, so a redelivery reports it again.
CREATE TABLE seen (
    digest  BLOB PRIMARY KEY,
    at      INTEGER NOT NULL,
    message INTEGER
);
"""
    + """
-- What the user decided about a contact: the identity they verified (KEYS-008:
-- the mark holds while it equals accounts.identity), and a block.
CREATE TABLE IF NOT EXISTS contact_marks (
    account           BLOB PRIMARY KEY,
    verified_identity BLOB,
    verified_at       INTEGER,
    blocked           INTEGER NOT NULL DEFAULT 0
);
"""
)
#: Tables added since schema version 1 without changing an existing one:
#: created at open when missing (an older Parley ignores them).
_ADDITIVE = _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS") :]


def _quote(passphrase: str) -> str:
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidArgument("the passphrase must be a non-empty string")
    if "\x00" in passphrase:
        raise InvalidArgument("the passphrase must not contain NUL characters")
    return "'" + passphrase.replace("'", "''") + "'"


class Store:
    """An open store. Use :meth:`create` or :meth:`open`, then :meth:`transaction`."""

    def __init__(self, conn: sqlcipher3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._depth = 0

    # -- opening ---------------------------------------------------------------

    @staticmethod
    def _connect(path: Path, passphrase: str, kdf_iterations: int | None):
        conn = sqlcipher3.connect(str(path), isolation_level=None, timeout=30)
        with suppress(sqlcipher3.DatabaseError):  # older SQLCipher: no such pragma
            conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = {_quote(passphrase)}")
        if kdf_iterations is not None:
            if not 1 <= int(kdf_iterations) <= 10_000_000:
                raise InvalidArgument("kdf_iterations must be 1..10000000")
            conn.execute(f"PRAGMA kdf_iter = {int(kdf_iterations)}")
        return conn

    @classmethod
    def create(
        cls, path: str | os.PathLike[str], passphrase: str, *, kdf_iterations: int | None = None
    ) -> Store:
        """A new, empty store at ``path``; AccountExists if a file is there.

        ``kdf_iterations`` lowers SQLCipher's PBKDF2 cost (default 256,000)
        for tests and benchmarks only; the same value must be given to open.
        """
        path = Path(path)
        _quote(passphrase)
        if path.exists():
            raise AccountExists(f"a store already exists at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        try:
            conn = cls._connect(path, passphrase, kdf_iterations)
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("BEGIN")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        store = cls(conn, path)
        store._configure()
        return store

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], passphrase: str, *, kdf_iterations: int | None = None
    ) -> Store:
        """Open an existing store; check passphrase, integrity and schema first."""
        path = Path(path)
        _quote(passphrase)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NoAccount(f"no store at {path} (run init first)") from None
        if size == 0 or size % 512:
            raise StoreCorrupt(f"the store file {path.name} is truncated or not a Parley store")
        conn = cls._connect(path, passphrase, kdf_iterations)
        try:
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlcipher3.DatabaseError:
                raise WrongPassphrase(
                    "wrong passphrase (or the store file is damaged at its start)"
                ) from None
            try:
                bad = conn.execute("PRAGMA cipher_integrity_check").fetchall()
                (app_id,) = conn.execute("PRAGMA application_id").fetchone()
                (version,) = conn.execute("PRAGMA user_version").fetchone()
            except sqlcipher3.DatabaseError:
                raise StoreCorrupt(f"the store file {path.name} is damaged") from None
            if bad:
                raise StoreCorrupt(f"the store file {path.name} is damaged ({len(bad)} bad pages)")
            if app_id != APPLICATION_ID:
                raise StoreCorrupt(f"{path.name} is not a Parley store")
            if version > SCHEMA_VERSION:
                raise StoreVersionTooNew(
                    f"the store has schema version {version}; this Parley reads up to "
                    f"{SCHEMA_VERSION}: upgrade Parley"
                )
            if version < 1:
                raise StoreCorrupt(f"{path.name} has no Parley schema")
        except BaseException:
            conn.close()
            raise
        store = cls(conn, path)
        store._configure()
        for statement in _ADDITIVE.split(";"):
            if statement.strip():
                store._conn.execute(statement)
        return store

    def _configure(self) -> None:
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA secure_delete = ON")
        self._conn.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        self._conn.close()

    # -- transactions ------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One atomic unit: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error.

        Nested calls join the outer transaction.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self._conn.execute("COMMIT")
        if WRITE_HOOK is not None:
            WRITE_HOOK("commit")

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        cursor = self._conn.execute(sql, params)
        if WRITE_HOOK is not None and sql.lstrip()[:7].upper().startswith(_WRITES):
            WRITE_HOOK("write")
        return cursor

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple]:
        return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> tuple | None:
        return self._conn.execute(sql, params).fetchone()

    # -- the key-value table -------------------------------------------------------

    def get_meta(self, key: str) -> bytes | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return bytes(row[0]) if row else None

    def set_meta(self, key: str, value: bytes) -> None:
        self.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def set_schema_version(self, version: int) -> None:
        """For tests and migrations only: write PRAGMA user_version."""
        self._conn.execute(f"PRAGMA user_version = {int(version)}")

    def __repr__(self) -> str:
        return f"Store({self.path.name})"
