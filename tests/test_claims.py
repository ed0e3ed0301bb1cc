"""Every number the book's prose states is checked, or allowlisted with a reason.

The preface promises that a hidden cell asserts every claim. This test keeps the promise for
numbers: it reads the markdown cells of every chapter listed in `_toc.yml` and fails on any
number that is neither

1. **asserted**: the number's value is a literal inside an `assert` statement of a hidden
   assertion cell (a code cell tagged `remove-cell`) of the same `##` section (the chapter's
   opening and its Summary may restate a number asserted anywhere in the chapter), nor
2. **allowlisted**: listed in `tests/claims/NN.yaml` (NN = the chapter's number) with the reason
   it needs no check.

Rule 1 is what catches a number typed into the prose after the code changed: the assertion
holds the number the prose states, so a new result fails the assertion (the notebook tests run
it) and a new number in the prose has no assertion (this test fails). A number the reader only
needs to *see* need not be typed at all: say "the value printed above" and let the output show
it. Run `python tests/test_claims.py` for the list and the counts per chapter.

What counts as a number
    Digits (`82,430`, `4.4%`, `1.2 million`, `10^{-17}` or `10⁻¹⁷`), and number words from ten
    up (`forty`, `a hundred`, `two million`, `several hundred`) plus `half`, `a third`,
    `two thirds`, `a quarter`. Words from one to nine are not read (they mostly count things in
    the text: "two details"): write a result as digits, or assert it anyway. Not read: fenced
    code, display math (`$$…$$`: an equation's constants), inline code spans, cross-references,
    citations, URLs, subscripts and superscripts in inline math (`x_{t-1}`, `n_h^4`; but
    `10^{-5}` is a number), the identities 0 and 1 in inline math (`h_0 = 0`), chapter numbers
    (`chapter 2`, `chapters 4–7`) and names (`5-gram`, `SHA-256`).

How a number matches an assertion
    A literal matches when it equals the number's value: `4.4%` matches `4.4` or `0.044`,
    `1.2 million` matches `1.2e6` or `1_200_000`, `half` matches `0.5`. Vague multiples
    (`several hundred`, `thousands`) match any literal of the same order (100 ≤ c < 1,000 for
    hundreds).

Tolerance matches the word
    When the matching literal is the reference of a closeness test (`abs(x - N) < t`,
    `abs(x / N - 1) < t`, `math.isclose(x, N, rel_tol=t)`), the tolerance must fit the prose:
    an unqualified number is stated to the digits it shows (`141.2`: |x − 141.2| ≤ 0.1, one unit
    of the last digit; a round `38,000`: one unit of its last nonzero digit), an approximate
    one (`about`, `around`, `roughly`, `nearly`, `almost`,
    `approximately`, `≈`, `~`) to within 10 % (`about 10^{-17}`: within a factor of ten). Bounds
    (`more than N`, `under N`, `well under N`, `at least N`) are asserted as comparisons with the
    literal N; "well under N" as a margin below N (`x < 0.8 * N`, say), not `x < N`.

The allowlist
    `tests/claims/NN.yaml` is a list of entries `{number: "1895", in: "(1895)", why: "a year"}`:
    `number` as written in the prose, `in` a piece of its sentence (as this test prints it) that
    tells the occurrences apart, `why` the reason (a year, a citation, a definition, a value the
    reader is told to choose, a setting the code states, an example's data). An entry that
    matches no number fails too, so the list cannot rot.
"""

from __future__ import annotations

import ast
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from test_notebooks import toc_files

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_DIR = Path(__file__).resolve().parent / "claims"

# ---------------------------------------------------------------------------------------------
# The chapters


