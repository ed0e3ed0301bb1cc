"""Gated recurrent layers written out step by step: the LSTM, PyTorch's GRU and the lecture's GRU.

**LSTM** (Hochreiter & Schmidhuber, 1997, with a forget gate, Gers et al., 2000). At each step,
with ``x_t`` ``(D,)`` and the previous hidden and cell states ``h, c`` ``(H,)``::

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)        input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)        forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)     candidate cell (the book's c̃_t)
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)        output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

The lecture writes each gate as ``σ(W h_{t-1} + U x_t + b)``: its ``U_f`` is PyTorch's ``W_if``,
its ``W_f`` is ``W_hf`` and its one bias ``b_f`` is the sum ``b_if + b_hf`` of PyTorch's two.
PyTorch stacks the four gates' matrices in the order **i, f, g, o**: ``weight_ih_l0`` is
``(4H, D)``, rows ``0:H`` for ``i``, ``H:2H`` for ``f``, ``2H:3H`` for ``g``, ``3H:4H`` for ``o``;
``weight_hh_l0`` ``(4H, H)``, ``bias_ih_l0`` and ``bias_hh_l0`` ``(4H,)`` likewise.

**GRU, PyTorch's variant** (what ``nn.GRU`` computes; gate order **r, z, n**)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)        reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)        update gate
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

**GRU of the lecture** (Cho et al., 2014): the reset gate acts on ``h_{t-1}`` *before* the
recurrent matrix, and ``u`` plays the role of PyTorch's ``1 - z``::

    r_t = σ(W_r h_{t-1} + U_r x_t + b_r)
    u_t = σ(W_u h_{t-1} + U_u x_t + b_u)
    h̃_t = tanh(W_h (r_t ⊙ h_{t-1}) + U_h x_t + b_h)
    h_t = (1 - u_t) ⊙ h_{t-1} + u_t ⊙ h̃_t

:class:`ScratchLSTM` and :class:`ScratchGRU` compute exactly what ``nn.LSTM`` and ``nn.GRU``
(``batch_first=True``) compute, one step at a time (:func:`lstm_step`, :func:`gru_step`), with
PyTorch's parameter names, shapes and initialisation. The lecture's GRU, a different function, is
:class:`lmkit.models.cho_gru.ChoGRUCell` (its ``from_torch`` gives it the weights of a PyTorch
GRU so that the two can be compared). :func:`init_forget_bias` sets an LSTM's forget-gate bias.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from lmkit._checks import check_int, check_number, check_probability, check_sequence

__all__ = ["ScratchGRU", "ScratchLSTM", "gru_step", "init_forget_bias",
           "lstm_gates", "lstm_step"]

Weights = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
Layer = TypeVar("Layer", bound="_GatedLayer")


def lstm_gates(x_t: torch.Tensor, h: torch.Tensor, weights: Weights
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The LSTM's gates ``(i, f, g, o)``, each ``(B, H)``, from ``x_t`` ``(B, D)`` and ``h``.

    ``weights = (W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,))``, the four gates stacked in
    PyTorch's order i, f, g, o.
    """
    W_ih, W_hh, b_ih, b_hh = weights
    a = x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh          # (B, 4H): four pre-activations
    a_i, a_f, a_g, a_o = a.chunk(4, dim=1)               # each (B, H)
    return torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)


