"""Self-checks for the exercises of chapter 2 (measuring motion).

* :func:`check_frechet_distance` -- ``fn(mu1, sigma1, mu2, sigma2) -> float``: the Fréchet distance between
  two Gaussians (the heart of FID).
* :func:`check_r_precision` -- ``fn(text_emb, motion_emb, top_k, batch_size) -> array (top_k,)``: text->motion
  retrieval hit rates within batches.
* :func:`check_mpjpe` -- ``fn(pred, gt) -> float``: pelvis-aligned mean per-joint position error.

Reference answers live in :mod:`motionlab.evaluation.metrics`; each check compares the reader's function
with them on hidden cases and, when it differs, recognises common slips to give a hint.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import linalg

from motionlab.evaluation import metrics as M
from motionlab.labs import call_answer, fail, passed


def _number(exercise: str, value) -> float:
    try:
        out = float(np.real(value)) if np.ndim(value) == 0 else float("nan")
    except (TypeError, ValueError):
        out = float("nan")
    if np.ndim(value) != 0:
        fail(exercise, f"expected a single number, got an array of shape {np.shape(value)}")
    if not np.isfinite(out):
        fail(exercise, f"expected a finite number, got {value!r}")
    return out


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def check_frechet_distance(fn: Callable) -> bool:
    """``fn(mu1, sigma1, mu2, sigma2)`` must return ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``."""
    name = "Fréchet distance"
    rng = np.random.default_rng(7)
    d = 6
    mu, s1, s2 = rng.normal(size=d), _spd(rng, d), _spd(rng, d)
    shift = rng.normal(size=d)
    cases = [
        ("two identical Gaussians", (mu, s1, mu.copy(), s1.copy())),
        ("equal covariances, shifted means", (mu, s1, mu + shift, s1.copy())),
        ("diagonal covariances", (mu, np.diag([1.0, 4, 9, 1, 2, 3]), mu + shift, np.diag([4.0, 1, 1, 1, 2, 12]))),
        ("general covariances", (mu, s1, mu + shift, s2)),
    ]
    for label, (m1, c1, m2, c2) in cases:
        want = M.frechet_distance(m1, c1, m2, c2)
        got = _number(name, call_answer(name, fn, m1.copy(), c1.copy(), m2.copy(), c2.copy()))
        if abs(got - want) <= 1e-4 * max(1.0, abs(want)):
            continue
        diff = m1 - m2
        tr = np.trace(c1) + np.trace(c2)
        sqrt_tr = np.trace(linalg.sqrtm(c1 @ c2).real)
        slips = [
            (diff @ diff, "the covariance term is missing: add Tr(S1 + S2 - 2 sqrtm(S1 S2))"),
            (tr - 2 * sqrt_tr, "the mean term |mu1 - mu2|^2 is missing"),
            (diff @ diff + tr - 2 * np.trace(c1 @ c2), "take the matrix square root of S1 S2 (scipy.linalg.sqrtm)"
                                                        " before the trace"),
            (diff @ diff + tr - 2 * np.sqrt(np.trace(c1 @ c2)), "the square root is of the matrix S1 S2, not of "
                                                               "its trace"),
            (np.sqrt(max(want, 0.0)), "FID is the squared distance: do not take a final square root"),
            (diff @ diff + tr - sqrt_tr, "the cross term is 2 Tr(sqrtm(S1 S2)), with a factor 2"),
        ]
        hint = next((h for v, h in slips if abs(got - v) <= 1e-4 * max(1.0, abs(v))),
                    "d^2 = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrtm(S1 @ S2)); drop a tiny imaginary part")
        fail(name, f"for {label} got {got:.6g}, expected {want:.6g}", hint)
    return passed(name)


def _retrieval_case(rng: np.random.Generator, n: int = 96, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Texts and motions that match imperfectly: R-precision well above chance, below 1."""
    text = rng.normal(size=(n, d))
    motion = text + rng.normal(size=(n, d)) * rng.uniform(0.3, 1.5, size=(n, 1))
    motion[::7] *= 3.0  # some long motion vectors: cosine and Euclidean rankings disagree
    return text, motion


