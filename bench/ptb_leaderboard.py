"""Chapter 11's leaderboard on Penn Treebank: chapter 2's count models, the word-level RNN and
LSTM of chapter 7, their mixtures with the Kneser–Ney 5-gram, and the perplexity of each on rare
and frequent words.

    LMKIT_DATA_MIRROR=../shared/data .venv/bin/python bench/ptb_leaderboard.py --steps 600

Every model is scored with the language-model contract (``token_logprobs``) on the same 73,760
validation and 82,430 test tokens (words and one ``</s>`` per sentence):

- the count models of chapter 2's PTB table: the add-1 (Laplace) bigram ``AddDelta(2,
  delta=1.0)``, the modified Kneser–Ney trigram ``KneserNey(3)`` and 5-gram ``KneserNey(5)``.
  Their "parameters" are the distinct n-grams they store, all orders together
  (``sum(model.num_ngrams.values())``, the unigrams being the whole vocabulary with ``<s>``).
- the word-level RNN (``cell="rnn"``, tanh) and LSTM with exactly ``bench/ptb_lstm.py``'s
  settings (its :func:`train_lm`: 200/200, tied embeddings, batches of 32 × 35 with carried
  state, Adam 10⁻² with a cosine schedule, clip 1, seed 0, one thread), ``--steps`` each. The
  LSTM is trained first, as in ``ptb_lstm.py``, and its test perplexity is checked against
  ``bench/results/ptb_lstm.json``.
- each neural model mixed with the 5-gram, ``λ·p_nn + (1−λ)·p_kn5``, λ chosen on the whole
  validation text as ``ptb_lstm.py`` does (the test text chooses nothing).
- rare words: each test token is put in a bucket by how often the word it predicts occurs in the
  training text (:func:`lmkit.metrics.frequency_bucket`: 1–10, 11–100, 101–1,000, 1,001–10,000,
  >10,000), except ``<unk>`` and ``</s>``, which get buckets of their own; then
  :func:`lmkit.metrics.perplexity_by_bucket` for KN5, the LSTM, the RNN and the LSTM + KN5
  mixture.

It prints a table and writes ``bench/results/ptb_leaderboard.json`` (``--json ''`` for none)
with the script, command, date and machine first. Chapter 11 reads that file; rerun the script
to update it. About 15–20 minutes of CPU on the 2-core machine, most of it the two trainings.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from _record import stamp, write
from ptb_lstm import (
    SEED,
    TRAIN_SETTINGS,
    best_lambda,
    load_ptb,
    mixture,
    train_lm,
)

from lmkit import metrics, ngram

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "ptb_leaderboard.json"
PTB_LSTM_JSON = Path(__file__).resolve().parent / "results" / "ptb_lstm.json"
#: Chapter 2's count models, by their names in its PTB table.
COUNT_MODELS = {
    "add1": ("bigram, add-1", lambda: ngram.AddDelta(2, delta=1.0)),
    "kn3": ("trigram, modified Kneser–Ney", lambda: ngram.KneserNey(3)),
    "kn5": ("5-gram, modified Kneser–Ney", lambda: ngram.KneserNey(5)),
}
NEURAL_MODELS = {"lstm": "LSTM", "rnn": "RNN (tanh)"}  # in training order: the LSTM first
BUCKET_MODELS = ("kn5", "lstm", "rnn", "lstm+kn5")
SPLITS = ("valid", "test")


def bucket_labels(sentences: list[list[str]], counts: Counter[str]) -> list[str]:
    """One label per scored token (every word, then ``</s>``, per sentence): the frequency
    bucket of the word's count in the training text; ``"<unk>"`` and ``"</s>"`` for those."""
    labels = []
    for sentence in sentences:
        labels += ["<unk>" if w == "<unk>" or counts[w] == 0 else
                   metrics.frequency_bucket(counts[w]) for w in sentence]
        labels.append("</s>")
    return labels


