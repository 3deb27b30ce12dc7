"""Requirement IDs of the Parley specification, read statically from spec/*.md.

The spec defines a requirement with the MyST role ``{req}`ID``` placed in the
normative statement itself, and refers to one defined elsewhere with
``{req:ref}`ID```. A *statement* is the block that holds the role: a
paragraph, one list item, or one table row. Its level is the strongest BCP 14
keyword in the block (MUST > SHOULD > MAY): every definition must sit in a
block with a keyword, and a block defines at most one requirement.

This module is shared by the Sphinx extension (``docs/_ext/parley_spec.py``),
``tools/traceability.py`` and ``tests/test_spec.py``, so all three agree on
what the spec defines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"

ID_PATTERN = r"[A-Z][A-Z0-9]*-\d{3}"
DEF_RE = re.compile(r"\{req\}`(" + ID_PATTERN + r")`")
REF_RE = re.compile(r"\{req:ref\}`(" + ID_PATTERN + r")`")
ANY_ROLE_RE = re.compile(r"\{req(?::ref)?\}`([^`]*)`")
KEYWORD_RE = re.compile(
    r"\b(MUST NOT|MUST|REQUIRED|SHALL NOT|SHALL|SHOULD NOT|SHOULD|NOT RECOMMENDED|"
    r"RECOMMENDED|MAY|OPTIONAL)\b"
)
LEVEL_OF = {
    "MUST NOT": "MUST",
    "MUST": "MUST",
    "REQUIRED": "MUST",
    "SHALL NOT": "MUST",
    "SHALL": "MUST",
    "SHOULD NOT": "SHOULD",
    "SHOULD": "SHOULD",
    "NOT RECOMMENDED": "SHOULD",
    "RECOMMENDED": "SHOULD",
    "MAY": "MAY",
    "OPTIONAL": "MAY",
}
#: Files whose key words are not requirements (the BCP 14 boilerplate).
INFORMATIVE = {"spec/conventions.md"}
RANK = {"MUST": 3, "SHOULD": 2, "MAY": 1}
LEVELS = ("MUST", "SHOULD", "MAY")

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_FENCE = re.compile(r"^\s*(```+|~~~+)")
_MARKUP = re.compile(r"\{[a-z:]+\}`([^`<]*?)(?:\s*<[^>]*>)?`")


@dataclass(frozen=True)
class Requirement:
    """One requirement as the spec defines it."""

    id: str
    level: str
    path: str  # relative to the repository root, e.g. "spec/x3dh.md"
    line: int
    section: str
    text: str

    @property
    def docname(self) -> str:
        return self.path.removesuffix(".md")

    @property
    def anchor(self) -> str:
        return anchor_of(self.id)

    @property
    def prefix(self) -> str:
        return self.id.rsplit("-", 1)[0]


@dataclass
class SpecIndex:
    """Every requirement the spec defines, every reference, and every error."""

    requirements: dict[str, Requirement] = field(default_factory=dict)
    references: list[tuple[str, str, int]] = field(default_factory=list)  # (id, path, line)
    #: Statements with a BCP 14 keyword but no requirement ID: (path, line, text).
    unlabelled: list[tuple[str, int, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def by_level(self, level: str) -> list[Requirement]:
        return [r for r in self.requirements.values() if r.level == level]

    @property
    def prefixes(self) -> set[str]:
        return {r.prefix for r in self.requirements.values()}


def anchor_of(req_id: str) -> str:
    """The HTML anchor of a requirement: ``req-x3dh-012`` (docutils' make_id form)."""
    return "req-" + req_id.lower()


def _blocks(lines: list[str]):
    """Yield (first line number, heading, [lines]) for each statement block."""
    heading = ""
    block: list[str] = []
    start = 0
    in_fence = None

    def flush():
        nonlocal block
        if block:
            yield start, heading, block
        block = []

    for number, line in enumerate(lines, 1):
        fence = _FENCE.match(line)
        if in_fence:
            if fence and fence.group(1)[0] == in_fence[0] and len(fence.group(1)) >= len(in_fence):
                in_fence = None
            continue
        if fence:  # code, or a directive in a backtick fence: no statements inside
            yield from flush()
            in_fence = fence.group(1)
            continue
        if line.lstrip().startswith(":::"):  # a colon-fenced directive opens or closes
            yield from flush()
            continue
        if not line.strip():
            yield from flush()
            continue
        match = _HEADING.match(line)
        if match:
            yield from flush()
            heading = match.group(2).strip()
            continue
        if line.lstrip().startswith("|") or _LIST_ITEM.match(line):
            yield from flush()
            start = number
            block = [line]
            if line.lstrip().startswith("|"):
                yield from flush()
            continue
        if not block:
            start = number
        block.append(line)
    yield from flush()


def plain(text: str) -> str:
    """Markdown of a statement reduced to plain text (roles replaced by their text)."""
    text = DEF_RE.sub("", text)
    text = re.sub(r"\{rfc\}`(\d+)`", r"RFC \1", text)
    text = _MARKUP.sub(lambda m: m.group(1), text)
    text = re.sub(r"\s+", " ", text.replace("`", "").replace("**", ""))
    return text.strip(" |-*")


def parse(spec_dir: Path = SPEC) -> SpecIndex:
    """Read every ``*.md`` under ``spec_dir`` and index its requirements."""
    index = SpecIndex()
    for path in sorted(spec_dir.rglob("*.md")):
        rel = path.relative_to(spec_dir.parent).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        for start, heading, block in _blocks(lines):
            text = "\n".join(block)
            for match in ANY_ROLE_RE.finditer(text):
                if not re.fullmatch(ID_PATTERN, match.group(1)):
                    index.errors.append(f"{rel}:{start}: malformed requirement ID {match.group(0)}")
            for match in REF_RE.finditer(text):
                index.references.append((match.group(1), rel, start))
            defs = DEF_RE.findall(text)
            if not defs:
                if KEYWORD_RE.search(_MARKUP.sub("", text)) and rel not in INFORMATIVE:
                    index.unlabelled.append((rel, start, plain(text)))
                continue
            if len(defs) > 1:
                index.errors.append(
                    f"{rel}:{start}: one statement defines {len(defs)} requirements "
                    f"({', '.join(defs)}); split it"
                )
            keywords = KEYWORD_RE.findall(text)
            if not keywords:
                index.errors.append(f"{rel}:{start}: {defs[0]} has no BCP 14 keyword")
                continue
            level = max((LEVEL_OF[k] for k in keywords), key=RANK.__getitem__)
            for req_id in defs:
                if req_id in index.requirements:
                    other = index.requirements[req_id]
                    index.errors.append(
                        f"{rel}:{start}: {req_id} is defined twice (also {other.path}:{other.line})"
                    )
                    continue
                index.requirements[req_id] = Requirement(
                    req_id, level, rel, start, heading, plain(text)
                )
    for req_id, rel, line in index.references:
        if req_id not in index.requirements:
            index.errors.append(f"{rel}:{line}: reference to undefined requirement {req_id}")
    return index


def cited_ids(text: str, prefixes: set[str]) -> set[str]:
    """Requirement IDs with a known prefix cited anywhere in ``text``."""
    if not prefixes:
        return set()
    alternatives = "|".join(sorted(map(re.escape, prefixes), key=len, reverse=True))
    return set(re.findall(r"\b(?:" + alternatives + r")-\d{3}\b", text))


if __name__ == "__main__":  # pragma: no cover - a quick summary
    idx = parse()
    for level in LEVELS:
        print(f"{level}: {len(idx.by_level(level))}")
    for error in idx.errors:
        print("error:", error)
