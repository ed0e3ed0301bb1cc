"""Hidden cases for chapter 4, "RNN language models"."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from lmkit.exercises import Exercise, register

# -- one step of the recurrence ------------------------------------------------------------------

def _rnn_step(x, h, W_xh, W_hh, b_xh, b_hh):
    return torch.tanh(W_xh @ x + b_xh + W_hh @ h + b_hh)


def _step_cases() -> list[tuple[Any, ...]]:
    g = torch.Generator().manual_seed(4)
    cases = []
    for D, H in [(3, 4), (1, 1), (5, 2), (2, 6)]:
        def r(*shape):
            return torch.randn(*shape, generator=g, dtype=torch.float64)
        cases.append((r(D), r(H), r(H, D), r(H, H), r(H), r(H)))
    D, H = 3, 4  # from h_0 = 0, the first step sees only the input
    cases.append((torch.ones(D, dtype=torch.float64), torch.zeros(H, dtype=torch.float64),
                  torch.full((H, D), 0.5, dtype=torch.float64), torch.eye(H, dtype=torch.float64),
                  torch.zeros(H, dtype=torch.float64), torch.full((H,), -1.0,
                                                                  dtype=torch.float64)))
    return cases


register(Exercise(
    key="ch04.rnn_step",
    reference=_rnn_step,
    cases=_step_cases(),
    wrong=[
        lambda x, h, W_xh, W_hh, b_xh, b_hh: W_xh @ x + b_xh + W_hh @ h + b_hh,  # no tanh
        lambda x, h, W_xh, W_hh, b_xh, b_hh: torch.tanh(
            W_xh @ x + b_xh + W_hh.T @ h + b_hh),                               # W_hh transposed
        lambda x, h, W_xh, W_hh, b_xh, b_hh: torch.sigmoid(
            W_xh @ x + b_xh + W_hh @ h + b_hh),                                 # wrong squashing
        lambda x, h, W_xh, W_hh, b_xh, b_hh: torch.tanh(
            W_xh @ x + b_xh + W_hh @ h),                                        # one bias only
    ],
))


# -- counting parameters ---------------------------------------------------------------------------

def _count_params(vocab_size: int, embed_dim: int, hidden_size: int) -> int:
    V, d, H = vocab_size, embed_dim, hidden_size
    return V * d + (H * d + H * H + H + H) + (H * V + V)


register(Exercise(
    key="ch04.count_params",
    reference=_count_params,
    cases=[(65, 32, 256), (10_000, 200, 200), (4, 2, 3), (50, 1, 1), (10_000, 650, 650)],
    wrong=[
        lambda V, d, H: V * d + H * d + H * H + H + H * V + V,        # one recurrent bias only
        lambda V, d, H: H * d + H * H + 2 * H + H * V + V,            # forgets the embeddings
        lambda V, d, H: V * d + H * d + H * H + 2 * H + H * V,        # forgets the output bias
        lambda V, d, H: V * d + H * d + H * H + 2 * H + H * V + V + H,  # counts h_0 as a weight
    ],
))


# -- nn.RNN by hand --------------------------------------------------------------------------------

def _rnn_forward(rnn, x):
    act = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu
    with torch.no_grad():
        h = x.new_zeros(x.shape[0], rnn.hidden_size)
        outputs = []
        for t in range(x.shape[1]):
            h = act(x[:, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0
                    + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
            outputs.append(h)
        return torch.stack(outputs, dim=1)


def _forward_cases() -> list[tuple[Any, ...]]:
    g = torch.Generator().manual_seed(40)  # own generator: the global random state is untouched
    cases = []
    for B, T, D, H, act in [(2, 5, 3, 4, "tanh"), (1, 1, 2, 2, "tanh"), (3, 8, 4, 3, "tanh"),
                            (2, 6, 3, 5, "relu")]:
        rnn = nn.RNN(D, H, nonlinearity=act, batch_first=True).double()
        with torch.no_grad():
            for p in rnn.parameters():
                p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) - 0.5)
        cases.append((rnn, torch.randn(B, T, D, generator=g, dtype=torch.float64)))
    return cases


def _forward_with(act_name: str, use_hh_bias: bool = True, recurrent: bool = True):
    def forward(rnn, x):
        act = getattr(torch, act_name)
        h = x.new_zeros(x.shape[0], rnn.hidden_size)
        out = []
        for t in range(x.shape[1]):
            prev = h if recurrent else torch.zeros_like(h)
            h = act(x[:, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + prev @ rnn.weight_hh_l0.T
                    + (rnn.bias_hh_l0 if use_hh_bias else 0))
            out.append(h)
        return torch.stack(out, dim=1)
    return forward


register(Exercise(
    key="ch04.rnn_forward",
    reference=_rnn_forward,
    cases=_forward_cases(),
    wrong=[
        _forward_with("sigmoid"),                     # the activation of the gates, not of nn.RNN
        _forward_with("tanh"),                        # ignores rnn.nonlinearity (fails for relu)
        _forward_with("tanh", use_hh_bias=False),     # one bias only
        _forward_with("tanh", recurrent=False),       # forgets h_{t-1}
    ],
))


# -- temperature -------------------------------------------------------------------------------

def _temperature_softmax(logits: list[float], temperature: float) -> list[float]:
    if temperature == 0:
        best = max(range(len(logits)), key=lambda i: (logits[i], -i))
        return [1.0 if i == best else 0.0 for i in range(len(logits))]
    top = max(logits)
    weights = [math.exp((z - top) / temperature) for z in logits]
    total = math.fsum(weights)
    return [w / total for w in weights]


register(Exercise(
    key="ch04.temperature_softmax",
    reference=_temperature_softmax,
    cases=[([1.0, 2.0, 3.0], 1.0), ([1.0, 2.0, 3.0], 0.5), ([1.0, 2.0, 3.0], 4.0),
           ([0.0, 0.0], 2.0), ([2.0, -1.0, 2.0, 0.5], 0.0), ([1000.0, 999.0, 0.0], 0.5),
           ([-3.0, 5.0, 1.0, 4.9], 0.1)],
    wrong=[
        lambda z, t: _temperature_softmax([v * t for v in z], 1.0) if t else
        _temperature_softmax(z, 0),                                         # multiplies by τ
        lambda z, t: [math.exp(v / t) / math.fsum(math.exp(u / t) for u in z) for v in z],
        lambda z, t: _temperature_softmax(z, 1.0),                           # ignores τ
        lambda z, t: _temperature_softmax(z, t) if t else
        [1.0 if v == max(z) else 0.0 for v in z],                           # ties: two ones
    ],
))


# -- top-k -------------------------------------------------------------------------------------

def _top_k_filter(probs: list[float], k: int) -> list[float]:
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))
    keep = set(order[:k])
    total = math.fsum(probs[i] for i in keep)
    return [probs[i] / total if i in keep else 0.0 for i in range(len(probs))]


register(Exercise(
    key="ch04.top_k_filter",
    reference=_top_k_filter,
    cases=[([0.1, 0.5, 0.15, 0.25], 2), ([0.1, 0.5, 0.15, 0.25], 1), ([0.1, 0.5, 0.15, 0.25], 4),
           ([0.3, 0.2, 0.2, 0.2, 0.1], 2), ([0.25, 0.25, 0.25, 0.25], 3), ([1.0], 1),
           ([0.05, 0.05, 0.6, 0.3], 10)],
    wrong=[
        lambda p, k: [v if v >= sorted(p)[-min(k, len(p))] else 0.0 for v in p],  # no renorm.
        lambda p, k: _top_k_filter(p, k + 1),                                      # off by one
        lambda p, k: [v / math.fsum(u for u in p if u >= sorted(p)[-min(k, len(p))])
                      if v >= sorted(p)[-min(k, len(p))] else 0.0 for v in p],    # keeps ties
        lambda p, k: [1 / min(k, len(p)) if i in sorted(range(len(p)), key=lambda j: -p[j])[:k]
                      else 0.0 for i in range(len(p))],                            # uniform
    ],
))