def lstm_step(x_t: torch.Tensor, h: torch.Tensor, c: torch.Tensor, weights: Weights
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step: ``c_t = f ⊙ c_{t-1} + i ⊙ g`` and ``h_t = o ⊙ tanh(c_t)``, each ``(B, H)``."""
    i, f, g, o = lstm_gates(x_t, h, weights)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, c


def gru_step(x_t: torch.Tensor, h: torch.Tensor, weights: Weights) -> torch.Tensor:
    """One step of PyTorch's GRU: the new ``h_t`` ``(B, H)`` from ``x_t`` ``(B, D)`` and ``h``.

    ``weights = (W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,))`` in the order r, z, n. The
    reset gate multiplies ``W_hn h_{t-1} + b_hn``, *after* the recurrent matrix.
    """
    W_ih, W_hh, b_ih, b_hh = weights
    x_r, x_z, x_n = (x_t @ W_ih.T + b_ih).chunk(3, dim=1)    # input parts, each (B, H)
    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=1)      # recurrent parts, each (B, H)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


class _GatedLayer(nn.Module):
    """What the scratch LSTM and GRU share: parameters, checks and copies to and from PyTorch."""

    gates: int = 1                       # matrices stacked in each weight: 4 (LSTM), 3 (GRU)
    mode: str = ""                       # as torch's RNNBase.mode: "LSTM", "GRU"
    torch_class: type[nn.RNNBase] = nn.RNNBase
    bidirectional = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        check_int(input_size, "input_size", 1)
        check_int(hidden_size, "hidden_size", 1)
        check_int(num_layers, "num_layers", 1)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.dropout = check_probability(dropout, "dropout", below_one=True)
        G, H = self.gates, hidden_size
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(G * H, d_in)))
            self.register_parameter(f"weight_hh_l{layer}", nn.Parameter(torch.empty(G * H, H)))
            self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(G * H)))
            self.register_parameter(f"bias_hh_l{layer}", nn.Parameter(torch.empty(G * H)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight uniformly from ``[-1/sqrt(H), 1/sqrt(H)]``, as PyTorch does."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, layer: int) -> Weights:
        """``(W_ih, W_hh, b_ih, b_hh)`` of one layer (0-based), the gates stacked as in PyTorch."""
        return (getattr(self, f"weight_ih_l{layer}"), getattr(self, f"weight_hh_l{layer}"),
                getattr(self, f"bias_ih_l{layer}"), getattr(self, f"bias_hh_l{layer}"))

    def _check_part(self, part: Any, name: str, batch_size: int) -> None:
        expected = (self.num_layers, batch_size, self.hidden_size)
        if not isinstance(part, torch.Tensor):
            raise TypeError(f"{name} must be a tensor of shape {expected}, got "
                            f"{type(part).__name__}")
        if tuple(part.shape) != expected:
            raise ValueError(f"{name} must have shape (num_layers, B, hidden_size) = {expected}, "
                             f"got {tuple(part.shape)}; pass the state the previous call "
                             f"returned, or None for zeros")

    @classmethod
    def from_torch(cls: type[Layer], rnn: nn.RNNBase) -> Layer:
        """A scratch layer with a copy of the weights of a batch-first PyTorch layer of its kind."""
        if not isinstance(rnn, cls.torch_class):
            raise TypeError(f"rnn must be a torch.nn.{cls.torch_class.__name__}, got "
                            f"{type(rnn).__name__}")
        unsupported = [name for name, bad in (("batch_first=False", not rnn.batch_first),
                                              ("bias=False", not rnn.bias),
                                              ("bidirectional=True", rnn.bidirectional),
                                              ("proj_size", getattr(rnn, "proj_size", 0)))
                       if bad]
        if unsupported:
            raise ValueError(f"{cls.__name__} copies nn.{cls.torch_class.__name__}(..., "
                             f"batch_first=True) with biases, one direction and no projection; "
                             f"this one has {', '.join(unsupported)} (for two directions use "
                             f"lmkit.models.Bidirectional.from_torch)")
        scratch = cls(rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.dropout)
        scratch.load_state_dict(rnn.state_dict())
        return scratch.to(next(rnn.parameters()))

    def to_torch(self) -> nn.RNNBase:
        """An ``nn.LSTM``/``nn.GRU`` (``batch_first=True``) with a copy of this layer's weights."""
        rnn = self.torch_class(self.input_size, self.hidden_size, self.num_layers,
                               dropout=self.dropout, batch_first=True)
        rnn.load_state_dict(self.state_dict())
        return rnn.to(next(self.parameters()))

    def _between_layers(self, outputs: torch.Tensor, layer: int) -> torch.Tensor:
        """Dropout on a layer's outputs before the next layer reads them (training mode only)."""
        if self.dropout and self.training and layer < self.num_layers - 1:
            return F.dropout(outputs, self.dropout, training=True)
        return outputs

    def extra_repr(self) -> str:
        extra = f", num_layers={self.num_layers}" if self.num_layers > 1 else ""
        extra += f", dropout={self.dropout}" if self.dropout else ""
        return f"{self.input_size}, {self.hidden_size}{extra}"


