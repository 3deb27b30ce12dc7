"""The built site, checked as a reader sees it.

* A static crawl: every relative link and image of every HTML page points to a
  file that exists, and every ``#anchor`` to an element id in that file.
* Headless Chromium (Debian's ``chromium``, driven by Playwright; one browser for
  every page) opens the landing page, every spec chapter, the traceability
  matrix and the vector pages, served on 127.0.0.1, at 1280 and 390 px wide,
  and checks that nothing widens the page
  (``document.documentElement.scrollWidth <= innerWidth``), that every figure
  is drawn (an SVG or image with a non-zero size), that every link of the page
  to an anchor of the same page resolves, and that searching a requirement ID
  shows that requirement first. A screenshot of each page and width goes to
  ``build/screenshots/``.
* The links both ways: a requirement badge leads to its matrix row, and the row
  to its requirement, its vector cases (one anchor per tcId) and its tests
  (the line of the test's definition).
* The CLI reference says what ``parley --help`` says.

The site is ``build/html`` as ``make docs`` leaves it; when it is missing,
the test builds it into a temporary folder first (with warnings as errors).
Skipped, with the reason, when Chromium or Playwright is not installed.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / "build" / "html"
SCREENSHOTS = ROOT / "build" / "screenshots"
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "docs" / "_ext")]

import generated_pages  # noqa: E402
import spec_requirements as sr  # noqa: E402

CHAPTERS = sorted(p.stem for p in (ROOT / "spec").glob("*.md"))
VECTOR_PAGES = [
    generated_pages.vector_page_of(p.relative_to(ROOT).as_posix()) + ".html"
    for p in generated_pages.vector_files(ROOT)
]
# The pages a reader must be able to read at both widths.
BROWSER_PAGES = [
    "index.html",
    *(f"spec/{c}.html" for c in CHAPTERS),
    "docs/_generated/traceability.html",
    "docs/_generated/vectors.html",
    *VECTOR_PAGES,
    "docs/_generated/requirements.html",
    "docs/_generated/reference.html",
    "docs/_generated/grpc-api.html",
    "docs/_generated/mutants.html",
    "docs/_generated/conformance-report.html",
    "docs/_generated/cli.html",
    "docs/api/python.html",
    "docs/implementers.html",
    "docs/bots.html",
]
# The figures each chapter must show (docs/_ext/parley_figures.py), by their names.
FIGURES = {
    "spec/x3dh.html": ["fig-x3dh"],
    "spec/ratchet.html": ["fig-ratchet-step", "fig-skipped-keys"],
    "spec/session.html": ["fig-session-life"],
    "spec/multi-device.html": ["fig-fanout"],
    "spec/versioning.html": ["fig-migration"],
}
TITLES = {
    "index.html": "Parley",
    "spec/x3dh.html": "X3DH without a server",
    "spec/ratchet.html": "The Double Ratchet",
    "docs/_generated/traceability.html": "Traceability matrix",
    "docs/_generated/cli.html": "Command-line reference",
    "docs/api/python.html": "Python API reference",
    "docs/_generated/grpc-api.html": "gRPC API reference",
    "docs/_generated/mutants.html": "Mutation report",
}
WIDTHS = (1280, 390)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (BUILT / "index.html").is_file() and (BUILT / "searchindex.js").is_file():
        return BUILT
    pytest.importorskip("sphinx", reason="the docs extra (sphinx, myst-parser) is not installed")
    out = tmp_path_factory.mktemp("html")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q", ".", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


# -- static crawl -----------------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.refresh = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key) and (key == "id" or tag == "a"):
                self.ids.add(values[key] or "")
        for key in ("href", "src"):
            if values.get(key):
                self.links.append(values[key] or "")
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.refresh = True

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@functools.cache
def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def _text(path: Path) -> str:
    return re.sub(r"\s+", " ", "".join(_parse(path).text))


def test_every_internal_link_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 40
    broken = []
    checked = 0
    for page in pages:
        for link in _parse(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            rel = page.relative_to(site).as_posix()
            checked += 1
            if not target.exists() or site.resolve() not in [target, *target.parents]:
                broken.append(f"{rel}: {link} (no such file)")
                continue
            if (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in _parse(target).ids
            ):
                broken.append(f"{rel}: {link} (no such anchor)")
    assert checked > 5000
    assert broken == []


def test_the_landing_page_is_a_page(site: Path) -> None:
    index = _parse(site / "index.html")
    assert not index.refresh, "build/html/index.html must not redirect"
    text = _text(site / "index.html")
    for words in ("Quick start", "A bot, in any language", "The command line", "another language"):
        assert words in text
    linked = {urlsplit(link).path for link in index.links}
    for chapter in CHAPTERS:
        assert f"spec/{chapter}.html" in linked, f"the landing page does not link {chapter}"


def test_every_chapter_is_in_the_sidebar(site: Path) -> None:
    html = (site / "docs" / "_generated" / "traceability.html").read_text(encoding="utf-8")
    sidebar = html.split('class="sidebar-tree"', 1)[1].split("</nav>", 1)[0]
    for chapter in CHAPTERS:
        assert f"spec/{chapter}.html" in sidebar, chapter


def test_requirement_badges_link_to_their_matrix_row_and_back(site: Path) -> None:
    index = sr.parse(ROOT / "spec")
    matrix = site / "docs" / "_generated" / "traceability.html"
    rows = _parse(matrix).ids
    for req in index.requirements.values():
        page = site / f"{req.docname}.html"
        html = page.read_text(encoding="utf-8")
        anchor = sr.anchor_of(req.id)
        row = generated_pages.trace_anchor(req.id)
        badge = re.search(rf'<span class="req [^"]*" id="{anchor}"><a [^>]*href="([^"]+)"', html)
        assert badge, f"{req.id}: no badge on {page.name}"
        href = urlsplit(badge.group(1))
        assert (page.parent / href.path).resolve() == matrix.resolve(), req.id
        assert href.fragment == row and row in rows, req.id
    # and each row links back to its requirement, its vector cases and its tests
    html = matrix.read_text(encoding="utf-8")
    row_html = html.split('id="trace-x3dh-010"', 1)[1].split("</tr>", 1)[0]
    assert "../../spec/x3dh.html#req-x3dh-010" in row_html
    assert re.search(r'href="vectors/x3dh\.html#tc-x3dh-[a-z0-9-]+"', row_html)
    assert re.search(r'href="tests/test_\w+\.html#L-\d+"', row_html)


def test_matrix_test_links_point_at_the_line_of_the_test(site: Path) -> None:
    html = (site / "docs" / "_generated" / "traceability.html").read_text(encoding="utf-8")
    links = re.findall(
        r'<a href="tests/(test_\w+)\.html#L-(\d+)"><code>([^<]+)</code></a> '
        r'<span class="where">([^<:]+):(\d+)</span>',
        html,
    )
    assert len(links) > 100
    for stem, line, name, file, shown in links:
        assert line == shown and file == f"tests/{stem}.py"
        source = (ROOT / file).read_text(encoding="utf-8").splitlines()
        last = name.split("::")[-1]
        window = "\n".join(source[int(line) - 1 : int(line) + 30])
        assert re.search(
            rf"\b(def|class) {re.escape(last)}\b|^{re.escape(last)} =", window, re.M
        ), f"{file}:{line} is not where {name} is defined"


def test_every_vector_case_has_its_anchor(site: Path) -> None:
    import json

    for path in generated_pages.vector_files(ROOT):
        rel = path.relative_to(ROOT).as_posix()
        page = site / (generated_pages.vector_page_of(rel) + ".html")
        ids = _parse(page).ids
        for case in generated_pages._cases(json.loads(path.read_text(encoding="utf-8"))):
            assert generated_pages.tc_anchor(case["tcId"]) in ids, (rel, case["tcId"])


def test_mutation_report_links_killers_to_vector_cases(site: Path) -> None:
    page = site / "docs" / "_generated" / "mutants.html"
    text = _text(page)
    if not (ROOT / generated_pages.MUTANTS_REPORT).is_file() and "No mutation run" in text:
        pytest.skip("no build/mutants/report.json in this tree (make docs makes one)")
    assert re.search(r"\d+ of \d+ mutants killed", text)
    html = page.read_text(encoding="utf-8")
    assert re.search(r'href="vectors/\w+\.html#tc-[a-z0-9-]+"', html)


def test_cli_reference_follows_the_parser(site: Path) -> None:
    """Every subcommand and option of ``parley --help`` is on the CLI page."""
    from parley.client.cli import build_parser

    text = _text(site / "docs" / "_generated" / "cli.html")
    parser = build_parser()
    env = {**os.environ, "COLUMNS": "200"}
    top = subprocess.run(
        [sys.executable, "-m", "parley.client.cli", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    listed = dict(re.findall(r"^ {4}([a-z][a-z-]*) {2,}(.+)$", top, re.M))
    commands = list(listed)
    assert len(commands) >= 10
    for name, summary in listed.items():
        assert " ".join(summary.split()) in text, f"parley --help: {name}: {summary}"
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert sorted(commands) == sorted(subparsers.choices)
    for name, sub in subparsers.choices.items():
        assert name in text
        for action in sub._actions:
            if action.__class__.__name__ == "_HelpAction":
                continue  # -h is on every command; the page leaves it out
            for option in action.option_strings:
                assert option in text, f"parley {name} {option} is not documented"
            if action.help and action.help != "==SUPPRESS==":
                assert " ".join(action.help.split()) in text, (name, action.help)


def test_api_references_are_on_the_site(site: Path) -> None:
    import parley
    import parley.client

    ids = _parse(site / "docs" / "api" / "python.html").ids
    for module in (parley, parley.client):
        for name in module.__all__:
            assert f"{module.__name__}.{name}" in ids, f"{module.__name__}.{name} is not documented"
    grpc = _text(site / "docs" / "_generated" / "grpc-api.html")
    for rpc in ("SubscribeEvents", "AckEvents", "SendMessage", "GetContactCode"):
        assert rpc in grpc


# -- headless Chromium ------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Path):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium for every page of this module, with a fresh profile."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip(
            "chromium is not installed (apt-get install -y chromium): browser checks skipped"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright (the docs extra) is not installed"
    )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": WIDTHS[0], "height": 900},
        )
        context.set_default_timeout(30_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        try:
            yield page
        finally:
            context.close()


_MEASURE = """() => {
  const doc = document.documentElement;
  const figures = [...document.querySelectorAll("figure.diagram")].map((f) => {
    const svg = f.querySelector("svg, img");
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {id: f.id, width: box.width, height: box.height};
  });
  const images = [...document.querySelectorAll("article img, article svg")]
    .filter((e) => !e.closest("button, .copybtn, label, .icon, .theme-toggle"))
    .map((e) => {
      const b = e.getBoundingClientRect();
      return {tag: e.tagName, width: b.width, height: b.height, hidden: e.offsetParent === null};
    });
  const missing = [...document.querySelectorAll("a[href^='#']")]
    .map((a) => decodeURIComponent(a.getAttribute("href").slice(1)))
    .filter((id) => id && !document.getElementById(id) && !document.getElementsByName(id).length);
  const wide = [...document.querySelectorAll("article *")]
    .filter((e) => e.getBoundingClientRect().right > innerWidth + 1)
    .filter((e) => !e.closest(".table-wrapper, .highlight, .diagram-box, pre, .sidebar-drawer"))
    .slice(0, 5).map((e) => e.tagName + "." + e.className);
  const seen = new Set(), duplicates = [];
  for (const e of document.querySelectorAll("[id]")) {
    if (seen.has(e.id)) duplicates.push(e.id); else seen.add(e.id);
  }
  return {scrollWidth: doc.scrollWidth, innerWidth, figures, images, missing, wide, duplicates,
          title: document.querySelector("h1") ? document.querySelector("h1").textContent : ""};
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_and_show_their_figures(server: str, browser, width: int) -> None:
    """Every page at this width: no sideways scrolling of the page, figures drawn,
    same-page anchors present; one screenshot per page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_viewport_size({"width": width, "height": 900})
    problems = []
    for path in BROWSER_PAGES:
        browser.goto(f"{server}/{path}", wait_until="load")
        got = browser.evaluate(_MEASURE)
        name = path.removesuffix(".html").replace("/", "_")
        browser.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"))
        if got["scrollWidth"] > got["innerWidth"]:
            problems.append(f"{path}: page {got['scrollWidth']} px wide > {width} ({got['wide']})")
        if path in TITLES and TITLES[path] not in got["title"]:
            problems.append(f"{path}: title {got['title']!r}")
        ids = [f["id"] for f in got["figures"]]
        for fig in FIGURES.get(path, []):
            if fig not in ids:
                problems.append(f"{path}: figure {fig} missing")
        for fig in got["figures"]:
            browser.locator(f"#{fig['id']}").screenshot(
                path=str(SCREENSHOTS / f"{fig['id']}-{width}.png")
            )
            if fig["width"] < 100 or fig["height"] < 50:
                problems.append(
                    f"{path}: figure {fig['id']} drawn at {fig['width']}x{fig['height']}"
                )
        for image in got["images"]:
            if not image["hidden"] and (image["width"] == 0 or image["height"] == 0):
                problems.append(f"{path}: an empty {image['tag']}")
        if got["duplicates"]:
            problems.append(f"{path}: ids used twice {got['duplicates'][:5]}")
        if got["missing"]:
            problems.append(f"{path}: links to missing anchors {got['missing'][:5]}")
    assert browser.js_errors == []
    assert problems == []


def test_figures_are_svg_with_their_text(server: str, browser) -> None:
    browser.set_viewport_size({"width": WIDTHS[0], "height": 900})
    browser.goto(f"{server}/spec/ratchet.html", wait_until="load")
    texts = browser.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('figure.diagram')].map(
             (f) => [f.id, [...f.querySelectorAll('svg text')].map((t) => t.textContent)]))"""
    )
    assert sorted(texts) == ["fig-ratchet-step", "fig-skipped-keys"]
    # svgbob draws "_" as a line, so KDF_RK is the words KDF and RK
    step, skipped = (" ".join(texts[f]) for f in ("fig-ratchet-step", "fig-skipped-keys"))
    for words in ("KDF", "RK", "CKr", "CKs", "HMAC", "decrypt message 0"):
        assert words in step, words
    for words in ("MKSKIPPED", "MAX", "SKIP", "1000", "2000"):
        assert words in skipped, words


