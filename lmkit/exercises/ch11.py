"""Hidden cases for chapter 11, "The limits of recurrent models, and what comes next".

- ``ch11.layers_needed``: how deep a stack of causal convolutions with dilations 1, 2, 4, …
  must be for its receptive field (:func:`lmkit.models.conv.receptive_field`) to cover a
  context.
- ``ch11.causal_attention``: one head of causal self-attention for one sequence, by hand: the
  scaled dot-product scores, the future masked before the softmax, the weighted values.
- ``ch11.output_share``: the fraction of a one-layer LSTM language model's multiply-adds per
  token that the output layer takes.
- ``ch11.choose_model``: reading the leaderboard: the best model that fits a time and a size
  budget, a mixture costing what its parts cost.

Attention cases are float64. The leaderboard rows are plausible Penn Treebank figures: the
n-gram perplexities and sizes from chapter 2's table, the LSTM (perplexity, parameters,
training seconds) and its mixture with KN5 from ``bench/results/ptb_lstm.json``, rounded; the
n-grams' seconds and the other neural rows are made up, of the order the chapters measure.
They are hidden cases, not claims.
"""

from __future__ import annotations

import math

import torch

from lmkit.exercises import Exercise, close, register

_DT = torch.float64


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ layers for a receptive field


def _layers_needed(kernel_size: int, context: int) -> int:
    layers, field = 0, 1                      # no layer: the current token only
    while field < context:
        field += (kernel_size - 1) * 2**layers
        layers += 1
    return layers


def _smallest(kernel_size: int, context: int, reach) -> int:
    """The smallest L with ``reach(kernel_size, L) >= context`` (a wrong answer's formula)."""
    layers = 0
    while reach(kernel_size, layers) < context:
        layers += 1
    return layers


#: (kernel size, context): K = 2, 3, 5 at the receptive fields R = 1 + (K - 1)(2^L - 1) of
#: L = 0 … 20 layers and just past them, contexts that are powers of two, and one token.
_LAYER_CASES = [
    (2, 1), (2, 2), (2, 3), (2, 8), (2, 9), (2, 16), (2, 17), (2, 1024), (2, 1025),
    (3, 1), (3, 3), (3, 4), (3, 15), (3, 16), (3, 31), (3, 32), (3, 64), (3, 1_000_000),
    (5, 2), (5, 5), (5, 6), (5, 29), (5, 30), (5, 64), (5, 253), (5, 254),
    (4, 7), (4, 8), (9, 2041), (9, 2042),
]


register(Exercise(
    key="ch11.layers_needed",
    reference=_layers_needed,
    cases=_LAYER_CASES,
    wrong=[
        # the current token forgotten: Σ (K - 1) d_l alone must cover the context (the same
        # function as asking for R > context, one layer too many when R equals the context)
        lambda K, c: _smallest(K, c, lambda K, L: (K - 1) * (2**L - 1)),
        # dilations 1, 2, 3, …, L (growing linearly, not doubling)
        lambda K, c: _smallest(K, c, lambda K, L: 1 + (K - 1) * L * (L + 1) // 2),
        # no dilation at all: every layer adds K - 1 tokens
        lambda K, c: _smallest(K, c, lambda K, L: 1 + (K - 1) * L),
        # log2 of the context, the kernel size ignored (right for K = 2 only)
        lambda K, c: math.ceil(math.log2(c)),
        # R = K^L, which holds for K = 2 only
        lambda K, c: _smallest(K, c, lambda K, L: K**L),
        # dilations 2, 4, 8, …: the exponent off by one
        lambda K, c: _smallest(K, c, lambda K, L: 1 + (K - 1) * (2**(L + 1) - 2)),
        # the top layer's span only, 1 + (K - 1) 2^(L-1), the layers below it forgotten
        lambda K, c: _smallest(K, c, lambda K, L: 1 + (K - 1) * 2**(L - 1) if L else 1),
    ],
))

# ------------------------------------------------------------------ one head of causal attention


def _causal_attention(q: torch.Tensor, k: torch.Tensor,
                      v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    T, d = q.shape
    scores = q @ k.T / math.sqrt(d)                                   # (T, T): query t, key j
    future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)      # j > t
    weights = scores.masked_fill(future, -math.inf).softmax(dim=-1)
    return weights @ v, weights


def _qkv(seed: int, T: int, d: int, scale: float = 1.0) -> tuple[torch.Tensor, ...]:
    g = _gen(1100 + seed)
    return tuple(torch.randn(T, d, generator=g, dtype=_DT) * scale for _ in range(3))


def _exactly_causal(got: object, expected: object) -> bool:
    """Equal by the checker's rule, and no weight at all (not even 1e-40) on a later token."""
    if not close(got, expected):
        return False
    weights = torch.as_tensor(got[1], dtype=_DT)                      # type: ignore[index]
    return bool((weights.triu(diagonal=1) == 0).all())


def _attention_with(scores, mask_value=-math.inf, future=None, dim=-1, after=False):
    """A variant of :func:`_causal_attention` built from its parts."""
    def wrong(q, k, v):
        T = q.shape[0]
        s = scores(q, k)
        mask = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1) if future is None \
            else future(T)
        if after:           # softmax over every position, the future zeroed afterwards
            weights = s.softmax(dim=dim).masked_fill(mask, 0.0)
        else:
            weights = s.masked_fill(mask, mask_value).softmax(dim=dim)
        return weights @ v, weights
    return wrong


