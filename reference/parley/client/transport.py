"""Transports: how envelopes travel between installations.

A transport is a small interface (:class:`Transport`); Parley's library
never calls it by itself, the application does::

    account.send(contact, b"hi")        # the envelope waits in the outbox
    account.flush_outbox(transport)      # delivered, then marked delivered
    for item in transport.fetch(account.installation_id):
        events = account.receive(item.data)
        transport.ack(account.installation_id, item.handle)   # after receive returned

Addressing: an envelope names the installations it has a copy for; a
no-bundle copy names none, so ``deliver`` also takes the recipient account
and hands that copy to every installation registered for it. Acknowledge a
message only after ``receive`` returned: a crash in between gives the
message again, and the account recognises it.

* :class:`MailboxTransport`: a folder on one machine, one subfolder per
  installation, written with atomic renames, so two processes talk with no
  server.
* :class:`MemoryTransport`: the same in memory, for tests.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from ..codec import decode_envelope
from ..errors import ParleyError
from ..keys import INSTALLATION_ID_SIZE
from .errors import TransportError
from .files import fsync_dir, process_alive

__all__ = ["Delivery", "MailboxTransport", "MemoryTransport", "Transport"]

#: A test hook, called with "tmp" once an envelope is written in the mailbox's
#: ``tmp/`` and with "put" once it is renamed into the inbox. The crash tests
#: set it to kill the process there; it is None in normal use.
WRITE_HOOK: Callable[[str], None] | None = None
#: A file in ``tmp/`` whose writer is gone (or this old, in seconds) is removed.
TMP_MAX_AGE = 3600


@dataclass(frozen=True, slots=True)
class Delivery:
    """One envelope waiting for an installation; ``handle`` acknowledges it."""

    handle: str
    data: bytes


def _check_id(installation_id: bytes) -> str:
    if not isinstance(installation_id, bytes) or len(installation_id) != INSTALLATION_ID_SIZE:
        raise TransportError("an installation id is 16 bytes")
    return installation_id.hex()


def _check_account(account: bytes) -> str:
    if not isinstance(account, bytes) or not 1 <= len(account) <= 64:
        raise TransportError("an account is its identity signing key (bytes)")
    return account.hex()


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise TransportError("a fetch limit is a whole number, 0 or more")


class Transport(ABC):
    """Carries envelope bytes to installations."""

    #: True if a no-bundle copy reaches an account's installations without the
    #: transport knowing them (NATS: an account subject); False if ``deliver``
    #: resolves the account through :meth:`installations_of`.
    addresses_accounts = False

    def recipients(self, envelope: bytes, account: bytes | None = None) -> set[bytes]:
        """The installations an envelope goes to: those it addresses, and, for a
        no-bundle copy, every installation registered for ``account``."""
        if not isinstance(envelope, bytes):
            raise TransportError("an envelope is bytes")
        if account is not None:
            _check_account(account)
        try:
            decoded = decode_envelope(envelope)
        except ParleyError as exc:
            raise TransportError(f"not an envelope: {exc.message}") from None
        out: set[bytes] = set()
        for copy in decoded.messages:
            if copy.recipient_installation_id is not None:
                out.add(copy.recipient_installation_id)
            elif account is not None:
                out.update(self.installations_of(account))
            else:
                raise TransportError("a no-bundle copy needs the recipient account")
        out.discard(decoded.sender_installation_id)
        return out

    def deliver(self, envelope: bytes, account: bytes | None = None) -> set[bytes]:
        """Hand ``envelope`` to each of its recipients; return them."""
        targets = self.recipients(envelope, account)
        for installation_id in sorted(targets):
            self.put(installation_id, envelope)
        return targets

    def deliver_many(self, items: list[tuple[bytes, bytes | None]]) -> list[set[bytes]]:
        """``deliver`` for several (envelope, account) pairs."""
        return [self.deliver(envelope, account) for envelope, account in items]

    def wait(
        self, installation_id: bytes, limit: int = 100, timeout: float | None = None
    ) -> list[Delivery]:
        """Block until an envelope waits for ``installation_id`` (or ``timeout``
        seconds pass); return up to ``limit``. This default looks every
        ``poll_interval`` seconds; a transport with a server is told instead."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self.fetch(installation_id, limit)
            if found:
                return found
            if deadline is not None and time.monotonic() >= deadline:
                return []
            pause = self.poll_interval
            if deadline is not None:
                pause = max(0.0, min(pause, deadline - time.monotonic()))
            time.sleep(pause)

    #: Seconds between looks of the default :meth:`wait`.
    poll_interval = 0.2

    def ack_many(self, installation_id: bytes, handles: list[str]) -> None:
        """Acknowledge several fetched envelopes (after their batch committed)."""
        for handle in handles:
            self.ack(installation_id, handle)

    def close(self) -> None:  # noqa: B027 - a no-op unless overridden
        """Release the transport's connections (none for a folder)."""

    @abstractmethod
    def register(self, account: bytes, installation_id: bytes) -> None:
        """Make ``installation_id`` reachable as an installation of ``account``."""

    @abstractmethod
    def installations_of(self, account: bytes) -> set[bytes]:
        """The installations registered for ``account``."""

    @abstractmethod
    def put(self, installation_id: bytes, data: bytes) -> None:
        """Queue ``data`` for one installation."""

    @abstractmethod
    def fetch(self, installation_id: bytes, limit: int | None = None) -> list[Delivery]:
        """The envelopes waiting for ``installation_id``, oldest first."""

    @abstractmethod
    def ack(self, installation_id: bytes, handle: str) -> None:
        """Remove a fetched envelope for good."""


