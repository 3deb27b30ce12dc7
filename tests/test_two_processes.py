"""One account used by two processes at once: nothing one records is lost.

Each process is a real child (``tests/account_worker.py``) with its own
connection to Bob's store.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from library_world import T0, World, texts
from parley.client import UndecryptableMessage
from parley.codec import Envelope, InstallationMessage, decode_envelope, encode_envelope

WORKER = Path(__file__).with_name("account_worker.py")


class Worker:
    def __init__(self, db: Path, passphrase: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(db), passphrase, str(T0)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "READY"

    def receive(self, path: Path) -> list[list[str]]:
        self.proc.stdin.write(f"receive {path}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["events"]

    def quit(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=30) == 0


def with_unknown_field(envelope: bytes) -> bytes:
    """The same envelope with one unknown field appended: another digest."""
    return envelope + bytes([0xC0, 0x3E, 0x01])  # field 1000, varint 1


def broken_copy(envelope: bytes) -> bytes:
    """The envelope with the last byte of its one copy flipped (a bad MAC)."""
    env = decode_envelope(envelope)
    [copy] = env.messages
    body = copy.body[:-1] + bytes([copy.body[-1] ^ 1])
    fixed = InstallationMessage(copy.recipient_installation_id, copy.kind, body)
    return encode_envelope(Envelope(env.version, env.sender_installation_id, (fixed,), None))


@pytest.mark.requirement("X3DH-040", "STORE-006")
def test_replay_guard_survives_a_second_process(tmp_path):
    """Process 2 accepts Alice's initial message while process 1 (opened earlier)
    is idle; process 1 then accepts Carol's. Alice's initial message, replayed
    once her first session is gone, must be refused: the replay guard holds both."""
    w = World(tmp_path)
    alice, bob, carol = w.account("alice"), w.account("bob"), w.account("carol")
    alice.add_contact(bob.contact_code(), "bob")
    carol.add_contact(bob.contact_code(), "bob")
    first = alice.send("bob", b"from alice")
    (tmp_path / "a1").write_bytes(first)
    (tmp_path / "c1").write_bytes(carol.send("bob", b"from carol"))
    bob.close()

    one = Worker(tmp_path / "bob.db", "bob pass")  # opened first, idle
    two = Worker(tmp_path / "bob.db", "bob pass")
    assert two.receive(tmp_path / "a1")[-1] == ["MessageReceived", "from alice"]
    two.quit()
    assert one.receive(tmp_path / "c1")[-1] == ["MessageReceived", "from carol"]
    one.quit()

    # Alice's first session goes away on Bob's side: a bad message makes Bob
    # reset; Alice's reply in the new session lets Bob drop the old one.
    bob = w.reopen(bob, "bob")
    w.net.register(bob.account_id, bob.installation_id)
    w.net.deliver(broken_copy(alice.send("bob", b"lost")), account=bob.account_id)
    [bad] = [e for e in w.pump(bob) if isinstance(e, UndecryptableMessage)]
    assert bad.reason == "INVALID_MAC" and bad.reset_envelope is not None
    w.pump(alice)
    w.send(alice, "bob", b"after the reset")
    assert texts(w.pump(bob)) == [b"after the reset"]
    [(left,)] = bob.store.query(
        "SELECT count(*) FROM sessions WHERE installation_id = ?", (alice.installation_id,)
    )
    assert left == 1

    events = bob.receive(with_unknown_field(first))
    assert texts(events) == []
    [refused] = [e for e in events if isinstance(e, UndecryptableMessage)]
    assert refused.reason == "REPLAYED_INITIAL_MESSAGE"
    assert [h.body for h in bob.history() if h.direction == "in"].count(b"from alice") == 1


def _cli(home: Path, *argv: str, **kw) -> subprocess.Popen:
    env = {
        **os.environ,
        "PARLEY_PASSPHRASE": "home pass",
        "PARLEY_NOW": str(T0),
        "PARLEY_MAILBOX": str(home.parent / "mailbox"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "parley.client.cli", "--home", str(home), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _cli_run(home: Path, *argv: str) -> tuple[int, str, str]:
    proc = _cli(home, *argv)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@pytest.mark.requirement("STORE-006")
def test_a_live_home_refuses_a_second_daemon_or_writer_but_not_a_reader(tmp_path):
    home = tmp_path / "home"
    assert _cli_run(home, "init")[0] == 0
    listen = _cli(home, "listen", "--timeout", "60", "--interval", "0.05")
    try:
        assert listen.stdout.readline().startswith("listening")
        for argv in (["inbox"], ["serve", "--socket", str(tmp_path / "s.sock")], ["listen"]):
            code, out, err = _cli_run(home, *argv)
            assert code == 1, (argv, out, err)
            assert err.strip() == (
                f"parley: error: home in use by pid {listen.pid} (a running daemon): {home} "
                "[HOME_IN_USE]"
            )
        assert not (tmp_path / "s.sock").exists()  # the second daemon touched nothing
        code, out, err = _cli_run(home, "contacts")  # a reader shares the home
        assert code == 0 and err == ""
        assert _cli_run(home, "history")[0] == 0
    finally:
        listen.kill()  # SIGKILL: the kernel drops the lock with the process
        listen.communicate(timeout=30)
    code, out, err = _cli_run(home, "inbox")
    assert code == 0, err
    assert "no new messages" in out


@pytest.mark.requirement("STORE-006")
def test_two_processes_receiving_at_once_keep_every_replay_guard_entry(tmp_path):
    """Twenty strangers' initial messages, split between two processes that
    receive at the same moment: all twenty are delivered, and the replay guard
    in the store holds all twenty ephemeral keys afterwards."""
    from parley.codec import decode_ratchet_message
    from parley.state import load_installation

    w = World(tmp_path)
    bob = w.account("bob")
    code = bob.contact_code()
    keys = set()
    for i in range(20):
        sender = w.account(f"s{i}")
        sender.add_contact(code, "bob")
        data = sender.send("bob", b"hello %d" % i)
        [copy] = decode_envelope(data).messages
        keys.add(decode_ratchet_message(copy.body).x3dh_header.ephemeral_key)
        (tmp_path / f"e{i}").write_bytes(data)
    bob.close()
    one, two = Worker(tmp_path / "bob.db", "bob pass"), Worker(tmp_path / "bob.db", "bob pass")
    for worker, part in ((one, range(0, 20, 2)), (two, range(1, 20, 2))):
        worker.proc.stdin.write("".join(f"receive {tmp_path / f'e{i}'}\n" for i in part))
        worker.proc.stdin.flush()  # both now receive, interleaved
    got = []
    for worker in (one, two):
        for _ in range(10):
            got += [
                e[1]
                for e in json.loads(worker.proc.stdout.readline())["events"]
                if e[0] == "MessageReceived"
            ]
        worker.quit()
    assert sorted(got) == sorted(f"hello {i}" for i in range(20))
    bob = w.reopen(bob, "bob")
    guard = load_installation(bob.store.get_meta("installation")).seen_initial_messages
    assert set().union(*guard.values()) == keys


@pytest.mark.requirement("STORE-005")
def test_a_send_the_mailbox_refused_goes_out_on_the_next_run(tmp_path):
    alice_home, bob_home = tmp_path / "alice", tmp_path / "bob"
    assert _cli_run(alice_home, "init")[0] == 0
    assert _cli_run(bob_home, "init")[0] == 0
    code = _cli_run(bob_home, "code")[1].strip()
    assert _cli_run(alice_home, "add", code, "--name", "bob")[0] == 0
    bob_iid = _cli_run(bob_home, "devices", "list")[1].split()[0]
    bob_inbox = tmp_path / "mailbox" / "inbox" / bob_iid
    shutil.rmtree(bob_inbox)
    bob_inbox.write_text("not a folder")  # writing to Bob's inbox fails now
    status, _, err = _cli_run(alice_home, "send", "bob", "kept for later")
    assert status == 1
    assert "kept in the outbox" in err and "[TRANSPORT_ERROR]" in err
    bob_inbox.unlink()
    bob_inbox.mkdir()
    # any later command of Alice's delivers it first
    assert _cli_run(alice_home, "inbox")[0] == 0
    status, out, _ = _cli_run(bob_home, "inbox")
    assert status == 0 and "kept for later" in out
