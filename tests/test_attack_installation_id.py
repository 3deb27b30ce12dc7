"""Installation ids are not bound to an account: a contact may name another
account's installation id in her own signed bundle."""

from __future__ import annotations

import pytest
from library_world import World, texts
from parley.bundle import Bundle, InstallationPreKeys
from parley.client import SessionReset, UndecryptableMessage
from parley.client.local import new_installation_keys
from parley.codec import Envelope, encode_envelope


@pytest.mark.xfail(
    strict=True,
    reason="Directory.store_bundle takes any installation id a verified bundle names: Eve "
    "names Alice's, so every message Bob sends Eve is also put in Alice's inbox, where "
    "it fails (UNKNOWN_PREKEY) and resets Alice's session with Bob",
)
def test_a_contact_cannot_claim_another_accounts_installation(tmp_path):
    w = World(tmp_path)
    alice, bob, eve = w.account("alice"), w.account("bob"), w.account("eve")
    for a, b, name in ((alice, bob, "bob"), (bob, alice, "alice"), (bob, eve, "eve")):
        a.add_contact(b.contact_code(), name)
    w.send(alice, "bob", b"hi")
    w.pump(bob)
    w.send(bob, "alice", b"hi back")
    assert texts(w.pump(alice)) == [b"hi back"]
    # Eve signs, with her own identity, a bundle whose second entry claims
    # Alice's installation id (with prekeys of Eve's), and shows it to Bob.
    claimed = new_installation_keys(w.rng, w.clock(), alice.installation_id)
    w.clock.now += 1
    entries = [InstallationPreKeys.of(eve._installation), InstallationPreKeys.of(claimed)]
    bundle = Bundle.create(eve._identity, entries, w.clock())
    bob.receive(encode_envelope(Envelope(1, eve.installation_id, (), bundle)))
    w.send(bob, "eve", b"for eve only")
    events = w.pump(alice)
    assert events == [], events  # nothing of Bob's talk with Eve reaches Alice
    assert not any(isinstance(e, SessionReset | UndecryptableMessage) for e in w.pump(bob))
