"""Chapter 3's "longer setting": the fixed-window model trained for more steps than the book's
CPU budget allows, next to Kneser–Ney and their mixture, on Penn Treebank test.

    LMKIT_DATA_MIRROR=../shared/data .venv/bin/python bench/window_long.py --steps 500 6000

Prints, for each step budget, the test perplexity of the neural model, of the modified
Kneser–Ney trigram and of their mixture (λ tuned on the whole validation text), and the training
throughput. The settings are exactly the chapter's (k=3, d=64, n_h=128, batch 512, Adam 3e-3,
cosine schedule, clip 1, seed 0), so the 500-step row reproduces the chapter's model.

With ``--json PATH`` (default ``bench/results/window_long.json``; ``--json ''`` for none) it also
writes the figures with the date, the machine, the command and the seed. Chapter 3 reads that
file to print the longer setting's figures and asserts its prose against them, so the committed
file is the record the book cites: rerun the script and commit the file to update it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _record import stamp, write

import lmkit
from lmkit import data, metrics, ngram
from lmkit.batching import Batches, read_sentences, sentence_stream, window_pairs
from lmkit.models.window import FixedWindowLM, WindowConfig
from lmkit.text import Vocab
from lmkit.train import fit

SEED = 0
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "window_long.json"


def mixture(logp_a: np.ndarray, logp_b: np.ndarray, lam: float) -> np.ndarray:
    return np.logaddexp(np.log(lam) + logp_a, np.log1p(-lam) + logp_b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[500, 6000])
    parser.add_argument("--json", default=str(DEFAULT_JSON),
                        help="where to write the results ('' for nowhere)")
    args = parser.parse_args()
    rows = []

    splits = {s: read_sentences(data.load_text("ptb", s)) for s in ("train", "valid", "test")}
    vocab = Vocab((w for s in splits["train"] for w in s), specials=["<unk>", "</s>"])
    eos = vocab["</s>"]
    train_stream = sentence_stream(splits["train"], vocab)
    kn3 = ngram.KneserNey(3).fit(splits["train"])
    kn = {s: kn3.token_logprobs(splits[s]) for s in ("valid", "test")}
    contexts, targets = window_pairs(train_stream, window=3, pad_id=eos)

    print(f"{'steps':>6} {'tokens':>10} {'tok/s':>7} {'neural':>8} {'KN3':>7} {'mixture':>8} "
          f"{'λ':>5}")
    for steps in args.steps:
        lmkit.set_seed(SEED)
        model = FixedWindowLM(WindowConfig(len(vocab), window=3, embed_dim=64, hidden_dim=128),
                              vocab=vocab)
        start = time.perf_counter()
        history = fit(model, Batches(contexts, targets, batch_size=512, shuffle=True),
                      max_steps=steps, lr=3e-3, schedule="cosine", clip=1.0, seed=SEED,
                      progress=False)
        seconds = time.perf_counter() - start
        nn = {s: model.token_logprobs(splits[s]) for s in ("valid", "test")}
        lambdas = np.linspace(0.05, 0.95, 19)
        lam = float(min(lambdas, key=lambda x: metrics.perplexity(
            mixture(nn["valid"], kn["valid"], x))))
        print(f"{steps:>6} {history.num_tokens:>10,} {history.num_tokens / seconds:>7,.0f} "
              f"{metrics.perplexity(nn['test']):>8.1f} {metrics.perplexity(kn['test']):>7.1f} "
              f"{metrics.perplexity(mixture(nn['test'], kn['test'], lam)):>8.1f} {lam:>5.2f}",
              flush=True)
        rows.append({
            "steps": steps, "tokens": history.num_tokens, "seconds": round(seconds, 1),
            "tokens_per_second": round(history.num_tokens / seconds),
            "neural": round(metrics.perplexity(nn["test"]), 2),
            "kn3": round(metrics.perplexity(kn["test"]), 2),
            "mixture": round(metrics.perplexity(mixture(nn["test"], kn["test"], lam)), 2),
            "lambda": round(lam, 2),
        })
    if args.json:
        record = {
            **stamp(),
            "seed": SEED,
            "settings": {"window": 3, "embed_dim": 64, "hidden_dim": 128, "batch_size": 512,
                         "lr": 3e-3, "schedule": "cosine", "clip": 1.0,
                         "lambda_tuned_on": "the whole validation text"},
            "test_tokens": int(len(kn["test"])),
            "rows": rows,
        }
        write(record, args.json)


if __name__ == "__main__":
    main()
