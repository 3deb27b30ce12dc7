"""Anyone who knows a contact's installation id (it is in her bundle and on
every envelope she sends) can forge a 138-byte envelope "from" it. Its MAC
fails, and SESSION-020 makes the receiver start a new session with her and
send her a RESET: an unauthenticated stranger replaces a forward-secret
session, and makes the receiver send four times the bytes it got, as often
as it likes, once the peer has answered the last reset."""

from __future__ import annotations

import sys
from pathlib import Path

from library_world import World, texts

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from planted import forged


def _deliver_outbox(w: World, acc) -> None:
    for entry in acc.outbox():
        w.net.deliver(entry.envelope, account=entry.account)
        acc.mark_delivered(entry)


def test_forged_envelopes_from_a_known_installation_do_not_reset_at_will(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    w.send(alice, "bob", b"hi")
    assert texts(w.pump(bob)) == [b"hi"]
    w.send(bob, "alice", b"hi back")
    assert texts(w.pump(alice)) == [b"hi back"]
    resets = 0
    for _ in range(20):
        events = bob.receive(forged(bob, alice, w.rng))  # "from" Alice's installation
        resets += sum(1 for e in events if getattr(e, "reset_envelope", None))
        _deliver_outbox(w, bob)  # Alice is online: she takes the reset and answers
        w.pump(alice)
        _deliver_outbox(w, alice)
        w.pump(bob)
    assert resets <= 2, f"{resets} resets from 20 forged envelopes"
