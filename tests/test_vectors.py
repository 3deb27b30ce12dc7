"""The published test vectors: schemas, lint, freshness, and every case on the reference.

Every case runs through the same checks as the conformance runner, against the
reference in process (no gRPC); tests/test_conformance.py runs them over gRPC.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from parley.conformance.drivers import DirectDriver
from parley.conformance.generate import generate
from parley.conformance.lint import UNREACHABLE_CODES, lint
from parley.conformance.runner import default_vector_dir, load_vectors, run_case
from parley.errors import ERROR_CODES

VECTORS = default_vector_dir()
FILES = load_vectors(VECTORS)
CASES = [
    pytest.param(file, group, test, id=test["tcId"])
    for file, data in FILES
    for group in data["testGroups"]
    for test in group["tests"]
]


def test_every_family_is_present():
    names = {file for file, _ in FILES}
    assert names == {
        "accumulated.json",
        "bundle.json",
        "compromise.json",
        "contact.json",
        "fanout.json",
        "kdf.json",
        "multi_device.json",
        "no_bundle.json",
        "payload.json",
        "session.json",
        "versioning.json",
        "wire.json",
        "x3dh.json",
    }


@pytest.mark.parametrize(("file", "data"), FILES, ids=[f for f, _ in FILES])
def test_file_matches_its_schema(file, data):
    schema = json.loads((VECTORS / "schemas" / data["schema"]).read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    errors = list(Draft202012Validator(schema).iter_errors(data))
    assert not errors, [e.message[:200] for e in errors[:5]]


def test_lint_is_clean():
    assert lint(VECTORS) == []


def test_every_error_code_is_expected_somewhere():
    text = "".join(p.read_text() for p in VECTORS.glob("*.json"))
    missing = [c for c in ERROR_CODES if f'"error": "{c}"' not in text]
    assert missing == sorted(UNREACHABLE_CODES)


def test_vectors_are_fresh(tmp_path: Path):
    """Regenerating from the seeds gives the committed files, byte for byte."""
    for path in generate(tmp_path):
        rel = path.relative_to(tmp_path)
        assert path.read_bytes() == (VECTORS / rel).read_bytes(), f"{rel} drifted"


def test_tcids_do_not_depend_on_order():
    """A case's bytes come from its tcId: the generator seeds each case by name."""
    ids = [test["tcId"] for _, data in FILES for g in data["testGroups"] for test in g["tests"]]
    assert len(ids) == len(set(ids))
    assert all("/" in tc and not tc.split("/")[-1].isdigit() for tc in ids)


@pytest.mark.parametrize(("file", "group", "test"), CASES)
def test_case_on_the_reference(file, group, test):
    driver = DirectDriver()
    result = run_case(file, group, test, {"a": driver, "b": driver})
    assert result.status == "pass", result.message
