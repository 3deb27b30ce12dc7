"""A NATS JetStream transport: envelopes between machines, through relays.

The relay is a NATS server (or a cluster) with JetStream. It stores envelopes
until the installation they are for takes them; it learns no identity from
its names (spec: ``spec/privacy.md``, "Relays").

Streams and subjects (:func:`mailbox_id`, :func:`account_mailbox_id`)::

    PARLEY_MAILBOX   parley.mb.<mailbox id>      one subject per installation,
                                                 work-queue retention
    PARLEY_ACCOUNT   parley.acct.<account box>   no-bundle copies, by account

* Every installation has two durable pull consumers: ``mb-<mailbox id>`` on
  its mailbox (every envelope since the mailbox existed) and
  ``nb-<consumer id>`` on its account's no-bundle subject (copies published
  after the installation registered). A sender with no bundle of a peer knows
  only its account, so a no-bundle copy goes to the account's subject, and
  each installation that registered reads it through its own consumer: the
  relay keeps no directory of who owns which installation.
* An envelope is published with ``Nats-Msg-Id`` (a hash of subject and
  bytes), so a publish retried after a lost acknowledgement is stored once
  (within the stream's two-minute duplicate window).
* A delivery's ``handle`` is its JetStream acknowledgement subject. Ack it
  only after ``Account.receive`` committed: a crash in between leaves it
  unacknowledged, the relay delivers it again after ``ack_wait``, and the
  account recognises the envelope.
* :meth:`NatsTransport.wait` keeps a pull request standing at the server (with
  idle heartbeats), so an envelope is pushed to the waiting installation as
  soon as it is stored; nothing polls.

The class is synchronous, like every transport: it runs the asyncio client
(nats-py) on a thread of its own.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import nats
import nats.errors
import nats.js.errors
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from ..codec import decode_envelope
from ..errors import ParleyError
from .errors import TransportError
from .transport import Delivery, Transport, _check_id

__all__ = [
    "ACCOUNT_STREAM",
    "MAILBOX_STREAM",
    "NatsTransport",
    "account_mailbox_id",
    "mailbox_id",
    "parse_nats_url",
]

MAILBOX_STREAM = "PARLEY_MAILBOX"
ACCOUNT_STREAM = "PARLEY_ACCOUNT"
MAILBOX_SUBJECT = "parley.mb."
ACCOUNT_SUBJECT = "parley.acct."
#: How long a relay keeps an envelope nobody took.
MAX_AGE = 30 * 24 * 3600
#: The window in which the relay drops a republished envelope (Nats-Msg-Id).
DUPLICATE_WINDOW = 120
#: No-bundle copies kept per account subject (oldest dropped first).
MAX_PER_ACCOUNT = 1000
#: The most envelopes handed out and not yet acknowledged, per consumer.
MAX_ACK_PENDING = 10_000
_PULL_BATCH = 256
_HEARTBEAT = 1.0
_PULL_EXPIRES = 20.0


def _tag(label: bytes, value: bytes) -> str:
    digest = hmac.new(label, value, hashlib.sha256).digest()[:20]
    return base64.b32encode(digest).decode().lower()


def mailbox_id(installation_id: bytes) -> str:
    """An installation's mailbox id: HMAC-SHA256 under a fixed label, 160 bits,
    base32. Not secret (anyone who knows the installation id computes it); it
    keeps installation ids out of subjects, names, logs and monitoring."""
    _check_id(installation_id)
    return _tag(b"parley mailbox v1", installation_id)


def account_mailbox_id(account: bytes) -> str:
    """The subject token for no-bundle copies to ``account`` (its signing key)."""
    if not isinstance(account, bytes) or len(account) != 32:
        raise TransportError("an account is its 32-byte identity signing key")
    return _tag(b"parley account mailbox v1", account)


def _msg_id(subject: str, data: bytes) -> str:
    """The ``Nats-Msg-Id`` of an envelope on a subject (RELAY-003)."""
    digest = hashlib.sha256(b"parley msg id v1\x00" + subject.encode() + b"\x00" + data).digest()
    return base64.b32encode(digest)[:32].decode()


def _nb_consumer(account: bytes, installation_id: bytes) -> str:
    return "nb-" + _tag(b"parley no-bundle consumer v1", account + installation_id)


def _ack_consumer(reply: object) -> str | None:
    """The consumer named by a JetStream acknowledgement subject, else None:
    ``$JS.ACK.<stream>.<consumer>.<6 numbers>`` (or, with a domain and an
    account hash, ``$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<...>``)."""
    if not isinstance(reply, str):
        return None
    parts = reply.split(".")
    if parts[:2] != ["$JS", "ACK"] or not all(parts):
        return None
    if len(parts) == 9:
        return parts[3]
    if len(parts) >= 12:
        return parts[5]
    return None


@dataclass(frozen=True, slots=True)
class NatsSettings:
    servers: tuple[str, ...]
    replicas: int = 1
    ack_wait: float = 30.0
    tls: bool = False
    ca_file: str | None = None


def parse_nats_url(url: str) -> NatsSettings:
    """``nats://[user:pass@]host:port[,host:port...][?replicas=N&ack_wait=S]``,
    or ``tls://...`` (the same, over TLS; ``&ca=FILE`` trusts that CA bundle
    instead of the system's).

    Several hosts name the servers of one cluster (the client moves to another
    when one fails). ``replicas`` is the JetStream replication of the streams,
    used when this client is the first to create them (3 on a 3-node cluster);
    ``ack_wait`` is how long the relay waits for an acknowledgement before it
    delivers an envelope again (consumers created by this client).
    """
    if not isinstance(url, str) or not url.startswith(("nats://", "tls://")):
        raise TransportError("a NATS transport URL starts with nats:// or tls://")
    scheme, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    rest = rest.rstrip("/")
    if not rest:
        raise TransportError("the NATS URL names no server")
    auth = ""
    if "@" in rest:
        auth, _, rest = rest.rpartition("@")
        auth += "@"
    servers = []
    for hostport in rest.split(","):
        parts = urlsplit("nats://" + hostport)
        try:
            port = parts.port or 4222
        except ValueError:
            raise TransportError(f"bad port in the NATS URL: {hostport!r}") from None
        if not parts.hostname or parts.path:
            raise TransportError(f"bad server in the NATS URL: {hostport!r}")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        servers.append(f"{scheme}://{unquote(auth)}{host}:{port}")
    params = parse_qs(query, keep_blank_values=True)
    unknown = set(params) - {"replicas", "ack_wait", "ca"}
    if unknown:
        raise TransportError(f"unknown NATS URL parameter: {sorted(unknown)[0]}")
    try:
        replicas = int(params.get("replicas", ["1"])[-1])
        ack_wait = float(params.get("ack_wait", ["30"])[-1])
    except ValueError:
        raise TransportError("replicas is a whole number, ack_wait seconds") from None
    if not 1 <= replicas <= 5:
        raise TransportError("replicas is 1 to 5")
    if not 1.0 <= ack_wait <= 3600.0:
        raise TransportError("ack_wait is 1 to 3600 seconds")
    ca = params.get("ca", [None])[-1]
    if ca is not None and scheme != "tls":
        raise TransportError("ca= goes with a tls:// URL")
    return NatsSettings(tuple(servers), replicas, ack_wait, scheme == "tls", ca)


@dataclass(slots=True)
class _Pull:
    """One pull request standing at the server for a consumer."""

    number: int
    remaining: int
    last_heard: float


@dataclass(slots=True)
class _Box:
    """What this process knows of one registered installation."""

    account: bytes
    mailbox: str
    consumers: tuple[tuple[str, str], ...]  # (stream, durable name)
    inbox: str = ""
    subscription: Any = None
    queue: asyncio.Queue | None = None
    pulls: dict[str, _Pull] = field(default_factory=dict)
    counter: int = 0
    batch: int = _PULL_BATCH


class NatsTransport(Transport):
    """Envelopes through a NATS JetStream server or cluster (see the module doc)."""

    addresses_accounts = True

    def __init__(
        self, url: str, *, connect_timeout: float = 10.0, request_timeout: float = 10.0
    ) -> None:
        self.settings = parse_nats_url(url)
        self.url = url
        self.request_timeout = request_timeout
        self._boxes: dict[bytes, _Box] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats", daemon=True)
        self._thread.start()
        self._nc: Any = None
        self._js: Any = None
        self._ack_inbox = ""
        self._pubs: dict[str, asyncio.Future] = {}
        self._pub_counter = 0
        self._streams_ready = False
        try:
            self._call(self._connect(connect_timeout), connect_timeout + 10)
        except BaseException:
            self._shutdown_loop()
            raise

    # -- plumbing ------------------------------------------------------------------------

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TransportError("the NATS server did not answer in time") from None

    async def _connect(self, timeout: float) -> None:
        async def quiet(*_: Any) -> None:
            return None

        async def reconnected() -> None:
            for box in self._boxes.values():  # pull requests die with the connection
                box.pulls.clear()
                await self._refill(box)

        tls = None
        if self.settings.tls:
            try:
                tls = ssl.create_default_context(cafile=self.settings.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise TransportError(f"cannot read the CA file: {exc}") from None
        try:
            # The client retries for ever (also its first connection): bound the first.
            self._nc = await asyncio.wait_for(
                nats.connect(
                    servers=list(self.settings.servers),
                    name="parley",
                    connect_timeout=min(timeout, 5.0),
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.25,
                    error_cb=quiet,
                    disconnected_cb=quiet,
                    reconnected_cb=reconnected,
                    tls=tls,
                ),
                timeout,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            raise TransportError(
                f"cannot reach the NATS server at {self._where()} ({type(exc).__name__})"
            ) from None
        self._js = self._nc.jetstream(timeout=self.request_timeout)

    def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(TransportError, nats.errors.Error):
                self._call(self._nc.close(), 10)
            self._nc = None
        self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def __enter__(self) -> NatsTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _retrying(self, what: str, fn: Any, deadline: float) -> Any:
        """Retry a JetStream call through leader elections and reconnects."""
        delay = 0.05
        while True:
            try:
                return await fn()
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
                error: Exception = exc
            except (
                nats.js.errors.ServiceUnavailableError,
                nats.js.errors.NoStreamResponseError,
            ) as exc:  # a leader election, a server restarting
                error = exc
            except nats.js.errors.APIError as exc:
                if exc.code not in (500, 503) and exc.err_code not in (10008, 10074):
                    raise TransportError(f"{what}: {exc.description or exc}") from None
                error = exc
            except nats.errors.ConnectionClosedError:
                raise TransportError(f"{what}: the connection is closed") from None
            if time.monotonic() + delay > deadline:
                raise TransportError(f"{what}: the NATS server did not answer ({error!r})")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    # -- streams and consumers -------------------------------------------------------------

    async def _ensure_streams(self, deadline: float) -> None:
        if self._streams_ready:
            return
        configs = (
            StreamConfig(
                name=MAILBOX_STREAM,
                subjects=[MAILBOX_SUBJECT + "*"],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                num_replicas=self.settings.replicas,
                max_age=MAX_AGE,
                duplicate_window=DUPLICATE_WINDOW,
                discard=DiscardPolicy.OLD,
            ),
            StreamConfig(
                name=ACCOUNT_STREAM,
                subjects=[ACCOUNT_SUBJECT + "*"],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                num_replicas=self.settings.replicas,
                max_age=MAX_AGE,
                max_msgs_per_subject=MAX_PER_ACCOUNT,
                duplicate_window=DUPLICATE_WINDOW,
                discard=DiscardPolicy.OLD,
            ),
        )
        for config in configs:

            async def ensure(config: StreamConfig = config) -> None:
                try:
                    await self._js.stream_info(config.name)
                except nats.js.errors.NotFoundError:
                    try:
                        await self._js.add_stream(config)
                    except nats.js.errors.BadRequestError as exc:
                        if exc.err_code != 10058:  # created meanwhile by another client
                            raise

            await self._retrying(f"creating stream {config.name}", ensure, deadline)
        self._streams_ready = True

    def prepare(self) -> None:
        """Create the streams now if they do not exist (else the first
        ``register`` or publish does); with this URL's ``replicas``."""
        deadline = time.monotonic() + self.request_timeout * 3
        self._call(self._ensure_streams(deadline), self.request_timeout * 3 + 5)

    def register(self, account: bytes, installation_id: bytes) -> None:
        """Create this installation's consumers (idempotent); needed before
        :meth:`fetch`, :meth:`wait` or :meth:`ack` in this process."""
        _check_id(installation_id)
        account_mailbox_id(account)
        if installation_id in self._boxes:
            return
        self._call(self._register(account, installation_id), self.request_timeout * 3)

    async def _register(self, account: bytes, installation_id: bytes) -> None:
        deadline = time.monotonic() + self.request_timeout * 3
        await self._ensure_streams(deadline)
        box = mailbox_id(installation_id)
        specs = (
            (
                MAILBOX_STREAM,
                ConsumerConfig(
                    durable_name="mb-" + box,
                    filter_subject=MAILBOX_SUBJECT + box,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=self.settings.ack_wait,
                    max_ack_pending=MAX_ACK_PENDING,
                    max_deliver=-1,
                ),
            ),
            (
                ACCOUNT_STREAM,
                ConsumerConfig(
                    durable_name=_nb_consumer(account, installation_id),
                    filter_subject=ACCOUNT_SUBJECT + account_mailbox_id(account),
                    deliver_policy=DeliverPolicy.NEW,
                    ack_policy=AckPolicy.EXPLICIT,
                    ack_wait=self.settings.ack_wait,
                    max_ack_pending=MAX_ACK_PENDING,
                    max_deliver=-1,
                ),
            ),
        )
        for stream, config in specs:

            async def ensure(stream: str = stream, config: ConsumerConfig = config) -> None:
                try:
                    await self._js.consumer_info(stream, config.durable_name)
                except nats.js.errors.NotFoundError:
                    await self._js.add_consumer(stream, config)

            await self._retrying("creating a consumer", ensure, deadline)
        self._boxes[installation_id] = _Box(
            account, box, tuple((s, c.durable_name) for s, c in specs)
        )

    def _box(self, installation_id: bytes) -> _Box:
        _check_id(installation_id)
        box = self._boxes.get(installation_id)
        if box is None:
            raise TransportError("register this installation with the NATS transport first")
        return box

    def installations_of(self, account: bytes) -> set[bytes]:
        """The installations this process registered for ``account``: a relay
        keeps no directory, so others are reached through the account subject."""
        return {iid for iid, box in self._boxes.items() if box.account == account}

    # -- sending ---------------------------------------------------------------------------

    def deliver(self, envelope: bytes, account: bytes | None = None) -> set[bytes]:
        """Publish ``envelope`` to each addressed installation's mailbox, and to
        ``account``'s no-bundle subject if it holds a no-bundle copy; return the
        installations addressed by id."""
        return self.deliver_many([(envelope, account)])[0]

    def deliver_many(self, items: Iterable[tuple[bytes, bytes | None]]) -> list[set[bytes]]:
        """Publish several envelopes at once (concurrently); raises
        TransportError if any could not be stored (a retry is harmless)."""
        plans: list[tuple[str, bytes]] = []
        out: list[set[bytes]] = []
        for envelope, account in items:
            targets, to_account = self._addresses(envelope, account)
            out.append(targets)
            plans += [(MAILBOX_SUBJECT + mailbox_id(i), envelope) for i in sorted(targets)]
            if to_account is not None:
                plans.append((ACCOUNT_SUBJECT + account_mailbox_id(to_account), envelope))
        if plans:
            self._call(self._publish_all(plans), self.request_timeout * 3 + 5)
        return out

    def _addresses(self, envelope: bytes, account: bytes | None) -> tuple[set[bytes], bytes | None]:
        try:
            decoded = decode_envelope(envelope)
        except ParleyError as exc:
            raise TransportError(f"not an envelope: {exc.message}") from None
        if self._nc is not None and len(envelope) > self._nc.max_payload - 256:
            raise TransportError(
                f"the envelope ({len(envelope)} bytes) is above the NATS server's "
                f"max_payload ({self._nc.max_payload}); raise max_payload on the server"
            )
        targets: set[bytes] = set()
        to_account = None
        for copy in decoded.messages:
            if copy.recipient_installation_id is not None:
                targets.add(copy.recipient_installation_id)
            elif account is not None:
                account_mailbox_id(account)
                to_account = account
            else:
                raise TransportError("a no-bundle copy needs the recipient account")
        targets.discard(decoded.sender_installation_id)
        return targets, to_account

    def put(self, installation_id: bytes, data: bytes) -> None:
        self._call(
            self._publish_all([(MAILBOX_SUBJECT + mailbox_id(installation_id), data)]),
            self.request_timeout * 3 + 5,
        )

    async def _publish_all(self, plans: list[tuple[str, bytes]]) -> None:
        """Publish every (subject, envelope) with its ``Nats-Msg-Id`` and wait for
        each stream acknowledgement (PubAck); publish again, with the same id,
        those that got none or a temporary error (a leader election, a server
        restarting), until the deadline. The acknowledgements come to one
        subscription of this connection, so a batch costs one publish each."""
        deadline = time.monotonic() + self.request_timeout * 3
        await self._ensure_streams(deadline)
        await self._open_acks()
        todo = [(subject, data, _msg_id(subject, data)) for subject, data in plans]
        delay = 0.05
        last_error = "no answer"
        while todo:
            loop = asyncio.get_running_loop()
            waiting: list[tuple[tuple[str, bytes, str], asyncio.Future]] = []
            for item in todo:
                self._pub_counter += 1
                token = str(self._pub_counter)
                future = loop.create_future()
                self._pubs[token] = future
                waiting.append((item, future))
                subject, data, msg_id = item
                try:
                    await self._nc.publish(
                        subject,
                        data,
                        reply=f"{self._ack_inbox}.{token}",
                        headers={"Nats-Msg-Id": msg_id},
                    )
                except nats.errors.ConnectionClosedError:
                    raise TransportError("publishing: the connection is closed") from None
                except nats.errors.Error as exc:  # reconnecting: the outcome shows below
                    future.set_result(("retry", repr(exc)))
            budget = max(0.1, min(self.request_timeout, deadline - time.monotonic()))
            done, _ = await asyncio.wait([f for _i, f in waiting], timeout=budget)
            todo = []
            for item, future in waiting:
                if future not in done:
                    future.cancel()
                    todo.append(item)
                    continue
                verdict, detail = future.result()
                if verdict == "fatal":
                    raise TransportError(f"the relay refused an envelope: {detail}")
                if verdict == "retry":
                    last_error = detail
                    todo.append(item)
            for token in [t for t, f in self._pubs.items() if f.done()]:
                del self._pubs[token]
            if todo:
                if time.monotonic() + delay > deadline:
                    raise TransportError(
                        f"publishing {len(todo)} envelopes: the relay did not store them "
                        f"({last_error})"
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)

    async def _open_acks(self) -> None:
        if self._ack_inbox:
            return
        self._ack_inbox = self._nc.new_inbox()

        async def on_ack(msg: Any) -> None:
            future = self._pubs.pop(msg.subject.rpartition(".")[2], None)
            if future is None or future.done():
                return
            status = (msg.headers or {}).get("Status")
            if status is not None:  # 503: no responders (no stream leader yet)
                future.set_result(("retry", f"status {status}"))
                return
            try:
                answer = json.loads(msg.data)
            except ValueError:
                future.set_result(("retry", "an unreadable acknowledgement"))
                return
            error = answer.get("error") if isinstance(answer, dict) else None
            if error is None:
                future.set_result(("ok", ""))
            elif error.get("code") in (500, 503) or error.get("err_code") in (10008, 10074):
                future.set_result(("retry", error.get("description", "")))
            else:
                future.set_result(("fatal", error.get("description", repr(error))))

        await self._nc.subscribe(self._ack_inbox + ".*", cb=on_ack)

    # -- receiving -------------------------------------------------------------------------

    def fetch(self, installation_id: bytes, limit: int | None = None) -> list[Delivery]:
        """The envelopes waiting now (up to ``limit``); does not wait for more."""
        box = self._box(installation_id)
        if limit is not None and limit < 1:
            raise TransportError("limit must be at least 1")
        return self._call(self._fetch(box, limit), self.request_timeout * 3 + 5)

    async def _fetch(self, box: _Box, limit: int | None) -> list[Delivery]:
        out: list[Delivery] = []
        await self._open_inbox(box)
        assert box.queue is not None
        # What the standing pull requests (of wait()) delivered already comes first.
        while not box.queue.empty() and (limit is None or len(out) < limit):
            out.append(box.queue.get_nowait())
        for stream, durable in box.consumers:
            while limit is None or len(out) < limit:
                want = _PULL_BATCH if limit is None else min(_PULL_BATCH, limit - len(out))
                got = await self._pull_now(stream, durable, want)
                out += got
                if len(got) < want:
                    break
        return out

    async def _pull_now(self, stream: str, durable: str, batch: int) -> list[Delivery]:
        """A no-wait pull: what the consumer has now, up to ``batch``."""
        inbox = self._nc.new_inbox()
        done = asyncio.get_running_loop().create_future()
        got: list[Delivery] = []

        async def on_msg(msg: Any) -> None:
            status = (msg.headers or {}).get("Status")
            if status is None:
                got.append(Delivery(msg.reply, msg.data))
                if len(got) >= batch and not done.done():
                    done.set_result(None)
            elif status != "100" and not done.done():
                done.set_result(status)

        sub = await self._nc.subscribe(inbox, cb=on_msg)
        try:
            request = json.dumps({"batch": batch, "no_wait": True}).encode()
            await self._nc.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", request, reply=inbox
            )
            await self._nc.flush(timeout=self.request_timeout)
            # On a timeout (a leader election) what came is kept; the rest waits.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done, self.request_timeout)
        finally:
            await sub.unsubscribe()
        return got

    async def _open_inbox(self, box: _Box) -> None:
        """One subscription per installation that all its pull requests reply to."""
        if box.subscription is not None:
            return
        box.inbox = self._nc.new_inbox()
        box.queue = asyncio.Queue()

        async def on_msg(msg: Any) -> None:
            status = (msg.headers or {}).get("Status")
            if status is None:
                assert box.queue is not None
                box.queue.put_nowait(Delivery(msg.reply, msg.data))
                name = _ack_consumer(msg.reply)
                pull = box.pulls.get(name) if name else None
                if pull is not None:
                    pull.remaining -= 1
                    pull.last_heard = time.monotonic()
                    if pull.remaining <= 0:
                        del box.pulls[name]
                return
            name, _, number = msg.subject[len(box.inbox) + 1 :].partition(".")
            pull = box.pulls.get(name)
            if pull is None or str(pull.number) != number:
                return  # a reply to a pull request given up already
            if status == "100":
                pull.last_heard = time.monotonic()
            else:  # 404/408 (expired), 409 (leadership change, consumer deleted): ask again
                del box.pulls[name]
                await self._refill(box)

        box.subscription = await self._nc.subscribe(box.inbox + ".>", cb=on_msg)

    async def _refill(self, box: _Box) -> None:
        """Keep one pull request standing per consumer while the queue is short."""
        if box.queue is None or box.queue.qsize() >= box.batch:
            return
        now = time.monotonic()
        for stream, durable in box.consumers:
            pull = box.pulls.get(durable)
            if pull is not None and now - pull.last_heard < 3 * _HEARTBEAT + 1:
                continue
            box.counter += 1
            box.pulls[durable] = _Pull(box.counter, box.batch, now)
            request = {
                "batch": box.batch,
                "expires": int(_PULL_EXPIRES * 1e9),
                "idle_heartbeat": int(_HEARTBEAT * 1e9),
            }
            await self._nc.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
                json.dumps(request).encode(),
                reply=f"{box.inbox}.{durable}.{box.counter}",
            )

    def wait(
        self, installation_id: bytes, limit: int = 100, timeout: float | None = None
    ) -> list[Delivery]:
        """Block until at least one envelope arrives (or ``timeout`` seconds pass);
        return what has arrived, up to ``limit``. Envelopes are pushed to a
        standing pull request, so one arrives as soon as the relay stored it."""
        box = self._box(installation_id)
        if limit < 1:
            raise TransportError("limit must be at least 1")
        wait_for = None if timeout is None else max(0.0, timeout)
        return self._call(self._wait(box, limit, wait_for), None)

    async def _wait(self, box: _Box, limit: int, timeout: float | None) -> list[Delivery]:
        await self._open_inbox(box)
        assert box.queue is not None
        box.batch = min(limit, _PULL_BATCH)  # what stands at the relay: about one batch
        deadline = None if timeout is None else time.monotonic() + timeout
        out: list[Delivery] = []
        while not out:
            await self._refill(box)
            step = _HEARTBEAT
            if deadline is not None:
                step = min(step, deadline - time.monotonic())
                if step <= 0:
                    break
            try:
                out.append(await asyncio.wait_for(box.queue.get(), step))
            except TimeoutError:
                continue
        while out and len(out) < limit and not box.queue.empty():
            out.append(box.queue.get_nowait())
        await self._refill(box)
        return out

    def ack(self, installation_id: bytes, handle: str) -> None:
        self.ack_many(installation_id, [handle])

    def ack_many(self, installation_id: bytes, handles: list[str]) -> None:
        """Acknowledge deliveries for good (after their batch committed)."""
        box = self._box(installation_id)
        names = {durable for _stream, durable in box.consumers}
        for handle in handles:
            if _ack_consumer(handle) not in names:
                raise TransportError("not a NATS delivery handle of this installation")
        if handles:
            self._call(self._ack_all(handles), self.request_timeout * 3 + 5)

    async def _ack_all(self, handles: list[str]) -> None:
        """Publish every ``+ACK``, then one round trip (flush) that returns once
        the server has read them all. An ack lost on the way (a server killed
        then) only makes the relay deliver that envelope again, which the
        account recognises."""
        deadline = time.monotonic() + self.request_timeout * 3

        async def send() -> None:
            for handle in handles:
                await self._nc.publish(handle, b"+ACK")
            await self._nc.flush(timeout=self.request_timeout)

        await self._retrying("acknowledging envelopes", send, deadline)

    def pending(self, installation_id: bytes) -> int:
        """Envelopes waiting for ``installation_id`` (not yet delivered or acked)."""
        box = self._box(installation_id)

        async def count() -> int:
            total = 0
            for stream, durable in box.consumers:
                info = await self._js.consumer_info(stream, durable)
                total += info.num_pending + info.num_ack_pending
            return total

        return self._call(count(), self.request_timeout + 5)

    def __repr__(self) -> str:
        return f"NatsTransport({self._where()})"

    def _where(self) -> str:
        """The servers, without credentials."""
        return ", ".join(s.rpartition("@")[2] for s in self.settings.servers)
