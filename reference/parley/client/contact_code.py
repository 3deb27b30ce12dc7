"""Contact codes: a bundle as text and as a QR code.

    code = "parley1:" || base32(0x01 || bundle || checksum)

where ``bundle`` is the bundle's protobuf encoding (parley.v1.Bundle),
``checksum`` the first 4 bytes of SHA-256 of the bytes before it, and base32
is RFC 4648 without padding, written in lower case. Reading ignores case and
whitespace. The version byte (0x01) names this layout; the checksum catches
typing and scanning errors (the bundle's own signature catches the rest).

The QR code holds the same code in upper case, so that it fits QR's compact
alphanumeric mode (every base32 character and ':' are in its alphabet): a
one-installation code fits QR version 16 at error level M, where the
lower-case text in byte mode needs version 20.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import re
import warnings
from pathlib import Path

from ..bundle import Bundle
from ..codec import decode_bundle
from ..errors import RemoteError
from .errors import InvalidContactCode, QRCodeUnreadable

__all__ = [
    "CONTACT_CODE_PREFIX",
    "CONTACT_CODE_VERSION",
    "contact_code_qr",
    "decode_contact_code",
    "encode_contact_code",
    "qr_terminal",
    "read_qr_image",
    "safety_number_qr",
    "terminal_blocks",
    "write_qr_png",
    "write_qr_svg",
]

CONTACT_CODE_PREFIX = "parley1:"
CONTACT_CODE_VERSION = 0x01
_CHECKSUM_SIZE = 4
_BASE32 = re.compile(r"[a-z2-7]+")
_MAX_CODE_CHARS = 16384
_WHITE_SPACE = {ord(c): None for c in " \t\n\r\v\f"}
#: The largest image file the QR reader opens, and the most pixels it decodes:
#: a photo of a QR code fits well within both.
MAX_QR_FILE_BYTES = 32 << 20
MAX_QR_PIXELS = 40_000_000


def _checksum(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:_CHECKSUM_SIZE]


def encode_contact_code(bundle: Bundle | bytes) -> str:
    """The contact code of a bundle (or of a bundle's encoded bytes)."""
    raw = bundle if isinstance(bundle, bytes) else bundle.to_bytes()
    body = bytes([CONTACT_CODE_VERSION]) + raw
    text = base64.b32encode(body + _checksum(body)).decode("ascii").rstrip("=").lower()
    return CONTACT_CODE_PREFIX + text


def decode_contact_code(code: str) -> Bundle:
    """The bundle in a contact code: structure and checksum only.

    The caller still verifies the bundle (signature, age) with
    :meth:`Bundle.verify`. Raises InvalidContactCode.
    """
    if not isinstance(code, str):
        raise InvalidContactCode("a contact code is text")
    # CONTACT-002: white space is ASCII's (space, tab, line breaks, vertical tab,
    # form feed); case folding is ASCII's, so no other character can turn into a letter
    text = code.translate(_WHITE_SPACE)
    if len(text) > _MAX_CODE_CHARS:
        raise InvalidContactCode("contact code is too long")
    if not text.isascii():
        raise InvalidContactCode("a contact code uses the letters a-z and digits 2-7 only")
    text = text.lower()
    if not text.startswith(CONTACT_CODE_PREFIX):
        raise InvalidContactCode(f"a contact code starts with {CONTACT_CODE_PREFIX!r}")
    text = text[len(CONTACT_CODE_PREFIX) :]
    if not _BASE32.fullmatch(text):
        raise InvalidContactCode("a contact code uses the letters a-z and digits 2-7 only")
    try:
        data = base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise InvalidContactCode("contact code has an impossible length") from None
    if len(data) < 1 + _CHECKSUM_SIZE + 1:
        raise InvalidContactCode("contact code is too short")
    body, checksum = data[:-_CHECKSUM_SIZE], data[-_CHECKSUM_SIZE:]
    if not hmac.compare_digest(checksum, _checksum(body)):
        raise InvalidContactCode("contact code checksum does not match (typing or scanning error)")
    if body[0] != CONTACT_CODE_VERSION:
        raise InvalidContactCode(f"contact code version {body[0]} is not supported")
    try:
        return decode_bundle(body[1:])
    except RemoteError as exc:
        raise InvalidContactCode(f"contact code holds no valid bundle: {exc.message}") from None


# -- QR codes --------------------------------------------------------------


def contact_code_qr(code: str):
    """A segno QR code of ``code`` (upper case, alphanumeric mode, error level M)."""
    import segno

    decode_contact_code(code)  # never draw a code that would not read back
    return segno.make_qr(code.upper(), error="m", mode="alphanumeric", boost_error=False)


def write_qr_png(code: str, path: str | Path, scale: int = 4) -> None:
    contact_code_qr(code).save(str(path), kind="png", scale=scale, border=4)


def write_qr_svg(code: str, path: str | Path, scale: int = 4) -> None:
    contact_code_qr(code).save(str(path), kind="svg", scale=scale, border=4)


def qr_terminal(code: str) -> str:
    """The QR code drawn with Unicode half blocks (two modules per character row)."""
    return terminal_blocks(contact_code_qr(code))


def safety_number_qr(number: str):
    """A segno QR code of a safety number: its 60 digits, numeric mode (KEYS-007)."""
    import segno

    if len(number) != 60 or not number.isdigit():
        raise ValueError("a safety number is 60 digits")
    return segno.make_qr(number, error="m", mode="numeric", boost_error=False)


def terminal_blocks(qr) -> str:
    """A segno QR code drawn with Unicode half blocks (two modules per character row)."""
    rows = [[bool(m) for m in row] for row in qr.matrix]
    border = 2
    width = len(rows[0]) + 2 * border
    blank = [False] * width
    padded = [blank] * border + [[False] * border + r + [False] * border for r in rows]
    padded += [blank] * (border + (len(padded) + border) % 2)
    # dark module = black; draw light modules as blocks so it reads on dark terminals
    chars = {(False, False): "\u2588", (True, False): "\u2584", (False, True): "\u2580"}
    chars[(True, True)] = " "
    lines = []
    for top, bottom in zip(padded[::2], padded[1::2], strict=True):
        lines.append("".join(chars[(t, b)] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)


def read_qr_image(path: str | Path) -> str:
    """Read the contact code from a QR code image (PNG, JPEG, ...).

    Raises QRCodeUnreadable when the file is not an image, is larger than a
    photo of a QR code needs to be (:data:`MAX_QR_FILE_BYTES`,
    :data:`MAX_QR_PIXELS`), or holds no QR code with a Parley contact code.
    Whatever a damaged file makes the image libraries raise becomes that
    error too.
    """
    import zxingcpp
    from PIL import Image

    try:
        with Path(path).open("rb") as f:
            data = f.read(MAX_QR_FILE_BYTES + 1)
    except OSError as exc:
        raise QRCodeUnreadable(f"the file cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_QR_FILE_BYTES:
        raise QRCodeUnreadable(f"the file is above the {MAX_QR_FILE_BYTES >> 20} MiB limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged file's warnings: not the user's concern
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_QR_PIXELS:  # checked before anything is decoded
                    raise QRCodeUnreadable(
                        f"the image is above the {MAX_QR_PIXELS // 1_000_000}-megapixel limit"
                    )
                image.load()
                gray = image.convert("L")
            found = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)
    except QRCodeUnreadable:
        raise
    except Exception:  # Pillow's and zxing's errors (OSError, SyntaxError, bombs, ...)
        raise QRCodeUnreadable("the file is not a readable image") from None
    for barcode in found:
        text = barcode.text.strip()
        if text.lower().startswith(CONTACT_CODE_PREFIX):
            return text.lower()
    raise QRCodeUnreadable("no Parley contact code was found in the image")
