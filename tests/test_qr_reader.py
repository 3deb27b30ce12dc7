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


def test_warnings_of_a_damaged_image_stay_inside(tmp_path, recwarn):
    """A cut TIFF makes Pillow warn ("Corrupt EXIF data"): the user sees only
    the one-line error, not the library's warning."""
    image = Image.new("L", (12, 9), 200)
    out = io.BytesIO()
    image.save(out, format="TIFF")
    path = tmp_path / "cut.tiff"
    path.write_bytes(out.getvalue()[:8])
    with pytest.raises(QRCodeUnreadable):
        read_qr_image(path)
    assert not [w for w in recwarn if "PIL" in w.filename or "EXIF" in str(w.message)]


def test_pixel_and_size_limits(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_png_header(8000, 6000) + _png_chunk(b"IEND", b""))  # 48 MP: refused
    with pytest.raises(QRCodeUnreadable, match="megapixel"):
        read_qr_image(path)
    path.write_bytes(b"\0" * ((32 << 20) + 1))
    with pytest.raises(QRCodeUnreadable, match="MiB"):
        read_qr_image(path)
