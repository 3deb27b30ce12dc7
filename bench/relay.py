"""End-to-end benchmark through a local NATS JetStream server.

Two accounts in two processes (this one sends, a child receives), each on
its SQLCipher store (default KDF), 1 KiB messages, through a nats-server
started here on a free loopback port (file storage, in a temporary folder).
Every message is durable at both ends: committed by the sender before it is
published, stored by JetStream, committed by the receiver before it is
acknowledged.

1. Throughput: N messages sent in batches of B (``Account.send_many``, one
   commit per batch, then ``flush_outbox(defer_marks=True)``: published,
   marked delivered by the next batch's commit), received in batches of up
   to B (``Account.receive_many``, one commit, then the acknowledgements),
   for B = 1 and B = 100; from the first send to the receiver's last commit.
2. Latency at a fixed offered load: 1,000 msg/s for a few seconds; the
   sender sends what is due every millisecond or so (a batch of what
   accumulated), the receiver takes what arrived (batches up to 100).
   Latency of one message: from the moment it was due to the receiver's
   commit of it (CLOCK_MONOTONIC, shared by the two processes).

Usage: python bench/relay.py [--messages N] [--rate R] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from nats_servers import NatsServer, nats_available  # noqa: E402
from parley.client import Account, MessageReceived  # noqa: E402
from parley.client.nats_transport import NatsTransport  # noqa: E402
from parley.client.receiver import receive_batch  # noqa: E402

SIZE = 1024
PASS = "bench pass"


def receiver(db: str, url: str, count: int, batch: int) -> int:
    """The child: receive ``count`` new messages, then print the result."""
    bob = Account.open(db, PASS)
    transport = NatsTransport(url)
    transport.register(bob.account_id, bob.installation_id)
    latencies: list[float] = []
    got = 0
    last = 0.0

    def committed(results) -> None:
        nonlocal got, last
        now = time.monotonic()
        for events in results:
            for e in events:
                if isinstance(e, MessageReceived) and not e.redelivered:
                    got += 1
                    latencies.append(now - struct.unpack(">d", e.plaintext[:8])[0])
        last = now

    print("READY", flush=True)
    while got < count:
        deliveries = transport.wait(bob.installation_id, limit=batch, timeout=60)
        if not deliveries:
            break
        receive_batch(bob, transport, deliveries, on_commit=committed)
    print(json.dumps({"got": got, "last": last, "latencies": latencies}), flush=True)
    transport.close()
    bob.close()
    return 0


def start_receiver(db: Path, url: str, count: int, batch: int) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, __file__, "--receiver", str(db), url, str(count), str(batch)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != "READY":
        raise SystemExit(f"the receiver did not start: {line!r}")
    return child


def result_of(child: subprocess.Popen) -> dict:
    out, _ = child.communicate(timeout=600)
    return json.loads(out.strip().splitlines()[-1])


def body(due: float) -> bytes:
    return struct.pack(">d", due) + os.urandom(SIZE - 8)


def throughput(alice: Account, ta: NatsTransport, db: Path, url: str, n: int, batch: int):
    child = start_receiver(db, url, n, batch)
    bob = alice.contact("bob")
    start = time.monotonic()
    for i in range(0, n, batch):
        now = time.monotonic()
        alice.send_many([(bob, body(now))] * min(batch, n - i))
        alice.flush_outbox(ta, defer_marks=True)
    sent = time.monotonic()
    result = result_of(child)
    assert result["got"] == n, result["got"]
    return n / (result["last"] - start), n / (sent - start), result["latencies"]


def offered(alice: Account, ta: NatsTransport, db: Path, url: str, rate: int, seconds: float):
    n = int(rate * seconds)
    child = start_receiver(db, url, n, 100)
    bob = alice.contact("bob")
    start = time.monotonic() + 0.05
    i = 0
    while i < n:
        now = time.monotonic()
        due = int((now - start) * rate) + 1
        due = min(due, n)
        if due > i:
            alice.send_many([(bob, body(start + k / rate)) for k in range(i, due)])
            alice.flush_outbox(ta, defer_marks=True)
            i = due
        else:
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
    result = result_of(child)
    assert result["got"] == n, result["got"]
    return result["latencies"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="for the batch of 100")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--receiver", nargs=4, metavar=("DB", "URL", "COUNT", "BATCH"))
    args = parser.parse_args()
    if args.receiver:
        db, url, count, batch = args.receiver
        return receiver(db, url, int(count), int(batch))
    if not nats_available():
        print("== NATS end to end: skipped (no nats-server installed)")
        return 0
    build = HERE.parent / "build"  # on disk: fsync costs what it costs there
    build.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parley-bench-nats-", dir=build) as tmp:
        root = Path(tmp)
        server = NatsServer(root).start()
        try:
            alice = Account.create(root / "alice.db", PASS)
            bob = Account.create(root / "bob.db", PASS)
            alice.add_contact(bob.contact_code(), "bob")
            bob.receive(alice.send("bob", b"hello"))  # sessions in place: no X3DH in the runs
            alice.receive(bob.send(alice.account_id, b"hi"))
            for acc in (alice, bob):  # delivered by hand above
                for entry in acc.outbox():
                    acc.mark_delivered(entry)
            bob.close()
            ta = NatsTransport(server.url)
            ta.register(alice.account_id, alice.installation_id)
            print(
                "== NATS end to end: two accounts, two processes, 1 KiB, SQLCipher both sides, "
                "one local nats-server (JetStream, file storage)"
            )
            for batch, n in ((1, max(500, args.messages // 10)), (100, args.messages)):
                rate, send_rate, lat = throughput(alice, ta, root / "bob.db", server.url, n, batch)
                print(
                    f"  batch {batch:3}: {rate:8.0f} msg/s end to end ({n} messages; sender "
                    f"{send_rate:.0f} msg/s; latency median {statistics.median(lat) * 1e3:.1f} "
                    f"ms under full load)"
                )
            lat = offered(alice, ta, root / "bob.db", server.url, args.rate, args.seconds)
            print(
                f"  {args.rate} msg/s offered for {args.seconds:g} s: latency median "
                f"{statistics.median(lat) * 1e3:.1f} ms, p99 {percentile(lat, 99) * 1e3:.1f} ms, "
                f"max {max(lat) * 1e3:.1f} ms ({len(lat)} messages)"
            )
            ta.close()
            alice.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