class MemoryTransport(Transport):
    """An in-memory transport for tests: queues in a dict."""

    def __init__(self) -> None:
        self._queues: dict[bytes, dict[str, bytes]] = defaultdict(dict)
        self._accounts: dict[bytes, set[bytes]] = defaultdict(set)
        self._counter = 0

    def register(self, account: bytes, installation_id: bytes) -> None:
        _check_account(account)
        _check_id(installation_id)
        self._accounts[account].add(installation_id)

    def installations_of(self, account: bytes) -> set[bytes]:
        _check_account(account)
        return set(self._accounts.get(account, ()))

    def put(self, installation_id: bytes, data: bytes) -> None:
        _check_id(installation_id)
        self._counter += 1
        self._queues[installation_id][f"{self._counter:012d}"] = data

    def fetch(self, installation_id: bytes, limit: int | None = None) -> list[Delivery]:
        _check_limit(limit)
        queue = self._queues.get(installation_id, {})
        items = [Delivery(h, d) for h, d in sorted(queue.items())]
        return items[:limit] if limit is not None else items

    def ack(self, installation_id: bytes, handle: str) -> None:
        self._queues.get(installation_id, {}).pop(handle, None)

    def pending(self, installation_id: bytes) -> int:
        return len(self._queues.get(installation_id, {}))