def _plain_exp(q, k, v):
    """The softmax written out without subtracting the row's maximum: exp overflows."""
    z = torch.exp(q @ k.T / math.sqrt(q.shape[1])).tril()
    weights = z / z.sum(dim=-1, keepdim=True)
    return weights @ v, weights


def _scaled(q, k):
    return q @ k.T / math.sqrt(q.shape[1])


register(Exercise(
    key="ch11.causal_attention",
    reference=_causal_attention,
    cases=[_qkv(0, 1, 3),                  # one token: it attends to itself only
           _qkv(1, 4, 2),
           _qkv(2, 5, 1),                  # d = 1: the scaling changes nothing here
           _qkv(3, 6, 8),
           _qkv(4, 7, 4, scale=24.0),      # scores up to 830: a plain exp overflows
           _qkv(5, 9, 16)],
    compare=_exactly_causal,
    wrong=[
        # no scaling by √d
        _attention_with(lambda q, k: q @ k.T),
        # the diagonal masked too: a token may not attend to itself (row 0 is all -inf)
        _attention_with(_scaled, future=lambda T: torch.ones(T, T, dtype=torch.bool).triu()),
        # masked after the softmax: the rows no longer sum to one
        _attention_with(_scaled, after=True),
        # softmax over the queries (each column sums to one), not over the keys
        _attention_with(_scaled, dim=0),
        # the mask the wrong way round: each token reads the later ones
        _attention_with(_scaled, future=lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1)),
        # the scores transposed: key t against query j
        _attention_with(lambda q, k: k @ q.T / math.sqrt(q.shape[1])),
        # the future filled with -100 instead of -inf: a tiny weight leaks to later tokens
        _attention_with(_scaled, mask_value=-100.0),
        _plain_exp,
    ],
))

# ------------------------------------------------------------------ the output layer's share


def _output_share(vocab_size: int, embed_dim: int, hidden_size: int) -> float:
    output = hidden_size * vocab_size                                 # W_hy h_t
    cell = 4 * hidden_size * (embed_dim + hidden_size)                # four gates on [e_t; h_t-1]
    return output / (output + cell)


def _share_with(cell):
    """The output layer's share with ``cell(E, H)`` multiply-adds for the LSTM step."""
    def wrong(V, E, H):
        return H * V / (H * V + cell(E, H))
    return wrong


register(Exercise(
    key="ch11.output_share",
    reference=_output_share,
    cases=[(10_000, 200, 200),             # chapter 7's word-level LSTM on Penn Treebank
           (65, 32, 128),                  # a character-level model
           (10_000, 650, 650), (10_000, 1500, 1500),
           (50_000, 512, 1024), (33_278, 400, 1150), (256, 64, 512), (2, 3, 5)],
    wrong=[
        # one gate instead of four
        _share_with(lambda E, H: H * (E + H)),
        # the recurrent weights only (four gates, h_t-1 alone)
        _share_with(lambda E, H: 4 * H * H),
        # the recurrent weights of one gate only
        _share_with(lambda E, H: H * H),
        # a share of the parameters, the embedding table counted
        lambda V, E, H: H * V / (V * E + 4 * H * (E + H) + H * V),
        # the ratio of output layer to cell, not the output layer's share of the total
        lambda V, E, H: H * V / (4 * H * (E + H)),
    ],
))

# ------------------------------------------------------------------ reading the leaderboard


def _choose_model(rows: list[dict], budget_seconds: float,
                  max_params: int | None = None) -> str | None:
    by_name = {row["name"]: row for row in rows}

    def cost(row: dict) -> tuple[float, int]:
        parts = [by_name[p] for p in row["name"].split(" + ")] if "+" in row["name"] \
            else [row]
        return sum(p["seconds"] for p in parts), sum(p["params"] for p in parts)

    fits = []
    for row in rows:
        spent, size = cost(row)
        if spent <= budget_seconds and (max_params is None or size <= max_params):
            fits.append((row["perplexity"], size, row["name"]))
    return min(fits)[2] if fits else None


def _row(name: str, perplexity: float, seconds: float | None, params: int | None) -> dict:
    return {"name": name, "perplexity": perplexity, "seconds": seconds, "params": params}


