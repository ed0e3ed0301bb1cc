"""Chapter 11's reference solutions agree with lmkit's receptive field and self-attention LM and
with PyTorch's FLOP counter, and the hidden cases are the hard ones they claim to be."""

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from lmkit.exercises import ch11, registry
from lmkit.models import SelfAttentionConfig, SelfAttentionLM
from lmkit.models.conv import receptive_field

pytestmark = pytest.mark.usefixtures("one_thread")


# -- layers for a receptive field ---------------------------------------------------------------

def doubling(layers):
    return [2**i for i in range(layers)]


def test_layers_needed_is_the_fewest_whose_receptive_field_covers_the_context():
    for kernel_size, context in registry()["ch11.layers_needed"].cases:
        layers = ch11._layers_needed(kernel_size, context)
        assert receptive_field(kernel_size, doubling(layers)) >= context
        if layers:
            assert receptive_field(kernel_size, doubling(layers - 1)) < context


def test_layers_needed_cases_sit_on_and_just_past_receptive_fields():
    cases = registry()["ch11.layers_needed"].cases
    assert {2, 3, 5} <= {k for k, _ in cases} and (2, 1) in cases and (3, 1) in cases
    for kernel_size in (2, 3, 5):
        contexts = {c for k, c in cases if k == kernel_size}
        fields = {receptive_field(kernel_size, doubling(L)) for L in range(21)}
        exact = contexts & fields
        assert len(exact) >= 3 and sum(c + 1 in contexts for c in exact) >= 2
        assert any(c & (c - 1) == 0 and c > 2 for c in contexts)        # a power of two


# -- one head of causal attention ---------------------------------------------------------------

def attention_of_the_lm(q_weight, k_weight, v_weight, x):
    """What lmkit's SelfAttentionLM attends with: x as the embeddings of ids 0 … T - 1, no
    distance bias; returns (weights @ values, weights over the block)."""
    T, d = x.shape
    m = SelfAttentionLM(SelfAttentionConfig(vocab_size=T, embed_dim=d, context=T + 2,
                                            mlp=0)).double().eval()
    mixed = []
    m.mix.register_forward_hook(lambda module, inputs, output: mixed.append(inputs[0]))
    with torch.no_grad():
        m.embedding.weight.copy_(x)
        m.query.weight.copy_(q_weight)
        m.key.weight.copy_(k_weight)
        m.value.weight.copy_(v_weight)
        _, _, weights = m(torch.arange(T)[None], return_weights=True)
    assert (weights[0, :, :T + 1] == 0).all()                # the empty state gets no weight
    return mixed[0][0], weights[0, :, T + 1:]


@pytest.mark.parametrize(("T", "d"), [(1, 3), (5, 4), (8, 6)])
def test_causal_attention_is_lmkits_self_attention(T, d):
    g = torch.Generator().manual_seed(T)
    x, Wq, Wk, Wv = (torch.randn(*shape, generator=g, dtype=torch.float64)
                     for shape in [(T, d), (d, d), (d, d), (d, d)])
    output, weights = ch11._causal_attention(x @ Wq.T, x @ Wk.T, x @ Wv.T)
    expected_output, expected_weights = attention_of_the_lm(Wq, Wk, Wv, x)
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(output, expected_output)


def test_causal_attention_weights_are_causal_rows_and_the_cases_overflow_a_plain_exp():
    cases = registry()["ch11.causal_attention"].cases
    for q, k, v in cases:
        output, weights = ch11._causal_attention(q, k, v)
        assert output.shape == q.shape and weights.shape == (len(q), len(q))
        assert (weights.triu(diagonal=1) == 0).all()
        torch.testing.assert_close(weights.sum(-1), torch.ones(len(q), dtype=q.dtype))
    assert any(q.shape[1] == 1 for q, _, _ in cases) and any(len(q) == 1 for q, _, _ in cases)
    assert any(not ch11._plain_exp(q, k, v)[1].isfinite().all() for q, k, v in cases)


