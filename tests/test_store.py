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


def _run_worker(root: Path, limit: int, tag: str, phase: str) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, str(WORKER), str(root), str(limit), tag, phase],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert not result.stderr.strip() or result.returncode == -9, result.stderr
    return result.returncode, result.stdout.split("\n")


@pytest.mark.requirement("STORE-003", "STORE-005")
def test_sigkill_at_every_write_point_never_reuses_a_key_or_loses_a_message(tmp_path):
    """Bob's process is killed at its 1st, 2nd, ... write point until a run ends
    by itself (write points: the store's statements and commits, the mailbox's
    tmp file and rename). After every kill: each message whose ``receive``
    returned is in his history; every envelope he handed out decrypts at Alice;
    no (ratchet key, message number) was ever used for two ciphertexts; in the
    end every message Alice sent was received exactly once, every reply Bob's
    history shows reached Alice's application exactly once, and no
    half-written file is left in the mailbox."""
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    mailbox = MailboxTransport(tmp_path / "mailbox")
    for acc in (alice, bob):
        mailbox.register(acc.account_id, acc.installation_id)
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    bob.close()
    sent_ids: list[bytes] = []
    used_keys: dict[tuple[bytes, int], bytes] = {}  # (ratchet key, n) -> the ciphertext
    replies_seen: list[bytes] = []  # Bob's replies as Alice's application saw them first
    got_total: list[str] = []
    # First killed anywhere (mostly while receiving, as the backlog grows),
    # then only in the send phase: through the outbox, into the mailbox.
    for phase in ("all", "send"):
        limit = 0
        while True:
            limit += 1
            assert limit < 200, "the worker never finished"
            for i in range(2):
                env = alice.send("bob", b"msg %d.%d" % (limit, i))
                sent_ids.append(alice.history()[-1].message_id)
                mailbox.deliver(env, account=bob.account_id)
            code, lines = _run_worker(tmp_path, limit, f"{phase}{limit}", phase)
            got = [line.split()[1] for line in lines if line.startswith("GOT")]
            got_total += got
            # Alice reads what Bob sent: never a reused or undecryptable key. The
            # same envelope may come twice (killed after the mailbox took it, before
            # the outbox marked it): Alice's application sees it once, then flagged.
            for item in mailbox.fetch(alice.installation_id):
                env = decode_envelope(item.data)
                for copy in env.messages:
                    header = decode_ratchet_message(copy.body).header
                    key = (header.ratchet_key, header.message_number)
                    assert used_keys.setdefault(key, copy.body) == copy.body, "a key used twice"
                events = alice.receive(item.data)
                assert not [e for e in events if isinstance(e, UndecryptableMessage)], events
                replies_seen += [
                    e.message_id
                    for e in events
                    if isinstance(e, MessageReceived) and not e.redelivered
                ]
                mailbox.ack(alice.installation_id, item.handle)
            # What receive returned survived the kill.
            with Account.open(
                tmp_path / "bob.db", "bob pass", clock=lambda: T0, kdf_iterations=KDF
            ) as check:
                stored = {
                    h.message_id.hex() for h in check.history(limit=10_000) if h.direction == "in"
                }
            assert set(got_total) <= stored
            if code == 0:
                assert any(line.startswith("DONE") for line in lines)
                break
            assert code == -9, lines
        assert limit > 10  # the kills covered many write points of this phase
    # every reply Bob committed reached Alice's application exactly once
    with Account.open(
        tmp_path / "bob.db", "bob pass", clock=lambda: T0, kdf_iterations=KDF
    ) as check:
        replies = [h.message_id for h in check.history(limit=10_000) if h.direction == "out"]
        assert check.outbox() == []
    assert len(replies) >= 4  # some runs got as far as sending
    assert sorted(replies_seen) == sorted(replies)
    assert list((tmp_path / "mailbox" / "tmp").iterdir()) == []  # no half-written file left
    # every message was received exactly once, none lost
    with Account.open(
        tmp_path / "bob.db", "bob pass", clock=lambda: T0, kdf_iterations=KDF
    ) as check:
        received = [h.message_id for h in check.history(limit=10_000) if h.direction == "in"]
    assert sorted(received) == sorted(sent_ids)
    # at least once: a message stored by a receive that was killed before it
    # returned is reported when the envelope comes again
    assert set(got_total) == {m.hex() for m in sent_ids}


def test_a_schema_1_store_is_migrated_at_open(tmp_path):
    """A store written before the outbox (schema 1) opens, gains the outbox and
    the pending-contact column, and works."""
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    alice.add_contact(bob.contact_code(), "bob")
    alice.close()
    store = Store.open(tmp_path / "alice.db", "alice pass", kdf_iterations=KDF)
    with store.transaction():
        store.execute("DROP TABLE outbox")
        store.execute("DROP INDEX seen_by_age")
        store.execute("DROP INDEX messages_by_message_id")
        store.execute("DROP TRIGGER forget_account")
        store.execute("ALTER TABLE accounts DROP COLUMN pending")
        store.execute("ALTER TABLE installations DROP COLUMN reset_at")
        store.execute("DROP TRIGGER forget_marks")  # and what schema 5 added
        store.execute("DROP TABLE contact_marks")
    store.set_schema_version(1)
    store.close()
    alice = Account.open(tmp_path / "alice.db", "alice pass", clock=lambda: T0, kdf_iterations=KDF)
    assert alice.store.query("PRAGMA user_version") == [(SCHEMA_VERSION,)]
    envelope = alice.send("bob", b"after the migration")
    assert [e.envelope for e in alice.outbox()] == [envelope]
    assert [e.plaintext for e in bob.receive(envelope) if isinstance(e, MessageReceived)] == [
        b"after the migration"
    ]