def chapters():
    """(number, notebook path) of every numbered chapter notebook in _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = []
    for entry in toc_files(toc):
        path = ROOT / f"{entry}.ipynb"
        match = re.match(r"(\d+)-", path.name)
        if path.exists() and match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def cell_source(cell):
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


# ---------------------------------------------------------------------------------------------
# Numbers in the prose

SMALL_TENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "dozen": 12,
}  # fmt: skip
UNITS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9}
APPROX = re.compile(
    r"\b(about|around|roughly|approximately|nearly|almost|some|close to)\s*$|(≈|~|\\approx)\s*$",
    re.I,
)
SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")

NUMBER = re.compile(
    r"(?P<sci>(?P<mant>\d+(?:\.\d+)?)\s*(?:\\times|×|·)\s*)?"
    r"10\s*(?:\^\s*\{?\s*(?P<exp>[-−]?\d+)\s*\}?|(?P<uexp>[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))"
    r"|(?<![\w.,\\])(?<![A-Za-z]-)(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?(?![\w]|-gram|\.\d)"
    r"(?:\s*(?P<pct>%|percent)|\s+(?P<scale>thousand|million|billion)\b)?"
    r"|\b(?P<cunit>hundreds|tens)\s+of\s+(?P<cscale>thousands|millions|billions)\b"
    r"|\b(?P<wunit>(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|twenty|fifty"
    r"|several|a few)\s+)?"
    r"(?P<wscale>hundred|thousand|million|billion)(?P<plural>s)?\b"
    r"|\b(?P<tens>"
    + "|".join(SMALL_TENS)
    + r")(?:-(?P<tenunit>"
    + "|".join(k for k in UNITS if len(k) > 2)
    + r"))?\b"
    r"|\b(?P<fracword>half|a third|two thirds|a quarter|three quarters)\b",
    re.I,
)


@dataclass
class Number:
    """One number of the prose."""

    text: str  # as written
    value: float
    sentence: str
    approx: bool = False
    vague: bool = False  # "several hundred", "thousands": an order of magnitude
    candidates: list = field(default_factory=list)  # values a literal may equal
    digits: float | None = None  # one unit of the last digit written, in `value`'s units
    section: int = 0  # 0: the opening, -1: the summary, else the n-th `##` section


def strip_markdown(md):
    """The prose of a markdown cell: no code, display math, roles, URLs or labels."""
    md = re.sub(r"(?m)^(`{3,})(?![`{])[^\n]*\n.*?^\1(?!`)", " ", md, flags=re.S)  # code
    md = re.sub(r"^`{3,}\{[^\n]*$|^`{3,}\s*$", " ", md, flags=re.M)  # directive fences
    md = re.sub(r"^:\w+:.*$", " ", md, flags=re.M)  # directive options
    md = re.sub(r"\$\$.*?\$\$", " ", md, flags=re.S)  # display math
    md = re.sub(r"\\begin\{\w+\*?\}.*?\\end\{\w+\*?\}", " ", md, flags=re.S)
    md = re.sub(r"<!--.*?-->", " ", md, flags=re.S)
    md = re.sub(r"\{[\w:-]+\}`[^`]*`", " ", md)  # roles: {cite:p}`…`, {ref}`…`
    md = re.sub(r"`[^`]*`", " ", md)  # inline code
    md = re.sub(r"\]\([^)]*\)", "]", md)  # link targets
    md = re.sub(r"^\(\S+\)=\s*$", " ", md, flags=re.M)  # labels
    md = re.sub(r"^#+\s", "", md, flags=re.M)
    return md


def sentences(prose):
    """Sentences (whitespace-normalised) of stripped prose."""
    out = []
    for block in re.split(r"\n\s*\n|\n\s*[-*]\s+|\n\s*\d+\.\s+", prose):
        block = " ".join(block.split())
        out += [s for s in re.split(r"(?<=[.!?;])\s+(?=[A-Z*_($\"“])", block) if s]
    return out


def math_for_numbers(sentence):
    """The sentence with inline math reduced to its numbers (no sub- or superscripts)."""

    def reduce(m):
        s = m.group(1).replace("{,}", ",").replace("\\,", "").replace("\\!", "")
        s = re.sub(r"\\(?:mathrm|text|mathbf|operatorname)\{([^}]*)\}", r"\1", s)
        s = re.sub(r"(?<![\d}])([_^])(\{[^{}]*\}|\\?\w)", " ", s)  # x_{t-1}, n_h^4, e^{…}
        s = re.sub(r"(?<!10)\^(\{[^{}]*\}|\w)", " ", s)  # powers, except of ten
        s = re.sub(r"\\frac\{1\}", " ", s)
        s = re.sub(r"(?<![\d.,])[01](?![\d.]|,\d|\s*\\times)", " ", s)  # 0 and 1: identities
        return f" {s} "

    return re.sub(r"\$([^$]+)\$", reduce, sentence)


CHAPTER_REF = re.compile(
    r"\b(?:chapters?|sections?|parts?|lectures?|figures?|equations?)\s+"
    r"\d+(?:\s*(?:–|-|,|and|to|or)\s*\d+)*",
    re.I,
)


def sections(notebook):
    """(section, kind, text) of every markdown piece and hidden code cell, in order.

    A `#` or `##` heading starts a new section; section 0 is the chapter's opening and the
    section headed "Summary" is marked -1: both may restate any number of the chapter.
    """
    section, summary = 0, False
    for cell in json.loads(Path(notebook).read_text())["cells"]:
        source = cell_source(cell)
        if cell["cell_type"] == "markdown":
            for piece in re.split(r"(?m)^(?=#{1,2}\s)", source):
                heading = re.match(r"(#{1,2})\s+(.*)", piece)
                if heading:
                    section += heading.group(1) == "##"
                    summary = heading.group(2).strip().lower() == "summary"
                yield (-1 if summary else section), "markdown", piece
        elif "remove-cell" in cell.get("metadata", {}).get("tags", []):
            yield section, "assert", source


def prose_numbers(notebook):
    """Every Number of the notebook's markdown cells, in order."""
    found = []
    for section, kind, piece in sections(notebook):
        if kind != "markdown":
            continue
        for sentence in sentences(strip_markdown(piece)):
            text = CHAPTER_REF.sub(" ", math_for_numbers(sentence))
            for m in NUMBER.finditer(text):
                number = make_number(m, sentence, text[: m.start()])
                if number is not None:
                    number.section = section
                    found.append(number)
    return found