def bucket_order(labels: list[str]) -> list[str]:
    """The labels present, frequency buckets from rare to frequent, then ``<unk>`` and ``</s>``."""
    edges = (10, 100, 1000, 10000)
    probe = [metrics.frequency_bucket(c, edges) for c in (1, *[e + 1 for e in edges])]
    return [label for label in (*probe, "<unk>", "</s>") if label in set(labels)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600, help="training steps per model")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--json", default=str(DEFAULT_JSON),
                        help="where to write the results ('' for nowhere)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wall_start, cpu_start = time.perf_counter(), time.process_time()

    splits, vocab = load_ptb()
    logp: dict[str, dict[str, np.ndarray]] = {}
    rows: dict[str, dict] = {}
    for key, (name, make) in COUNT_MODELS.items():
        t0 = time.perf_counter()
        model = make().fit(splits["train"])
        seconds = time.perf_counter() - t0
        logp[key] = {s: model.token_logprobs(splits[s]) for s in SPLITS}
        rows[key] = {"name": name, "kind": "count", "model": repr(model),
                     "parameters": sum(model.num_ngrams.values()),
                     "train_seconds": round(seconds, 1)}
        print(f"{name}: fitted in {seconds:.1f} s", flush=True)

    histories = {}
    for cell, name in NEURAL_MODELS.items():
        model, history = train_lm(cell, args.steps, splits, vocab)
        histories[cell] = history
        print(f"{name}: {history.message}", flush=True)
        logp[cell] = {s: model.token_logprobs(splits[s]) for s in SPLITS}
        rows[cell] = {"name": name, "kind": "neural", "cell": cell,
                      "parameters": sum(p.numel() for p in model.parameters()),
                      "steps": history.steps, "train_tokens": history.num_tokens,
                      "train_seconds": round(history.train_seconds, 1),
                      "tokens_per_second": round(history.tokens_per_second)}
        if history.stop_reason != "max_steps":
            rows[cell]["stop_reason"] = history.stop_reason
        del model

    for cell, name in NEURAL_MODELS.items():
        key = f"{cell}+kn5"
        lam = best_lambda(logp[cell]["valid"], logp["kn5"]["valid"])
        logp[key] = {s: mixture(logp[cell][s], logp["kn5"][s], lam) for s in SPLITS}
        rows[key] = {"name": f"{name} + 5-gram KN (λ = {lam:.2f})", "kind": "mixture",
                     "lambda": lam, "parameters": None}

    sizes = {key: {s: len(v) for s, v in value.items()} for key, value in logp.items()}
    assert len({tuple(v.values()) for v in sizes.values()}) == 1, sizes  # the same tokens
    for key, row in rows.items():
        row["valid"] = round(metrics.perplexity(logp[key]["valid"]), 2)
        row["test"] = round(metrics.perplexity(logp[key]["test"]), 2)
    best = min(rows, key=lambda key: rows[key]["valid"])  # chosen on validation

    counts = Counter(w for s in splits["train"] for w in s)
    labels = bucket_labels(splits["test"], counts)
    assert len(labels) == len(logp["kn5"]["test"])
    by_bucket = {key: metrics.perplexity_by_bucket(logp[key]["test"], labels)
                 for key in BUCKET_MODELS}
    buckets = [{"bucket": label, "tokens": by_bucket["kn5"][label][0],
                **{key: round(by_bucket[key][label][1], 2) for key in BUCKET_MODELS}}
               for label in bucket_order(labels)]

    check = None
    if PTB_LSTM_JSON.exists():
        reference = json.loads(PTB_LSTM_JSON.read_text())
        if reference["train"]["steps"] == args.steps:
            expected = reference["models"]["lstm"]["test"]
            check = {"ptb_lstm_json_test": expected, "this_run_test": rows["lstm"]["test"],
                     "agrees_to_0.01": abs(rows["lstm"]["test"] - expected) <= 0.01}
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start

    print(f"\n{'model':44} {'valid':>8} {'test':>8} {'parameters':>11} {'train s':>8} "
          f"{'tokens/s':>9}")
    for _key, row in sorted(rows.items(), key=lambda item: -item[1]["test"]):
        params = "" if row["parameters"] is None else f"{row['parameters']:,}"
        speed = f"{row['tokens_per_second']:,}" if "tokens_per_second" in row else ""
        train_s = f"{row['train_seconds']:.1f}" if "train_seconds" in row else ""
        print(f"{row['name']:44} {row['valid']:8.2f} {row['test']:8.2f} {params:>11} "
              f"{train_s:>8} {speed:>9}")
    print(f"best on validation: {rows[best]['name']} (test {rows[best]['test']:.2f})")
    print("\ntest perplexity by how often the predicted word occurs in the training text")
    print(f"{'bucket':>14} {'tokens':>7} " + " ".join(f"{k:>9}" for k in BUCKET_MODELS))
    for b in buckets:
        print(f"{b['bucket']:>14} {b['tokens']:7,} "
              + " ".join(f"{b[k]:9.2f}" for k in BUCKET_MODELS))
    if check:
        print(f"\nLSTM test perplexity {check['this_run_test']:.2f}; bench/results/ptb_lstm.json "
              f"says {check['ptb_lstm_json_test']:.2f}: "
              f"{'agrees' if check['agrees_to_0.01'] else 'DIFFERS'} (to 0.01)")
    print(f"the whole run {wall:.0f} s wall, {cpu:.0f} s CPU")

    if args.json:
        record = {
            **stamp(),
            "seed": SEED,
            "settings": {"steps": args.steps, **TRAIN_SETTINGS,
                         "neural_models": "bench/ptb_lstm.py train_lm, LSTM trained first",
                         "lambda_tuned_on": "the whole validation text",
                         "lambda_grid": "0.05, 0.10, …, 0.95",
                         "parameters_of_count_models": "distinct stored n-grams, all orders "
                                                       "(sum of num_ngrams)",
                         "bucket_of_a_token": "frequency_bucket of the training count of the "
                                              "word it predicts; <unk> and </s> on their own"},
            "valid_tokens": sizes["kn5"]["valid"],
            "test_tokens": sizes["kn5"]["test"],
            "rows": [{"key": key, **row} for key, row in rows.items()],
            "best": best,
            "lstm_check": check,
            "buckets": buckets,
            "run": {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1)},
        }
        write(record, args.json)


if __name__ == "__main__":
    main()
