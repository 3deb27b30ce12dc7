"""The encrypted store: one SQLCipher file per installation (STORE-001).

Everything an installation keeps lives in one file encrypted under a
passphrase: the identity, this installation's prekeys, the account's other
installations, contacts and their bundles, sessions (each one
``Session.to_bytes()``, skipped message keys included), the replay caches
and the message history. SQLCipher encrypts every page (AES-256, HMAC per
page, PBKDF2-HMAC-SHA512 from the passphrase), so no plaintext, key or
contact name is written to disk. ``secure_delete`` overwrites deleted
records, so a deleted prekey or message key does not linger in free pages.

Every change is made inside :meth:`Store.transaction`; the journal is
SQLite's write-ahead log (``journal_mode=WAL``, its frames encrypted like the
pages) with ``synchronous=FULL``, so a transaction that returned is on disk
(one fsync of the log per commit), and one cut short by a crash is not there
on the next open. A store made with the rollback journal is switched to the
log when opened. The log is folded into the file at every checkpoint and
when the last connection closes.

Opening never writes before it has checked the file: a wrong passphrase
(WrongPassphrase), a damaged file (StoreCorrupt) or a file of a newer schema
(StoreVersionTooNew) leaves it exactly as it was; a wrong passphrase is
told from damage by the page HMACs (under a wrong key every page fails). A
store of an older schema is migrated, in one transaction, once those checks
passed.
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
from .files import fsync_dir, process_alive

__all__ = ["SCHEMA_VERSION", "Store"]

#: The schema this code writes and reads; a file with a higher one is refused,
#: one with a lower one is migrated at open (:data:`_MIGRATIONS`).
SCHEMA_VERSION = 5
#: SQLite's application_id header field: "PRLY".
APPLICATION_ID = 0x50524C59

#: A test hook, called with "write" after every statement that changes the
#: store and with "commit" after every commit. The crash tests set it to kill
#: the process at the Nth call; it is None in normal use.
WRITE_HOOK: Callable[[str], None] | None = None

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

_SCHEMA = """
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
    added_at       INTEGER NOT NULL,
    pending        INTEGER NOT NULL DEFAULT 0
);
-- Known installations of each account (bundle: the newest bundle holding its entry).
CREATE TABLE installations (
    account         BLOB NOT NULL,
    installation_id BLOB NOT NULL,
    bundle          BLOB,
    bundle_ts       INTEGER NOT NULL DEFAULT 0,
    prekey_id       INTEGER,
    first_seen      INTEGER NOT NULL,
    reset_at        INTEGER NOT NULL DEFAULT 0,
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
CREATE INDEX seen_by_age ON seen (at);
-- Envelopes committed with the ratchet step that made them, until delivered.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope     BLOB NOT NULL,
    account      BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX outbox_by_delivery ON outbox (delivered_at);
CREATE INDEX messages_by_message_id ON messages (message_id);
-- Forgetting an account (a pending contact beyond the cap) forgets its
-- installations, sessions and messages with it.
CREATE TRIGGER forget_account AFTER DELETE ON accounts BEGIN
    DELETE FROM installations WHERE account = old.account;
    DELETE FROM sessions WHERE account = old.account;
    DELETE FROM messages WHERE account = old.account;
END;
-- What the user decided about a contact: the identity they verified (KEYS-008:
-- the mark holds while it equals accounts.identity), and a block.
CREATE TABLE contact_marks (
    account           BLOB PRIMARY KEY,
    verified_identity BLOB,
    verified_at       INTEGER,
    blocked           INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER forget_marks AFTER DELETE ON accounts BEGIN
    DELETE FROM contact_marks WHERE account = old.account;
END;
"""

#: Schema changes by the version they lead to; run in order at open.
_MIGRATIONS = {
    2: """
ALTER TABLE accounts ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX seen_by_age ON seen (at);
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope     BLOB NOT NULL,
    account      BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX messages_by_message_id ON messages (message_id);
-- Forgetting an account (a pending contact beyond the cap) forgets its
-- installations, sessions and messages with it.
CREATE TRIGGER forget_account AFTER DELETE ON accounts BEGIN
    DELETE FROM installations WHERE account = old.account;
    DELETE FROM sessions WHERE account = old.account;
    DELETE FROM messages WHERE account = old.account;
END;
""",
    3: """
-- When this installation last sent a RESET or HELLO to a peer installation (SESSION-020).
ALTER TABLE installations ADD COLUMN reset_at INTEGER NOT NULL DEFAULT 0;
""",
    # The outbox's pending entries and its prune found by index, not by a scan.
    4: """
CREATE INDEX IF NOT EXISTS outbox_by_delivery ON outbox (delivered_at);
""",
    5: """
-- What the user decided about a contact: the identity they verified (KEYS-008:
-- the mark holds while it equals accounts.identity), and a block.
CREATE TABLE contact_marks (
    account           BLOB PRIMARY KEY,
    verified_identity BLOB,
    verified_at       INTEGER,
    blocked           INTEGER NOT NULL DEFAULT 0
);
CREATE TRIGGER forget_marks AFTER DELETE ON accounts BEGIN
    DELETE FROM contact_marks WHERE account = old.account;
END;
""",
}


def _statements(script: str) -> list[str]:
    """The statements of an SQL script (a trigger's body holds semicolons too)."""
    out, buffer = [], ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlcipher3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                out.append(buffer)
            buffer = ""
    return out


def _quote(passphrase: str) -> str:
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidArgument("the passphrase must be a non-empty string")
    if "\x00" in passphrase:
        raise InvalidArgument("the passphrase must not contain NUL characters")
    return "'" + passphrase.replace("'", "''") + "'"


#: SQLCipher 4's page size, with which every Parley store is written.
PAGE_SIZE = 4096


def _unfinished(path: Path, pid: int) -> Path:
    """Where :meth:`Store.create` builds the store of ``path``, in process ``pid``."""
    return path.with_name(f".{path.name}.{pid}.new")


def _remove_unfinished(path: Path) -> None:
    """Remove what creations of ``path`` killed before they finished left."""
    prefix = f".{path.name}."
    for entry in path.parent.glob(f"{prefix}*.new*"):
        pid_text = entry.name[len(prefix) :].split(".", 1)[0]
        if pid_text.isdigit() and len(pid_text) <= 10 and not process_alive(int(pid_text)):
            with suppress(OSError):
                entry.unlink()


def _open_error(conn: Any, exc: Exception, path: Path, size: int) -> Exception:
    """Why the first read of a store failed: a wrong passphrase, or damage.

    The first page decrypts (its HMAC verifies) under the right key only; a
    right key on a file cut short reads "malformed". With a failing first
    page, the page HMACs tell the two apart: under a wrong key every page
    fails, under the right one only the damaged ones do.
    """
    if "malformed" in str(exc):
        return StoreCorrupt(f"the store file {path.name} is truncated or damaged")
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA cipher_integrity_check").fetchall()]
    except sqlcipher3.DatabaseError:
        rows = []
    if any("invalid size" in r for r in rows):
        return StoreCorrupt(f"the store file {path.name} is truncated")
    failed = sum(1 for r in rows if "HMAC verification failed" in r)
    pages = size // PAGE_SIZE
    if pages > 1 and failed < pages:
        return StoreCorrupt(
            f"the store file {path.name} is damaged at its start ({failed} of {pages} pages)"
        )
    return WrongPassphrase("wrong passphrase (or the store file is damaged at its start)")


class Store:
    """An open store. Use :meth:`create` or :meth:`open`, then :meth:`transaction`."""

    def __init__(self, conn: sqlcipher3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._depth = 0
        self._savepoints = 0

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
        cls,
        path: str | os.PathLike[str],
        passphrase: str,
        *,
        kdf_iterations: int | None = None,
        initialise: Callable[[Store], None] | None = None,
    ) -> Store:
        """A new store at ``path``; AccountExists if a file is there.

        ``initialise`` fills it in the transaction that creates the schema.
        The file is built under a temporary name and linked into place only
        once that transaction committed, so a crash at any point leaves either
        no store at ``path`` or a complete one (never an empty or half-made
        file that every later command would refuse).

        ``kdf_iterations`` lowers SQLCipher's PBKDF2 cost (default 256,000)
        for tests and benchmarks only; the same value must be given to open.
        """
        path = Path(path)
        _quote(passphrase)
        if path.exists():
            raise AccountExists(f"a store already exists at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_unfinished(path)
        tmp = _unfinished(path, os.getpid())
        for leftover in (tmp, Path(f"{tmp}-journal")):  # of a dead process with our pid
            leftover.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        try:
            conn = cls._connect(tmp, passphrase, kdf_iterations)
            try:
                conn.execute("PRAGMA journal_mode = DELETE")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("BEGIN")
                for statement in _statements(_SCHEMA):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                if initialise is not None:
                    building = cls(conn, tmp)
                    building._depth = 1  # inside the creating transaction
                    initialise(building)
                conn.execute("COMMIT")
            finally:
                conn.close()
            try:
                os.link(tmp, path)  # never replaces a file that appeared meanwhile
            except FileExistsError:
                raise AccountExists(f"a store already exists at {path}") from None
            except OSError:  # a file system without hard links
                if path.exists():
                    raise AccountExists(f"a store already exists at {path}") from None
                os.rename(tmp, path)
            fsync_dir(path.parent)
        finally:
            tmp.unlink(missing_ok=True)
        try:
            conn = cls._connect(path, passphrase, kdf_iterations)
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
            except sqlcipher3.DatabaseError as exc:
                raise _open_error(conn, exc, path, size) from None
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
        if version < SCHEMA_VERSION:
            try:
                store._migrate(version)
            except BaseException:
                store.close()
                raise
        return store

    def _migrate(self, version: int) -> None:
        """Bring a store of an older schema up to SCHEMA_VERSION, in one transaction."""
        with self.transaction():
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(_MIGRATIONS[target]):
                    self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _configure(self) -> None:
        self._conn.execute("PRAGMA journal_mode = WAL")  # kept in the file; a no-op if set
        # The log is cut back to nothing each time it restarts after a checkpoint,
        # so old pages (deleted keys) do not stay in it (STORE-004).
        self._conn.execute("PRAGMA journal_size_limit = 0")
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

    @contextmanager
    def savepoint(self) -> Iterator[Store]:
        """A part of the current transaction that rolls back on its own on any
        error (SQL ``SAVEPOINT``), leaving the rest of the transaction as it was."""
        if not self._depth:
            raise RuntimeError("a savepoint lives inside a transaction")
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._savepoints -= 1
        self._conn.execute(f"RELEASE {name}")

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
