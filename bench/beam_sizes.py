"""Chapter 10's beam sweep: test BLEU against beam size, with and without length normalisation.

    LMKIT_DATA_MIRROR=../shared/data .venv/bin/python bench/beam_sizes.py

Trains chapter 10's model exactly as the chapter does (French → English Tatoeba pairs of fewer
than 10 tokens, ``Seq2Seq(embed=64, hidden=128, cell="gru", attention="additive")``, 250 steps of
64 pairs, Adam 0.01, seed 0, one thread), then translates the 1,199 test sentences with beam
sizes 1–10, ranking hypotheses by their log-probability (length penalty 0) and by their
log-probability per token (length penalty 1). For each setting it records corpus BLEU, the mean
translation length, how many translations the beam finds less probable than greedy's, and the
seconds it took; all settings are measured here, side by side, in one run.

With ``--json PATH`` (default ``bench/results/beam_sizes.json``; ``--json ''`` for none) it writes
the figures with the date, the machine, the command and the seed. Chapter 10 draws its beam
curve from that file and re-runs beam sizes 1 and 5 itself, asserting that they agree with it,
so a stale file fails the build: rerun the script and commit the file to update it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from _record import stamp

import lmkit
from lmkit.batching import PaddedPairs
from lmkit.metrics import corpus_bleu
from lmkit.models import Seq2Seq
from lmkit.models.seq2seq import beam_translate
from lmkit.text import Vocab
from lmkit.train import fit
from lmkit.translation import load_pairs

SEED = 0
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "beam_sizes.json"
SETTINGS = {"embed": 64, "hidden": 128, "cell": "gru", "attention": "additive",
            "steps": 250, "batch_size": 64, "lr": 0.01, "max_len": 20}


def train_model() -> tuple[Seq2Seq, dict]:
    """Chapter 10's model and data, built and trained in the chapter's order."""
    pairs = load_pairs(source="fra", max_len=10, seed=0)
    src_vocab = Vocab((w for e in pairs["train"] for w in e.source), min_freq=2)
    tgt_vocab = Vocab((w for e in pairs["train"] for w in e.target), min_freq=2)

    def batches(split: str, **options: object) -> PaddedPairs:
        examples = pairs[split]
        return PaddedPairs([src_vocab.encode(e.source) for e in examples],
                           [tgt_vocab.encode(e.target) for e in examples],
                           pad_id=tgt_vocab["<pad>"], bos_id=tgt_vocab["<s>"],
                           eos_id=tgt_vocab["</s>"], **options)

    train = batches("train", batch_size=SETTINGS["batch_size"], shuffle=True, bucket=True)
    valid = batches("valid", batch_size=512)
    lmkit.set_seed(SEED)
    model = Seq2Seq(src_vocab, tgt_vocab, embed=SETTINGS["embed"], hidden=SETTINGS["hidden"],
                    cell=SETTINGS["cell"], attention=SETTINGS["attention"])
    fit(model, train, valid, max_steps=SETTINGS["steps"], lr=SETTINGS["lr"], eval_every=150,
        progress=False)
    return model, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-beam", type=int, default=10, help="beam sizes 1 … this")
    parser.add_argument("--json", default=str(DEFAULT_JSON),
                        help="where to write the results ('' for nowhere)")
    parser.add_argument("--save", default="", help="write the trained weights here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, pairs = train_model()
    if args.save:
        torch.save(model.state_dict(), args.save)
    test = pairs["test"]
    sources, refs = [e.source for e in test], [e.references for e in test]
    rows, greedy_lp = [], None
    print(f"{'beam':>4} {'penalty':>7} {'BLEU':>6} {'length':>6} {'< greedy':>8} {'s':>5}")
    for penalty in (0.0, 1.0):
        for k in range(1, args.max_beam + 1):
            start = time.perf_counter()
            hyps, logprobs = beam_translate(model, sources, beam_size=k,
                                            max_len=SETTINGS["max_len"],
                                            length_penalty=penalty, return_logprobs=True)
            seconds = time.perf_counter() - start
            if greedy_lp is None:
                greedy_lp = logprobs
            row = {"beam_size": k, "length_penalty": penalty,
                   "bleu": corpus_bleu(hyps, refs).score,
                   "mean_length": sum(map(len, hyps)) / len(hyps),
                   "less_probable_than_greedy": sum(b < a - 1e-9 for a, b in
                                                    zip(greedy_lp, logprobs, strict=True)),
                   "seconds": seconds}
            rows.append(row)
            print(f"{k:4d} {penalty:7.1f} {row['bleu']:6.2f} {row['mean_length']:6.2f} "
                  f"{row['less_probable_than_greedy']:8d} {seconds:5.1f}", flush=True)
    if args.json:
        record = {**stamp(), "seed": SEED,
                  "settings": SETTINGS, "test_sentences": len(test), "rows": rows}
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
