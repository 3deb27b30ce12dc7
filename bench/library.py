"""Library benchmarks: the whole stack, SQLCipher store included.

1. Messages per second through the library (Account.send + Account.receive,
   1 KiB plaintext, each call one durable transaction: synchronous=FULL, so
   the wall-clock figure is bound by the disk's fsync; the CPU figure is not):
   one way (chain steps) and ping-pong (a DH ratchet step on every message).
2. Opening an account whose store holds 10,000 sessions (10,000 contacts):
   wall time of Account.open with the default KDF and the integrity check,
   peak Python memory (tracemalloc) and the process's peak RSS.

Usage: python bench/library.py [--messages N] [--sessions N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from parley.client import Account

PLAINTEXT = os.urandom(1024)


def throughput(root: Path, messages: int) -> dict[str, float]:
    alice = Account.create(root / "alice.db", "alice pass")
    bob = Account.create(root / "bob.db", "bob pass")
    alice.add_contact(bob.contact_code(), "bob")
    bob.receive(alice.send("bob", b"hello"))
    alice.receive(bob.send(alice.account_id, b"hi"))
    out = {}

    def timed(name: str, step) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(messages):
            step(i)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        out[f"{name} msg/s"] = messages / wall
        out[f"{name} msg/s of CPU (no fsync wait)"] = messages / cpu

    timed("one-way send+receive", lambda i: bob.receive(alice.send("bob", PLAINTEXT)))
    timed(
        "ping-pong send+receive",
        lambda i: (
            alice.receive(bob.send(alice.account_id, PLAINTEXT))
            if i % 2
            else bob.receive(alice.send("bob", PLAINTEXT))
        ),
    )
    timed("send only", lambda i: alice.send("bob", PLAINTEXT))
    alice.close()
    bob.close()
    return out


def many_sessions(root: Path, count: int) -> dict[str, float]:
    path = root / "big.db"
    alice = Account.create(path, "big pass")
    bob = Account.create(root / "peer.db", "peer pass")
    contact, _ = alice.add_contact(bob.contact_code(), "peer")
    bob.receive(alice.send("peer", b"hello"))
    [(state,)] = alice.store.query("SELECT state FROM sessions")
    identity = bytes(
        alice.store.one("SELECT identity FROM accounts WHERE account = ?", (contact.account,))[0]
    )
    start = time.perf_counter()
    with alice.store.transaction():
        for i in range(count):
            account = i.to_bytes(4, "big") + os.urandom(28)
            iid = os.urandom(16)
            alice.store.execute(
                "INSERT INTO accounts (account, identity, name, added_at) VALUES (?,?,?,0)",
                (account, identity, f"contact {i}"),
            )
            alice.store.execute(
                "INSERT INTO installations (account, installation_id, first_seen) VALUES (?,?,0)",
                (account, iid),
            )
            alice.store.execute(
                "INSERT INTO sessions (account, installation_id, session_id, state, active, "
                "created_at) VALUES (?,?,?,?,1,0)",
                (account, iid, os.urandom(32), state),
            )
    fill = time.perf_counter() - start
    alice.close()
    size = path.stat().st_size

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.perf_counter()
    alice = Account.open(path, "big pass")
    opened = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert alice.session_count() == count + 1
    start = time.perf_counter()
    bob.receive(alice.send("peer", PLAINTEXT))
    first_send = time.perf_counter() - start
    alice.close()
    bob.close()
    return {
        "sessions": count + 1,
        "store size MiB": size / 2**20,
        "fill s": fill,
        "open s": opened,
        "open peak Python MiB": peak / 2**20,
        "process peak RSS MiB": rss_after / 1024,
        "RSS growth on open MiB": (rss_after - rss_before) / 1024,
        "first send+receive after open ms": first_send * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        root = Path(tmp)
        print(f"== library throughput: 1 KiB messages, SQLCipher store, {args.messages} each")
        for name, value in throughput(root, args.messages).items():
            print(f"  {name:52} {value:10.1f}")
        print(f"== opening an account with {args.sessions:,} stored sessions")
        for name, value in many_sessions(root, args.sessions).items():
            print(
                f"  {name:34} {value:10.2f}"
                if isinstance(value, float)
                else f"  {name:34} {value:10}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
