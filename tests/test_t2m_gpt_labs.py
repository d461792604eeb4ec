"""Chapter 5 exercises: the reference answers pass, typical wrong answers fail with a useful message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.generators.t2m_gpt import filter_top_k
from motionlab.generators.train_t2m_gpt import corrupt_tokens
from motionlab.labs import LabCheckFailed
from motionlab.labs.t2m_gpt import check_causal_mask, check_corruption, check_top_k, reference_causal_mask


def test_reference_answers_pass(capsys):
    assert check_corruption(corrupt_tokens)
    assert check_top_k(filter_top_k)
    assert check_causal_mask(reference_causal_mask)
    assert capsys.readouterr().out.count("passed") == 3


@pytest.mark.parametrize("wrong, message", [
    (lambda idx, tau, n, rng: np.where(rng.random(idx.shape) < 1 - tau, rng.integers(0, n, idx.shape), idx),
     "probability of REPLACING"),
    (lambda idx, tau, n, rng: np.where(rng.random(idx.shape) < tau, rng.integers(0, n + 2, idx.shape), idx),
     "outside the codebook"),
    (lambda idx, tau, n, rng: np.where(rng.random(idx.shape) < tau, 3, idx), "not uniform"),
    (lambda idx, tau, n, rng: np.where(rng.random((idx.shape[0], 1)) < tau, rng.integers(0, n, idx.shape), idx),
     "whole sequences"),
    (lambda idx, tau, n, rng: np.where(rng.random(idx.shape) < tau, rng.integers(0, n, idx.shape), idx)
     .astype(np.float32), "dtype"),
])
def test_wrong_corruptions_fail(wrong, message):
    with pytest.raises(LabCheckFailed, match=message):
        check_corruption(wrong)


def test_in_place_corruption_fails():
    def in_place(idx, tau, n, rng):
        hit = rng.random(idx.shape) < tau
        idx[hit] = rng.integers(0, n, int(hit.sum()))
        return idx

    with pytest.raises(LabCheckFailed, match="in place"):
        check_corruption(in_place)


def _global_threshold(logits, k):
    kth = torch.topk(logits.flatten(), k * logits.shape[0]).values[-1]
    return logits.masked_fill(logits < kth, float("-inf"))


@pytest.mark.parametrize("wrong, message", [
    (lambda logits, k: logits.masked_fill(logits < torch.topk(logits, k, -1).values[:, -1:], 0.0), "not -inf"),
    (lambda logits, k: logits.masked_fill(logits <= torch.topk(logits, k, -1).values[:, -1:], float("-inf")),
     "keeps"),
    (_global_threshold, "whole batch"),
    (lambda logits, k: torch.softmax(filter_top_k(logits, k), -1), "changed value"),
    (lambda logits, k: logits.masked_fill(logits > torch.topk(-logits, k, -1).values.neg()[:, -1:],
                                          float("-inf")), "k largest"),
])
def test_wrong_top_k_fail(wrong, message):
    with pytest.raises(LabCheckFailed, match=message):
        check_top_k(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda t: torch.ones(t, t, dtype=torch.bool).triu(), "transposed"),
    (lambda t: torch.ones(t, t, dtype=torch.bool).tril(-1), "attend to itself"),
    (lambda t: torch.ones(t, t).tril(), "dtype"),
    (lambda t: torch.ones(t, t, dtype=torch.bool), "differs"),
    (lambda t: torch.ones(t, t + 1, dtype=torch.bool).tril(), "shape"),
])
def test_wrong_causal_masks_fail(wrong, message):
    with pytest.raises(LabCheckFailed, match=message):
        check_causal_mask(wrong)


def test_a_crashing_answer_is_reported():
    with pytest.raises(LabCheckFailed, match="raised ZeroDivisionError"):
        check_top_k(lambda logits, k: 1 / 0)
