"""Faults on a 3-node NATS JetStream cluster (streams with 3 replicas).

* kill -9 the stream leader while two accounts, in two processes, exchange
  messages both ways; restart it: every message reaches the application
  exactly once as new (a redelivery is only ever reported marked
  ``redelivered``), and none is lost;
* kill -9 the receiving process in the middle of a batch: after a restart
  every message is there once;
* restart the whole cluster with envelopes pending: they are all delivered.

Every wait polls the servers or the processes with a deadline; nothing sleeps
a fixed time to synchronise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nats_servers import NatsCluster, nats_available, wait_until
from parley.client import Account, MessageReceived
from parley.client.nats_transport import MAILBOX_STREAM, NatsTransport
from parley.client.receiver import receive_batch

pytestmark = pytest.mark.skipif(not nats_available(), reason="nats-server is not installed")

KDF = 2
HERE = Path(__file__).parent
PEER = str(HERE / "nats_peer.py")
ENV = dict(os.environ, PYTHONPATH=str(HERE))


@pytest.fixture
def cluster(tmp_path):
    nodes = NatsCluster(tmp_path / "cluster").start()
    yield nodes
    nodes.kill()


def make_pair(root: Path) -> tuple[Account, Account]:
    alice = Account.create(root / "alice.db", "pass", kdf_iterations=KDF)
    bob = Account.create(root / "bob.db", "pass", kdf_iterations=KDF)
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    return alice, bob


class Peer:
    """A nats_peer.py process; its output lines collected as they come."""

    def __init__(
        self, root: Path, me: str, other: str, url: str, count: int, batch: int, pace: float = 0
    ) -> None:
        self.log = root / f"{me}.out"
        args = [str(root / f"{me}.db"), me, other, url, str(count), str(batch), str(pace)]
        self.process = subprocess.Popen(
            [sys.executable, PEER, *args],
            stdout=open(self.log, "w"),  # noqa: SIM115 - the child owns it
            stderr=subprocess.STDOUT,
            env=ENV,
        )

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def count(self, prefix: str) -> int:
        return sum(1 for line in self.lines() if line.startswith(prefix))


def received(lines: list[str]) -> tuple[list[str], list[str]]:
    fresh = [line[4:-6] for line in lines if line.startswith("GOT ") and line.endswith(" fresh")]
    again = [line[4:-6] for line in lines if line.startswith("GOT ") and line.endswith(" again")]
    return fresh, again


@pytest.mark.requirement("RELAY-003", "RELAY-004")
def test_stream_leader_killed_during_a_two_way_exchange(tmp_path, cluster):
    count = 100  # 20 batches of 5, one every 0.15 s at most: the failover falls inside
    url = cluster.url
    with NatsTransport(url) as t:
        t.prepare()  # the streams (replicas 3), before the peers start
    alice, bob = make_pair(tmp_path)
    alice.close()
    bob.close()
    peers = [
        Peer(tmp_path, "alice", "bob", url, count, 5, 0.15),
        Peer(tmp_path, "bob", "alice", url, count, 5, 0.15),
    ]
    # Mid-exchange: both sides have sent some and received some.
    wait_until(
        lambda: all(p.count("SENT") >= 10 and p.count("GOT") >= 5 for p in peers),
        120,
        "both peers exchanging",
    )
    leader = cluster.stream_leader(MAILBOX_STREAM)
    leader.kill()
    cluster.stream_leader(MAILBOX_STREAM, other_than=leader)
    before = [p.count("GOT") for p in peers]
    wait_until(  # the exchange goes on through the new leader
        lambda: all(p.count("GOT") > b for p, b in zip(peers, before, strict=True)),
        120,
        "messages after the failover",
    )
    leader.start()
    for p in peers:
        p.process.wait(timeout=300)
    for p, other in zip(peers, ("bob", "alice"), strict=True):
        lines = p.lines()
        assert lines[-1] == "DONE", "\n".join(lines[-20:])
        fresh, again = received(lines)
        expected = [f"{other} {i}" for i in range(count)]
        assert sorted(fresh) == sorted(expected)  # all of them, each once as new
        assert set(again) <= set(fresh)  # a redelivery is only ever marked as one
    # The history holds each message exactly once.
    for name, other in (("alice", "bob"), ("bob", "alice")):
        with Account.open(tmp_path / f"{name}.db", "pass", kdf_iterations=KDF) as acc:
            ins = [e.body.decode() for e in acc.history(limit=1000) if e.direction == "in"]
            assert sorted(ins) == sorted(f"{other} {i}" for i in range(count))


@pytest.mark.requirement("RELAY-004")
def test_whole_cluster_restarted_with_envelopes_pending(tmp_path, cluster):
    alice, bob = make_pair(tmp_path)
    ta, tb = NatsTransport(cluster.url), NatsTransport(cluster.url)
    ta.register(alice.account_id, alice.installation_id)
    tb.register(bob.account_id, bob.installation_id)
    alice.send_many([("bob", f"m{i}".encode()) for i in range(30)])
    alice.flush_outbox(ta)
    tb.close()
    for node in cluster.nodes:  # every node at once, no clean shutdown
        node.kill()
    for node in cluster.nodes:
        node.start()
    cluster.wait_meta_leader()
    cluster.stream_leader(MAILBOX_STREAM)
    tb = NatsTransport(cluster.url)
    deadline = time.monotonic() + 120
    while True:  # the consumers' leaders are elected too: retry until registered
        try:
            tb.register(bob.account_id, bob.installation_id)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
    got: list = []
    while len(got) < 30 and time.monotonic() < deadline:
        deliveries = tb.wait(bob.installation_id, limit=100, timeout=1)
        for events in receive_batch(bob, tb, deliveries):
            got += [e.plaintext for e in events if isinstance(e, MessageReceived)]
    assert sorted(got) == sorted(f"m{i}".encode() for i in range(30))
    for x in (ta, tb, alice, bob):
        x.close()


@pytest.mark.requirement("RELAY-004", "RELAY-005")
@pytest.mark.parametrize("kill", ["write:150", "commit:1"])
def test_receiver_killed_in_the_middle_of_a_batch(tmp_path, cluster, kill):
    """Bob's process dies inside a batch (before its commit), or between the
    commit and the acknowledgement; a new process gets everything, each
    message once into the history. A batch that was committed but not
    acknowledged is reported again marked ``redelivered`` (the killed process
    may not have shown it): at-least-once to the application, never twice as new."""
    alice, bob = make_pair(tmp_path)
    bob.close()
    ta = NatsTransport(cluster.url)
    ta.register(alice.account_id, alice.installation_id)
    count, batch = 150, 50
    alice.send_many([("bob", f"m{i}".encode()) for i in range(count)])
    alice.flush_outbox(ta)
    script = str(HERE / "nats_receiver.py")
    db = str(tmp_path / "bob.db")
    first = subprocess.run(
        [sys.executable, script, db, cluster.url, str(count), str(batch), kill],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=180,
    )
    assert first.returncode == -9, first.stderr  # it did die
    second = subprocess.run(
        [sys.executable, script, db, cluster.url, str(count), str(batch), "none"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=180,
    )
    assert second.returncode == 0 and second.stdout.endswith("DONE\n"), second.stderr
    fresh, again = received((first.stdout + second.stdout).splitlines())
    expected = sorted(f"m{i}" for i in range(count))
    assert len(fresh) == len(set(fresh))  # never twice as new
    if kill.startswith("write"):  # the batch cut short left nothing: it comes again, as new
        assert sorted(fresh) == expected and again == []
    else:  # committed, not acknowledged: it comes again, reported as a redelivery
        assert not first.stdout and sorted(again) == sorted(f"m{i}" for i in range(batch))
        assert sorted(fresh + again) == expected
    with Account.open(tmp_path / "bob.db", "pass", kdf_iterations=KDF) as acc:
        assert sorted(e.body.decode() for e in acc.history(limit=1000)) == expected
    ta.close()
    alice.close()