def test_a_tiny_leak_to_the_future_passes_the_tolerance_but_not_the_checker():
    leaky = ch11._attention_with(ch11._scaled, mask_value=-100.0)
    q, k, v = registry()["ch11.causal_attention"].cases[1]
    expected = ch11._causal_attention(q, k, v)
    assert ch11.close(leaky(q, k, v), expected)
    assert not ch11._exactly_causal(leaky(q, k, v), expected)
    as_lists = tuple(t.tolist() for t in expected)
    assert ch11._exactly_causal(as_lists, expected)


# -- the output layer's share -------------------------------------------------------------------

def counted_share(vocab_size, embed_dim, hidden_size):
    """The output layer's share of the FLOPs PyTorch counts for one LSTM step and one output
    (on the meta device: shapes only, nothing allocated)."""
    cell = torch.nn.LSTMCell(embed_dim, hidden_size, bias=False, device="meta")
    out = torch.nn.Linear(hidden_size, vocab_size, bias=False, device="meta")
    flops = []
    with torch.no_grad():
        for step in (lambda: cell(torch.zeros(1, embed_dim, device="meta")),
                     lambda: out(torch.zeros(1, hidden_size, device="meta"))):
            with FlopCounterMode(display=False) as counter:
                step()
            flops.append(counter.get_total_flops())
    return flops[1] / sum(flops)


def test_output_share_is_the_share_of_the_counted_flops():
    for case in registry()["ch11.output_share"].cases:
        assert math.isclose(ch11._output_share(*case), counted_share(*case))


def test_output_share_of_the_solutions_two_examples():
    assert ch11._output_share(10_000, 200, 200) == 2_000_000 / 2_320_000
    assert abs(ch11._output_share(10_000, 200, 200) - 0.862) < 0.0005
    assert abs(ch11._output_share(65, 32, 128) - 0.092) < 0.0005  # characters: the cell's


# -- reading the leaderboard --------------------------------------------------------------------

def test_leaderboard_tables_are_well_formed():
    for rows in (ch11._PTB, ch11._WINDOW, ch11._NEURAL):
        names = [row["name"] for row in rows]
        assert len(set(names)) == len(names)
        for row in rows:
            assert set(row) == {"name", "perplexity", "seconds", "params"}
            mixture = "+" in row["name"]
            assert (row["seconds"] is None) == (row["params"] is None) == mixture
            if mixture:
                parts = row["name"].split(" + ")
                assert len(parts) == 2 and set(parts) <= set(names)
                assert row["perplexity"] < min(r["perplexity"] for r in rows if r["name"] in parts)
            else:
                assert 1 <= row["seconds"] <= 600 and row["params"] > 0


def test_choose_model_answers_cover_every_rule():
    answers = [ch11._choose_model(*case) for case in registry()["ch11.choose_model"].cases]
    assert None in answers and "LSTM + KN5" in answers and "window + KN3" in answers
    assert "GRU" in answers                                  # the tie, to the smaller model
    assert ch11._choose_model(ch11._PTB, 479.0) == "LSTM + KN5"   # 475 + 4 s, on budget
    assert ch11._choose_model(ch11._PTB, 478.5) == "KN5"


def test_choose_model_ties_only_where_intended():
    """Among the rows that fit, no two share perplexity and size (the answer is unique), and
    perplexity alone ties in exactly the cases that test the tie rule."""
    by_perplexity = 0
    for rows, budget, *limit in registry()["ch11.choose_model"].cases:
        max_params = limit[0] if limit else None
        costs = {}
        for row in rows:
            parts = [r for r in rows if r["name"] in row["name"].split(" + ")]
            costs[row["name"]] = (sum(p["seconds"] for p in parts),
                                  sum(p["params"] for p in parts))
        fits = [(row["perplexity"], costs[row["name"]][1]) for row in rows
                if costs[row["name"]][0] <= budget
                and (max_params is None or costs[row["name"]][1] <= max_params)]
        assert len(set(fits)) == len(fits)
        best = min(fits, default=(None, None))[0]
        by_perplexity += [p for p, _ in fits].count(best) > 1
    assert by_perplexity >= 2
