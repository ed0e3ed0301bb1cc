"""Chapter 9's reference solutions agree with lmkit's PaddedPairs, greedy decoding and BLEU."""

import math

import torch

from lmkit.batching import PaddedPairs
from lmkit.exercises import ch09, registry
from lmkit.metrics import corpus_bleu


def test_decoder_io_is_what_padded_pairs_yields():
    for targets, bos, eos, pad in registry()["ch09.decoder_io"].cases:
        batches = PaddedPairs([[5]] * len(targets), targets, len(targets), pad_id=pad,
                              bos_id=bos, eos_id=eos)
        (_, _, tgt_in), tgt_out = next(iter(batches))
        expected = ch09._decoder_io(targets, bos, eos, pad)
        assert torch.equal(tgt_in, expected[0]) and torch.equal(tgt_out, expected[1])


def test_clipped_matches_are_corpus_bleus_precisions():
    for hyp, refs, n in registry()["ch09.clipped_matches"].cases:
        matches, total = ch09._clipped_matches(hyp, refs, n)
        if total:
            score = corpus_bleu([hyp], [refs], max_n=n)
            assert math.isclose(score.precisions[n - 1], 100 * matches / total)


def test_brevity_penalty_is_corpus_bleus():
    for hyp_lengths, ref_lengths in registry()["ch09.brevity_penalty"].cases:
        hyps = [["a"] * n for n in hyp_lengths]
        refs = [[["b"] * n] for n in ref_lengths]
        assert math.isclose(corpus_bleu(hyps, refs).bp,
                            ch09._brevity_penalty(hyp_lengths, ref_lengths))
