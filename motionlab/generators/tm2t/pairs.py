"""Motion-token / caption pairs: what both TM2T models train on.

A motion is its code ids ``(T',)`` (tokenised once by the frozen tokenizer) plus its captions, encoded as word
ids by the :class:`~motionlab.generators.tm2t.vocab.CaptionVocabulary`.  :meth:`TokenCaptionPairs.sample`
draws one caption, a random window of ``max_codes`` when the motion is longer, and (with probability
``drop_prob``, 1/3 as the official dataset) drops the first or the last code.  ``__getitem__`` is the fixed
item a validation pass reads (first caption, first window, no drop).  :func:`collate_pairs` pads a batch:

    src / tokens  (B, S)  [start, c_1 .. c_n, end, pad ...]     src_len  (B,)  n + 2
    words         (B, L)  [sos, w_1 .. w_k, eos, pad ...]       word_len (B,)  k + 2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.tm2t.vocab import (
    MAX_WORDS,
    CaptionVocabulary,
    pack_motions,
    pack_words,
)

__all__ = ["PairBatches", "TokenCaptionPairs", "build_vocabulary", "collate_pairs"]


def build_vocabulary(captions: Sequence[Sequence[Any]], form: str = "raw", min_count: int = 1
                     ) -> CaptionVocabulary:
    """The caption vocabulary of a training split (``captions[i]``: the captions of motion i)."""
    return CaptionVocabulary.from_captions((c for caps in captions for c in caps), form, min_count)


class TokenCaptionPairs:
    """Code sequences with their encoded captions; ``n_codes`` and ``max_codes`` bound the ids and lengths."""

    def __init__(self, tokens: Sequence[np.ndarray], captions: Sequence[Sequence[Any]], vocab: CaptionVocabulary,
                 n_codes: int, max_codes: int, *, max_words: int = MAX_WORDS, drop_prob: float = 0.0):
        if len(tokens) != len(captions):
            raise InputError(f"{len(tokens)} token sequences but {len(captions)} caption lists")
        keep = [i for i, caps in enumerate(captions) if len(caps) and len(tokens[i])]
        if not keep:
            raise InputError("no motion with both tokens and captions to train on")
        self.tokens = [np.asarray(tokens[i], dtype=np.int64) for i in keep]
        self.words = [[vocab.encode(c, max_words) for c in captions[i]] for i in keep]
        self.raw = [list(captions[i]) for i in keep]  # the captions themselves (references for the metrics)
        self.n_codes, self.max_codes, self.drop_prob = int(n_codes), int(max_codes), float(drop_prob)
        for i, t in enumerate(self.tokens):
            if t.ndim != 1 or t.min() < 0 or t.max() >= self.n_codes:
                raise InputError(f"motion {i}: ids of shape {t.shape} in [{t.min()}, {t.max()}]: expected (T',) "
                                 f"codes in [0, {self.n_codes}) (one codebook)")

    def __len__(self) -> int:
        return len(self.tokens)

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        codes = self.tokens[index]
        if len(codes) > self.max_codes:  # a random window of the model's length
            start = int(rng.integers(0, len(codes) - self.max_codes + 1))
            codes = codes[start:start + self.max_codes]
        if len(codes) > 1 and rng.random() < self.drop_prob:  # official augmentation: drop the head or tail
            codes = codes[1:] if rng.random() < 0.5 else codes[:-1]
        caps = self.words[index]
        return {"codes": codes, "words": caps[int(rng.integers(0, len(caps)))]}

    def __getitem__(self, index: int) -> dict:
        return {"codes": self.tokens[index][: self.max_codes], "words": self.words[index][0]}


def collate_pairs(items: list[dict], n_codes: int) -> dict[str, torch.Tensor]:
    """Pad a list of items into the batch described in the module docstring."""
    src, src_len = pack_motions([it["codes"] for it in items], n_codes, max(len(it["codes"]) for it in items) + 2)
    words = pack_words([it["words"] for it in items])
    word_len = torch.as_tensor([len(it["words"]) for it in items])
    return {"src": src, "src_len": src_len, "words": words, "word_len": word_len}


class PairBatches:
    """``batch_fn(step)`` for the training loops: a function of ``(seed, step)`` only."""

    def __init__(self, dataset: TokenCaptionPairs, batch_size: int, seed: int = 0):
        from motionlab.training import RandomBatches

        self.dataset = dataset
        self.sampler = RandomBatches(dataset, batch_size, seed=seed,
                                     collate=lambda items: collate_pairs(items, dataset.n_codes))

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        return self.sampler(step)
