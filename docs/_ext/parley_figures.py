"""Figures of the spec, drawn as ASCII art in the Markdown, rendered to SVG.

A figure's source stays readable in a terminal and in a diff, in the RFC
tradition; at build time Svgbob (the ``sphinxcontrib-svgbob`` package's
renderer, no network) turns it into an SVG that is inlined in the page, so it
follows the theme's colours (light and dark) and its text stays selectable::

    ```{diagram} One DH ratchet step
    :name: fig-ratchet-step

       +------+        +------+
       |  RK  |------->| RK'  |
       +------+        +------+
    ```

The caption is the argument; ``:name:`` makes it a target of
``{ref}`` / ``{numref}``. Builders that take no SVG get the ASCII art as a
literal block.
"""

from __future__ import annotations

import hashlib
import re
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinxcontrib.svgbob._svgbob import to_svg

_MARKERS = ("big_open_circle", "open_circle", "circle", "diamond", "arrow")
_SIZE = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" width="(\d+)" height="(\d+)"')
# Below this share of its natural width a figure stops shrinking and scrolls in its box.
MIN_SCALE = 0.75


def render_svg(code: str, label: str) -> tuple[str, int, int]:
    """The ASCII art ``code`` as an inline SVG whose styles and markers are its own.

    Svgbob writes one ``<style>`` and marker ids (``#arrow``) per drawing;
    inlined, those would be global to the page, so both are renamed after a
    digest of the drawing. Colours are the theme's (``currentColor`` and
    the page background), so the figure is legible in dark mode too.
    """
    svg = to_svg(
        code,
        stroke_color="currentColor",
        fill_color="currentColor",
        background_color="var(--color-background-primary, #fff)",
        font_family="var(--font-stack--monospace, monospace)",
        font_size=13,
    )
    match = _SIZE.search(svg)
    if match is None:
        raise ValueError("svgbob returned an SVG without a size")
    width, height = int(match.group(1)), int(match.group(2))
    scope = "sb-" + hashlib.sha256(code.encode()).hexdigest()[:10]
    svg = svg.replace(".svgbob ", f".{scope} ")
    for marker in _MARKERS:
        svg = svg.replace(f'id="{marker}"', f'id="{scope}-{marker}"')
        svg = svg.replace(f"url(#{marker})", f"url(#{scope}-{marker})")
    svg = svg.replace(
        match.group(0),
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_attr(label)}" '
        f'style="min-width: {round(width * MIN_SCALE)}px"',
        1,
    ).replace('class="svgbob"', f'class="svgbob {scope}"', 1)
    return svg, width, height


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


class DiagramDirective(SphinxDirective):
    """``{diagram} caption``: ASCII art rendered to an inline SVG figure."""

    has_content = True
    required_arguments = 1
    final_argument_whitespace = True
    option_spec: ClassVar = {"name": directives.unchanged, "class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        code = "\n".join(self.content).rstrip()
        if not code.strip():
            raise self.error("a diagram needs its ASCII art as content")
        caption_text = self.arguments[0]
        try:
            svg, _width, _height = render_svg(code, caption_text)
        except Exception as exc:  # the renderer's own failure, reported at the source line
            raise self.error(f"svgbob could not render this diagram: {exc}") from exc
        figure = nodes.figure(classes=["diagram", *self.options.get("class", [])])
        figure += nodes.raw("", f'<div class="diagram-box">{svg}</div>', format="html")
        fallback = nodes.literal_block(code, code, classes=["diagram-text"])
        fallback["only-if-no-html"] = True
        figure += fallback
        inline, messages = self.state.inline_text(caption_text, self.lineno)
        caption = nodes.caption(caption_text, "", *inline)
        caption.source, caption.line = self.get_source_info()
        figure += caption
        self.add_name(figure)
        return [figure, *messages]


def _drop_text_in_html(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """HTML shows the SVG; other builders (text, man) keep the ASCII art instead."""
    html = app.builder.format == "html"
    for block in list(doctree.findall(nodes.literal_block)):
        if block.get("only-if-no-html") and html:
            block.parent.remove(block)


def setup(app: Sphinx) -> dict:
    app.add_directive("diagram", DiagramDirective)
    app.connect("doctree-resolved", _drop_text_in_html)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
