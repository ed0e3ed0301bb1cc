"""Chapter 7's longer run: the word-level LSTM language model on Penn Treebank, trained for longer
than the book's CPU budget allows, next to chapter 2's modified Kneser–Ney 5-gram and their
mixture.

    LMKIT_DATA_MIRROR=../shared/data .venv/bin/python bench/ptb_lstm.py --steps 600

Trains ``RNNLM(RNNConfig(cell="lstm", embed_dim=200, hidden_size=200, tie_weights=True))`` on
PTB train with :func:`lmkit.train.fit` (batches of 32 sequences of 35 tokens, carried state,
Adam 10⁻² with a cosine schedule, clip 1, seed 0, one thread), then scores the validation and
test texts with the language-model contract (``token_logprobs``), next to ``KneserNey(5)``. The
mixture ``λ·p_lstm + (1−λ)·p_kn5`` takes the λ that is best on the validation text; the test text
is scored once, at the end, and chooses nothing. During training it also records the validation
perplexity every ``--eval-every`` steps on the first 800 validation sentences (about a quarter of
the text, read as 16 parallel streams), so these figures differ a little from the final ones.

With ``--json PATH`` (default ``bench/results/ptb_lstm.json``; ``--json ''`` for none) it writes
the figures with the date, the machine, the command and the seed. Chapter 7 (and chapter 11's
leaderboard) reads that file and asserts its prose against it, so the committed file is the
record the book cites: rerun the script and commit the file to update it. The trained weights
are not kept (``--save PATH`` writes them, outside the repository please).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _record import stamp, write

import lmkit
from lmkit import data, metrics, ngram
from lmkit.batching import StreamBatches, read_sentences, sentence_stream
from lmkit.models import RNNLM, RNNConfig
from lmkit.text import Vocab
from lmkit.train import History, fit

SEED = 0
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "ptb_lstm.json"
#: The modified Kneser–Ney 5-gram's test perplexity (chapter 2; Mikolov 2012 reports 141.2).
KN5_PUBLISHED = 141.2
#: The validation perplexity during training is measured on this many validation sentences.
CURVE_SENTENCES = 800
#: The model and training settings (the cell is an argument of :func:`train_lm`).
TRAIN_SETTINGS = {"embed_dim": 200, "hidden_size": 200, "num_layers": 1, "tie_weights": True,
                  "dropout": 0.0, "batch_size": 32, "seq_len": 35, "optimizer": "Adam",
                  "lr": 1e-2, "schedule": "cosine", "clip": 1.0}


def mixture(logp_a: np.ndarray, logp_b: np.ndarray, lam: float) -> np.ndarray:
    """log(λ·p_a + (1−λ)·p_b), token by token."""
    return np.logaddexp(np.log(lam) + logp_a, np.log1p(-lam) + logp_b)


def load_ptb() -> tuple[dict[str, list[list[str]]], Vocab]:
    """PTB's train/valid/test sentences (token lists) and the vocabulary of the training text."""
    splits = {s: read_sentences(data.load_text("ptb", s)) for s in ("train", "valid", "test")}
    vocab = Vocab((w for s in splits["train"] for w in s), specials=["<unk>", "</s>"])
    return splits, vocab


def train_lm(cell: str, steps: int, splits: dict[str, list[list[str]]], vocab: Vocab,
             eval_every: int = 0) -> tuple[RNNLM, History]:
    """Seed 0, build ``RNNLM`` with ``cell`` and :data:`TRAIN_SETTINGS`, train it for ``steps``.

    The batches are PTB train read as 32 streams of 35 tokens (state carried); with
    ``eval_every`` the validation perplexity is recorded every that many steps on the first
    :data:`CURVE_SENTENCES` validation sentences (16 streams). Uses the torch threads as set.
    """
    settings = TRAIN_SETTINGS
    train = StreamBatches(sentence_stream(splits["train"], vocab),
                          settings["batch_size"], settings["seq_len"])
    valid = StreamBatches(sentence_stream(splits["valid"][:CURVE_SENTENCES], vocab), 16,
                          settings["seq_len"])

    lmkit.set_seed(SEED)
    config = RNNConfig(len(vocab), embed_dim=settings["embed_dim"],
                       hidden_size=settings["hidden_size"], cell=cell,
                       tie_weights=settings["tie_weights"])
    model = RNNLM(config, vocab=vocab)
    history = fit(model, train, valid if eval_every else None, max_steps=steps,
                  eval_every=eval_every or None, lr=settings["lr"],
                  schedule=settings["schedule"], clip=settings["clip"], seed=SEED,
                  progress=sys.stderr.isatty())
    return model, history