class ScratchLSTM(_GatedLayer):
    """An LSTM layer written out step by step (:func:`lstm_step`), equal to ``nn.LSTM``.

    It computes what ``nn.LSTM(input_size, hidden_size, num_layers, dropout=dropout,
    batch_first=True)`` computes, with the same parameter names (``weight_ih_l0`` ``(4H, D)``,
    ``weight_hh_l0`` ``(4H, H)``, ``bias_ih_l0``, ``bias_hh_l0`` ``(4H,)``, gates in the order
    i, f, g, o), shapes and initialisation; layer ``l > 0`` reads the hidden states of layer
    ``l - 1``, with dropout in between (training mode only).

    Call it on ``x`` ``(B, T, D)`` and optionally ``state = (h0, c0)``, each ``(L, B, H)`` (zeros
    if ``None``), to get ``(outputs, (h_n, c_n))``: the last layer's hidden states ``(B, T, H)``
    and every layer's final hidden and cell states, each ``(L, B, H)``.
    """

    gates, mode, torch_class = 4, "LSTM", nn.LSTM

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
             layer: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of one layer, as a cell: ``(h_t, c_t)``, each ``(B, H)``.

        ``x_t`` is ``(B, D)`` (``(B, H)`` for ``layer > 0``), ``state`` ``(h, c)`` each
        ``(B, H)`` or ``None`` for zeros; e.g. ``hidden_grad_norms(lstm.step, x, wrt="c")``.
        """
        if state is None:
            zeros = x_t.new_zeros(x_t.shape[0], self.hidden_size)
            state = (zeros, zeros)
        return lstm_step(x_t, state[0], state[1], self.layer_weights(layer))

    def _check_state(self, state: Any, batch_size: int) -> None:
        if not isinstance(state, tuple) or len(state) != 2:
            got = "a tensor" if isinstance(state, torch.Tensor) else type(state).__name__
            raise TypeError(f"an LSTM's state is a pair (h, c) of tensors of shape (num_layers, "
                            f"B, hidden_size) = {(self.num_layers, batch_size, self.hidden_size)}"
                            f", got {got}; pass the (h_n, c_n) the previous call returned, or "
                            f"None for zeros")
        self._check_part(state[0], "h0", batch_size)
        self._check_part(state[1], "c0", batch_size)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run the LSTM over all ``T`` steps.

        Args:
            x: ``(B, T, D)`` input vectors.
            state: ``(h0, c0)``, each ``(L, B, H)``, or ``None`` for zeros.

        Returns:
            ``(outputs, (h_n, c_n))``: ``(B, T, H)`` and two ``(L, B, H)`` tensors.
        """
        check_sequence(x, self.input_size)
        B, T, _ = x.shape
        if state is None:
            zeros = x.new_zeros(self.num_layers, B, self.hidden_size)        # (L, B, H)
            state = (zeros, zeros)
        self._check_state(state, B)
        h0, c0 = state
        layer_input, last_h, last_c = x, [], []
        for layer in range(self.num_layers):
            weights = self.layer_weights(layer)
            h, c = h0[layer], c0[layer]                                      # (B, H) each
            outputs = []
            for t in range(T):
                h, c = lstm_step(layer_input[:, t], h, c, weights)
                outputs.append(h)
            layer_input = self._between_layers(torch.stack(outputs, dim=1), layer)  # (B, T, H)
            last_h.append(h)
            last_c.append(c)
        return layer_input, (torch.stack(last_h), torch.stack(last_c))

    @torch.no_grad()
    def gate_values(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                    ) -> dict[str, torch.Tensor]:
        """Every gate at every step, for looking inside a (trained) LSTM; no dropout, no graph.

        Returns:
            ``{"i", "f", "g", "o", "c", "h"}``, each ``(L, B, T, H)``: the gates and the cell
            and hidden states of every layer at every step (e.g. ``["f"][-1]``, the last
            layer's forget gate). For an ``nn.LSTM`` use
            ``ScratchLSTM.from_torch(lstm).gate_values(x)``.
        """
        check_sequence(x, self.input_size)
        B, T, _ = x.shape
        if state is None:
            zeros = x.new_zeros(self.num_layers, B, self.hidden_size)
            state = (zeros, zeros)
        self._check_state(state, B)
        names = ("i", "f", "g", "o", "c", "h")
        values: dict[str, list[torch.Tensor]] = {k: [] for k in names}
        layer_input = x
        for layer in range(self.num_layers):
            weights = self.layer_weights(layer)
            h, c = state[0][layer], state[1][layer]
            steps: dict[str, list[torch.Tensor]] = {k: [] for k in names}
            for t in range(T):
                i, f, g, o = lstm_gates(layer_input[:, t], h, weights)
                c = f * c + i * g
                h = o * torch.tanh(c)
                for k, v in zip(names, (i, f, g, o, c, h), strict=True):
                    steps[k].append(v)
            for k in names:
                values[k].append(torch.stack(steps[k], dim=1))               # (B, T, H)
            layer_input = values["h"][-1]
        return {k: torch.stack(v) for k, v in values.items()}               # (L, B, T, H)


