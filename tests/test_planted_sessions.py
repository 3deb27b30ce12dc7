"""Sessions planted from a public contact code cannot make one envelope costly
(SESSION-011): a cap on sessions per peer installation, and one bound on the
keys derived to skip over every session a message is tried in."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest
from library_world import World, texts
from parley import ratchet
from parley.client import UndecryptableMessage
from parley.client.sending import start_session
from parley.profile import PROFILE_1

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from planted import forged, plant


@pytest.fixture
def derivations(monkeypatch):
    """Counts KDF_CK steps (one per message key derived)."""
    count = [0]
    original = ratchet.ChainKey.next

    def counting(self, profile):
        count[0] += 1
        return original(self, profile)

    monkeypatch.setattr(ratchet.ChainKey, "next", counting)
    return count


@pytest.mark.requirement("SESSION-011")
def test_planted_sessions_are_capped_and_one_forged_envelope_is_bounded(tmp_path, derivations):
    w = World(tmp_path)
    alice, bob, eve = w.account("alice"), w.account("bob"), w.account("eve")
    alice.add_contact(bob.contact_code(), "bob")
    w.send(alice, "bob", b"hello")
    assert texts(w.pump(bob)) == [b"hello"]
    plant(bob, eve, 40, w.rng)
    [(kept,)] = bob.store.query(
        "SELECT count(*) FROM sessions WHERE installation_id = ?", (eve.installation_id,)
    )
    assert kept == PROFILE_1.max_sessions_per_installation
    derivations[0] = 0
    tracemalloc.start()
    events = bob.receive(forged(bob, eve, w.rng))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [e.reason for e in events if isinstance(e, UndecryptableMessage)] == ["INVALID_MAC"]
    # the session tried first pays for its skips; none of the others can
    assert derivations[0] <= PROFILE_1.max_skip_per_message + 1
    assert peak < 5 * 2**20
    # the contact is not disturbed
    w.send(alice, "bob", b"still here")
    assert texts(w.pump(bob)) == [b"still here"]


@pytest.mark.requirement("SESSION-011")
def test_the_oldest_sessions_that_are_not_chosen_are_dropped(tmp_path):
    """Alice starts cap + 2 sessions with Bob, one after the other (as resets
    do), and sends two messages in each. Bob gets every first message, then
    every second one: those of the two oldest sessions find theirs dropped;
    the others decrypt in theirs."""
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    cap = PROFILE_1.max_sessions_per_installation
    first, second = [], []
    for i in range(cap + 2):
        with alice._txn() as st:  # a new session, as a reset starts one
            start_session(st, bob.account_id, bob.installation_id, w.clock())
        first.append(alice.send("bob", b"first %d" % i))
        second.append(alice.send("bob", b"second %d" % i))
    assert [texts(bob.receive(env)) for env in first] == [[b"first %d" % i] for i in range(cap + 2)]
    [(kept,)] = bob.store.query("SELECT count(*) FROM sessions")
    assert kept == cap
    results = [bob.receive(env) for env in second]
    assert [texts(r) for r in results[2:]] == [[b"second %d" % i] for i in range(2, cap + 2)]
    for dropped in results[:2]:
        assert texts(dropped) == []
        assert [e.reason for e in dropped if isinstance(e, UndecryptableMessage)] == [
            "REPLAYED_INITIAL_MESSAGE"
        ]
