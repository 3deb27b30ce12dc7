"""Load the Wycheproof test vectors that the primitive tests run.

The vectors are an unchanged copy of C2SP/wycheproof kept in the repository, in
``tests/vectors/wycheproof/`` (its README.md gives the upstream commit, the
license and the SHA-256 of each file), with the JSON Schemas they name in
``schemas/`` beside them.

``cases(name)`` turns a file into pytest parameters, one per test case, so a
test is a short body over ``(group, test)`` (the pyca/cryptography style).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT7

VECTORS_DIR = Path(__file__).resolve().parent / "vectors" / "wycheproof"
SCHEMAS_DIR = VECTORS_DIR / "schemas"

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")

#: Checks the two formats of the schemas that hold bytes; other formats pass.
FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("HexBytes")
@FORMAT_CHECKER.checks("Hex")
def _is_hex(value: object) -> bool:
    return not isinstance(value, str) or _HEX.fullmatch(value) is not None


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed ``<name>_test.json`` (shared between callers: do not mutate)."""
    with (VECTORS_DIR / f"{name}_test.json").open(encoding="utf-8") as f:
        return json.load(f)


def cases(name: str) -> Iterator[Any]:
    """One ``pytest.param(group, test, id="<name>-<tcId>")`` per test of every group."""
    for group in load(name)["testGroups"]:
        for test in group["tests"]:
            yield pytest.param(group, test, id=f"{name}-{test['tcId']}")


def _external_refs(node: object) -> Iterator[tuple[str, str]]:
    """(file, JSON pointer) of every ``$ref`` in ``node`` that names another file."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            file, _, pointer = ref.partition("#")
            yield file, pointer
        for value in node.values():
            yield from _external_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _external_refs(value)


def _read_schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def validate(name: str) -> frozenset[str]:
    """Validate ``<name>_test.json`` against the schema it names; raise if it does not conform.

    The schemas refer to each other by file name (``common.json#/...``), so each
    file of ``schemas/`` is registered under its name. A schema that is referred
    to (directly or through another schema) but is not in ``schemas/`` cannot be
    checked: each definition taken from it is replaced by the empty, accept-all
    schema, and its file name is returned, so the caller can fail on any gap it
    does not expect.
    """
    schemas = {path.name: _read_schema(path) for path in SCHEMAS_DIR.glob("*.json")}
    root = schemas[load(name)["schema"]]
    stubs: dict[str, dict[str, Any]] = {}
    todo, seen = [root], set()
    while todo:
        for file, pointer in _external_refs(todo.pop()):
            if file in schemas:
                if file not in seen:
                    seen.add(file)
                    todo.append(schemas[file])
                continue
            node = stubs.setdefault(file, {})
            for part in filter(None, pointer.split("/")):
                node = node.setdefault(part, {})
    registry: Registry[Any] = Registry().with_resources(
        (uri, DRAFT7.create_resource(contents)) for uri, contents in {**schemas, **stubs}.items()
    )
    validator = Draft7Validator(root, registry=registry, format_checker=FORMAT_CHECKER)
    validator.validate(load(name))
    return frozenset(stubs)