class ScratchGRU(_GatedLayer):
    """PyTorch's GRU written out step by step (:func:`gru_step`), equal to ``nn.GRU``.

    Parameters as in ``nn.GRU`` (``weight_ih_l0`` ``(3H, D)``, ``weight_hh_l0`` ``(3H, H)``,
    ``bias_ih_l0``, ``bias_hh_l0`` ``(3H,)``, gates in the order r, z, n). This is *not* the GRU
    of Cho et al. (2014) that the lecture writes: see :class:`~lmkit.models.cho_gru.ChoGRUCell`.

    Call it on ``x`` ``(B, T, D)`` and optionally ``h0`` ``(L, B, H)`` (zeros if ``None``) to get
    ``(outputs, h_n)``: ``(B, T, H)`` and ``(L, B, H)``.
    """

    gates, mode, torch_class = 3, "GRU", nn.GRU

    def step(self, x_t: torch.Tensor, h: torch.Tensor | None = None, layer: int = 0
             ) -> torch.Tensor:
        """One step of one layer, as a cell: ``h_t`` ``(B, H)`` from ``x_t`` and ``h`` (None: 0)."""
        if h is None:
            h = x_t.new_zeros(x_t.shape[0], self.hidden_size)
        return gru_step(x_t, h, self.layer_weights(layer))

    def _check_state(self, h0: Any, batch_size: int) -> None:
        if isinstance(h0, tuple):
            raise TypeError(f"a GRU's state is one tensor h of shape (num_layers, B, "
                            f"hidden_size) = {(self.num_layers, batch_size, self.hidden_size)}, "
                            f"got a tuple; a pair (h, c) is an LSTM's state")
        self._check_part(h0, "h0", batch_size)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the GRU over all ``T`` steps: ``x`` ``(B, T, D)``, ``h0`` ``(L, B, H)`` or ``None``.

        Returns:
            ``(outputs, h_n)``: ``(B, T, H)`` hidden states of the last layer and ``(L, B, H)``.
        """
        check_sequence(x, self.input_size)
        B, T, _ = x.shape
        if h0 is None:
            h0 = x.new_zeros(self.num_layers, B, self.hidden_size)          # (L, B, H)
        self._check_state(h0, B)
        layer_input, last_states = x, []
        for layer in range(self.num_layers):
            weights = self.layer_weights(layer)
            h = h0[layer]                                                    # (B, H)
            outputs = []
            for t in range(T):
                h = gru_step(layer_input[:, t], h, weights)
                outputs.append(h)
            layer_input = self._between_layers(torch.stack(outputs, dim=1), layer)  # (B, T, H)
            last_states.append(h)
        return layer_input, torch.stack(last_states)


def init_forget_bias(lstm: nn.Module, value: float = 1.0) -> nn.Module:
    """Set every LSTM forget-gate bias so that ``b_if + b_hf = value``; returns ``lstm``.

    ``value`` goes into ``bias_ih``'s ``f`` slice (rows ``H:2H``) and ``bias_hh``'s ``f`` slice
    is set to 0. A large value (1 in Jozefowicz et al., 2015; 3 or more for long dependencies)
    starts the forget gate near ``σ(value)``, so the cell keeps its contents from the start.

    Args:
        lstm: an ``nn.LSTM``, ``nn.LSTMCell`` or :class:`ScratchLSTM`, or any module holding
            them (a :class:`~lmkit.models.Bidirectional` LSTM, an LSTM ``RNNLM``): every layer
            and direction is set.
        value: the forget-gate bias, a finite number.
    """
    value = check_number(value, "value")
    if not isinstance(lstm, nn.Module):
        raise TypeError(f"lstm must be an nn.LSTM, nn.LSTMCell or ScratchLSTM, got "
                        f"{type(lstm).__name__}")
    found = [m for m in lstm.modules() if isinstance(m, (nn.LSTM, nn.LSTMCell, ScratchLSTM))]
    if not found:
        raise TypeError(f"{type(lstm).__name__} holds no LSTM (nn.LSTM, nn.LSTMCell or "
                        f"ScratchLSTM), so it has no forget gate to initialise")
    with torch.no_grad():
        for module in found:
            H = module.hidden_size
            biases = [(n, p) for n, p in module.named_parameters(recurse=False)
                      if n.startswith(("bias_ih", "bias_hh"))]
            if not biases:
                raise ValueError(f"{type(module).__name__} has no biases (bias=False); build it "
                                 f"with bias=True to initialise the forget gate")
            for name, p in biases:
                p[H:2 * H] = value if name.startswith("bias_ih") else 0.0
    return lstm
