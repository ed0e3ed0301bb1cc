"""A bidirectional recurrent layer made of one-directional ones, equal to ``bidirectional=True``.

Layer ``l`` runs one recurrent layer left to right and another right to left over the same
inputs, and puts their hidden states side by side::

    →h_t = RNN→(x_t, →h_{t-1})          reads x_1 … x_t
    ←h_t = RNN←(x_t, ←h_{t+1})          reads x_T … x_t
    y_t  = [→h_t ; ←h_t]                (2H,)

Layer ``l + 1`` reads ``y_t`` (with dropout in between in training mode). Every ``y_t`` has seen
the *whole* sequence, which is what makes such a layer useful for tagging or encoding, and why it
cannot be a language model: the prediction of ``x_{t+1}`` would read ``x_{t+1}``.

:class:`Bidirectional` computes what ``nn.RNN``/``nn.GRU``/``nn.LSTM(..., bidirectional=True,
batch_first=True)`` compute, with final states in PyTorch's layout ``(L·2, B, H)`` (row
``2l`` forward, ``2l + 1`` backward), and copies weights to and from them
(:meth:`Bidirectional.from_torch`, :meth:`Bidirectional.to_torch`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lmkit._checks import check_int, check_probability, check_sequence
from lmkit.models.gated import ScratchGRU, ScratchLSTM
from lmkit.models.rnn import ScratchRNN

__all__ = ["Bidirectional"]

State = torch.Tensor | tuple[torch.Tensor, ...]

_SCRATCH = {nn.RNN: ScratchRNN, nn.GRU: ScratchGRU, nn.LSTM: ScratchLSTM}
_TORCH = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN_TANH": nn.RNN, "RNN_RELU": nn.RNN}


class Bidirectional(nn.Module):
    """Two one-directional recurrent layers per level, one reading each way; outputs ``(B, T, 2H)``.

    Args:
        cell: makes one direction of one layer, ``cell(input_size, hidden_size, **kwargs)``: a
            one-layer batch-first module called as ``(x, state) -> (outputs, state)``, e.g.
            :class:`~lmkit.models.ScratchRNN`, :class:`~lmkit.models.ScratchLSTM`,
            :class:`~lmkit.models.ScratchGRU` or ``lambda d, h: nn.LSTM(d, h, batch_first=True)``.
        input_size: ``D``.
        hidden_size: ``H`` of each direction.
        num_layers: ``L``; layer ``l > 0`` reads the ``2H`` outputs of layer ``l - 1``.
        dropout: dropout on the outputs of every layer but the last (training mode only).
        **kwargs: passed to ``cell`` (e.g. ``nonlinearity="relu"``).

    Call it on ``x`` ``(B, T, D)`` and a state or ``None`` (zeros) to get ``(outputs, state)``:
    ``(B, T, 2H)`` and the final states, ``(2L, B, H)`` (a pair of them for an LSTM), laid out
    as in PyTorch: row ``2l`` is layer ``l`` forward (its state after ``x_T``), row ``2l + 1``
    layer ``l`` backward (its state after ``x_1``).
    """

    bidirectional = True

    def __init__(self, cell: Callable[..., nn.Module], input_size: int, hidden_size: int,
                 num_layers: int = 1, dropout: float = 0.0, **kwargs: Any) -> None:
        super().__init__()
        if not callable(cell):
            raise TypeError(f"cell must be a layer class or factory such as ScratchLSTM, got "
                            f"{type(cell).__name__}")
        self.input_size = check_int(input_size, "input_size", 1)
        self.hidden_size = check_int(hidden_size, "hidden_size", 1)
        self.num_layers = check_int(num_layers, "num_layers", 1)
        self.dropout = check_probability(dropout, "dropout", below_one=True)
        self.forward_layers, self.backward_layers = nn.ModuleList(), nn.ModuleList()
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else 2 * hidden_size
            for stack in (self.forward_layers, self.backward_layers):
                module = cell(d_in, hidden_size, **kwargs)
                if not isinstance(module, nn.Module):
                    raise TypeError(f"cell(...) must return an nn.Module, got "
                                    f"{type(module).__name__}")
                if getattr(module, "num_layers", 1) != 1:
                    raise ValueError("cell must make one-layer modules; the layers are stacked "
                                     "here (num_layers=...)")
                stack.append(module)
        #: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"`` as in ``torch.nn.RNNBase``
        #: (``None`` for a layer of unknown kind).
        self.mode: str | None = getattr(self.forward_layers[0], "mode", None)

    def _check_state(self, state: Any, batch_size: int) -> None:
        expected = (2 * self.num_layers, batch_size, self.hidden_size)
        if self.mode == "LSTM" and not isinstance(state, tuple):
            raise TypeError(f"an LSTM's state is a pair (h, c) of tensors of shape (2 * "
                            f"num_layers, B, hidden_size) = {expected}, got "
                            f"{type(state).__name__}")
        if self.mode is not None and self.mode != "LSTM" and isinstance(state, tuple):
            raise TypeError(f"a {self.mode} layer's state is one tensor of shape {expected}, "
                            f"got a tuple; a pair (h, c) is an LSTM's state")
        for part in state if isinstance(state, tuple) else (state,):
            if not isinstance(part, torch.Tensor):
                raise TypeError(f"state must be a tensor (a pair of them for an LSTM), got "
                                f"{type(part).__name__}")
            if tuple(part.shape) != expected:
                raise ValueError(f"a bidirectional state has shape (2 * num_layers, B, "
                                 f"hidden_size) = {expected}, got {tuple(part.shape)}; pass "
                                 f"the state the previous call returned, or None for zeros")

    def forward(self, x: torch.Tensor, state: State | None = None
                ) -> tuple[torch.Tensor, State]:
        """Both directions of every layer over ``x`` ``(B, T, D)``.

        Returns:
            ``(outputs, state)``: ``(B, T, 2H)`` (forward half first) and ``(2L, B, H)`` final
            states (a tuple of them for an LSTM).
        """
        check_sequence(x, self.input_size)
        if state is not None:
            self._check_state(state, x.shape[0])

        def rows(k: int) -> State | None:   # the state of one direction of one layer, (1, B, H)
            if state is None:
                return None
            return tuple(s[k:k + 1] for s in state) if isinstance(state, tuple) else state[k:k + 1]

        layer_input, finals = x, []
        for layer in range(self.num_layers):
            forward_layer, backward_layer = self.forward_layers[layer], self.backward_layers[layer]
            out_f, state_f = forward_layer(layer_input, rows(2 * layer))            # (B, T, H)
            out_b, state_b = backward_layer(layer_input.flip(1), rows(2 * layer + 1))
            layer_input = torch.cat([out_f, out_b.flip(1)], dim=2)                 # (B, T, 2H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
            finals += [state_f, state_b]
        if isinstance(finals[0], tuple):
            return layer_input, tuple(torch.cat(parts) for parts in zip(*finals, strict=True))
        return layer_input, torch.cat(finals)                                      # (2L, B, H)

    # -- copies to and from PyTorch --------------------------------------------------------------

    @staticmethod
    def _torch_name(name: str) -> str:
        """PyTorch's name: ``forward_layers.1.weight_ih_l0`` → ``weight_ih_l1`` (+ ``_reverse``)."""
        match = re.fullmatch(r"(forward|backward)_layers\.(\d+)\.(\w+)_l0", name)
        if match is None:
            raise ValueError(f"the parameter {name!r} has no counterpart in PyTorch's layers")
        direction, layer, base = match.groups()
        return f"{base}_l{layer}" + ("_reverse" if direction == "backward" else "")

    @classmethod
    def from_torch(cls, rnn: nn.RNNBase) -> Bidirectional:
        """Scratch layers with a copy of the weights of a bidirectional batch-first torch layer."""
        if not isinstance(rnn, (nn.RNN, nn.GRU, nn.LSTM)):
            raise TypeError(f"rnn must be an nn.RNN, nn.GRU or nn.LSTM, got "
                            f"{type(rnn).__name__}")
        unsupported = [name for name, bad in (("batch_first=False", not rnn.batch_first),
                                              ("bias=False", not rnn.bias),
                                              ("bidirectional=False", not rnn.bidirectional),
                                              ("proj_size", getattr(rnn, "proj_size", 0)))
                       if bad]
        if unsupported:
            raise ValueError(f"Bidirectional copies a layer built with bidirectional=True, "
                             f"batch_first=True, biases and no projection; this one has "
                             f"{', '.join(unsupported)}")
        kwargs = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
        layer = cls(_SCRATCH[type(rnn)], rnn.input_size, rnn.hidden_size, rnn.num_layers,
                    rnn.dropout, **kwargs)
        weights = rnn.state_dict()
        layer.load_state_dict({name: weights[cls._torch_name(name)]
                               for name in layer.state_dict()})
        return layer.to(next(rnn.parameters()))

    def to_torch(self) -> nn.RNNBase:
        """An ``nn.RNN``/``nn.GRU``/``nn.LSTM(..., bidirectional=True, batch_first=True)`` copy."""
        if self.mode not in _TORCH:
            raise ValueError(f"to_torch needs layers of a kind PyTorch has (mode 'LSTM', 'GRU', "
                             f"'RNN_TANH' or 'RNN_RELU'), got mode {self.mode!r}")
        kwargs = ({"nonlinearity": self.mode[4:].lower()} if self.mode.startswith("RNN")
                  else {})
        rnn = _TORCH[self.mode](self.input_size, self.hidden_size, self.num_layers,
                                dropout=self.dropout, batch_first=True, bidirectional=True,
                                **kwargs)
        rnn.load_state_dict({self._torch_name(name): value
                             for name, value in self.state_dict().items()})
        return rnn.to(next(self.parameters()))

    def extra_repr(self) -> str:
        extra = f", num_layers={self.num_layers}" if self.num_layers > 1 else ""
        extra += f", dropout={self.dropout}" if self.dropout else ""
        return f"{self.input_size}, {self.hidden_size}{extra}, mode={self.mode!r}"
