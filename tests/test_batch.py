"""Batches: Account.receive_many and Account.send_many commit once per batch and
keep every guarantee of the one-message path."""

from __future__ import annotations

import shutil

import pytest
from library_world import KDF, T0, Clock
from parley import DeterministicRandom
from parley.client import Account, CannotSend, MessageReceived
from parley.client import store as store_module
from parley.codec import Envelope, InstallationMessage, decode_envelope, encode_envelope
from parley.errors import ParleyError

TABLES = ("meta", "accounts", "installations", "sessions", "messages", "seen")


def dump(acc: Account) -> dict:
    return {t: sorted(map(repr, acc.store.query(f"SELECT * FROM {t}"))) for t in TABLES}


def open_copy(tmp_path, name: str, seed: bytes) -> Account:
    return Account.open(
        tmp_path / name, "pass", rng=DeterministicRandom(seed), clock=Clock(), kdf_iterations=KDF
    )


@pytest.fixture
def envelopes(tmp_path):
    """Bob's store, and a mixed batch for it: messages, a duplicate, garbage, a
    tampered copy, a no-bundle message from a stranger, the reply chain."""
    clock = Clock()
    rng = DeterministicRandom(b"batch")
    make = lambda n: Account.create(  # noqa: E731
        tmp_path / f"{n}.db", "pass", rng=rng, clock=clock, kdf_iterations=KDF
    )
    alice, bob, carol = make("alice"), make("bob"), make("carol")
    alice.add_contact(bob.contact_code(), "bob")
    with carol.store.transaction():  # Carol knows Bob's identity only: a no-bundle message
        carol.store.execute(
            "INSERT INTO accounts (account, identity, name, added_at) VALUES (?,?,?,0)",
            (bob.account_id, bob.identity.to_bytes(), "bob"),
        )
    bob.close()
    shutil.copy(tmp_path / "bob.db", tmp_path / "bob-single.db")
    shutil.copy(tmp_path / "bob.db", tmp_path / "bob-batch.db")
    sent = alice.send_many([("bob", f"m{i}".encode()) for i in range(6)])
    env = decode_envelope(sent[4])
    copy = env.messages[0]
    body = copy.body[:-1] + bytes([copy.body[-1] ^ 1])  # the MAC no longer verifies
    tampered = encode_envelope(
        Envelope(
            env.version,
            env.sender_installation_id,
            (InstallationMessage(copy.recipient_installation_id, copy.kind, body),),
            env.sender_bundle,
        )
    )
    batch = [
        sent[0],
        sent[1],
        sent[1],  # the same envelope twice in one batch
        b"\x00not an envelope",
        bytes(tampered),
        carol.send("bob", b"from a stranger"),
        sent[2],
        sent[5],  # out of order
        sent[3],
    ]
    return batch


@pytest.mark.requirement("RELAY-005")
def test_a_batch_is_the_same_as_one_at_a_time(tmp_path, envelopes):
    single = open_copy(tmp_path, "bob-single.db", b"bob")
    batch = open_copy(tmp_path, "bob-batch.db", b"bob")
    one_by_one = [single.receive(e) for e in envelopes]
    together = batch.receive_many(envelopes)
    assert together == one_by_one
    assert dump(batch) == dump(single)
    kinds = [[type(e).__name__ for e in events] for events in together]
    assert "UndecryptableMessage" in kinds[3] and "UndecryptableMessage" in kinds[4]
    texts = [e.plaintext for ev in together for e in ev if isinstance(e, MessageReceived)]
    assert texts.count(b"m1") == 2 and b"m4" not in texts and b"from a stranger" in texts
    again = [e for ev in together for e in ev if isinstance(e, MessageReceived) and e.redelivered]
    assert [e.plaintext for e in again] == [b"m1"]


@pytest.mark.requirement("RELAY-005", "STORE-003")
def test_a_batch_commits_once(tmp_path, envelopes):
    acc = open_copy(tmp_path, "bob-batch.db", b"bob")
    commits = []
    store_module.WRITE_HOOK = lambda what: commits.append(what) if what == "commit" else None
    try:
        acc.receive_many(envelopes)
    finally:
        store_module.WRITE_HOOK = None
    assert commits == ["commit"]


