"""Sphinx extension of the Parley site: requirement IDs, and the generated pages.

* ``{req}`X3DH-012``` defines a requirement where the normative statement is:
  it renders as an anchored label (``#req-x3dh-012``) styled by the
  statement's level (MUST / SHOULD / MAY, read from its BCP 14 keyword), which
  links to the requirement's row of the traceability matrix.
* ``{req:ref}`X3DH-012``` links to a requirement defined anywhere in the
  spec; an unknown ID is a build warning (an error under ``-W``).
* Every requirement is an object of the ``req`` domain, so the search page
  finds IDs too.
* Before the sources are read, the pages that are generated from the
  repository (requirements index, schema reference, test-vector index,
  traceability matrix, conformance report) are written to ``docs/_generated/``.

What the spec defines is decided by ``tools/spec_requirements.py``, which the
traceability tool and the tests use as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import generated_pages
import spec_requirements
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.domains import Domain, ObjType
from sphinx.roles import XRefRole
from sphinx.util import logging
from sphinx.util.nodes import make_refnode

logger = logging.getLogger(__name__)


_INDEX: dict[str, spec_requirements.SpecIndex] = {}


def _index(env) -> spec_requirements.SpecIndex:
    key = str(env.srcdir)
    if key not in _INDEX:
        _INDEX[key] = spec_requirements.parse(Path(env.srcdir) / "spec")
    return _INDEX[key]


def req_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{req}`ID```: the definition of a requirement, rendered as an anchor."""
    env = inliner.document.settings.env
    req_id = text.strip()
    requirement = _index(env).requirements.get(req_id)
    if requirement is None:
        msg = inliner.reporter.warning(
            f"requirement {req_id!r} is not a definition the spec index knows "
            "(malformed, duplicated, or in a statement without a BCP 14 keyword)",
            line=lineno,
        )
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    anchor = spec_requirements.anchor_of(req_id)
    level = requirement.level
    node = nodes.inline(
        "",
        "",
        classes=["req", f"req-{level.lower()}"],
        ids=[anchor],
    )
    # The badge links to the requirement's row of the traceability matrix, which
    # links back here and on to the vectors and tests that cover it.
    matrix = generated_pages.TRACE_PAGE
    href = generated_pages._rel(env.docname, matrix) + "#" + generated_pages.trace_anchor(req_id)
    link = nodes.reference(
        "",
        "",
        internal=True,
        refuri=href,
        reftitle=f"{req_id} ({level}): where it is tested",
    )
    link += nodes.Text(req_id)
    node += link
    domain = env.get_domain("req")
    domain.note_requirement(req_id, env.docname, anchor, level, lineno)
    return [node], []


class RequirementDomain(Domain):
    """The requirements of the spec, as cross-referenceable objects."""

    name = "req"
    label = "Parley"
    object_types: ClassVar = {"requirement": ObjType("requirement", "ref")}
    roles: ClassVar = {"ref": XRefRole(innernodeclass=nodes.inline)}
    initial_data: ClassVar[dict] = {"requirements": {}}
    data_version = 1

    def note_requirement(self, req_id, docname, anchor, level, lineno):
        # Duplicates are reported by the static index (tools/spec_requirements.py),
        # which sees every file at once; here a stale entry of a document that
        # has not been re-read yet is simply replaced.
        self.data["requirements"][req_id] = (docname, anchor, level)

    def clear_doc(self, docname):
        reqs = self.data["requirements"]
        for req_id in [r for r, v in reqs.items() if v[0] == docname]:
            del reqs[req_id]

    def merge_domaindata(self, docnames, otherdata):
        for req_id, value in otherdata["requirements"].items():
            if value[0] in docnames:
                self.data["requirements"][req_id] = value

    def resolve_xref(self, env, fromdocname, builder, typ, target, node, contnode):
        found = self.data["requirements"].get(target.strip())
        if found is None:
            return None
        docname, anchor, level = found
        return make_refnode(builder, fromdocname, docname, anchor, contnode, f"{target} ({level})")

    def resolve_any_xref(self, env, fromdocname, builder, target, node, contnode):
        ref = self.resolve_xref(env, fromdocname, builder, "ref", target, node, contnode)
        return [("req:ref", ref)] if ref is not None else []

    def get_objects(self):
        for req_id, (docname, anchor, _level) in sorted(self.data["requirements"].items()):
            yield req_id, req_id, "requirement", docname, anchor, 1


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") == "req":
        logger.warning("reference to undefined requirement %s", node["reftarget"], location=node)
        return contnode
    return None


def _config_inited(app: Sphinx, config) -> None:
    root = Path(app.srcdir)
    index = spec_requirements.parse(root / "spec")
    _INDEX[str(app.srcdir)] = index
    for error in index.errors:
        logger.warning("spec: %s", error)
    for warning in generated_pages.write_all(root, index):
        logger.warning("generated pages: %s", warning)


def setup(app: Sphinx) -> dict:
    app.add_domain(RequirementDomain)
    app.add_role("req", req_role)
    app.connect("config-inited", _config_inited)
    app.connect("missing-reference", _missing_reference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
