"""The CLI and ``parley serve`` on a NATS relay (``--transport nats://...``),
each command a process of its own, as on two machines."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import pytest
from nats_servers import NatsServer, free_port, nats_available
from parley.api.v1 import api_pb2 as pb
from parley.api.v1 import api_pb2_grpc as pb_grpc
from test_api import ENV_PASS, Daemon, _messages

pytestmark = pytest.mark.skipif(not nats_available(), reason="nats-server is not installed")

CLI = [sys.executable, "-m", "parley.client.cli"]
ENV = {**os.environ, "PARLEY_PASSPHRASE": "cli nats passphrase"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    node = NatsServer(tmp_path_factory.mktemp("nats")).start()
    yield node
    node.stop()


def parley(home: Path, *argv: str, url: str | None = None, timeout: float = 60) -> str:
    extra = ["--transport", url] if url else []
    done = subprocess.run(
        [*CLI, "--home", str(home), *extra, *argv],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def test_two_homes_talk_through_the_relay(tmp_path, server):
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    parley(alice, "init", url=server.url)
    parley(bob, "init", url=server.url)
    assert json.loads((bob / "config.json").read_text()) == {"transport": server.url}
    code = parley(bob, "code").strip()
    parley(alice, "add", code, "--name", "bob")
    # Bob listens (pushed, not polled); the transport comes from config.json.
    listen = subprocess.Popen(
        [*CLI, "--home", str(bob), "listen", "--count", "2", "--timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert listen.stdout is not None
    assert listen.stdout.readline().startswith("listening as installation")
    assert "sent to bob (1 installation)" in parley(alice, "send", "bob", "Hi Bob, over NATS")
    parley(alice, "send", "bob", "a second one")
    out, err = listen.communicate(timeout=90)
    assert listen.returncode == 0, err
    assert ": Hi Bob, over NATS" in out and ": a second one" in out
    # Bob answers; Alice's inbox takes it from the relay.
    contacts = parley(bob, "contacts").split()  # Alice's entry: label, fingerprint, ...
    parley(bob, "send", contacts[1], "Hi Alice")
    inbox = parley(alice, "inbox")
    assert "bob: Hi Alice" in inbox
    assert "no new messages" in parley(alice, "inbox")


def test_serve_receives_pushed_envelopes_and_sends_through_the_relay(tmp_path, server):
    sock_dir = Path(tempfile.mkdtemp(prefix="pn", dir="/tmp"))
    daemon = NatsDaemon(tmp_path / "bot", tmp_path / "unused", sock_dir, server.url).start()
    try:
        alice = tmp_path / "alice"
        parley(alice, "init", url=server.url)
        code = daemon.call("GetContactCode", pb.GetContactCodeRequest()).code
        parley(alice, "add", code, "--name", "bot")
        parley(alice, "send", "bot", "ping")
        [event] = _messages(daemon, 1, timeout=30)
        assert event.message_received.body == b"ping"
        sender = event.message_received.sender_account_id.hex()
        reply = daemon.call("SendMessage", pb.SendMessageRequest(contact=sender, body=b"pong"))
        assert reply.delivered_installations == 1
        assert "bot: pong" in parley(alice, "inbox").replace(sender[:16], "bot")
    finally:
        daemon.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


class NatsDaemon(Daemon):
    """``parley serve --transport URL`` (the mailbox option of Daemon replaced)."""

    def __init__(self, home: Path, mailbox: Path, sock_dir: Path, url: str) -> None:
        super().__init__(home, mailbox, sock_dir)
        self.url = url

    def start(self) -> NatsDaemon:
        where = ["--home", str(self.home), "--transport", self.url]
        self.proc = subprocess.Popen(
            [*CLI, *where, "serve", "--socket", str(self.socket)],
            env={**os.environ, "PARLEY_PASSPHRASE": ENV_PASS},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("serving"):
                break
        else:
            raise AssertionError(f"serve did not start: {self.proc.stderr.read()}")
        self.token = self.token_file.read_text().strip()
        self.channel = grpc.insecure_channel(f"unix:{self.socket}")
        self.stub = pb_grpc.ParleyServiceStub(self.channel)
        return self


def test_read_only_commands_need_no_relay(tmp_path, server):
    home = tmp_path / "home"
    parley(home, "init", url=server.url)
    config = json.loads((home / "config.json").read_text())
    config["transport"] = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    (home / "config.json").write_text(json.dumps(config))
    assert parley(home, "code").startswith("parley1:")
    assert parley(home, "contacts") == ""
    config["transport"] = f"nats://bot:hunter2@127.0.0.1:{free_port()}"
    (home / "config.json").write_text(json.dumps(config))
    shown = json.loads(parley(home, "--json", "whoami"))
    assert shown["transport"].startswith("nats://127.0.0.1:") and "hunter2" not in str(shown)
    assert "mailbox" not in shown
    done = subprocess.run(
        [*CLI, "--home", str(home), "inbox"], capture_output=True, text=True, env=ENV, timeout=60
    )
    assert done.returncode == 1 and "cannot reach the NATS server" in done.stderr
    assert "Traceback" not in done.stderr
