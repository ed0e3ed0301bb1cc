"""Hidden cases for chapter 4, "RNN language models"."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from lmkit.exercises import Exercise, register

# -- the Jacobian of one step ---------------------------------------------------------------------

def _step_jacobian(x, h, W_xh, W_hh, b_h, nonlinearity):
    """∂h_t/∂h_{t-1} (n_h, n_h) of h_t = act(W_xh x + W_hh h + b_h): row i holds the derivatives
    of unit i of the new state, so Diag(act'(z)) W_hh, with act' read off the new state for tanh
    and 1[z > 0] for ReLU."""
    z = W_xh @ x + W_hh @ h + b_h
    if nonlinearity == "tanh":
        slope = 1 - torch.tanh(z) ** 2
    else:
        slope = (z > 0).to(z.dtype)
    return slope[:, None] * W_hh                        # Diag(act'(z)) W_hh


def _step_cases() -> list[tuple[Any, ...]]:
    g = torch.Generator().manual_seed(4)

    def r(*shape, scale=1.0):
        return scale * torch.randn(*shape, generator=g, dtype=torch.float64)

    cases = []
    for D, H, act in [(3, 4, "tanh"), (1, 1, "tanh"), (5, 2, "tanh"), (2, 6, "relu"),
                      (3, 5, "relu"), (4, 3, "tanh")]:
        cases.append((r(D), r(H, scale=0.8), r(H, D), r(H, H), r(H, scale=0.5), act))
    # A ReLU case whose pre-activations have both signs well away from 0 (a kink would make the
    # derivative undefined): z = (2, -1.5, 0.7).
    W_hh = torch.tensor([[0.5, -1.0, 0.2], [1.5, 0.3, -0.4], [-0.6, 0.8, 1.1]],
                        dtype=torch.float64)
    cases.append((torch.ones(1, dtype=torch.float64), torch.zeros(3, dtype=torch.float64),
                  torch.tensor([[2.0], [-1.5], [0.7]], dtype=torch.float64), W_hh,
                  torch.zeros(3, dtype=torch.float64), "relu"))
    return cases


def _pre(x, h, W_xh, W_hh, b_h):
    return W_xh @ x + W_hh @ h + b_h


def _slope(x, h, W_xh, W_hh, b_h, act):
    """act'(z), the right one: 1 - tanh(z)² or 1[z > 0]."""
    z = _pre(x, h, W_xh, W_hh, b_h)
    return 1 - torch.tanh(z) ** 2 if act == "tanh" else (z > 0).to(z.dtype)


def _tanh_slope_everywhere(x, h, W_xh, W_hh, b_h, act):
    return (1 - torch.tanh(_pre(x, h, W_xh, W_hh, b_h)) ** 2)[:, None] * W_hh


register(Exercise(
    key="ch04.step_jacobian",
    reference=_step_jacobian,
    cases=_step_cases(),
    wrong=[
        # forgets the derivative of the nonlinearity: the Jacobian of the linear part only
        lambda x, h, W_xh, W_hh, b_h, act: W_hh,
        # Diag(act') on the wrong side: W_hh Diag(act') scales column j instead of row i
        lambda x, h, W_xh, W_hh, b_h, act: _slope(x, h, W_xh, W_hh, b_h, act)[None, :] * W_hh,
        # tanh' read off the previous state h_{t-1} instead of the new one
        lambda x, h, W_xh, W_hh, b_h, act: (1 - h ** 2)[:, None] * W_hh,
        # transposes W_hh (the Jacobian's rows are the new state's units)
        lambda x, h, W_xh, W_hh, b_h, act: _slope(x, h, W_xh, W_hh, b_h, act)[:, None] * W_hh.T,
        # 1 - h_t instead of 1 - h_t²
        lambda x, h, W_xh, W_hh, b_h, act: (
            1 - torch.tanh(_pre(x, h, W_xh, W_hh, b_h)))[:, None] * W_hh,
        # ignores the nonlinearity argument: tanh' for the ReLU network too
        _tanh_slope_everywhere,
        # ReLU: the new state itself in place of its derivative
        lambda x, h, W_xh, W_hh, b_h, act: (
            _slope(x, h, W_xh, W_hh, b_h, act) if act == "tanh"
            else torch.relu(_pre(x, h, W_xh, W_hh, b_h)))[:, None] * W_hh,
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
