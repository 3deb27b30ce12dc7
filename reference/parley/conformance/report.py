"""Reports of a conformance run: console lines, JSON, JUnit XML."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

from .runner import CaseResult

__all__ = ["console_line", "summary_line", "write_json", "write_junit"]


def console_line(result: CaseResult) -> str:
    label = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[result.status]
    if result.status == "fail" and result.known:
        label = "XFAIL"
    line = f"{label} {result.tc_id} [{' '.join(result.requirements)}]"
    if result.message:
        line += f": {result.message}"
    return line


def summary_line(results: list[CaseResult]) -> str:
    counts = Counter(r.status for r in results)
    return (
        f"conformance: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped"
    )


def write_json(path: Path, implementation: str, results: list[CaseResult], extra: dict) -> None:
    counts = Counter(r.status for r in results)
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
                    **extra,
                },
                "cases": [r.as_json() for r in results],
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
