"""The fan-out family: one message to several installations."""

from __future__ import annotations

from .scenarios import (
    Build,
    scenario_file,
)


def fanout_scenarios() -> list[dict]:
    b = Build(
        "fanout/two-recipients-and-own-device",
        "A writes once to both of B's "
        "installations and to her own second installation: one envelope, three copies, "
        "A's bundle attached",
        ["Fanout"],
        ["WIRE-040", "BUNDLE-001", "BUNDLE-030", "X3DH-001", "BUNDLE-004"],
    )
    b.party("alice")
    b.party("alice2", same_account_as="alice", opks=1)
    b.party("bob", opks=1)
    b.party("bob2", same_account_as="bob", opks=1)
    bun_b = b.bundle("bob", "bob2", name="bundle-b")
    bun_a = b.bundle("alice", "alice2", name="bundle-a")
    b.initiate("alice", "a-b", bun_b, "bob", opk=100)
    b.initiate("alice", "a-b2", bun_b, "bob2", opk=100)
    b.initiate("alice", "a-a2", bun_a, "alice2", opk=100)
    names = [b.send(s, "hello everyone") for s in ("a-b", "a-b2", "a-a2")]
    copies = [
        {"recipientInstallationId": b.iid(p), "kind": "ratchet", "body": n}
        for p, n in zip(("bob", "bob2", "alice2"), names, strict=True)
    ]
    b.step(
        "encodeEnvelope",
        party="alice",
        version=1,
        senderInstallationId=b.iid("alice"),
        copies=copies,
        senderBundle=bun_a,
        name="env",
    )
    for party in ("bob", "bob2", "alice2"):
        b.step(
            "decodeEnvelope",
            party=party,
            input="env",
            copyNames=[f"{party}:c-b", f"{party}:c-b2", f"{party}:c-a2"],
        )
    b.respond("bob", "b-a", "alice", "bob:c-b")
    b.respond("bob2", "b2-a", "alice", "bob2:c-b2")
    b.respond("alice2", "a2-a", "alice", "alice2:c-a2")
    b.recv("a-b", b.send("b-a", "from bob"))
    b.recv("a-b2", b.send("b2-a", "from bob2"))
    return [b.done()]


def fanout_file() -> dict:
    return scenario_file(
        "fanout", "PARLEY-FANOUT", "Multi-installation fan-out.", fanout_scenarios()
    )
