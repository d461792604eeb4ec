"""Self-checks for the exercises of chapters 3 and 4 (motion tokens and codebook collapse).

* :func:`check_straight_through` -- ``fn(z, quantized) -> out``: forward value of the code, gradient of z.
* :func:`check_nearest_code` -- ``fn(z (N, D), codebook (K, D)) -> ids (N,)``.
* :func:`check_perplexity` -- ``fn(ids, n_codes) -> float``: ``exp`` of the entropy of the code histogram.
* :func:`check_ema_update` -- ``fn(cluster_size, embed_sum, z, ids, decay) -> (cluster_size, embed_sum,
  codebook)``: one EMA codebook step.

Reference answers live in the package (:mod:`motionlab.tokenizers.quantizers`), so the chapters can show the
checks passing; the readers' versions are compared with them on hidden cases.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from motionlab.labs import call_answer, expect_close, fail, passed
from motionlab.tokenizers.quantizers import ema_codebook_step, perplexity_from_counts


def _as_tensor(exercise: str, what: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        fail(exercise, f"{what} must be a torch.Tensor, got {type(value).__name__}",
             "build the result from torch operations on the inputs")
    return value


def check_straight_through(fn: Callable) -> bool:
    """``fn(z, quantized)`` must return the quantized values while sending gradients straight to ``z``.

    Checked: the forward value equals ``quantized``; ``d out / d z`` is the identity; no gradient reaches
    ``quantized`` (the codebook must not learn from the reconstruction loss through this path).
    """
    name = "straight-through estimator"
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(2, 5, 4, generator=gen, requires_grad=True)
    quantized = torch.randn(2, 5, 4, generator=gen, requires_grad=True)
    out = _as_tensor(name, "the output", call_answer(name, fn, z, quantized))
    expect_close(name, "the forward value", out.detach(), quantized.detach(),
                 hint="the decoder must see the code vectors, not the encoder outputs")
    if not out.requires_grad:
        fail(name, "the output carries no gradient at all",
             "detaching everything cuts the encoder off: keep z inside the expression")
    weights = torch.randn(2, 5, 4, generator=gen)
    (out * weights).sum().backward()
    leak = quantized.grad is not None and bool(quantized.grad.abs().max() > 0)
    z_grad = z.grad is not None and bool(z.grad.abs().max() > 0)
    if leak and not z_grad:
        fail(name, "the gradient flows into the quantized vectors (the codebook) and none reaches z",
             "write the output as z plus a correction that carries no gradient: z + sg[quantized - z]")
    if not z_grad:
        fail(name, "no gradient reaches z", "write the output as z plus a term that carries no gradient")
    expect_close(name, "the gradient with respect to z", z.grad, weights,
                 hint="d out / d z should be the identity: the gradient skips the quantizer unchanged")
    if leak:
        fail(name, "a gradient also flows into the quantized vectors (the codebook)",
             "wrap the difference between code and latent in a stop-gradient (.detach())")
    return passed(name)


def check_nearest_code(fn: Callable) -> bool:
    """``fn(z (N, D), codebook (K, D))`` must return the index of the nearest code (Euclidean) per row."""
    name = "nearest-code assignment"
    gen = torch.Generator().manual_seed(5)
    codebook = torch.randn(16, 3, generator=gen) * 2
    z = torch.randn(40, 3, generator=gen) * 2
    # a case where the largest dot product and the nearest code differ: a long code far away
    codebook[0] = torch.tensor([30.0, 0.0, 0.0])
    z[0] = torch.tensor([1.0, 0.0, 0.0])
    want = torch.cdist(z, codebook).argmin(dim=1)
    got = _as_tensor(name, "the ids", call_answer(name, fn, z.clone(), codebook.clone()))
    if got.shape != want.shape:
        fail(name, f"the ids have shape {tuple(got.shape)}, expected {tuple(want.shape)}",
             "reduce over the codebook axis: one id per latent vector")
    wrong = (got.long() != want).nonzero().flatten()
    if len(wrong):
        i = int(wrong[0])
        hint = "use the smallest distance, not the largest similarity" if i == 0 else (
            "||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2: the ||e||^2 term matters, and take the argmin")
        fail(name, f"{len(wrong)} of {len(want)} ids differ (first at row {i}: got {int(got[i])}, "
                   f"expected {int(want[i])})", hint)
    return passed(name)


def check_perplexity(fn: Callable) -> bool:
    """``fn(ids, n_codes)`` must return ``exp(-sum_k p_k log p_k)`` of the code histogram (unused codes: 0)."""
    name = "codebook perplexity"
    cases = [
        (torch.tensor([3, 3, 3, 3]), 8),  # one code -> 1
        (torch.arange(8), 8),  # uniform -> 8
        (torch.tensor([0, 0, 1, 2, 2, 2, 5, 7]), 8),  # mixed, with unused codes
    ]
    for ids, k in cases:
        got = call_answer(name, fn, ids.clone(), k)
        want = float(perplexity_from_counts(torch.bincount(ids, minlength=k)))
        try:
            got_f = float(got)
        except (TypeError, ValueError):
            fail(name, f"expected a number, got {type(got).__name__}")
        if not np.isfinite(got_f):
            fail(name, f"got {got_f} for ids {ids.tolist()}",
                 "codes that are never used have p = 0 and contribute 0 * log 0 = 0: leave them out")
        if abs(got_f - want) > 1e-4 * max(1.0, want):
            hint = ("perplexity is exp of the entropy, not the entropy itself" if abs(np.exp(got_f) - want) < 1e-3
                    else "normalise the histogram to probabilities p_k = count_k / N before the entropy")
            fail(name, f"for ids {ids.tolist()} (K={k}) got {got_f:.4f}, expected {want:.4f}", hint)
    return passed(name)


def check_ema_update(fn: Callable) -> bool:
    """``fn(cluster_size, embed_sum, z, ids, decay)`` must return ``(cluster_size, embed_sum, codebook)``
    after one EMA step: ``N_k <- mu N_k + (1-mu) n_k``, ``m_k <- mu m_k + (1-mu) sum z_i``, ``e_k = m_k/N_k``."""
    name = "EMA codebook update"
    gen = torch.Generator().manual_seed(11)
    k, d, n, decay = 6, 3, 20, 0.9
    size = torch.rand(k, generator=gen) * 3 + 0.5
    total = torch.randn(k, d, generator=gen) * size[:, None]
    z = torch.randn(n, d, generator=gen)
    ids = torch.randint(0, k - 1, (n,), generator=gen)  # the last code gets nothing this batch
    want = ema_codebook_step(size, total, z, ids, decay)
    got = call_answer(name, fn, size.clone(), total.clone(), z.clone(), ids.clone(), decay)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail(name, f"expected a tuple (cluster_size, embed_sum, codebook), got {type(got).__name__}")
    hints = {
        "cluster_size": "N_k <- decay * N_k + (1 - decay) * n_k, where n_k counts the batch vectors assigned to k"
                        " (check which side of the average gets `decay`)",
        "embed_sum": "m_k <- decay * m_k + (1 - decay) * (sum of the batch vectors assigned to code k)",
        "codebook": "each code is the running mean m_k / N_k: divide the summed vectors by the counts",
    }
    for what, g, w in zip(("cluster_size", "embed_sum", "codebook"), got, want):
        expect_close(name, what, _as_tensor(name, what, g), w, atol=1e-5, hint=hints[what])
    return passed(name)
