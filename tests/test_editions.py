"""Two editions from one source.

The default book (`make book`, _build/html) shows every solution in a closed dropdown. The student
edition (`make student`, _build/student/html) has every exercise and no solution: not on the
pages, not in the search index, not in the sources that its download button serves.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
from built_book import HTML, PAGES, SOLUTION, STUDENT_HTML, need_build, skip_unless_enabled

skip_unless_enabled("The edition tests", "make book student editions")
CHAPTERS = [p for p in PAGES if p.exercises]
TEXT_FILES = {".html", ".js", ".ipynb", ".md", ".txt", ".json"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style") and self.skip > 0

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


# Sphinx's smartquotes turn the prose's ' and " into typographic quotes; compare without them.
_SMART = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_SMART)).strip()


def page_text(path) -> str:
    """The text a reader can see (or un-hide) on a page, whitespace squashed."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return squash(html.unescape("".join(parser.parts)))


def full_source(page) -> str:
    if not page.is_notebook:
        return page.source.read_text(encoding="utf-8")
    cells = json.loads(page.source.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells)


def solution_snippets(page) -> list[str]:
    """Lines that only the solutions contain: their code, and their prose where it has no
    markup that the HTML renders differently (math, roles). A line that the book shows outside
    its solutions, on any page (an import, say), is not a leak."""
    elsewhere = "\n".join(squash(SOLUTION.sub("", full_source(other))) for other in CHAPTERS)
    snippets = []
    for body in page.solutions:
        in_code = False
        for line in body.splitlines():
            line = line.strip()
            if line.startswith(("```", "~~~")):
                in_code = not in_code
                continue
            if not in_code:
                if line.startswith(":") or re.search(r"[$\\{\[]", line):
                    continue
                line = re.sub(r"[`*]", "", line)
            line = squash(line)
            if len(line) >= 12 and line not in elsewhere:
                snippets.append(line)
    return snippets


@pytest.fixture(scope="module")
def builds():
    need_build(HTML, "make book")
    need_build(STUDENT_HTML, "make student")


def test_the_book_has_exercises_and_solutions(builds):
    assert CHAPTERS, "no page of _toc.yml has exercises"
    assert all(p.solutions for p in CHAPTERS)
    assert all(solution_snippets(p) for p in CHAPTERS)


@pytest.mark.parametrize("page", CHAPTERS, ids=[p.docname for p in CHAPTERS])
def test_default_edition_shows_every_solution_in_a_dropdown(builds, page):
    raw = (HTML / page.html).read_text(encoding="utf-8")
    assert raw.count('class="solution dropdown admonition"') == len(page.solutions)
    text = page_text(HTML / page.html)
    missing = [s for s in solution_snippets(page) if s not in text]
    assert not missing, f"solution text missing from the default edition: {missing}"


@pytest.mark.parametrize("page", CHAPTERS, ids=[p.docname for p in CHAPTERS])
def test_student_edition_has_every_exercise_and_no_solution(builds, page):
    raw = (STUDENT_HTML / page.html).read_text(encoding="utf-8")
    text = page_text(STUDENT_HTML / page.html)
    for label, title in page.exercises.items():
        assert f'class="exercise admonition" id="{label}"' in raw, f"exercise {label} missing"
        assert squash(title.replace("`", "")) in text, f"exercise title {title!r} missing"
    assert raw.count('class="exercise admonition"') == len(page.exercises)
    assert 'class="solution' not in raw and "Solution to" not in text
    leaked = [s for s in solution_snippets(page) if s in text]
    assert not leaked, f"solution text in the student edition: {leaked}"


def test_no_solution_text_anywhere_in_the_student_edition(builds):
    """Search index, downloadable sources, every page: nothing of any solution."""
    snippets = {s: p.docname for p in CHAPTERS for s in solution_snippets(p)}
    leaks = []
    for path in STUDENT_HTML.rglob("*"):
        if path.suffix not in TEXT_FILES or "_static" in path.relative_to(STUDENT_HTML).parts:
            continue
        content = path.read_text(encoding="utf-8", errors="replace")
        if "{solution}" in content:
            leaks.append(f"{path.relative_to(STUDENT_HTML)}: a {{solution}} directive")
        flat = squash(html.unescape(content.replace("\\n", "\n").replace('\\"', '"')))
        leaks += [f"{path.relative_to(STUDENT_HTML)}: {s!r} ({page})"
                  for s, page in snippets.items() if s in flat]
    assert not leaks, "\n".join(leaks)
