"""Requirements of the library layer (parley.client) that the other tests do not
check directly: attached bundles, fan-out and addressing, the application
payload, undecryptable messages and resets, replay caches, versions.

In-process, over the in-memory transport, with a fixed clock and a cheap
store KDF.
"""

from __future__ import annotations

import dataclasses

import pytest
from library_world import DAY, KDF, texts
from library_world import World as _World
from parley import Bundle, DeterministicRandom, IdentityKey, IdentityKeyPair, InstallationPreKeys
from parley.client import (
    Account,
    BundleRejected,
    BundleUpdated,
    InstallationAdded,
    InvalidContactCode,
    MessageReceived,
    MessageSynced,
    SessionReset,
    Store,
    UndecryptableMessage,
    UnknownContact,
)
from parley.client import payload as P
from parley.client import store as store_module
from parley.client.sending import sending_session
from parley.codec import (
    Envelope,
    InstallationMessage,
    decode_envelope,
    decode_no_bundle_message,
    decode_ratchet_message,
    encode_envelope,
)
from parley.no_bundle import seal_no_bundle
from parley.primitives import DHKeyPair
from parley.session import Session
from parley.state import load_installation
from parley.versioning import VersionPolicy

MID = bytes(range(16))  # a message id


class World(_World):
    """Resets are delivered by the tests themselves; a restore announces nothing."""

    def __init__(self, tmp_path, seed: bytes = b"requirements") -> None:
        super().__init__(tmp_path, seed, deliver_resets=False)

    def link(self, source, name: str, *, restore: bool = False):
        return super().link(source, name, restore, announce=not restore)


def undecryptable(events) -> list[UndecryptableMessage]:
    return [e for e in events if isinstance(e, UndecryptableMessage)]


def confirmed_pair(w: World, a_name: str = "alice", b_name: str = "bob"):
    """Two accounts that know each other, with a confirmed session each way."""
    a, b = w.account(a_name), w.account(b_name)
    a.add_contact(b.contact_code(), b_name)
    b.add_contact(a.contact_code(), a_name)
    w.send(a, b_name, b"hello")
    assert texts(w.pump(b)) == [b"hello"]
    w.send(b, a_name, b"hi")
    assert texts(w.pump(a)) == [b"hi"]
    return a, b


def rewrap(data: bytes, *, bundle=..., copies=None, sender=None) -> bytes:
    """The envelope ``data`` with another attached bundle, copies or sender id."""
    env = decode_envelope(data)
    return encode_envelope(
        Envelope(
            env.version,
            sender if sender is not None else env.sender_installation_id,
            tuple(copies) if copies is not None else env.messages,
            env.sender_bundle if bundle is ... else bundle,
        )
    )


def raw_envelope(sender: Account, account: bytes, iid: bytes, plaintext: bytes) -> bytes:
    """An envelope whose one copy carries ``plaintext`` as it is (no payload
    encoding), in the sender's chosen session with ``iid``."""
    with sender._txn() as st:
        rowid, session = sending_session(st, account, iid, sender.clock())
        body = session.encrypt(plaintext)
        st.sessions.save(rowid, session)
    copy = InstallationMessage(iid, "ratchet", body)
    return encode_envelope(Envelope(1, sender.installation_id, (copy,)))


def same_signing_key_other_dh(acc: Account, now: int) -> Bundle:
    """A validly signed bundle of ``acc``'s signing key with another DH key."""
    signing = acc._identity.signing
    dh = DHKeyPair.generate(DeterministicRandom(b"other dh"))
    other = IdentityKeyPair(signing, dh, signing.sign(IdentityKey.binding_message(dh.public)))
    bundle = Bundle.create(other, [InstallationPreKeys.of(acc._installation)], now)
    bundle.verify(now)
    return bundle


def active_session(acc: Account, iid: bytes) -> bytes:
    [(sid,)] = acc.store.query(
        "SELECT session_id FROM sessions WHERE installation_id = ? AND active = 1", (iid,)
    )
    return bytes(sid)


# -- BUNDLE-031: attached bundles ----------------------------------------------------


