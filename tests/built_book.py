"""What the tests of the built book need to know: its pages, where the builds are, and what each
page's source says it must show (title, headings, exercises, solutions).

The tests that use this module check the book as readers meet it, so they need the built book
(or, for the Colab simulation, minutes of set-up). They run in `make test` after the builds,
which sets RUN_BOOK_TESTS=1; a plain `pytest tests` skips them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
HTML = ROOT / "_build" / "html"
STUDENT_HTML = ROOT / "_build" / "student" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"

ENABLE = "RUN_BOOK_TESTS"
enabled = bool(os.environ.get(ENABLE))


def skip_unless_enabled(what: str, alone: str) -> None:
    """Skip a whole test module of the built book unless `make test` (or `alone`) runs it."""
    if not enabled:
        pytest.skip(f"{what}: run by `make test` after the builds (alone: `{alone}`)",
                    allow_module_level=True)


def need_build(html: Path, command: str) -> None:
    if not (html / "index.html").is_file():
        pytest.fail(f"{html.relative_to(ROOT)} does not exist: run `{command}` first")


FENCE = re.compile(r"^(`{3,}|~{3,}|:{3,}).*?^\1[ \t]*$", re.M | re.S)
EXERCISE = re.compile(r"^(`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>[^\n]*)\n"
                      r"(?P<options>(?::[\w-]+:[^\n]*\n)*)", re.M)
SOLUTION = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                      re.M | re.S)


def toc_docnames(node=TOC) -> list[str]:
    """Every page of _toc.yml (the root first), in reading order."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("root", "file"):
                found.append(str(value))
            else:
                found.extend(toc_docnames(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(toc_docnames(item))
    return found


def plain(text: str) -> str:
    """Heading or title text as a browser shows it, for comparison: no markup, one space."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)          # [link](url) -> link
    text = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", text)            # {role}`x` -> x
    return re.sub(r"[^\w]+", " ", text).strip().lower()


@dataclass
class Page:
    docname: str                      # as in _toc.yml, e.g. "book/01-language-models"
    source: Path
    title: str                        # the one `#` heading
    sections: list[str]               # the `##` headings
    exercises: dict[str, str]         # label -> title
    solutions: list[str] = field(default_factory=list)   # the body of every {solution}

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"

    @property
    def html(self) -> str:
        """Path of the page relative to the HTML root."""
        return f"{self.docname}.html"

    def search_word(self) -> str:
        """A word of the page's title (or, failing that, of its sections) to search for: the
        longest one."""
        words = re.findall(r"[A-Za-z]{4,}", self.title) or \
            re.findall(r"[A-Za-z]{4,}", " ".join(self.sections))
        assert words, f"{self.docname}: no word to search for in its title or sections"
        return max(words, key=len)


def markdown_of(source: Path) -> str:
    """The Markdown text of a page: the file, or a notebook's Markdown cells."""
    if source.suffix != ".ipynb":
        return source.read_text(encoding="utf-8")
    cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def load_page(docname: str) -> Page:
    source = next(ROOT / f"{docname}{ext}" for ext in (".ipynb", ".md")
                  if (ROOT / f"{docname}{ext}").exists())
    text = markdown_of(source)
    outside_fences = FENCE.sub("", text)
    titles = re.findall(r"^# (.+)$", outside_fences, re.M)
    sections = re.findall(r"^## (.+)$", outside_fences, re.M)
    exercises = {}
    for match in EXERCISE.finditer(text):
        label = re.search(r"^:label:\s*(\S+)", match["options"], re.M)
        if label:
            exercises[label[1]] = match["title"].strip()
    return Page(docname, source, titles[0] if titles else "", sections, exercises,
                [m["body"] for m in SOLUTION.finditer(text)])


PAGES = [load_page(name) for name in toc_docnames()]
