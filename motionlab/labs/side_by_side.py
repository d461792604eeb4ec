"""Self-check for the exercise of chapter 10 (side by side).

* :func:`check_batch_rank` -- ``fn(dist (b, b)) -> ranks (b,)``: for each caption (row), how many motions of
  its batch are closer to it than its own motion (column of the same index); 0 means a top-1 hit.

Reference: :func:`motionlab.evaluation.compare.per_motion_matching`, which ranks every test pair this way.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from motionlab.labs import call_answer, fail, passed

__all__ = ["check_batch_rank"]


def check_batch_rank(fn: Callable) -> bool:
    """``fn(dist)`` on a ``(b, b)`` caption x motion distance matrix must return each row's rank of its
    diagonal entry: the number of entries of the row strictly smaller than it."""
    name = "rank in the batch"
    rng = np.random.default_rng(10)
    for b in (4, 32):
        dist = rng.random((b, b))
        want = (dist < np.diag(dist)[:, None]).sum(1)
        got = np.asarray(call_answer(name, fn, dist.copy()))
        if got.shape != (b,):
            fail(name, f"for b = {b} the ranks have shape {got.shape}, expected ({b},)")
        if np.array_equal(got, want + 1):
            fail(name, "every rank is one too high", "count only the motions strictly closer than the true one")
        if np.array_equal(got, (dist < np.diag(dist)[None, :]).sum(0)):
            fail(name, "the ranks are computed per column (motion) instead of per row (caption)",
                 "row i holds caption i's distances to every motion of the batch")
        if not np.array_equal(got, want):
            i = int(np.flatnonzero(got != want)[0])
            fail(name, f"for b = {b} caption {i} got rank {got[i]}, expected {want[i]}",
                 "rank = how many entries of the row are smaller than the diagonal one")
    return passed(name)