def best_lambda(logp_a: np.ndarray, logp_b: np.ndarray) -> float:
    """The λ of :func:`mixture` in 0.05, 0.10, …, 0.95 with the lowest perplexity."""
    lambdas = np.round(np.linspace(0.05, 0.95, 19), 2)
    return float(min(lambdas, key=lambda x: metrics.perplexity(mixture(logp_a, logp_b, x))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps (batches)")
    parser.add_argument("--eval-every", type=int, default=120,
                        help="validation perplexity every this many steps (0: none)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--json", default=str(DEFAULT_JSON),
                        help="where to write the results ('' for nowhere)")
    parser.add_argument("--save", default="", help="write the trained weights here")
    args = parser.parse_args()
    settings = {"cell": "lstm", **TRAIN_SETTINGS,
                "lambda_tuned_on": "the whole validation text"}
    torch.set_num_threads(args.threads)
    wall_start, cpu_start = time.perf_counter(), time.process_time()

    splits, vocab = load_ptb()
    model, history = train_lm("lstm", args.steps, splits, vocab, eval_every=args.eval_every)
    print(history.message, flush=True)
    if args.save:
        torch.save(model.state_dict(), args.save)

    kn5 = ngram.KneserNey(5).fit(splits["train"])
    lstm = {s: model.token_logprobs(splits[s]) for s in ("valid", "test")}
    kn = {s: kn5.token_logprobs(splits[s]) for s in ("valid", "test")}
    assert all(len(lstm[s]) == len(kn[s]) for s in lstm), "the two models score other tokens"
    lam = best_lambda(lstm["valid"], kn["valid"])
    mix = {s: mixture(lstm[s], kn[s], lam) for s in ("valid", "test")}
    models = {name: {s: round(metrics.perplexity(logp[s]), 2) for s in ("valid", "test")}
              for name, logp in (("lstm", lstm), ("kn5", kn), ("mixture", mix))}
    models["mixture"]["lambda"] = lam
    best = min(models, key=lambda name: models[name]["valid"])  # chosen on validation
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start

    print(f"{'model':>8} {'valid':>8} {'test':>8}")
    for name, row in models.items():
        print(f"{name:>8} {row['valid']:8.2f} {row['test']:8.2f}")
    print(f"λ = {lam:.2f}; best on validation: {best} (test {models[best]['test']:.2f}, "
          f"published KN5 {KN5_PUBLISHED}); {history.steps} steps, {history.num_tokens:,} "
          f"tokens in {history.train_seconds:.0f} s of training; the whole run {wall:.0f} s "
          f"wall, {cpu:.0f} s CPU")
    if args.json:
        record = {
            **stamp(),
            "seed": SEED,
            "settings": settings,
            "parameters": sum(p.numel() for p in model.parameters()),
            "train": {"steps": history.steps, "tokens": history.num_tokens,
                      "seconds": round(history.train_seconds, 1),
                      "tokens_per_second": round(history.tokens_per_second)},
            "run": {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1)},
            "valid_curve_sentences": CURVE_SENTENCES,
            "valid_curve": [{"step": step, "seconds": round(history.seconds[step - 1], 1),
                             "perplexity": round(float(np.exp(loss)), 2)}
                            for step, loss in zip(history.eval_step, history.valid_loss,
                                                  strict=True)],
            "valid_tokens": int(len(kn["valid"])),
            "test_tokens": int(len(kn["test"])),
            "models": models,
            "best": best,
            "kn5_published": KN5_PUBLISHED,
        }
        write(record, args.json)


if __name__ == "__main__":
    main()
