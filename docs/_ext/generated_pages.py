"""The site's pages generated from the repository at build time.

Written to ``docs/_generated/`` (ignored by git) before Sphinx reads sources:

* ``requirements.md``       every requirement ID with its level and statement
* ``reference.md``          the schema reference, from the .proto comments
* ``grpc-api.md``           the gRPC API (``proto/parley/api/``), from its comments
* ``vectors.md``            the test-vector files; ``vectors/<file>.md``, one
                            page per file, one anchor per case (``#tc-...``)
* ``traceability.md``       the traceability matrix: the data of
                            ``tools/traceability.py``, rendered here, each row
                            linking to its requirement, vector cases and tests
* ``tests/<file>.md``       the source of each test file that covers a
                            requirement, one anchor per line (``#L-12``)
* ``mutants.md``            the mutation report (``build/mutants/report.json``)
* ``cli.md``                the ``parley`` command, from its argparse parser
* ``conformance-report.md`` the reference implementation's latest conformance run

Each generator works with nothing to read (no vectors, no report): the page
then says so. ``write_all`` returns warnings for inputs it cannot read.
"""

from __future__ import annotations

import argparse
import ast
import functools
import html
import json
import posixpath
import re
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


# -- shared HTML helpers --------------------------------------------------------------


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _rel(from_page: str, to_page: str) -> str:
    """Relative URL from the HTML page of docname ``from_page`` to that of ``to_page``."""
    return posixpath.relpath(to_page + ".html", posixpath.dirname(from_page) or ".")


def _raw(html_text: str) -> list[str]:
    """An HTML block, as a MyST ``raw`` directive (its lines may be blank)."""
    return ["`````{raw} html", html_text, "`````", ""]


def _tc_label(tc_id: str) -> str:
    """A tcId as HTML that may wrap after each ``/``."""
    return _esc(tc_id).replace("/", "/<wbr>")


def tc_anchor(tc_id: str) -> str:
    """The anchor of a vector case on its vector page: ``tc-session-out-of-order``."""
    return "tc-" + re.sub(r"[^a-z0-9]+", "-", tc_id.lower()).strip("-")


def trace_anchor(req_id: str) -> str:
    """The anchor of a requirement's row in the traceability matrix."""
    return "trace-" + req_id.lower()


def _req_link_html(req_id: str, index: sr.SpecIndex, from_page: str) -> str:
    req = index.requirements.get(req_id)
    if req is None:
        return f'<code class="req-unknown">{_esc(req_id)}</code> (unknown)'
    href = f"{_rel(from_page, req.docname)}#{sr.anchor_of(req_id)}"
    return (
        f'<a class="req req-{req.level.lower()}" href="{_esc(href)}" '
        f'title="{_esc(req_id)} ({req.level})">{_esc(req_id)}</a>'
    )


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


def vector_files(root: Path) -> list[Path]:
    vectors = root / "test-vectors"
    if not vectors.is_dir():
        return []
    return sorted(
        p
        for p in vectors.rglob("*.json")
        if not p.name.endswith(".schema.json")
        and not any(part.startswith("schema") for part in p.relative_to(vectors).parts[:-1])
    )


def vector_page_of(rel: str) -> str:
    """Docname of the vector page of ``test-vectors/x.json``."""
    stem = Path(rel).with_suffix("").as_posix().removeprefix("test-vectors/")
    return f"{GENERATED.as_posix()}/vectors/{stem.replace('/', '-')}"


def vectors_pages(root: Path, index: sr.SpecIndex, warnings: list[str]) -> dict[str, str]:
    """The vector index page and one page per vector file: {relative path: text}."""
    schemas = sorted((root / "test-vectors").rglob("*.schema.json"))
    out = [
        "# Test vectors",
        "",
        "The files under `test-vectors/`, generated at build time, one page per file "
        "with one anchor per case (`tcId`). Each case lists the requirements it covers. "
        "How the files are made and verified: the provenance README of `test-vectors/`, "
        "and {doc}`/spec/conformance`.",
        "",
    ]
    pages: dict[str, str] = {}
    files = vector_files(root)
    if not files:
        out += ["No vector files are present in `test-vectors/` yet.", ""]
        pages["vectors.md"] = "\n".join(out)
        return pages
    out += ["| file | algorithm | cases |", "|---|---|---|"]
    toc = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            warnings.append(f"{rel}: not readable JSON ({exc})")
            continue
        cases = _cases(data)
        algorithm = data.get("algorithm", "") if isinstance(data, dict) else ""
        docname = vector_page_of(rel)
        toc.append(docname)
        out.append(f"| {{doc}}`{rel} </{docname}>` | {_cell(algorithm)} | {len(cases)} |")
        pages[docname.removeprefix(GENERATED.as_posix() + "/") + ".md"] = _vector_file_page(
            rel, docname, data, cases, index
        )
    if schemas:
        out += ["", "Schemas: " + ", ".join(f"`{s.relative_to(root).as_posix()}`" for s in schemas)]
    out += ["", "```{toctree}", ":hidden:", "", *(f"/{d}" for d in toc), "```", ""]
    pages["vectors.md"] = "\n".join(out)
    return pages


