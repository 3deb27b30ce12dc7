"""`parley serve` end to end: the gRPC API in a subprocess, driven by the generated client.

Two daemons (alice, bob) share a mailbox folder; each listens on a Unix
socket in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import pytest
from parley.api.v1 import api_pb2 as pb
from parley.api.v1 import api_pb2_grpc as pb_grpc

ENV_PASS = "api test passphrase"


class Daemon:
    """A `parley serve` subprocess and a client stub for it."""

    def __init__(
        self,
        home: Path,
        mailbox: Path,
        sock_dir: Path | None,
        listen: list[str] | None = None,
        socket: Path | None = None,
    ) -> None:
        self.home, self.mailbox = home, mailbox
        self.socket = socket or (sock_dir / f"{home.name}.sock" if sock_dir else None)
        self.listen = listen  # serve's options instead of --socket ([]: the default socket)
        self.token_file = home / "api.token"
        self.log = home.parent / f"{home.name}.serve.log"  # the daemon's stderr
        self.proc: subprocess.Popen | None = None
        self.channel: grpc.Channel | None = None
        self.ready_line = ""

    def start(self, channel_credentials: grpc.ChannelCredentials | None = None) -> Daemon:
        env = {**os.environ, "PARLEY_PASSPHRASE": ENV_PASS}
        where = self.listen if self.listen is not None else ["--socket", str(self.socket)]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "parley.client.cli",
                    "--home",
                    str(self.home),
                    "--mailbox",
                    str(self.mailbox),
                    "serve",
                    *where,
                    "--interval",
                    "0.05",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # the first start creates the account first
            if line.startswith("serving"):
                self.ready_line = line.strip()
                break
        else:  # stdout closed: the daemon exited
            raise AssertionError(f"serve did not start: {self.log.read_text()}")
        self.token = self.token_file.read_text().strip()
        if self.socket is not None:
            self.channel = grpc.insecure_channel(f"unix:{self.socket}")
        else:  # "serving ... on HOST:PORT; token in ..."
            address = self.ready_line.split(" on ", 1)[1].split(";", 1)[0]
            assert channel_credentials is not None
            self.channel = grpc.secure_channel(
                address,
                channel_credentials,
                options=[("grpc.ssl_target_name_override", "localhost")],
            )
        self.stub = pb_grpc.ParleyServiceStub(self.channel)
        return self

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    @property
    def auth(self) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")]

    def call(self, method: str, request, **kw):
        return getattr(self.stub, method)(request, metadata=self.auth, timeout=10, **kw)

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    sock_dir = Path(tempfile.mkdtemp(prefix="pa", dir="/tmp"))  # short: sun_path limit
    alice = Daemon(root / "alice", root / "mailbox", sock_dir).start()
    bob = Daemon(root / "bob", root / "mailbox", sock_dir).start()
    yield alice, bob
    alice.stop()
    bob.stop()
    shutil.rmtree(sock_dir, ignore_errors=True)


def _abort_code(fn) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value.code(), info.value.details()


def _next_events(daemon: Daemon, count: int, timeout: float = 10) -> list[pb.Event]:
    """Open a stream, read ``count`` events, then drop the stream (no ack)."""
    stream = daemon.stub.SubscribeEvents(
        pb.SubscribeEventsRequest(), metadata=daemon.auth, timeout=timeout
    )
    out = []
    for item in stream:
        out.append(item.event)
        if len(out) == count:
            break
    stream.cancel()
    return out


def _messages(daemon: Daemon, want: int, timeout: float = 10) -> list[pb.Event]:
    stream = daemon.stub.SubscribeEvents(
        pb.SubscribeEventsRequest(), metadata=daemon.auth, timeout=timeout
    )
    out = []
    for item in stream:
        if item.event.WhichOneof("kind") == "message_received":
            out.append(item.event)
            if len(out) == want:
                break
    stream.cancel()
    return out


def test_token_file_and_socket_are_owner_only(pair):
    alice, _ = pair
    assert stat.S_IMODE(alice.token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(alice.socket.stat().st_mode) & 0o077 == 0


def test_unauthenticated(pair):
    alice, _ = pair
    for metadata in ([], [("authorization", "Bearer wrong")], [("authorization", alice.token)]):
        code, details = _abort_code(
            lambda m=metadata: alice.stub.GetAccount(pb.GetAccountRequest(), metadata=m, timeout=5)
        )
        assert code == grpc.StatusCode.UNAUTHENTICATED
        assert "token" in details
    # a stream is refused too
    stream = alice.stub.SubscribeEvents(pb.SubscribeEventsRequest(), timeout=5)
    code, _ = _abort_code(lambda: next(iter(stream)))
    assert code == grpc.StatusCode.UNAUTHENTICATED


def test_bad_requests_get_their_status(pair):
    alice, _ = pair
    cases = [
        ("AddContact", pb.AddContactRequest(code=""), grpc.StatusCode.INVALID_ARGUMENT),
        (
            "AddContact",
            pb.AddContactRequest(code="parley1:notacode"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        ("SendMessage", pb.SendMessageRequest(contact="", body=b"x"), "INVALID_ARGUMENT"),
        ("SendMessage", pb.SendMessageRequest(contact="nobody", body=b"x"), "NOT_FOUND"),
        ("SendMessage", pb.SendMessageRequest(contact="nobody", body=b""), "INVALID_ARGUMENT"),
        ("ListMessages", pb.ListMessagesRequest(contact="nobody"), "NOT_FOUND"),
        ("ListMessages", pb.ListMessagesRequest(limit=5000), "INVALID_ARGUMENT"),
        ("AckEvents", pb.AckEventsRequest(), "INVALID_ARGUMENT"),
        ("AckEvents", pb.AckEventsRequest(event_ids=[10**12]), "NOT_FOUND"),
    ]
    for method, request, expected in cases:
        code, details = _abort_code(lambda m=method, r=request: alice.call(m, r))
        name = expected if isinstance(expected, str) else expected.name
        assert code.name == name, (method, details)
        assert details and "\n" not in details
    # own code: refused, and the daemon still answers
    own = alice.call("GetContactCode", pb.GetContactCodeRequest()).code
    code, details = _abort_code(lambda: alice.call("AddContact", pb.AddContactRequest(code=own)))
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
    assert alice.call("GetAccount", pb.GetAccountRequest()).installation_id
    assert alice.proc.poll() is None


def test_send_receive_and_redelivery(pair):
    alice, bob = pair
    bob_code = bob.call("GetContactCode", pb.GetContactCodeRequest()).code
    assert bob_code.startswith("parley1:")
    added = alice.call("AddContact", pb.AddContactRequest(code=bob_code, name="bob")).contact
    bob_account = bob.call("GetAccount", pb.GetAccountRequest())
    assert added.account_id == bob_account.account_id and added.name == "bob"
    sent = alice.call("SendMessage", pb.SendMessageRequest(contact="bob", body=b"hello bob"))
    assert sent.forward_secret and sent.delivered_installations == 1

    # bob reads the message but disconnects without acknowledging it ...
    (first,) = _messages(bob, 1)
    got = first.message_received
    assert got.body == b"hello bob" and got.message_id == sent.message_id
    assert got.sender_account_id == alice.call("GetAccount", pb.GetAccountRequest()).account_id
    # ... so a new stream delivers it again, with the same id
    again = _messages(bob, 1)
    assert again[0].event_id == first.event_id
    # every pending event, acknowledged: never delivered again
    pending = [e.event_id for e in _next_events(bob, 1)]
    while True:
        stream = bob.stub.SubscribeEvents(
            pb.SubscribeEventsRequest(), metadata=bob.auth, timeout=1.5
        )
        ids = []
        with pytest.raises(grpc.RpcError) as info:
            for item in stream:
                ids.append(item.event.event_id)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        if not ids:
            break
        ack = bob.call("AckEvents", pb.AckEventsRequest(event_ids=ids))
        assert ack.acknowledged == len(ids)
        pending += ids
    assert first.event_id in pending
    assert bob.call("AckEvents", pb.AckEventsRequest(event_ids=[first.event_id])).acknowledged == 0

    # bob replies; alice sees it, and both histories hold the conversation
    reply = bob.call(
        "SendMessage", pb.SendMessageRequest(contact=alice_fpr(alice), body=b"hi alice")
    )
    (answer,) = _messages(alice, 1)
    assert answer.message_received.body == b"hi alice"
    assert answer.message_received.message_id == reply.message_id
    history = alice.call("ListMessages", pb.ListMessagesRequest(contact="bob")).messages
    assert [(m.direction, m.body) for m in history] == [
        (pb.DIRECTION_OUTGOING, b"hello bob"),
        (pb.DIRECTION_INCOMING, b"hi alice"),
    ]
    installs = alice.call("ListInstallations", pb.ListInstallationsRequest()).installations
    assert installs[0].current
    contacts = bob.call("ListContacts", pb.ListContactsRequest()).contacts
    assert [c.fingerprint for c in contacts] == [alice_fpr(alice)]


def test_unacked_events_survive_a_restart(pair):
    alice, bob = pair
    alice.call("SendMessage", pb.SendMessageRequest(contact="bob", body=b"while you restart"))
    (event,) = _messages(bob, 1)
    bob.stop()
    bob.start()
    (again,) = _messages(bob, 1)
    assert again.event_id == event.event_id
    assert again.message_received.body == b"while you restart"
    bob.call("AckEvents", pb.AckEventsRequest(event_ids=[event.event_id]))


def test_link_payload(pair):
    alice, _ = pair
    payload = alice.call("CreateLinkPayload", pb.CreateLinkPayloadRequest()).payload
    assert payload.startswith(b"parley-link-1\n")


def alice_fpr(alice: Daemon) -> str:
    return alice.call("GetAccount", pb.GetAccountRequest()).fingerprint


def test_non_loopback_needs_tls(tmp_path):
    env = {**os.environ, "PARLEY_PASSPHRASE": ENV_PASS}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley.client.cli",
            "--home",
            str(tmp_path / "h"),
            "--mailbox",
            str(tmp_path / "m"),
            "serve",
            "--listen",
            "0.0.0.0:0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "not a loopback address" in result.stderr


# -- grpc.aio: streams hold no threads ----------------------------------------------------


def test_open_streams_do_not_starve_other_calls(pair):
    """48 idle SubscribeEvents streams (three times the old 16-thread pool), then the
    cap: the stream past MAX_STREAMS is RESOURCE_EXHAUSTED, and unary calls still
    answer promptly all along."""
    import time

    from parley.client.server import MAX_STREAMS

    alice, _ = pair
    channel = grpc.insecure_channel(f"unix:{alice.socket}")  # the streams' own connection
    stub = pb_grpc.ParleyServiceStub(channel)
    streams = []

    def open_streams(count: int) -> None:
        for _ in range(count):
            streams.append(
                stub.SubscribeEvents(pb.SubscribeEventsRequest(), metadata=alice.auth, timeout=60)
            )

    def unary_latencies(rounds: int = 5) -> list[float]:
        out = []
        for _ in range(rounds):
            start = time.monotonic()
            alice.call("GetAccount", pb.GetAccountRequest())
            alice.call("ListContacts", pb.ListContactsRequest())
            out.append(time.monotonic() - start)
        return out

    def threads() -> int:
        return len(os.listdir(f"/proc/{alice.proc.pid}/task"))

    idle_threads = threads()
    try:
        open_streams(48)
        time.sleep(1.0)  # let the daemon take every stream
        assert all(s.running() or not s.done() for s in streams)
        at_48 = unary_latencies()
        open_streams(MAX_STREAMS - 48)
        time.sleep(1.0)
        at_max = unary_latencies()
        busy_threads = threads()
        extra = stub.SubscribeEvents(pb.SubscribeEventsRequest(), metadata=alice.auth, timeout=10)
        code, details = _abort_code(lambda: next(iter(extra)))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
        assert not any(s.done() for s in streams)  # the open ones are still open
        after = unary_latencies()
    finally:
        for s in streams:
            s.cancel()
        channel.close()
    print(
        f"\nstreams 48: max {max(at_48) * 1000:.0f} ms per 2 calls; "
        f"{MAX_STREAMS}: max {max(at_max) * 1000:.0f} ms; refused 129th, then "
        f"max {max(after) * 1000:.0f} ms; daemon threads {idle_threads} idle, "
        f"{busy_threads} with {MAX_STREAMS} streams"
    )
    assert busy_threads <= idle_threads + 2  # a stream holds no thread
    assert max(at_48 + at_max + after) < 2.0
    assert alice.proc.poll() is None


def test_integers_out_of_range_are_invalid_argument(pair):
    alice, _ = pair
    for ids in ([2**64 - 1], [2**63], [0], [1, 2**64 - 1]):
        code, details = _abort_code(
            lambda ids=ids: alice.call("AckEvents", pb.AckEventsRequest(event_ids=ids))
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (ids, details)
        assert "out of range" in details
    code, _ = _abort_code(
        lambda: alice.call("AckEvents", pb.AckEventsRequest(event_ids=[1] * 10_001))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    code, _ = _abort_code(
        lambda: alice.call("ListMessages", pb.ListMessagesRequest(limit=2**32 - 1))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    # strings: length and control characters
    for request in (
        pb.AddContactRequest(code="parley1:aaaa", name="x" * 201),
        pb.AddContactRequest(code="parley1:aaaa", name="evil\x1b[2J"),
        pb.AddContactRequest(code="parley1:" + "a" * 20_000),
    ):
        code, details = _abort_code(lambda r=request: alice.call("AddContact", r))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    code, _ = _abort_code(
        lambda: alice.call("SendMessage", pb.SendMessageRequest(contact="x" * 1000, body=b"x"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert alice.call("GetAccount", pb.GetAccountRequest()).installation_id
    assert "Traceback" not in alice.log_text()
    assert "OverflowError" not in alice.log_text()


def test_undecodable_request_is_invalid_argument(pair):
    alice, _ = pair
    for method, raw in (
        ("AddContact", b"\x0a\x01\xff"),  # a string field that is not UTF-8
        ("AckEvents", b"\x0a\x05\x01"),  # a packed field cut short
        ("ListMessages", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
    ):
        call = alice.channel.unary_unary(f"/parley.api.v1.ParleyService/{method}")
        code, details = _abort_code(lambda c=call, r=raw: c(r, metadata=alice.auth, timeout=10))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (method, details)
    stream = alice.channel.unary_stream("/parley.api.v1.ParleyService/SubscribeEvents")
    code, _ = _abort_code(lambda: next(iter(stream(b"\x0a\x01", metadata=alice.auth, timeout=10))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    # the other services too: the open health check, and reflection (a request stream)
    check = alice.channel.unary_unary("/grpc.health.v1.Health/Check")
    code, _ = _abort_code(lambda: check(b"\x0a\x01\xff", timeout=10))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    watch = alice.channel.unary_stream("/grpc.health.v1.Health/Watch")
    code, _ = _abort_code(
        lambda: next(iter(watch(b"\x0a\x01\xff", metadata=alice.auth, timeout=10)))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    reflect = alice.channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    )
    answers = reflect(iter([b"\x0a\x01\xff"]), metadata=alice.auth, timeout=10)
    code, _ = _abort_code(lambda: next(iter(answers)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "Traceback" not in alice.log_text()


# -- health and reflection ------------------------------------------------------------------


def test_health_needs_no_token_everything_else_does(pair):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    alice, _ = pair
    health = health_pb2_grpc.HealthStub(alice.channel)
    for service in ("", "parley.api.v1.ParleyService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    code, _ = _abort_code(
        lambda: health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    )
    assert code == grpc.StatusCode.NOT_FOUND
    # the stream of the health service, the API, reflection: token only
    watch = health.Watch(health_pb2.HealthCheckRequest(), timeout=10)
    assert _abort_code(lambda: next(iter(watch)))[0] == grpc.StatusCode.UNAUTHENTICATED
    watch = health.Watch(health_pb2.HealthCheckRequest(), metadata=alice.auth, timeout=10)
    assert next(iter(watch)).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    code, _ = _abort_code(lambda: alice.stub.GetAccount(pb.GetAccountRequest(), timeout=10))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    reflect = reflection_pb2_grpc.ServerReflectionStub(alice.channel)
    ask = reflection_pb2.ServerReflectionRequest(list_services="")
    denied = reflect.ServerReflectionInfo(iter([ask]), timeout=10)
    assert _abort_code(lambda: next(iter(denied)))[0] == grpc.StatusCode.UNAUTHENTICATED
    (answer,) = reflect.ServerReflectionInfo(iter([ask]), metadata=alice.auth, timeout=10)
    names = {s.name for s in answer.list_services_response.service}
    assert {"parley.api.v1.ParleyService", "grpc.health.v1.Health"} <= names


def test_vendored_health_schema_matches_the_served_one(tmp_path):
    """third_party/proto/grpc/health/v1/health.proto, read by `buf curl --schema`,
    describes exactly the service the daemon serves (grpcio-health-checking's)."""
    from google.protobuf import descriptor_pb2
    from grpc_health.v1 import health_pb2
    from grpc_tools import protoc

    root = Path(__file__).resolve().parents[1] / "third_party" / "proto"
    out = tmp_path / "health.binpb"
    assert protoc.main(["protoc", f"-I{root}", f"-o{out}", "grpc/health/v1/health.proto"]) == 0
    (ours,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    theirs = descriptor_pb2.FileDescriptorProto()
    health_pb2.DESCRIPTOR.CopyToProto(theirs)

    def fields(message):
        yield from message.field
        for nested in message.nested_type:
            yield from fields(nested)

    for fd in (ours, theirs):
        fd.ClearField("name")
        fd.ClearField("source_code_info")
        for message in fd.message_type:
            for field in fields(message):
                field.ClearField("json_name")  # protoc fills in the default
    assert ours == theirs


def _shell_lines(text: str, start: str) -> list[str]:
    """The commands of a document's shell blocks that begin with ``start``
    (a trailing backslash continues a line), without the prompt."""
    out, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if current is None and line.removeprefix("$ ").startswith(start):
            current = line.removeprefix("$ ")
        elif current is not None:
            current += " " + line
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1].rstrip()
        else:
            out.append(current)
            current = None
    return out


def test_buf_curl_lines_of_the_readme_and_the_bots_guide_work(tmp_path):
    """Run every `buf curl` line of README.md and docs/bots.md as written, against a
    daemon whose home is `bot` (README, from the project folder) and `~/bot` (guide)."""
    root = Path(__file__).resolve().parents[1]
    buf = root / ".tools" / "node_modules" / ".bin" / "buf"
    if not buf.exists():
        pytest.skip("buf is not installed: `make lint` installs it into .tools/")
    lines = {
        doc: _shell_lines((root / doc).read_text(), "buf curl")
        for doc in ("README.md", "docs/bots.md")
    }
    assert all(lines.values()), lines
    assert any("grpc.health.v1.Health/Check" in line for line in lines["README.md"])
    assert any("grpc.health.v1.Health/Check" in line for line in lines["docs/bots.md"])
    # a short folder (sun_path), with the project's schema folders beside the home
    work = Path(tempfile.mkdtemp(prefix="pb", dir="/tmp"))
    try:
        for name in ("proto", "third_party"):
            (work / name).symlink_to(root / name)
        bot = Daemon(work / "bot", work / "mailbox", None, [], socket=work / "bot" / "api.sock")
        bot.start()
        env = {**os.environ, "HOME": str(work), "PATH": f"{buf.parent}:{os.environ['PATH']}"}
        try:
            for doc, commands in lines.items():
                for command in commands:
                    result = subprocess.run(
                        ["bash", "-c", command],
                        cwd=work,
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=60,
                    )
                    assert result.returncode == 0, (doc, command, result.stderr)
                    if "Health/Check" in command:
                        assert '"status": "SERVING"' in result.stdout
                        assert "authorization" not in command  # no token needed
                    else:
                        assert (
                            bot.call("GetAccount", pb.GetAccountRequest()).fingerprint
                            in result.stdout
                        )
        finally:
            bot.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- serve's options: one-line errors, nothing created -----------------------------------


def _self_signed(tmp_path: Path, name: str = "localhost") -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _serve_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PARLEY_PASSPHRASE": ENV_PASS}
    return subprocess.run(
        [sys.executable, "-m", "parley.client.cli", "--home", str(tmp_path / "h"),
         "--mailbox", str(tmp_path / "m"), "serve", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_bad_serve_options_are_one_line_errors_before_anything_is_made(tmp_path, capsys):
    cert, key = _self_signed(tmp_path)
    other_cert, _ = _self_signed(tmp_path, "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    tls = ["--listen", "127.0.0.1:0", "--tls-cert"]
    cases = [
        (["--interval", "-1"], "--interval"),
        (["--interval", "nan"], "--interval"),
        (["--interval", "inf"], "--interval"),
        (["--interval", "0"], "--interval"),
        (["--socket", "/missing/dir/s.sock"], "does not exist"),
        (["--socket", "/tmp/" + "x" * 120 + ".sock"], "too long"),
        (["--socket", str(garbage)], "not a socket"),
        ([*tls, str(tmp_path / "none.crt"), "--tls-key", str(key)], "cannot read"),
        ([*tls, str(garbage), "--tls-key", str(key)], "no PEM certificate"),
        ([*tls, str(cert), "--tls-key", str(garbage)], "no unencrypted PEM private key"),
        ([*tls, str(key), "--tls-key", str(key)], "no PEM certificate"),
        ([*tls, str(other_cert), "--tls-key", str(key)], "is not the key of"),
        (["--tls-cert", str(cert), "--tls-key", str(key)], "go with --listen"),
        (["--listen", "127.0.0.1:0", "--tls-cert", str(cert)], "both"),
        (["--token-file", str(tmp_path)], "not a file"),
    ]
    from parley.client.cli import main

    def in_process(*args: str) -> tuple[int, str]:
        code = main(
            ["--home", str(tmp_path / "h"), "--mailbox", str(tmp_path / "m"), "serve", *args]
        )
        return code, capsys.readouterr().err

    for i, (args, words) in enumerate(cases):
        if i in (1, 8):  # two of them in a process of their own: nothing else on stderr
            result = _serve_cli(tmp_path, *args)
            code, err = result.returncode, result.stderr
        else:
            code, err = in_process(*args)
        assert code == 1, (args, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert words in err and "[INVALID_ARGUMENT]" in err, err
        assert not (tmp_path / "h").exists(), args  # checked before the account is created


def test_serve_over_tls(tmp_path):
    """`serve --listen 127.0.0.1:0 --tls-cert --tls-key`: a TLS client with the
    certificate as its root gets answers; health needs no token there either."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    cert, key = _self_signed(tmp_path)
    args = ["--listen", "127.0.0.1:0", "--tls-cert", str(cert), "--tls-key", str(key)]
    daemon = Daemon(tmp_path / "tls", tmp_path / "mailbox", None, args)
    daemon.start(grpc.ssl_channel_credentials(root_certificates=cert.read_bytes()))
    try:
        assert daemon.ready_line.split(" on ", 1)[1].startswith("127.0.0.1:")
        assert daemon.call("GetAccount", pb.GetAccountRequest()).installation_id
        health = health_pb2_grpc.HealthStub(daemon.channel)
        status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING
        # a client that does not trust the certificate gets nothing
        address = daemon.ready_line.split(" on ", 1)[1].split(";", 1)[0]
        with grpc.insecure_channel(address) as plain:
            code, _ = _abort_code(
                lambda: health_pb2_grpc.HealthStub(plain).Check(
                    health_pb2.HealthCheckRequest(), timeout=3
                )
            )
            assert code == grpc.StatusCode.UNAVAILABLE
    finally:
        daemon.stop()
    assert "Traceback" not in daemon.log_text()


def test_address_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve_cli(tmp_path, "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "cannot listen on" in result.stderr and "[TRANSPORT_ERROR]" in result.stderr


def test_a_second_daemon_does_not_take_over_a_live_socket(pair, tmp_path):
    alice, _ = pair
    token = alice.token_file.read_text()
    result = _serve_cli(tmp_path, "--socket", str(alice.socket))
    assert result.returncode == 1
    assert "in use" in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "h").exists()  # refused before anything was made
    assert alice.socket.exists() and alice.token_file.read_text() == token
    assert alice.call("GetAccount", pb.GetAccountRequest()).installation_id


def test_a_dead_daemons_socket_is_replaced(tmp_path):
    import signal

    sock_dir = Path(tempfile.mkdtemp(prefix="pk", dir="/tmp"))
    try:
        daemon = Daemon(tmp_path / "k", tmp_path / "mailbox", sock_dir).start()
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait()
        assert daemon.socket.exists()  # left behind
        daemon.channel.close()
        daemon.start()
        assert daemon.call("GetAccount", pb.GetAccountRequest()).installation_id
        daemon.stop()
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_a_bad_inbox_entry_does_not_block_the_daemon(pair):
    """A folder named like an envelope, first in the inbox: the daemon skips it
    and still receives what comes after it."""
    alice, bob = pair
    iid = alice.call("GetAccount", pb.GetAccountRequest()).installation_id.hex()
    (alice.mailbox / "inbox" / iid / f"{0:020d}-000000000000.env").mkdir()
    if alice_fpr(alice) not in [
        c.fingerprint for c in bob.call("ListContacts", pb.ListContactsRequest()).contacts
    ]:
        code = alice.call("GetContactCode", pb.GetContactCodeRequest()).code
        bob.call("AddContact", pb.AddContactRequest(code=code))
    bob.call("SendMessage", pb.SendMessageRequest(contact=alice_fpr(alice), body=b"past it"))
    stream = alice.stub.SubscribeEvents(
        pb.SubscribeEventsRequest(), metadata=alice.auth, timeout=10
    )
    for item in stream:  # earlier tests may have left events unacknowledged
        if item.event.message_received.body == b"past it":
            break
    stream.cancel()
    alice.call("AckEvents", pb.AckEventsRequest(event_ids=[item.event.event_id]))
    assert "Traceback" not in alice.log_text()


def test_a_huge_inbox_entry_is_read_only_in_part(tmp_path):
    from parley.client import MailboxTransport

    box = MailboxTransport(tmp_path / "box")
    iid = bytes(16)
    box.register(bytes(32), iid)
    (box.root / "inbox" / iid.hex() / f"{0:020d}-000000000000.env").write_bytes(b"\0" * (20 << 20))
    (item,) = box.fetch(iid)
    assert len(item.data) == MailboxTransport.MAX_ENTRY_BYTES + 1


def test_the_token_is_never_written_through_a_link(tmp_path):
    from parley.client.server import write_token

    target = tmp_path / "precious"
    target.write_text("keep me")
    link = tmp_path / "api.token"
    link.symlink_to(target)
    with pytest.raises(OSError):
        write_token(link)
    assert target.read_text() == "keep me"
    result = _serve_cli(tmp_path, "--token-file", str(link))
    assert result.returncode == 1 and "not a file" in result.stderr
    assert target.read_text() == "keep me"


def test_send_counts_its_own_delivery_when_an_older_envelope_is_stuck(tmp_path):
    """An older envelope to an unreachable contact makes the flush raise; the
    message just sent to another contact still went out and is counted."""
    sock_dir = Path(tempfile.mkdtemp(prefix="pa", dir="/tmp"))
    mailbox = tmp_path / "mailbox"
    alice = Daemon(tmp_path / "alice", mailbox, sock_dir).start()
    bob = Daemon(tmp_path / "bob", mailbox, sock_dir).start()
    try:
        inboxes = mailbox / "inbox"
        before = set(inboxes.iterdir())
        env = {**os.environ, "PARLEY_PASSPHRASE": ENV_PASS}
        cli = [sys.executable, "-m", "parley.client.cli", "--home", str(tmp_path / "m")]
        cli += ["--mailbox", str(mailbox)]
        subprocess.run([*cli, "init"], env=env, check=True, capture_output=True, timeout=60)
        code = subprocess.run(
            [*cli, "code"], env=env, check=True, capture_output=True, text=True, timeout=60
        ).stdout.strip()
        [mallory_inbox] = set(inboxes.iterdir()) - before
        bob_code = bob.call("GetContactCode", pb.GetContactCodeRequest()).code
        alice.call("AddContact", pb.AddContactRequest(code=bob_code, name="bob"))
        alice.call("AddContact", pb.AddContactRequest(code=code, name="mallory"))
        shutil.rmtree(mallory_inbox)
        mallory_inbox.write_bytes(b"")  # every put to Mallory fails
        stuck = alice.call("SendMessage", pb.SendMessageRequest(contact="mallory", body=b"x"))
        assert stuck.delivered_installations == 0
        sent = alice.call("SendMessage", pb.SendMessageRequest(contact="bob", body=b"hi"))
        assert sent.delivered_installations == 1
    finally:
        alice.stop()
        bob.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


def _cli(daemon: Daemon, *args: str) -> str:
    env = {**os.environ, "PARLEY_PASSPHRASE": ENV_PASS}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "parley.client.cli",
            "--home",
            str(daemon.home),
            "--mailbox",
            str(daemon.mailbox),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _events_of(daemon: Daemon, kind: str, timeout: float = 10) -> pb.Event:
    stream = daemon.stub.SubscribeEvents(
        pb.SubscribeEventsRequest(), metadata=daemon.auth, timeout=timeout
    )
    for item in stream:
        if item.event.WhichOneof("kind") == kind:
            stream.cancel()
            return item.event
    raise AssertionError(f"no {kind} event")


def test_blocked_messages_and_identity_changes_reach_the_event_stream(tmp_path):
    from parley.client import Account, MailboxTransport
    from parley.keys import IdentityKey, IdentityKeyPair
    from parley.primitives import DHKeyPair, SystemRandom

    sock_dir = Path(tempfile.mkdtemp(prefix="pb", dir="/tmp"))
    alice = Daemon(tmp_path / "alice", tmp_path / "mailbox", sock_dir).start()
    bob = Daemon(tmp_path / "bob", tmp_path / "mailbox", sock_dir).start()
    try:
        alice_code = alice.call("GetContactCode", pb.GetContactCodeRequest()).code
        bob_code = bob.call("GetContactCode", pb.GetContactCodeRequest()).code
        alice.call("AddContact", pb.AddContactRequest(code=bob_code, name="bob"))
        bob.call("AddContact", pb.AddContactRequest(code=alice_code, name="alice"))
        alice_id = alice.call("GetAccount", pb.GetAccountRequest()).account_id
        bob_id = bob.call("GetAccount", pb.GetAccountRequest()).account_id

        # bob blocks alice (the CLI, beside a stopped daemon); her message is dropped, and said so
        bob.stop()
        _cli(bob, "contacts", "block", "alice")
        bob.start()
        sent = alice.call("SendMessage", pb.SendMessageRequest(contact="bob", body=b"let me in"))
        blocked = _events_of(bob, "message_blocked").message_blocked
        assert blocked.sender_account_id == alice_id
        assert len(blocked.sender_installation_id) == 16
        assert blocked.message_id == sent.message_id
        history = bob.call("ListMessages", pb.ListMessagesRequest(contact="alice")).messages
        assert list(history) == []  # not stored

        # bob's signing key binds a new X25519 key: a valid identity other than the stored one
        bob.stop()
        with Account.open(bob.home / "parley.db", ENV_PASS) as account:
            signing = account._identity.signing
        dh = DHKeyPair.generate(SystemRandom())
        new = IdentityKeyPair(signing, dh, signing.sign(IdentityKey.binding_message(dh.public)))
        with Account.create(
            tmp_path / "bob2.db", ENV_PASS, identity=new, kdf_iterations=1000
        ) as bob2:
            mailbox = MailboxTransport(tmp_path / "mailbox")
            mailbox.register(bob2.account_id, bob2.installation_id)
            contact, _ = bob2.add_contact(alice_code, "alice")
            mailbox.deliver(bob2.send(contact, b"it's me, honest"), account=contact.account)
            bob2_installation = bob2.installation_id
        changed = _events_of(alice, "identity_changed").identity_changed
        assert changed.account_id == bob_id
        # the envelope's bundle shows the new identity first, before any installation is named
        assert changed.installation_id in (b"", bob2_installation)
        assert changed.was_verified is False
    finally:
        alice.stop()
        bob.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_add_contact_of_a_known_contact_changes_nothing_unless_asked(pair):
    alice, bob = pair
    bob_code = bob.call("GetContactCode", pb.GetContactCodeRequest()).code
    alice.call("AddContact", pb.AddContactRequest(code=bob_code, name="bob"))  # known or new
    first = alice.call("AddContact", pb.AddContactRequest(code=bob_code, name="bob"))
    assert (first.already_known, first.changed, first.contact.name) == (True, False, "bob")
    again = alice.call("AddContact", pb.AddContactRequest(code=bob_code, name="robert"))
    assert (again.already_known, again.changed, again.contact.name) == (True, False, "bob")
    names = [c.name for c in alice.call("ListContacts", pb.ListContactsRequest()).contacts]
    assert names == ["bob"]
    renamed = alice.call(
        "AddContact", pb.AddContactRequest(code=bob_code, name="robert", update=True)
    )
    assert (renamed.already_known, renamed.changed, renamed.contact.name) == (True, True, "robert")
    back = alice.call("AddContact", pb.AddContactRequest(code=bob_code, name="bob", update=True))
    assert back.contact.name == "bob"