class MailboxTransport(Transport):
    """A mailbox folder shared by the installations of one machine.

    Layout::

        ROOT/inbox/<installation id hex>/<time>-<random>.env   one envelope per file
        ROOT/accounts/<account hex>/<installation id hex>      registrations
        ROOT/tmp/<pid>-<time>-<random>.env                     files being written

    A file is written in ``tmp/`` and renamed into place, so a reader never
    sees half an envelope. A file left in ``tmp/`` by a writer that died
    (its pid is gone, or it is TMP_MAX_AGE old) is removed when a mailbox is
    opened and on every fetch. Nothing here is secret: envelopes are encrypted,
    but the folder shows who writes to whom, and when.
    """

    SUFFIX = ".env"
    #: The most of one inbox entry read: far above any envelope (about 1 MiB), so a
    #: huge file planted in an inbox costs no more memory than this.
    MAX_ENTRY_BYTES = 4 << 20

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        try:
            for sub in ("inbox", "accounts", "tmp"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(f"cannot create the mailbox folder: {exc.strerror}") from None
        self.clean_tmp()

    def clean_tmp(self) -> int:
        """Remove the half-written files of writers that are gone; return how many."""
        removed = 0
        now = time.time()
        with suppress(OSError):
            for entry in os.scandir(self.root / "tmp"):
                pid_text = entry.name.split("-", 1)[0]
                try:
                    young = now - entry.stat().st_mtime < TMP_MAX_AGE
                    # "<pid>-...": its writer's pid; another name: its age alone
                    writer_gone = (
                        pid_text.isdigit()
                        and len(pid_text) <= 10
                        and not process_alive(int(pid_text))
                    )
                    if young and not writer_gone:
                        continue
                    os.unlink(entry.path)
                    removed += 1
                except OSError:
                    continue
        return removed

    def _inbox(self, installation_id: bytes) -> Path:
        return self.root / "inbox" / _check_id(installation_id)

    def register(self, account: bytes, installation_id: bytes) -> None:
        folder = self.root / "accounts" / _check_account(account)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _check_id(installation_id)).touch()
        self._inbox(installation_id).mkdir(exist_ok=True)

    def installations_of(self, account: bytes) -> set[bytes]:
        folder = self.root / "accounts" / _check_account(account)
        if not folder.is_dir():
            return set()
        out = set()
        for entry in folder.iterdir():
            try:
                value = bytes.fromhex(entry.name)
            except ValueError:
                continue
            if len(value) == INSTALLATION_ID_SIZE:
                out.add(value)
        return out

    def put(self, installation_id: bytes, data: bytes) -> None:
        inbox = self._inbox(installation_id)
        name = f"{time.time_ns():020d}-{secrets.token_hex(6)}{self.SUFFIX}"
        tmp = self.root / "tmp" / f"{os.getpid()}-{name}"
        try:
            inbox.mkdir(exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if WRITE_HOOK is not None:
                WRITE_HOOK("tmp")
            os.replace(tmp, inbox / name)
            fsync_dir(inbox)
        except OSError as exc:
            with suppress(OSError):
                tmp.unlink()
            raise TransportError(f"cannot write to the mailbox: {exc.strerror}") from None
        if WRITE_HOOK is not None:
            WRITE_HOOK("put")

    def fetch(self, installation_id: bytes, limit: int | None = None) -> list[Delivery]:
        _check_limit(limit)
        self.clean_tmp()
        inbox = self._inbox(installation_id)
        if not inbox.is_dir():
            return []
        names = sorted(p.name for p in inbox.iterdir() if p.name.endswith(self.SUFFIX))
        if limit is not None:
            names = names[:limit]
        out = []
        for name in names:
            try:  # a larger entry is cut: receive refuses it
                data = _read_entry(inbox / name, self.MAX_ENTRY_BYTES + 1)
            except OSError:  # acknowledged by another reader meanwhile, or not a file:
                continue  # skipped, so that one bad entry never blocks the others
            if data is not None:
                out.append(Delivery(name, data))
        return out

    def ack(self, installation_id: bytes, handle: str) -> None:
        if "/" in handle or not handle.endswith(self.SUFFIX):
            raise TransportError("not a mailbox handle")
        with suppress(FileNotFoundError):  # acknowledged twice
            (self._inbox(installation_id) / handle).unlink()

    def pending(self, installation_id: bytes) -> int:
        inbox = self._inbox(installation_id)
        return (
            sum(1 for p in inbox.iterdir() if p.name.endswith(self.SUFFIX)) if inbox.is_dir() else 0
        )


def _read_entry(path: Path, limit: int) -> bytes | None:
    """At most ``limit`` bytes of the regular file at ``path``; None for anything
    else planted in an inbox (a FIFO would block the reader forever, a device or
    a link lead elsewhere). The open itself never blocks, nor follows a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, left = [], limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
