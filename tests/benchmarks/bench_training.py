"""Overhead of ``motionlab.training.train`` against a bare hand-written AdamW loop.

Trains the same tiny MLP on the same batches (a function of the step) both ways and reports steps/s, the
relative overhead, and what a checkpoint costs.  Writes ``results/bench_training.json`` with provenance.
Run: ``python tests/benchmarks/bench_training.py`` (or ``make bench``).
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from motionlab.runtime import provenance, write_json
from motionlab.training import TrainConfig, train

REPO = Path(__file__).resolve().parents[2]
STEPS, BATCH, DIM, HIDDEN, REPEATS = 300, 64, 32, 128, 3


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(DIM, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, HIDDEN), nn.GELU(), nn.Linear(HIDDEN, DIM))


def make_batches() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [{"x": torch.randn(BATCH, DIM, generator=g)} for _ in range(STEPS)]


def loss_fn(model, batch):
    return {"loss": ((model(batch["x"]) - batch["x"].flip(1)) ** 2).mean()}


def hand_loop(batches) -> float:
    """The reference: AdamW, zero_grad, backward, step, and nothing else."""
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for step in range(STEPS):
        loss = loss_fn(model, batches[step])["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return STEPS / (time.perf_counter() - start)


def motionlab_loop(batches, **overrides) -> float:
    checkpoint_dir = overrides.pop("checkpoint_dir", None)
    cfg = TrainConfig(steps=STEPS, lr=1e-3, batch_size=BATCH, log_every=50, progress=False, **overrides)
    with contextlib.redirect_stdout(io.StringIO()):
        result = train(make_model(), batches.__getitem__, loss_fn, cfg, device="cpu", checkpoint_dir=checkpoint_dir,
                       resume=False)
    return STEPS / result.seconds


def main() -> dict:
    """Measure and write ``results/bench_training.json``; returns the record."""
    torch.set_num_threads(1)
    batches = make_batches()
    hand_loop(batches), motionlab_loop(batches)  # warm-up (allocator, first-call costs)
    runs = {"hand_loop": [], "train": [], "train_clip_cosine": [], "train_ckpt_every_50": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(REPEATS):
            runs["hand_loop"].append(hand_loop(batches))
            runs["train"].append(motionlab_loop(batches))
            runs["train_clip_cosine"].append(motionlab_loop(batches, grad_clip=1.0, schedule="cosine", warmup_steps=20))
            runs["train_ckpt_every_50"].append(motionlab_loop(batches, checkpoint_every=50, checkpoint_dir=tmp))
    median = {k: statistics.median(v) for k, v in runs.items()}
    n_params = sum(p.numel() for p in make_model().parameters())
    record = {
        "benchmark": "training loop overhead",
        "model": f"MLP {DIM}-{HIDDEN}-{HIDDEN}-{DIM} ({n_params:,} params), batch {BATCH}, {STEPS} steps, 1 thread, CPU",
        "steps_per_s_median": {k: round(v, 1) for k, v in median.items()},
        "steps_per_s_runs": {k: [round(x, 1) for x in v] for k, v in runs.items()},
        "overhead_vs_hand_loop": {k: round(median["hand_loop"] / v - 1.0, 3) for k, v in median.items()
                                  if k != "hand_loop"},
        "ms_per_step_overhead": {k: round(1e3 * (1 / v - 1 / median["hand_loop"]), 3) for k, v in median.items()
                                 if k != "hand_loop"},
        **provenance(),
    }
    out = REPO / "results" / "bench_training.json"
    write_json(out, record)
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
