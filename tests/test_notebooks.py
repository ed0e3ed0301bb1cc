"""The book's notebooks: hygiene, set-up cells in sync, and every printed solution passes.

These tests read the notebooks; executing them is the job of the strict book build and of the
Colab simulation (both run by `make test`; `make notebooks` runs them alone under nbval).
"""

import json
import re
from pathlib import Path

import pytest
import yaml

import lmkit
from lmkit.exercises import evaluate, registry

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
IDS = [nb.name for nb in NOTEBOOKS]

# Within 76 columns, like all notebook code (`make lint`): no sideways scrolling on the page.
SETUP_CELL = """\
# Set-up: on Colab, install the book's companion package lmkit
# (elsewhere it is already there).
import sys

if "google.colab" in sys.modules:
    %pip install -q \\
      "lmkit @ git+{url}@v{version}"

import lmkit

lmkit.check_version("{version}")"""


CHECK_CALL = re.compile(r'^check\("([\w.]+)",\s*(\w+)\)\s*$')
SOLUTION = re.compile(r"`{3,}\{solution\}\s*(\S+).*?```python\n(.*?)```", re.S)
EXERCISE = re.compile(r"`{3,}\{exercise\}[^\n]*\n:label:\s*(\S+)")


def toc_files(node=TOC):
    """Every `file:` (and the root) listed in _toc.yml."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root"):
                yield value
            else:
                yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


def cells(nb_path):
    return json.loads(nb_path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_notebooks_and_all_toc_files_exist():
    assert NOTEBOOKS
    for entry in toc_files():
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_notebook_is_clean_and_listed(nb):
    raw = json.loads(nb.read_text())
    assert set(raw["metadata"]) <= {"kernelspec", "language_info"}, raw["metadata"].keys()
    assert raw["metadata"]["kernelspec"]["name"] == "python3"
    assert raw["metadata"].get("language_info", {}) in ({}, {"name": "python"})
    for i, cell in enumerate(raw["cells"]):
        assert set(cell.get("metadata", {})) <= {"tags"}, f"cell {i} has extra metadata"
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has stored outputs"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
    assert f"book/{nb.stem}" in set(toc_files()), f"{nb.name} is not in _toc.yml"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_notebook_opens_with_one_title(nb):
    cs = cells(nb)
    assert cs[0]["cell_type"] == "markdown" and source(cs[0]).startswith("# ")
    titles = [line for c in cs if c["cell_type"] == "markdown"
              for line in source(c).splitlines() if line.startswith("# ")]
    assert len(titles) == 1, titles


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_setup_cell_matches_config_and_version(nb):
    first_code = next(c for c in cells(nb) if c["cell_type"] == "code")
    expected = SETUP_CELL.format(url=CONFIG["repository"]["url"], version=lmkit.__version__)
    assert source(first_code) == expected


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=IDS)
def test_claims_are_backed_by_hidden_assertions(nb):
    hidden = [c for c in cells(nb) if "remove-cell" in c.get("metadata", {}).get("tags", [])]
    assert hidden and all("assert" in source(c) or "glue" in source(c) for c in hidden)


def exercises_in(nb):
    """(key, function name, stub source, solution source) for every check cell of a notebook."""
    cs = cells(nb)
    found = []
    for i, cell in enumerate(cs):
        match = CHECK_CALL.match(source(cell).strip()) if cell["cell_type"] == "code" else None
        if not match:
            continue
        stub = source(cs[i - 1])
        solution = next(SOLUTION.search(source(c)) for c in cs[i + 1:]
                        if c["cell_type"] == "markdown" and "{solution}" in source(c))
        found.append((match[1], match[2], stub, solution[2]))
    return found


ALL_EXERCISES = [(nb.name, *ex) for nb in NOTEBOOKS
                 if nb.name[:2].isdigit() for ex in exercises_in(nb)]


@pytest.mark.parametrize("nb", [nb for nb in NOTEBOOKS if nb.name[:2].isdigit()], ids=str)
def test_chapter_has_four_exercises_each_with_a_solution(nb):
    text = "\n".join(source(c) for c in cells(nb))
    labels = EXERCISE.findall(text)
    solved = {m[0] for m in SOLUTION.findall(text)}
    assert len(labels) >= 4 and len(set(labels)) == len(labels)
    assert set(labels) == solved
    assert len(exercises_in(nb)) == len(labels)


def test_every_registered_exercise_is_checked_exactly_once_in_the_book():
    keys = [key for _, key, *_ in ALL_EXERCISES]
    assert sorted(keys) == sorted(registry())


@pytest.mark.parametrize(("nb", "key", "name", "stub", "solution"), ALL_EXERCISES,
                         ids=[ex[1] for ex in ALL_EXERCISES])
def test_stub_is_not_attempted_and_printed_solution_passes(nb, key, name, stub, solution):
    stub_ns: dict = {}
    exec(stub, stub_ns)
    assert evaluate(key, stub_ns[name]).status == "not attempted"
    solution_ns: dict = {}
    exec(solution, solution_ns)  # solutions are self-contained: they import what they use
    verdict = evaluate(key, solution_ns[name])
    assert verdict.passed, verdict.message
