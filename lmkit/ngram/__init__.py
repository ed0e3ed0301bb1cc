"""Counting n-gram language models: maximum likelihood, smoothing, backoff and Kneser–Ney.

Every model here estimates ``p(w | h)``, the probability of the next token ``w`` after the
``n - 1`` tokens ``h`` before it, from counts ``c(·)`` of a training corpus. They differ in what
they do about n-grams the corpus never showed (``M = len(model.vocab) - 1`` is the number of
tokens predicted, every id but ``<s>``; ``h'`` is ``h`` without its first token):

- :class:`MLE`: ``c(h w) / c(h ·)``, so 0 for every unseen n-gram;
- :class:`AddDelta`: ``(c(h w) + δ) / (c(h ·) + δ M)``; Laplace smoothing is ``δ = 1``;
- :class:`RecursiveSmoothing`: ``(c(h w) + ε_n p(w | h')) / (c(h ·) + ε_n)``, down to
  ``p(w) = (c(w) + ε_1 / M) / (N + ε_1)``;
- :class:`Interpolated`: ``λ_n c(h w) / c(h ·) + (1 - λ_n) p(w | h')``, the weights fitted by EM
  on held-out text;
- :class:`KneserNey`: ``(a(h w) - D(a)) / a(h ·) + γ(h) p(w | h')``, where the lower orders count
  *continuations* ``a``; one discount per order, or Chen & Goodman's three (the default);
- :class:`StupidBackoff`: ``c(h w) / c(h ·)`` if seen, else ``0.4 · S(w | h')``: a *score*, not
  a probability (it does not sum to 1), so it is not a language model.

All but the last are :class:`NgramModel` s, which follow the book's language-model contract
(:class:`lmkit.models.base.LanguageModel`: ``distribution``, ``prob``, ``token_logprobs``,
``perplexity``, ``generate`` …) and fit like scikit-learn's estimators::

    >>> corpus = [s.split() for s in ["i love you tons", "i love you 3000",
    ...                                "i am iron man", "you love me"]]
    >>> lm = MLE(2).fit(corpus)
    >>> lm.prob("you", ["love"])                     # c(love you) / c(love ·) = 2 / 3
    0.6666666666666666
    >>> lm.prob("i", [])                             # three of the four sentences start with i
    0.75
    >>> lm.count(["love", "you"])
    2
    >>> kn = KneserNey(2, modified=False).fit(corpus)
    >>> round(float(kn.distribution(["love"]).sum()), 12)   # over every id of kn.vocab
    1.0
    >>> KneserNey(3, min_count=2)
    KneserNey(3, min_count=2)

Conventions (those of SRILM and KenLM, so that perplexities compare with published ones):

- ``fit(sentences)`` takes a list of token lists. Each sentence is padded with ``<s>`` in front
  (``order - 1`` times: every token has a full context) and ``</s>`` at the end. A run of
  several ``<s>`` says no more than one, so the model stores it as one:
  ``p(w | <s> <s>) = p(w | <s>)``, and an n-gram never reaches back past ``<s>``.
- A context is the text so far, from its start: ``prob(w, [])`` is ``p(w | <s>)``, and only the
  last ``order - 1`` tokens of ``<s> context`` count (a leading ``"<s>"`` in a context is
  allowed and changes nothing).
- ``vocab`` is a :class:`~lmkit.text.Vocab` whose ids are the model's: ``<s>`` (0, never
  predicted), ``</s>``, ``<unk>``, then the training tokens seen at least ``min_freq`` times,
  most frequent first. Any other token is read as ``<unk>``; a corpus that already contains
  ``<unk>`` as a word (Penn Treebank) simply counts it.
- ``perplexity`` scores every token and one ``</s>`` per sentence, never ``<s>``.
- Options every model takes: ``min_freq`` (rarer training tokens become ``<unk>``),
  ``min_count`` (drop n-grams of order 2 and up seen fewer times, their probability mass going to
  the backoff, as SRILM's and KenLM's cut-offs do) and ``eos=False`` (no ``</s>``: the model
  predicts the words only, as in the lecture's unigram ``p(i) = 3/15``).

The package, one idea per module: :mod:`~lmkit.ngram.counts` (the sorted count tables),
:mod:`~lmkit.ngram.base` (the shared base and its one order-by-order recursion),
:mod:`~lmkit.ngram.smoothing`, :mod:`~lmkit.ngram.kneser_ney`, :mod:`~lmkit.ngram.backoff`
(the methods) and :mod:`~lmkit.ngram.arpa` (export). No Python loop runs per token, so a 5-gram
Kneser–Ney model of Penn Treebank (1M tokens) trains and scores its test set in about a second.
"""

from lmkit.models.base import BOS, EOS, UNK, NotFittedError
from lmkit.ngram.backoff import StupidBackoff
from lmkit.ngram.base import NgramBase, NgramModel
from lmkit.ngram.counts import NgramCounts
from lmkit.ngram.kneser_ney import KneserNey
from lmkit.ngram.smoothing import MLE, AddDelta, Interpolated, RecursiveSmoothing

__all__ = ["BOS", "EOS", "UNK", "MLE", "AddDelta", "Interpolated", "KneserNey", "NgramBase",
           "NgramCounts", "NgramModel", "NotFittedError", "RecursiveSmoothing", "StupidBackoff"]
