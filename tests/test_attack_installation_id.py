"""Installation ids are not bound to an account: a contact may name another
account's installation id in her own signed bundle."""

from __future__ import annotations

import pytest
from library_world import World, texts
from parley.bundle import Bundle, InstallationPreKeys
from parley.client import BundleRejected, SessionReset, UndecryptableMessage
from parley.client import payload as P
from parley.client.local import new_installation_keys
from parley.codec import Envelope, InstallationMessage, encode_envelope
from parley.session import Session


@pytest.mark.requirement("MULTI-005")
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
    events = bob.receive(encode_envelope(Envelope(1, eve.installation_id, (), bundle)))
    assert BundleRejected(eve.account_id, "INSTALLATION_CLAIMED") in events
    assert bob.contact("eve").installations == (eve.installation_id,)
    w.send(bob, "eve", b"for eve only")
    events = w.pump(alice)
    assert events == [], events  # nothing of Bob's talk with Eve reaches Alice
    assert not any(isinstance(e, SessionReset | UndecryptableMessage) for e in w.pump(bob))


@pytest.mark.requirement("MULTI-005")
def test_a_session_started_from_another_accounts_installation_id_is_refused(tmp_path):
    w = World(tmp_path)
    alice, bob, eve = w.account("alice"), w.account("bob"), w.account("eve")
    bob.add_contact(alice.contact_code(), "alice")
    bob.add_contact(eve.contact_code(), "eve")
    # Eve's identity starts a session with Bob "from" Alice's installation id
    session = Session.initiate(
        eve._identity,
        alice.installation_id,
        bob.bundle(),
        bob.installation_id,
        now=w.clock(),
        rng=w.rng,
    )
    body = session.encrypt(P.encode_payload(P.Payload(P.TEXT, w.rng.random_bytes(16), b"x")))
    copy = InstallationMessage(bob.installation_id, "ratchet", body)
    events = bob.receive(encode_envelope(Envelope(1, alice.installation_id, (copy,))))
    assert [(type(e), e.reason, e.reset_envelope) for e in events] == [
        (UndecryptableMessage, "INSTALLATION_CLAIMED", None)
    ]
    assert bob.contact("eve").installations == (eve.installation_id,)
