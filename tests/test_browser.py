"""The built book reads offline, as a reader's browser shows it.

Headless Chromium (Debian's package, driven by Playwright) opens every page of the build
served from 127.0.0.1, with every request to any other host blocked, and checks: no JavaScript
errors, every image loaded, every internal link and anchor resolves, math typeset by the
book's own MathJax, Markdown tables from cells rendered as tables, and the search page finds
text. A full-page screenshot of each page is
kept in ``_build/screenshots/`` for review.

Every ``.html`` page is opened, ``genindex`` and ``search`` included: they are cheap, and the
search page is the one that runs the most JavaScript offline (it loads ``searchindex.js``).
"""

import functools
import html.parser
import http.server
import os
import re
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest
from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Chapters whose prose has formulas: MathJax must have typeset something on each.
MATH_PAGES = ["book/core_concepts", "book/convolution", "book/recurrence", "book/attention"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
SEARCH_QUERY = "attention"
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)"', re.I)
TIMEOUT_MS = 60_000  # per page load or wait; the CI machine is small and busy


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a browser that drops a connection is not a test failure


@pytest.fixture
def book_url(built_book):
    """The build served on a free loopback port; stopped after the test."""
    built_book.require_success()
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(built_book.html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    """A Playwright context in Debian's Chromium with a fresh profile and only loopback traffic.

    Yields ``(context, blocked)``: ``blocked`` lists every request that was refused.
    """
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    blocked: list[str] = []

    def only_loopback(route):
        if urllib.parse.urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            timeout=TIMEOUT_MS,
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.route("**/*", only_loopback)
            yield context, blocked
        finally:
            context.close()


class _Anchors(html.parser.HTMLParser):
    """The ids (and legacy ``<a name>``) a page defines, as link targets."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def pages(html: Path) -> list[Path]:
    """Every HTML page of the build (not the theme's template fragments in _static)."""
    skip = {"_static", "_sources", "_images"}
    return sorted(p for p in html.rglob("*.html") if not skip & set(p.relative_to(html).parts))


def broken_internal_links(hrefs: list[str], base: str, html: Path) -> list[str]:
    """The links to this book (same origin) whose file or anchor does not exist in the build."""
    broken = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base):
            continue  # an external link: a reader may follow it, the page never loads it
        parts = urllib.parse.urlsplit(href)
        rel = urllib.parse.unquote(parts.path).lstrip("/")
        target = html / rel
        if not rel or rel.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no file {target.relative_to(html)})")
        elif parts.fragment and target.suffix == ".html":
            fragment = urllib.parse.unquote(parts.fragment)
            if fragment not in anchors(target):
                broken.append(f"{href} (no id {fragment!r} in {target.relative_to(html)})")
    return broken


# Runs in the page once it has loaded: waits for MathJax's first typeset and the web fonts,
# then reports what the checks need.
INSPECT_PAGE = r"""async () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    await document.fonts.ready;
    const maths = [...document.querySelectorAll('.math')];
    return {
        images: [...document.images].map(img => ({src: img.currentSrc || img.src,
                                                   loaded: img.complete && img.naturalWidth > 0})),
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
        math: maths.length,
        untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
        typeset: document.querySelectorAll('mjx-container').length,
        mathErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
        mathjaxSrc: [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s)),
        rawTables: [...document.querySelectorAll('.cell_output p')].map(p => p.textContent)
                   .filter(t => /\|\s*[-\u2013\u2014:]+\s*\|/.test(t)).map(t => t.slice(0, 80)),
    };
}"""


def test_every_page_reads_offline_in_chromium(built_book, book_url, browser):
    context, blocked = browser
    html = built_book.html
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    all_pages = pages(html)
    rels = [p.relative_to(html).with_suffix("").as_posix() for p in all_pages]
    assert set(MATH_PAGES) <= set(rels), f"chapters with math missing from the build: {set(MATH_PAGES) - set(rels)}"

    problems: dict[str, list[str]] = {}
    page = context.new_page()
    for path, rel in zip(all_pages, rels):
        errors: list[str] = []
        on_console = lambda msg, errors=errors: msg.type == "error" and errors.append(f"console: {msg.text}")
        on_pageerror = lambda exc, errors=errors: errors.append(f"uncaught: {exc}")
        page.on("console", on_console)
        page.on("pageerror", on_pageerror)
        blocked_before = len(blocked)
        query = f"?q={SEARCH_QUERY}" if rel == "search" else ""
        response = page.goto(book_url + path.relative_to(html).as_posix() + query, wait_until="load")
        if response is None or not response.ok:
            errors.append(f"HTTP {response.status if response else 'no response'}")
        redirect = REDIRECT.search(path.read_text(encoding="utf-8"))
        if redirect:  # the book's index.html forwards to the first chapter
            target = urllib.parse.urljoin(response.url, redirect.group(1))
            page.wait_for_url(target, wait_until="load")
            rel = f"{rel} (forwards to {redirect.group(1)})"
        if rel == "search":
            # Sphinx's search runs in the page from searchindex.js: results prove it works offline.
            page.wait_for_selector("#search-results ul.search li", state="attached")
        info = page.evaluate(INSPECT_PAGE)
        page.wait_for_load_state("networkidle")

        errors += [f"image not loaded: {img['src']}" for img in info["images"] if not img["loaded"]]
        errors += [f"broken link: {b}" for b in broken_internal_links(info["links"], book_url, html)]
        errors += [f"math not typeset: {text!r}" for text in info["untypeset"]]
        errors += [f"MathJax error: {text!r}" for text in info["mathErrors"]]
        errors += [f"a Markdown table shown as text: {text!r}" for text in info["rawTables"]]
        if rel in MATH_PAGES and not info["typeset"]:
            errors.append("no typeset math (mjx-container) on a chapter with formulas")
        if info["math"]:
            errors += [f"MathJax loaded from elsewhere: {s}" for s in info["mathjaxSrc"] if not s.startswith(book_url)]
            if not info["mathjaxSrc"]:
                errors.append("math on the page but no MathJax script")
        errors += [f"remote request blocked: {url}" for url in blocked[blocked_before:]]

        shot = SCREENSHOTS / path.relative_to(html).with_suffix(".png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0

        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_pageerror)
        if errors:
            problems[rel] = errors

    report = "\n".join(f"{rel}:\n  " + "\n  ".join(errs) for rel, errs in problems.items())
    assert not problems, f"{len(problems)} of {len(all_pages)} pages have problems:\n{report}"
