"""Attacks on the outbox (STORE-005): a recipient the transport cannot reach
must not hold back the messages to everyone else, and an envelope that
reached nobody is not delivered."""

from __future__ import annotations

import shutil

import pytest
from library_world import DAY, World, texts
from parley.client import MailboxTransport, TransportError


def mailbox_world(tmp_path, *names):
    w = World(tmp_path)
    box = MailboxTransport(tmp_path / "mailbox")
    accounts = [w.account(n) for n in names]
    return w, box, accounts


def received(box, acc) -> list[bytes]:
    out = []
    for item in box.fetch(acc.installation_id):
        out += texts(acc.receive(item.data))
        box.ack(acc.installation_id, item.handle)
    return out


@pytest.mark.requirement("STORE-005")
def test_one_unreachable_recipient_does_not_hold_back_the_others(tmp_path):
    """Whoever can write to the mailbox folder puts a file where Mallory's inbox
    was: every put to her fails. Before, Alice's flush stopped at the first
    envelope to Mallory, so her messages to everyone stayed in the outbox."""
    _w, box, (alice, bob, mallory) = mailbox_world(tmp_path, "alice", "bob", "mallory")
    for acc in (alice, bob, mallory):
        box.register(acc.account_id, acc.installation_id)
    alice.add_contact(bob.contact_code(), "bob")
    alice.add_contact(mallory.contact_code(), "mallory")
    inbox = tmp_path / "mailbox" / "inbox" / mallory.installation_id.hex()
    shutil.rmtree(inbox)
    inbox.write_bytes(b"")
    alice.send("mallory", b"one for mallory")
    alice.send("mallory", b"two for mallory")
    alice.send("bob", b"for bob")
    with pytest.raises(TransportError):
        alice.flush_outbox(box)  # the failure is still reported
    assert received(box, bob) == [b"for bob"]
    assert len(alice.outbox()) == 2  # Mallory's wait, in order
    inbox.unlink()
    box.register(mallory.account_id, mallory.installation_id)
    assert len(alice.flush_outbox(box)) == 2
    assert alice.outbox() == []
    assert received(box, mallory) == [b"one for mallory", b"two for mallory"]


@pytest.mark.requirement("STORE-005")
def test_an_envelope_that_reached_no_installation_stays_in_the_outbox(tmp_path):
    """Carol's code is older than 30 days: Alice knows her identity only, so
    her message is a no-bundle copy, addressed to Carol's account. No
    installation of Carol is registered yet. Before, the transport took it
    for nobody, the outbox marked it delivered, and it was lost, while the
    history showed it sent."""
    w, box, (alice, carol) = mailbox_world(tmp_path, "alice", "carol")
    box.register(alice.account_id, alice.installation_id)
    code = carol.contact_code()
    w.clock.now += 31 * DAY
    alice.add_contact(code, "carol")
    alice.send("carol", b"are you there?")
    with pytest.raises(TransportError):
        alice.flush_outbox(box)
    [waiting] = alice.outbox()
    assert waiting.account == carol.account_id
    box.register(carol.account_id, carol.installation_id)  # Carol joins the mailbox
    [(_entry, targets)] = alice.flush_outbox(box)
    assert targets == {carol.installation_id}
    assert received(box, carol) == [b"are you there?"]
