"""Lint the vector files: schema, unique tcIds, counts, flags, codes, requirement IDs.

    python -m parley.conformance.lint [VECTOR_DIR]

Checks, for every ``*.json`` of the folder:

* the file validates against ``schemas/<its schema>`` (JSON Schema 2020-12);
* ``numberOfTests`` is the number of cases; every tcId is unique across files;
* every flag a case uses is described in the file's ``notes``, and every note
  is used; an ``acceptable`` case has a flag (the schema says so too);
* every ``error`` (of a case or a step) is a code of parley.errors.ERROR_CODES
  or one of the library codes of spec/errors.md that vectors use,
  and an invalid scenario has a step that fails with the case's ``error``;
* every requirement ID is one the spec defines (spec/*.md);
* across all files, every error code of the registry is expected somewhere.

Needs the ``jsonschema`` package (a dev dependency).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ..client.errors import CLIENT_ERROR_CODES
from ..errors import ERROR_CODES
from .runner import default_vector_dir
from .schemas import LIBRARY_CODES

__all__ = ["lint", "requirement_ids"]

#: Error codes the vectors need not produce. INVALID_SIGNATURE is the parent of
#: BUNDLE_SIGNATURE_INVALID and INVALID_IDENTITY_BINDING: only the primitive
#: layer raises it bare (the Wycheproof tests cover that), never a protocol step.
UNREACHABLE_CODES: frozenset[str] = frozenset({"INVALID_SIGNATURE"})

if not set(CLIENT_ERROR_CODES) >= LIBRARY_CODES:  # pragma: no cover
    raise ImportError("a library code of the vectors is not a library error code")


_DEFINITION = re.compile(r"\{req\}`([A-Z][A-Z0-9]*-\d{3})`")


def requirement_ids(root: Path | None = None) -> set[str]:
    """The requirement IDs the spec defines (each ``{req}`ID``` in spec/*.md)."""
    root = root or default_vector_dir().parent
    return {
        match
        for path in sorted((root / "spec").glob("*.md"))
        for match in _DEFINITION.findall(path.read_text(encoding="utf-8"))
    }


def _errors_in(test: dict) -> list[str]:
    found = [test["error"]] if "error" in test else []
    steps = test.get("steps")
    for step in steps if isinstance(steps, list) else ():
        if "error" in step:
            found.append(step["error"])
    return found


def lint(directory: Path) -> list[str]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    problems: list[str] = []
    known_ids = requirement_ids()
    seen: dict[str, str] = {}
    codes_seen: set[str] = set()
    files = sorted(directory.glob("*.json"))
    if not files:
        return [f"{directory}: no vector files"]
    for path in files:
        data = json.loads(path.read_text())
        schema_path = directory / "schemas" / data.get("schema", "?")
        if not schema_path.exists():
            problems.append(f"{path.name}: schema {schema_path.name} not found")
            continue
        schema = json.loads(schema_path.read_text())
        Draft202012Validator.check_schema(schema)
        for error in sorted(Draft202012Validator(schema).iter_errors(data), key=str)[:20]:
            while error.context:  # a oneOf: report the branch that came closest
                error = best_match(error.context)
            where = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{path.name}: schema: {where}: {error.message[:200]}")
        tests = [t for g in data.get("testGroups", ()) for t in g.get("tests", ())]
        if data.get("numberOfTests") != len(tests):
            problems.append(
                f"{path.name}: numberOfTests is {data.get('numberOfTests')}, "
                f"the file has {len(tests)} cases"
            )
        notes = data.get("notes", {})
        used_flags: set[str] = set()
        for test in tests:
            tc = test.get("tcId", "?")
            if tc in seen:
                problems.append(f"{path.name}: tcId {tc} repeats (first in {seen[tc]})")
            seen[tc] = path.name
            for flag in test.get("flags", ()):
                used_flags.add(flag)
                if flag not in notes:
                    problems.append(f"{path.name}: {tc}: flag {flag} has no note")
            if test.get("result") == "acceptable" and not test.get("flags"):
                problems.append(f"{path.name}: {tc}: acceptable without a flag")
            for req in test.get("requirements", ()):
                if req not in known_ids:
                    problems.append(f"{path.name}: {tc}: unknown requirement ID {req}")
            errors = _errors_in(test)
            for code in errors:
                codes_seen.add(code)
                if code not in ERROR_CODES and code not in LIBRARY_CODES:
                    problems.append(f"{path.name}: {tc}: {code} is not a registry code")
            if test.get("result") == "invalid" and "error" not in test:
                problems.append(f"{path.name}: {tc}: invalid without an error code")
            scenario = isinstance(test.get("steps"), list)
            if scenario and test.get("result") == "invalid" and test["error"] not in errors[1:]:
                problems.append(f"{path.name}: {tc}: no step fails with {test['error']}")
            if scenario and test.get("result") == "valid" and errors:
                problems.append(f"{path.name}: {tc}: valid, but a step expects an error")
        unused = sorted(set(notes) - used_flags)
        if unused and not any(g["type"] == "ScenarioTest" for g in data["testGroups"]):
            problems.append(f"{path.name}: notes describe unused flags {unused}")
    missing = sorted(set(ERROR_CODES) - codes_seen - UNREACHABLE_CODES)
    if missing:
        problems.append(f"no vector expects the error codes {missing}")
    return problems


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else default_vector_dir()
    problems = lint(directory)
    for problem in problems:
        print(problem)
    count = sum(json.loads(p.read_text())["numberOfTests"] for p in directory.glob("*.json"))
    if problems:
        print(f"vector lint: {len(problems)} problem(s)")
        return 1
    print(f"vector lint: {count} cases in {len(list(directory.glob('*.json')))} files, all fine")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
