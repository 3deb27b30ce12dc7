"""Traceability: every requirement of the spec against the vectors and tests citing it.

Sources, all read statically (nothing is imported or run):

* the spec: ``spec/*.md`` through ``tools/spec_requirements.py``;
* test vectors: every ``test-vectors/**/*.json``; any object with a
  ``requirements`` list is a case (named by its ``tcId``, else its JSON path);
* tests: every ``@pytest.mark.requirement("ID", ...)`` in ``tests/**/*.py``
  (on a function, a class, ``pytestmark``, or ``pytest.param(marks=...)``).

``make traceability`` runs this script. It writes the matrix page
(``docs/_generated/traceability.md``, part of the site) and exits non-zero
when a MUST has no coverage, when a vector or a test cites an ID the spec does
not define, or when the spec itself has an indexing error. An uncovered SHOULD
is a warning.

A MUST that no vector cites must have its reason recorded in
``spec/not-observable.toml`` (why the conformance driver cannot observe it) and
must then be covered by a test; a MUST that a vector cites must not be listed
there.

Usage: traceability.py [--out PATH] [--no-fail]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spec_requirements as sr

ROOT = sr.ROOT
VECTORS = ROOT / "test-vectors"
TESTS = ROOT / "tests"
DEFAULT_OUT = ROOT / "docs" / "_generated" / "traceability.md"
NOT_OBSERVABLE = ROOT / "spec" / "not-observable.toml"


def not_observable(path: Path = NOT_OBSERVABLE) -> dict[str, str]:
    """ID -> why no vector can pin it through the driver."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {req_id: entry["reason"] for req_id, entry in data.items()}


@dataclass
class Citation:
    kind: str  # "vector" or "test"
    where: str  # "test-vectors/x.json#tcId" or "tests/test_x.py::name"
    ids: tuple[str, ...]


@dataclass
class Matrix:
    index: sr.SpecIndex
    citations: list[Citation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # unreadable sources
    reasons: dict[str, str] = field(default_factory=dict)  # spec/not-observable.toml

    def reason_problems(self) -> list[str]:
        """MUSTs without a vector and without a reason; reasons that are stale or unknown."""
        cov = self.covering()
        out = []
        for req in self.index.by_level("MUST"):
            vectors = cov.get(req.id, {"vector": []})["vector"]
            if not vectors and req.id not in self.reasons:
                out.append(
                    f"MUST {req.id} ({req.path}:{req.line}) has no vector and no reason in "
                    "spec/not-observable.toml"
                )
        for req_id in sorted(self.reasons):
            if req_id not in self.index.requirements:
                out.append(
                    f"spec/not-observable.toml lists {req_id}, which the spec does not define"
                )
            elif cov.get(req_id, {"vector": []})["vector"]:
                out.append(f"spec/not-observable.toml lists {req_id}, which a vector covers")
        return out

    def covering(self) -> dict[str, dict[str, list[str]]]:
        """ID -> {"vector": [...], "test": [...]}."""
        out: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"vector": [], "test": []})
        for c in self.citations:
            for req_id in c.ids:
                out[req_id][c.kind].append(c.where)
        return out

    def unknown(self) -> list[tuple[str, str]]:
        """(where, ID) for every cited ID the spec does not define."""
        return [
            (c.where, req_id)
            for c in self.citations
            for req_id in c.ids
            if req_id not in self.index.requirements
        ]

    def uncovered(self, level: str) -> list[sr.Requirement]:
        cov = self.covering()
        return [
            r
            for r in sorted(self.index.by_level(level), key=lambda r: _sort_key(r.id))
            if not (cov.get(r.id, {}).get("vector") or cov.get(r.id, {}).get("test"))
        ]


def _sort_key(req_id: str):
    prefix, number = req_id.rsplit("-", 1)
    return (prefix, int(number))


# -- vectors ---------------------------------------------------------------------


def _walk_cases(node, path: str, out: list[tuple[str, list]]):
    if isinstance(node, dict):
        reqs = node.get("requirements")
        if isinstance(reqs, list):
            name = node.get("tcId", node.get("id", path))
            out.append((str(name), reqs))
        for key, value in node.items():
            if key != "requirements":
                _walk_cases(value, f"{path}/{key}", out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk_cases(value, f"{path}/{i}", out)


def vector_citations(vectors: Path = VECTORS) -> tuple[list[Citation], list[str]]:
    citations, problems = [], []
    if not vectors.is_dir():
        return citations, problems
    for path in sorted(vectors.rglob("*.json")):
        rel = path.relative_to(ROOT).as_posix()
        if any(
            part.startswith("schema") for part in path.relative_to(vectors).parts[:-1]
        ) or path.name.endswith(".schema.json"):
            continue  # JSON Schemas describe vectors; they cite nothing
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"{rel}: not readable JSON ({exc})")
            continue
        cases: list[tuple[str, list]] = []
        _walk_cases(data, "", cases)
        for name, reqs in cases:
            bad = [r for r in reqs if not isinstance(r, str)]
            if bad:
                problems.append(f"{rel}#{name}: requirements must be strings")
            citations.append(
                Citation("vector", f"{rel}#{name}", tuple(r for r in reqs if isinstance(r, str)))
            )
    return citations, problems