def unit_of_last_digit(digits):
    """0.1 for "141.2"; 1,000 for "38,000": a round number is rounded."""
    if "." in digits:
        return 10.0 ** -len(digits.split(".")[1])
    return 10.0 ** (len(digits) - len(digits.rstrip("0"))) if digits.strip("0") else 1.0


def make_number(m, sentence, before):
    g = m.groupdict()
    approx = bool(APPROX.search(before[-30:]))
    written = " ".join(m.group(0).split())
    vague = False
    if g["exp"] is not None or g["uexp"] is not None:
        exp = int((g["exp"] or g["uexp"].translate(SUPERSCRIPT)).replace("−", "-"))
        mant = float(g["mant"]) if g["mant"] else 1.0
        value = mant * 10.0**exp
        unit = unit_of_last_digit(g["mant"]) * 10.0**exp if g["mant"] else None
        return Number(written, value, sentence, approx, False, [value], unit)
    if g["digits"] is not None:
        digits = g["digits"].replace(",", "") + (g["frac"] or "")
        value = float(digits)
        unit = unit_of_last_digit(digits)
        candidates = [value]
        if g["pct"]:
            candidates.append(value / 100)
        if g["scale"]:
            scale = SCALES[g["scale"].lower()]
            value, unit, candidates = value * scale, unit * scale, [value * scale]
        return Number(written, value, sentence, approx, False, candidates, unit)
    if g["cunit"] is not None:  # "hundreds of thousands": an order of magnitude
        value = (100 if g["cunit"].lower() == "hundreds" else 10) * SCALES[g["cscale"][:-1].lower()]
        return Number(written, value, sentence, approx, True, [value], None)
    if g["wscale"] is not None:
        unit_word = (g["wunit"] or "").strip().lower()
        scale = SCALES[g["wscale"].lower()]
        vague = unit_word in ("several", "a few") or bool(g["plural"]) or not unit_word
        if not unit_word and not g["plural"]:
            vague = False  # "hundred" alone reads as "a hundred" only after "a"
        value = UNITS.get(unit_word, SMALL_TENS.get(unit_word, 1)) * scale
        return Number(written, value, sentence, approx, vague, [value], None)
    if g["tens"] is not None:
        value = SMALL_TENS[g["tens"].lower()] + UNITS.get((g["tenunit"] or "").lower(), 0)
        return Number(written, value, sentence, approx, False, [value], None)
    if g["fracword"] is not None:
        value = {"half": 0.5, "a third": 1 / 3, "two thirds": 2 / 3, "a quarter": 0.25,
                 "three quarters": 0.75}[g["fracword"].lower()]  # fmt: skip
        return Number(written, value, sentence, approx, False, [value], None)
    return None


