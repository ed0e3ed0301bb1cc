"""Penn Treebank with lmkit.ngram: the perplexity table, and the KenLM (C++) anchor.

    LMKIT_DATA_MIRROR=../shared/data .venv/bin/python bench/ngram_vs_kenlm.py [--kenlm-bin DIR]

1. Trains every lmkit n-gram model on PTB train (weights and constants tuned on PTB valid) and
   prints its PTB test perplexity as a Markdown table, with the time each took.
2. Times lmkit's modified Kneser–Ney 5-gram (fit plus scoring of the test set) against KenLM:
   ``lmplz -o 5`` plus ``query`` if the KenLM binaries are found (on PATH, or in ``--kenlm-bin``;
   the ``kenlm`` pip package ships only the Python query module), and in any case KenLM's Python
   module loading lmkit's ARPA file and scoring the test set with it (the perplexities must
   agree). ``lmplz`` refuses ``<unk>`` in its input, so for KenLM the corpus's ``<unk>`` is
   renamed to an ordinary word: exactly how lmkit treats it.

Record the printed numbers in BENCHMARKS.md. Timings are best of several runs: other processes
share the CPUs.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from lmkit import data
from lmkit.ngram import MLE, AddDelta, Interpolated, KneserNey, RecursiveSmoothing


def ptb(split: str) -> list[list[str]]:
    return [line.split() for line in data.load_text("ptb", split).splitlines() if line.strip()]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def perplexity(model, sentences) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # MLE: inf, on purpose
        return model.perplexity(sentences)


def table(train, valid, test) -> None:
    def tuned(make, grid):
        """The model of ``grid`` with the lowest perplexity on valid."""
        models = [make(x).fit(train) for x in grid]
        return min(models, key=lambda m: perplexity(m, valid))

    rows = [
        ("MLE trigram", lambda: MLE(3).fit(train)),
        ("add-1 (Laplace) unigram", lambda: AddDelta(1, 1.0).fit(train)),
        ("add-1 (Laplace) bigram", lambda: AddDelta(2, 1.0).fit(train)),
        ("add-1 (Laplace) trigram", lambda: AddDelta(3, 1.0).fit(train)),
        ("add-δ bigram, δ tuned on valid",
         lambda: tuned(lambda d: AddDelta(2, d), [0.1, 0.03, 0.01, 0.003])),
        ("recursive ε trigram, ε tuned on valid",
         lambda: tuned(lambda e: RecursiveSmoothing(3, e), [30.0, 100.0, 300.0, 1000.0])),
        ("interpolated trigram, λ by EM on valid",
         lambda: Interpolated(3).fit(train, held_out=valid)),
        ("interpolated 5-gram, λ by EM on valid",
         lambda: Interpolated(5).fit(train, held_out=valid)),
        ("Kneser-Ney trigram", lambda: KneserNey(3, modified=False).fit(train)),
        ("modified Kneser-Ney trigram", lambda: KneserNey(3).fit(train)),
        ("Kneser-Ney 5-gram", lambda: KneserNey(5, modified=False).fit(train)),
        ("**modified Kneser-Ney 5-gram** (published: 141.2)", lambda: KneserNey(5).fit(train)),
        ("… with n-grams seen once dropped (orders 3-5)",
         lambda: KneserNey(5, min_count=[1, 1, 2, 2, 2]).fit(train)),
        ("… with n-grams seen once dropped (orders 2-5)",
         lambda: KneserNey(5, min_count=2).fit(train)),
        ("… with words seen once as <unk> (min_freq=2)",
         lambda: KneserNey(5, min_freq=2).fit(train)),
    ]
    print("| model (PTB train; test perplexity) | perplexity | n-grams stored | seconds |")
    print("|---|---:|---:|---:|")
    for name, make in rows:
        seconds, model = timed(make)
        ppl = perplexity(model, test)
        shown = ""
        if "tuned" in name or "EM" in name:  # show what was tuned
            attr, symbol = next((a, s) for a, s in (("lambdas_", "λ"), ("delta", "δ"),
                                                     ("eps", "ε")) if hasattr(model, a))
            value = np.round(np.ravel(getattr(model, attr)), 3).tolist()
            shown = f" ({symbol} = {value[0] if len(value) == 1 else value})"
        print(f"| {name}{shown} | {ppl:.2f} | {sum(model.num_ngrams.values()):,} "
              f"| {seconds:.1f} |")


def kenlm_anchor(train, test, kenlm_bin: str | None) -> None:
    def lmkit_kn5():
        model = KneserNey(5).fit(train)
        return model, model.perplexity(test)

    runs = [timed(lmkit_kn5) for _ in range(5)]
    model, ppl = runs[0][1]
    times = [t for t, _ in runs]
    print(f"\nlmkit KneserNey(5): fit + scoring of PTB test in {min(times):.2f} s (best of 5, "
          f"median {statistics.median(times):.2f} s); perplexity {ppl:.4f}; "
          f"{sum(model.num_ngrams.values()):,} n-grams, {model.nbytes / 1e6:.0f} MB of arrays")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seconds, arpa = timed(lambda: model.to_arpa(tmp / "lmkit5.arpa"))
        print(f"lmkit to_arpa: {seconds:.1f} s ({arpa.stat().st_size / 1e6:.0f} MB)")
        rename = {"<unk>": "UNKWORD"}  # lmplz refuses <unk> in its input; an ordinary word
        lines = [" ".join(rename.get(w, w) for w in s) for s in test]
        try:
            import kenlm
        except ImportError:
            print("kenlm (pip install kenlm) is not installed: no KenLM query timing")
        else:
            load, ken = timed(lambda: kenlm.Model(str(arpa)))
            lines_unk = [" ".join(s) for s in test]
            score, total = timed(lambda: sum(ken.score(s, bos=True, eos=True)
                                             for s in lines_unk))
            tokens = sum(len(s) + 1 for s in test)
            print(f"KenLM Python module on lmkit's ARPA file: load {load:.2f} s, scoring the test "
                  f"set {score:.2f} s; perplexity {10 ** (-total / tokens):.4f} (lmkit: "
                  f"{ppl:.4f})")
        lmplz = shutil.which("lmplz", path=kenlm_bin or os.environ.get("PATH"))
        query = shutil.which("query", path=kenlm_bin or os.environ.get("PATH"))
        if not (lmplz and query):
            print("KenLM's lmplz/query binaries not found (build KenLM with cmake and pass "
                  "--kenlm-bin DIR): no KenLM estimation timing")
            return
        (tmp / "train.txt").write_text(
            "\n".join(" ".join(rename.get(w, w) for w in s) for s in train) + "\n")
        (tmp / "test.txt").write_text("\n".join(lines) + "\n")
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            with open(tmp / "train.txt", "rb") as src, open(tmp / "kenlm5.arpa", "wb") as out:
                subprocess.run([lmplz, "-o", "5", "-S", "20%", "-T", str(tmp)], stdin=src,
                               stdout=out, stderr=subprocess.DEVNULL, check=True)
            built = time.perf_counter() - start
            with open(tmp / "test.txt", "rb") as src:
                result = subprocess.run([query, "-v", "summary", str(tmp / "kenlm5.arpa")],
                                        stdin=src, capture_output=True, check=True, text=True)
            total = time.perf_counter() - start
            if total < best:
                best, best_built = total, built
        kenlm_ppl = next(line.split("\t")[1] for line in result.stdout.splitlines()
                         if line.startswith("Perplexity including OOVs"))
        print(f"KenLM lmplz -o 5 + query: {best:.2f} s (lmplz {best_built:.2f} s, best of 3); "
              f"perplexity {float(kenlm_ppl):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kenlm-bin", help="folder holding KenLM's lmplz and query binaries")
    parser.add_argument("--skip-table", action="store_true", help="only the KenLM comparison")
    args = parser.parse_args()
    train, valid, test = ptb("train"), ptb("valid"), ptb("test")
    print(f"Penn Treebank: {len(train):,} / {len(valid):,} / {len(test):,} sentences; "
          f"{sum(len(s) + 1 for s in test):,} test tokens (</s> counted, <s> not); "
          f"{os.cpu_count()} CPUs\n")
    if not args.skip_table:
        table(train, valid, test)
    kenlm_anchor(train, test, args.kenlm_bin)


if __name__ == "__main__":
    main()
