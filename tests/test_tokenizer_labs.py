"""Exercise self-checks of chapters 3-4: right answers pass, wrong ones get a helpful message."""

from __future__ import annotations

import pytest
import torch

from motionlab.labs import LabCheckFailed
from motionlab.labs import tokens
from motionlab.tokenizers.quantizers import ema_codebook_step, straight_through


def test_reference_answers_pass(capsys):
    assert tokens.check_straight_through(straight_through)
    assert tokens.check_nearest_code(lambda z, e: ((z[:, None] - e[None]) ** 2).sum(-1).argmin(1))
    assert tokens.check_perplexity(
        lambda ids, k: float(torch.exp(-(lambda p: (p[p > 0] * p[p > 0].log()).sum())(
            torch.bincount(ids, minlength=k).float() / ids.numel()))))
    assert tokens.check_ema_update(lambda n, m, z, ids, mu: ema_codebook_step(n, m, z, ids, mu))
    assert capsys.readouterr().out.count("passed") == 4


@pytest.mark.parametrize("answer, message", [
    (lambda z, q: q, "none reaches z"),  # returns the codes: the encoder gets nothing
    (lambda z, q: z, "forward value"),  # returns the latents: the decoder never sees codes
    (lambda z, q: z + (q - z), "codebook"),  # forgot the stop-gradient
    (lambda z, q: z + (q - z) + 0 * q, "codebook"),
    (lambda z, q: z + (q - z).detach() + 0.1 * (q - q.detach()), "also flows into"),
    (lambda z, q: (z + (q - z)).detach(), "no gradient at all"),
    (lambda z, q: 1 / 0, "ZeroDivisionError"),
    (lambda z, q: q.numpy(), "torch.Tensor|raised"),
])
def test_straight_through_wrong_answers(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        tokens.check_straight_through(answer)


def test_nearest_code_wrong_answers():
    with pytest.raises(LabCheckFailed, match="smallest distance"):
        tokens.check_nearest_code(lambda z, e: (z @ e.t()).argmax(1))  # largest dot product
    with pytest.raises(LabCheckFailed, match="shape"):
        tokens.check_nearest_code(lambda z, e: ((z[:, None] - e[None]) ** 2).sum(-1).argmin(0))


def test_perplexity_wrong_answers():
    def entropy(ids, k):
        p = torch.bincount(ids, minlength=k).float() / ids.numel()
        return float(-(p[p > 0] * p[p > 0].log()).sum())

    with pytest.raises(LabCheckFailed, match="exp of the entropy"):
        tokens.check_perplexity(entropy)
    with pytest.raises(LabCheckFailed, match="0 \\* log 0"):
        tokens.check_perplexity(lambda ids, k: float(torch.exp(-(lambda p: (p * p.log()).sum())(
            torch.bincount(ids, minlength=k).float() / ids.numel()))))
    with pytest.raises(LabCheckFailed, match="probabilities"):
        tokens.check_perplexity(lambda ids, k: float(torch.exp(-(lambda c: (c[c > 0] * c[c > 0].log()).sum())(
            torch.bincount(ids, minlength=k).float()))))


def test_ema_update_wrong_answers():
    def swapped(n, m, z, ids, mu):  # decay on the wrong side
        return ema_codebook_step(n, m, z, ids, 1 - mu)

    def undivided(n, m, z, ids, mu):
        size, total, _ = ema_codebook_step(n, m, z, ids, mu)
        return size, total, total

    with pytest.raises(LabCheckFailed, match="(?s)cluster_size differs.*which side"):
        tokens.check_ema_update(swapped)
    with pytest.raises(LabCheckFailed, match="(?s)codebook differs.*divide"):
        tokens.check_ema_update(undivided)
    with pytest.raises(LabCheckFailed, match="tuple"):
        tokens.check_ema_update(lambda n, m, z, ids, mu: n)
