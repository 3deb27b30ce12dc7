"""The specification against the code, the protos, the vectors and the tests.

* Every statement that defines a requirement is well formed (one ID, a BCP 14
  keyword), and no statement with a keyword lacks an ID.
* Every requirement ID cited in reference/, proto/, tests/ and test-vectors/
  is defined in the spec.
* Every protobuf field the spec names (``Message.field`` in backticks, or
  "field `name`") exists in proto/; the spec includes schemas, never copies.
* The error registry lists every code of ``parley.errors.ERROR_CODES`` with
  its class and kind, and the profile table pins every value of PROFILE_1.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import protodoc  # noqa: E402
import spec_requirements as sr  # noqa: E402
import traceability  # noqa: E402

SPEC = ROOT / "spec"
DOCS = ROOT / "docs"
HAND_WRITTEN = sorted(SPEC.glob("*.md")) + sorted(
    p for p in DOCS.glob("*.md") if not p.name.startswith("_")
)

#: Names in backticks that look like ``Message.field`` but are spec notation.
NOTATION = {"DHs", "DHr", "DHs'", "RK", "CKs", "CKr", "SK"}


@pytest.fixture(scope="module")
def index() -> sr.SpecIndex:
    return sr.parse(SPEC)


@pytest.fixture(scope="module")
def fields() -> dict[str, set[str]]:
    return protodoc.message_fields(protodoc.load())


def _known_prefixes(index: sr.SpecIndex) -> set[str]:
    return index.prefixes


# -- requirement IDs ------------------------------------------------------------------


def test_spec_index_has_no_errors(index: sr.SpecIndex) -> None:
    assert index.errors == []
    assert len(index.requirements) > 50


def test_every_normative_statement_has_an_id(index: sr.SpecIndex) -> None:
    unlabelled = [f"{path}:{line}: {text[:100]}" for path, line, text in index.unlabelled]
    assert unlabelled == [], "statements with a BCP 14 keyword but no {req} ID"


def test_vector_lint_reads_the_same_ids_as_the_spec(index: sr.SpecIndex) -> None:
    from parley.conformance.lint import requirement_ids

    assert requirement_ids(ROOT) == set(index.requirements)


@pytest.mark.parametrize("tree", ["reference", "proto", "tests", "tools"])
def test_cited_ids_are_defined(index: sr.SpecIndex, tree: str) -> None:
    prefixes = _known_prefixes(index)
    missing = {}
    for path in sorted((ROOT / tree).rglob("*")):
        if path.suffix not in {".py", ".proto", ".md", ".txt"} or not path.is_file():
            continue
        if "_pb2" in path.name or "__pycache__" in path.parts:
            continue
        for req_id in sr.cited_ids(path.read_text(encoding="utf-8"), prefixes):
            if req_id not in index.requirements:
                missing.setdefault(req_id, []).append(path.relative_to(ROOT).as_posix())
    assert missing == {}


def test_vector_and_test_citations_are_defined(index: sr.SpecIndex) -> None:
    matrix = traceability.build(ROOT)
    assert matrix.problems == []
    assert matrix.unknown() == []


def test_every_must_has_a_vector_or_a_reason_and_a_test() -> None:
    """A MUST no vector cites has its reason in spec/not-observable.toml and a test."""
    matrix = traceability.build(ROOT)
    assert matrix.reason_problems() == []
    cov = matrix.covering()
    for req_id in matrix.reasons:
        assert cov[req_id]["test"], f"{req_id} is not observable, but no test covers it"


def test_a_must_without_vector_or_reason_is_reported() -> None:
    matrix = traceability.build(ROOT)
    req_id = next(iter(matrix.reasons))
    del matrix.reasons[req_id]
    assert any(req_id in p and "no vector" in p for p in matrix.reason_problems())
    cited = next(c for c in matrix.citations if c.kind == "vector").ids[0]
    matrix.reasons[cited] = "stale"
    assert any(cited in p and "a vector covers" in p for p in matrix.reason_problems())


def test_vector_files_cite_only_defined_ids(index: sr.SpecIndex) -> None:
    prefixes = _known_prefixes(index)
    missing = {}
    for path in sorted((ROOT / "test-vectors").rglob("*")):
        if not path.is_file() or path.suffix not in {".json", ".md", ".txt"}:
            continue
        text = path.read_text(encoding="utf-8")
        cited = sr.cited_ids(text, prefixes)
        if path.suffix == ".json" and not path.name.endswith(".schema.json"):
            cases: list = []
            traceability._walk_cases(json.loads(text), "", cases)
            cited |= {r for _, reqs in cases for r in reqs if isinstance(r, str)}
        for req_id in cited - set(index.requirements):
            missing.setdefault(req_id, []).append(path.relative_to(ROOT).as_posix())
    assert missing == {}


# -- protobuf fields ------------------------------------------------------------------

_QUALIFIED = re.compile(r"`([A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*)\.([a-z_][a-z0-9_]*)`")
_FIELD_WORD = re.compile(r"\bfields?\s+`([a-z_][a-z0-9_]*)`|`([a-z_][a-z0-9_]*)`\s+fields?\b")


def _strip_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def test_spec_names_only_fields_the_protos_have(fields: dict[str, set[str]]) -> None:
    every_field = set().union(*fields.values())
    wrong = []
    for path in HAND_WRITTEN:
        text = _strip_code_blocks(path.read_text(encoding="utf-8"))
        rel = path.relative_to(ROOT).as_posix()
        for message, name in _QUALIFIED.findall(text):
            if message in NOTATION:
                continue
            if message not in fields:
                wrong.append(f"{rel}: `{message}.{name}`: no message {message} in proto/")
            elif name not in fields[message]:
                wrong.append(f"{rel}: `{message}.{name}`: {message} has no field {name}")
        for match in _FIELD_WORD.finditer(text):
            name = match.group(1) or match.group(2)
            if name not in every_field:
                wrong.append(f"{rel}: field `{name}` is in no message of proto/")
    assert wrong == []


def test_spec_names_fields(fields: dict[str, set[str]]) -> None:
    """The field check has teeth: the spec does name fields, and a wrong one is caught."""
    named = sum(
        len(_QUALIFIED.findall(_strip_code_blocks(p.read_text(encoding="utf-8"))))
        for p in HAND_WRITTEN
    )
    assert named > 40
    assert "timestamp" in fields["Bundle"]
    assert "timestmp" not in fields["Bundle"]


def test_schemas_are_included_not_copied() -> None:
    """No proto message definition is pasted into the spec; literalinclude brings them."""
    for path in HAND_WRITTEN:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*message\s+[A-Z]\w*\s*\{", text, re.M), path
    wire = (SPEC / "wire-format.md").read_text(encoding="utf-8")
    assert "{literalinclude} /proto/parley/v1/wire.proto" in wire


# -- registry and profile -------------------------------------------------------------


@pytest.mark.requirement("ERR-004")
def test_error_registry_matches_the_code() -> None:
    from parley.client.errors import CLIENT_ERROR_CODES
    from parley.errors import ERROR_CODES, LocalError, RemoteError

    table, library = {}, {}
    target = table
    for line in (SPEC / "errors.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("### Library codes"):
            target = library
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"`[A-Z_]+`", cells[0]):
            target[cells[0].strip("`")] = cells
    assert sorted(table) == sorted(ERROR_CODES)
    assert library and set(library) <= set(CLIENT_ERROR_CODES)
    for code, cells in library.items():
        assert f"`{CLIENT_ERROR_CODES[code].__name__}`" in cells[1], code
    for code, cls in ERROR_CODES.items():
        _, cls_cell, kind, meaning, behaviour = table[code]
        assert f"`{cls.__name__}`" in cls_cell, code
        expected = "local" if issubclass(cls, LocalError) else "remote"
        assert issubclass(cls, LocalError | RemoteError)
        assert kind == expected, code
        assert meaning and behaviour, code


def _spellings(value: int) -> set[str]:
    return {str(value), f"{value:,}"}


@pytest.mark.requirement("PROFILE-001")
def test_profile_table_pins_every_value_of_profile_1() -> None:
    from dataclasses import fields as dc_fields

    from parley.profile import PROFILE_1

    text = (SPEC / "profile.md").read_text(encoding="utf-8")
    assert PROFILE_1.name in text
    missing = []
    for f in dc_fields(PROFILE_1):
        value = getattr(PROFILE_1, f.name)
        if isinstance(value, bytes):
            if value.isascii() and value.decode().isprintable() and len(value) > 1:
                ok = f'"{value.decode()}"' in text
            elif value == bytes(32):
                ok = "0^32" in text
            elif value == b"\xff" * 32:
                ok = "0xFF*32" in text
            else:
                ok = f"0x{value.hex().upper()}" in text or f"0x{value.hex()}" in text
        elif isinstance(value, int):
            ok = any(s in text for s in _spellings(value))
        else:
            ok = str(value) in text
        if not ok:
            missing.append(f"{f.name} = {value!r}")
    assert missing == []


@pytest.mark.requirement("CONF-002")
def test_deterministic_random_matches_conformance_text() -> None:
    """conformance.md's definition of the stream is what the reference computes."""
    import hashlib

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
    from parley.primitives import DeterministicRandom

    text = (SPEC / "conformance.md").read_text(encoding="utf-8")
    assert f'"{DeterministicRandom.LABEL.decode()}"' in text
    seed = b"spec"
    key = hashlib.sha256(b"Parley deterministic random v1" + seed).digest()
    stream = Cipher(algorithms.ChaCha20(key, bytes(16)), mode=None).encryptor()
    expected = stream.update(bytes(48))
    rng = DeterministicRandom(seed)
    assert rng.random_bytes(16) + rng.random_bytes(32) == expected