# -- tests -------------------------------------------------------------------------


def _is_requirement_mark(node: ast.AST) -> bool:
    """True for ``pytest.mark.requirement(...)`` or ``mark.requirement(...)``."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "requirement"
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "mark"
    )


def _mark_ids(call: ast.Call, rel: str, problems: list[str]) -> tuple[str, ...]:
    ids = []
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            ids.append(arg.value)
        else:
            problems.append(f"{rel}:{call.lineno}: requirement IDs must be string literals")
    return tuple(ids)


def marked_test_citations(tests: Path = TESTS) -> tuple[list[Citation], list[str]]:
    citations, problems = [], []
    if not tests.is_dir():
        return citations, problems
    for path in sorted(tests.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        except (OSError, SyntaxError) as exc:
            problems.append(f"{rel}: cannot parse ({exc})")
            continue
        parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
        for node in ast.walk(tree):
            if not _is_requirement_mark(node):
                continue
            names = []
            up = parents.get(node)
            while up is not None:
                if isinstance(up, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    names.append(up.name)
                elif isinstance(up, ast.Assign) and not names:
                    # ``TestX = pytest.mark.requirement(...)(Machine.TestCase)``
                    names += [t.id for t in up.targets if isinstance(t, ast.Name)][:1]
                up = parents.get(up)
            where = rel + ("::" + "::".join(reversed(names)) if names else "")
            citations.append(Citation("test", where, _mark_ids(node, rel, problems)))
    return citations, problems


def build(root: Path = ROOT) -> Matrix:
    index = sr.parse(root / "spec")
    matrix = Matrix(index, reasons=not_observable(root / "spec" / "not-observable.toml"))
    for collect, where in (
        (vector_citations, root / "test-vectors"),
        (marked_test_citations, root / "tests"),
    ):
        citations, problems = collect(where)
        matrix.citations += citations
        matrix.problems += problems
    return matrix


# -- the page ------------------------------------------------------------------------


def render(matrix: Matrix) -> str:
    """The matrix page: this module gives the data, the site renders it
    (``docs/_ext/generated_pages.py``, with links to vectors and test lines)."""
    sys.path.insert(0, str(ROOT / "docs" / "_ext"))
    import generated_pages

    return generated_pages.traceability_page(matrix, ROOT)


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="matrix page to write")
    parser.add_argument("--no-fail", action="store_true", help="report, but exit 0")
    args = parser.parse_args(argv)

    matrix = build()
    write_if_changed(args.out, render(matrix))
    index = matrix.index
    failures = 0
    for error in index.errors:
        print(f"error: spec: {error}")
        failures += 1
    for problem in matrix.problems:
        print(f"error: {problem}")
        failures += 1
    for where, req_id in matrix.unknown():
        print(f"error: {where} cites {req_id}, which the spec does not define")
        failures += 1
    for req in matrix.uncovered("MUST"):
        print(f"error: MUST {req.id} ({req.path}:{req.line}) has no vector and no test")
        failures += 1
    for problem in matrix.reason_problems():
        print(f"error: {problem}")
        failures += 1
    for req in matrix.uncovered("SHOULD"):
        print(f"warning: SHOULD {req.id} ({req.path}:{req.line}) has no vector and no test")
    counts = {lvl: len(index.by_level(lvl)) for lvl in sr.LEVELS}
    uncovered = {lvl: len(matrix.uncovered(lvl)) for lvl in sr.LEVELS}
    vectors = sum(1 for c in matrix.citations if c.kind == "vector")
    tests = sum(1 for c in matrix.citations if c.kind == "test")
    print(
        f"traceability: {len(index.requirements)} requirements "
        + ", ".join(f"{counts[lvl]} {lvl} ({uncovered[lvl]} uncovered)" for lvl in sr.LEVELS)
        + f"; {len(matrix.reasons)} MUSTs not observable through the driver, each with its "
        "reason and a test" + f"; {vectors} vector cases, {tests} marked tests; "
        f"{len(matrix.unknown())} unknown IDs cited; matrix: {_rel(args.out)}"
    )
    return 1 if failures and not args.no_fail else 0


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