def _vector_file_page(rel: str, docname: str, data, cases: list[dict], index) -> str:
    out = [f"# `{Path(rel).name}`", "", f"The cases of `{rel}`.", ""]
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
        return "\n".join([*out, "This file has no cases with a `tcId`.", ""])
    rows = []
    seen: set[str] = set()
    for case in cases:
        tc_id = str(case.get("tcId"))
        anchor = tc_anchor(tc_id)
        if anchor in seen:
            anchor_attr = ""
        else:
            seen.add(anchor)
            anchor_attr = f' id="{anchor}"'
        reqs = ", ".join(
            _req_link_html(r, index, docname) for r in case.get("requirements", []) or []
        )
        result = _esc(case.get("result", ""))
        if case.get("error"):
            result += f"<br><code>{_esc(case['error'])}</code>"
        flags = [str(f) for f in case.get("flags", []) or []]
        if flags:
            result += '<span class="flags">' + _esc(", ".join(flags)) + "</span>"
        rows.append(
            f'<tr{anchor_attr}><td><a class="tc" href="#{anchor}">'
            f"<code>{_tc_label(tc_id)}</code></a>"
            f"</td><td>{_esc(case.get('comment', ''))}</td><td>{result}</td>"
            f"<td>{reqs or '-'}</td></tr>"
        )
    out += _raw(
        '<div class="table-wrapper"><table class="docutils vectors">'
        "<thead><tr><th>tcId</th><th>comment</th><th>result, error, flags</th>"
        "<th>requirements</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
    )
    return "\n".join(out)


# -- traceability (the data is tools/traceability.py's; this is how the site shows it) --


TRACE_PAGE = f"{GENERATED.as_posix()}/traceability"
TESTS_DIR = f"{GENERATED.as_posix()}/tests"


