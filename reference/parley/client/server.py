"""``parley serve``: the library as a gRPC service (parley.api.v1.ParleyService).

One daemon serves one installation: its SQLCipher store and its mailbox
transport, the same as the CLI's. Bots and apps in any language talk to it
through a client generated from ``proto/parley/api/v1/api.proto``.

* Listening: a Unix socket (default ``HOME/api.sock``, mode 0600) or a
  loopback TCP address; any other address needs ``--tls-cert``/``--tls-key``.
  Every option is checked (and the TLS files read and matched) before
  anything is created.
* Authentication: every call carries ``authorization: Bearer <token>``. The
  token is drawn at start and written to a file of mode 0600 (default
  ``HOME/api.token``); a wrong or missing token is UNAUTHENTICATED. The one
  exception is the standard health check (``grpc.health.v1.Health/Check``),
  which a supervisor calls without a token; server reflection
  (``grpc.reflection.v1alpha``) needs the token like the service itself.
* Concurrency: the server runs on ``grpc.aio`` (one event loop), so an open
  ``SubscribeEvents`` stream costs a coroutine, not a thread. The store's
  connection belongs to one worker thread; every RPC and the mailbox poller
  hand their store work to it, so store access is serial.
* Events: the poller fetches the mailbox, and for each envelope commits the
  library's state change and the resulting events (table ``api_events``)
  in one store transaction, and only then acknowledges the envelope to the
  mailbox. An event stays in the table, delivered again on every new
  ``SubscribeEvents`` stream, until ``AckEvents`` marks it acknowledged.
* Errors: every request field is checked (integers for their range, strings
  for their length) before it reaches the library; a library error becomes a
  gRPC status with one message ending in its code; a request that does not
  decode is INVALID_ARGUMENT; anything unexpected is INTERNAL ("internal
  error") and logged on one line. No request stops the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import inspect
import ipaddress
import logging
import math
import os
import secrets
import stat
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..api.v1 import api_pb2 as pb
from ..api.v1 import api_pb2_grpc as pb_grpc
from ..errors import InvalidArgument, ParleyError
from .account import Account, Contact
from .errors import (
    AccountExists,
    CannotSend,
    ClientError,
    ContactNameTaken,
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
    IdentityChanged,
    InstallationAdded,
    InstallationChanged,
    MessageBlocked,
    MessageReceived,
    MessageSynced,
    SessionReset,
    UndecryptableMessage,
)
from .transport import Delivery, Transport

__all__ = [
    "ApiServer",
    "EventLog",
    "ServeOptions",
    "check_listen_address",
    "check_serve_options",
    "event_to_proto",
    "serve",
]

log = logging.getLogger("parley.serve")
T = TypeVar("T")

#: The largest message body accepted by SendMessage (the envelope limit then applies).
MAX_BODY = 60_000
MAX_HISTORY = 1000
#: The longest contact name (or contact reference) a request may hold, in characters.
MAX_NAME = 200
#: The longest contact code AddContact accepts (a code of many installations fits).
MAX_CODE = 16_384
#: Event ids are SQLite row ids: 1 to 2**63 - 1.
MAX_EVENT_ID = 2**63 - 1
MAX_ACK_IDS = 10_000
#: Open SubscribeEvents streams at once; past it, RESOURCE_EXHAUSTED. Below the
#: server's limit on concurrent calls, so that streams never starve other calls.
MAX_STREAMS = 128
MAX_CONCURRENT_RPCS = 256
#: The poll interval's bounds, seconds.
MIN_INTERVAL, MAX_INTERVAL = 0.01, 3600.0
#: The longest path of a Unix socket (sun_path holds 108 bytes with its NUL).
MAX_SOCKET_PATH = 107
#: The API service's full name; the health check answers for it and for "".
API_SERVICE = pb.DESCRIPTOR.services_by_name["ParleyService"].full_name
HEALTH_CHECK = "/grpc.health.v1.Health/Check"

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
    (ContactNameTaken, grpc.StatusCode.ALREADY_EXISTS),
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
        case MessageBlocked():
            return pb.Event(
                message_blocked=pb.MessageBlocked(
                    sender_account_id=event.sender,
                    sender_installation_id=event.installation,
                    message_id=event.message_id,
                )
            )
        case IdentityChanged():
            return pb.Event(
                identity_changed=pb.IdentityChanged(
                    account_id=event.account,
                    installation_id=event.installation or b"",
                    was_verified=event.was_verified,
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


class _Undecodable:
    """What the request deserializer hands on for bytes that are not the request."""

    __slots__ = ()


_UNDECODABLE = _Undecodable()
_NOT_DECODED = "the request does not decode as its protobuf message"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _status_of(exc: Exception, method: str) -> tuple[grpc.StatusCode, str]:
    """The status and message for an exception a handler raised."""
    if isinstance(exc, RequestError):
        return exc.code, exc.message
    if isinstance(exc, ParleyError):
        code = next(c for cls, c in _STATUS if isinstance(exc, cls))
        return code, f"{exc.message} [{exc.code}]"
    log.error("internal error in %s: %s", method, _one_line(exc))
    log.debug("internal error in %s", method, exc_info=exc)
    return grpc.StatusCode.INTERNAL, "internal error (see the daemon's log)"


def _check_request(request: Any) -> None:
    if isinstance(request, _Undecodable):
        raise _bad(_NOT_DECODED)


Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Any]]


def _unary(fn: Handler) -> Handler:
    """A unary RPC: every exception becomes a status with one message."""

    @functools.wraps(fn)
    async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            _check_request(request)
            return await fn(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code, message = _status_of(exc, fn.__name__)
        await context.abort(code, message)

    return handler


def _stream(fn: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    """A server-streaming RPC, with the same error handling as :func:`_unary`."""

    @functools.wraps(fn)
    async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            _check_request(request)
            async for item in fn(self, request, context):
                yield item
            return
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code, message = _status_of(exc, fn.__name__)
        await context.abort(code, message)

    return handler


def _check_name(field: str, value: str, *, limit: int = MAX_NAME) -> None:
    if len(value) > limit:
        raise _bad(f"{field} is above the {limit}-character limit")
    if not value.isprintable():
        raise _bad(f"{field} holds a character that is not printable (a control character)")


class ApiServer(pb_grpc.ParleyServiceServicer):
    """ParleyService over one account, on grpc.aio. Store work runs on one thread."""

    def __init__(
        self,
        open_account: Callable[[], Account],
        mailbox: Transport,
        *,
        poll_interval: float = 0.2,
    ) -> None:
        self.mailbox = mailbox
        self.poll_interval = poll_interval
        self._worker = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()  # set, then replaced, when new events are stored
        self._poll_error = ""
        self._poller: asyncio.Task[None] | None = None
        self.streams = 0  # open SubscribeEvents streams
        try:
            self.account: Account = self._run_sync(open_account)
        except BaseException:
            self._worker.shutdown(wait=True)
            raise
        try:
            self.events: EventLog = self._run_sync(lambda: EventLog(self.account))
            self._run_sync(
                lambda: mailbox.register(self.account.account_id, self.account.installation_id)
            )
        except BaseException:
            self._run_sync(self.account.close)
            self._worker.shutdown(wait=True)
            raise

    # -- plumbing

    def _run_sync(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store's thread and wait for it (outside the event loop)."""
        return self._worker.submit(fn).result()

    async def _run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the store's thread; the event loop goes on meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def poll_forever(self) -> None:
        """Receive from the transport until :meth:`aclose`: a relay pushes (its
        ``wait`` returns as soon as an envelope is stored), a mailbox folder is
        looked at every ``poll_interval`` seconds. Each batch is received on
        the store's thread (:meth:`poll_once`)."""
        loop = asyncio.get_running_loop()
        iid = self.account.installation_id

        def wait() -> list[Delivery]:  # blocks a thread of the default executor
            return self.mailbox.wait(iid, limit=100, timeout=1.0)

        while not self._stopping.is_set():
            try:
                deliveries = await loop.run_in_executor(None, wait)
                count = await self._run(lambda d=deliveries: self.poll_once(d))
                self._poll_error = ""
            except Exception as exc:  # a broken transport must not stop the daemon
                if _one_line(exc) != self._poll_error:  # once, not every interval
                    self._poll_error = _one_line(exc)
                    log.error("receiving from the transport failed: %s", self._poll_error)
                count = 0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_interval)
            if count:
                self._notify()

    def start_polling(self) -> None:
        """Start :meth:`poll_forever` on the running event loop."""
        self._poller = asyncio.create_task(self.poll_forever())

    async def aclose(self) -> None:
        """Stop polling and streaming, then close the store."""
        self._stopping.set()
        self._notify()
        if self._poller is not None:
            await self._poller
        await self._run(self.account.close)
        self._worker.shutdown(wait=True)

    def poll_once(self, deliveries: list[Delivery] | None = None) -> int:
        """Receive ``deliveries`` (else what waits, up to 100) as one batch: the
        state change and its events in one transaction, then the outbox
        flushed, then the acknowledgements. Return the number of events stored."""
        account, mailbox = self.account, self.mailbox
        stored = 0
        self.flush_outbox()  # what a crash left undelivered, at start and on every poll
        if deliveries is None:
            deliveries = mailbox.fetch(account.installation_id, limit=100)
        if not deliveries:
            return 0
        with account.store.transaction():  # the state change and its events, together
            results = account.receive_many([d.data for d in deliveries])
            now = account.clock()
            for event in (e for events in results for e in events):
                message = event_to_proto(event)
                if message is not None:
                    self.events.add(message, now)
                    stored += 1
        self.flush_outbox()  # resets the batch committed
        mailbox.ack_many(account.installation_id, [d.handle for d in deliveries])
        return stored

    def flush_outbox(self) -> list:
        try:
            return self.account.flush_outbox(self.mailbox)
        except TransportError:
            log.warning("could not deliver from the outbox; it is kept for the next poll")
            return []

    # -- RPCs

    @_unary
    async def GetAccount(self, request: Any, context: Any) -> pb.GetAccountResponse:
        def run() -> pb.GetAccountResponse:
            a = self.account
            return pb.GetAccountResponse(
                account_id=a.account_id,
                fingerprint=a.fingerprint,
                installation_id=a.installation_id,
                identity=a.identity.to_bytes(),
            )

        return await self._run(run)

    @_unary
    async def ListInstallations(self, request: Any, context: Any) -> Any:
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

        return await self._run(run)

    @_unary
    async def GetContactCode(self, request: Any, context: Any) -> Any:
        def run() -> pb.GetContactCodeResponse:
            return pb.GetContactCodeResponse(
                code=self.account.contact_code(), bundle=self.account.bundle().to_bytes()
            )

        return await self._run(run)

    @_unary
    async def AddContact(self, request: Any, context: Any) -> Any:
        code = request.code.strip()
        if not code:
            raise _bad("code is empty: give a contact code")
        if len(code) > MAX_CODE:
            raise _bad(f"code is above the {MAX_CODE}-character limit")
        _check_name("name", request.name)

        def run() -> pb.AddContactResponse:
            added = self.account.add_contact(code, request.name or None, update=request.update)
            return pb.AddContactResponse(
                contact=_contact(added.contact), already_known=added.known, changed=added.changed
            )

        return await self._run(run)

    @_unary
    async def ListContacts(self, request: Any, context: Any) -> Any:
        return await self._run(
            lambda: pb.ListContactsResponse(contacts=[_contact(c) for c in self.account.contacts()])
        )

    @_unary
    async def SendMessage(self, request: Any, context: Any) -> Any:
        if not request.contact:
            raise _bad("contact is empty: give a name")
        _check_name("contact", request.contact)
        if not request.body:
            raise _bad("body is empty")
        if len(request.body) > MAX_BODY:
            raise _bad(f"body is above the {MAX_BODY}-byte limit")

        def run() -> pb.SendMessageResponse:
            contact = self.account.contact(request.contact)
            envelope = self.account.send(contact, bytes(request.body))  # in the outbox
            sent = self.account.history(contact, limit=1)[-1]
            delivered = self.flush_outbox()
            targets = next((t for e, t in delivered if e.envelope == envelope), None)
            if targets is None:
                # flush_outbox gives [] on any TransportError, which may come from an
                # older envelope: this one went out if it left the outbox
                gone = all(e.envelope != envelope for e in self.account.outbox())
                targets = self.mailbox.recipients(envelope, contact.account) if gone else set()
            return pb.SendMessageResponse(
                message_id=sent.message_id,
                forward_secret=sent.forward_secret,
                delivered_installations=len(targets),
            )

        return await self._run(run)

    @_stream
    async def SubscribeEvents(
        self, request: Any, context: Any
    ) -> AsyncIterator[pb.SubscribeEventsResponse]:
        if self.streams >= MAX_STREAMS:
            raise RequestError(
                grpc.StatusCode.RESOURCE_EXHAUSTED, f"at most {MAX_STREAMS} open event streams"
            )
        self.streams += 1
        try:
            last = 0
            while not self._stopping.is_set():
                changed = self._changed  # before the query: no event slips in between
                batch = await self._run(lambda last=last: self.events.pending(last))
                for event in batch:
                    last = event.event_id
                    yield pb.SubscribeEventsResponse(event=event)
                if batch:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 5.0)
        finally:
            self.streams -= 1

    @_unary
    async def AckEvents(self, request: Any, context: Any) -> Any:
        ids = list(request.event_ids)
        if not ids:
            raise _bad("event_ids is empty")
        if len(ids) > MAX_ACK_IDS:
            raise _bad(f"at most {MAX_ACK_IDS} event ids per call")
        for rowid in ids:
            if not 1 <= rowid <= MAX_EVENT_ID:
                raise _bad(f"event id {rowid} is out of range (1 to 2^63-1)")
        return await self._run(lambda: pb.AckEventsResponse(acknowledged=self.events.ack(ids)))

    @_unary
    async def ListMessages(self, request: Any, context: Any) -> Any:
        limit = request.limit or 100
        if limit > MAX_HISTORY:
            raise _bad(f"limit must be 1 to {MAX_HISTORY} (0: 100)")
        _check_name("contact", request.contact)
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

        return await self._run(run)

    @_unary
    async def CreateLinkPayload(self, request: Any, context: Any) -> Any:
        return await self._run(
            lambda: pb.CreateLinkPayloadResponse(payload=self.account.export_link())
        )


