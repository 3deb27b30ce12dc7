"""A contact code is enough to plant sessions; one forged envelope must stay cheap.

An attacker who has only Bob's public contact code starts many sessions with
him from one installation (each an initial message, as X3DH allows), then
sends one forged envelope from that installation: a 138-byte message with no
X3DH header, a new ratchet key and PN = N = 1000, which makes every session
it is tried in derive skipped keys before its MAC fails. SESSION-011 bounds
this: at most ``max_sessions_per_installation`` sessions are kept and tried,
and one message may derive at most ``max_skip_per_message`` keys over all of
them. Printed: the sessions stored, the forged envelope's size, the wall time
and peak memory of ``receive`` for it, and a normal receive afterwards.

Usage: python bench/planted.py [--sessions N]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from parley import DeterministicRandom
from parley.client import Account, UndecryptableMessage
from parley.client import payload as P
from parley.codec import (
    Envelope,
    InstallationMessage,
    encode_envelope,
    encode_ratchet_header,
    encode_ratchet_message,
)
from parley.session import Session

T0 = 1_767_225_600
KDF = 2  # store KDF iterations: the open is not what is measured
ROUNDS = 7


def plant(bob: Account, attacker: Account, count: int, rng: DeterministicRandom) -> None:
    """``count`` initial messages from one attacker installation, from Bob's code."""
    bundle = bob.bundle()
    for i in range(count):
        session = Session.initiate(
            attacker._identity,
            attacker.installation_id,
            bundle,
            bob.installation_id,
            now=T0,
            rng=rng,
        )
        body = session.encrypt(P.encode_payload(P.Payload(P.TEXT, rng.random_bytes(16), b"%d" % i)))
        copy = InstallationMessage(bob.installation_id, "ratchet", body)
        bob.receive(encode_envelope(Envelope(1, attacker.installation_id, (copy,))))


def forged(bob: Account, attacker: Account, rng: DeterministicRandom) -> bytes:
    """No X3DH header, a new ratchet key, PN = N = 1000, a MAC that cannot verify."""
    header = encode_ratchet_header(1, rng.random_bytes(32), 1000, 1000)
    body = encode_ratchet_message(header, rng.random_bytes(16), rng.random_bytes(32))
    copy = InstallationMessage(bob.installation_id, "ratchet", body)
    return encode_envelope(Envelope(1, attacker.installation_id, (copy,)))


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def run(root: Path, count: int) -> dict[str, float | int]:
    rng = DeterministicRandom(b"planted sessions")
    clock = lambda: T0  # noqa: E731
    bob = Account.create(root / "bob.db", "bob", rng=rng, clock=clock, kdf_iterations=KDF)
    alice = Account.create(root / "alice.db", "alice", rng=rng, clock=clock, kdf_iterations=KDF)
    attacker = Account.create(root / "eve.db", "eve", rng=rng, clock=clock, kdf_iterations=KDF)
    alice.add_contact(bob.contact_code(), "bob")
    bob.receive(alice.send("bob", b"hello"))
    start = time.perf_counter()
    plant(bob, attacker, count, rng)
    planting = time.perf_counter() - start
    (stored,) = bob.store.one(
        "SELECT count(*) FROM sessions WHERE installation_id = ?", (attacker.installation_id,)
    )
    walls, cpus, reasons = [], [], set()
    for _ in range(ROUNDS):  # each forged envelope is new (a new ratchet key)
        envelope = forged(bob, attacker, rng)
        start, cpu = time.perf_counter(), time.process_time()
        events = bob.receive(envelope)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        reasons |= {e.reason for e in events if isinstance(e, UndecryptableMessage)}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    bob.receive(forged(bob, attacker, rng))  # another one, for its memory
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    normal = []
    for i in range(20):
        envelope_ok = alice.send("bob", b"normal %d" % i)
        start = time.perf_counter()
        bob.receive(envelope_ok)
        normal.append(time.perf_counter() - start)
    for acc in (alice, bob, attacker):
        acc.close()
    return {
        "initial messages planted": count,
        "planting s": planting,
        "sessions kept for that installation": stored,
        "forged envelope bytes": len(envelope),
        "forged envelope receive ms (median wall)": _median(walls) * 1000,
        "forged envelope receive ms (median CPU)": _median(cpus) * 1000,
        "forged envelope receive ms (worst wall)": max(walls) * 1000,
        "forged envelope reason": ", ".join(sorted(reasons)),
        "forged envelope peak Python MiB": peak / 2**20,
        "process peak RSS growth MiB": (rss_after - rss_before) / 1024,
        "normal receive afterwards ms (median wall)": _median(normal) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        print(f"== {args.sessions} sessions planted from a contact code, then one forged envelope")
        result = run(Path(tmp), args.sessions)
        for name, value in result.items():
            text = f"{value:10.2f}" if isinstance(value, float) else f"{value:>10}"
            print(f"  {name:40} {text}")
        ok = (
            result["forged envelope receive ms (median wall)"] < 50
            and result["process peak RSS growth MiB"] < 50
            and result["forged envelope peak Python MiB"] < 50
        )
        print(f"  goal: < 50 ms and < 50 MB: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