# ---------------------------------------------------------------------------------------------
# Literals in the hidden assertions


@dataclass
class Literal:
    value: float
    rel_tol: float | None  # the relative tolerance of a closeness test with it as reference
    section: int = 0


def number_of(node):
    """The float of a numeric literal node (with unary minus), else None."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = number_of(node.operand)
        return None if inner is None else -inner
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, (ast.Pow, ast.Div))
        and number_of(node.left) is not None
        and number_of(node.right) is not None
    ):
        left, right = number_of(node.left), number_of(node.right)
        if isinstance(node.op, ast.Pow):
            return left**right
        return left / right if right else None
    return None


def closeness(node):
    """(reference literal, relative tolerance) if node is a closeness test, else None."""
    if isinstance(node, ast.Call):
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name == "isclose" and len(node.args) >= 2:
            ref = number_of(node.args[1])
            if ref is None:
                ref = number_of(node.args[0])
            kw = {k.arg: number_of(k.value) for k in node.keywords}
            if ref is not None and ref != 0:
                rel = kw.get("rel_tol") or kw.get("rtol") or 0.0
                abs_ = kw.get("abs_tol") or kw.get("atol") or 0.0
                return ref, max(rel, abs_ / abs(ref))
    if (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], (ast.Lt, ast.LtE))
    ):
        left, tol = node.left, number_of(node.comparators[0])
        if (
            tol is not None
            and isinstance(left, ast.Call)
            and getattr(left.func, "id", "") == "abs"
            and isinstance(left.args[0], ast.BinOp)
            and isinstance(left.args[0].op, ast.Sub)
        ):
            diff, inner = left.args[0], left.args[0].left
            if (
                number_of(diff.right) == 1.0
                and isinstance(inner, ast.BinOp)
                and isinstance(inner.op, ast.Div)
                and number_of(inner.right)
            ):
                return number_of(inner.right), tol  # abs(x / N - 1) < t
            for side in (diff.right, diff.left):  # abs(x - N) < t
                ref = number_of(side)
                if ref is not None and ref != 0:
                    return ref, tol / abs(ref)
    return None


def assertion_literals(notebook):
    """Every numeric literal inside an assert of the notebook's remove-cell cells."""
    literals = []
    for section, kind, source in sections(notebook):
        if kind != "assert":
            continue
        source = "\n".join(
            line for line in source.splitlines() if not line.lstrip().startswith("%")
        )
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Assert):
                continue
            tolerances = {}
            for sub in ast.walk(node):
                found = closeness(sub)
                if found is not None:
                    ref, rel = found
                    tolerances[ref] = min(rel, tolerances.get(ref, math.inf))
            for sub in ast.walk(node):
                value = number_of(sub)
                if value is not None:
                    literals.append(Literal(value, tolerances.get(value), section))
    return literals


# ---------------------------------------------------------------------------------------------
# Matching


def same(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)


def tolerance_problem(number, literal):
    """Why the literal's closeness test is looser than the prose's words, or None."""
    if literal.rel_tol is None:
        return None
    if number.approx:
        exponent_only = number.digits is None and re.match(r"10\s*[\^⁻⁰¹²³⁴⁵⁶⁷⁸⁹]", number.text)
        limit = 9.0 if exponent_only else 0.1
        if literal.rel_tol > limit + 1e-12:
            return f"tolerance {literal.rel_tol:.3g} (relative) is looser than 'about' ({limit:g})"
        return None
    if number.digits is not None:
        limit = number.digits / abs(literal.value) if literal.value else math.inf
        for candidate in number.candidates:  # a percentage asserted as a fraction
            if same(candidate, literal.value) and candidate != number.value:
                limit = number.digits / 100 / abs(literal.value)
        if literal.rel_tol > limit * (1 + 1e-9):
            return (
                f"tolerance {literal.rel_tol:.3g} (relative) is looser than the digits "
                f"written ({limit:.3g}); hedge the prose ('about') or tighten the assert"
            )
    return None