#: Every model on Penn Treebank; the mixture comes first, before its parts. It costs
#: 475 + 4 = 479 s and 2,331,600 + 2,317,234 = 4,648,834 parameters.
_PTB = [
    _row("LSTM + KN5", 136.8, None, None),
    _row("add-1 bigram", 824.0, 1.0, 274_991),
    _row("KN3", 148.3, 2.0, 861_549),
    _row("KN5", 141.2, 4.0, 2_317_234),
    _row("window", 316.4, 40.0, 1_954_704),
    _row("RNN", 281.5, 150.0, 2_050_000),
    _row("conv", 265.0, 60.0, 1_600_000),
    _row("self-attention", 258.3, 90.0, 1_450_000),
    _row("LSTM", 247.9, 475.0, 2_331_600),
]

#: Chapter 3's table: its mixture costs 40 + 2 = 42 s and 2,816,253 parameters.
_WINDOW = [
    _row("KN3", 148.3, 2.0, 861_549),
    _row("window", 316.4, 40.0, 1_954_704),
    _row("window + KN3", 144.7, None, None),
    _row("add-1 bigram", 824.0, 1.0, 274_991),
]

#: Neural models only, two of them tied on perplexity (the larger listed first).
_NEURAL = [
    _row("window", 316.4, 40.0, 1_954_704),
    _row("RNN", 281.5, 150.0, 2_050_000),
    _row("LSTM", 247.9, 475.0, 2_331_600),
    _row("GRU", 247.9, 380.0, 2_251_200),
    _row("conv", 265.0, 60.0, 1_600_000),
    _row("self-attention", 258.3, 90.0, 1_450_000),
]

_LEADERBOARD_CASES = [
    (_PTB, 600.0),                         # the mixture, 479 s
    (_PTB, 479.0),                         # the mixture, exactly on budget
    (_PTB, 478.5),                         # the mixture's parts take longer: KN5
    (_PTB, 300.0),
    (_PTB, 600.0, 4_648_834),              # the mixture, exactly on the size limit
    (_PTB, 600.0, 3_000_000),              # the mixture is too large: KN5
    (_PTB, 4.0),                           # KN5, exactly on budget
    (_PTB, 3.0),
    (_PTB, 600.0, 2_000_000),
    (_PTB, 600.0, 500_000),
    (_PTB, 1.0, 274_991),                  # exactly on both limits
    (_PTB, 0.5),                           # nothing fits
    (_PTB, 600.0, 10_000),                 # nothing is that small
    (_WINDOW, 41.0),
    (_WINDOW, 42.0),
    (_WINDOW, 42.0, 2_816_252),            # one parameter too many for the mixture
    (_WINDOW, 60.0, 2_816_253),
    (_NEURAL, 600.0),                      # LSTM and GRU tie: the GRU is smaller
    (_NEURAL, 600.0, 2_300_000),
    (_NEURAL, 600.0, 2_331_600),           # both fit: still the GRU
    (_NEURAL, 300.0),
    (_NEURAL, 30.0),
]


def _choose_with(fits, tie_break: bool = True, fallback: bool = False, as_row: bool = False,
                 none_is_free: bool = False):
    """A variant of :func:`_choose_model`; ``fits(seconds, params, budget, max_params)``."""
    def wrong(rows, budget_seconds, max_params=None):
        by_name = {row["name"]: row for row in rows}
        scored = []
        for row in rows:
            if none_is_free:
                seconds, params = row["seconds"] or 0.0, row["params"] or 0
            else:
                parts = [by_name[p] for p in row["name"].split(" + ")]
                seconds = sum(p["seconds"] for p in parts)
                params = sum(p["params"] for p in parts)
            key = (row["perplexity"], params) if tie_break else (row["perplexity"],)
            scored.append((key, row, fits(seconds, params, budget_seconds, max_params)))
        candidates = [s for s in scored if s[2]] or (scored if fallback else [])
        if not candidates:
            return None
        best = min(candidates, key=lambda s: s[0])[1]
        return best if as_row else best["name"]
    return wrong


def _fits(seconds, params, budget, max_params):
    return seconds <= budget and (max_params is None or params <= max_params)


register(Exercise(
    key="ch11.choose_model",
    reference=_choose_model,
    cases=_LEADERBOARD_CASES,
    wrong=[
        # a mixture's None read as 0: free to train, no parameters
        _choose_with(_fits, none_is_free=True),
        # strictly under the time budget
        _choose_with(lambda s, p, b, m: s < b and (m is None or p <= m)),
        # strictly under the size limit
        _choose_with(lambda s, p, b, m: s <= b and (m is None or p < m)),
        # the size limit ignored
        _choose_with(lambda s, p, b, m: s <= b),
        # the best model overall when nothing fits
        _choose_with(_fits, fallback=True),
        # the row, not its name
        _choose_with(_fits, as_row=True),
        # a tie in perplexity goes to the first row listed, not the smaller model
        _choose_with(_fits, tie_break=False),
    ],
))
