"""Every Wycheproof case of the profile's primitives, run through parley.primitives.

The policy each test enforces (spec: profile.md, "Primitives"):

* X25519: ``valid`` gives ``shared``; ``acceptable`` gives ``shared`` too (twist
  points, non-canonical encodings), except an all-zero result, which raises
  ZeroSharedSecret; ``invalid`` raises a Parley error.
* Ed25519: ``valid`` verifies; ``invalid`` raises InvalidSignature (InvalidKey
  for a key that is not a point, MalformedMessage for a signature that is not
  64 bytes), never another exception.
* HKDF-SHA256: ``valid`` gives ``okm``; a too-large size raises InvalidArgument.
* HMAC-SHA256: the tag (truncated to ``tagSize``) matches for ``valid`` and not
  for ``invalid``; ``hmac_sha256_verify`` accepts only a valid full 32-byte tag.
* AES-CBC-PKCS5: with a 256-bit key, ``valid`` encrypts to ``ct`` and decrypts
  back; ``invalid`` fails to decrypt with InvalidPadding or MalformedMessage.
  Other key sizes are outside the profile: both functions raise InvalidArgument.
"""

from __future__ import annotations

from collections import Counter

import pytest
import wycheproof
from parley.errors import (
    InvalidArgument,
    InvalidKey,
    InvalidMac,
    InvalidPadding,
    InvalidSignature,
    MalformedMessage,
    ParleyError,
    ZeroSharedSecret,
)
from parley.primitives import (
    DHKeyPair,
    aes256_cbc_decrypt,
    aes256_cbc_encrypt,
    ed25519_verify,
    hkdf_sha256,
    hmac_sha256,
    hmac_sha256_verify,
    x25519,
)

h = bytes.fromhex

#: Cases per file and result. A changed vector file, or a parametrization
#: that silently came out empty, fails test_case_counts.
EXPECTED_COUNTS = {
    "x25519": {"valid": 264, "acceptable": 254},
    "ed25519": {"valid": 88, "invalid": 63},
    "hkdf_sha256": {"valid": 83, "invalid": 3},
    "hmac_sha256": {"valid": 66, "invalid": 108},
    "aes_cbc_pkcs5": {"valid": 72, "invalid": 144},
}

#: Schemas that eddsa_verify_schema_v1.json refers to but that the shared copy
#: of the vectors lacks: the parts of ed25519_test.json they describe (the
#: tests' fields, the JWK) go unchecked. Any other missing schema fails.
KNOWN_MISSING_SCHEMAS = {
    "ed25519": {"signatures_common.json", "json_web_crypto_common.json"},
}

X25519_CASES = list(wycheproof.cases("x25519"))
ED25519_CASES = list(wycheproof.cases("ed25519"))
HKDF_CASES = list(wycheproof.cases("hkdf_sha256"))
HMAC_CASES = list(wycheproof.cases("hmac_sha256"))
AES_CBC_CASES = list(wycheproof.cases("aes_cbc_pkcs5"))


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_vector_file(name: str) -> None:
    missing = wycheproof.validate(name)  # raises ValidationError if the file does not conform
    assert missing <= KNOWN_MISSING_SCHEMAS.get(name, set())
    data = wycheproof.load(name)
    assert data["numberOfTests"] == len(list(wycheproof.cases(name)))


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_case_counts(name: str) -> None:
    collected = {
        "x25519": X25519_CASES,
        "ed25519": ED25519_CASES,
        "hkdf_sha256": HKDF_CASES,
        "hmac_sha256": HMAC_CASES,
        "aes_cbc_pkcs5": AES_CBC_CASES,
    }[name]
    assert Counter(p.values[1]["result"] for p in collected) == EXPECTED_COUNTS[name]


# -- X25519 -------------------------------------------------------------------