@pytest.mark.parametrize("req_id", ["X3DH-010", "RATCHET-034", "SESSION-010", "VERSION-020"])
def test_searching_a_requirement_id_shows_it_first(server: str, browser, req_id: str) -> None:
    browser.set_viewport_size({"width": WIDTHS[1], "height": 900})
    browser.goto(f"{server}/search.html?q={req_id}", wait_until="load")
    first = browser.locator("#search-results li a").first
    first.wait_for(timeout=30_000)
    href = first.get_attribute("href") or ""
    assert href.endswith("#" + sr.anchor_of(req_id)), href
    assert first.inner_text().strip() == req_id
    if req_id == "X3DH-010":
        browser.screenshot(path=str(SCREENSHOTS / "search-x3dh-010-390.png"))
        first.click()
        browser.wait_for_load_state("load")
        assert browser.evaluate("location.hash") == "#" + sr.anchor_of(req_id)
        assert browser.locator(f"#{sr.anchor_of(req_id)}").is_visible()


def test_dark_mode(server: str, browser) -> None:
    browser.set_viewport_size({"width": WIDTHS[0], "height": 900})
    browser.emulate_media(color_scheme="dark")
    try:
        browser.goto(f"{server}/spec/x3dh.html", wait_until="load")
        colours = browser.evaluate(
            """() => [getComputedStyle(document.body).backgroundColor,
                       getComputedStyle(document.querySelector('figure.diagram svg')).color]"""
        )
        browser.screenshot(path=str(SCREENSHOTS / "spec_x3dh-1280-dark.png"))
    finally:
        browser.emulate_media(color_scheme="light")
    background, ink = colours
    dark = [int(v) for v in re.findall(r"\d+", background)[:3]]
    light = [int(v) for v in re.findall(r"\d+", ink)[:3]]
    assert sum(dark) < 150, background
    assert sum(light) > 450, ink


