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

extensions = ["myst_parser", "parley_spec"]
root_doc = "docs/index"
source_suffix = {".md": "markdown"}
include_patterns = ["docs/**", "spec/**"]
exclude_patterns = ["docs/_ext/**", "docs/_static/**", "docs/_extra/**"]

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 4
suppress_warnings: list[str] = []

html_theme = "alabaster"
html_title = "Parley specification"
html_static_path = ["docs/_static"]
html_extra_path = ["docs/_extra"]
html_css_files = ["parley.css"]
html_show_sphinx = False
html_theme_options = {
    "description": "Forward-secret 1:1 messaging without a server",
    "fixed_sidebar": True,
    "show_relbars": True,
}
html_sidebars = {"**": ["about.html", "searchfield.html", "navigation.html", "relations.html"]}
pygments_style = "sphinx"
