"""The built book in a real browser: headless Chromium, driven by Playwright, over every page of
_toc.yml, served from _build/html on 127.0.0.1.

On every page: no console errors, no failed request, no request to any other host (so the page
works offline); every equation typeset by the book's own MathJax; title and headings as in the
source; every exercise rendered and every solution a closed dropdown that opens on click; the
Colab link pointing at the page's notebook on the configured repository; dark mode toggling.
Search finds each page from a word of its title, and the book's own widget manager renders a
widget snapshot. A full-page screenshot of every page goes to _build/screenshots/.

Run by `make test` (and `make browser`) after the book build. Playwright drives the system's
Chromium (`executable_path`); without one the tests skip, except in CI, where they fail.
"""

from __future__ import annotations

import functools
import html
import json
import os
import shutil
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from built_book import (
    CONFIG,
    HTML,
    PAGES,
    ROOT,
    SCREENSHOTS,
    need_build,
    plain,
    skip_unless_enabled,
)

skip_unless_enabled("The browser tests", "make book browser")

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BROWSER_ENV = "BOOK_BROWSER"
HOW_TO_ENABLE = (
    f"no Chromium or Chrome found: to run the browser tests install one (Debian/Ubuntu: "
    f"`sudo apt-get install chromium`) or set {BROWSER_ENV}=/path/to/chrome, then `make browser`")
WIDGET_CHECK = "/__book-tests__/widgets.html"
PAGE_IDS = [p.docname for p in PAGES]
IN_CI = os.environ.get("CI", "").lower() == "true"


