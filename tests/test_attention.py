"""Chapter 10's attention: the masked softmax, both scores against their formulas, the decoder
that attends, padding invariance, beam search over seq2seq models, align, and bad input."""

import math

import numpy as np
import pytest
import torch
from test_seq2seq import (
    SRC,
    TGT,
    assert_padding_changes_nothing,
    model,
    pairs,
    src_vocab,
    tgt_vocab,
)

from lmkit.batching import pad
from lmkit.models.attention import AdditiveAttention, DotAttention, masked_softmax
from lmkit.models.seq2seq import align, beam_translate, greedy, greedy_translate
from lmkit.train import fit

ATTENTION = ["additive", "dot"]


def test_the_slides_example():
    w = masked_softmax(torch.tensor([1.5, 0.9, 0.3, -0.5], dtype=torch.float64),
                       torch.ones(4, dtype=torch.bool))
    assert [round(x, 3) for x in w.tolist()] == [0.504, 0.276, 0.152, 0.068]


def test_masked_positions_get_exactly_zero_and_rows_sum_to_one():
    scores = torch.randn(3, 5, dtype=torch.float64) * 30
    mask = torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 1, 0, 1]], dtype=torch.bool)
    w = masked_softmax(scores, mask)
    assert (w[~mask] == 0).all() and (w[mask] > 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(3, dtype=torch.float64))
    # the same as a softmax over the real positions alone
    torch.testing.assert_close(w[2, mask[2]], torch.softmax(scores[2, mask[2]], -1))


def test_a_mask_that_hides_everything_and_a_mask_that_is_not_bool_are_errors():
    with pytest.raises(ValueError, match="hides every position"):
        masked_softmax(torch.zeros(2, 3), torch.tensor([[1, 0, 0], [0, 0, 0]], dtype=torch.bool))
    with pytest.raises(TypeError, match="bool"):
        masked_softmax(torch.zeros(2, 3), torch.ones(2, 3))


def test_additive_score_is_the_formula():
    torch.manual_seed(0)
    att = AdditiveAttention(query_size=3, key_size=4, hidden=5).double()
    q, k = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 6, 4, dtype=torch.float64)
    mask = torch.ones(2, 6, dtype=torch.bool)
    context, w = att(q, k, mask)
    Wq, Wk, b, v = att.query_proj.weight, att.key_proj.weight, att.key_proj.bias, att.v.weight[0]
    for i in range(2):
        e = torch.stack([v @ torch.tanh(Wq @ q[i] + Wk @ k[i, j] + b) for j in range(6)])
        torch.testing.assert_close(w[i], torch.softmax(e, 0))
        torch.testing.assert_close(context[i], (torch.softmax(e, 0)[:, None] * k[i]).sum(0))


def test_dot_score_is_the_scaled_bilinear_form_and_many_queries_equal_one_at_a_time():
    torch.manual_seed(0)
    att = DotAttention(query_size=3, key_size=4).double()
    q, k = torch.randn(2, 5, 3, dtype=torch.float64), torch.randn(2, 6, 4, dtype=torch.float64)
    mask = torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    context, w = att(q, k, mask)
    assert context.shape == (2, 5, 4) and w.shape == (2, 5, 6)
    e = (q @ att.query_proj.weight.T) @ k.transpose(1, 2) / 2.0     # √4 = 2
    torch.testing.assert_close(w, masked_softmax(e, mask[:, None]))
    for t in range(5):
        c1, w1 = att(q[:, t], k, mask)
        torch.testing.assert_close(c1, context[:, t])
        torch.testing.assert_close(w1, w[:, t])


def test_bad_shapes_are_named():
    att = DotAttention(3, 4)
    with pytest.raises(ValueError, match="keys must be"):
        att(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be"):
        att(torch.zeros(2, 3), torch.zeros(2, 5, 4), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="attention must be one of"):
        model(attention="bahdanau")


@pytest.mark.parametrize("attention", ATTENTION)
def test_padding_gets_weight_zero_and_every_step_sums_to_one(attention):
    m = model(attention=attention)
    src, n = pad([src_vocab.encode(["je", "suis", "."]), src_vocab.encode(SRC[1])], pad_id=1)
    tgt_in = torch.tensor([[tgt_vocab["<s>"], 5, 6], [tgt_vocab["<s>"], 7, 8]])
    logits, w = m(src, n, tgt_in, return_weights=True)
    assert w.shape == (2, 3, 4)
    assert (w[0, :, 3] == 0).all() and (w[0, :, :3] > 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, dtype=torch.float64))
    # a sentence alone gets the same weights and logits as in the padded batch
    alone_logits, alone_w = m(src[:1, :3], n[:1], tgt_in[:1], return_weights=True)
    torch.testing.assert_close(alone_w[0], w[0, :, :3])
    torch.testing.assert_close(alone_logits[0], logits[0])


@pytest.mark.parametrize("attention", ATTENTION)
def test_teacher_forced_steps_equal_the_decoder_run_step_by_step(attention):
    m = model(attention=attention)
    m.train()
    (src, n, tgt_in), _ = next(iter(pairs()))
    parallel = m(src, n, tgt_in)
    m.teacher_forcing = 1 - 1e-12                       # the step-by-step path, always "keep"
    torch.testing.assert_close(m(src, n, tgt_in), parallel)