@pytest.mark.requirement("RELAY-005")
def test_a_failure_inside_a_batch_rolls_back_that_envelope_only(tmp_path, envelopes, monkeypatch):
    from parley.client import receiving

    acc = open_copy(tmp_path, "bob-batch.db", b"bob")
    real = receiving.receive
    calls = []

    def flaky(st, data, now, **kw):
        calls.append(data)
        events = real(st, data, now, **kw)  # its writes are made, then it fails
        if len(calls) == 3:
            raise RuntimeError("disk gone")
        return events

    monkeypatch.setattr(receiving, "receive", flaky)
    with pytest.raises(RuntimeError):
        acc.receive_many(envelopes)
    monkeypatch.setattr(receiving, "receive", real)
    reference = open_copy(tmp_path, "bob-single.db", b"bob")
    reference.receive_many(envelopes[:2])
    # The first two are committed, the third left no trace; receiving the whole
    # batch again gives the first two as redeliveries and the rest as new.
    assert dump(acc)["messages"] == dump(reference)["messages"]
    assert dump(acc)["seen"] == dump(reference)["seen"]
    again = acc.receive_many(envelopes)
    assert [e.redelivered for e in again[0] if isinstance(e, MessageReceived)] == [True]
    assert [e.redelivered for e in again[6] if isinstance(e, MessageReceived)] == [False]


def test_send_many_commits_once_and_is_all_or_nothing(tmp_path):
    clock = Clock(T0)
    alice = Account.create(tmp_path / "a.db", "pass", clock=clock, kdf_iterations=KDF)
    bob = Account.create(tmp_path / "b.db", "pass", clock=clock, kdf_iterations=KDF)
    alice.add_contact(bob.contact_code(), "bob")
    commits = []
    store_module.WRITE_HOOK = lambda what: commits.append(what) if what == "commit" else None
    try:
        sent = alice.send_many([("bob", f"x{i}".encode()) for i in range(50)])
    finally:
        store_module.WRITE_HOOK = None
    assert commits == ["commit"] and len(sent) == 50
    before = dump(alice)
    with pytest.raises(ParleyError):  # the second is above the plaintext limit
        alice.send_many([("bob", b"fine"), ("bob", b"x" * (2 << 20))])
    assert dump(alice) == before  # nothing advanced, nothing in the history
    with pytest.raises(CannotSend):
        alice.send_many([("bob", "not bytes")])
    results = bob.receive_many(sent)
    assert [e.plaintext for ev in results for e in ev if isinstance(e, MessageReceived)] == [
        f"x{i}".encode() for i in range(50)
    ]


def test_deferred_marks_are_written_by_the_next_transaction(tmp_path):
    from parley.client import MemoryTransport

    clock = Clock(T0)
    alice = Account.create(tmp_path / "a.db", "pass", clock=clock, kdf_iterations=KDF)
    bob = Account.create(tmp_path / "b.db", "pass", clock=clock, kdf_iterations=KDF)
    alice.add_contact(bob.contact_code(), "bob")
    net = MemoryTransport()
    net.register(bob.account_id, bob.installation_id)
    alice.send_many([("bob", b"one"), ("bob", b"two")])
    commits = []
    store_module.WRITE_HOOK = lambda what: commits.append(what) if what == "commit" else None
    try:
        assert len(alice.flush_outbox(net, defer_marks=True)) == 2
    finally:
        store_module.WRITE_HOOK = None
    assert commits == ["commit"]  # the read only: no mark written yet
    assert alice.flush_outbox(net) == []  # not handed over twice
    assert len(alice.outbox()) == 0  # ...and that flush's transaction wrote the marks
    alice.send_many([("bob", b"three")])
    alice.flush_outbox(net, defer_marks=True)
    alice.close()  # close writes what is left
    again = Account.open(tmp_path / "a.db", "pass", clock=clock, kdf_iterations=KDF)
    assert again.outbox() == [] and net.pending(bob.installation_id) == 3
    # A crash before the marks: the next start hands them over again; Bob sees each once.
    again.send_many([("bob", b"four")])
    again.flush_outbox(net, defer_marks=True)
    again._unmarked.clear()  # as if killed here
    again.close()
    third = Account.open(tmp_path / "a.db", "pass", clock=clock, kdf_iterations=KDF)
    assert len(third.flush_outbox(net)) == 1  # "four" once more
    got = bob.receive_many([d.data for d in net.fetch(bob.installation_id)])
    fresh = [e.plaintext for ev in got for e in ev if isinstance(e, MessageReceived)]
    again_ = [e for ev in got for e in ev if isinstance(e, MessageReceived) and e.redelivered]
    assert sorted(fresh) == [b"four", b"four", b"one", b"three", b"two"] and len(again_) == 1
