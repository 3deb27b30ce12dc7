"""Reports of a conformance run: console lines, the verdict, JSON, JUnit XML.

The verdict and its exit status follow spec/conformance.md, "The runner's
verdict and exit status" (CONF-010, CONF-011).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from .runner import CaseResult

__all__ = [
    "EXIT_CODES",
    "Verdict",
    "console_line",
    "summary_line",
    "verdict",
    "write_json",
    "write_junit",
]

#: Exit status of ``python -m parley.conformance`` by verdict (the spec's table).
EXIT_CODES = {"CONFORMANT": 0, "PASS": 0, "FAIL": 1, "ERROR": 2, "NOT CONFORMANT": 3}


def console_line(result: CaseResult) -> str:
    label = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[result.status]
    if result.status == "fail" and result.known:
        label = "XFAIL"
    line = f"{label} {result.tc_id} [{' '.join(result.requirements)}]"
    if result.message:
        line += f": {result.message}"
    return line


@dataclass
class Verdict:
    label: str  # a key of EXIT_CODES
    reasons: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.label]

    def line(self) -> str:
        return self.label + (": " + "; ".join(self.reasons) if self.reasons else "")


def verdict(
    results: list[CaseResult], *, partial: bool, stale: list[str] = (), profiles=()
) -> Verdict:
    """The verdict of a run (spec: conformance.md, the runner's verdict and exit status)."""
    if not results:
        return Verdict("ERROR", ["no case ran (check --select and --vectors)"])
    unexpected = [r for r in results if r.status == "fail" and not r.known]
    known = [r for r in results if r.status == "fail" and r.known]
    forced = [r for r in results if r.status == "skip" and not r.permitted]
    permitted = [r for r in results if r.status == "skip" and r.permitted]
    if unexpected or stale:
        reasons = []
        if unexpected:
            unimplemented = sum("CONF-010" in r.message for r in unexpected)
            text = f"{len(unexpected)} case(s) failed"
            if unimplemented:
                text += f", {unimplemented} of them because the driver lacks what they need"
            reasons.append(text)
        if stale:
            reasons.append(f"{len(stale)} listed known failure(s) passed: the list is stale")
        return Verdict("FAIL", reasons)
    if forced or known:
        reasons = []
        if forced:
            reasons.append(f"{len(forced)} required case(s) skipped (--allow-skip)")
        if known:
            reasons.append(f"{len(known)} known failure(s)")
        return Verdict("NOT CONFORMANT", reasons)
    scope = f"all {len(results)} cases passed"
    if permitted:
        scope = f"{len(results) - len(permitted)} cases passed, {len(permitted)} skipped as "
        scope += "CONF-004 permits"
    unmade = sum(len(r.notes) for r in results)
    if unmade:
        scope += f", {unmade} check(s) of an optional operation not made (see the notes)"
    if partial:
        return Verdict("PASS", [scope + " (a partial run, not a claim of conformance)"])
    named = ", ".join(str(p) for p in sorted(profiles))
    return Verdict("CONFORMANT", [scope + (f" (profile {named})" if named else "")])


def summary_line(results: list[CaseResult]) -> str:
    counts = Counter(r.status for r in results)
    return (
        f"conformance: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
    )


def write_json(
    path: Path,
    implementation: str,
    results: list[CaseResult],
    extra: dict,
    verdict: Verdict | None = None,
    coverage: dict | None = None,
) -> None:
    counts = Counter(r.status for r in results)
    if verdict is not None:
        extra = {**extra, "verdict": verdict.label, "verdictLine": verdict.line()}
        extra["exitCode"] = verdict.exit_code
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "implementation": implementation,
                "summary": {
                    "passed": counts["pass"],
                    "failed": counts["fail"],
                    "skipped": counts["skip"],
                    "knownFailures": sum(r.known for r in results if r.status == "fail"),
                    "skippedRequired": sum(r.status == "skip" and not r.permitted for r in results),
                    **extra,
                },
                "cases": [r.as_json() for r in results],
                **({"coverage": coverage} if coverage is not None else {}),
            },
            indent=2,
        )
        + "\n"
    )


def write_junit(path: Path, implementation: str, results: list[CaseResult]) -> None:
    suites = ET.Element("testsuites", name=f"parley conformance: {implementation}")
    by_file: dict[str, list[CaseResult]] = {}
    for result in results:
        by_file.setdefault(result.file, []).append(result)
    for file, cases in by_file.items():
        counts = Counter(r.status for r in cases)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=file,
            tests=str(len(cases)),
            failures=str(counts["fail"]),
            skipped=str(counts["skip"]),
            time=f"{sum(r.seconds for r in cases):.3f}",
        )
        for r in cases:
            case = ET.SubElement(
                suite, "testcase", classname=file, name=r.tc_id, time=f"{r.seconds:.4f}"
            )
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="requirements", value=" ".join(r.requirements))
            if r.status == "fail":
                kind = "known failure" if r.known else "failure"
                ET.SubElement(case, "failure", message=r.message[:500], type=kind).text = r.message
            elif r.status == "skip":
                ET.SubElement(case, "skipped", message=r.message)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
