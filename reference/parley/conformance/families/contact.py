"""The contact code family: the text form of a bundle (CONTACT-001..004).

The QR form holds the same text in upper case, so the decode cases of the
upper-case text are the QR cases.
"""

from __future__ import annotations

import base64
import hashlib

from ...bundle import Bundle, InstallationPreKeys
from ...keys import IdentityKeyPair, InstallationKeys
from ...v1 import wire_pb2 as wire
from .common import DAY, NOW, Keys, _case, _file, _record, h

NOTES = {
    "Valid": {"bugType": "BASIC", "description": "A well-formed contact code."},
    "Lenient": {
        "bugType": "FUNCTIONALITY",
        "description": "Upper case (the QR form), mixed case or white space anywhere: a reader "
        "accepts them (CONTACT-002).",
    },
    "Malformed": {
        "bugType": "CAN_OF_WORMS",
        "description": "A text that breaks a rule of CONTACT-003: INVALID_CONTACT_CODE.",
    },
    "NotVerified": {
        "bugType": "FUNCTIONALITY",
        "description": "Decoding checks the code's structure only; the bundle is then verified "
        "as any bundle (here it would be BUNDLE_STALE).",
    },
}

PREFIX = "parley1:"


def _text(body: bytes) -> str:
    """parley1: + base32 of body || checksum(body), lower case, no padding."""
    data = body + hashlib.sha256(body).digest()[:4]
    return PREFIX + base64.b32encode(data).decode().rstrip("=").lower()


def _bundle(tc: str, now: int = NOW) -> bytes:
    k = Keys(tc)
    identity = IdentityKeyPair.from_private_bytes(k.raw(), k.raw())
    installation = InstallationKeys.generate(k.rng, now - DAY, one_time_prekeys=0)
    return Bundle.create(identity, [InstallationPreKeys.of(installation)], now).to_bytes()


def contact_file() -> dict:
    bundle = _bundle("contact/bundle")
    enc = _case(
        "contact/encode/one-installation",
        "the contact code of a one-installation bundle without one-time prekeys",
        ["Valid"],
        ["CONTACT-001", "CONTACT-002", "CONTACT-004", "CONTACT-005"],
        bundle=h(bundle),
    )
    enc_group = {"type": "ContactCodeEncodeTest", "tests": []}
    enc_group["tests"].append(_record(enc_group, enc))
    code = enc["text"]

    tests = []

    def case(tc, comment, flags, reqs, text):
        expect = "INVALID_CONTACT_CODE" if "Malformed" in flags else "ok"
        tests.append((_case(f"contact/decode/{tc}", comment, flags, reqs, text=text), expect))

    R = ["CONTACT-003"]
    case("valid", "the canonical lower-case text", ["Valid"], ["CONTACT-001", "CONTACT-002"], code)
    case(
        "upper-case",
        "the QR form: the same text in upper case",
        ["Lenient"],
        ["CONTACT-002", "CONTACT-004"],
        code.upper(),
    )
    mixed = "".join(c.upper() if i % 3 == 0 else c for i, c in enumerate(code))
    case("mixed-case", "every third letter upper case", ["Lenient"], ["CONTACT-002"], mixed)
    body = code[len(PREFIX) :]
    grouped = "par ley1:\n" + "\t".join(body[i : i + 4] for i in range(0, len(body), 4)) + " \r\n"
    case(
        "white-space",
        "spaces, tabs and line breaks anywhere, the prefix included",
        ["Lenient"],
        ["CONTACT-002"],
        grouped,
    )
    stale = _text(b"\x01" + _bundle("contact/decode/stale-bundle", NOW - 40 * DAY))
    case(
        "stale-bundle",
        "a 40-day-old bundle decodes; verifying it is the caller's step",
        ["NotVerified"],
        ["CONTACT-003", "CONTACT-006"],
        stale,
    )
    case("too-long", "16385 characters", ["Malformed"], R, code + "a" * (16385 - len(code)))
    nbsp = code[:24] + "\u00a0" + code[24:]
    case(
        "no-break-space",
        "a no-break space (U+00A0) is not white space",
        ["Malformed"],
        [*R, "CONTACT-002"],
        nbsp,
    )
    at = code.index("k", len(PREFIX))
    kelvin = code[:at] + "\u212a" + code[at + 1 :]
    case(
        "kelvin-sign",
        "the Kelvin sign (U+212A), which Unicode folds to 'k'",
        ["Malformed"],
        R,
        kelvin,
    )
    case("no-prefix", "the base32 without its prefix", ["Malformed"], R, body)
    case("wrong-prefix", "parley2: in place of parley1:", ["Malformed"], R, "parley2:" + body)
    case(
        "bad-character",
        "a '1', outside the base32 alphabet",
        ["Malformed"],
        R,
        code[:20] + "1" + code[21:],
    )
    case("padding", "base32 with '=' padding", ["Malformed"], R, code + "=" * (-len(body) % 8 or 8))
    for cut in range(1, 8):
        if (len(body) - cut) % 8 in (1, 3, 6):
            case(
                "impossible-length",
                f"{len(body) - cut} base32 characters",
                ["Malformed"],
                R,
                code[:-cut],
            )
            break
    case(
        "too-short",
        "5 bytes once decoded: a version byte and a checksum",
        ["Malformed"],
        R,
        _text(b"\x01"),
    )
    flipped = code[:-3] + ("a" if code[-3] != "a" else "b") + code[-2:]
    case("bad-checksum", "one character of the checksum changed", ["Malformed"], R, flipped)
    case(
        "format-version-2",
        "version byte 0x02, with a matching checksum",
        ["Malformed"],
        R,
        _text(b"\x02" + bundle),
    )
    case(
        "bundle-not-protobuf",
        "a version byte, bytes that are no Bundle, a matching checksum",
        ["Malformed"],
        R,
        _text(b"\x01\x0a\xff\xff"),
    )
    no_identity = wire.Bundle.FromString(bundle)
    no_identity.ClearField("identity")
    case(
        "bundle-without-identity",
        "a Bundle without its identity (BUNDLE-011 step 1)",
        ["Malformed"],
        [*R, "BUNDLE-011"],
        _text(b"\x01" + no_identity.SerializeToString()),
    )
    short_key = wire.Bundle.FromString(bundle)
    short_key.identity.signing_key = short_key.identity.signing_key[:31]
    case(
        "bundle-short-key",
        "a Bundle with a 31-byte signing key: INVALID_CONTACT_CODE, not INVALID_KEY",
        ["Malformed"],
        [*R, "BUNDLE-011"],
        _text(b"\x01" + short_key.SerializeToString()),
    )
    dec_group = {"type": "ContactCodeDecodeTest", "tests": []}
    for test, expect in tests:
        dec_group["tests"].append(_record(dec_group, test, expect))
    return _file(
        "PARLEY-CONTACT",
        "contact.schema.json",
        ["Contact codes (CONTACT-001..004): the text form; the QR form is the same text."],
        NOTES,
        [enc_group, dec_group],
    )