@pytest.mark.requirement("PROFILE-010")
@pytest.mark.parametrize(("group", "test"), X25519_CASES)
def test_x25519(group: dict, test: dict) -> None:
    own = DHKeyPair.from_private_bytes(h(test["private"]))
    public, shared = h(test["public"]), h(test["shared"])
    if test["result"] == "invalid":
        with pytest.raises(ParleyError):
            x25519(own, public)
    elif test["result"] == "acceptable" and shared == bytes(32):
        with pytest.raises(ZeroSharedSecret):
            x25519(own, public)
    else:
        assert x25519(own, public) == shared


@pytest.mark.requirement("PROFILE-010")
@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_x25519_wrong_length_public_key(size: int) -> None:
    own = DHKeyPair.from_private_bytes(bytes(range(32)))
    with pytest.raises(InvalidKey):
        x25519(own, b"\x09" * size)


# -- Ed25519 ------------------------------------------------------------------


@pytest.mark.parametrize(("group", "test"), ED25519_CASES)
def test_ed25519(group: dict, test: dict) -> None:
    public = h(group["publicKey"]["pk"])
    msg, sig = h(test["msg"]), h(test["sig"])
    assert test["result"] in ("valid", "invalid")
    if test["result"] == "valid":
        assert ed25519_verify(public, msg, sig) is None
    else:
        # Any other exception propagates and fails the test. A signature that
        # is not 64 bytes is malformed input (WIRE-001), never a failed check.
        expected = (InvalidSignature, InvalidKey) if len(sig) == 64 else MalformedMessage
        with pytest.raises(expected):
            ed25519_verify(public, msg, sig)


# -- HKDF-SHA256 --------------------------------------------------------------


@pytest.mark.parametrize(("group", "test"), HKDF_CASES)
def test_hkdf_sha256(group: dict, test: dict) -> None:
    ikm, salt, info = h(test["ikm"]), h(test["salt"]), h(test["info"])
    assert test["result"] in ("valid", "invalid")
    if test["result"] == "valid":
        assert hkdf_sha256(ikm, salt, info, test["size"]) == h(test["okm"])
    else:
        assert test["flags"] == ["SizeTooLarge"]
        with pytest.raises(InvalidArgument):
            hkdf_sha256(ikm, salt, info, test["size"])


# -- HMAC-SHA256 --------------------------------------------------------------


@pytest.mark.requirement("PROFILE-011")
@pytest.mark.parametrize(("group", "test"), HMAC_CASES)
def test_hmac_sha256(group: dict, test: dict) -> None:
    key, msg, tag = h(test["key"]), h(test["msg"]), h(test["tag"])
    assert test["result"] in ("valid", "invalid")
    valid = test["result"] == "valid"
    assert (hmac_sha256(key, msg)[: group["tagSize"] // 8] == tag) is valid
    if valid and group["tagSize"] == 256:
        assert hmac_sha256_verify(key, msg, tag) is None
    else:
        # An invalid tag, or a truncated one: the profile takes full tags only.
        with pytest.raises(InvalidMac):
            hmac_sha256_verify(key, msg, tag)


# -- AES-CBC with PKCS#5 padding -------------------------------------------


@pytest.mark.parametrize(("group", "test"), AES_CBC_CASES)
def test_aes_cbc_pkcs5(group: dict, test: dict) -> None:
    key, iv, msg, ct = h(test["key"]), h(test["iv"]), h(test["msg"]), h(test["ct"])
    assert test["result"] in ("valid", "invalid")
    if group["keySize"] != 256:  # AES-128 and AES-192 are not in the profile
        with pytest.raises(InvalidArgument):
            aes256_cbc_encrypt(key, iv, msg)
        with pytest.raises(InvalidArgument):
            aes256_cbc_decrypt(key, iv, ct)
    elif test["result"] == "valid":
        assert aes256_cbc_encrypt(key, iv, msg) == ct
        assert aes256_cbc_decrypt(key, iv, ct) == msg
    else:
        with pytest.raises((InvalidPadding, MalformedMessage)):
            aes256_cbc_decrypt(key, iv, ct)