def test_copy_buttons_on_code(server: str, browser) -> None:
    browser.set_viewport_size({"width": WIDTHS[0], "height": 900})
    browser.goto(f"{server}/index.html", wait_until="load")
    assert browser.locator("button.copybtn").count() >= 3


def _target_in_view(page) -> bool:
    """Wait for the browser to scroll to the URL's anchor; True once it is in view."""
    page.wait_for_function(
        """() => {
          const el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
          if (!el) return false;
          const top = el.getBoundingClientRect().top;
          return top >= 0 && top < innerHeight;
        }""",
        timeout=10_000,
    )
    return True


def test_following_the_links_both_ways(server: str, browser) -> None:
    """Badge -> matrix row -> vector case, and matrix row -> test line -> back to the spec."""
    browser.set_viewport_size({"width": WIDTHS[0], "height": 900})
    browser.goto(f"{server}/spec/x3dh.html", wait_until="load")
    browser.locator("#req-x3dh-040 a").click()
    browser.wait_for_url("**/docs/_generated/traceability.html#trace-x3dh-040")
    assert _target_in_view(browser)
    row = browser.locator("#trace-x3dh-040")
    for summary in row.locator("summary").all():
        summary.click()  # open "N vector cases" / "N tests"
    vector = row.locator("a[href*='vectors/']").first
    tc_anchor = (vector.get_attribute("href") or "").split("#", 1)[1]
    vector.click()
    browser.wait_for_url(f"**#{tc_anchor}")
    assert _target_in_view(browser)
    assert browser.locator(f"#{tc_anchor} a[href*='#req-x3dh-040']").count() == 1
    browser.go_back()
    browser.wait_for_url("**/traceability.html#trace-x3dh-040")
    for summary in row.locator("details:not([open]) summary").all():
        summary.click()
    test = row.locator("a[href*='tests/']").first
    line = (test.get_attribute("href") or "").split("#L-", 1)[1]
    test.click()
    browser.wait_for_url(f"**#L-{line}")
    assert _target_in_view(browser)
    browser.screenshot(path=str(SCREENSHOTS / "test-source-line-1280.png"))
    browser.go_back()
    browser.locator("#trace-x3dh-040 a.req").click()
    browser.wait_for_url("**/spec/x3dh.html#req-x3dh-040")
    assert _target_in_view(browser)
