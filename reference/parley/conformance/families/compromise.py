"""The compromise family: forward secrecy and post-compromise security."""

from __future__ import annotations

from .scenarios import (
    Build,
    scenario_file,
    two,
)


def compromise_scenarios() -> list[dict]:
    out = []
    b = Build(
        "compromise/responder-state-leaks",
        "Bob's state leaks after he received m0 and "
        "m2 (m1 skipped). The leaked state reads m1 (a stored skipped key) and m3 (same "
        "chain), and even m5 (Alice's next chain still uses Bob's leaked ratchet key), "
        "but not m0 or m2 (forward secrecy) and not m7, sent after Bob's fresh ratchet "
        "key came into use (post-compromise security)",
        ["Compromise"],
        ["RATCHET-033", "RATCHET-032", "RATCHET-031", "STORE-004"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    m0, _m1, m2 = (b.send("ab", f"m{i}", name=f"m{i}") for i in range(3))
    b.respond("bob", "ba", "alice", m0)
    b.recv("ba", m2)
    b.step("exportSession", session="ba", name="leak")
    m3 = b.send("ab", "m3", name="m3")
    b.recv("ba", m3)
    b.recv("ab", b.send("ba", "m4", name="m4"))
    m5 = b.send("ab", "m5", name="m5")
    b.recv("ba", m5)
    b.recv("ab", b.send("ba", "m6", name="m6"))
    m7 = b.send("ab", "m7", name="m7")
    b.recv("ba", m7)
    for name in ("m0", "m2", "m1", "m3", "m5", "m7"):
        b.step("attack", party="bob", state="leak", input=name, ratchetPrivateKey=b.k.key())
    want = {"m0": False, "m2": False, "m1": True, "m3": True, "m5": True, "m7": False}
    for s in b.test["steps"]:
        if s["op"] == "attack":
            assert s["derivable"] is want[s["input"]], s
    out.append(b.done())

    b = Build(
        "compromise/initiator-state-leaks",
        "Alice's state leaks after she received "
        "r0 and r1: the leaked state reads r2 (same chain) and r3 (Bob's next chain "
        "still uses Alice's leaked ratchet key), but neither r0, r1 (already received) "
        "nor r4, sent after Alice's fresh ratchet key came into use",
        ["Compromise"],
        ["RATCHET-033", "STORE-004"],
    )
    bun = two(b)
    b.initiate("alice", "ab", bun, "bob", opk=100)
    b.respond("bob", "ba", "alice", b.send("ab", "hello"))
    r0, r1, r2 = (b.send("ba", f"r{i}", name=f"r{i}") for i in range(3))
    b.recv("ab", r0)
    b.recv("ab", r1)
    b.step("exportSession", session="ab", name="leak")
    b.recv("ab", r2)
    b.recv("ba", b.send("ab", "a1", name="a1"))
    b.recv("ab", b.send("ba", "r3", name="r3"))
    b.recv("ba", b.send("ab", "a2", name="a2"))
    b.recv("ab", b.send("ba", "r4", name="r4"))
    for name in ("r0", "r1", "r2", "r3", "r4"):
        b.step("attack", party="alice", state="leak", input=name, ratchetPrivateKey=b.k.key())
    want = {"r0": False, "r1": False, "r2": True, "r3": True, "r4": False}
    for s in b.test["steps"]:
        if s["op"] == "attack":
            assert s["derivable"] is want[s["input"]], s
    out.append(b.done())
    return out


def compromise_file() -> dict:
    return scenario_file(
        "compromise",
        "PARLEY-COMPROMISE",
        "Forward secrecy and post-compromise security.",
        compromise_scenarios(),
    )
