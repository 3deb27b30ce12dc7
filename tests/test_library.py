"""The library (parley.client): accounts, contact codes, fan-out, sessions, resets.

In-process, over the in-memory transport, with a fixed clock and a cheap
store KDF (the store's own tests use the real one).
"""

from __future__ import annotations

import pytest
from library_world import DAY, KDF, T0, World, texts
from parley import Bundle, DeterministicRandom, IdentityKeyPair, InstallationPreKeys
from parley.client import (
    Account,
    BundleRejected,
    CannotSend,
    InstallationAdded,
    InstallationChanged,
    InvalidContactCode,
    InvalidLinkPayload,
    MessageReceived,
    MessageSynced,
    QRCodeUnreadable,
    SessionReset,
    UndecryptableMessage,
    UnknownContact,
    decode_contact_code,
    encode_contact_code,
    read_qr_image,
    write_qr_png,
)
from parley.client.account import new_installation_keys
from parley.client.contact_code import qr_terminal, write_qr_svg
from parley.codec import Envelope, decode_envelope, encode_envelope
from parley.profile import PROFILE_1


def introduce(w: World, a: Account, b: Account, a_name="a", b_name="b"):
    """a adds b's code and b adds a's code."""
    a.add_contact(b.contact_code(), b_name)
    b.add_contact(a.contact_code(), a_name)


# -- contact codes -------------------------------------------------------------------


def _bundle(seed=b"code", now=T0):
    rng = DeterministicRandom(seed)
    identity = IdentityKeyPair.generate(rng)
    keys = new_installation_keys(rng, now)
    return Bundle.create(identity, [InstallationPreKeys.of(keys)], now)


@pytest.mark.requirement("CONTACT-002")
def test_contact_code_round_trip_and_form():
    bundle = _bundle()
    code = encode_contact_code(bundle)
    assert code.startswith("parley1:") and code == code.lower() and "=" not in code
    assert decode_contact_code(code) == bundle
    assert decode_contact_code(" " + code.upper()[:30] + "\n" + code.upper()[30:]) == bundle


@pytest.mark.requirement("CONTACT-003")
@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c.replace("parley1:", "parley2:"),
        lambda c: c[:-1] + ("a" if c[-1] != "a" else "b"),  # checksum
        lambda c: c[:20] + "1" + c[21:],  # not base32
        lambda c: c[:12],
        lambda c: "parley1:",
        lambda c: c + "a",  # impossible length or checksum
    ],
)
def test_contact_code_rejects_damage(mangle):
    with pytest.raises(InvalidContactCode):
        decode_contact_code(mangle(encode_contact_code(_bundle())))


@pytest.mark.requirement("CONTACT-003")
def test_contact_code_rejects_unknown_version_and_non_bundle():
    import base64
    import hashlib

    def code_of(body: bytes) -> str:
        raw = body + hashlib.sha256(body).digest()[:4]
        return "parley1:" + base64.b32encode(raw).decode().rstrip("=").lower()

    with pytest.raises(InvalidContactCode, match="version 2"):
        decode_contact_code(code_of(b"\x02" + _bundle().to_bytes()))
    with pytest.raises(InvalidContactCode, match="no valid bundle"):
        decode_contact_code(code_of(b"\x01" + b"\xff\xff\xff"))


def test_qr_png_round_trip(tmp_path):
    code = encode_contact_code(_bundle())
    write_qr_png(code, tmp_path / "code.png")
    assert read_qr_image(tmp_path / "code.png") == code
    write_qr_svg(code, tmp_path / "code.svg")
    assert (tmp_path / "code.svg").read_text().startswith("<?xml")
    assert "\u2584" in qr_terminal(code)