def test_a_schema_4_store_gains_the_contact_marks(tmp_path):
    """Schema 5 adds the user's marks (verified, blocked): a schema-4 store opens,
    migrates, and keeps them; removing a contact forgets its marks."""
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    alice.add_contact(bob.contact_code(), "bob")
    alice.close()
    store = Store.open(tmp_path / "alice.db", "alice pass", kdf_iterations=KDF)
    with store.transaction():
        store.execute("DROP TRIGGER forget_marks")
        store.execute("DROP TABLE contact_marks")
    store.set_schema_version(4)
    store.close()
    alice = Account.open(tmp_path / "alice.db", "alice pass", clock=lambda: T0, kdf_iterations=KDF)
    assert alice.store.query("PRAGMA user_version") == [(SCHEMA_VERSION,)] == [(5,)]
    assert not alice.contact("bob").verified
    assert alice.mark_verified("bob").verified and alice.block_contact("bob").blocked
    alice.remove_contact("bob")
    assert alice.store.query("SELECT count(*) FROM contact_marks") == [(0,)]


@pytest.mark.parametrize("pages", [1, 2, 0.5, 1.125, -1])
def test_a_store_cut_short_is_corrupt_not_a_wrong_passphrase(tmp_path, pages):
    """Cut to whole pages, half a page or a multiple of 512 bytes: the right
    passphrase gets STORE_CORRUPT, never STORE_WRONG_PASSPHRASE; the file is
    left as it was."""
    alice, bob = make(tmp_path, "alice"), make(tmp_path, "bob")
    alice.add_contact(bob.contact_code(), "bob")
    for _ in range(20):
        bob.receive(alice.send("bob", bytes(2000)))
    alice.close()
    path = tmp_path / "alice.db"
    data = path.read_bytes()
    cut = len(data) - 4096 if pages == -1 else int(pages * 4096)
    path.write_bytes(data[:cut])
    before = digest(path)
    with pytest.raises(StoreCorrupt) as info:
        Account.open(path, "alice pass", clock=lambda: T0, kdf_iterations=KDF)
    assert info.value.code == "STORE_CORRUPT"
    assert digest(path) == before


def test_a_damaged_first_page_under_the_right_passphrase_is_corrupt(tmp_path):
    alice = make(tmp_path, "alice")
    alice.close()
    path = tmp_path / "alice.db"
    data = bytearray(path.read_bytes())
    data[2000] ^= 0x01  # inside page 1
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt):
        Account.open(path, "alice pass", clock=lambda: T0, kdf_iterations=KDF)
    with pytest.raises(WrongPassphrase):  # a wrong passphrase still says so
        Account.open(path, "not alice", clock=lambda: T0, kdf_iterations=KDF)


def test_the_mailbox_removes_half_written_files_of_writers_that_are_gone(tmp_path):
    """A writer killed between writing tmp/ and the rename leaves a file; it goes
    when a mailbox is opened or fetched, unless its writer still runs."""
    import os
    import time

    from parley.client.transport import TMP_MAX_AGE

    mailbox = MailboxTransport(tmp_path / "mailbox")
    tmp = tmp_path / "mailbox" / "tmp"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp / f"{dead}-00000000000000000001-abcdef.env").write_bytes(b"half")
    (tmp / f"{os.getpid()}-00000000000000000002-abcdef.env").write_bytes(b"being written")
    old = tmp / "00000000000000000003-abcdef.env"  # a name without a pid: by age
    old.write_bytes(b"old")
    os.utime(old, (time.time() - TMP_MAX_AGE - 1,) * 2)
    (tmp / "00000000000000000004-abcdef.env").write_bytes(b"young")
    MailboxTransport(tmp_path / "mailbox")
    assert sorted(p.name for p in tmp.iterdir()) == [
        "00000000000000000004-abcdef.env",
        f"{os.getpid()}-00000000000000000002-abcdef.env",
    ]
    assert mailbox.fetch(bytes(16)) == []


def test_stores_written_by_schema_1_open_and_go_on(tmp_path):
    """tests/fixtures/store_v1_*.db were written by the schema-1 library
    (make_store_v1.py): they open (migrated on a copy), keep their contacts and
    history, and the conversation goes on in both directions."""
    import shutil

    fixtures = Path(__file__).resolve().parent / "fixtures"
    for name in ("alice", "bob"):
        shutil.copy(fixtures / f"store_v1_{name}.db", tmp_path / f"{name}.db")
    kw = {"clock": lambda: T0 + 60, "kdf_iterations": KDF}
    alice = Account.open(tmp_path / "alice.db", "alice v1", **kw)
    bob = Account.open(tmp_path / "bob.db", "bob v1", **kw)
    assert alice.store.query("PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert [c.name for c in alice.contacts()] == ["bob"]
    assert not alice.contact("bob").pending
    assert [h.body for h in bob.history()] == [
        b"v1: hello Bob",
        b"v1: hi Alice",
        b"v1: how are you?",
    ]
    envelope = alice.send("bob", b"schema 2 now")
    assert [e.plaintext for e in bob.receive(envelope) if isinstance(e, MessageReceived)] == [
        b"schema 2 now"
    ]
    reply = bob.send("alice", b"and back")
    assert [e.plaintext for e in alice.receive(reply) if isinstance(e, MessageReceived)] == [
        b"and back"
    ]
