"""``parley serve``: the library as a gRPC service (parley.api.v1.ParleyService).

One daemon serves one installation: its SQLCipher store and its mailbox
transport, the same as the CLI's. Bots and apps in any language talk to it
through a client generated from ``proto/parley/api/v1/api.proto``.

* Listening: a Unix socket (default ``HOME/api.sock``, mode 0600) or a
  loopback TCP address; any other address needs ``--tls-cert``/``--tls-key``.
* Authentication: every call carries ``authorization: Bearer <token>``. The
  token is drawn at start and written to a file of mode 0600 (default
  ``HOME/api.token``); a wrong or missing token is UNAUTHENTICATED.
* Threads: the store's connection belongs to one worker thread; every RPC
  and the mailbox poller hand their work to it, so store access is serial.
* Events: the poller fetches the mailbox, and for each envelope commits the
  library's state change and the resulting events (table ``api_events``)
  in one store transaction, and only then acknowledges the envelope to the
  mailbox. An event stays in the table, delivered again on every new
  ``SubscribeEvents`` stream, until ``AckEvents`` marks it acknowledged.
* Errors: a library error becomes a gRPC status with one message ending in
  its code; anything unexpected is INTERNAL ("internal error") and logged;
  no request stops the daemon.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any, TypeVar

import grpc

from ..api.v1 import api_pb2 as pb
from ..api.v1 import api_pb2_grpc as pb_grpc
from ..errors import InvalidArgument, ParleyError
from .account import Account, Contact
from .errors import (
    AccountExists,
    CannotSend,
    ClientError,
    InvalidContactCode,
    InvalidLinkPayload,
    NoAccount,
    StoreError,
    TransportError,
    UnknownContact,
)
from .events import (
    BundleRejected,
    BundleUpdated,
    Event,
    InstallationAdded,
    InstallationChanged,
    MessageReceived,
    MessageSynced,
    SessionReset,
    UndecryptableMessage,
)
from .transport import MailboxTransport

__all__ = ["ApiServer", "EventLog", "check_listen_address", "event_to_proto"]

log = logging.getLogger("parley.serve")
T = TypeVar("T")

#: The largest message body accepted by SendMessage (the envelope limit then applies).
MAX_BODY = 60_000
MAX_HISTORY = 1000

_EVENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    event  BLOB NOT NULL,
    acked  INTEGER NOT NULL DEFAULT 0
)
"""

#: Library error -> gRPC status code.
_STATUS: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (UnknownContact, grpc.StatusCode.NOT_FOUND),
    (InvalidContactCode, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidLinkPayload, grpc.StatusCode.INVALID_ARGUMENT),
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (AccountExists, grpc.StatusCode.ALREADY_EXISTS),
    (CannotSend, grpc.StatusCode.FAILED_PRECONDITION),
    (TransportError, grpc.StatusCode.UNAVAILABLE),
    (NoAccount, grpc.StatusCode.FAILED_PRECONDITION),
    (StoreError, grpc.StatusCode.INTERNAL),
    (ClientError, grpc.StatusCode.FAILED_PRECONDITION),
    (ParleyError, grpc.StatusCode.FAILED_PRECONDITION),
]


