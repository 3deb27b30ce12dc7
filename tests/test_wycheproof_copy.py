"""The vendored Wycheproof files are the upstream bytes their README names."""

from __future__ import annotations

import hashlib
import re

import pytest
from wycheproof import VECTORS_DIR

_ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| `(?P<sha>[0-9a-f]{64})` \|$", re.MULTILINE)
LISTED = dict((m["file"], m["sha"]) for m in _ROW.finditer((VECTORS_DIR / "README.md").read_text()))


def test_every_file_is_listed_and_nothing_else() -> None:
    present = {p.relative_to(VECTORS_DIR).as_posix() for p in VECTORS_DIR.rglob("*.json")}
    assert present == set(LISTED)
    assert "Apache License" in (VECTORS_DIR / "LICENSE").read_text()


@pytest.mark.parametrize("name", sorted(LISTED))
def test_file_matches_its_recorded_digest(name: str) -> None:
    assert hashlib.sha256((VECTORS_DIR / name).read_bytes()).hexdigest() == LISTED[name]
