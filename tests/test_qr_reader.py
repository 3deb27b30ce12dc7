"""The QR reader refuses every file that is not a readable image with a code:
always QRCodeUnreadable, never an exception of Pillow or zxing-cpp. (The
images that once crashed it are in tests/fuzz/corpus/qr_reader/, replayed by
tests/fuzz/test_fuzz_qr_reader.py.)"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from parley.client import QRCodeUnreadable, read_qr_image
from PIL import Image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)


def bomb_png() -> bytes:
    """A PNG that claims 100,000 x 100,000 pixels (Pillow: DecompressionBombError)."""
    idat = zlib.compress(b"\x00" * 1000)
    return _png_header(100_000, 100_000) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def bad_crc_png() -> bytes:
    """A PNG whose first chunk's checksum is wrong."""
    good = _png_header(10, 10)
    return good[:-4] + b"\x00\x00\x00\x00" + _png_chunk(b"IEND", b"")


def truncated_gif() -> bytes:
    image = Image.new("L", (64, 64), 255)
    out = io.BytesIO()
    image.save(out, format="GIF")
    return out.getvalue()[:40]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bomb_png(), id="decompression-bomb"),
        pytest.param(bad_crc_png(), id="png-bad-crc"),
        pytest.param(truncated_gif(), id="gif-truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"GIF89a" + b"\xff" * 20, id="gif-garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n", id="png-signature-only"),
    ],
)
def test_damaged_images_are_unreadable(tmp_path, data):
    path = tmp_path / "image"
    path.write_bytes(data)
    with pytest.raises(QRCodeUnreadable):
        read_qr_image(path)


def test_a_folder_or_missing_file_is_unreadable(tmp_path):
    with pytest.raises(QRCodeUnreadable):
        read_qr_image(tmp_path)
    with pytest.raises(QRCodeUnreadable):
        read_qr_image(tmp_path / "missing.png")
