"""Coverage of a run: per requirement ID and per spec chapter.

spec: conformance.md, "The runner's verdict and exit status". Each case
cites requirement IDs; this module counts, for every requirement the spec
defines, how the cases citing it ended, and sums that per chapter (one
``spec/*.md`` file). The spec is indexed by ``tools/spec_requirements.py``,
the parser the traceability matrix and the site use; without a spec folder
(vectors run from elsewhere) requirements are grouped by their ID prefix.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .runner import CaseResult

__all__ = ["Coverage", "coverage", "format_coverage", "load_spec"]

_DEFINITION = re.compile(r"\{req\}`([A-Z][A-Z0-9]*-\d{3})`")


@dataclass(frozen=True)
class SpecRequirement:
    id: str
    level: str  # MUST, SHOULD, MAY; "?" when the spec is not at hand
    chapter: str  # "spec/ratchet.md", or the ID prefix


@dataclass
class Coverage:
    #: requirement ID -> Counter of statuses ("pass", "fail", "skip")
    requirements: dict[str, Counter] = field(default_factory=dict)
    spec: dict[str, SpecRequirement] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # chapter -> title

    def chapters(self) -> list[str]:
        return sorted({r.chapter for r in self.spec.values()})

    def as_json(self) -> dict:
        rows = []
        for req_id in sorted(self.spec):
            req, c = self.spec[req_id], self.requirements.get(req_id, Counter())
            rows.append(
                {
                    "id": req_id,
                    "level": req.level,
                    "chapter": req.chapter,
                    "cases": sum(c.values()),
                    "passed": c["pass"],
                    "failed": c["fail"],
                    "skipped": c["skip"],
                }
            )
        chapters = []
        for chapter in self.chapters():
            reqs = [r for r in rows if r["chapter"] == chapter]
            chapters.append(
                {
                    "chapter": chapter,
                    "title": self.titles.get(chapter, ""),
                    "requirements": len(reqs),
                    "must": sum(r["level"] == "MUST" for r in reqs),
                    "withCases": sum(r["cases"] > 0 for r in reqs),
                    "allPassed": sum(r["cases"] > 0 and r["passed"] == r["cases"] for r in reqs),
                    "withFailure": sum(r["failed"] > 0 for r in reqs),
                    "withSkip": sum(r["skipped"] > 0 for r in reqs),
                    "cases": sum(r["cases"] for r in reqs),
                }
            )
        return {"requirements": rows, "chapters": chapters}


def _spec_parser(tools: Path):
    path = tools / "spec_requirements.py"
    if not path.is_file():
        return None
    name = "_parley_spec_requirements"
    if name not in sys.modules:
        loaded = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(loaded)
        sys.modules[name] = module  # dataclasses look their module up there
        loaded.loader.exec_module(module)
    return sys.modules[name]


def load_spec(spec_dir: Path | None) -> tuple[dict[str, SpecRequirement], dict[str, str]]:
    """Requirements the spec under ``spec_dir`` defines, and each chapter's title."""
    if spec_dir is None or not spec_dir.is_dir():
        return {}, {}
    titles = {}
    for path in sorted(spec_dir.glob("*.md")):
        heading = next(
            (line[2:].strip() for line in path.read_text("utf-8").splitlines() if line[:2] == "# "),
            path.stem,
        )
        titles[f"spec/{path.name}"] = heading
    parser = _spec_parser(spec_dir.parent / "tools")
    if parser is not None:
        index = parser.parse(spec_dir)
        found = {r.id: SpecRequirement(r.id, r.level, r.path) for r in index.requirements.values()}
        return found, titles
    found = {}
    for path in sorted(spec_dir.glob("*.md")):
        for req_id in _DEFINITION.findall(path.read_text("utf-8")):
            found[req_id] = SpecRequirement(req_id, "?", f"spec/{path.name}")
    return found, titles


def coverage(results: list[CaseResult], spec_dir: Path | None) -> Coverage:
    spec, titles = load_spec(spec_dir)
    out = Coverage(spec=dict(spec), titles=titles)
    for result in results:
        for req_id in result.requirements:
            out.requirements.setdefault(req_id, Counter())[result.status] += 1
            if req_id not in out.spec:  # an ID the spec folder does not define
                out.spec[req_id] = SpecRequirement(req_id, "?", req_id.rsplit("-", 1)[0])
    return out


def _outcome(c: Counter) -> str:
    total = sum(c.values())
    if not total:
        return "no vector case"
    words = (("pass", "passed"), ("fail", "failed"), ("skip", "skipped"))
    parts = [f"{c[status]} {word}" for status, word in words if c[status]]
    return f"{total} case{'s' if total != 1 else ''}: " + ", ".join(parts)


def format_coverage(cov: Coverage, quiet: bool = False) -> list[str]:
    """Console lines: each requirement (quiet: those with a failure or a skip), then chapters."""
    lines = ["coverage by requirement:"]
    hidden = 0
    for req_id in sorted(cov.spec, key=lambda i: (cov.spec[i].chapter, i)):
        req, c = cov.spec[req_id], cov.requirements.get(req_id, Counter())
        if quiet and not (c["fail"] or c["skip"]):
            hidden += 1
            continue
        lines.append(f"  {req_id:<13} {req.level:<6} {req.chapter:<26} {_outcome(c)}")
    if hidden:
        lines.append(
            f"  ({hidden} more without a failure or a skip: run without -q, or see report.json)"
        )
    lines.append(
        f"coverage by spec chapter:{'':<11} reqs  MUST  cited  all-passed  failing  skipped"
        "  case-citations  title"
    )
    for row in cov.as_json()["chapters"]:
        lines.append(
            f"  {row['chapter']:<34} {row['requirements']:>4}  {row['must']:>4}  "
            f"{row['withCases']:>5}  {row['allPassed']:>10}  {row['withFailure']:>7}  "
            f"{row['withSkip']:>7}  {row['cases']:>14}  {row['title']}"
        )
    return lines