def check_r_precision(fn: Callable) -> bool:
    """``fn(text_emb, motion_emb, top_k, batch_size)`` must return the top-1..top-k hit rates ``(top_k,)``:
    within consecutive batches, is motion i among the k nearest (Euclidean) motions of text i?"""
    name = "R-precision"
    rng = np.random.default_rng(11)
    text, motion = _retrieval_case(rng)
    for top_k, bs in ((3, 32), (2, 16)):
        want = M.r_precision(text, motion, top_k, bs)
        got = np.asarray(call_answer(name, fn, text.copy(), motion.copy(), top_k, bs), dtype=float)
        if got.shape != want.shape:
            fail(name, f"got shape {got.shape}, expected ({top_k},)", "return one hit rate per k = 1..top_k")
        if np.allclose(got, want, atol=1e-6):
            continue
        slips = [
            (M.r_precision(text, motion, top_k, None), "rank each text only against the motions of its own batch "
                                                       f"of {bs}, not the whole set"),
            (_cosine_r_precision(text, motion, top_k, bs), "rank by Euclidean distance, not cosine similarity"),
            (_exact_rank(text, motion, top_k, bs), "top-k counts a hit when the true motion is *within* the k "
                                                   "nearest (rank <= k), so the values never decrease with k"),
            (_motion_to_text(text, motion, top_k, bs), "rank the motions for each text (rows = texts), not the texts "
                                                       "for each motion"),
        ]
        hint = next((h for v, h in slips if np.allclose(got, v, atol=1e-6)),
                    "per batch: D = distances (texts x motions); hit@k for text i if fewer than k motions are nearer "
                    "than motion i; average over all texts")
        fail(name, f"with top_k={top_k}, batch_size={bs} got {np.round(got, 4).tolist()}, expected "
                   f"{np.round(want, 4).tolist()}", hint)
    return passed(name)


def _cosine_r_precision(text, motion, top_k, bs):
    t = text / np.linalg.norm(text, axis=1, keepdims=True)
    m = motion / np.linalg.norm(motion, axis=1, keepdims=True)
    n = (len(t) // bs) * bs
    hits = [M.retrieval_hits(-(t[s:s + bs] @ m[s:s + bs].T), top_k) for s in range(0, n, bs)]
    return np.concatenate(hits).mean(0)


def _exact_rank(text, motion, top_k, bs):
    cum = M.r_precision(text, motion, top_k, bs)
    return np.diff(np.concatenate([[0.0], cum]))


def _motion_to_text(text, motion, top_k, bs):
    return M.r_precision(motion, text, top_k, bs)


def check_mpjpe(fn: Callable) -> bool:
    """``fn(pred (T, J, 3), gt (T, J, 3))`` must return the mean per-joint error after subtracting each
    frame's pelvis (joint 0) from both."""
    name = "pelvis-aligned MPJPE"
    rng = np.random.default_rng(5)
    gt = rng.normal(size=(30, 22, 3))
    pred = gt + rng.normal(size=gt.shape) * 0.05
    moved = pred + np.array([1.0, 0.0, -2.0])  # the same pose, translated: alignment must remove it
    for label, p in (("a noisy copy", pred), ("a noisy copy, translated by (1, 0, -2)", moved)):
        want = M.mpjpe(p, gt)
        got = _number(name, call_answer(name, fn, p.copy(), gt.copy()))
        if abs(got - want) <= 1e-6 * max(1.0, want):
            continue
        slips = [
            (M.mpjpe(p, gt, root=None), "subtract the pelvis (joint 0) of each frame from every joint first"),
            (float(((p - p[:, :1]) - (gt - gt[:, :1])).__pow__(2).sum(-1).mean()),
             "average the Euclidean distances, not the squared distances"),
            (float(np.abs((p - p[:, :1]) - (gt - gt[:, :1])).mean()), "use the Euclidean norm over x, y, z per joint, "
                                                                     "not the mean absolute coordinate error"),
        ]
        hint = next((h for v, h in slips if abs(got - v) <= 1e-6 * max(1.0, abs(v))),
                    "error = mean over frames and joints of || (p_j - p_0) - (g_j - g_0) ||")
        fail(name, f"for {label} got {got:.6g}, expected {want:.6g}", hint)
    return passed(name)
