"""The GRU of the lecture (Cho et al., 2014), beside PyTorch's variant (:mod:`lmkit.models.gated`).

The lecture's GRU applies the reset gate to the state *before* the recurrent matrix, and its
update gate ``u`` weighs the new candidate::

    r_t = σ(W_r h_{t-1} + U_r x_t + b_r)
    u_t = σ(W_u h_{t-1} + U_u x_t + b_u)
    h̃_t = tanh(W_h (r_t ⊙ h_{t-1}) + U_h x_t + b_h)
    h_t = (1 - u_t) ⊙ h_{t-1} + u_t ⊙ h̃_t

PyTorch's ``nn.GRU`` (and :class:`~lmkit.models.gated.ScratchGRU`) computes
``n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))`` and
``h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}``: ``z`` plays ``1 - u``, and the reset gate multiplies
``W_hn h_{t-1} + b_hn`` instead of ``h_{t-1}``. With the same weights
(:meth:`ChoGRUCell.from_torch`) the two functions differ unless ``r = 1``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lmkit._checks import check_int
from lmkit.models.gated import ScratchGRU

__all__ = ["ChoGRUCell"]


class ChoGRUCell(nn.Module):
    """One step of the GRU of the lecture (Cho et al., 2014), *not* PyTorch's variant.

    ``r = σ(W_r h + U_r x + b_r)``, ``u = σ(W_u h + U_u x + b_u)``,
    ``h̃ = tanh(W_h (r ⊙ h) + U_h x + b_h)``, ``h_t = (1 - u) ⊙ h + u ⊙ h̃``.

    Parameters in the lecture's names: ``W_r, W_u, W_h`` ``(H, H)`` act on the state,
    ``U_r, U_u, U_h`` ``(H, D)`` on the input, ``b_r, b_u, b_h`` ``(H,)``. Call it as a cell:
    ``cell(x_t (B, D), h (B, H) or None) -> h_t (B, H)``; :meth:`run` loops it over a sequence.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        D, H = check_int(input_size, "input_size", 1), check_int(hidden_size, "hidden_size", 1)
        self.input_size, self.hidden_size = D, H
        for gate in ("r", "u", "h"):
            self.register_parameter(f"W_{gate}", nn.Parameter(torch.empty(H, H)))
            self.register_parameter(f"U_{gate}", nn.Parameter(torch.empty(H, D)))
            self.register_parameter(f"b_{gate}", nn.Parameter(torch.empty(H)))
        bound = 1 / math.sqrt(H)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_t: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """The new state ``(B, H)`` from ``x_t`` ``(B, D)`` and ``h`` ``(B, H)`` (zeros if None)."""
        if not isinstance(x_t, torch.Tensor) or x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(f"x_t must be a tensor of shape (B, {self.input_size}) (one step; "
                             f"use run() for a sequence), got {getattr(x_t, 'shape', x_t)!r}")
        if h is None:
            h = x_t.new_zeros(x_t.shape[0], self.hidden_size)
        if not isinstance(h, torch.Tensor) or tuple(h.shape) != (x_t.shape[0], self.hidden_size):
            raise ValueError(f"h must be a tensor of shape {(x_t.shape[0], self.hidden_size)}, "
                             f"got {getattr(h, 'shape', type(h).__name__)}")
        r = torch.sigmoid(h @ self.W_r.T + x_t @ self.U_r.T + self.b_r)
        u = torch.sigmoid(h @ self.W_u.T + x_t @ self.U_u.T + self.b_u)
        h_tilde = torch.tanh((r * h) @ self.W_h.T + x_t @ self.U_h.T + self.b_h)
        return (1 - u) * h + u * h_tilde

    def run(self, x: torch.Tensor, h0: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
        """The cell over ``x`` ``(B, T, D)`` from ``h0`` ``(B, H)``: ``(outputs (B, T, H), h_T)``.

        ``h0=None`` starts from zeros.
        """
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"x must be a tensor of shape (B, T, {self.input_size}), got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        h, outputs = h0, []
        for t in range(x.shape[1]):
            h = self(x[:, t], h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h

    @classmethod
    def from_torch(cls, gru: nn.GRU | nn.GRUCell | ScratchGRU) -> ChoGRUCell:
        """The lecture's GRU with the weights of (the first layer of) a PyTorch GRU.

        The gates map one to one: ``r`` as is; ``u = 1 - z``, so ``u``'s weights and bias are
        minus ``z``'s (``σ(-a) = 1 - σ(a)``); ``U_h = W_in``, ``W_h = W_hn`` and
        ``b_h = b_in + b_hn``. What is left is the one real difference: where ``r`` is applied.
        The two agree when ``r = 1`` (and then ``b_hn`` may sit anywhere).
        """
        if isinstance(gru, nn.GRUCell):
            w_ih, w_hh, b_ih, b_hh = gru.weight_ih, gru.weight_hh, gru.bias_ih, gru.bias_hh
        elif isinstance(gru, (nn.GRU, ScratchGRU)):
            w_ih, w_hh = gru.weight_ih_l0, gru.weight_hh_l0
            b_ih, b_hh = gru.bias_ih_l0, gru.bias_hh_l0
        else:
            raise TypeError(f"gru must be an nn.GRU, nn.GRUCell or ScratchGRU, got "
                            f"{type(gru).__name__}")
        if b_ih is None or b_hh is None:
            raise ValueError("the GRU has no biases (bias=False); build it with bias=True")
        cell = cls(w_ih.shape[1], w_hh.shape[1]).to(w_ih)
        (Ur, Uz, Un), (Wr, Wz, Wn) = w_ih.detach().chunk(3), w_hh.detach().chunk(3)
        (bir, biz, bin_), (bhr, bhz, bhn) = b_ih.detach().chunk(3), b_hh.detach().chunk(3)
        with torch.no_grad():
            for name, value in (("W_r", Wr), ("U_r", Ur), ("b_r", bir + bhr),
                                ("W_u", -Wz), ("U_u", -Uz), ("b_u", -(biz + bhz)),
                                ("W_h", Wn), ("U_h", Un), ("b_h", bin_ + bhn)):
                getattr(cell, name).copy_(value)
        return cell

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"