def matching_literals(number, literals):
    if number.section > 0:  # a section's numbers are asserted in that section
        literals = [lit for lit in literals if lit.section == number.section]
    if number.vague:
        lo = number.value
        return [lit for lit in literals if lo <= abs(lit.value) < 10 * lo]
    return [lit for lit in literals if any(same(c, lit.value) for c in number.candidates)]


def load_allowlist(chapter):
    path = CLAIMS_DIR / f"{chapter:02d}.yaml"
    if not path.exists():
        return path, []
    entries = yaml.safe_load(path.read_text()) or []
    for entry in entries:
        assert set(entry) == {"number", "in", "why"}, f"{path}: bad entry {entry}"
        assert str(entry["why"]).strip(), f"{path}: {entry} gives no reason"
    return path, entries


def allowlisted(number, entries):
    sentence = " ".join(number.sentence.split())
    return [
        i
        for i, e in enumerate(entries)
        if str(e["number"]) == number.text and " ".join(str(e["in"]).split()) in sentence
    ]


@dataclass
class Report:
    chapter: int
    notebook: Path
    asserted: list = field(default_factory=list)
    allowed: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def audit(chapter, notebook):
    """Sort every prose number of a chapter into asserted, allowlisted or a problem."""
    report = Report(chapter, notebook)
    literals = assertion_literals(notebook)
    path, entries = load_allowlist(chapter)
    used = set()
    for number in prose_numbers(notebook):
        hits = allowlisted(number, entries)
        if hits:
            used.update(hits)
            report.allowed.append(number)
            continue
        matches = matching_literals(number, literals)
        if not matches:
            report.problems.append(
                f"chapter {chapter} ({notebook.name}): the number {number.text!r} is neither "
                f"asserted nor allowlisted.\n    sentence: {number.sentence}\n    fix: assert "
                f"it in a hidden `remove-cell` cell of the chapter (the literal {number.text!r} "
                f'inside an `assert`), or say "the value printed above" instead of typing it, '
                f"or allowlist it in {path.relative_to(ROOT)} with a reason:\n"
                f"    - {{number: {json.dumps(number.text)}, in: "
                f'{json.dumps(short_fragment(number))}, why: "…"}}'
            )
            continue
        loose = [tolerance_problem(number, lit) for lit in matches]
        if all(loose):
            report.problems.append(
                f"chapter {chapter} ({notebook.name}): the number {number.text!r} is asserted "
                f"more loosely than the prose states it: {loose[0]}.\n"
                f"    sentence: {number.sentence}\n"
                "    fix: tighten the assertion, or word the prose as loosely as it is checked"
            )
            continue
        report.asserted.append(number)
    for i, entry in enumerate(entries):
        if i not in used:
            report.problems.append(
                f"chapter {chapter}: allowlist entry {entry} of {path.relative_to(ROOT)} "
                "matches no number of the prose (the sentence changed?): update or remove it"
            )
    return report


def short_fragment(number):
    """A few words around the number, enough to tell its occurrences apart."""
    s = " ".join(number.sentence.split())
    at = s.find(number.text)
    if at < 0:
        return s[:40]
    start = s.rfind(" ", 0, max(0, at - 20)) + 1
    end = s.find(" ", at + len(number.text) + 15)
    return s[start : end if end > 0 else len(s)]


# ---------------------------------------------------------------------------------------------
# The tests

CHAPTERS = chapters()


def test_every_chapter_of_the_toc_is_audited():
    assert len(CHAPTERS) >= 7, CHAPTERS
    assert [c for c, _ in CHAPTERS] == sorted({c for c, _ in CHAPTERS})


@pytest.mark.parametrize("chapter,notebook", CHAPTERS, ids=[p.stem for _, p in CHAPTERS])
def test_every_number_in_the_prose_is_asserted_or_allowlisted(chapter, notebook):
    report = audit(chapter, notebook)
    assert not report.problems, (
        f"{len(report.problems)} number(s) of chapter {chapter} need attention:\n\n"
        + "\n\n".join(report.problems)
    )