def test_qr_unreadable(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not an image")
    with pytest.raises(QRCodeUnreadable):
        read_qr_image(tmp_path / "x.png")
    import segno

    segno.make_qr("hello").save(str(tmp_path / "other.png"), scale=4)
    with pytest.raises(QRCodeUnreadable, match="no Parley contact code"):
        read_qr_image(tmp_path / "other.png")


# -- conversations ---------------------------------------------------------------------


def test_first_message_and_reply(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    _contact, events = alice.add_contact(bob.contact_code(), "bob")
    assert [type(e).__name__ for e in events] == ["BundleUpdated", "InstallationAdded"]
    w.send(alice, "bob", b"hello")
    got = w.pump(bob)
    [msg] = [e for e in got if isinstance(e, MessageReceived)]
    assert (msg.plaintext, msg.forward_secret, msg.sender) == (b"hello", True, alice.account_id)
    assert b"hello" not in repr(msg).encode()
    # Bob learned Alice (her bundle came with the message) and can reply.
    w.send(bob, alice.account_id, b"hi")
    assert texts(w.pump(alice)) == [b"hi"]
    assert [(h.direction, h.body) for h in alice.history("bob")] == [
        ("out", b"hello"),
        ("in", b"hi"),
    ]


@pytest.mark.requirement("BUNDLE-030", "PRIV-001")
def test_bundle_attached_until_the_peer_replies(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    first = w.send(alice, "bob", b"1")
    second = w.send(alice, "bob", b"2")
    assert decode_envelope(first).sender_bundle is not None
    assert decode_envelope(second).sender_bundle is not None
    w.pump(bob)
    w.send(bob, alice.account_id, b"reply")
    w.pump(alice)
    assert decode_envelope(w.send(alice, "bob", b"3")).sender_bundle is None


@pytest.mark.requirement("FANOUT-001")
def test_fan_out_to_every_installation_and_offline_catch_up(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice2 = w.link(alice, "alice2")
    added = w.pump(alice)
    assert InstallationAdded(alice.account_id, alice2.installation_id, own=True) in added
    assert {i.installation_id for i in alice.installations()} == {
        alice.installation_id,
        alice2.installation_id,
    }
    introduce(w, alice, bob, "alice", "bob")
    envelope = decode_envelope(w.send(alice, "bob", b"to bob"))
    # FANOUT-001: one copy for Bob's installation, one for Alice's other one.
    assert {c.recipient_installation_id for c in envelope.messages} == {
        bob.installation_id,
        alice2.installation_id,
    }
    assert texts(w.pump(bob)) == [b"to bob"]
    # Alice's code, added after the link, already named both installations.
    assert set(bob.contact("alice").installations) == {
        alice.installation_id,
        alice2.installation_id,
    }
    w.send(bob, "alice", b"to both")
    assert texts(w.pump(alice)) == [b"to both"]
    # alice2 was offline: it catches up on everything, in order.
    got = w.pump(alice2)
    assert texts(got, MessageSynced) == [b"to bob"]
    assert texts(got) == [b"to both"]
    synced = next(e for e in got if isinstance(e, MessageSynced))
    assert synced.peer == bob.account_id
    # and alice2 writes too: Bob and alice get it.
    w.send(alice2, bob.account_id, b"from alice2")
    assert texts(w.pump(bob)) == [b"from alice2"]
    assert texts(w.pump(alice), MessageSynced) == [b"from alice2"]


@pytest.mark.requirement("MULTI-002", "NOBUNDLE-003", "CONTACT-006")
def test_no_bundle_first_message_upgrades_on_reply(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    old_code = alice.contact_code()
    w.clock.now += 31 * DAY  # Alice's code is now older than the maximum bundle age
    contact, events = bob.add_contact(old_code, "alice")
    assert contact.installations == () and events == []
    envelope = decode_envelope(w.send(bob, "alice", b"no bundle yet"))
    [copy] = envelope.messages
    assert copy.kind == "no_bundle" and copy.recipient_installation_id is None
    assert envelope.sender_bundle is not None  # NOBUNDLE-003
    got = w.pump(alice)
    [msg] = [e for e in got if isinstance(e, MessageReceived)]
    assert msg.plaintext == b"no bundle yet" and msg.forward_secret is False
    # The same bytes again (a replay) give nothing new.
    assert alice.history()[-1].forward_secret is False
    # Alice replies: a forward-secret session from the bundle Bob attached.
    w.send(alice, bob.account_id, b"now forward secret")
    got = w.pump(bob)
    assert [(m.plaintext, m.forward_secret) for m in got if isinstance(m, MessageReceived)] == [
        (b"now forward secret", True)
    ]
    w.send(bob, "alice", b"and back")
    assert [
        (m.plaintext, m.forward_secret) for m in w.pump(alice) if isinstance(m, MessageReceived)
    ] == [(b"and back", True)]


@pytest.mark.requirement("NOBUNDLE-020")
def test_no_bundle_replay_is_rejected(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    code = alice.contact_code()
    w.clock.now += 31 * DAY
    bob.add_contact(code, "alice")
    data = bob.send("alice", b"once")
    assert texts(alice.receive(data)) == [b"once"]
    assert texts(alice.receive(data)) == [
        b"once"
    ]  # same envelope: reported again, not stored again
    # the same no-bundle copy in another envelope: the replay cache (NOBUNDLE-020)
    env = decode_envelope(data)
    other = encode_envelope(Envelope(env.version, env.sender_installation_id, env.messages))
    [event] = alice.receive(other)
    assert isinstance(event, UndecryptableMessage)
    assert event.reason == "REPLAYED_INITIAL_MESSAGE" and event.reset_envelope is None


@pytest.mark.requirement("SESSION-010")
def test_simultaneous_initiation_resolves_identically(tmp_path):
    """SESSION-010: both send first; both keep the session with the lower id."""
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    introduce(w, alice, bob)
    w.send(alice, "b", b"from alice")
    w.send(bob, "a", b"from bob")
    assert texts(w.pump(alice)) == [b"from bob"]
    assert texts(w.pump(bob)) == [b"from alice"]

    def active(acc: Account, peer: Account) -> bytes:
        [(sid,)] = acc.store.query(
            "SELECT session_id FROM sessions WHERE installation_id = ? AND active = 1",
            (peer.installation_id,),
        )
        return bytes(sid)

    a_sid, b_sid = active(alice, bob), active(bob, alice)
    assert a_sid == b_sid
    all_ids = {bytes(r[0]) for r in alice.store.query("SELECT session_id FROM sessions")}
    assert len(all_ids) == 2 and a_sid == min(all_ids)
    for i in range(3):
        w.send(alice, "b", b"a%d" % i)
        w.send(bob, "a", b"b%d" % i)
        assert texts(w.pump(bob)) == [b"a%d" % i]
        assert texts(w.pump(alice)) == [b"b%d" % i]
    # the other session is gone once the chosen one decrypted (SESSION-010)
    assert alice.session_count() == 1 and bob.session_count() == 1


@pytest.mark.requirement("SESSION-020", "RESET-001", "RESET-002")
def test_restored_installation_recovers_through_reset(tmp_path):
    """SESSION-020: a restore loses the sessions; the reset flow repairs them."""
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    introduce(w, alice, bob, "alice", "bob")
    w.send(alice, "bob", b"before")
    w.pump(bob)
    w.send(bob, "alice", b"ack")
    w.pump(alice)
    backup = bob.export_link(restore=True)
    bob.close()
    restored = Account.from_link(
        tmp_path / "restored.db", "pass", backup, rng=w.rng, clock=w.clock, kdf_iterations=KDF
    )
    assert restored.installation_id == bob.installation_id
    assert restored.contact("alice").account == alice.account_id
    w.send(alice, "bob", b"lost")
    [event] = [e for e in w.pump(restored) if isinstance(e, UndecryptableMessage)]
    assert event.reason == "NO_SESSION" and event.sender == alice.account_id
    assert event.reset_envelope is not None
    got = w.pump(alice)
    assert SessionReset(bob.account_id, bob.installation_id) in got
    assert InstallationChanged(bob.account_id, bob.installation_id) in got
    w.send(alice, "bob", b"after")
    assert texts(w.pump(restored)) == [b"after"]
    w.send(restored, "alice", b"thanks")
    assert texts(w.pump(alice)) == [b"thanks"]


@pytest.mark.requirement("SESSION-020", "SESSION-010")
def test_reset_when_prekey_unknown(tmp_path):
    """An initial message for a deleted prekey: UNKNOWN_PREKEY, then a reset."""
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    introduce(w, alice, bob, "alice", "bob")
    initial = alice.send("bob", b"late initial")
    # Bob rotates twice and the grace period passes: the prekey Alice used is gone.
    w.clock.now += 8 * DAY
    bob.bundle()
    w.clock.now += 40 * DAY
    # refresh the bundles: a known contact's code is stored only when asked
    alice.add_contact(bob.contact_code(), update=True)
    bob.add_contact(alice.contact_code(), update=True)
    events = bob.receive(initial)
    [event] = [e for e in events if isinstance(e, UndecryptableMessage)]
    assert event.reason == "UNKNOWN_PREKEY" and event.reset_envelope is not None
    w.net.deliver(event.reset_envelope, account=alice.account_id)
    assert any(isinstance(e, SessionReset) for e in w.pump(alice))
    w.send(alice, "bob", b"again")
    assert texts(w.pump(bob)) == [b"again"]


@pytest.mark.requirement("RESET-001", "BUNDLE-031")
def test_bad_input_becomes_events_never_exceptions(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    introduce(w, alice, bob, "alice", "bob")
    [event] = alice.receive(b"\x00garbage")
    assert isinstance(event, UndecryptableMessage) and event.reason == "MALFORMED_MESSAGE"
    # a stale bundle attached to a message is reported, the message still read
    data = bob.send("alice", b"fine")
    env = decode_envelope(data)
    stale = w.rng and Bundle.create(
        bob._identity, [InstallationPreKeys.of(bob._installation)], T0 - 40 * DAY
    )
    events = alice.receive(
        encode_envelope(Envelope(env.version, env.sender_installation_id, env.messages, stale))
    )
    assert BundleRejected(bob.account_id, "BUNDLE_STALE") in events
    assert texts(events) == [b"fine"]
    # a forged copy: INVALID_MAC
    data = bob.send("alice", b"forged")
    env = decode_envelope(data)
    [copy] = env.messages
    body = bytearray(copy.body)
    body[-1] ^= 1
    forged = type(copy)(copy.recipient_installation_id, copy.kind, bytes(body))
    events = alice.receive(
        encode_envelope(Envelope(env.version, env.sender_installation_id, (forged,)))
    )
    assert [e.reason for e in events if isinstance(e, UndecryptableMessage)] == ["INVALID_MAC"]
    # the real one still decrypts: the forgery changed nothing
    assert texts(alice.receive(data)) == [b"forged"]


@pytest.mark.requirement("PAYLOAD-003")
def test_redelivery_is_harmless(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    data = alice.send("bob", b"once")
    [first] = [e for e in bob.receive(data) if isinstance(e, MessageReceived)]
    # at-least-once: the same envelope again reports the stored message, and
    # stores nothing new
    [again] = bob.receive(data)
    assert again.redelivered and not first.redelivered
    assert (again.message_id, again.plaintext) == (first.message_id, first.plaintext)
    assert len(bob.history()) == 1
    assert bob.session_count() == 1


def test_prekey_rotation_and_deletion(tmp_path):
    w = World(tmp_path)
    alice = w.account("alice")
    first = alice._installation.current_signed_prekey.id
    w.clock.now += PROFILE_1.signed_prekey_rotation
    bundle = alice.bundle()
    assert bundle.installations[0].signed_prekey_id != first
    assert [s.id for s in alice._installation.signed_prekeys][1] == first
    w.clock.now += PROFILE_1.signed_prekey_grace
    alice.bundle()
    assert first not in [s.id for s in alice._installation.signed_prekeys]
    # and it is gone from the store too
    alice.close()
    again = Account.open(tmp_path / "alice.db", "alice pass", clock=w.clock, kdf_iterations=KDF)
    assert first not in [s.id for s in again._installation.signed_prekeys]


def test_contacts_lookup_and_errors(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    alice.add_contact(bob.contact_code(), "bob")
    assert alice.contact(bob.fingerprint[:10]).name == "bob"
    with pytest.raises(UnknownContact):
        alice.contact("nobody")
    with pytest.raises(InvalidContactCode, match="itself"):
        alice.add_contact(alice.contact_code(), "me")
    with pytest.raises(InvalidLinkPayload):
        Account.from_link(tmp_path / "x.db", "p", b"nonsense", kdf_iterations=KDF)
    assert not (tmp_path / "x.db").exists()


@pytest.mark.requirement("WIRE-042")
def test_a_fan_out_above_the_envelope_limit_is_refused_and_changes_nothing(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    introduce(w, alice, bob, "alice", "bob")
    big = bytes(PROFILE_1.max_plaintext_size - 1024)
    # One copy of a plaintext near 1 MiB fits in an envelope...
    w.send(alice, "bob", big)
    assert texts(w.pump(bob)) == [big]
    # ...two copies (Bob and Alice's second installation) do not.
    w.link(alice, "alice2")
    w.pump(alice)
    history = alice.history("bob")
    with pytest.raises(CannotSend):
        alice.send("bob", big)
    assert alice.history("bob") == history
    # Nothing advanced: the next message reaches both installations.
    w.send(alice, "bob", b"still fine")
    assert texts(w.pump(bob)) == [b"still fine"]


def test_adding_a_known_contact_changes_nothing_unless_asked(tmp_path):
    w = World(tmp_path)
    alice, bob = w.account("alice"), w.account("bob")
    first = alice.add_contact(bob.contact_code(), "bob")
    assert (first.known, first.changed, first.contact.name) == (False, True, "bob")
    contact, events = first  # it unpacks as before
    assert contact == first.contact and events == first.events
    w.clock.now += 8 * DAY
    bob.bundle()  # bob rotates: his code now holds a newer bundle
    newer = bob.contact_code()
    before = alice._st.directory.row(bob.account_id)
    again = alice.add_contact(newer, "robert")
    assert (again.known, again.changed, again.events) == (True, False, [])
    assert again.contact.name == "bob"
    assert alice.contact("bob").bundle_timestamp == first.contact.bundle_timestamp
    assert alice._st.directory.row(bob.account_id) == before  # byte for byte
    with pytest.raises(UnknownContact):
        alice.contact("robert")
    # asked: the new name and the newer bundle, together
    updated = alice.add_contact(newer, "robert", update=True)
    assert (updated.known, updated.changed, updated.contact.name) == (True, True, "robert")
    assert updated.contact.bundle_timestamp > first.contact.bundle_timestamp
    assert any(type(e).__name__ == "BundleUpdated" for e in updated.events)
    # update without a name keeps the name
    assert alice.add_contact(newer, update=True).contact.name == "robert"


def test_a_name_another_contact_has_is_refused_with_its_own_code(tmp_path):
    from parley.client import ContactNameTaken

    w = World(tmp_path)
    alice, bob, carol = w.account("alice"), w.account("bob"), w.account("carol")
    alice.add_contact(bob.contact_code(), "bob")
    alice.add_contact(carol.contact_code(), "carol")
    rows = alice._st.directory.contact_rows()
    with pytest.raises(ContactNameTaken, match="'bob'") as info:
        alice.rename_contact("carol", "bob")
    assert info.value.code == "CONTACT_NAME_TAKEN"
    with pytest.raises(ContactNameTaken):  # a known contact's code, asked to take the name
        alice.add_contact(carol.contact_code(), "bob", update=True)
    assert alice._st.directory.contact_rows() == rows  # nothing changed
    dave = w.account("dave")
    with pytest.raises(ContactNameTaken):  # a new contact under a taken name
        alice.add_contact(dave.contact_code(), "carol")
    assert alice._st.directory.contact_rows() == rows
    assert alice.rename_contact("carol", "carol").name == "carol"  # its own name is fine