def find_browser() -> str | None:
    if os.environ.get(BROWSER_ENV):
        return os.environ[BROWSER_ENV]
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    mac = Path("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
    return str(mac) if mac.exists() else None


BROWSER = find_browser()
if BROWSER is None and not IN_CI:   # a reader's laptop: one line on how to enable them
    pytest.skip(HOW_TO_ENABLE, allow_module_level=True)


# ----------------------------------------------------------------------------- fixtures

class _Handler(SimpleHTTPRequestHandler):
    virtual: dict[str, str] = {}

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        body = self.virtual.get(urlsplit(self.path).path)
        if body is None:
            return super().do_GET()
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def site():
    """Base URL of _build/html served on 127.0.0.1 (a free port), with the widget check page."""
    need_build(HTML, "make book")
    _Handler.virtual = {WIDGET_CHECK: widget_check_page()}
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Handler, directory=str(HTML)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if BROWSER is None:
        pytest.fail(f"CI must run the browser tests, but {HOW_TO_ENABLE}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=BROWSER, headless=True,
                                              args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def executed_images(docname: str) -> int:
    """Images in the visible outputs of the notebook the build executed."""
    executed = ROOT / "_build" / "jupyter_execute" / f"{docname}.ipynb"
    assert executed.is_file(), f"{executed} is missing: the build did not execute {docname}"
    count = 0
    for cell in json.loads(executed.read_text(encoding="utf-8"))["cells"]:
        if "remove-cell" in cell.get("metadata", {}).get("tags", []):
            continue
        count += sum(1 for out in cell.get("outputs", []) if "image/png" in out.get("data", {}))
    return count


@contextmanager
def open_page(browser, url: str):
    """A page loaded in a fresh context; yields (page, problems), problems being every console
    error, failed request and request to another host than 127.0.0.1 seen while it was open."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  color_scheme="light", service_workers="block")
    problems: list[str] = []

    def route(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # offline test: anything from elsewhere would fail for a reader without network
            problems.append(f"request to another host: {route.request.url}")
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(
        f"console error: {m.text} ({m.location.get('url', '')})"))
    page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    page.on("requestfailed", lambda r: urlsplit(r.url).hostname == "127.0.0.1" and
            problems.append(f"failed request: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(
        f"HTTP {r.status}: {r.url}"))
    try:
        page.goto(url, wait_until="load")
        yield page, problems
    finally:
        context.close()


def wait_for_mathjax(page) -> None:
    page.evaluate("""async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            await MathJax.startup.promise;
        }
    }""")


MATH_REPORT = r"""() => {
    const article = document.querySelector('article.bd-article');
    const math = [...article.querySelectorAll('.math')];
    const untypeset = math.filter(e => !e.querySelector('mjx-container'))
                          .map(e => e.textContent.trim().slice(0, 80));
    // Visible prose with code, scripts and typeset math removed: no TeX may be left in it.
    const clone = article.cloneNode(true);
    clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight')
         .forEach(e => e.remove());
    const raw = clone.textContent.match(new RegExp([
        /\$\$/.source, /\\begin\{/.source, /\\\(/.source, /\\\[/.source,   // $$ \begin{ \( \[
        /\$(?=\S)[^$\n]*\\[A-Za-z]+[^$\n]*\$/.source,                    // $ ... \command ... $
    ].join('|'), 'g'));
    return {
        math: math.length,
        typeset: article.querySelectorAll('mjx-container').length,
        errors: [...article.querySelectorAll('mjx-merror')].map(e => e.textContent),
        untypeset: untypeset,
        raw: raw || [],
        mathjax: !!window.MathJax,
    };
}"""


def heading_texts(page, selector: str) -> list[str]:
    """Texts of the headings, without their permalink anchors."""
    return page.eval_on_selector_all(selector, """els => els.map(e => {
        const c = e.cloneNode(true);
        c.querySelectorAll('a.headerlink').forEach(a => a.remove());
        return c.textContent; })""")


def colab_url(docname: str) -> str:
    repo = urlsplit(CONFIG["repository"]["url"]).path.strip("/")
    book = CONFIG["repository"].get("path_to_book", "").strip("/")
    branch = CONFIG["repository"].get("branch", "main")
    path = "/".join(p for p in (book, f"{docname}.ipynb") if p)
    return f"{CONFIG['launch_buttons']['colab_url'].rstrip('/')}/github/{repo}/blob/{branch}/{path}"


def screenshot(page, name: str, full_page: bool = True) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    return path


# ----------------------------------------------------------------------------- tests

def test_every_toc_page_was_built():
    need_build(HTML, "make book")
    missing = [p.html for p in PAGES if not (HTML / p.html).is_file()]
    assert not missing, f"pages of _toc.yml missing from {HTML}: {missing}"


@pytest.mark.parametrize("page_info", PAGES, ids=PAGE_IDS)
def test_page_renders_as_readers_see_it(browser, site, page_info):
    failures: list[str] = []
    with open_page(browser, f"{site}/{page_info.html}") as (page, problems):
        wait_for_mathjax(page)

        # Title and headings, as the source has them.
        h1 = [plain(t) for t in heading_texts(page, "article.bd-article h1")]
        if len(h1) != 1 or ("$" not in page_info.title and h1 != [plain(page_info.title)]):
            failures.append(f"h1 {h1}, expected [{plain(page_info.title)!r}]")
        if not page_info.title or plain(CONFIG["title"]) not in plain(page.title()) or (
                "$" not in page_info.title
                and not plain(page.title()).startswith(plain(page_info.title))):
            failures.append(f"<title> is {page.title()!r}")
        h2 = {plain(t) for t in heading_texts(page, "article.bd-article h2")}
        missing_sections = [s for s in page_info.sections
                            if "$" not in s and plain(s) not in h2]
        if missing_sections:
            failures.append(f"sections missing: {missing_sections} (page has {sorted(h2)})")

        # Math: every equation typeset by MathJax, no TeX left in the prose.
        math = page.evaluate(MATH_REPORT)
        if math["math"]:
            if not math["mathjax"]:
                failures.append("the page has math but MathJax did not load")
            if math["untypeset"] or math["typeset"] < math["math"]:
                failures.append(f"{len(math['untypeset'])} of {math['math']} equations not "
                                f"typeset, e.g. {math['untypeset'][:3]}")
        if math["errors"]:
            failures.append(f"MathJax errors: {math['errors'][:5]}")
        if math["raw"]:
            failures.append(f"raw TeX in the text: {math['raw'][:5]}")

        # Exercises and solutions: all rendered; solutions are closed dropdowns that open.
        for label, title in page_info.exercises.items():
            box = page.locator(f"article.bd-article .exercise.admonition[id='{label}']")
            if box.count() != 1 or not box.is_visible():
                failures.append(f"exercise {label} is not on the page")
            elif plain(title) not in plain(box.locator(".admonition-title").inner_text()):
                failures.append(f"exercise {label} lost its title {title!r}")
        solutions = page.locator("article.bd-article .solution.admonition")
        if solutions.count() != len(page_info.solutions):
            failures.append(f"{solutions.count()} solutions on the page, "
                            f"{len(page_info.solutions)} in the source")

        screenshot(page, page_info.docname)   # as a reader first sees it: solutions closed

        for i in range(solutions.count()):
            box = solutions.nth(i)
            body = box.locator(":scope > section")
            if body.is_visible():
                failures.append(f"solution {i + 1} is open before a click")
                continue
            # The title's chevron ("Click to show"); a click on the title's link to the exercise
            # jumps to the exercise instead.
            box.locator(":scope > .admonition-title button.toggle-button").click()
            try:
                body.wait_for(state="visible", timeout=5_000)
            except Exception:
                failures.append(f"solution {i + 1} did not open on click")

        # Figures: every image the executed notebook holds is on the page and loaded, and a
        # chapter that draws with matplotlib has some (a non-interactive MPLBACKEND such as Agg
        # in the kernel's environment silently drops them all).
        if page_info.is_notebook:
            expected = executed_images(page_info.docname)
            shown = page.evaluate("""() => [...document.querySelectorAll(
                'article.bd-article .cell_output img')].filter(i => !i.closest('[class*="widget"]'))
                .map(i => i.complete && i.naturalWidth > 0)""")
            if len(shown) != expected or not all(shown):
                failures.append(f"{sum(shown)} loaded figures of {len(shown)} on the page, "
                                f"{expected} in the executed notebook")
            if "matplotlib" in page_info.source.read_text(encoding="utf-8") and not expected:
                failures.append("the notebook uses matplotlib but shows no figure")

        # Code: no cell's code is wider than its box at 1280 px, so none needs sideways
        # scrolling (notebook code is held to 76 columns; see `make lint`).
        if page_info.is_notebook:
            wide = page.evaluate("""() => [...document.querySelectorAll(
                'article.bd-article .cell_input pre')].filter(p => p.scrollWidth > p.clientWidth)
                .map(p => p.textContent.split('\\n')
                           .reduce((a, b) => b.length > a.length ? b : a))""")
            if wide:
                failures.append(f"{len(wide)} code cells wider than their box, e.g. {wide[:3]}")

        # The Colab launch link: this notebook, on the configured repository.
        links = page.locator(".dropdown-launch-buttons a[href*='colab']")
        if page_info.is_notebook:
            hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
            if hrefs != [colab_url(page_info.docname)]:
                failures.append(f"Colab links {hrefs}, expected {colab_url(page_info.docname)}")
            else:
                page.locator(".dropdown-launch-buttons button.dropdown-toggle").click()
                try:
                    links.first.wait_for(state="visible", timeout=5_000)
                except Exception:
                    failures.append("the launch menu does not show the Colab link")

        # Dark mode: the theme switch changes data-theme on <html>, and the colours with it.
        def theme():
            return page.evaluate("""() => [document.documentElement.dataset.theme,
                                 getComputedStyle(document.body).backgroundColor]""")
        light = theme()
        switch = page.locator(".theme-switch-button:visible").first
        seen = [light]
        for _ in range(3):
            switch.click()
            seen.append(theme())
            if seen[-1][0] == "dark":
                break
        if light[0] != "light" or seen[-1][0] != "dark" or seen[-1][1] == light[1]:
            failures.append(f"dark mode does not toggle: (data-theme, background) went {seen}")
        else:
            screenshot(page, f"{page_info.docname}-dark", full_page=False)

        failures.extend(problems)
    assert not failures, f"{page_info.html}:\n  " + "\n  ".join(failures)


@pytest.mark.parametrize("page_info", PAGES, ids=PAGE_IDS)
def test_search_finds_the_page(browser, site, page_info):
    word = page_info.search_word()
    with open_page(browser, f"{site}/search.html?q={quote(word)}") as (page, problems):
        page.wait_for_function("""() => {   // Sphinx's searchtools.js says when it is done
            const s = document.querySelector('#search-results .search-summary');
            return s && /Search finished|did not match/.test(s.textContent);
        }""", timeout=15_000)
        hits = page.eval_on_selector_all("#search-results ul.search li a",
                                         "els => els.map(a => a.href)")
        found = [urlsplit(h).path.lstrip("/") for h in hits]
        assert page_info.html in found, f"searching {word!r}: {page_info.html} not in {found}"
        assert not problems, problems


def widget_check_page() -> str:
    """A page with a widget snapshot, loading the widget manager exactly as the book's pages do
    (myst-nb adds `nb_ipywidgets_js` from _config.yml to every page with widgets)."""
    import ipywidgets as widgets
    from ipywidgets.embed import embed_data

    box = widgets.VBox([widgets.IntSlider(value=7, max=10, description="temperature"),
                        widgets.FloatLogSlider(value=0.01, min=-4, max=0, description="δ"),
                        widgets.Button(description="Sample", icon="check"),
                        widgets.Output()])
    data = embed_data(views=[box])
    # MathJax and the widget scripts, as Sphinx writes them for a page one folder below the root.
    mathjax = CONFIG["sphinx"]["config"]["mathjax_path"]
    scripts = ['<script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>',
               f'<script defer src="../_static/{mathjax}"></script>']
    for src, attributes in CONFIG["sphinx"]["config"]["nb_ipywidgets_js"].items():
        url = src if "://" in src else f"../_static/{src}"
        attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in (attributes or {}).items())
        scripts.append(f'<script src="{url}"{attrs}></script>')
    state = json.dumps(data["manager_state"]).replace("</", "<\\/")
    view = json.dumps(data["view_specs"][0]).replace("</", "<\\/")
    return f"""<!DOCTYPE html><html data-content_root="../"><head><meta charset="utf-8">
<title>widgets</title>
{"".join(scripts)}
<script type="application/vnd.jupyter.widget-state+json">{state}</script>
</head><body><h1>Widget snapshot</h1>
<script type="application/vnd.jupyter.widget-view+json">{view}</script>
</body></html>"""


def test_widget_snapshot_renders_offline(browser, site):
    with open_page(browser, f"{site}{WIDGET_CHECK}") as (page, problems):
        slider = page.locator(".widget-slider")
        slider.first.wait_for(state="visible", timeout=15_000)
        page.locator("button.jupyter-button").first.wait_for(state="visible", timeout=5_000)
        assert "temperature" in page.inner_text("body")
        page.wait_for_load_state("networkidle")
        screenshot(page, "_widget-check")
        assert not problems, problems


@pytest.mark.parametrize("page_info", PAGES, ids=PAGE_IDS)
def test_widget_snapshots_on_pages_render(browser, site, page_info):
    """Pages whose notebooks display widgets show their snapshots (none in chapter 1 yet)."""
    views = (HTML / page_info.html).read_text(encoding="utf-8").count(
        'type="application/vnd.jupyter.widget-view+json"')
    if not views:
        return
    with open_page(browser, f"{site}/{page_info.html}") as (page, problems):
        page.wait_for_function(f"document.querySelectorAll('.jupyter-widgets').length >= {views}",
                               timeout=20_000)
        page.wait_for_load_state("networkidle")
        assert not problems, problems


def test_screenshots_exist_for_every_page(browser):
    need_build(HTML, "make book")
    missing = [p.docname for p in PAGES if not (SCREENSHOTS / f"{p.docname}.png").is_file()]
    assert not missing, f"no screenshot in {SCREENSHOTS.relative_to(ROOT)} for {missing}"
