"""The built book reads offline, as a reader's browser shows it.

Headless Chromium (Debian's package, driven by Playwright) opens every page of the build
served from 127.0.0.1, with every request to any other host blocked, and checks: no JavaScript
errors, every image loaded, every internal link and anchor resolves, math typeset by the
book's own MathJax, Markdown tables from cells rendered as tables, and the search page finds
text. It also reads the page as a reader does (#17, items 7 and 8): at 1280 px and at a phone's
width, no table, code block, output or figure is wider than the content column or hides part of
itself behind a scroll bar; no output shows a stray repr (``Text(...)``, ``<matplotlib...>``, an object named by its address,
``<Figure size ...>``, a raw dict), a machine's path (``/tmp/``, ``/home/``, ``/work/``) or
printed lines split into one box per write (Keras's epoch lines). A screenshot of each page is kept
in ``_build/screenshots/`` for review: the whole English page at 1280 px (the first screen of a
Chinese one), and its first screen on a phone, as JPEG (a PNG of a 40,000 px chapter takes seconds
to encode). Each page is loaded once: the phone's width is the loaded page resized.

Every ``.html`` page is opened, ``genindex`` and ``search`` included: they are cheap, and the
search page is the one that runs the most JavaScript offline (it loads ``searchindex.js``).
"""

import concurrent.futures
import contextlib
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
MATH_PAGES = ["book/core_concepts", "book/convolution", "book/recurrence", "book/attention", "book/backprop",
              "book/cnn_features",
              "book/regularisation", "book/summary"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
SEARCH_QUERY = "attention"
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)"', re.I)
TIMEOUT_MS = 60_000  # per page load or wait; the CI machine is small and busy
# The widths a reader reads at: a laptop, and a phone (layout checks only).
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # a common phone (iPhone 12 to 14) in CSS pixels


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def end_headers(self):
        # As a static host serves a built book: the theme's scripts are fetched once, not per page.
        self.send_header("Cache-Control", "max-age=3600")
        super().end_headers()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a browser that drops a connection is not a test failure


