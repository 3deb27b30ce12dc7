"""Fuzz the QR reader: any file gives a contact code or QR_UNREADABLE, and no
warning of the image libraries reaches the user."""

from __future__ import annotations

import functools
import io
import itertools
import warnings

import pytest
from fuzzing import fuzz, inputs, target, vector_seeds, workdir
from parley.client.contact_code import (
    decode_contact_code,
    encode_contact_code,
    read_qr_image,
    write_qr_png,
)
from parley.client.errors import InvalidContactCode, QRCodeUnreadable
from PIL import Image

NAME = "qr_reader"
_COUNTER = itertools.count()


def _valid(code: str) -> bool:
    try:
        decode_contact_code(code)
    except InvalidContactCode:
        return False
    return True


@functools.cache
def _seeds() -> list[bytes]:
    """Small images of every format Pillow reads well, one a real contact code."""
    code = next(c for c in map(encode_contact_code, vector_seeds("bundle")) if _valid(c))
    write_qr_png(code, workdir(NAME) / "code.png", scale=1)
    seeds = [(workdir(NAME) / "code.png").read_bytes()]
    image = Image.new("L", (12, 9), 200)
    for fmt in ("PNG", "GIF", "BMP", "JPEG", "TIFF", "WEBP", "PPM", "ICO"):
        out = io.BytesIO()
        image.save(out, format=fmt)
        seeds.append(out.getvalue())
    return seeds


def check(data: bytes) -> None:
    path = workdir(NAME) / f"image-{next(_COUNTER) % 8}"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning printed to the user counts as a crash
            code = read_qr_image(path)
    except QRCodeUnreadable:
        return
    assert code.startswith("parley1:")


@pytest.mark.parametrize("path", target(NAME).corpus(), ids=lambda p: p.name)
def test_corpus(path):
    check(path.read_bytes())


@pytest.mark.fuzz
def test_fuzz():
    fuzz(NAME, inputs(_seeds(), max_size=1024), check)
