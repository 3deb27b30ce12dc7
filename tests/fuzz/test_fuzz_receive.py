"""Fuzz Account.receive: whatever arrives, it returns events and never raises;
an envelope that is only refused leaves keys, sessions, contacts and history as
they were; and the account still reads its contacts' next messages."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest
from fuzzing import fuzz, inputs, target, workdir
from library_world import World, texts
from parley.client import Account, events

NAME = "account_receive"
EVENT_TYPES = tuple(
    getattr(events, name)
    for name in events.__all__
    if isinstance(getattr(events, name), type) and name != "Event"
)


@dataclass
class Scene:
    world: World
    alice: Account
    bob: Account
    carol: Account
    seeds: list[bytes]
    checks: int = 0


@functools.cache
def _scene() -> Scene:
    """Alice, Bob and Carol; Bob has sessions with both; the seeds are envelopes
    for Bob that he has not seen (follow-ups, a first message, a reply)."""
    world = World(workdir(NAME), b"fuzz receive")
    alice, bob, carol = world.account("alice"), world.account("bob"), world.account("carol")
    alice.add_contact(bob.contact_code(), "bob")
    carol.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    first_from_carol = carol.send("bob", b"hi from carol")
    world.send(alice, "bob", b"first")
    world.pump(bob)
    world.send(bob, "alice", b"reply")
    world.pump(alice)
    seeds = [alice.send("bob", b"not delivered %d" % i) for i in range(3)]
    seeds += [first_from_carol, bob.send("alice", b"to alice, not bob")]
    return Scene(world, alice, bob, carol, seeds)


def _state(account: Account) -> tuple:
    """What a rejected envelope must leave as it was: keys, sessions, contacts, history."""
    store = account.store
    return (
        store.get_meta("identity"),
        store.get_meta("installation"),
        store.query("SELECT * FROM sessions ORDER BY rowid"),
        store.query("SELECT * FROM accounts ORDER BY rowid"),
        store.query("SELECT * FROM installations ORDER BY rowid"),
        store.query("SELECT * FROM messages ORDER BY rowid"),
    )


def _rejected(got: list) -> bool:
    """Nothing but refusals, and no session reset answered."""
    return all(
        isinstance(e, events.UndecryptableMessage | events.BundleRejected)
        and getattr(e, "reset_envelope", None) is None
        for e in got
    )


def check(data: bytes) -> None:
    scene = _scene()
    before = _state(scene.bob)
    got = scene.bob.receive(data)
    assert isinstance(got, list) and all(isinstance(e, EVENT_TYPES) for e in got), got
    if _rejected(got):
        assert _state(scene.bob) == before, got  # a rejected input changes no state
    scene.checks += 1
    if scene.checks % 25 == 0:  # Bob still reads Alice
        text = b"still there %d" % scene.checks
        scene.world.send(scene.alice, "bob", text)
        assert text in texts(scene.world.pump(scene.bob))


@pytest.mark.parametrize("path", target(NAME).corpus(), ids=lambda p: p.name)
def test_corpus(path):
    check(path.read_bytes())


@pytest.mark.fuzz
def test_fuzz():
    fuzz(NAME, inputs(_scene().seeds, max_size=4096), check)
