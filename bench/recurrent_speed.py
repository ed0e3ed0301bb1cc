"""Chapter 4's "recurrent computation is slow": time per token of the RNN language model against
the fixed-window model, forward and backward, by sequence length and batch size.

    .venv/bin/python bench/recurrent_speed.py
    .venv/bin/python bench/recurrent_speed.py --batch 1 4 16 64 --lengths 16 64 256 1024

Both models are chapter 4's sizes: ``RNNLM(RNNConfig(66, embed_dim=32, hidden_size=256,
cell="rnn"))`` (PyTorch's ``nn.RNN``) and ``FixedWindowLM(WindowConfig(66, window=9,
embed_dim=32, hidden_dim=256))``. The window ``k = 9`` makes ``k·d = d + n_h = 288``: both hidden
layers do the same multiply-adds per token, and the output layers are the same, so a difference
in time is a difference in how the work is laid out (``T`` small products one after another
against one large product), not in how much work there is. For each batch size ``B`` and length
``T`` both models see the same random ``(B, T)`` targets; the RNN reads the ``T`` tokens before
them, the window model the ``B·T`` windows of ``k`` tokens. Each figure is the best of
``--repeats`` forward + backward passes (cross-entropy, no optimiser step), the two models timed
alternately so that a busy machine slows both alike. The ratio is RNN time / window time.

With ``--json PATH`` it also writes the figures with the date, the machine and the command (to
``bench/results/recurrent_speed.json`` by convention).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _record import stamp

from lmkit.models import RNNLM, FixedWindowLM, RNNConfig, WindowConfig

VOCAB, EMBED, HIDDEN, WINDOW = 66, 32, 256, 9
SEED = 0


def seconds_per_token(model: torch.nn.Module, ids: torch.Tensor, repeats: int) -> float:
    """Best of ``repeats`` forward + backward passes over ``ids`` (B, T + k), per token."""
    B, T = ids.shape[0], ids.shape[1] - WINDOW
    targets = ids[:, WINDOW:]
    if isinstance(model, FixedWindowLM):          # every position's window, (B·T, k)
        inputs = ids.unfold(1, WINDOW, 1)[:, :-1].reshape(-1, WINDOW)
    else:                                         # the T tokens before the targets, (B, T)
        inputs = ids[:, WINDOW - 1:-1]
    best = math.inf
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        out = model(inputs)
        logits = out[0] if isinstance(out, tuple) else out
        F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)).backward()
        best = min(best, time.perf_counter() - start)
    return best / (B * T)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512])
    parser.add_argument("--repeats", type=int, default=5, help="passes per figure (the best)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--json", default="", help="where to write the results ('' for nowhere)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    rnn = RNNLM(RNNConfig(VOCAB, embed_dim=EMBED, hidden_size=HIDDEN, cell="rnn"))
    window = FixedWindowLM(WindowConfig(VOCAB, window=WINDOW, embed_dim=EMBED,
                                        hidden_dim=HIDDEN))
    macs = {"rnn": rnn.rnn.weight_ih_l0.numel() + rnn.rnn.weight_hh_l0.numel(),
            "window": window.hidden.weight.numel()}
    assert macs["rnn"] == macs["window"], macs

    generator = torch.Generator().manual_seed(SEED)
    rows = []
    for T in args.lengths:
        row = {"length": T}
        for B in args.batch:
            ids = torch.randint(VOCAB, (B, T + WINDOW), generator=generator)
            seconds_per_token(rnn, ids, 1)        # warm-up
            seconds_per_token(window, ids, 1)
            # alternate the two, so that a busy spell of the machine slows both
            r, w = math.inf, math.inf
            for _ in range(args.repeats):
                r = min(r, seconds_per_token(rnn, ids, 1))
                w = min(w, seconds_per_token(window, ids, 1))
            row[B] = {"rnn_us": 1e6 * r, "window_us": 1e6 * w, "ratio": r / w}
        rows.append(row)

    print(f"RNN LM (nn.RNN, d={EMBED}, n_h={HIDDEN}) vs fixed-window LM (k={WINDOW}, d={EMBED}, "
          f"n_h={HIDDEN}); hidden-layer multiply-adds per token: {macs['rnn']:,} each; "
          f"{args.threads} thread(s), best of {args.repeats}")
    print("\nforward + backward time per token, µs (RNN / window)")
    print(f"{'T':>6} " + " ".join(f"{f'B = {B}':>17}" for B in args.batch))
    for row in rows:
        print(f"{row['length']:6} " + " ".join(
            f"{row[B]['rnn_us']:8.1f} /{row[B]['window_us']:7.1f}" for B in args.batch))
    print("\nratio RNN / window (above 1: the RNN is slower per token)")
    print(f"{'T':>6} " + " ".join(f"{f'B = {B}':>8}" for B in args.batch))
    for row in rows:
        print(f"{row['length']:6} " + " ".join(f"{row[B]['ratio']:8.1f}" for B in args.batch))

    if args.json:
        record = {
            **stamp(),
            "seed": SEED,
            "settings": {"vocab": VOCAB, "embed_dim": EMBED, "hidden_size": HIDDEN,
                         "window": WINDOW, "repeats": args.repeats,
                         "multiply_adds_hidden_layer": macs["rnn"]},
            "rows": [{"length": row["length"],
                      "by_batch": {str(B): row[B] for B in args.batch}} for row in rows],
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