@pytest.fixture
def book_url(english_book):
    """The build served on a free loopback port (the Chinese edition under ``zh/`` once it is
    built); stopped after the test."""
    english_book.require_success()
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(english_book.html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _offline_chromium_flags() -> list[str]:
    # Every host name but the book's server resolves to nothing, so no request leaves the machine;
    # unlike Playwright's request routing, this keeps the browser's HTTP cache (each page loads the
    # theme's scripts again otherwise: 27 requests a page).
    return [*CHROMIUM_FLAGS, "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]


@contextlib.contextmanager
def chromium(profile: Path):
    """A Playwright context in Debian's Chromium with a fresh profile that reaches only 127.0.0.1.

    Yields ``(context, remote)``: ``remote`` lists every request made to another host (each one
    fails: its name does not resolve). Skips the test where Chromium or Playwright is missing (fails
    it under CI, which installs them).
    """
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    remote: list[str] = []
    # One Playwright per thread: its synchronous API is not thread-safe.
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=_offline_chromium_flags(),
            headless=True,
            viewport=DESKTOP,
            timeout=TIMEOUT_MS,
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            context.on("request", lambda request: urllib.parse.urlsplit(request.url).hostname != "127.0.0.1"
                       and remote.append(request.url))
            yield context, remote
        finally:
            context.close()


@pytest.fixture
def browser(tmp_path):
    """:func:`chromium` for one test."""
    with chromium(tmp_path / "chromium-profile") as opened:
        yield opened


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


def pages(html: Path, edition: str) -> list[Path]:
    """Every HTML page of one edition of the build (``en``: all but ``zh/``; ``zh``: ``zh/``), not the
    theme's template fragments in _static."""
    skip = {"_static", "_sources", "_images"}
    found = [p for p in html.rglob("*.html") if not skip & set(p.relative_to(html).parts)]
    return sorted(p for p in found if (p.relative_to(html).parts[0] == "zh") == (edition == "zh"))


def broken_internal_links(hrefs: list[str], base: str, html: Path, unchecked: str | None = None) -> list[str]:
    """The links to this book (same origin) whose file or anchor does not exist in the build, but
    those that start with ``base + unchecked``."""
    broken = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base):
            continue  # an external link: a reader may follow it, the page never loads it
        if unchecked and href.startswith(base + unchecked):
            continue
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

# What sticks out of the content column, or hides part of itself behind a scroll bar: tables
# (and the theme's scrolling wrappers around them), code blocks, outputs, figures and display
# equations. Elements not shown (a folded cell) measure 0 and pass.
LAYOUT = r"""() => {
    const column = document.querySelector('article.bd-article') || document.querySelector('main');
    if (!column) return {wide: [], shrunk: [], codeChars: null};
    const box = column.getBoundingClientRect();
    const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\s+/).slice(0, 2).join('.') : '');
    const snippet = el => (el.getAttribute('alt') || el.getAttribute('src') || el.textContent || '')
        .trim().replace(/\s+/g, ' ').slice(0, 60);
    const wide = [];
    const selector = 'table, pre, div.highlight, div.cell_output, div.output, img, figure, '
                   + '.pst-scrollable-table-container, .table-wrapper, mjx-container[display="true"], '
                   + 'div.math';
    for (const el of column.querySelectorAll(selector)) {
        const r = el.getBoundingClientRect();
        if (!r.width || !el.getClientRects().length) continue;
        if (el.scrollWidth > el.clientWidth + 2 && getComputedStyle(el).overflowX !== 'visible')
            wide.push(`${name(el)} scrolls sideways (${el.scrollWidth} px of content in ${el.clientWidth} px): ${snippet(el)}`);
        else if (r.right > box.right + 2 || r.left < box.left - 2)
            wide.push(`${name(el)} is wider than the column (${Math.round(r.left)}-${Math.round(r.right)} px, column ${Math.round(box.left)}-${Math.round(box.right)} px): ${snippet(el)}`);
    }
    // Figures drawn much wider than the column are shown shrunk, their labels too small to read.
    const shrunk = [...column.querySelectorAll('div.cell_output img')]
        .filter(img => img.naturalWidth && img.getBoundingClientRect().width
                && img.naturalWidth / img.getBoundingClientRect().width > MAX_SHRINK)
        .map(img => `${img.naturalWidth} px shown at ${Math.round(img.getBoundingClientRect().width)} px: ${snippet(img)}`);
    // How many characters of the code font fit on one line of a code cell, when one is shown.
    let codeChars = null;
    const code = column.querySelector('div.cell_input pre');
    if (code && code.clientWidth) {
        const probe = document.createElement('span');
        probe.textContent = 'x'.repeat(100);
        code.appendChild(probe);
        const style = getComputedStyle(code);
        const inner = code.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        codeChars = Math.floor(inner / (probe.getBoundingClientRect().width / 100));
        probe.remove();
    }
    // A traceback taller than half a phone's screen buries the page around it; the book's CSS
    // lets it scroll inside its own box, opened at its end, where the error's message is.
    const tall = [];
    for (const el of column.querySelectorAll('div.cell_output div.output.traceback')) {
        const r = el.getBoundingClientRect();
        if (r.height > MAX_TRACEBACK)
            tall.push(`a traceback ${Math.round(r.height)} px tall (at most MAX_TRACEBACK px): ${snippet(el)}`);
        const box = el.querySelector('div.highlight');
        if (box && box.scrollHeight > box.clientHeight + 2
                && getComputedStyle(box).flexDirection !== 'column-reverse')
            tall.push(`a traceback opens at its top, not at its error message: ${snippet(el)}`);
    }
    return {wide, shrunk, codeChars, tall};
}""".replace("MAX_SHRINK", "1.6").replace("MAX_TRACEBACK", "440")

# Resolves after the browser has laid out and painted the page at its current viewport size.
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"

# What outputs show that a reader should not see: reprs of plotting objects, raw dicts, objects
# named by their memory address (a library's warning about "<function ... at 0x...>"), paths of
# the machine that built the book, and printed lines split into one box per write.
OUTPUTS = r"""() => {
    const outputs = [...document.querySelectorAll('div.cell_output')];
    const text = el => el.textContent.trim();
    const reprs = /(^|\n)\s*(\[?<matplotlib[.\s]|\[?Text\(-?\d|<Figure size |\[?<Axes[:\s]|\[?<Line2D|<Figure\b|\{'[^']*': )|<[^<>\n]* at 0x[0-9a-fA-F]+>/;
    const paths = /(^|[\s'"(=:])\/(tmp|home|work|root)\//;
    const found = {reprs: [], paths: [], split: []};
    for (const out of outputs) {
        for (const el of out.querySelectorAll('.output.text_plain, .output.stream, .output.traceback, pre')) {
            const t = text(el);
            const m = t.match(reprs);
            if (m && el.closest('.output.text_plain, .output.stream'))
                found.reprs.push(t.slice(Math.max(0, m.index), m.index + 70).trim());
        }
        const all = text(out);
        const p = all.match(paths);
        if (p) found.paths.push(all.slice(Math.max(0, p.index - 20), p.index + 60).trim());
        const streams = [...out.children].filter(c => c.matches('.output.stream'));
        for (let i = 1; i < streams.length; i++)
            if (streams[i - 1].nextElementSibling === streams[i]) {
                found.split.push(text(streams[i - 1]).slice(0, 60) + ' | ' + text(streams[i]).slice(0, 60));
                break;
            }
    }
    return found;
}"""


READERS = 2  # pages are read by this many browsers at once (the build machine has two cores)


def read_page(page, book_url: str, html: Path, path: Path, remote: list[str]) -> tuple[str, list[str], int | None]:
    """Open one page of the build at both widths; returns its name, its problems and how many
    characters of code fit on a line of a code cell at 1280 px (None without code cells)."""
    rel = path.relative_to(html).with_suffix("").as_posix()
    errors: list[str] = []
    # A resource that fails to load is reported with its address (the console's message has none);
    # the browser's own guess at /favicon.ico, made for a page that names no icon (the bare
    # redirect page index.html), is no resource of the book's.
    on_console = lambda msg: (msg.type == "error" and not msg.text.startswith("Failed to load resource")
                              and errors.append(f"console: {msg.text}"))
    on_response = lambda response: (response.status >= 400 and urllib.parse.urlsplit(response.url).path != "/favicon.ico"
                                    and errors.append(f"HTTP {response.status}: {response.url}"))
    on_pageerror = lambda exc: errors.append(f"uncaught: {exc}")
    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", on_pageerror)
    remote_before = len(remote)
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
    layout = page.evaluate(LAYOUT)
    outputs = page.evaluate(OUTPUTS)
    errors += [f"at {DESKTOP['width']} px: {w}" for w in layout["wide"] + layout["tall"]]
    errors += [f"a figure too small to read (cvtutor.plots.images.PAGE_WIDTH): {f}" for f in layout["shrunk"]]
    errors += [f"an output shows a stray repr: {r!r}" for r in outputs["reprs"]]
    errors += [f"an output names a machine's path: {p!r}" for p in outputs["paths"]]
    errors += [f"printed lines split into one box per write: {b!r}" for b in outputs["split"]]

    errors += [f"image not loaded: {img['src']}" for img in info["images"] if not img["loaded"]]
    # An English page's links into the Chinese edition are not followed: the English pages are
    # read while the Chinese edition builds (tests/test_chinese_edition.py checks each page's link
    # to its twin).
    unchecked = None if rel.startswith("zh/") else "zh/"
    errors += [f"broken link: {b}" for b in broken_internal_links(info["links"], book_url, html, unchecked)]
    errors += [f"math not typeset: {text!r}" for text in info["untypeset"]]
    errors += [f"MathJax error: {text!r}" for text in info["mathErrors"]]
    errors += [f"a Markdown table shown as text: {text!r}" for text in info["rawTables"]]
    if rel.removeprefix("zh/") in MATH_PAGES and not info["typeset"]:
        errors.append("no typeset math (mjx-container) on a chapter with formulas")
    if info["math"]:
        errors += [f"MathJax loaded from elsewhere: {s}" for s in info["mathjaxSrc"] if not s.startswith(book_url)]
        if not info["mathjaxSrc"]:
            errors.append("math on the page but no MathJax script")
    errors += [f"remote request made: {url}" for url in remote[remote_before:]]

    # The whole page for review in the English edition; the first screen of the Chinese one
    # (the same page in another language: a 40,000 px screenshot costs seconds).
    shot = SCREENSHOTS / path.relative_to(html).with_suffix(".jpg")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=not rel.startswith("zh/"), type="jpeg", quality=60)
    assert shot.stat().st_size > 0

    # The same page on a phone, resized in place (the theme's layout is CSS media queries, so a
    # resize lays it out as a load at that width would): nothing wider than the column there.
    page.set_viewport_size(PHONE)
    page.evaluate(NEXT_FRAME)
    phone_layout = page.evaluate(LAYOUT)
    errors += [f"at {PHONE['width']} px: {w}" for w in phone_layout["wide"] + phone_layout["tall"]]
    shot = SCREENSHOTS / "phone" / path.relative_to(html).with_suffix(".jpg")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), type="jpeg", quality=60)
    page.set_viewport_size(DESKTOP)
    page.evaluate(NEXT_FRAME)

    page.remove_listener("console", on_console)
    page.remove_listener("response", on_response)
    page.remove_listener("pageerror", on_pageerror)
    return rel, errors, layout["codeChars"]


