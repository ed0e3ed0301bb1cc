"""Chapter 11's character-level leaderboard on Tiny Shakespeare: the recurrent cells of
chapter 7, the causal convolution and the self-attention model of chapter 11, and the best
Kneser–Ney character n-gram, in bits per character.

    LMKIT_DATA_MIRROR=../shared/data .venv/bin/python bench/char_models.py --steps 150 1500

The data are chapter 7's, exactly: the first 90 % of the corpus (cut at a line break) for
training, the next 5 % for validation, the rest for test (``corpus[cut2:]``); the characters of
the training text (and ``<unk>``) are the vocabulary; the training text is read as 32 streams
of 32 characters (``StreamBatches``, state carried). Each neural model is built right after
``lmkit.set_seed(0)`` with ``vocab=chars, start="\\n"`` and trained from scratch for each
``--steps`` with ``fit(model, train_batches, max_steps=steps, lr=5e-3, clip=1.0,
progress=False)`` (``fit``'s default seed 0, constant learning rate), one torch thread:

- ``rnn``, ``gru``, ``lstm``: ``RNNLM(RNNConfig(len(chars), embed_dim=32, hidden_size=128,
  cell=...))`` (chapter 7's ``char_model``);
- ``conv``: ``CausalConvLM(ConvConfig(len(chars), embed_dim=32, channels=64, kernel_size=3,
  dilations=(1, 2, 4, 8, 16)))`` (receptive field 63 characters);
- ``self-attention``: ``SelfAttentionLM(SelfAttentionConfig(len(chars), embed_dim=64,
  context=32, mlp=128))``.

So a notebook that builds and trains a model the same way (same seed, same batches, one thread)
gets the same numbers bit for bit; the results file keeps them unrounded. Validation bpc is
``model.bits_per_char([list(valid_text[:20_000])])``, as in chapter 7; test bpc is that of the
whole test text, one document, ``[list(test_text)]`` (computed as
``metrics.bits_per_char(model.token_logprobs(...))``, which is what ``model.bits_per_char``
does). A character model has no ``</s>``, so every model scores exactly ``len(text)``
characters, the first one predicted from the start (``"\\n"`` for the neural models, ``<s>`` for
the n-grams); the script checks the counts.

The character n-gram is chapter 4's: ``ngram.KneserNey(n, eos=False).fit([list(train_text)])``
(modified Kneser–Ney over the training text read as one sequence of characters, line breaks
included; lmkit's warning that 65 symbols are too few to estimate the unigram discounts is
silenced, as there), for ``--orders`` (default 2 … 10); the order is chosen on the bpc of the
whole validation text (as chapter 4 does), and its bpc on the first 20,000 validation
characters is reported next to the neural models'.

For the LSTM it also records how much context it uses (``lmkit.context.context_loss``, after
Khandelwal et al. 2018): its loss on the same 256 validation positions with the context cut to the
last ``d`` characters, and with all 128 characters but those beyond ``d`` shuffled, for
``d`` in ``CONTEXT_DISTANCES`` (chapter 11 computes the 150-step curve again and plots the
1,500-step one next to it).

It prints a table and writes ``bench/results/char_models.json`` (``--json ''`` for none), with
the script, command, date and machine first.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from _record import stamp, write

import lmkit
from lmkit import data, metrics, ngram, text
from lmkit.batching import StreamBatches
from lmkit.context import context_loss
from lmkit.models import RNNLM, RNNConfig
from lmkit.models.conv import CausalConvLM, ConvConfig
from lmkit.models.neural import NeuralLM
from lmkit.models.self_attention import SelfAttentionConfig, SelfAttentionLM
from lmkit.train import fit

SEED = 0
DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "char_models.json"
VALID_CHARS = 20_000
#: The context lengths of the LSTM's context curve, on CONTEXT_POSITIONS validation positions.
CONTEXT_DISTANCES = [1, 2, 4, 8, 16, 32, 64, 128]
CONTEXT_POSITIONS = 256
SETTINGS = {"batch_size": 32, "seq_len": 32, "optimizer": "Adam", "lr": 5e-3,
            "schedule": "constant", "clip": 1.0, "fit_seed": 0, "build_seed": SEED}
#: A learning rate other than SETTINGS["lr"] for a model, if one had to be changed (none).
LR_OVERRIDES: dict[str, float] = {}


def load() -> dict[str, str]:
    """Chapter 7's split of Tiny Shakespeare: train, valid and test texts."""
    corpus = data.load_text("tinyshakespeare")
    cut1 = corpus.rfind("\n", 0, int(0.90 * len(corpus))) + 1
    cut2 = corpus.rfind("\n", 0, int(0.95 * len(corpus))) + 1
    return {"train": corpus[:cut1], "valid": corpus[cut1:cut2], "test": corpus[cut2:]}