@functools.cache
def _definitions(path: Path) -> dict[str, int]:
    """``Class::func`` (and ``func``) -> line of its ``def``/``class`` in a test file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return {}
    lines: dict[str, int] = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + child.name
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                lines.setdefault(name, first)
                visit(child, name + "::")
            elif isinstance(child, ast.Assign):
                for target in child.targets:
                    if isinstance(target, ast.Name):
                        lines.setdefault(prefix + target.id, child.lineno)

    visit(tree, "")
    return lines


def test_location(root: Path, where: str) -> tuple[str, int]:
    """``tests/test_x.py::Class::name`` -> (``tests/test_x.py``, line); line 1 if unknown."""
    file, _, name = where.partition("::")
    return file, _definitions(root / file).get(name, 1)


def test_page_of(file: str) -> str:
    return f"{TESTS_DIR}/{Path(file).stem}"


def _details(items: list[str], label: str, open_limit: int = 3) -> str:
    if not items:
        return "-"
    listed = "".join(f'<div class="item">{item}</div>' for item in items)
    if len(items) <= open_limit:
        return listed
    return f"<details><summary>{len(items)} {label}</summary>{listed}</details>"


def traceability_page(matrix: traceability.Matrix, root: Path) -> str:
    """The matrix page: every requirement, its level and section, and the vector cases
    and tests that cover it, each a link (cases to their anchors on the vector pages,
    tests to their file and line); rows are anchored (``#trace-x3dh-010``) so the
    spec's requirement badges link here."""
    index = matrix.index
    cov = matrix.covering()
    counts = {lvl: len(index.by_level(lvl)) for lvl in sr.LEVELS}
    uncovered = {lvl: matrix.uncovered(lvl) for lvl in sr.LEVELS}
    out = [
        "# Traceability matrix",
        "",
        "Generated from the spec, `test-vectors/*.json` (each case's `requirements`) and "
        'the tests\' `@pytest.mark.requirement("ID", ...)` marks by `tools/traceability.py` '
        "(`make traceability`). A MUST without a vector or a test fails `make "
        "traceability`; an uncovered SHOULD is a warning. Each requirement badge in the "
        "spec links to its row here; each row links back to the requirement, to its "
        "vector cases and to the tests (file and line).",
        "",
        "| level | requirements | covered | uncovered |",
        "|---|---|---|---|",
    ]
    for lvl in sr.LEVELS:
        n, u = counts[lvl], len(uncovered[lvl])
        out.append(f"| {lvl} | {n} | {n - u} | {u} |")
    vectors = sum(1 for c in matrix.citations if c.kind == "vector")
    tests = sum(1 for c in matrix.citations if c.kind == "test")
    out += ["", f"Sources: {vectors} vector cases, {tests} marked tests.", ""]
    unknown = matrix.unknown()
    if unknown:
        out += ["## Unknown IDs cited", "", "| where | ID |", "|---|---|"]
        out += [f"| `{_cell(w)}` | `{_cell(i)}` |" for w, i in unknown]
        out.append("")
    if matrix.problems or index.errors:
        out += ["## Problems", ""]
        out += [f"- {_cell(p)}" for p in [*index.errors, *matrix.problems]]
        out.append("")
    if uncovered["MUST"]:
        out += ["## Uncovered MUSTs", ""]
        out += [f"- {{req:ref}}`{r.id}`: {_cell(r.text[:140])}" for r in uncovered["MUST"]]
        out.append("")
    out += ["## Matrix", ""]
    rows = []
    for req in sorted(index.requirements.values(), key=lambda r: traceability._sort_key(r.id)):
        entry = cov.get(req.id, {"vector": [], "test": []})
        status = (
            ""
            if entry["vector"] or entry["test"]
            else ' <strong class="uncovered">uncovered</strong>'
        )
        vector_links = []
        for where in entry["vector"]:
            file, _, tc_id = where.partition("#")
            href = f"{_rel(TRACE_PAGE, vector_page_of(file))}#{tc_anchor(tc_id)}"
            vector_links.append(f'<a href="{_esc(href)}"><code>{_tc_label(tc_id)}</code></a>')
        test_links = []
        for where in entry["test"]:
            file, line = test_location(root, where)
            href = f"{_rel(TRACE_PAGE, test_page_of(file))}#L-{line}"
            name = where.partition("::")[2] or file
            test_links.append(
                f'<a href="{_esc(href)}"><code>{_esc(name)}</code></a> '
                f'<span class="where">{_esc(file)}:{line}</span>'
            )
        vectors_cell = _details(vector_links, "vector cases")
        reason = getattr(matrix, "reasons", {}).get(req.id)
        if not vector_links and reason:  # spec/not-observable.toml
            vectors_cell = (
                f'<span class="not-observable">not observable through the driver: '
                f"{_esc(reason)}</span>"
            )
        chapter = req.docname.split("/")[-1]
        section = f'<a href="{_esc(_rel(TRACE_PAGE, req.docname))}">{_esc(chapter)}</a>'
        rows.append(
            f'<tr id="{trace_anchor(req.id)}"><td>{_req_link_html(req.id, index, TRACE_PAGE)}'
            f'<span class="level">{req.level}</span>{status}</td><td>{section}</td>'
            f"<td>{vectors_cell}</td>"
            f"<td>{_details(test_links, 'tests')}</td></tr>"
        )
    out += _raw(
        '<div class="table-wrapper"><table class="docutils trace">'
        "<thead><tr><th>requirement</th><th>section</th><th>vectors</th>"
        "<th>tests</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
    )
    return "\n".join(out)


def test_source_pages(matrix: traceability.Matrix, root: Path) -> dict[str, str]:
    """One page per test file the matrix cites: its source with an anchor per line."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    files = sorted({c.where.partition("::")[0] for c in matrix.citations if c.kind == "test"})
    pages = {}
    for file in files:
        try:
            code = (root / file).read_text(encoding="utf-8")
        except OSError:
            continue
        formatter = HtmlFormatter(
            linenos="inline", lineanchors="L", anchorlinenos=True, wrapcode=True
        )
        body = highlight(code, PythonLexer(), formatter)
        out = [
            "---",
            "orphan: true",
            "---",
            "",
            f"# `{file}`",
            "",
            f"The source of `{file}` as it was when the site was built; the "
            "{doc}`traceability matrix </docs/_generated/traceability>` links to its lines.",
            "",
            *_raw(f'<div class="highlight-python notranslate source-listing">{body}</div>'),
        ]
        pages[f"tests/{Path(file).stem}.md"] = "\n".join(out)
    return pages


# -- mutation report -------------------------------------------------------------------

MUTANTS_REPORT = Path("build") / "mutants" / "report.json"


def mutants_page(root: Path, index: sr.SpecIndex, warnings: list[str]) -> str:
    """Which vectors kill which mutant, from ``build/mutants/report.json``:
    ``{"mutants": [{"name", "requirements", "description", "killed_by"}], "killed", "total"}``.
    """
    page = f"{GENERATED.as_posix()}/mutants"
    out = [
        "# Mutation report",
        "",
        "Each mutant is a deliberately wrong variant of the reference implementation "
        "(`reference/parley/conformance/mutants.py`, `make mutants`); the vectors must "
        "catch (kill) every one. Read from `build/mutants/report.json` when the site was "
        "built; each vector case links to its anchor on the vector pages.",
        "",
    ]
    report = root / MUTANTS_REPORT
    if not report.is_file():
        return "\n".join(
            [*out, "No mutation run in this build tree: run `make mutants`, then `make docs`.", ""]
        )
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        mutants = list(data["mutants"])
        killed, total = int(data["killed"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        warnings.append(f"{MUTANTS_REPORT}: not a mutation report ({exc})")
        return "\n".join([*out, "The report exists but could not be read.", ""])
    tc_pages = {}
    for path in vector_files(root):
        rel = path.relative_to(root).as_posix()
        try:
            for case in _cases(json.loads(path.read_text(encoding="utf-8"))):
                tc_pages[str(case.get("tcId"))] = vector_page_of(rel)
        except (OSError, ValueError):
            continue
    out += [f"**{killed} of {total} mutants killed.**", ""]
    rows = []
    for m in mutants:
        killers = []
        for tc_id in m.get("killed_by") or []:
            target = tc_pages.get(tc_id)
            label = f"<code>{_tc_label(tc_id)}</code>"
            killers.append(
                f'<a href="{_esc(_rel(page, target))}#{tc_anchor(tc_id)}">{label}</a>'
                if target
                else label
            )
        verdict = (
            _details(killers, "vector cases")
            if killers
            else '<strong class="uncovered">survived</strong>'
        )
        reqs = ", ".join(_req_link_html(r, index, page) for r in m.get("requirements") or [])
        name = str(m.get("name", ""))
        rows.append(
            f'<tr id="mutant-{_esc(name)}"><td><code>{_esc(name)}</code></td>'
            f"<td>{_esc(m.get('description', ''))}</td><td>{reqs or '-'}</td>"
            f"<td>{verdict}</td></tr>"
        )
    out += _raw(
        '<div class="table-wrapper"><table class="docutils mutants">'
        "<thead><tr><th>mutant</th><th>what is wrong</th><th>requirements</th>"
        "<th>killed by</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
    )
    return "\n".join(out)


# -- CLI reference ---------------------------------------------------------------------


def _cli_commands() -> list[tuple[str, str]]:
    """(name, one-line help) of every ``parley`` subcommand, as ``parley --help`` lists them."""
    from parley.client.cli import build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [(c.dest, c.help or "") for c in action._choices_actions]
    return []


def cli_page() -> str:
    """The ``parley`` command, generated from its argparse parser (sphinx-argparse)."""
    commands = _cli_commands()
    return "\n".join(
        [
            "# Command-line reference",
            "",
            "Generated at build time from the `parley` command's own argparse parser "
            "(`parley.client.cli.build_parser`), so it always says what `parley --help` "
            "says. A shell session: {doc}`/index` (quick start); the library behind it: "
            "{doc}`/docs/api/python`.",
            "",
            *_raw(
                '<div class="table-wrapper"><table class="docutils cli">'
                "<thead><tr><th>command</th><th>what it does</th></tr></thead><tbody>"
                + "".join(
                    f'<tr><td><a href="#parley-{_esc(n)}"><code>parley {_esc(n)}</code></a></td>'
                    f"<td>{_esc(h)}</td></tr>"
                    for n, h in commands
                )
                + "</tbody></table></div>"
            ),
            "```{eval-rst}",
            ".. argparse::",
            "   :module: parley.client.cli",
            "   :func: build_parser",
            "   :prog: parley",
            "```",
            "",
        ]
    )


def grpc_api_page(files: list[protodoc.ProtoFile]) -> str:
    """The gRPC API of ``parley serve``, from the comments of ``proto/parley/api/``."""
    api = [f for f in files if f.path.startswith("parley/api/")]
    return protodoc.render(
        api,
        title="gRPC API reference",
        intro=(
            "The API that `parley serve` serves, generated from the comments of "
            "`proto/parley/api/` at build time. How to use it: {doc}`/docs/bots`."
        ),
    )


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
    protos = protodoc.load(root / "proto")
    _write(gen / "requirements.md", requirements_page(index))
    _write(
        gen / "reference.md",
        protodoc.render([f for f in protos if not f.path.startswith("parley/api/")]),
    )
    _write(gen / "grpc-api.md", grpc_api_page(protos))
    _write(gen / "conformance-report.md", conformance_page(root, index, warnings))
    _write(gen / "mutants.md", mutants_page(root, index, warnings))
    _write(gen / "cli.md", cli_page())
    matrix = traceability.build(root)
    _write(gen / "traceability.md", traceability_page(matrix, root))
    pages = {**vectors_pages(root, index, warnings), **test_source_pages(matrix, root)}
    for name, text in pages.items():
        _write(gen / name, text)
    for folder in ("vectors", "tests"):  # pages of files that are gone
        for stale in (gen / folder).glob("*.md") if (gen / folder).is_dir() else []:
            if f"{folder}/{stale.name}" not in pages:
                stale.unlink()
    return warnings
