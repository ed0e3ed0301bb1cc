"""Chapter 7's reference solutions agree with PyTorch's layers."""

import math

import torch
from torch import nn

from lmkit.exercises import ch07, registry


def test_lstm_params_reference_counts_nn_lstm():
    for D, H, L in registry()["ch07.lstm_params"].cases:
        lstm = nn.LSTM(D, H, L)
        assert ch07._lstm_params(D, H, L) == sum(p.numel() for p in lstm.parameters())


def test_gru_step_reference_is_nn_gru_cell():
    for x_t, h, W_ih, W_hh, b_ih, b_hh in registry()["ch07.gru_step"].cases:
        cell = nn.GRUCell(x_t.shape[1], h.shape[1]).double()
        with torch.no_grad():
            for p, v in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh),
                            (W_ih, W_hh, b_ih, b_hh), strict=True):
                p.copy_(v)
            expected = cell(x_t, h)
        assert torch.allclose(ch07._gru_step(x_t, h, W_ih, W_hh, b_ih, b_hh), expected,
                              atol=1e-12)


def test_forget_gate_reference_reproduces_nn_lstm_forget_gate():
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 4).double()
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    W, U, b = ch07._forget_gate(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    assert torch.allclose(torch.sigmoid(h @ W.T + x @ U.T + b),
                          torch.sigmoid(gates.chunk(4, dim=1)[1]), atol=1e-12)


def test_forget_bias_reference_keeps_the_fraction():
    for k, keep in registry()["ch07.forget_bias"].cases:
        b = ch07._forget_bias(k, keep)
        assert math.isclose((1 / (1 + math.exp(-b))) ** k, keep, rel_tol=1e-9)
