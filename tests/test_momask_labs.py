"""The chapter 6/7 self-checks pass the reference answers and fail typical mistakes with a hint."""

from __future__ import annotations

import math

import pytest
import torch

from motionlab.labs import LabCheckFailed
from motionlab.labs import momask as lab
from motionlab.tokenizers.quantizers import nearest_code


def residual_ids(z, books):
    ids, r = [], z
    for book in books:
        k = nearest_code(r, book)
        ids.append(k)
        r = r - book[k]
    return torch.stack(ids, 1)


def test_references_pass():
    assert lab.check_residual_ids(residual_ids)
    assert lab.check_mask_count(lambda tau, n: max(1, round(math.cos(math.pi * tau / 2) * n)))
    assert lab.check_guidance(lambda c, u, s: (1 + s) * c - s * u)
    assert lab.check_token_span(lambda a, b, unit: (a // unit, -(-b // unit)))


@pytest.mark.parametrize("check, wrong, hint", [
    (lab.check_residual_ids, lambda z, books: torch.stack([nearest_code(z, b) for b in books], 1), "residual"),
    (lab.check_mask_count, lambda tau, n: round(math.cos(math.pi * tau / 2) * n), "at least one"),
    (lab.check_mask_count, lambda tau, n: max(1, round((1 - tau) * n)), "cos"),
    (lab.check_guidance, lambda c, u, s: u + s * (c - u), "guidance is off"),
    (lab.check_token_span, lambda a, b, unit: (a // unit, b // unit), "frame stop-1"),
])
def test_mistakes_fail_with_a_hint(check, wrong, hint):
    with pytest.raises(LabCheckFailed, match=r"(?s)Hint:.*" + hint.replace("(", r"\(").replace(")", r"\)")):
        check(wrong)
