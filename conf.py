"""Sphinx configuration of the Parley site (``make docs``).

The source directory is the repository root, so the spec (``spec/``) and the
protos (``proto/``, included by ``literalinclude``) are read where they live;
``include_patterns`` keeps every other Markdown file of the repository out.
Builds offline: no intersphinx, no remote theme, no remote images.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT / "docs" / "_ext"), str(ROOT / "tools")]

project = "Parley"
author = "The Parley authors"
copyright = "the Parley authors"
release = version = "1"

extensions = [
    "myst_parser",
    "parley_spec",
    "parley_figures",
    "sphinx.ext.autodoc",
    "sphinxarg.ext",
    "sphinx_copybutton",
]
# The landing page is the repository's ``index.md``, so that
# ``build/html/index.html`` is the real first page; it includes ``docs/index.md``.
root_doc = "index"
source_suffix = {".md": "markdown"}
include_patterns = ["index.md", "docs/**", "spec/**"]
exclude_patterns = ["docs/index.md", "docs/_ext/**", "docs/_static/**", "docs/_search/**"]

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 4
# Text stays as written: no curly quotes, no "--" turned into a dash (CLI options).
smartquotes = False
suppress_warnings: list[str] = []

# Python API reference (docs/api/python.md): the docstrings of ``parley`` and
# ``parley.client``, imported from reference/.
sys.path.insert(0, str(ROOT / "reference"))
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = "Parley"
html_static_path = ["docs/_static"]
html_css_files = ["parley.css"]
html_js_files = ["parley.js"]
html_search_scorer = str(ROOT / "docs" / "_search" / "scorer.js")
html_show_sphinx = False
html_copy_source = False
html_theme_options = {
    "navigation_with_keys": True,
    "top_of_page_buttons": [],
}
pygments_style = "sphinx"
pygments_dark_style = "monokai"
copybutton_prompt_text = "$ "
