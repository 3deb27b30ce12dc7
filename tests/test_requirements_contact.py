"""Contact codes and bundles from other channels (spec: bundle.md, "How bundles
travel" and "Contact codes"): the byte layout, the text form, what a reader
rejects, the QR form, and verification of whatever a channel brings."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest
from parley import Bundle, DeterministicRandom, IdentityKeyPair, InstallationPreKeys
from parley.client import (
    Account,
    InvalidContactCode,
    UnknownContact,
    decode_contact_code,
    encode_contact_code,
    write_qr_png,
)
from parley.client.account import new_installation_keys
from parley.client.contact_code import contact_code_qr
from parley.v1 import wire_pb2

T0 = 1_767_225_600
DAY = 86_400
KDF = 2


def _bundle(seed: bytes = b"contact", now: int = T0, installations: int = 1, opks: int = 0):
    rng = DeterministicRandom(seed)
    identity = IdentityKeyPair.generate(rng)
    entries = []
    for _ in range(installations):
        entry = InstallationPreKeys.of(new_installation_keys(rng, now))
        keys = tuple((1000 + i, rng.random_bytes(32)) for i in range(opks))
        entries.append(dataclasses.replace(entry, one_time_prekeys=keys))
    return Bundle.create(identity, entries, now)


def _raw(code: str) -> bytes:
    text = code.removeprefix("parley1:").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _code_of(body: bytes, checksum: bytes | None = None) -> str:
    """A contact code text of arbitrary body bytes (checksum right unless given)."""
    if checksum is None:
        checksum = hashlib.sha256(body).digest()[:4]
    return "parley1:" + base64.b32encode(body + checksum).decode().rstrip("=").lower()


def _account(tmp_path, name: str, now: int = T0) -> Account:
    return Account.create(
        tmp_path / f"{name}.db",
        f"{name} pass",
        rng=DeterministicRandom(name.encode()),
        clock=lambda: now,
        kdf_iterations=KDF,
    )


# -- CONTACT-001, CONTACT-002: bytes and text ----------------------------------------


@pytest.mark.requirement("CONTACT-001")
def test_contact_code_bytes_are_version_bundle_checksum():
    bundle = _bundle()
    raw = _raw(encode_contact_code(bundle))
    body = b"\x01" + bundle.to_bytes()
    assert raw == body + hashlib.sha256(body).digest()[:4]
    # the same from the bundle's encoded bytes
    assert _raw(encode_contact_code(bundle.to_bytes())) == raw


@pytest.mark.requirement("CONTACT-002")
def test_contact_code_text_form_and_lenient_reading():
    bundle = _bundle()
    code = encode_contact_code(bundle)
    assert code.startswith("parley1:")
    text = code[len("parley1:") :]
    assert set(text) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert "=" not in code and code == code.lower()
    assert text == base64.b32encode(_raw(code)).decode().rstrip("=").lower()
    variants = [
        code.upper(),
        "PaRlEy1:" + "".join(c.upper() if i % 2 else c for i, c in enumerate(text)),
        " \t" + code + "\r\n",
        "par ley1:" + "\n".join(text[i : i + 5] for i in range(0, len(text), 5)),
        "\t".join(code[i : i + 4] for i in range(0, len(code), 4)),
        code.upper().replace("A", "A \n"),
    ]
    for variant in variants:
        assert decode_contact_code(variant) == bundle, variant[:40]


# -- CONTACT-003: what a reader rejects ----------------------------------------------


def _over_and_under_the_limit() -> tuple[str, str]:
    under = encode_contact_code(_bundle(b"under", installations=2, opks=100))
    over = encode_contact_code(_bundle(b"over", installations=3, opks=100))
    assert len(under) <= 16384 < len(over)
    return under, over


@pytest.mark.requirement("CONTACT-003")
def test_a_code_longer_than_16384_characters_is_rejected():
    under, over = _over_and_under_the_limit()
    assert len(decode_contact_code(under).installations) == 2
    with pytest.raises(InvalidContactCode, match="too long") as info:
        decode_contact_code(over)
    assert info.value.code == "INVALID_CONTACT_CODE"


BUNDLE_BYTES = _bundle().to_bytes()
GOOD = _code_of(b"\x01" + BUNDLE_BYTES)


@pytest.mark.requirement("CONTACT-003")
@pytest.mark.parametrize(
    "text",
    [
        pytest.param(GOOD.replace("parley1:", ""), id="no-prefix"),
        pytest.param(GOOD.replace("parley1:", "parley2:"), id="other-prefix"),
        pytest.param(GOOD.replace("parley1:", "parley1;"), id="bad-prefix-separator"),
        pytest.param(GOOD[:20] + "0" + GOOD[21:], id="digit-0"),
        pytest.param(GOOD[:20] + "1" + GOOD[21:], id="digit-1"),
        pytest.param(GOOD[:20] + "8" + GOOD[21:], id="digit-8"),
        pytest.param(GOOD + "=", id="padding"),
        pytest.param(GOOD[:20] + "-" + GOOD[21:], id="dash"),
        pytest.param(GOOD[:20] + "\u00e9" + GOOD[21:], id="non-ascii"),
        pytest.param("parley1:" + "a" * 9, id="impossible-length-9"),
        pytest.param("parley1:" + "a" * 11, id="impossible-length-11"),
        pytest.param("parley1:" + "a" * 14, id="impossible-length-14"),
        pytest.param("parley1:", id="empty"),
        pytest.param(_code_of(b"\x01"), id="5-bytes-valid-checksum"),
        pytest.param(_code_of(b""), id="4-bytes"),
        pytest.param(_code_of(b"\x01" + BUNDLE_BYTES, b"\x00\x00\x00\x00"), id="checksum"),
        pytest.param(GOOD[:30] + ("a" if GOOD[30] != "a" else "b") + GOOD[31:], id="typo"),
        pytest.param(_code_of(b"\x00" + BUNDLE_BYTES), id="version-0"),
        pytest.param(_code_of(b"\x02" + BUNDLE_BYTES), id="version-2"),
        pytest.param(_code_of(b"\xff" + BUNDLE_BYTES), id="version-255"),
        pytest.param(_code_of(b"\x01\xff"), id="bundle-1-byte"),
        pytest.param(_code_of(b"\x01" + b"\xff\xff\xff"), id="bundle-not-protobuf"),
        pytest.param(_code_of(b"\x01" + BUNDLE_BYTES[:-10]), id="bundle-truncated"),
        pytest.param(_code_of(b"\x01" + b"\x08\x01"), id="bundle-without-identity"),
    ],
)
def test_reader_rejects_with_invalid_contact_code(text, tmp_path):
    decode_contact_code(GOOD)  # the unmangled code is fine
    with pytest.raises(InvalidContactCode) as info:
        decode_contact_code(text)
    assert info.value.code == "INVALID_CONTACT_CODE"


@pytest.mark.requirement("CONTACT-003", "BUNDLE-032")
def test_rejected_codes_change_nothing_and_a_valid_checksum_proves_nothing(tmp_path):
    alice = _account(tmp_path, "alice")
    bob = _account(tmp_path, "bob")
    before = alice.contacts()
    code = bob.contact_code()
    typo = code[:30] + ("a" if code[30] != "a" else "b") + code[31:]
    for bad in (_code_of(b"\x02" + bob.bundle().to_bytes()), typo):
        with pytest.raises(InvalidContactCode):
            alice.add_contact(bad, "bob")
    assert alice.contacts() == before
    # A well-formed code whose bundle is not authentic: the checksum is right,
    # so decoding succeeds, but the signature is then verified and fails.
    forged = wire_pb2.Bundle.FromString(bob.bundle().to_bytes())
    forged.timestamp += 1
    code = _code_of(b"\x01" + forged.SerializeToString())
    assert decode_contact_code(code).timestamp == forged.timestamp
    with pytest.raises(InvalidContactCode, match="BUNDLE_SIGNATURE_INVALID"):
        alice.add_contact(code, "bob")
    with pytest.raises(UnknownContact):
        alice.contact(bob.account_id)
    alice.close()
    bob.close()


# -- BUNDLE-032: bundles from any channel are verified -----------------------------------


@pytest.mark.requirement("BUNDLE-032")
def test_a_bundle_from_a_file_is_verified_like_any_other(tmp_path):
    alice = _account(tmp_path, "alice")
    bob = _account(tmp_path, "bob")
    path = tmp_path / "bob.bundle"
    path.write_bytes(bob.bundle().to_bytes())  # what `parley export-bundle` writes
    raw = path.read_bytes()
    tampered = wire_pb2.Bundle.FromString(raw)
    tampered.installations[0].signed_prekey = bytes(32)
    bad_binding = wire_pb2.Bundle.FromString(raw)
    bad_binding.identity.binding_signature = bytes(64)
    for data, reason in (
        (tampered.SerializeToString(), "BUNDLE_SIGNATURE_INVALID"),
        (bad_binding.SerializeToString(), "INVALID_IDENTITY_BINDING"),
    ):
        with pytest.raises(InvalidContactCode, match=reason):
            alice.add_contact(Bundle.from_bytes(data), "bob")
        with pytest.raises(UnknownContact):
            alice.contact(bob.account_id)
    # A bundle from the future (a web page with a wrong clock) is refused too.
    future = _account(tmp_path, "carol", now=T0 + DAY)
    with pytest.raises(InvalidContactCode, match="BUNDLE_TIMESTAMP_IN_FUTURE"):
        alice.add_contact(future.bundle(), "carol")
    # The genuine bytes are accepted.
    contact, _ = alice.add_contact(Bundle.from_bytes(raw), "bob")
    assert contact.installations == (bob.installation_id,)
    for acc in (alice, bob, future):
        acc.close()


# -- CONTACT-004: the QR form ------------------------------------------------------------


@pytest.mark.requirement("CONTACT-004")
def test_qr_code_is_upper_case_alphanumeric_level_m_smallest_version(tmp_path):
    import segno
    import zxingcpp
    from PIL import Image

    code = encode_contact_code(_bundle())
    qr = contact_code_qr(code)
    assert qr.mode == "alphanumeric"
    assert qr.error == "M"
    with pytest.raises(segno.DataOverflowError):
        segno.make_qr(
            code.upper(), error="m", mode="alphanumeric", version=qr.version - 1, boost_error=False
        )
    write_qr_png(code, tmp_path / "code.png")
    with Image.open(tmp_path / "code.png") as image:
        [found] = zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert found.text == code.upper()
    assert decode_contact_code(found.text) == _bundle()


@pytest.mark.requirement("CONTACT-004")
def test_qr_writer_refuses_a_code_that_does_not_read_back(tmp_path):
    code = encode_contact_code(_bundle())
    damaged = code[:-1] + ("a" if code[-1] != "a" else "b")
    with pytest.raises(InvalidContactCode):
        contact_code_qr(damaged)
    with pytest.raises(InvalidContactCode):
        write_qr_png(damaged, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


# -- CONTACT-005, PRIV-002 (SHOULD): no one-time prekeys in a code ---------------------


@pytest.mark.requirement("CONTACT-005", "PRIV-002")
def test_an_accounts_contact_code_offers_no_one_time_prekeys(tmp_path):
    alice = _account(tmp_path, "alice")
    bundle = decode_contact_code(alice.contact_code())
    assert bundle.installations
    assert all(entry.one_time_prekeys == () for entry in bundle.installations)
    alice.close()
