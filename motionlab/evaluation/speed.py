"""Generation speed measured the same way for every model: latency at batch 1, throughput at batch 32.

``generation_speed(generate, device)`` times ``generate(batch)`` (one warm-up call, then ``repeats`` timed
calls, CUDA synchronised around each) and reports the best and median wall time per batch size.  The
benchmarks (``tests/benchmarks/bench_momask.py``), chapter 7 and the side-by-side chapter all call it, so their
numbers mean the same thing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import torch

__all__ = ["timed", "generation_speed"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: str | torch.device = "cpu", repeats: int = 3) -> list[float]:
    """Wall times in seconds of ``repeats`` calls of ``fn`` after one untimed warm-up call."""
    device = torch.device(device)
    fn()  # warm-up: allocations, kernel selection
    times = []
    for _ in range(max(1, int(repeats))):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def generation_speed(generate: Callable[[int], object], device: str | torch.device = "cpu",
                     batch_sizes: Sequence[int] = (1, 32), repeats: int = 3) -> list[dict]:
    """One row per batch size: ``latency_s`` (best of ``repeats``), ``median_s``, ``motions_per_s`` (batch /
    best time) and every timed call ``times_s`` of ``generate(batch)``, which must produce ``batch`` motions."""
    rows = []
    for batch in batch_sizes:
        times = timed(lambda: generate(int(batch)), device, repeats)
        best = min(times)
        rows.append({"batch": int(batch), "repeats": len(times), "latency_s": round(best, 5),
                     "median_s": round(statistics.median(times), 5), "motions_per_s": round(batch / best, 3),
                     "times_s": [round(t, 5) for t in times]})
    return rows
