"""The encrypted store: atomicity under SIGKILL, typed errors, nothing in the clear."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from parley.client import (
    Account,
    MailboxTransport,
    MessageReceived,
    NoAccount,
    Store,
    StoreCorrupt,
    StoreVersionTooNew,
    UndecryptableMessage,
    WrongPassphrase,
)
from parley.client.store import SCHEMA_VERSION
from parley.codec import decode_envelope, decode_ratchet_message

T0 = 1_767_225_600
KDF = 2
WORKER = Path(__file__).with_name("crash_worker.py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make(tmp_path: Path, name: str, **kw) -> Account:
    return Account.create(
        tmp_path / f"{name}.db", f"{name} pass", clock=lambda: T0, kdf_iterations=KDF, **kw
    )


# -- opening: wrong passphrase, damage, newer schema -------------------------------------


@pytest.fixture
def alice_db(tmp_path) -> Path:
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    alice.add_contact(bob.contact_code(), "bob")
    for i in range(20):
        alice.send("bob", b"x" * 500 + bytes([i]))
    alice.close()
    bob.close()
    return tmp_path / "alice.db"


def open_alice(path: Path, passphrase: str = "alice pass") -> Account:
    return Account.open(path, passphrase, clock=lambda: T0, kdf_iterations=KDF)


def test_reopen_keeps_everything(alice_db):
    with open_alice(alice_db) as alice:
        assert alice.contact("bob").name == "bob"
        assert len(alice.history()) == 20
        assert alice.session_count() == 1


def test_wrong_passphrase_is_typed_and_changes_nothing(alice_db):
    before = digest(alice_db)
    with pytest.raises(WrongPassphrase) as info:
        open_alice(alice_db, "not alice")
    assert info.value.code == "STORE_WRONG_PASSPHRASE"
    assert digest(alice_db) == before
    # default KDF iterations differ from the ones the file was made with: also refused
    with pytest.raises(WrongPassphrase):
        Account.open(alice_db, "alice pass")
    assert digest(alice_db) == before


@pytest.mark.requirement("STORE-001")
def test_corrupt_file_is_typed_and_changes_nothing(alice_db):
    data = bytearray(alice_db.read_bytes())
    assert len(data) >= 4 * 4096
    data[3 * 4096 + 100] ^= 0xFF  # a byte inside the fourth page
    alice_db.write_bytes(bytes(data))
    before = digest(alice_db)
    with pytest.raises(StoreCorrupt) as info:
        open_alice(alice_db)
    assert info.value.code == "STORE_CORRUPT"
    assert digest(alice_db) == before


def test_truncated_file_is_corrupt(alice_db):
    alice_db.write_bytes(alice_db.read_bytes()[:5000])
    before = digest(alice_db)
    with pytest.raises(StoreCorrupt):
        open_alice(alice_db)
    assert digest(alice_db) == before


def test_newer_schema_is_refused_and_changes_nothing(alice_db):
    store = Store.open(alice_db, "alice pass", kdf_iterations=KDF)
    store.set_schema_version(SCHEMA_VERSION + 1)
    store.close()
    before = digest(alice_db)
    with pytest.raises(StoreVersionTooNew) as info:
        open_alice(alice_db)
    assert "upgrade" in info.value.message and info.value.code == "STORE_VERSION_TOO_NEW"
    assert digest(alice_db) == before


def test_missing_store(tmp_path):
    with pytest.raises(NoAccount):
        Account.open(tmp_path / "none.db", "x")


# -- nothing in the clear ------------------------------------------------------------------


@pytest.mark.requirement("STORE-001")
def test_database_file_holds_no_plaintext_key_or_name(tmp_path):
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    name = "Zebediah Quartermaine"
    marker = b"PLAINTEXT-MARKER-4c1f"
    alice.add_contact(bob.contact_code(), name)
    bob.add_contact(alice.contact_code(), "Ophelia Wintergreen")
    for i in range(3):
        for item in [alice.send(name, marker + b" %d" % i)]:
            assert any(isinstance(e, MessageReceived) for e in bob.receive(item))
        alice.receive(bob.send("Ophelia Wintergreen", marker + b" reply %d" % i))
    secrets = {
        "identity signing key": alice._identity.signing.private_bytes(),
        "identity DH key": alice._identity.dh.private_bytes(),
        "signed prekey": alice._installation.current_signed_prekey.key_pair.private_bytes(),
        "bob identity key": bob._identity.signing.private_bytes(),
    }
    # a message key and a root key of a live session
    [(state,)] = alice.store.query("SELECT state FROM sessions")
    from parley.session import Session

    session = Session.from_bytes(bytes(state))
    secrets["root key"] = session.ratchet.root_key.key
    secrets["chain key"] = session.ratchet.sending_chain.key
    assert alice.history()[0].body.startswith(marker)  # it is stored, encrypted
    alice.close()
    bob.close()
    needles = {
        "plaintext": marker,
        "contact name": name.encode(),
        "contact name (utf-16)": name.encode("utf-16-le"),
        "other name": b"Ophelia",
        **secrets,
    }
    files = [p for p in tmp_path.iterdir() if p.name.startswith(("alice.db", "bob.db"))]
    assert files
    for path in files:
        raw = path.read_bytes()
        for what, needle in needles.items():
            assert needle not in raw, f"{what} found in {path.name}"
            assert needle.hex().encode() not in raw, f"{what} (hex) found in {path.name}"


# -- killed at every write point ------------------------------------------------------------


def _run_worker(root: Path, limit: int, tag: str) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, str(WORKER), str(root), str(limit), tag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert not result.stderr.strip() or result.returncode == -9, result.stderr
    return result.returncode, result.stdout.split("\n")


@pytest.mark.requirement("STORE-003")
def test_sigkill_at_every_write_point_never_reuses_a_key_or_loses_a_message(tmp_path):
    """Bob's process is killed at its 1st, 2nd, ... write point until a run ends
    by itself. After every kill: each message whose ``receive`` returned is in
    his history; every envelope he handed out decrypts at Alice; no (ratchet key,
    message number) was ever used twice; in the end every message Alice sent was
    received exactly once."""
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    mailbox = MailboxTransport(tmp_path / "mailbox")
    for acc in (alice, bob):
        mailbox.register(acc.account_id, acc.installation_id)
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    bob.close()
    sent_ids: list[bytes] = []
    seen_headers: set[tuple[bytes, int]] = set()
    got_total: list[str] = []
    limit = 0
    while True:
        limit += 1
        assert limit < 200, "the worker never finished"
        for i in range(2):
            env = alice.send("bob", b"msg %d.%d" % (limit, i))
            sent_ids.append(alice.history()[-1].message_id)
            mailbox.deliver(env, account=bob.account_id)
        code, lines = _run_worker(tmp_path, limit, str(limit))
        got = [line.split()[1] for line in lines if line.startswith("GOT")]
        got_total += got
        # Alice reads what Bob sent: never a reused or undecryptable key.
        for item in mailbox.fetch(alice.installation_id):
            env = decode_envelope(item.data)
            for copy in env.messages:
                header = decode_ratchet_message(copy.body).header
                key = (header.ratchet_key, header.message_number)
                assert key not in seen_headers, "a message key was used twice"
                seen_headers.add(key)
            events = alice.receive(item.data)
            assert not [e for e in events if isinstance(e, UndecryptableMessage)], events
            mailbox.ack(alice.installation_id, item.handle)
        # What receive returned survived the kill.
        with Account.open(
            tmp_path / "bob.db", "bob pass", clock=lambda: T0, kdf_iterations=KDF
        ) as check:
            stored = {h.message_id.hex() for h in check.history() if h.direction == "in"}
        assert set(got_total) <= stored
        if code == 0:
            assert any(line.startswith("DONE") for line in lines)
            break
        assert code == -9, lines
    assert limit > 10  # the kills covered many write points
    # every message was received exactly once, none lost
    with Account.open(
        tmp_path / "bob.db", "bob pass", clock=lambda: T0, kdf_iterations=KDF
    ) as check:
        received = [h.message_id for h in check.history(limit=10_000) if h.direction == "in"]
    assert sorted(received) == sorted(sent_ids)
    # at least once: a message stored by a receive that was killed before it
    # returned is reported when the envelope comes again
    assert set(got_total) == {m.hex() for m in sent_ids}