def fake_chapter(tmp_path, prose, assertion):
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": prose},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": assertion,
         "outputs": [], "execution_count": None},
    ]  # fmt: skip
    path = tmp_path / "99-fake.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}}))
    return path


def test_a_number_typed_into_the_prose_fails_and_says_how_to_fix_it(tmp_path):
    nb = fake_chapter(
        tmp_path,
        "The model reaches a perplexity of 141.2 on the test set. It has 82,430 tokens.",
        "assert abs(ppl - 141.2) < 0.05",
    )
    report = audit(99, nb)
    assert [n.text for n in report.asserted] == ["141.2"]
    (problem,) = report.problems
    for needed in ("chapter 99", "'82,430'", "It has 82,430 tokens.", "assert it",
                   "allowlist it", "tests/claims/99.yaml", "with a reason"):  # fmt: skip
        assert needed in problem, (needed, problem)


def test_tolerance_must_match_the_words(tmp_path):
    loose = fake_chapter(
        tmp_path,
        "It costs 4.4% more. It takes about 180,000 steps. The error is around $10^{-17}$.",
        "assert abs(x - 0.044) < 0.01\nassert abs(n / 180_000 - 1) < 0.3\n"
        "assert abs(e - 1e-17) < 5e-17",
    )
    report = audit(99, loose)
    assert len(report.problems) == 2 and report.asserted[0].text == "10^{-17}", report.problems
    assert "4.4%" in report.problems[0] and "180,000" in report.problems[1]
    tight = fake_chapter(
        tmp_path,
        "It costs 4.4% more. It takes about 180,000 steps.",
        "assert abs(x - 0.044) < 0.0005\nassert math.isclose(n, 180_000, rel_tol=0.1)",
    )
    assert not audit(99, tight).problems


def test_the_extractor_reads_words_and_skips_code_math_and_references(tmp_path):
    nb = fake_chapter(
        tmp_path,
        "Chapter 3 uses `STEPS = 500` and $x_{t-1}$ with\n\n$$J = 1/T$$\n\nin forty seconds "
        "over two million n-grams, several hundred times, well under half; a 5-gram model "
        "and $\\ln 66 \\approx 4.19$ {cite:p}`bengio2003`.",
        "assert True",
    )
    texts = [n.text for n in prose_numbers(nb)]
    assert texts == ["forty", "two million", "several hundred", "half", "66", "4.19"], texts


def test_stale_allowlist_entries_fail(tmp_path, monkeypatch):
    nb = fake_chapter(tmp_path, "Wells wrote it in 1895.", "assert True")
    claims = tmp_path / "claims"
    claims.mkdir()
    (claims / "99.yaml").write_text(
        '- {number: "1895", in: "in 1895", why: a year}\n'
        '- {number: "1896", in: "in 1896", why: a year}\n'
    )
    monkeypatch.setattr(sys.modules[__name__], "CLAIMS_DIR", claims)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    report = audit(99, nb)
    assert [n.text for n in report.allowed] == ["1895"]
    assert len(report.problems) == 1 and "1896" in report.problems[0]


def main(argv):
    """Print every chapter's numbers (with -v) and the counts per chapter."""
    verbose = "-v" in argv
    print("| chapter | numbers in the prose | asserted | allowlisted | unresolved |")
    print("|---|---|---|---|---|")
    totals = [0, 0, 0, 0]
    details = []
    for chapter, notebook in CHAPTERS:
        r = audit(chapter, notebook)
        row = [len(r.asserted) + len(r.allowed) + len(r.problems), len(r.asserted),
               len(r.allowed), len(r.problems)]  # fmt: skip
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        print(f"| {notebook.stem} | " + " | ".join(map(str, row)) + " |")
        if verbose:
            details.append(f"\n## chapter {chapter}")
            details += [f"asserted    {n.text:>14}  {n.sentence[:90]}" for n in r.asserted]
            details += [f"allowlisted {n.text:>14}  {n.sentence[:90]}" for n in r.allowed]
            details += ["PROBLEM " + p for p in r.problems]
    print("| all | " + " | ".join(map(str, totals)) + " |")
    print("\n".join(details))
    return 1 if totals[3] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