# -- authentication and request decoding -----------------------------------------------

_HANDLER_KINDS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}
_DENIED = (
    "missing or wrong token: send 'authorization: Bearer <token>' "
    "with the token from the daemon's token file"
)


def _lenient(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """A request deserializer that hands on :data:`_UNDECODABLE` instead of raising."""

    def run(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:
            return _UNDECODABLE

    return run


async def _refuse_undecodable(request: Any, context: grpc.aio.ServicerContext) -> None:
    if isinstance(request, _Undecodable):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _NOT_DECODED)


def _decoding_checked(handler: Any, kind: Callable[..., Any]) -> Any:
    """``handler`` with a request that does not decode refused as INVALID_ARGUMENT
    (gRPC itself would answer UNKNOWN with the parser's message), for every
    service: the API, health, reflection."""
    if handler.request_deserializer is None:
        return handler
    streaming_in, streaming_out = handler.request_streaming, handler.response_streaming
    if streaming_in:
        behaviour = handler.stream_stream if streaming_out else handler.stream_unary
    else:
        behaviour = handler.unary_stream if streaming_out else handler.unary_unary

    async def checked(requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        async for request in requests:
            await _refuse_undecodable(request, context)
            yield request

    async def arguments(request: Any, context: Any) -> Any:
        if streaming_in:
            return checked(request, context)
        await _refuse_undecodable(request, context)
        return request

    if streaming_out and inspect.isasyncgenfunction(behaviour):

        async def run_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            async for item in behaviour(await arguments(request, context), context):
                yield item

        run: Callable[..., Any] = run_stream
    else:  # a coroutine (a stream written with context.write, or one answer)

        async def run(request: Any, context: Any) -> Any:
            return await behaviour(await arguments(request, context), context)

    return kind(
        run,
        request_deserializer=_lenient(handler.request_deserializer),
        response_serializer=handler.response_serializer,
    )


class TokenAuth(grpc.aio.ServerInterceptor):
    """Refuse every call without ``authorization: Bearer <token>``, except ``open``
    methods (the health check). A request that does not decode is INVALID_ARGUMENT."""

    def __init__(self, token: str, open_methods: frozenset[str] = frozenset({HEALTH_CHECK})):
        self._expected = f"Bearer {token}".encode()
        self._open = open_methods

    def _authorized(self, details: grpc.HandlerCallDetails) -> bool:
        given = dict(details.invocation_metadata or ()).get("authorization", "")
        if isinstance(given, bytes):  # pragma: no cover - only -bin keys are bytes
            given = given.decode("latin-1")
        return hmac.compare_digest(given.encode("utf-8", "replace"), self._expected)

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        kind = _HANDLER_KINDS[(handler.request_streaming, handler.response_streaming)]
        if method in self._open or self._authorized(handler_call_details):
            return _decoding_checked(handler, kind)

        async def deny(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)

        async def deny_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)
            yield  # pragma: no cover

        return kind(
            deny_stream if handler.response_streaming else deny,
            request_deserializer=lambda data: None,  # a refused request is not decoded
            response_serializer=handler.response_serializer,
        )


# -- options and listening -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Checked options of ``parley serve``: a socket path, or a host and port."""

    socket_path: Path | None
    host: str | None
    port: int | None
    tls: tuple[bytes, bytes] | None  # (PEM private key, PEM certificate chain)
    poll_interval: float


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


def _check_socket_path(path: Path, *, folder_made_later: bool = False) -> None:
    parent = path.parent
    if not parent.is_dir() and not (folder_made_later and not parent.exists()):
        raise InvalidArgument(f"--socket: the folder {parent} does not exist")
    if len(os.fsencode(path.absolute())) > MAX_SOCKET_PATH:
        raise InvalidArgument(
            f"--socket: {path} is too long for a Unix socket (at most {MAX_SOCKET_PATH} bytes)"
        )
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise InvalidArgument(f"--socket: {path} exists and is not a socket")
        if _socket_answers(path):  # a live daemon's: never take it over
            raise TransportError(f"{path} is in use: another daemon listens on it")


def _socket_answers(path: Path) -> bool:
    """True if something accepts connections on the Unix socket ``path``."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False  # left by a daemon that died: safe to replace
    return True


def _read_option_file(option: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"{option}: cannot read {path}: {exc.strerror or exc}") from None


def load_tls(cert_path: Path, key_path: Path) -> tuple[bytes, bytes]:
    """Read a PEM certificate chain and its private key; check that they match."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert_pem = _read_option_file("--tls-cert", cert_path)
    key_pem = _read_option_file("--tls-key", key_path)
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise InvalidArgument(f"--tls-cert: {cert_path} holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidArgument(
            f"--tls-key: {key_path} holds no unencrypted PEM private key"
        ) from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != certs[0].public_key().public_bytes(*spki):
        raise InvalidArgument(f"--tls-key: {key_path} is not the key of {cert_path}")
    return key_pem, cert_pem


def check_serve_options(
    *,
    socket_path: Path | None,
    listen: str | None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    poll_interval: float = 0.2,
    socket_folder_made_later: bool = False,
    token_file: Path | None = None,
) -> ServeOptions:
    """Every option of ``parley serve``, checked before anything is created.

    ``socket_folder_made_later``: the socket's folder may be missing (the
    default socket lies in the home, which the first start creates).
    """
    if (
        not isinstance(poll_interval, int | float)
        or not math.isfinite(poll_interval)
        or not MIN_INTERVAL <= poll_interval <= MAX_INTERVAL
    ):
        raise InvalidArgument(
            f"--interval wants seconds from {MIN_INTERVAL} to {MAX_INTERVAL:g}, "
            f"not {poll_interval!r}"
        )
    if (tls_cert is None) != (tls_key is None):
        raise InvalidArgument("give both --tls-cert and --tls-key, or neither")
    if token_file is not None and (token_file.is_dir() or token_file.is_symlink()):
        raise InvalidArgument(f"--token-file: {token_file} is a folder or a link, not a file")
    tls = None
    if tls_cert is not None and tls_key is not None:
        if listen is None:
            raise InvalidArgument("--tls-cert and --tls-key go with --listen")
        tls = load_tls(tls_cert, tls_key)
    if listen is not None:
        host, port = check_listen_address(listen, tls is not None)
        return ServeOptions(None, host, port, tls, float(poll_interval))
    if socket_path is None:
        raise InvalidArgument("give --socket or --listen")
    _check_socket_path(socket_path, folder_made_later=socket_folder_made_later)
    return ServeOptions(socket_path, None, None, None, float(poll_interval))


def write_token(path: Path) -> str:
    """Draw a token and write it to ``path`` with mode 0600."""
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # an older file may have had other bits
        f.write(token + "\n")
    return token


_BIND_FAILED = (
    "cannot listen on {}: the address is in use or not available (GRPC_VERBOSITY=debug tells more)"
)


def _bind(server: grpc.aio.Server, options: ServeOptions) -> str:
    """Add the listening port; return where the server listens."""
    if options.socket_path is not None:
        path = options.socket_path
        if path.exists() or path.is_symlink():
            path.unlink()  # a socket left by an earlier daemon (checked: it is one)
        address = f"unix:{path}"
        old = os.umask(0o177)  # the socket file: owner only
        try:
            server.add_insecure_port(address)
        except RuntimeError:
            raise TransportError(_BIND_FAILED.format(address)) from None
        finally:
            os.umask(old)
        return address
    assert options.host is not None and options.port is not None
    host = options.host
    address = f"[{host}]:{options.port}" if ":" in host else f"{host}:{options.port}"
    try:
        if options.tls is not None:
            creds = grpc.ssl_server_credentials([options.tls])
            bound = server.add_secure_port(address, creds)
        else:
            bound = server.add_insecure_port(address)
    except RuntimeError:
        raise TransportError(_BIND_FAILED.format(address)) from None
    return f"{host}:{bound}"


async def _serve_async(
    api: ApiServer,
    options: ServeOptions,
    token_file: Path,
    ready: Callable[[str], None],
    stop: threading.Event,
) -> None:
    try:
        token = write_token(token_file)
    except BaseException:
        await api.aclose()
        raise
    server = grpc.aio.server(
        interceptors=[TokenAuth(token)],
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
        options=[("grpc.max_receive_message_length", 256 * 1024)],
    )
    pb_grpc.add_ParleyServiceServicer_to_server(api, server)
    checker = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    reflection.enable_server_reflection(
        [API_SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    try:
        where = _bind(server, options)
        await server.start()
        for service in ("", API_SERVICE):
            await checker.set(service, health_pb2.HealthCheckResponse.SERVING)
        api.start_polling()
        ready(f"serving {API_SERVICE} on {where}; token in {token_file}")
        while not stop.is_set():
            await asyncio.sleep(0.2)
    finally:
        await checker.enter_graceful_shutdown()
        await server.stop(grace=1)
        await api.aclose()


def serve(
    open_account: Callable[[], Account],
    mailbox: Transport,
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
    options = check_serve_options(
        socket_path=socket_path,
        listen=listen,
        tls_cert=tls_cert,
        tls_key=tls_key,
        poll_interval=poll_interval,
        token_file=token_file,
    )
    api = ApiServer(open_account, mailbox, poll_interval=options.poll_interval)
    try:
        asyncio.run(_serve_async(api, options, token_file, ready, stop or threading.Event()))
    except KeyboardInterrupt:
        pass
    finally:
        if options.socket_path is not None:
            options.socket_path.unlink(missing_ok=True)
    return 0


def wait_for(path: Path, timeout: float = 10.0) -> None:
    """For tests and scripts: wait until ``path`` exists."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.05)
