"""The site's pages generated from the repository at build time.

Written to ``docs/_generated/`` (ignored by git) before Sphinx reads sources:

* ``requirements.md``       every requirement ID with its level and statement
* ``reference.md``          the schema reference, from the .proto comments
* ``vectors.md``            the test-vector files and their cases
* ``traceability.md``       the traceability matrix (tools/traceability.py)
* ``conformance-report.md`` the reference implementation's latest conformance run

Each generator works with nothing to read (no vectors, no report): the page
then says so. ``write_all`` returns warnings for inputs it cannot read.
"""

from __future__ import annotations

import json
from pathlib import Path

import protodoc
import spec_requirements as sr
import traceability

GENERATED = Path("docs") / "_generated"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _cell(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _req_links(ids, index: sr.SpecIndex) -> str:
    out = []
    for req_id in ids:
        if isinstance(req_id, str) and req_id in index.requirements:
            out.append(f"{{req:ref}}`{req_id}`")
        else:
            out.append(f"`{_cell(req_id)}` (unknown)")
    return ", ".join(out) or "-"


# -- requirements index ------------------------------------------------------------


def requirements_page(index: sr.SpecIndex) -> str:
    reqs = sorted(index.requirements.values(), key=lambda r: traceability._sort_key(r.id))
    out = [
        "# Requirements index",
        "",
        "Every requirement the specification defines, collected from the "
        "`{req}` roles of `spec/*.md` at build time. The level is the strongest "
        "BCP 14 keyword of the statement that carries the ID.",
        "",
        "| level | count |",
        "|---|---|",
    ]
    out += [f"| {lvl} | {len(index.by_level(lvl))} |" for lvl in sr.LEVELS]
    out += [f"| all | {len(reqs)} |", ""]
    out += ["| ID | level | section | statement |", "|---|---|---|---|"]
    for r in reqs:
        text = r.text if len(r.text) <= 220 else r.text[:217] + "..."
        out.append(f"| {{req:ref}}`{r.id}` | {r.level} | {{doc}}`/{r.docname}` | {_cell(text)} |")
    out.append("")
    return "\n".join(out)


# -- test vectors -------------------------------------------------------------------


def _cases(data) -> list[dict]:
    """Wycheproof layout (testGroups[].tests[]), or any list of objects with tcId."""
    cases: list[dict] = []

    def walk(node):
        if isinstance(node, dict):
            if "tcId" in node:
                cases.append(node)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return cases


def vectors_page(root: Path, index: sr.SpecIndex, warnings: list[str]) -> str:
    vectors = root / "test-vectors"
    files = (
        sorted(
            p
            for p in vectors.rglob("*.json")
            if not p.name.endswith(".schema.json")
            and not any(part.startswith("schema") for part in p.relative_to(vectors).parts[:-1])
        )
        if vectors.is_dir()
        else []
    )
    schemas = sorted(vectors.rglob("*.schema.json")) if vectors.is_dir() else []
    out = [
        "# Test vectors",
        "",
        "An index of the files under `test-vectors/`, generated at build time. Each "
        "case lists the requirements it covers. How the files are made and verified: "
        "the provenance README of `test-vectors/`, and {doc}`/spec/conformance`.",
        "",
    ]
    if not files:
        out += ["No vector files are present in `test-vectors/` yet.", ""]
        return "\n".join(out)
    out += ["| file | algorithm | cases |", "|---|---|---|"]
    loaded = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.append(f"{rel}: not readable JSON ({exc})")
            continue
        cases = _cases(data)
        algorithm = data.get("algorithm", "") if isinstance(data, dict) else ""
        anchor = "vectors-" + path.stem.lower().replace("_", "-").replace(".", "-")
        out.append(f"| [`{rel}`](#{anchor}) | {_cell(algorithm)} | {len(cases)} |")
        loaded.append((path, rel, anchor, data, cases))
    if schemas:
        out += ["", "Schemas: " + ", ".join(f"`{s.relative_to(root).as_posix()}`" for s in schemas)]
    out.append("")
    for _path, rel, anchor, data, cases in loaded:
        out += [f"({anchor})=", f"## `{rel}`", ""]
        if isinstance(data, dict):
            for key in ("algorithm", "schema", "numberOfTests"):
                if key in data:
                    out.append(f"- {key}: `{_cell(data[key])}`")
            header = data.get("header")
            if isinstance(header, list):
                out.append("- header: " + _cell(" ".join(map(str, header))))
            notes = data.get("notes")
            if isinstance(notes, dict) and notes:
                out += ["", "| flag | note |", "|---|---|"]
                for flag, note in notes.items():
                    text = note.get("description", note) if isinstance(note, dict) else note
                    out.append(f"| `{_cell(flag)}` | {_cell(text)} |")
            out.append("")
        if not cases:
            out += ["This file has no cases with a `tcId`.", ""]
            continue
        out += [
            "| tcId | comment | result | error | flags | requirements |",
            "|---|---|---|---|---|---|",
        ]
        for case in cases:
            out.append(
                "| `{}` | {} | {} | {} | {} | {} |".format(
                    _cell(case.get("tcId")),
                    _cell(case.get("comment", "")),
                    _cell(case.get("result", "")),
                    f"`{_cell(case['error'])}`" if case.get("error") else "",
                    _cell(", ".join(map(str, case.get("flags", []) or []))),
                    _req_links(case.get("requirements", []) or [], index),
                )
            )
        out.append("")
    return "\n".join(out)


# -- conformance report ----------------------------------------------------------------


def conformance_page(root: Path, index: sr.SpecIndex, warnings: list[str]) -> str:
    report = root / "build" / "conformance" / "report.json"
    out = [
        "# Conformance report",
        "",
        "The latest run of the conformance runner (`python -m parley.conformance`, "
        "`make conformance`) against the reference implementation, read from "
        "`build/conformance/report.json` when the site was built.",
        "",
    ]
    if not report.is_file():
        out += [
            "The conformance suite has not been run in this build tree: "
            "`build/conformance/report.json` does not exist. Run `make conformance`, "
            "then `make docs`.",
            "",
        ]
        return "\n".join(out)
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        warnings.append(f"build/conformance/report.json: not readable JSON ({exc})")
        return "\n".join([*out, "The report exists but could not be read.", ""])
    if not isinstance(data, dict):
        return "\n".join([*out, "The report has an unexpected layout.", ""])
    scalars = {k: v for k, v in data.items() if isinstance(v, str | int | float | bool)}
    summary = data.get("summary")
    if isinstance(summary, dict):
        scalars.update({k: v for k, v in summary.items() if isinstance(v, str | int | float)})
    if scalars:
        out += ["| item | value |", "|---|---|"]
        out += [f"| {_cell(k)} | `{_cell(v)}` |" for k, v in scalars.items()]
        out.append("")
    chapters = (data.get("coverage") or {}).get("chapters") or []
    if isinstance(chapters, list) and chapters:
        out += [
            "Coverage per spec chapter: requirements the chapter defines, those cited by a "
            "case of this run, and how those cases ended.",
            "",
            "| chapter | requirements | MUST | cited | all passed | with a failure "
            "| with a skip | case citations |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in chapters:
            if isinstance(row, dict):
                out.append(
                    "| {} | {} | {} | {} | {} | {} | {} | {} |".format(
                        _cell(row.get("title") or row.get("chapter", "")),
                        *(
                            _cell(row.get(k, ""))
                            for k in (
                                "requirements",
                                "must",
                                "withCases",
                                "allPassed",
                                "withFailure",
                                "withSkip",
                                "cases",
                            )
                        ),
                    )
                )
        out.append("")
    cases = data.get("cases") or data.get("results") or []
    if isinstance(cases, list) and cases:
        out += [
            "| case | status | requirements | detail |",
            "|---|---|---|---|",
        ]
        for case in cases:
            if not isinstance(case, dict):
                continue
            name = case.get("tcId") or case.get("id") or case.get("name") or ""
            where = case.get("file") or case.get("family") or ""
            label = f"{where}#{name}" if where else str(name)
            status = case.get("status") or case.get("outcome") or case.get("result") or ""
            detail = case.get("message") or case.get("detail") or case.get("reason") or ""
            out.append(
                f"| `{_cell(label)}` | {_cell(status)} | "
                f"{_req_links(case.get('requirements', []) or [], index)} | {_cell(detail)[:200]} |"
            )
        out.append("")
    return "\n".join(out)


def write_all(root: Path, index: sr.SpecIndex) -> list[str]:
    """Write every generated page under ``root``; return warnings."""
    warnings: list[str] = []
    gen = root / GENERATED
    _write(gen / "requirements.md", requirements_page(index))
    _write(gen / "reference.md", protodoc.render(protodoc.load(root / "proto")))
    _write(gen / "vectors.md", vectors_page(root, index, warnings))
    _write(gen / "conformance-report.md", conformance_page(root, index, warnings))
    matrix = traceability.build(root)
    _write(gen / "traceability.md", traceability.render(matrix))
    return warnings
