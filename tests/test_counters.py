"""Counters at the top of their uint32 range: typed errors, never a ValueError,
and the library carries on (a new session; the current prekey kept)."""

from __future__ import annotations

import pytest
from library_world import DAY, World, texts
from parley import DeterministicRandom
from parley.errors import SessionStateError
from parley.keys import InstallationKeys
from parley.ratchet import MAX_MESSAGE_NUMBER
from parley.session import Session
from parley.state import dump_installation, dump_session, load_installation

U32 = 0xFFFFFFFF


def chosen(acc, peer):
    [(rowid, state)] = acc.store.query(
        "SELECT id, state FROM sessions WHERE installation_id = ? AND active = 1",
        (peer.installation_id,),
    )
    return rowid, Session.from_bytes(bytes(state))


def confirmed(w):
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    w.send(alice, "bob", b"hello")
    w.pump(bob)
    w.send(bob, "alice", b"hi")
    w.pump(alice)
    return alice, bob


@pytest.mark.requirement("RATCHET-023")
def test_a_sending_chain_at_the_last_number_refuses_with_a_typed_error(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed(w)
    _, session = chosen(alice, bob)
    session.ratchet.sending_chain.index = MAX_MESSAGE_NUMBER - 1
    session.encrypt(b"the last one")  # N = 2^32 - 2: fits, and so does the saved index
    assert Session.from_bytes(dump_session(session)).ratchet.sending_chain.index == U32
    before = dump_session(session)
    with pytest.raises(SessionStateError):
        session.encrypt(b"one too many")
    assert dump_session(session) == before


def test_a_session_past_its_range_cannot_be_saved_but_says_why(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed(w)
    _, session = chosen(alice, bob)
    session.ratchet.sending_chain.index = U32 + 1
    with pytest.raises(SessionStateError):
        dump_session(session)


def test_the_library_sends_on_in_a_new_session_when_the_chosen_one_is_exhausted(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed(w)
    rowid, session = chosen(alice, bob)
    session.ratchet.sending_chain.index = U32
    with alice._txn() as st:
        st.sessions.save(rowid, session)
    w.send(alice, "bob", b"after 2^32 - 1 messages")
    assert texts(w.pump(bob)) == [b"after 2^32 - 1 messages"]
    assert chosen(alice, bob)[0] != rowid


@pytest.mark.requirement("PREKEY-002")
def test_prekey_ids_end_with_a_typed_error_and_the_account_keeps_working(tmp_path):
    rng = DeterministicRandom(b"prekeys")
    keys = InstallationKeys.generate(rng, 0)
    keys.next_prekey_id = U32
    before = dump_installation(keys)
    with pytest.raises(SessionStateError):
        keys.rotate_signed_prekey(rng, 10)
    with pytest.raises(SessionStateError):
        keys.add_one_time_prekeys(rng, 1)
    assert dump_installation(keys) == before
    assert load_installation(before).next_prekey_id == U32

    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    with alice._txn() as st:
        st.local.keys.next_prekey_id = U32
        st.local.save()
    w.clock.now += 8 * DAY  # a rotation is due, and no id is left
    alice = w.reopen(alice, "alice")
    bob.add_contact(alice.contact_code(), "alice")
    w.send(bob, "alice", b"still reachable")
    assert texts(w.pump(alice)) == [b"still reachable"]


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.history(limit=2**64),
        lambda a: a.history(limit=0),
        lambda a: a.history(limit="10"),
        lambda a: a.history(limit=True),
        lambda a: a.mark_delivered(2**70),
        lambda a: a.mark_delivered(-1),
        lambda a: a.contact(123),
        lambda a: a.contact(None),
        lambda a: a.add_contact(123),
        lambda a: a.add_contact(a.contact_code(), 5),
        lambda a: a.rename_contact("bob", ""),
        lambda a: a.rename_contact("bob", 7),
        lambda a: a.send("bob", "not bytes"),
        lambda a: a.send("bob", bytes((1 << 20) + 1)),
        lambda a: a.receive("not bytes"),
    ],
)
def test_the_account_api_refuses_bad_arguments_with_typed_errors(tmp_path, call):
    """Out of range or of the wrong type: a ParleyError, never an OverflowError,
    TypeError, AttributeError or an SQLite error; nothing changes."""
    from parley.errors import ParleyError

    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    before = alice.store.query(
        "SELECT count(*) FROM outbox UNION ALL SELECT count(*) FROM sessions"
    )
    with pytest.raises(ParleyError):
        call(alice)
    after = alice.store.query("SELECT count(*) FROM outbox UNION ALL SELECT count(*) FROM sessions")
    assert after == before
    assert alice.contact("bob").name == "bob"


@pytest.mark.parametrize("kind", ["memory", "mailbox"])
def test_transports_refuse_bad_arguments_with_typed_errors(tmp_path, kind):
    from parley.client import MailboxTransport, MemoryTransport, TransportError

    t = MemoryTransport() if kind == "memory" else MailboxTransport(tmp_path / "mailbox")
    for call in (
        lambda: t.register("not bytes", bytes(16)),
        lambda: t.register(b"a" * 32, b"short"),
        lambda: t.installations_of(None),
        lambda: t.fetch(bytes(16), limit=-1),
        lambda: t.fetch(bytes(16), limit="5"),
        lambda: t.deliver("not bytes"),
        lambda: t.deliver(b"\x08\x01", account=12),
    ):
        with pytest.raises(TransportError):
            call()
