"""The book's local Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``).

It does two jobs, both configured in ``_config.yml``.

**Offline assets.** MathJax and the ipywidgets manager (with RequireJS) would load from CDNs,
so math and widget snapshots would not render without a network. ``npm ci`` (run by
``make setup``, versions pinned in ``package-lock.json``) installs them into ``node_modules/``;
``book_offline_assets`` maps each destination under ``_static/offline/`` to the installed file
or folder, and after every HTML build this extension copies them there. ``mathjax_path`` and
``nb_ipywidgets_js`` point at the copies. No third-party JavaScript is committed. Without
``node_modules/`` (no Node.js on a reader's laptop) the build warns and falls back to the CDNs;
``make test`` builds with ``-W``, so there the warning is an error.

**Editions.** ``BOOK_EDITION=student`` (what ``make student`` sets) builds the student edition:
sphinx-exercise's ``hide_solutions`` removes every solution from the pages (and so from the
search index), and the copies of the sources that the "download" button serves are stripped of
their solutions too. The student edition reuses the outputs of the last full build
(``book_reuse_outputs``) for every notebook that has not changed since, instead of executing the
whole book a second time; a changed notebook is executed as usual.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

EDITIONS = ("full", "student")
EDITION_ENV = "BOOK_EDITION"

# Where the pages load these from when the local copies are missing (Sphinx's and myst-nb's
# own defaults).
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
WIDGETS_CDN = {
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js": {},
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/dist/embed-amd.js": {
        "data-jupyter-widgets-cdn": "https://cdn.jsdelivr.net/npm/",
    },
}

# A {solution} block in MyST (backtick or colon fence, closed by a fence of the same length),
# or a gated {solution-start} ... {solution-end} pair.
SOLUTION_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{solution\}.*?^(?P=fence)[ \t]*$\n?"
    r"|^(?P<gate>`{3,}|:{3,})\{solution-start\}.*?\{solution-end\}.*?^(?P=gate)[ \t]*$\n?",
    re.M | re.S,
)


def strip_solutions(markdown: str) -> str:
    """``markdown`` without its ``{solution}`` blocks."""
    return SOLUTION_BLOCK.sub("", markdown)


def _edition(config: Config) -> str:
    edition = os.environ.get(EDITION_ENV, "").strip() or config.book_edition
    if edition not in EDITIONS:
        raise ConfigError(f"{EDITION_ENV}/book_edition must be one of {EDITIONS}, "
                          f"got {edition!r}")
    return edition


def _config_inited(app: Sphinx, config: Config) -> None:
    config.book_edition = _edition(config)
    if config.book_edition == "student":
        config.hide_solutions = True  # sphinx-exercise's switch
        logger.info("book_ext: building the student edition (solutions removed)")

    missing = [src for src in config.book_offline_assets.values()
               if not Path(app.confdir, src).exists()]
    if missing:
        logger.warning(
            "book_ext: offline copies of MathJax and the widget manager are missing (%s): "
            "run `npm ci` in the repository (`make setup` does). This build loads them from "
            "CDNs, so its math and widgets need a network.", ", ".join(missing))
        config.mathjax_path = MATHJAX_CDN
        config.nb_ipywidgets_js = WIDGETS_CDN
        config.book_offline_assets = {}


def _cells_key(notebook: dict) -> list:
    """What a notebook renders from, outputs aside: cell types, sources and tags."""
    def text(source):
        return "".join(source) if isinstance(source, list) else source
    return [(c["cell_type"], text(c["source"]), c.get("metadata", {}).get("tags", []))
            for c in notebook.get("cells", [])]


def _reuse_outputs(app: Sphinx, docname: str, source: list[str]) -> None:
    """Student edition: render an unchanged notebook from the full build's executed copy."""
    if app.config.book_edition != "student" or not app.config.book_reuse_outputs:
        return
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    executed_path = Path(app.confdir, app.config.book_reuse_outputs, f"{docname}.ipynb")
    if not executed_path.is_file():
        return
    try:
        current = json.loads(source[0])
        executed = json.loads(executed_path.read_text(encoding="utf-8"))
    except ValueError:
        return
    if _cells_key(current) != _cells_key(executed):
        logger.info("book_ext: %s changed since the last full build: executing it", docname)
        return
    executed.setdefault("metadata", {}).setdefault("mystnb", {})["execution_mode"] = "off"
    source[0] = json.dumps(executed)
    logger.info("book_ext: %s: reusing the outputs of %s", docname, executed_path)


def _strip_solutions_from_sources(outdir: Path) -> None:
    """Remove the solutions from the copies of the sources that the HTML pages link to."""
    for path in (outdir / "_sources").rglob("*"):
        if path.suffix == ".ipynb":
            notebook = json.loads(path.read_text(encoding="utf-8"))
            kept = []
            for cell in notebook["cells"]:
                if cell["cell_type"] == "markdown":
                    text = "".join(cell["source"]) if isinstance(cell["source"], list) \
                        else cell["source"]
                    text = strip_solutions(text)
                    if not text.strip():
                        continue
                    cell["source"] = text
                kept.append(cell)
            notebook["cells"] = kept
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                            encoding="utf-8")
        elif path.suffix in (".md", ".txt", ".myst"):
            path.write_text(strip_solutions(path.read_text(encoding="utf-8")),
                            encoding="utf-8")


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    offline = Path(app.outdir, "_static", "offline")
    for dest, src in app.config.book_offline_assets.items():
        source, target = Path(app.confdir, src), offline / dest
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.map", "*.md", "package.json"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if app.config.book_edition == "student":
        _strip_solutions_from_sources(Path(app.outdir))


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                    doctree) -> None:
    """List every script of a page once.

    Sphinx 7.4 can list an inline script twice when an extension adds it after the builder
    started (once with filename None, once with ''): sphinx-thebe's `const THEBE_JS_URL`
    declared twice is a SyntaxError on every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", 0),
               tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_offline_assets", {}, "html", dict)
    app.add_config_value("book_edition", "full", "env", str)
    app.add_config_value("book_reuse_outputs", "_build/jupyter_execute", "env", str)
    app.connect("config-inited", _config_inited, priority=100)
    app.connect("source-read", _reuse_outputs)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
