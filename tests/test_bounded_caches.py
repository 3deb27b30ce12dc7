"""The replay caches and the senders nobody added stay bounded (STORE-020,
NOBUNDLE-020, NOBUNDLE-021), whatever a stranger sends."""

from __future__ import annotations

import pytest
from library_world import DAY, World, texts
from parley import IdentityKeyPair
from parley.client import UndecryptableMessage, replay
from parley.client import payload as P
from parley.client.directory import MAX_PENDING_CONTACTS, PENDING_WINDOW
from parley.codec import Envelope, InstallationMessage, encode_envelope, encode_ratchet_message
from parley.no_bundle import seal_no_bundle


def rows(acc, sql: str) -> int:
    [(n,)] = acc.store.query(sql)
    return n


def no_bundle_from(stranger, iid: bytes, to, text: bytes, rng, message_id=None) -> bytes:
    payload = P.Payload(P.TEXT, message_id or rng.random_bytes(16), text)
    sealed = seal_no_bundle(stranger, iid, to.identity, P.encode_payload(payload), rng=rng)
    return encode_envelope(Envelope(1, iid, (InstallationMessage(None, "no_bundle", sealed),)))


@pytest.mark.requirement("STORE-020")
def test_envelope_digests_expire_and_are_bounded(tmp_path, monkeypatch):
    w = World(tmp_path)
    bob, eve = w.account("bob"), w.account("eve")
    for i in range(3000):  # bytes that are no envelope: nothing to remember
        bob.receive(b"garbage %d" % i)
    assert rows(bob, "SELECT count(*) FROM seen") == 0

    def addressed_garbage(i: int) -> bytes:  # an envelope whose copy does not decode
        body = encode_ratchet_message(b"", b"%d" % i, b"")
        copy = InstallationMessage(bob.installation_id, "ratchet", body)
        return encode_envelope(Envelope(1, eve.installation_id, (copy,)))

    for i in range(30):
        bob.receive(addressed_garbage(i))
    assert rows(bob, "SELECT count(*) FROM seen") == 30
    w.clock.now += 31 * DAY
    bob.receive(addressed_garbage(1000))
    assert rows(bob, "SELECT count(*) FROM seen") == 1  # the window passed
    monkeypatch.setattr(replay, "MAX_ENVELOPES", 50)
    for i in range(200):
        bob.receive(addressed_garbage(2000 + i))
    assert rows(bob, "SELECT count(*) FROM seen") == 50


@pytest.mark.requirement("NOBUNDLE-021")
def test_strangers_become_pending_contacts_and_only_the_newest_are_kept(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    bob.add_contact(alice.contact_code(), "alice")
    # the first stranger also starts a session (an initial message from Bob's code)
    carol = w.account("carol")
    carol.add_contact(bob.contact_code(), "bob")
    assert texts(bob.receive(carol.send("bob", b"carol here"))) == [b"carol here"]
    assert bob.contact(carol.account_id).pending
    flood = MAX_PENDING_CONTACTS + 20
    for i in range(flood):
        stranger = IdentityKeyPair.generate(w.rng)
        w.clock.now += PENDING_WINDOW // 50  # older ones leave the window as new ones come
        envelope = no_bundle_from(stranger, w.rng.random_bytes(16), bob, b"spam %d" % i, w.rng)
        assert texts(bob.receive(envelope)) == [b"spam %d" % i]
    contacts = bob.contacts()
    assert sum(c.pending for c in contacts) == MAX_PENDING_CONTACTS
    assert [c.name for c in contacts if not c.pending] == ["alice"]  # added by Bob: kept
    assert carol.account_id not in {c.account for c in contacts}  # the oldest went,
    assert rows(bob, "SELECT count(*) FROM sessions") == 0  # with its session
    assert rows(bob, "SELECT count(*) FROM messages") == MAX_PENDING_CONTACTS  # and messages


@pytest.mark.requirement("NOBUNDLE-021")
def test_writing_to_a_pending_contact_makes_it_a_contact(tmp_path):
    w = World(tmp_path)
    bob = w.account("bob")
    stranger = IdentityKeyPair.generate(w.rng)
    bob.receive(no_bundle_from(stranger, w.rng.random_bytes(16), bob, b"hi", w.rng))
    [contact] = bob.contacts()
    assert contact.pending
    bob.send(contact, b"hello to you")
    assert not bob.contact(contact.account).pending


@pytest.mark.requirement("NOBUNDLE-020")
def test_a_no_bundle_replay_is_refused_after_its_key_was_forgotten(tmp_path, monkeypatch):
    monkeypatch.setattr(replay, "MAX_NO_BUNDLE_KEYS", 3)
    w = World(tmp_path)
    bob = w.account("bob")
    stranger, iid = IdentityKeyPair.generate(w.rng), w.rng.random_bytes(16)
    first = no_bundle_from(stranger, iid, bob, b"once", w.rng)
    assert texts(bob.receive(first)) == [b"once"]
    for i in range(5):
        bob.receive(no_bundle_from(stranger, iid, bob, b"more %d" % i, w.rng))
    assert rows(bob, "SELECT count(*) FROM seen WHERE digest >= X'4E' AND digest < X'4F'") == 3
    events = bob.receive(first + bytes([0xC0, 0x3E, 0x01]))  # another digest, same message
    assert texts(events) == []
    assert [e.reason for e in events if isinstance(e, UndecryptableMessage)] == [
        "REPLAYED_INITIAL_MESSAGE"
    ]
