"""The built site, checked as a reader sees it.

* Every relative link and image of every HTML page points to a file that
  exists, and every ``#anchor`` to an element id in that file (a static crawl
  of the built HTML; no browser needed).
* Headless Chromium (Debian's ``chromium``) opens pages served on 127.0.0.1:
  the spec pages render with their requirement anchors, and the search page
  (``search.html?q=ratchet``) loads ``searchindex.js`` and lists results.
  Skipped, with the reason, when Chromium is not installed.

The site is ``build/html`` as ``make docs`` leaves it; when it is missing,
the test builds it into a temporary folder first (with warnings as errors).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / "build" / "html"
SPEC_PAGES = {
    "docs/index.html": "Parley",
    "spec/index.html": "Parley: forward-secret 1:1 messaging without a server",
    "spec/profile.html": "The profile",
    "spec/x3dh.html": "X3DH without a server",
    "spec/ratchet.html": "The Double Ratchet",
    "spec/errors.html": "Errors",
    "spec/security.html": "Security considerations",
    "docs/_generated/requirements.html": "Requirements index",
    "docs/_generated/traceability.html": "Traceability matrix",
    "docs/_generated/reference.html": "Schema reference",
}
ANCHORS = {"spec/x3dh.html": "req-x3dh-010", "spec/ratchet.html": "req-ratchet-034"}


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (BUILT / "docs" / "index.html").is_file() and (BUILT / "searchindex.js").is_file():
        return BUILT
    pytest.importorskip("sphinx", reason="the docs extra (sphinx, myst-parser) is not installed")
    out = tmp_path_factory.mktemp("html")
    import sys

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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key) and (key == "id" or tag == "a"):
                self.ids.add(values[key] or "")
        for key in ("href", "src"):
            if values.get(key):
                self.links.append(values[key] or "")


@functools.cache
def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def test_every_internal_link_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
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
    assert checked > 500
    assert broken == []


def test_requirement_anchors_are_in_the_pages(site: Path) -> None:
    for page, anchor in ANCHORS.items():
        assert anchor in _parse(site / page).ids, (page, anchor)


# -- headless Chromium ------------------------------------------------------------------


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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    chromium = _chromium()
    if chromium is None:
        pytest.skip(
            "chromium is not installed (apt-get install -y chromium): browser checks skipped"
        )
    profile = tmp_path_factory.mktemp("chromium-profile")

    def dump_dom(url: str, budget_ms: int = 3000) -> str:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    return dump_dom


@pytest.mark.parametrize("page", sorted(SPEC_PAGES))
def test_pages_render_in_chromium(server: str, browser, page: str) -> None:
    dom = browser(f"{server}/{page}")
    assert "<h1>" in dom or "<h1 " in dom, page
    assert SPEC_PAGES[page] in dom, page
    if page in ANCHORS:
        assert f'id="{ANCHORS[page]}"' in dom
        assert 'class="req req-must"' in dom


def test_search_finds_ratchet(server: str, browser) -> None:
    dom = browser(f"{server}/search.html?q=ratchet", budget_ms=15000)
    assert "searchindex.js" in dom, "the search page does not load searchindex.js"
    assert 'id="search-results"' in dom
    results = dom.split('id="search-results"', 1)[1]
    assert "spec/ratchet.html" in results, "searching 'ratchet' does not list the ratchet page"
    assert results.count("<li") >= 3


def test_root_redirects_to_the_site(server: str, browser) -> None:
    dom = browser(f"{server}/index.html")
    assert "Parley" in dom
