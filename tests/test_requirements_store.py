"""The store at rest (spec: storage.md): every record encrypted under a key that
is not beside it, with SQLCipher 4's authenticated defaults."""

from __future__ import annotations

import pytest
from parley import DeterministicRandom
from parley.client import Account, Store, StoreCorrupt, WrongPassphrase
from parley.session import Session

T0 = 1_767_225_600
KDF = 2
SQLITE_HEADER = b"SQLite format 3\x00"


def _make(tmp_path, name: str) -> Account:
    return Account.create(
        tmp_path / f"{name}.db",
        f"{name} secret passphrase",
        rng=DeterministicRandom(name.encode()),
        clock=lambda: T0,
        kdf_iterations=KDF,
    )


@pytest.mark.requirement("STORE-001")
def test_skipped_message_keys_and_every_other_record_are_encrypted_at_rest(tmp_path):
    alice, bob = _make(tmp_path, "alice"), _make(tmp_path, "bob")
    alice.add_contact(bob.contact_code(), "bob")
    bob.add_contact(alice.contact_code(), "alice")
    sent = [alice.send("bob", b"message %d" % i) for i in range(4)]
    bob.receive(sent[3])  # 0, 1 and 2 not yet: their keys are held as skipped keys
    [(state,)] = bob.store.query("SELECT state FROM sessions")
    ratchet = Session.from_bytes(bytes(state)).ratchet
    assert len(ratchet.skipped) == 3
    needles = {f"skipped key {i}": key for i, key in enumerate(ratchet.skipped.values())}
    needles["root key"] = ratchet.root_key.key
    needles["receiving chain key"] = ratchet.receiving_chain.key
    needles["identity signing key"] = bob._identity.signing.private_bytes()
    needles["identity DH key"] = bob._identity.dh.private_bytes()
    needles["signed prekey"] = bob._installation.current_signed_prekey.key_pair.private_bytes()
    needles["passphrase"] = b"bob secret passphrase"
    needles["plaintext"] = b"message 3"
    alice.close()
    bob.close()
    files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("bob.db"))
    assert files
    for path in files:
        raw = path.read_bytes()
        assert not raw.startswith(SQLITE_HEADER), f"{path.name} has a plaintext header"
        for what, needle in needles.items():
            assert needle not in raw, f"{what} in {path.name}"
            assert needle.hex().encode() not in raw, f"{what} (hex) in {path.name}"
    # The key is not beside the records: without the passphrase nothing opens.
    with pytest.raises(WrongPassphrase):
        Account.open(tmp_path / "bob.db", "not the passphrase", kdf_iterations=KDF)
    # Authenticated: a changed byte in the last page is detected, not read.
    data = bytearray((tmp_path / "bob.db").read_bytes())
    data[-100] ^= 0x01
    (tmp_path / "bob.db").write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt):
        Account.open(tmp_path / "bob.db", "bob secret passphrase", kdf_iterations=KDF)


@pytest.mark.requirement("STORE-002")
def test_store_uses_sqlcipher_4_default_settings(tmp_path):
    store = Store.create(tmp_path / "s.db", "passphrase")  # the default KDF cost
    try:
        settings = {
            name: str(store.query(f"PRAGMA {name}")[0][0])
            for name in (
                "cipher_version",
                "cipher",
                "kdf_iter",
                "cipher_hmac_algorithm",
                "cipher_kdf_algorithm",
                "cipher_use_hmac",
                "cipher_page_size",
            )
        }
    finally:
        store.close()
    assert settings.pop("cipher_version").startswith("4.")
    assert settings == {
        "cipher": "AES-256-CBC",
        "kdf_iter": "256000",
        "cipher_hmac_algorithm": "HMAC_SHA512",
        "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
        "cipher_use_hmac": "1",
        "cipher_page_size": "4096",
    }
    assert not (tmp_path / "s.db").read_bytes().startswith(SQLITE_HEADER)
