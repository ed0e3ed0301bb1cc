"""The book's leaderboard (chapter 11, README.md) as Markdown, from the results files.

    python bench/leaderboard.py            # print the tables
    python bench/leaderboard.py --readme   # write them into README.md, between the markers

Reads ``bench/results/ptb_leaderboard.json`` (count models, RNN, LSTM and their mixtures with
the 5-gram, from ``bench/ptb_leaderboard.py``), ``window_long.json`` (chapter 3's fixed-window
model, 500 steps: the run that fits in ten minutes) and ``char_models.json`` (Tiny Shakespeare
characters, from ``bench/char_models.py``). Nothing is typed by hand: ``tests/test_leaderboard.py``
fails when README.md's tables differ from what this script prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
START, END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"
#: FixedWindowLM(WindowConfig(10_000, window=3, embed_dim=64, hidden_dim=128)).
WINDOW_PARAMETERS = 10_000 * 64 + (3 * 64 * 128 + 128) + (128 * 10_000 + 10_000)


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def _cell(value: float | int | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def ptb_table() -> str:
    board, window = load("ptb_leaderboard"), load("window_long")
    rows = [(r["name"], r["test"], r["parameters"], r.get("train_seconds"))
            for r in board["rows"]]
    w = window["rows"][0]
    rows.append((f"fixed window (chapter 3), {w['steps']} steps", w["neural"],
                 WINDOW_PARAMETERS, w["seconds"]))
    rows.append((f"fixed window + 3-gram KN (λ = {w['lambda']:.2f})", w["mixture"], None, None))
    lines = ["| model | test perplexity | parameters | training seconds |",
             "|---|---:|---:|---:|"]
    for name, ppl, params, seconds in sorted(rows, key=lambda r: -r[1]):
        lines.append(f"| {name} | {ppl:.2f} | {_cell(params, ',')} | {_cell(seconds, ',.0f')} |")
    return "\n".join(lines)


def char_table() -> str:
    board = load("char_models")
    steps = sorted(board["neural"], key=int)
    names = list(board["neural"][steps[0]])
    head = " | ".join(f"test bpc, {s} steps" for s in steps)
    lines = [f"| model | parameters | {head} |", "|---|---:|" + "---:|" * len(steps)]
    for name in names:
        runs = [board["neural"][s][name] for s in steps]
        cells = " | ".join(f"{r['test_bpc']:.3f}" for r in runs)
        lines.append(f"| {name} | {runs[0]['parameters']:,} | {cells} |")
    n = board["ngram"]["best_order"]
    best = board["ngram"]["orders"][str(n)]
    lines.append(f"| character {n}-gram, Kneser–Ney | {best['ngrams']:,} n-grams | "
                 + " | ".join(f"{best['test_bpc']:.3f}" for _ in steps) + " |")
    return "\n".join(lines)


def markdown() -> str:
    ptb, chars = load("ptb_leaderboard"), load("char_models")
    return "\n".join([
        START,
        f"Penn Treebank, word level ({ptb['test_tokens']:,} test tokens; "
        f"`{ptb['command']}`, {ptb['date'][:10]}):",
        "",
        ptb_table(),
        "",
        f"Tiny Shakespeare, character level ({chars['data']['test_chars']:,} test characters; "
        f"`{chars['command']}`, {chars['date'][:10]}; the n-gram needs no training steps):",
        "",
        char_table(),
        END,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", action="store_true", help="write the tables into README.md")
    args = parser.parse_args()
    text = markdown()
    if not args.readme:
        print(text)
        return
    readme = ROOT / "README.md"
    old = readme.read_text(encoding="utf-8")
    if START not in old or END not in old:
        raise SystemExit(f"README.md has no {START} … {END} block to fill")
    before, rest = old.split(START, 1)
    after = rest.split(END, 1)[1]
    readme.write_text(before + text + after, encoding="utf-8")
    print("README.md: leaderboard updated")


if __name__ == "__main__":
    main()
