"""Baseline "generators" that need no training, for the protocol and the chapters.

* :func:`random_generator` -- Gaussian features with the dataset's per-channel mean and std (ignores the text).
* :func:`retrieval_generator` -- for each caption, the motion of a split whose captions share the most words
  with it (a copy machine: it never generates anything).

A generator is any callable ``fn(captions: list[str], lengths: np.ndarray | None) -> list of (T, D) raw
feature arrays``; ``lengths`` is None when the protocol lets the model choose.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from motionlab.errors import InputError
from motionlab.evaluation.evaluator import UNIT
from motionlab.runtime import rng as make_rng
from motionlab.text.vocab import caption_text

Generator = Callable[[list[str], "np.ndarray | None"], Sequence[np.ndarray]]


def random_generator(mean: np.ndarray, std: np.ndarray, seed: int = 0, default_length: int = 120) -> Generator:
    """A baseline that ignores the text: Gaussian features with the dataset's per-channel mean and std.

    Stateless: the noise is a function of ``seed`` and the call's captions and lengths, so a protocol run
    with the same seed gives the same numbers however often the generator was used before.
    """
    import hashlib

    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)

    def generate(captions: list[str], lengths: np.ndarray | None) -> list[np.ndarray]:
        lens = [default_length] * len(captions) if lengths is None else [int(x) for x in lengths]
        key = hashlib.sha256(repr((list(captions), lens)).encode()).hexdigest()[:16]
        g = make_rng(seed, "random-generator", key)
        return [(mean + std * g.standard_normal((length, mean.shape[0]))).astype(np.float32) for length in lens]

    return generate


def retrieval_generator(split: Any, chunk: int = 512) -> Generator:
    """A baseline that never generates: for each caption, a motion of ``split`` (usually the training split)
    whose captions share the most words with it (Jaccard overlap of word sets; ties: the first motion).

    Motions are cut to the requested length when lengths are given (never padded).  Vectorised over a
    bag-of-words matrix, and answers are cached per caption, so the 20-replication protocol stays cheap.
    """
    import re

    words_of = lambda text: set(re.findall(r"[a-z]+", str(text).lower()))  # noqa: E731
    bags = [set().union(*(words_of(caption_text(c)) for c in caps)) for caps in split.captions]
    if not bags:
        raise InputError("retrieval_generator needs a split with at least one motion")
    vocab = {w: i for i, w in enumerate(sorted(set().union(*bags)))}
    table = np.zeros((len(bags), len(vocab)), dtype=np.float32)  # (N, V) word presence
    for i, bag in enumerate(bags):
        table[i, [vocab[w] for w in bag]] = 1.0
    sizes = table.sum(1)  # (N,)
    features = list(split.features)
    cache: dict[str, int] = {}

    def best_match(captions: list[str]) -> list[int]:
        todo = [c for c in dict.fromkeys(captions) if c not in cache]
        for s in range(0, len(todo), chunk):
            part = todo[s:s + chunk]
            query = np.zeros((len(part), len(vocab)), dtype=np.float32)
            q_sizes = np.zeros(len(part), dtype=np.float32)
            for r, caption in enumerate(part):
                words = words_of(caption)
                q_sizes[r] = len(words)
                query[r, [vocab[w] for w in words if w in vocab]] = 1.0
            inter = query @ table.T  # (Q, N) shared words
            jaccard = inter / np.maximum(q_sizes[:, None] + sizes[None, :] - inter, 1.0)
            cache.update(zip(part, jaccard.argmax(1).tolist()))
        return [cache[c] for c in captions]

    def generate(captions: list[str], lengths: np.ndarray | None) -> list[np.ndarray]:
        picks = best_match(list(captions))
        if lengths is None:
            return [features[j] for j in picks]
        return [features[j][:max(UNIT, int(n))] for j, n in zip(picks, lengths)]

    return generate