@pytest.mark.requirement("BUNDLE-031")
def test_attached_bundle_is_stored_only_when_authenticated(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    carol = w.account("carol")
    data = bob.send("alice", b"with carol's bundle")
    # An unknown account's bundle on an envelope it did not send: ignored.
    events = alice.receive(rewrap(data, bundle=carol.bundle()))
    assert texts(events) == [b"with carol's bundle"]
    assert [e for e in events if not isinstance(e, MessageReceived)] == []
    with pytest.raises(UnknownContact):
        alice.contact(carol.account_id)
    # Nor when the copy does not decrypt and the envelope claims carol's installation.
    events = alice.receive(rewrap(data, bundle=carol.bundle(), sender=carol.installation_id))
    assert [e.reason for e in undecryptable(events)] == ["NO_SESSION"]
    assert not [e for e in events if isinstance(e, BundleUpdated | InstallationAdded)]
    with pytest.raises(UnknownContact):
        alice.contact(carol.account_id)
    # A known account's bundle with another identity: rejected, not stored.
    stored = alice.contact("bob")
    w.clock.now += 10
    fake = same_signing_key_other_dh(bob, w.clock.now)
    events = alice.receive(rewrap(bob.send("alice", b"fake"), bundle=fake))
    assert BundleRejected(bob.account_id, "IDENTITY_MISMATCH") in events
    assert texts(events) == [b"fake"]
    assert alice.contact("bob") == stored
    # A bundle that does not verify: rejected, not stored.
    newer = bob.bundle()
    forged = dataclasses.replace(newer, timestamp=newer.timestamp + 100)
    events = alice.receive(rewrap(bob.send("alice", b"forged"), bundle=forged))
    assert BundleRejected(bob.account_id, "BUNDLE_SIGNATURE_INVALID") in events
    assert alice.contact("bob").bundle_timestamp == stored.bundle_timestamp
    # The authenticated sender's own bundle, unknown before: stored.
    carol.add_contact(alice.contact_code(), "alice")
    events = alice.receive(carol.send("alice", b"hello from carol"))
    assert BundleUpdated(carol.account_id, carol.bundle().timestamp) in events
    assert alice.contact(carol.account_id).installations == (carol.installation_id,)


# -- FANOUT-001, MULTI-002, MULTI-004: who gets a copy ----------------------------------


@pytest.mark.requirement("FANOUT-001", "MULTI-002")
def test_one_envelope_one_copy_per_known_installation_each_in_its_own_session(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    bob2 = w.link(bob, "bob2")
    w.pump(bob)
    alice2 = w.link(alice, "alice2")
    w.pump(alice)
    alice.add_contact(bob.contact_code(), "bob")  # lists bob and bob2
    env = decode_envelope(w.send(alice, "bob", b"to every installation"))
    targets = {bob.installation_id, bob2.installation_id, alice2.installation_id}
    assert [c.recipient_installation_id for c in env.messages].count(None) == 0
    assert sorted(c.recipient_installation_id for c in env.messages) == sorted(targets)
    # each copy in the chosen session with its own installation
    chosen = {iid: active_session(alice, iid) for iid in targets}
    assert len(set(chosen.values())) == 3
    for copy in env.messages:
        header = decode_ratchet_message(copy.body).x3dh_header
        if header is not None:  # a session this message starts
            assert header.ephemeral_key == chosen[copy.recipient_installation_id]
    assert texts(w.pump(bob)) == [b"to every installation"]
    assert texts(w.pump(bob2)) == [b"to every installation"]
    assert texts(w.pump(alice2), MessageSynced) == [b"to every installation"]


@pytest.mark.requirement("MULTI-002", "MULTI-004")
def test_known_installations_come_from_sessions_and_fresh_bundles_only(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    # bob3 starts a session with alice; its envelope carries no bundle.
    bob3 = w.link(bob, "bob3")
    w.pump(bob)
    events = alice.receive(rewrap(bob3.send("alice", b"from bob3"), bundle=None))
    assert texts(events) == [b"from bob3"]
    assert InstallationAdded(bob.account_id, bob3.installation_id, False) in events
    env = decode_envelope(alice.send("bob", b"to both"))
    assert {c.recipient_installation_id for c in env.messages} == {
        bob.installation_id,
        bob3.installation_id,
    }
    # bob4 is only in a bundle, which then goes stale: no copy for it.
    bob4 = w.link(bob, "bob4")
    w.pump(bob)
    alice.add_contact(bob.contact_code(), update=True)  # a known contact's newer code
    assert bob4.installation_id in alice.contact("bob").installations
    w.clock.now += 31 * DAY
    env = decode_envelope(alice.send("bob", b"later"))
    assert {c.recipient_installation_id for c in env.messages} == {
        bob.installation_id,
        bob3.installation_id,
    }
    assert all(c.kind == "ratchet" for c in env.messages)


@pytest.mark.requirement("MULTI-004")
def test_a_session_from_an_unknown_account_is_accepted_and_announced(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    events = bob.receive(alice.send("bob", b"we have not met"))
    assert texts(events) == [b"we have not met"]
    assert InstallationAdded(alice.account_id, alice.installation_id, False) in events
    assert bob.contact(alice.account_id).installations == (alice.installation_id,)


# -- MULTI-003: which copy a receiver takes ------------------------------------------


@pytest.mark.requirement("MULTI-003")
def test_receiver_takes_its_copy_else_the_no_bundle_copy_else_reports(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    carol = w.account("carol")
    data = alice.send("bob", b"for bob")
    # Not addressed to carol: an event, not silence.
    [event] = carol.receive(data)
    assert isinstance(event, UndecryptableMessage) and event.reason == "NOT_ADDRESSED"
    assert event.installation == alice.installation_id
    # Its own copy wins over a no-bundle copy in the same envelope.
    to_carol = P.encode_payload(P.Payload(P.TEXT, MID, b"for carol"))
    stray = seal_no_bundle(
        alice._identity, alice.installation_id, carol.identity, to_carol, rng=w.rng
    )
    env = decode_envelope(data)
    both = rewrap(data, copies=[InstallationMessage(None, "no_bundle", stray), *env.messages])
    assert texts(bob.receive(both)) == [b"for bob"]
    # Carol, with no copy of her own, takes the no-bundle copy.
    events = carol.receive(both)
    assert [(e.plaintext, e.forward_secret) for e in events if isinstance(e, MessageReceived)] == [
        (b"for carol", False)
    ]
    assert not undecryptable(events)
    # An envelope from the receiver's own installation id is ignored.
    history, sessions = alice.history(), alice.session_count()
    assert alice.receive(data) == []
    assert (alice.history(), alice.session_count()) == (history, sessions)


# -- KEYS-002: installations share the identity ----------------------------------------


@pytest.mark.requirement("KEYS-002")
def test_every_installation_holds_the_same_identity_key_pair(tmp_path):
    w = World(tmp_path)
    alice = w.account("alice")
    alice2 = w.link(alice, "alice2")
    restored = w.link(alice, "alice-restored", restore=True)
    for other in (alice2, restored):
        assert other.account_id == alice.account_id
        assert other.identity == alice.identity
        assert other._identity.signing.private_bytes() == alice._identity.signing.private_bytes()
        assert other._identity.dh.private_bytes() == alice._identity.dh.private_bytes()
        spk = other._installation.current_signed_prekey.key_pair.public
        assert spk != alice._installation.current_signed_prekey.key_pair.public
    assert alice2.installation_id != alice.installation_id
    assert restored.installation_id == alice.installation_id


# -- PAYLOAD-001: the plaintext layout -------------------------------------------------


@pytest.mark.requirement("PAYLOAD-001")
def test_every_plaintext_is_kind_message_id_peer_body(tmp_path, monkeypatch):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice2 = w.link(alice, "alice2")
    w.pump(alice)
    alice.add_contact(bob.contact_code(), "bob")
    seen: list[tuple[bytes, bytes]] = []
    original = Session.encrypt

    def spy(self, plaintext: bytes) -> bytes:
        seen.append((self.remote_installation_id, plaintext))
        return original(self, plaintext)

    monkeypatch.setattr(Session, "encrypt", spy)
    w.send(alice, "bob", b"body bytes")
    message_id = alice.history()[-1].message_id
    plaintexts = dict(seen)
    assert set(plaintexts) == {bob.installation_id, alice2.installation_id}
    assert plaintexts[bob.installation_id] == b"\x01" + message_id + b"body bytes"
    assert plaintexts[alice2.installation_id] == (
        b"\x02" + message_id + bob.account_id + b"body bytes"
    )
    # message ids are random: another message has another one
    seen.clear()
    w.send(alice, "bob", b"body bytes")
    assert {p[1:17] for _i, p in seen} != {message_id}
    assert len({p[1:17] for _i, p in seen}) == 1
    # control payloads: kind and message id, no body
    seen.clear()
    alice3 = w.link(alice, "alice3")  # announces itself with HELLO
    hello = [p for i, p in seen if i == alice.installation_id]
    assert len(hello) == 1 and hello[0][0] == 4 and len(hello[0]) == 17
    assert alice3.installation_id != alice.installation_id
    # and the no-bundle copy carries the same layout
    sealed: list[bytes] = []
    original_seal = seal_no_bundle

    def seal_spy(identity, iid, recipient, plaintext, **kw):
        sealed.append(plaintext)
        return original_seal(identity, iid, recipient, plaintext, **kw)

    monkeypatch.setattr("parley.client.sending.seal_no_bundle", seal_spy)
    carol = w.account("carol")
    code = carol.contact_code()
    w.clock.now += 31 * DAY
    alice.add_contact(code, "carol")
    alice.send("carol", b"no bundle")
    [plaintext] = sealed
    assert plaintext == b"\x01" + alice.history()[-1].message_id + b"no bundle"


# -- PAYLOAD-002, PAYLOAD-003: what a receiver rejects or ignores ----------------------


@pytest.mark.requirement("PAYLOAD-002")
@pytest.mark.parametrize(
    "plaintext",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x01" + MID[:15], id="16-bytes"),
        pytest.param(b"\x00" + MID + b"body", id="kind-0"),
        pytest.param(b"\x05" + MID + b"body", id="kind-5"),
        pytest.param(b"\xff" + MID, id="kind-255"),
        pytest.param(b"\x02" + MID + bytes(31), id="sent-48-bytes"),
        pytest.param(b"\x03" + MID + b"x", id="reset-with-body"),
        pytest.param(b"\x04" + MID + b"x", id="hello-with-body"),
    ],
)
def test_a_malformed_payload_is_an_undecryptable_event_after_the_ratchet_moved(tmp_path, plaintext):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    data = raw_envelope(alice, bob.account_id, bob.installation_id, plaintext)
    history = bob.history()
    events = bob.receive(data)
    assert events == [
        UndecryptableMessage(alice.account_id, alice.installation_id, "MALFORMED_MESSAGE")
    ]
    assert bob.history() == history
    # The message was authentic: its key is used up, the session goes on.
    again = rewrap(data, bundle=alice.bundle())
    assert [e.reason for e in undecryptable(bob.receive(again))] == ["DUPLICATE_MESSAGE"]
    w.send(alice, "bob", b"next")
    assert texts(w.pump(bob)) == [b"next"]


@pytest.mark.requirement("PAYLOAD-002")
def test_the_shortest_payloads_are_accepted(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    events = bob.receive(raw_envelope(alice, bob.account_id, bob.installation_id, b"\x01" + MID))
    assert [(e.plaintext, e.message_id) for e in events] == [(b"", MID)]
    for kind in (P.RESET, P.HELLO):
        data = raw_envelope(alice, bob.account_id, bob.installation_id, bytes([kind]) + MID)
        assert not undecryptable(bob.receive(data))


@pytest.mark.requirement("PAYLOAD-003")
def test_text_only_from_others_and_sent_only_from_own_installations(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    alice2 = w.link(alice, "alice2")
    w.pump(alice)
    # A SENT payload from another account is not accepted.
    sent = b"\x02" + MID + alice.account_id + b"pretend I am you"
    events = bob.receive(raw_envelope(alice, bob.account_id, bob.installation_id, sent))
    assert not [e for e in events if isinstance(e, MessageSynced | MessageReceived)]
    assert [h.body for h in bob.history()] == [b"hello", b"hi"]
    # A TEXT payload from an own installation is not delivered.
    text = b"\x01" + MID + b"talking to myself"
    events = alice.receive(raw_envelope(alice2, alice.account_id, alice.installation_id, text))
    assert not [e for e in events if isinstance(e, MessageReceived)]
    # A SENT payload from an own installation is.
    sent = b"\x02" + MID + bob.account_id + b"synced"
    events = alice.receive(raw_envelope(alice2, alice.account_id, alice.installation_id, sent))
    assert texts(events, MessageSynced) == [b"synced"]


# -- RESET-001: undecryptable events ---------------------------------------------------


def _secrets_of(acc: Account) -> list[bytes]:
    out = [acc._identity.signing.private_bytes(), acc._identity.dh.private_bytes()]
    out += [s.key_pair.private_bytes() for s in acc._installation.signed_prekeys]
    for (state,) in acc.store.query("SELECT state FROM sessions"):
        r = Session.from_bytes(bytes(state)).ratchet
        out.append(r.root_key.key)
        out += [c.key for c in (r.sending_chain, r.receiving_chain) if c is not None]
        out += list(r.skipped.values())
    return out


@pytest.mark.requirement("RESET-001")
def test_undecryptable_input_is_a_typed_event_without_secrets(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    carol = w.account("carol")
    secret = b"PLAINTEXT-THAT-MUST-NOT-LEAK"
    data = alice.send("bob", secret)
    [copy] = decode_envelope(data).messages
    forged = InstallationMessage(copy.recipient_installation_id, copy.kind, copy.body[:-1] + b"!")
    cases = {
        "INVALID_MAC": (bob, rewrap(data, copies=[forged]), alice.account_id),
        "MALFORMED_MESSAGE": (bob, data[:-3], None),
        "NOT_ADDRESSED": (carol, data, None),
        "NO_SESSION": (
            carol,
            rewrap(data, copies=[InstallationMessage(carol.installation_id, copy.kind, copy.body)]),
            None,
        ),
    }
    secrets = _secrets_of(bob) + _secrets_of(alice) + [secret]
    for reason, (receiver, envelope, sender) in cases.items():
        events = receiver.receive(envelope)
        [event] = undecryptable(events)
        assert event.reason == reason
        assert event.sender == sender
        if reason != "MALFORMED_MESSAGE":  # an envelope that decodes names its sender
            assert event.installation == alice.installation_id
        for f in dataclasses.fields(event):
            value = getattr(event, f.name)
            if isinstance(value, bytes) and f.name != "reset_envelope":
                assert not any(s in value for s in secrets), f.name
        if event.reset_envelope is not None:
            assert not any(s in event.reset_envelope for s in secrets)
        text = repr(event)
        assert not any(s.hex()[:16] in text for s in secrets)
        assert secret.decode() not in text
    # The genuine copy still decrypts: the forgery was reported, nothing else.
    assert texts(bob.receive(data)) == [secret]


# -- RESET-002: RESET payloads -----------------------------------------------------------


@pytest.mark.requirement("RESET-002")
def test_a_no_bundle_reset_starts_a_session_announced_by_hello(tmp_path, monkeypatch):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    old_code = alice.contact_code()
    w.clock.now += 31 * DAY
    bob.add_contact(old_code, "alice")  # identity only: no session, no bundle
    reset = P.encode_payload(P.Payload(P.RESET, MID))
    sealed = seal_no_bundle(bob._identity, bob.installation_id, alice.identity, reset, rng=w.rng)
    copy = InstallationMessage(None, "no_bundle", sealed)
    data = encode_envelope(Envelope(1, bob.installation_id, (copy,), bob.bundle()))
    events = alice.receive(data)
    [event] = [e for e in events if isinstance(e, SessionReset)]
    assert (event.account, event.installation) == (bob.account_id, bob.installation_id)
    assert event.reply_envelope is not None
    [reply] = decode_envelope(event.reply_envelope).messages
    assert reply.recipient_installation_id == bob.installation_id
    assert decode_ratchet_message(reply.body).x3dh_header is not None  # a new session
    kinds: list[int] = []
    original = P.decode_payload

    def spy(data: bytes):
        payload = original(data)
        kinds.append(payload.kind)
        return payload

    monkeypatch.setattr(P, "decode_payload", spy)
    events = bob.receive(event.reply_envelope)
    assert kinds == [P.HELLO]
    assert not undecryptable(events)
    # Bob now writes in that session: forward secret.
    events = alice.receive(bob.send("alice", b"now with a session"))
    assert [(e.plaintext, e.forward_secret) for e in events if isinstance(e, MessageReceived)] == [
        (b"now with a session", True)
    ]


# -- RESET-004, SESSION-010: a new initial message over a confirmed session -------------


@pytest.mark.requirement("RESET-004", "SESSION-010")
def test_an_initial_message_over_a_confirmed_session_becomes_the_chosen_one(tmp_path):
    w = World(tmp_path, seed=b"reset-004 0")
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    # Bob initiates, Alice replies: Bob's session is one he initiated, confirmed.
    w.send(bob, "alice", b"b1")
    w.pump(alice)
    w.send(alice, "bob", b"a1")
    assert texts(w.pump(bob)) == [b"a1"]
    old = active_session(bob, alice.installation_id)
    # Alice restores on a new device (same installation id, no sessions) and writes.
    backup = alice.export_link(restore=True)
    alice.close()
    restored = Account.from_link(
        tmp_path / "restored.db", "pass", backup, rng=w.rng, clock=w.clock, kdf_iterations=KDF
    )
    w.send(restored, "bob", b"after restore")
    assert texts(w.pump(bob)) == [b"after restore"]
    new = active_session(bob, alice.installation_id)
    # Not the smaller-id rule: the new session is chosen although its id is larger.
    assert new != old and new > old
    w.send(bob, "alice", b"welcome back")
    assert texts(w.pump(restored)) == [b"welcome back"]
    w.send(restored, "bob", b"thanks")
    assert texts(w.pump(bob)) == [b"thanks"]
    assert active_session(bob, alice.installation_id) == new
    assert bob.session_count() == 1  # the old one is gone once the new one decrypted


# -- SESSION-020: one reset for a burst; none without a bundle ---------------------------


def _restore(w: World, acc: Account, name: str) -> Account:
    backup = acc.export_link(restore=True)
    acc.close()
    restored = Account.from_link(
        w.tmp / f"{name}.db", f"{name} pass", backup, rng=w.rng, clock=w.clock, kdf_iterations=KDF
    )
    return restored


@pytest.mark.requirement("SESSION-020")
def test_a_burst_of_undecryptable_messages_starts_one_reset_session(tmp_path, monkeypatch):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    lost = [alice.send("bob", b"lost %d" % i) for i in range(3)]
    restored = _restore(w, bob, "bob-restored")
    resets, reasons = [], []
    for data in lost:
        [event] = undecryptable(restored.receive(data))
        assert event.sender == alice.account_id
        reasons.append(event.reason)
        resets.append(event.reset_envelope)
    # the first finds no session; the next ones fail in the pending reset session
    assert reasons == ["NO_SESSION", "INVALID_MAC", "INVALID_MAC"]
    assert restored.session_count() == 1
    # one RESET per peer installation per RESET_INTERVAL: the burst sends one
    assert resets[0] is not None and resets[1:] == [None, None]
    resets = resets[:1]
    headers = [decode_ratchet_message(decode_envelope(r).messages[0].body) for r in resets]
    assert [h.header.message_number for h in headers] == [0]
    for reset in resets:
        env = decode_envelope(reset)
        assert env.sender_bundle is not None
        assert env.sender_bundle.identity == bob.identity
        [copy] = env.messages
        assert copy.recipient_installation_id == alice.installation_id
    kinds: list[int] = []
    original = P.decode_payload

    def spy(data: bytes):
        payload = original(data)
        kinds.append(payload.kind)
        return payload

    monkeypatch.setattr(P, "decode_payload", spy)
    events = alice.receive(resets[0])
    assert kinds == [P.RESET]
    assert SessionReset(bob.account_id, bob.installation_id) in events
    assert active_session(alice, bob.installation_id) == headers[0].x3dh_header.ephemeral_key
    monkeypatch.undo()
    assert texts(restored.receive(alice.send("bob", b"repaired"))) == [b"repaired"]


@pytest.mark.requirement("SESSION-020")
def test_no_reset_without_a_usable_bundle_of_the_peer(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    restored = _restore(w, bob, "bob-restored")
    w.clock.now += 31 * DAY  # the copy of Alice's bundle that Bob has is now stale
    data = alice.send("bob", b"lost")
    assert decode_envelope(data).sender_bundle is not None  # Alice re-signed: a fresh one
    # Without it, Bob has no usable bundle of Alice.
    [event] = undecryptable(restored.receive(rewrap(data, bundle=None)))
    assert (event.reason, event.sender) == ("NO_SESSION", alice.account_id)
    assert event.reset_envelope is None
    assert restored.session_count() == 0


# -- NOBUNDLE-020: the no-bundle replay cache ------------------------------------------


@pytest.mark.requirement("NOBUNDLE-020", "NOBUNDLE-011")
def test_no_bundle_replay_cache_records_after_decryption_and_never_expires(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    code = alice.contact_code()
    w.clock.now += 31 * DAY
    bob.add_contact(code, "alice")
    data = bob.send("alice", b"once")
    [copy] = decode_envelope(data).messages
    assert copy.kind == "no_bundle"
    # A forgery with the same EK first: rejected, and the EK is not recorded.
    forged = InstallationMessage(None, "no_bundle", copy.body[:-1] + bytes([copy.body[-1] ^ 1]))
    [event] = undecryptable(alice.receive(rewrap(data, copies=[forged])))
    assert event.reason == "INVALID_MAC"
    assert texts(alice.receive(data)) == [b"once"]
    # Long after, in another envelope, after a restart: still a replay.
    w.clock.now += 400 * DAY
    alice = w.reopen(alice, "alice")
    [event] = undecryptable(alice.receive(rewrap(data, bundle=None)))
    assert event.reason == "REPLAYED_INITIAL_MESSAGE"
    assert len(alice.history()) == 1
    # NOBUNDLE-011: the cache comes before the MAC, so an altered copy of an
    # accepted message is a replay too, not a forgery.
    [event] = undecryptable(alice.receive(rewrap(data, copies=[forged], bundle=None)))
    assert event.reason == "REPLAYED_INITIAL_MESSAGE"


# -- SEC-001: the replay guard is durable and atomic with the sessions -------------------


class Crash(Exception):
    pass


def _guard(acc: Account) -> set[bytes]:
    keys = load_installation(acc.store.get_meta("installation"))
    return set().union(*keys.seen_initial_messages.values())


@pytest.mark.requirement("SEC-001")
def test_replay_guard_commits_with_the_session_and_survives_restarts(tmp_path, monkeypatch):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    initial = alice.send("bob", b"initial")
    ek = decode_ratchet_message(decode_envelope(initial).messages[0].body).x3dh_header
    ek = ek.ephemeral_key
    # Interrupt Bob's receive at each of its write points in turn.
    point = 0
    while True:
        point += 1
        assert point < 100
        calls = 0

        def hook(_what: str, stop=point) -> None:
            nonlocal calls
            calls += 1
            if calls == stop:
                raise Crash

        monkeypatch.setattr(store_module, "WRITE_HOOK", hook)
        try:
            bob.receive(initial)
            crashed = False
        except Crash:
            crashed = True
        monkeypatch.setattr(store_module, "WRITE_HOOK", None)
        bob = w.reopen(bob, "bob")
        # The guard and the session are there together, or neither is.
        assert (ek in _guard(bob)) == (bob.session_count() == 1)
        if not crashed:
            break
    assert point > 3 and ek in _guard(bob)
    # The session goes (a restored Alice starts a new one, which is then used),
    # and the guard alone still refuses the old initial message.
    restored = _restore(w, alice, "alice-restored")
    for text in (b"new 1", b"new 2"):
        assert texts(bob.receive(restored.send("bob", text))) == [text]
    sessions = [bytes(s) for (s,) in bob.store.query("SELECT session_id FROM sessions")]
    assert ek not in sessions
    bob = w.reopen(bob, "bob")
    [event] = undecryptable(bob.receive(rewrap(initial, bundle=None)))
    assert event.reason == "REPLAYED_INITIAL_MESSAGE"


# -- VERSION-011: a no-bundle message in the sender's highest writable version -----------


@pytest.mark.requirement("VERSION-011")
def test_no_bundle_message_is_written_in_the_highest_writable_version(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    code = alice.contact_code()
    bob.close()
    policy = VersionPolicy(frozenset({1, 2}), 2)
    bob = Account(
        Store.open(tmp_path / "bob.db", "bob pass", kdf_iterations=KDF),
        rng=w.rng,
        clock=w.clock,
        policy=policy,
    )
    w.clock.now += 31 * DAY
    bob.add_contact(code, "alice")
    env = decode_envelope(bob.send("alice", b"v2"), policy)
    [copy] = env.messages
    assert copy.kind == "no_bundle"
    assert decode_no_bundle_message(copy.body, policy).header.version == 2


# -- BUNDLE-021, BUNDLE-022, KEYS-006 (SHOULD) ---------------------------------------------


@pytest.mark.requirement("BUNDLE-021")
def test_the_newest_bundle_is_kept(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    old = bob.bundle()
    w.clock.now += 2 * DAY
    new = bob.bundle()
    assert new.timestamp > old.timestamp
    _, events = alice.add_contact(new, update=True)
    assert alice.contact("bob").bundle_timestamp == new.timestamp
    _, events = alice.add_contact(old, update=True)
    assert events == [] and alice.contact("bob").bundle_timestamp == new.timestamp
    # An attached bundle of an equal timestamp, with other entries, is not taken.
    carol = w.account("carol")
    extra = InstallationPreKeys.of(carol._installation)
    same_time = Bundle.create(bob._identity, [*new.installations, extra], new.timestamp)
    events = alice.receive(rewrap(bob.send("alice", b"x"), bundle=same_time))
    assert not [e for e in events if isinstance(e, BundleUpdated | InstallationAdded)]
    assert carol.installation_id not in alice.contact("bob").installations


@pytest.mark.requirement("BUNDLE-022")
def test_own_bundle_is_re_signed_when_entries_change_or_after_a_day(tmp_path):
    w = World(tmp_path)
    alice = w.account("alice")
    first = alice.bundle()
    w.clock.now += DAY - 1
    assert alice.bundle() == first
    w.clock.now += 1
    daily = alice.bundle()
    assert daily.timestamp > first.timestamp and daily.installations == first.installations
    # A rotated signed prekey: a new bundle at once.
    w.clock.now += 7 * DAY - DAY
    rotated = alice.bundle()
    assert rotated.timestamp > daily.timestamp
    assert rotated.installations[0].signed_prekey != daily.installations[0].signed_prekey
    # An installation added: a new bundle listing it.
    w.clock.now += 60
    alice2 = w.link(alice, "alice2")
    w.pump(alice)
    added = alice.bundle()
    assert added.timestamp > rotated.timestamp
    assert set(added.installation_ids) == {alice.installation_id, alice2.installation_id}


@pytest.mark.requirement("KEYS-006")
def test_fingerprints_compare_and_identity_changes_are_flagged(tmp_path):
    w = World(tmp_path)
    alice, bob = confirmed_pair(w)
    assert alice.contact("bob").fingerprint == bob.fingerprint == bob.identity.fingerprint()
    fake = same_signing_key_other_dh(bob, w.clock.now)
    with pytest.raises(InvalidContactCode, match="identity differs"):
        alice.add_contact(fake, "bob")
    events = alice.receive(rewrap(bob.send("alice", b"x"), bundle=fake))
    assert BundleRejected(bob.account_id, "IDENTITY_MISMATCH") in events