def test_a_model_without_attention_has_no_weights_to_return():
    m = model()
    (src, n, tgt_in), _ = next(iter(pairs()))
    with pytest.raises(ValueError, match="no attention"):
        m(src, n, tgt_in, return_weights=True)
    with pytest.raises(TypeError, match="align needs"):
        align(m, SRC[0])


@pytest.mark.parametrize("attention", [None, *ATTENTION])
def test_a_beam_of_one_is_greedy_and_wider_beams_score_at_least_as_high_here(attention):
    m = model(attention=attention)
    fit(m, pairs(), max_steps=30, lr=0.02)
    hyps = greedy_translate(m, SRC, max_len=8)
    one, lp1 = beam_translate(m, SRC, beam_size=1, max_len=8, return_logprobs=True)
    assert one == hyps
    wide, lp5 = beam_translate(m, SRC, beam_size=5, max_len=8, return_logprobs=True)
    assert all(b >= a - 1e-9 for a, b in zip(lp1, lp5, strict=True))
    # the returned log-probability is the model's, computed by teacher forcing
    for source, target, lp in zip(SRC, wide, lp5, strict=True):
        src = torch.tensor([src_vocab.encode(source)])
        ids = tgt_vocab.encode(target)
        tgt_in = torch.tensor([[tgt_vocab["<s>"], *ids]])
        with torch.no_grad():
            m.eval()
            logp = m(src, torch.tensor([src.shape[1]]), tgt_in).log_softmax(-1)[0]
        gold = ids + [tgt_vocab["</s>"]]
        assert math.isclose(lp, float(sum(logp[i, t] for i, t in enumerate(gold))),
                            rel_tol=1e-9)


@pytest.mark.parametrize("attention", ATTENTION)
def test_align_rows_are_the_weights_of_each_output_token(attention):
    m = model(attention=attention)
    fit(m, pairs(), max_steps=30, lr=0.02)
    out, w = align(m, SRC[1], TGT[1])
    assert out == [*TGT[1], "</s>"] and w.shape == (len(TGT[1]) + 1, len(SRC[1]))
    np.testing.assert_allclose(w.sum(1), 1.0)
    own, _ = align(m, SRC[1])
    assert own[:-1] == greedy_translate(m, [SRC[1]], max_len=20)[0]


def test_bad_beam_translate_input():
    m = model(attention="additive")
    with pytest.raises(ValueError, match="beam_size"):
        beam_translate(m, SRC, beam_size=0)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_translate(m, SRC, length_penalty=-1.0)
    with pytest.raises(TypeError, match="list of str tokens"):
        beam_translate(m, ["je suis grand ."])
    with pytest.raises(ValueError, match="empty"):
        beam_translate(m, [])
    assert greedy(m, *pad([src_vocab.encode(SRC[0])], pad_id=1), max_len=3)


@pytest.mark.parametrize("attention", [None, *ATTENTION])
def test_source_grad_norms_are_the_gradients_of_each_output(attention):
    from lmkit.grad import source_grad_norms
    m = model(attention=attention)
    src, tgt = src_vocab.encode(SRC[0]), tgt_vocab.encode(TGT[0])
    norms = source_grad_norms(m, src, tgt)
    assert norms.shape == (len(tgt) + 1, len(src)) and (norms > 0).all()
    # entry [i, j] by finite differences on the embedding row of source token j
    i, j, eps = 1, 2, 1e-6
    emb = m.encoder.embeddings[0].weight

    def logp_i():
        with torch.no_grad():
            out = m(torch.tensor([src]), torch.tensor([len(src)]),
                    torch.tensor([[tgt_vocab["<s>"], *tgt]])).log_softmax(-1)
        return out[0, i, tgt[i]]

    grad = torch.zeros(emb.shape[1], dtype=torch.float64)
    for d in range(emb.shape[1]):
        with torch.no_grad():
            emb[src[j], d] += eps
        up = logp_i()
        with torch.no_grad():
            emb[src[j], d] -= 2 * eps
        down = logp_i()
        with torch.no_grad():
            emb[src[j], d] += eps
        grad[d] = (up - down) / (2 * eps)
    assert src.count(src[j]) == 1        # the row is that of this position only
    torch.testing.assert_close(norms[i, j], grad.norm(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("attention", [None, *ATTENTION])
def test_a_bidirectional_encoder_reads_each_sentence_as_if_alone(attention):
    m = model(attention=attention, bidirectional=True)
    assert_padding_changes_nothing(m)
    src, n = pad([src_vocab.encode(["je", "suis", "."]), src_vocab.encode(SRC[1])], pad_id=1)
    both = m.encode(src, n)                                    # (1, 2, n): the bridge's output
    alone = m.encode(src[:1, :3], n[:1])
    assert both.shape == (1, 2, 12)
    torch.testing.assert_close(both[:, 0], alone[:, 0])
    if attention is not None:
        proj = m.decoder.attention
        size = proj.key_proj.in_features if attention == "additive" else \
            proj.query_proj.out_features
        assert size == 2 * 12                                  # both directions' states
        out, w = align(m, SRC[1])
        assert w.shape[1] == len(SRC[1])
