"""lmkit.models.rnn: the scratch RNN equals nn.RNN, the RNN LM trains, bad input is refused."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmkit import set_seed
from lmkit.batching import StreamBatches
from lmkit.models import RNNLM, RNNConfig, ScratchRNN
from lmkit.models.rnn import LAYERS
from lmkit.text import Vocab
from lmkit.train import fit, mean_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def pair(D, H, L=1, nonlinearity="tanh"):
    """An nn.RNN (float64) and a ScratchRNN holding a copy of its weights."""
    torch_rnn = nn.RNN(D, H, L, nonlinearity=nonlinearity, batch_first=True).double()
    return torch_rnn, ScratchRNN.from_torch(torch_rnn)


SHAPES = [  # B, T, D, H, L
    (1, 1, 1, 1, 1), (1, 7, 3, 5, 1), (4, 1, 6, 2, 1), (3, 9, 4, 8, 1), (2, 5, 3, 4, 2),
    (5, 3, 2, 6, 3),
]


@pytest.mark.parametrize(("B", "T", "D", "H", "L"), SHAPES)
@pytest.mark.parametrize("with_h0", [False, True])
def test_scratch_rnn_equals_torch_outputs_state_and_gradients(B, T, D, H, L, with_h0):
    set_seed(B * 100 + T)
    torch_rnn, scratch = pair(D, H, L)
    x = torch.randn(B, T, D, dtype=torch.double)
    h0 = torch.randn(L, B, H, dtype=torch.double) if with_h0 else None
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, hn1 = torch_rnn(x1, h0)
    out2, hn2 = scratch(x2, h0)
    assert out2.shape == (B, T, H) and hn2.shape == (L, B, H)
    assert torch.allclose(out1, out2, atol=1e-12) and torch.allclose(hn1, hn2, atol=1e-12)
    # gradients of a loss that uses every output and the final state
    w_out, w_h = torch.randn_like(out1), torch.randn_like(hn1)
    ((out1 * w_out).sum() + (hn1 * w_h).sum()).backward()
    ((out2 * w_out).sum() + (hn2 * w_h).sum()).backward()
    grads1 = dict(torch_rnn.named_parameters())
    for name, p in scratch.named_parameters():
        assert torch.allclose(p.grad, grads1[name].grad, atol=1e-10), name
    assert torch.allclose(x1.grad, x2.grad, atol=1e-10)


def test_scratch_rnn_is_the_written_out_recurrence():
    set_seed(1)
    rnn = ScratchRNN(3, 4).double()
    x = torch.randn(2, 5, 3, dtype=torch.double)
    W_xh, W_hh, b_xh, b_hh = rnn.layer_weights(0)
    h = torch.zeros(2, 4, dtype=torch.double)
    states = []
    for t in range(5):
        h = torch.tanh(W_xh @ x[:, t].T + b_xh[:, None] + W_hh @ h.T + b_hh[:, None]).T
        states.append(h)
    out, h_n = rnn(x)
    assert torch.allclose(out, torch.stack(states, 1)) and torch.allclose(h_n[0], h)


def test_relu_nonlinearity_matches_torch_and_differs_from_tanh():
    set_seed(2)
    torch_rnn, scratch = pair(3, 4, nonlinearity="relu")
    x = torch.randn(2, 6, 3, dtype=torch.double)
    assert torch.allclose(torch_rnn(x)[0], scratch(x)[0])
    assert (scratch(x)[0] >= 0).all()
    tanh = ScratchRNN(3, 4).double()
    tanh.load_state_dict(scratch.state_dict())
    assert not torch.allclose(tanh(x)[0], scratch(x)[0])


def test_weights_round_trip_both_ways_and_names_match_torch():
    set_seed(3)
    scratch = ScratchRNN(5, 6, num_layers=2)
    torch_rnn = scratch.to_torch()
    assert isinstance(torch_rnn, nn.RNN) and torch_rnn.batch_first
    assert [n for n, _ in scratch.named_parameters()] == [n for n, _ in
                                                          torch_rnn.named_parameters()]
    for (_, a), (_, b) in zip(scratch.named_parameters(), torch_rnn.named_parameters(),
                              strict=True):
        assert a.shape == b.shape and torch.equal(a, b) and a.data_ptr() != b.data_ptr()
    back = ScratchRNN.from_torch(torch_rnn)
    for a, b in zip(back.parameters(), scratch.parameters(), strict=True):
        assert torch.equal(a, b)
    x = torch.randn(3, 4, 5)
    assert torch.allclose(back(x)[0], torch_rnn(x)[0], atol=1e-6)


def test_initialisation_is_uniform_in_one_over_sqrt_h():
    set_seed(4)
    H = 64
    rnn = ScratchRNN(10, H)
    values = torch.cat([p.detach().reshape(-1) for p in rnn.parameters()])
    bound = 1 / math.sqrt(H)
    assert values.abs().max() <= bound and values.abs().max() > 0.95 * bound
    assert abs(float(values.mean())) < 0.01


@pytest.mark.parametrize(("call", "exc", "msg"), [
    (lambda r: r(torch.randn(5, 3)), ValueError, r"unsqueeze\(0\)"),
    (lambda r: r(torch.randn(2, 5, 4)), ValueError, r"\(B, T, 3\)"),
    (lambda r: r(torch.zeros(2, 0, 3)), ValueError, "at least one step"),
    (lambda r: r(torch.randint(0, 3, (2, 5, 3))), TypeError, "floating-point"),
    (lambda r: r(torch.randn(2, 5, 3), torch.zeros(1, 3, 4)), ValueError, r"\(1, 2, 4\)"),
    (lambda r: r(torch.randn(2, 5, 3), [0.0]), TypeError, "h0 must be a tensor"),
])
def test_scratch_rnn_rejects_bad_input(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(ScratchRNN(3, 4))


def test_scratch_rnn_rejects_bad_construction():
    with pytest.raises(ValueError, match="nonlinearity"):
        ScratchRNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be an int >= 1"):
        ScratchRNN(3, 0)
    with pytest.raises(ValueError, match="batch_first=False"):
        ScratchRNN.from_torch(nn.RNN(3, 4))
    with pytest.raises(TypeError, match="nn.RNN"):
        ScratchRNN.from_torch(nn.GRU(3, 4, batch_first=True))


# ------------------------------------------------------------------------------------------------
# RNNLM

V = 20


def lm(cell="rnn", **sizes):
    set_seed(0)
    return RNNLM(RNNConfig(vocab_size=V, embed_dim=sizes.pop("d", 8),
                           hidden_size=sizes.pop("H", 12), cell=cell, **sizes))


@pytest.mark.parametrize("L", [1, 2])
def test_scratch_and_torch_cells_give_the_same_logits_with_the_same_weights(L):
    torch_lm, scratch_lm = lm("rnn", num_layers=L), lm("scratch", num_layers=L)
    assert isinstance(scratch_lm.rnn, ScratchRNN) and isinstance(torch_lm.rnn, nn.RNN)
    scratch_lm.load_state_dict(torch_lm.state_dict())  # identical parameter names
    x = torch.randint(0, V, (3, 7))
    (l1, s1), (l2, s2) = torch_lm(x), scratch_lm(x)
    assert l1.shape == (3, 7, V) and s1.shape == (L, 3, 12)
    assert torch.allclose(l1, l2, atol=1e-5) and torch.allclose(s1, s2, atol=1e-5)
    # continuing from a state is the same as reading the whole sequence at once
    first, state = scratch_lm(x[:, :4])
    rest, _ = scratch_lm(x[:, 4:], state)
    assert torch.allclose(torch.cat([first, rest], 1), l2, atol=1e-5)


def test_forward_is_embedding_recurrence_and_output_layer():
    model = lm("scratch")
    x = torch.randint(0, V, (2, 5))
    e = model.embed.weight[x]                                   # (B, T, d)
    W_xh, W_hh, b_xh, b_hh = model.rnn.layer_weights(0)
    h, hs = torch.zeros(2, 12), []
    for t in range(5):
        h = torch.tanh(e[:, t] @ W_xh.T + b_xh + h @ W_hh.T + b_hh)
        hs.append(h)
    expected = torch.stack(hs, 1) @ model.output.weight.T + model.output.bias
    assert torch.allclose(model(x)[0], expected, atol=1e-6)


def test_parameter_count_does_not_depend_on_sequence_length():
    d, H = 8, 12
    model = lm("scratch", d=d, H=H)
    n = sum(p.numel() for p in model.parameters())
    assert n == V * d + (H * d + H * H + 2 * H) + (H * V + V)
    for T in (1, 50):
        assert model(torch.randint(0, V, (1, T)))[0].shape == (1, T, V)
    assert sum(p.numel() for p in model.parameters()) == n


def test_tied_weights_share_one_table():
    model = lm("rnn", d=12, H=12, tie_weights=True)
    assert model.output.weight is model.embed.weight
    untied = lm("rnn", d=12, H=12)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(untied) - count(model) == V * 12
    with pytest.raises(ValueError, match="embed_dim must equal hidden_size"):
        RNNConfig(V, embed_dim=8, hidden_size=12, tie_weights=True)


def test_token_logprobs_score_every_token_given_all_before_across_blocks():
    vocab = Vocab([chr(97 + i) for i in range(V - 1)], specials=["<unk>"])
    model = RNNLM(RNNConfig(V, embed_dim=12, hidden_size=12), vocab=vocab, start="a")
    text = [vocab.itos[int(i)] for i in torch.randint(0, V, (1200,))]   # > one scoring block
    lp = model.token_logprobs([text])                   # chunked, state carried
    assert lp.shape == (1200,)
    stream = torch.tensor([vocab["a"]] + vocab.encode(text))
    model.eval()
    with torch.no_grad():
        logits, _ = model(stream[None, :-1])
    expected = F.log_softmax(logits[0], -1).gather(1, stream[1:, None])[:, 0].double()
    assert torch.allclose(torch.from_numpy(lp), expected, atol=1e-5)
    assert model.perplexity([text]) == pytest.approx(math.exp(-float(expected.mean())), rel=1e-5)
    assert model.bits_per_char([text]) == pytest.approx(-float(expected.mean()) / math.log(2),
                                                        rel=1e-5)


def test_rnnlm_trains_with_fit_carrying_the_state():
    """In "a b a c a d a e a f …" what follows an "a" depends on the token before it, so a block
    that starts at an "a" can only be predicted from a state carried over from the last block."""
    set_seed(5)
    ids = torch.randperm(V)[:6]
    period = torch.stack([ids[0].repeat(5), ids[1:]], 1).reshape(-1)  # (10,) a b a c a d …
    stream = period.repeat(60)
    batches = StreamBatches(stream, batch_size=4, seq_len=5)
    assert batches.sequential
    model = lm("rnn", d=8, H=32)
    before = mean_loss(model, batches)
    history = fit(model, batches, epochs=6, lr=2e-2, progress=False)
    assert history.steps == 6 * len(batches) and history.stop_reason == "epochs"
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    after = mean_loss(model, batches)
    assert after < 0.05 * before and after < 0.1, (before, after)
    # without the carried state, blocks that start at an "a" lose their context
    no_carry = mean_loss(model, batches, carry_state=False)
    assert no_carry > after + 0.1, (after, no_carry)


def test_rnnlm_rejects_bad_input():
    model = lm("rnn")
    with pytest.raises(ValueError, match=r"unsqueeze\(0\)"):
        model(torch.randint(0, V, (5,)))
    with pytest.raises(ValueError, match=f"id {V}, outside"):
        model(torch.tensor([[1, V]]))
    with pytest.raises(ValueError, match="id -1, outside"):
        model(torch.tensor([[1, -1]]))
    with pytest.raises(TypeError, match="integer token ids"):
        model(torch.randn(2, 3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[1, 2]])
    x = torch.randint(0, V, (3, 4))
    with pytest.raises(ValueError, match=r"\(1, 3, 12\)"):
        model(x, torch.zeros(1, 2, 12))
    with pytest.raises(TypeError, match="state must be"):
        model(x, "state")
    with pytest.raises(TypeError, match="RNNConfig"):
        RNNLM(V)
    with pytest.raises(ValueError, match="unknown cell 'transformer'"):
        RNNConfig(V, cell="transformer")
    with pytest.raises(ValueError, match="dropout"):
        RNNConfig(V, dropout=1.0)
    with pytest.raises(TypeError, match="vocab_size must be an int"):
        RNNConfig(20.0)


def test_a_layer_of_ones_own_replaces_the_named_cell():
    gru = nn.GRU(12, 12, batch_first=True)
    model = RNNLM(RNNConfig(V, embed_dim=12, hidden_size=12), layer=gru)
    assert model.rnn is gru
    logits, state = model(torch.randint(0, V, (2, 3)))
    assert logits.shape == (2, 3, V) and state.shape == (1, 2, 12)
    with pytest.raises(TypeError, match="nn.Module"):
        RNNLM(RNNConfig(V), layer="gru")
    # a fixed mapping: nothing registers globally
    assert set(LAYERS) == {"scratch", "rnn", "scratch-lstm", "lstm", "scratch-gru", "gru"}