def read_pages(book_url: str, html: Path, paths: list[Path], profile: Path) -> list[tuple[str, list[str], int | None]]:
    """:func:`read_page` for each of ``paths``, in one browser of its own."""
    with chromium(profile) as (context, remote):
        page = context.new_page()
        return [read_page(page, book_url, html, path, remote) for path in paths]


def read_edition(html: Path, edition: str, book_url: str, tmp_path: Path) -> None:
    """Read every page of ``edition`` (``en`` or ``zh``) in :data:`READERS` browsers; fail naming each
    page's problems."""
    shots = [SCREENSHOTS, SCREENSHOTS / "phone"] if edition == "en" else [SCREENSHOTS / "zh", SCREENSHOTS / "phone" / "zh"]
    for folder in shots:
        shutil.rmtree(folder, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    all_pages = pages(html, edition)
    rels = [p.relative_to(html).with_suffix("").as_posix().removeprefix("zh/") for p in all_pages]
    assert set(MATH_PAGES) <= set(rels), f"chapters with math missing from the build: {set(MATH_PAGES) - set(rels)}"

    # Dealt out largest first, so that the browsers finish at about the same time.
    by_size = sorted(all_pages, key=lambda p: p.stat().st_size, reverse=True)
    with concurrent.futures.ThreadPoolExecutor(READERS) as pool:
        shards = [pool.submit(read_pages, book_url, html, by_size[i::READERS], tmp_path / f"chromium-{i}")
                  for i in range(READERS)]
        read = [result for shard in shards for result in shard.result()]
    assert len(read) == len(all_pages)

    problems = {rel: errors for rel, errors, _ in sorted(read) if errors}
    code_chars = [chars for _, _, chars in read if chars is not None]
    report = "\n".join(f"{rel}:\n  " + "\n  ".join(errs) for rel, errs in problems.items())
    assert not problems, f"{len(problems)} of {len(all_pages)} pages have problems:\n{report}"
    # tests/test_book.py keeps code lines to MAX_CODE_LINE characters: they must fit the column.
    from test_book import MAX_CODE_LINE

    assert code_chars and min(code_chars) >= MAX_CODE_LINE, (
        f"a code cell's line holds {min(code_chars or [0])} characters at {DESKTOP['width']} px, "
        f"fewer than MAX_CODE_LINE = {MAX_CODE_LINE}")


def test_every_english_page_reads_offline_in_chromium(english_book, book_url, tmp_path):
    read_edition(english_book.html, "en", book_url, tmp_path)


def test_every_chinese_page_reads_offline_in_chromium(built_book, book_url, tmp_path):
    built_book.require_success()
    read_edition(built_book.html, "zh", book_url, tmp_path)


# Chinese search (the Chinese edition, _build/html/zh): each query must find one of the pages about it.
# The index is made with jieba and the glossary's terms; the query is cut in the page by the index's
# own terms (book/_ext/translation.py), so a phrase finds the pages holding its words.
CHINESE_QUERIES = {
    "卷积": {"book/convolution"},
    "自注意力": {"book/attention", "book/attention_classifier"},
    "卷积神经网络": {"book/convolution"},
    "卷积神经网络的参数": {"book/convolution", "book/core_concepts", "book/cnn_classifier", "book/glossary"},
}


def test_chinese_and_english_search_find_their_chapters(built_book, book_url, browser):
    """A build whose Chinese search index is empty fails here: no query would find anything."""
    context, remote = browser
    page = context.new_page()
    found = {}
    for edition, queries in (("zh/", CHINESE_QUERIES), ("", {SEARCH_QUERY: {"book/attention"}})):
        for query, expected in queries.items():
            page.goto(f"{book_url}{edition}search.html?q={urllib.parse.quote(query)}", wait_until="load")
            page.wait_for_selector("#search-results ul.search li", state="attached")
            links = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
            hits = {urllib.parse.urlsplit(link).path.removeprefix(f"/{edition}").removesuffix(".html")
                    for link in links}
            found[f"{edition}{query}"] = sorted(hits)
            assert hits & expected, f"searching {query!r} in /{edition} found {sorted(hits)}, none of {sorted(expected)}"
    assert not remote, remote
