"""Chapter 2 exercise self-checks: the package's answers pass, common slips get a specific hint."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from motionlab.evaluation import metrics as M
from motionlab.labs import LabCheckFailed
from motionlab.labs import measuring as L


def test_reference_answers_pass(capsys):
    assert L.check_frechet_distance(M.frechet_distance)
    assert L.check_r_precision(M.r_precision)
    assert L.check_mpjpe(M.mpjpe)
    assert capsys.readouterr().out.count("passed") == 3


@pytest.mark.parametrize("answer, message", [
    (lambda m1, s1, m2, s2: float((m1 - m2) @ (m1 - m2)), "covariance term is missing"),
    (lambda m1, s1, m2, s2: float(np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)),
     "mean term"),
    (lambda m1, s1, m2, s2: float((m1 - m2) @ (m1 - m2) + np.trace(s1 + s2) - 2 * np.trace(s1 @ s2)),
     "matrix square root"),
    (lambda m1, s1, m2, s2: float(np.sqrt(max(M.frechet_distance(m1, s1, m2, s2), 0))), "do not take a final"),
    (lambda m1, s1, m2, s2: float((m1 - m2) @ (m1 - m2) + np.trace(s1 + s2) - np.trace(linalg.sqrtm(s1 @ s2).real)),
     "factor 2"),
    (lambda m1, s1, m2, s2: np.zeros(3), "single number"),
    (lambda m1, s1, m2, s2: 1 / 0, "ZeroDivisionError"),
])
def test_frechet_wrong_answers(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        L.check_frechet_distance(answer)


def _no_batches(t, m, k, bs):
    return M.r_precision(t, m, k, None)


def _cosine(t, m, k, bs):
    return L._cosine_r_precision(t, m, k, bs)


@pytest.mark.parametrize("answer, message", [
    (_no_batches, "its own batch"),
    (_cosine, "Euclidean"),
    (lambda t, m, k, bs: L._exact_rank(t, m, k, bs), "never decrease"),
    (lambda t, m, k, bs: M.r_precision(m, t, k, bs), "rows = texts"),
    (lambda t, m, k, bs: M.r_precision(t, m, k, bs)[:1], "shape"),
    (lambda t, m, k, bs: M.r_precision(t, m, k, bs) * 0.9, "per batch"),
])
def test_r_precision_wrong_answers(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        L.check_r_precision(answer)


@pytest.mark.parametrize("answer, message", [
    (lambda p, g: M.mpjpe(p, g, root=None), "subtract the pelvis"),
    (lambda p, g: float((((p - p[:, :1]) - (g - g[:, :1])) ** 2).sum(-1).mean()), "squared"),
    (lambda p, g: float(np.abs((p - p[:, :1]) - (g - g[:, :1])).mean()), "Euclidean norm"),
    (lambda p, g: M.mpjpe(p, g) * 2, r"\|\| \(p_j - p_0\)"),
])
def test_mpjpe_wrong_answers(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        L.check_mpjpe(answer)
