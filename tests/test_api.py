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

    def __init__(self, home: Path, mailbox: Path, sock_dir: Path) -> None:
        self.home, self.mailbox = home, mailbox
        self.socket = sock_dir / f"{home.name}.sock"
        self.token_file = home / "api.token"
        self.proc: subprocess.Popen | None = None
        self.channel: grpc.Channel | None = None

    def start(self) -> Daemon:
        env = {**os.environ, "PARLEY_PASSPHRASE": ENV_PASS}
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
                "--socket",
                str(self.socket),
                "--interval",
                "0.05",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # the first start creates the account first
            if line.startswith("serving"):
                break
        else:  # stdout closed: the daemon exited
            raise AssertionError(f"serve did not start: {self.proc.stderr.read()}")
        self.token = self.token_file.read_text().strip()
        self.channel = grpc.insecure_channel(f"unix:{self.socket}")
        self.stub = pb_grpc.ParleyServiceStub(self.channel)
        return self

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