def builders(chars: text.Vocab) -> dict[str, Callable[[], NeuralLM]]:
    """Each model's constructor, seeding (``lmkit.set_seed(0)``) right before it builds."""
    v = len(chars)
    configs = {
        "rnn": lambda: RNNLM(RNNConfig(vocab_size=v, embed_dim=32, hidden_size=128, cell="rnn"),
                             vocab=chars, start="\n"),
        "gru": lambda: RNNLM(RNNConfig(vocab_size=v, embed_dim=32, hidden_size=128, cell="gru"),
                             vocab=chars, start="\n"),
        "lstm": lambda: RNNLM(RNNConfig(vocab_size=v, embed_dim=32, hidden_size=128,
                                        cell="lstm"), vocab=chars, start="\n"),
        "conv": lambda: CausalConvLM(ConvConfig(vocab_size=v, embed_dim=32, channels=64,
                                                kernel_size=3, dilations=(1, 2, 4, 8, 16)),
                                     vocab=chars, start="\n"),
        "self-attention": lambda: SelfAttentionLM(SelfAttentionConfig(
            vocab_size=v, embed_dim=64, context=32, mlp=128), vocab=chars, start="\n"),
    }

    def seeded(make: Callable[[], NeuralLM]) -> Callable[[], NeuralLM]:
        def build() -> NeuralLM:
            lmkit.set_seed(SEED)
            return make()
        return build

    return {name: seeded(make) for name, make in configs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[150, 1500],
                        help="training steps (each value: every model from scratch)")
    parser.add_argument("--orders", type=int, nargs="+", default=list(range(2, 11)),
                        help="orders of the character Kneser–Ney models")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--json", default=str(DEFAULT_JSON),
                        help="where to write the results ('' for nowhere)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wall_start, cpu_start = time.perf_counter(), time.process_time()

    texts = load()
    chars = text.Vocab(text.char_tokenize(texts["train"]), specials=["<unk>"])
    train_ids = torch.tensor(chars.encode(text.char_tokenize(texts["train"])))
    train_batches = StreamBatches(train_ids, batch_size=SETTINGS["batch_size"],
                                  seq_len=SETTINGS["seq_len"])
    valid_part = [list(texts["valid"][:VALID_CHARS])]
    test_doc = [list(texts["test"])]

    neural: dict[str, dict[str, dict]] = {}
    for steps in args.steps:
        neural[str(steps)] = rows = {}
        for name, build in builders(chars).items():
            model = build()
            lr = LR_OVERRIDES.get(name, SETTINGS["lr"])
            hist = fit(model, train_batches, max_steps=steps, lr=lr, clip=SETTINGS["clip"],
                       progress=False)
            valid_bpc = model.bits_per_char(valid_part)
            test_logp = model.token_logprobs(test_doc)
            assert len(test_logp) == len(texts["test"]), (name, len(test_logp))
            rows[name] = {
                "parameters": sum(p.numel() for p in model.parameters()),
                "steps": hist.steps, "lr": lr, "stop_reason": hist.stop_reason,
                "train_tokens": hist.num_tokens,
                "train_seconds": round(hist.train_seconds, 2),
                "tokens_per_second": round(hist.num_tokens / hist.train_seconds),
                "late_train_loss": sum(hist.train_loss[-20:]) / len(hist.train_loss[-20:]),
                "valid_bpc": valid_bpc,
                "test_bpc": metrics.bits_per_char(test_logp),
                "test_chars": len(test_logp),
            }
            if name == "lstm":
                valid_ids = torch.tensor(chars.encode(list(texts["valid"])))
                rows[name]["context_nats"] = {
                    kind: {str(d): v for d, v in context_loss(
                        model, valid_ids, CONTEXT_DISTANCES, n=CONTEXT_POSITIONS,
                        shuffle=kind == "shuffled").items()}
                    for kind in ("cut", "shuffled")}
            print(f"{steps:5} steps {name:15} valid {valid_bpc:.4f} test "
                  f"{rows[name]['test_bpc']:.4f} bpc ({hist.message})", flush=True)

    counts = {}
    for n in args.orders:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = ngram.KneserNey(n, eos=False).fit([list(texts["train"])])
        seconds = time.perf_counter() - t0
        test_logp = model.token_logprobs(test_doc)
        assert len(test_logp) == len(texts["test"])
        counts[n] = {"fit_seconds": round(seconds, 2),
                     "ngrams": sum(model.num_ngrams.values()),
                     "valid_bpc": model.bits_per_char([list(texts["valid"])]),
                     "valid_bpc_first_20000": model.bits_per_char(valid_part),
                     "test_bpc": metrics.bits_per_char(test_logp)}
        print(f"KN{n}: {counts[n]['ngrams']:,} n-grams in {seconds:.1f} s, valid "
              f"{counts[n]['valid_bpc']:.4f}, test {counts[n]['test_bpc']:.4f} bpc", flush=True)
    best_n = min(counts, key=lambda n: counts[n]["valid_bpc"])
    wall, cpu = time.perf_counter() - wall_start, time.process_time() - cpu_start

    for steps, rows in neural.items():
        print(f"\n{steps} steps: {'model':15} {'parameters':>10} {'train s':>8} "
              f"{'tokens/s':>9} {'valid bpc':>9} {'test bpc':>9}")
        for name, r in rows.items():
            flag = "" if r["stop_reason"] == "max_steps" else f"  ({r['stop_reason']})"
            print(f"{'':{len(steps) + 8}}{name:15} {r['parameters']:10,} "
                  f"{r['train_seconds']:8.1f} {r['tokens_per_second']:9,} "
                  f"{r['valid_bpc']:9.4f} {r['test_bpc']:9.4f}{flag}")
    best = counts[best_n]
    print(f"\nKneser–Ney {best_n}-gram (order chosen on validation): {best['ngrams']:,} "
          f"n-grams, fit {best['fit_seconds']:.1f} s, valid (first 20,000) "
          f"{best['valid_bpc_first_20000']:.4f}, test {best['test_bpc']:.4f} bpc")
    print(f"the whole run {wall:.0f} s wall, {cpu:.0f} s CPU")

    if args.json:
        record = {
            **stamp(),
            "seed": SEED,
            "settings": {**SETTINGS, "lr_overrides": LR_OVERRIDES,
                         "valid": f"first {VALID_CHARS:,} validation characters",
                         "test": "the whole test text, one document",
                         "ngram": "KneserNey(n, eos=False).fit([list(train_text)]), order "
                                  "chosen on the whole validation text"},
            "data": {"train_chars": len(texts["train"]), "valid_chars": len(texts["valid"]),
                     "test_chars": len(texts["test"]), "vocab_size": len(chars)},
            "models": {
                "rnn": "RNNLM(RNNConfig(V, embed_dim=32, hidden_size=128, cell='rnn'))",
                "gru": "RNNLM(RNNConfig(V, embed_dim=32, hidden_size=128, cell='gru'))",
                "lstm": "RNNLM(RNNConfig(V, embed_dim=32, hidden_size=128, cell='lstm'))",
                "conv": "CausalConvLM(ConvConfig(V, embed_dim=32, channels=64, kernel_size=3, "
                        "dilations=(1, 2, 4, 8, 16)))",
                "self-attention": "SelfAttentionLM(SelfAttentionConfig(V, embed_dim=64, "
                                  "context=32, mlp=128))"},
            "neural": neural,
            "ngram": {"orders": {str(n): r for n, r in counts.items()}, "best_order": best_n},
            "run": {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1)},
        }
        write(record, args.json)


if __name__ == "__main__":
    main()