class RequestError(Exception):
    """A request the service refuses: a status code and one message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _bad(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


# -- events as protobuf --------------------------------------------------------------


def event_to_proto(event: Event) -> pb.Event | None:
    """The API form of a library event (without id and time); None for none."""
    match event:
        case MessageReceived():
            return pb.Event(
                message_received=pb.MessageReceived(
                    sender_account_id=event.sender,
                    sender_installation_id=event.installation,
                    sender_name=event.sender_name or "",
                    body=event.plaintext,
                    message_id=event.message_id,
                    forward_secret=event.forward_secret,
                    redelivered=event.redelivered,
                )
            )
        case MessageSynced():
            return pb.Event(
                message_synced=pb.MessageSynced(
                    peer_account_id=event.peer,
                    installation_id=event.installation,
                    peer_name=event.peer_name or "",
                    body=event.plaintext,
                    message_id=event.message_id,
                )
            )
        case InstallationAdded():
            return pb.Event(
                installation_added=pb.InstallationAdded(
                    account_id=event.account, installation_id=event.installation, own=event.own
                )
            )
        case InstallationChanged():
            return pb.Event(
                installation_changed=pb.InstallationChanged(
                    account_id=event.account, installation_id=event.installation, own=event.own
                )
            )
        case BundleUpdated():
            return pb.Event(
                bundle_updated=pb.BundleUpdated(
                    account_id=event.account, bundle_timestamp=event.timestamp, own=event.own
                )
            )
        case BundleRejected():
            return pb.Event(
                bundle_rejected=pb.BundleRejected(
                    account_id=event.account or b"", reason=event.reason
                )
            )
        case UndecryptableMessage():
            return pb.Event(
                undecryptable_message=pb.UndecryptableMessage(
                    sender_account_id=event.sender or b"",
                    sender_installation_id=event.installation or b"",
                    reason=event.reason,
                    session_reset_sent=event.reset_envelope is not None,
                )
            )
        case SessionReset():
            return pb.Event(
                session_reset=pb.SessionReset(
                    account_id=event.account, installation_id=event.installation
                )
            )
    return None


def _contact(c: Contact) -> pb.Contact:
    return pb.Contact(
        account_id=c.account,
        fingerprint=c.fingerprint,
        name=c.name or "",
        installation_ids=list(c.installations),
        bundle_timestamp=c.bundle_timestamp,
        replied=c.replied,
    )


# -- the event log ---------------------------------------------------------------------


class EventLog:
    """Events kept in the store until acknowledged (table ``api_events``).

    An additive table: stores without it get it on first use; the library
    never reads it.
    """

    def __init__(self, account: Account) -> None:
        self.store = account.store
        with self.store.transaction():
            self.store.execute(_EVENTS_SCHEMA)

    def add(self, event: pb.Event, now: int) -> None:
        """Inside the caller's transaction."""
        self.store.execute(
            "INSERT INTO api_events (at, event) VALUES (?, ?)", (now, event.SerializeToString())
        )

    def pending(self, after: int, limit: int = 100) -> list[pb.Event]:
        rows = self.store.query(
            "SELECT id, at, event FROM api_events WHERE acked = 0 AND id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        out = []
        for rowid, at, data in rows:
            event = pb.Event.FromString(bytes(data))
            event.event_id = rowid
            event.received_at = at
            out.append(event)
        return out

    def ack(self, ids: list[int]) -> int:
        with self.store.transaction():
            fresh = 0
            for rowid in ids:
                row = self.store.one("SELECT acked FROM api_events WHERE id = ?", (rowid,))
                if row is None:
                    raise RequestError(grpc.StatusCode.NOT_FOUND, f"no event with id {rowid}")
                if not row[0]:
                    self.store.execute("UPDATE api_events SET acked = 1 WHERE id = ?", (rowid,))
                    fresh += 1
            return fresh


# -- the service -----------------------------------------------------------------------


class ApiServer(pb_grpc.ParleyServiceServicer):
    """ParleyService over one account. Store work runs on one worker thread."""

    def __init__(
        self,
        open_account: Callable[[], Account],
        mailbox: MailboxTransport,
        *,
        poll_interval: float = 0.2,
    ) -> None:
        self.mailbox = mailbox
        self.poll_interval = poll_interval
        self._worker = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._changed = threading.Condition()
        self._generation = 0
        self._stopping = threading.Event()
        self.account: Account = self._run(open_account)
        self.events: EventLog = self._run(lambda: EventLog(self.account))
        self._run(lambda: mailbox.register(self.account.account_id, self.account.installation_id))
        self._poller = threading.Thread(target=self._poll_loop, name="poller", daemon=True)

    # -- plumbing

    def _run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store's thread and return its result (or raise)."""
        return self._worker.submit(fn).result()

    def start_polling(self) -> None:
        self._poller.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._poller.is_alive():
            self._poller.join(timeout=5)
        self._run(self.account.close)
        self._worker.shutdown(wait=True)

    def _poll_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                count = self._run(self.poll_once)
            except Exception:  # a broken mailbox must not stop the daemon
                log.exception("polling the mailbox failed")
                count = 0
            if count:
                with self._changed:
                    self._generation += 1
                    self._changed.notify_all()
            self._stopping.wait(self.poll_interval)

    def poll_once(self) -> int:
        """Receive what waits in the mailbox; return the number of events stored."""
        account, mailbox = self.account, self.mailbox
        stored = 0
        self.flush_outbox()  # what a crash left undelivered, at start and on every poll
        for item in mailbox.fetch(account.installation_id, limit=100):
            with account.store.transaction():  # the state change and its events, together
                events = account.receive(item.data)  # a reset envelope joins the outbox
                now = account.clock()
                for event in events:
                    message = event_to_proto(event)
                    if message is not None:
                        self.events.add(message, now)
                        stored += 1
            self.flush_outbox()
            mailbox.ack(account.installation_id, item.handle)  # only after the commit
        return stored

    def flush_outbox(self) -> list:
        try:
            return self.account.flush_outbox(self.mailbox)
        except TransportError:
            log.warning("could not deliver from the outbox; it is kept for the next poll")
            return []

    # -- RPCs

    def _call(self, context: grpc.ServicerContext, fn: Callable[[], T]) -> T:
        try:
            return self._run(fn)
        except RequestError as exc:
            context.abort(exc.code, exc.message)
        except ParleyError as exc:
            code = next(c for cls, c in _STATUS if isinstance(exc, cls))
            context.abort(code, f"{exc.message} [{exc.code}]")
        except Exception:
            log.exception("internal error")
            context.abort(grpc.StatusCode.INTERNAL, "internal error (see the daemon's log)")
        raise AssertionError("unreachable")  # pragma: no cover

    def GetAccount(self, request: Any, context: grpc.ServicerContext) -> pb.GetAccountResponse:
        a = self.account
        return pb.GetAccountResponse(
            account_id=a.account_id,
            fingerprint=a.fingerprint,
            installation_id=a.installation_id,
            identity=a.identity.to_bytes(),
        )

    def ListInstallations(self, request: Any, context: grpc.ServicerContext) -> Any:
        def run() -> pb.ListInstallationsResponse:
            return pb.ListInstallationsResponse(
                installations=[
                    pb.Installation(
                        installation_id=i.installation_id,
                        current=i.current,
                        first_seen=i.first_seen,
                    )
                    for i in self.account.installations()
                ]
            )

        return self._call(context, run)

    def GetContactCode(self, request: Any, context: grpc.ServicerContext) -> Any:
        def run() -> pb.GetContactCodeResponse:
            return pb.GetContactCodeResponse(
                code=self.account.contact_code(), bundle=self.account.bundle().to_bytes()
            )

        return self._call(context, run)

    def AddContact(self, request: Any, context: grpc.ServicerContext) -> Any:
        code = request.code.strip()
        if not code:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "code is empty: give a contact code")

        def run() -> pb.AddContactResponse:
            contact, _events = self.account.add_contact(code, request.name or None)
            return pb.AddContactResponse(contact=_contact(contact))

        return self._call(context, run)

    def ListContacts(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._call(
            context,
            lambda: pb.ListContactsResponse(
                contacts=[_contact(c) for c in self.account.contacts()]
            ),
        )

    def SendMessage(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not request.contact:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "contact is empty: give a name")
        if not request.body:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "body is empty")
        if len(request.body) > MAX_BODY:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"body is above the {MAX_BODY}-byte limit"
            )

        def run() -> pb.SendMessageResponse:
            contact = self.account.contact(request.contact)
            envelope = self.account.send(contact, bytes(request.body))  # in the outbox
            sent = self.account.history(contact, limit=1)[-1]
            delivered = self.flush_outbox()
            targets = next((t for e, t in delivered if e.envelope == envelope), set())
            return pb.SendMessageResponse(
                message_id=sent.message_id,
                forward_secret=sent.forward_secret,
                delivered_installations=len(targets),
            )

        return self._call(context, run)

    def SubscribeEvents(
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[pb.SubscribeEventsResponse]:
        last = 0
        while context.is_active() and not self._stopping.is_set():
            with self._changed:
                generation = self._generation
            batch = self._call(context, lambda last=last: self.events.pending(last))
            for event in batch:
                last = event.event_id
                yield pb.SubscribeEventsResponse(event=event)
            if batch:
                continue
            with self._changed:
                if self._generation == generation:
                    self._changed.wait(timeout=1.0)

    def AckEvents(self, request: Any, context: grpc.ServicerContext) -> Any:
        ids = list(request.event_ids)
        if not ids:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "event_ids is empty")
        if len(ids) > 10_000:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "at most 10000 event ids per call")
        return self._call(context, lambda: pb.AckEventsResponse(acknowledged=self.events.ack(ids)))

    def ListMessages(self, request: Any, context: grpc.ServicerContext) -> Any:
        limit = request.limit or 100
        if limit > MAX_HISTORY:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"limit must be 1 to {MAX_HISTORY} (0: 100)"
            )
        direction = {"in": pb.DIRECTION_INCOMING, "out": pb.DIRECTION_OUTGOING}

        def run() -> pb.ListMessagesResponse:
            entries = self.account.history(request.contact or None, limit=limit)
            return pb.ListMessagesResponse(
                messages=[
                    pb.Message(
                        message_id=e.message_id,
                        timestamp=e.at,
                        direction=direction[e.direction],
                        account_id=e.account,
                        installation_id=e.installation,
                        body=e.body,
                        forward_secret=e.forward_secret,
                    )
                    for e in entries
                ]
            )

        return self._call(context, run)

    def CreateLinkPayload(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._call(
            context, lambda: pb.CreateLinkPayloadResponse(payload=self.account.export_link())
        )


# -- authentication --------------------------------------------------------------------


class TokenAuth(grpc.ServerInterceptor):
    """Refuse every call without ``authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        given = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        if isinstance(given, bytes):  # pragma: no cover - only -bin keys are bytes
            given = given.decode("latin-1")
        if hmac.compare_digest(given.encode("utf-8", "replace"), self._expected):
            return handler
        message = (
            "missing or wrong token: send 'authorization: Bearer <token>' "
            "with the token from the daemon's token file"
        )

        def deny(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

        def deny_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
            yield  # pragma: no cover

        kind = (
            grpc.unary_stream_rpc_method_handler
            if handler.response_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        return kind(
            deny_stream if handler.response_streaming else deny,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


# -- listening -------------------------------------------------------------------------


def check_listen_address(listen: str, tls: bool) -> tuple[str, int]:
    """Split HOST:PORT; refuse a non-loopback host unless TLS is on."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise InvalidArgument(f"--listen wants HOST:PORT, not {listen!r}")
    host = host.strip("[]")
    if host == "localhost":
        loopback = True
    else:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            raise InvalidArgument(
                f"--listen wants an IP address or localhost, not {host!r}"
            ) from None
    if not loopback and not tls:
        raise InvalidArgument(
            f"{host} is not a loopback address: give --tls-cert and --tls-key to listen on it"
        )
    return host, int(port_text)


def write_token(path: Path) -> str:
    """Draw a token and write it to ``path`` with mode 0600."""
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # an older file may have had other bits
        f.write(token + "\n")
    return token


def serve(
    open_account: Callable[[], Account],
    mailbox: MailboxTransport,
    *,
    socket_path: Path | None,
    listen: str | None,
    token_file: Path,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    poll_interval: float = 0.2,
    ready: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> int:
    """Run the daemon until ``stop`` is set (or KeyboardInterrupt / SIGTERM)."""
    if (tls_cert is None) != (tls_key is None):
        raise InvalidArgument("give both --tls-cert and --tls-key, or neither")
    if listen is not None:
        host, port = check_listen_address(listen, tls_cert is not None)
    api = ApiServer(open_account, mailbox, poll_interval=poll_interval)
    token = write_token(token_file)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="rpc"),
        interceptors=[TokenAuth(token)],
        maximum_concurrent_rpcs=64,
        options=[("grpc.max_receive_message_length", 256 * 1024)],
    )
    pb_grpc.add_ParleyServiceServicer_to_server(api, server)
    if listen is not None:
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if tls_cert is not None and tls_key is not None:
            creds = grpc.ssl_server_credentials([(tls_key.read_bytes(), tls_cert.read_bytes())])
            bound = server.add_secure_port(address, creds)
        else:
            bound = server.add_insecure_port(address)
        where = f"{host}:{bound}"
    else:
        assert socket_path is not None
        if socket_path.exists() or socket_path.is_symlink():
            if not stat.S_ISSOCK(socket_path.lstat().st_mode):
                raise InvalidArgument(f"{socket_path} exists and is not a socket")
            socket_path.unlink()
        old = os.umask(0o177)  # the socket file: owner only
        try:
            server.add_insecure_port(f"unix:{socket_path}")
            server.start()
        finally:
            os.umask(old)
        where = f"unix:{socket_path}"
    if listen is not None:
        server.start()
    api.start_polling()
    ready(f"serving parley.api.v1.ParleyService on {where}; token in {token_file}")
    stop = stop or threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop(grace=1).wait()
        api.stop()
        if socket_path is not None and listen is None:
            socket_path.unlink(missing_ok=True)
    return 0


def wait_for(path: Path, timeout: float = 10.0) -> None:
    """For tests and scripts: wait until ``path`` exists."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.05)
