"""Side by side: every text->motion model on one dataset, one evaluator, one machine (chapter 10).

* :func:`quality_values` / :func:`quality_table` -- the protocol for all models at once, with ground-truth
  lengths and with each model's own: per-replication values, and their means with 95 % intervals;
* :func:`speed_table` -- parameters, latency at batch 1 and throughput at batch 32, measured in one run;
* :func:`motion_families` and :func:`per_motion_matching` -- which kind of motion each model gets right
  (R-precision per test motion, grouped by the synthetic set's action of the motion);
* :func:`generator_parameters` -- the trainable parameters of a pipeline's generator and its tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from motionlab.errors import InputError

__all__ = ["quality_values", "quality_table", "speed_table", "motion_families", "per_motion_matching", "generator_parameters"]


def generator_parameters(pipeline: Any) -> dict[str, int]:
    """``{"generator": ..., "tokenizer": ...}`` parameters of a pipeline (the frozen sentence encoder and the
    tokenizer's codebook buffers left out).  Works for every pipeline of the book: the generator networks are
    the pipeline's ``torch.nn.Module`` attributes other than its tokenizer (tied weights counted once)."""
    import torch

    tokenizer = getattr(pipeline, "tokenizer", None)
    networks = [v for v in vars(pipeline).values() if isinstance(v, torch.nn.Module) and v is not tokenizer]
    unique = {id(p): p.numel() for net in networks for p in net.parameters()}
    tok = sum(p.numel() for p in tokenizer.parameters()) if tokenizer is not None else 0
    return {"generator": int(sum(unique.values())), "tokenizer": int(tok)}


def quality_values(models: Mapping[str, Any], evaluator, split, spec, *, seed: int = 0,
                   length_modes: Sequence[str] = ("gt", "model"), multimodality_modes: Sequence[str] = ("gt",),
                   ground_truth=None, **options) -> pd.DataFrame:
    """The protocol for every model under each length mode, one row per replication: columns ``model``,
    ``lengths``, ``replication``, ``metric``, ``value`` (the ground-truth row once per mode).  The claims of
    chapter 10 test differences on these per-replication values; :func:`quality_table` summarises them.

    MultiModality (``mm_samples`` more motions per chosen caption) is measured only under
    ``multimodality_modes`` (NaN elsewhere): with given lengths it is the spread of motions of one caption and
    one length; with a model's own lengths it would also count the spread of the lengths, at the same cost."""
    from motionlab.evaluation.protocol import build_ground_truth, evaluate

    if not models:
        raise InputError("no models to compare")
    bank = ground_truth or build_ground_truth(evaluator, split.features, split.captions)
    frames = []
    for mode in length_modes:
        mode_options = options if mode in multimodality_modes else {**options, "multimodality": False}
        result = evaluate(dict(models), evaluator, split, spec, lengths=mode, seed=seed, ground_truth=bank,
                          **mode_options)
        frames.append(result.values.assign(lengths=mode))
    return pd.concat(frames, ignore_index=True)[["model", "lengths", "replication", "metric", "value"]]


def quality_table(values: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % half-width ``1.96 std / sqrt(n)`` over the replications of :func:`quality_values`:
    columns ``model``, ``lengths``, ``metric``, ``mean``, ``ci``."""
    grouped = values.dropna(subset=["value"]).groupby(["model", "lengths", "metric"], sort=False)["value"]
    out = grouped.agg(mean="mean", ci=lambda v: 1.96 * np.std(v.to_numpy(), ddof=0) / np.sqrt(len(v)))
    return out.reset_index()


def speed_table(models: Mapping[str, Any], prompts: Sequence[str], device="cpu", *, frames: int = 196,
                batch_sizes: Sequence[int] = (1, 32), repeats: int = 2) -> pd.DataFrame:
    """Parameters and generation speed of every model, measured one after the other in this process: each
    ``model.generate(prompts[:batch], [frames] * batch)`` (text encoding and decoding included) at each batch
    size.  Columns: ``model``, ``generator_params``, ``tokenizer_params``, ``latency_b1_s`` and
    ``motions_per_s_b32`` (for the default batch sizes), every timed call (``times_b1_s`` ...), and
    ``s_per_motion`` at the largest batch."""
    from motionlab.evaluation.speed import generation_speed

    if len(prompts) < max(batch_sizes):
        raise InputError(f"{len(prompts)} prompts: expected at least {max(batch_sizes)} (the largest batch)")
    rows = []
    for name, model in models.items():
        params = generator_parameters(model)
        speed = {r["batch"]: r for r in generation_speed(
            lambda b, m=model: m.generate(list(prompts[:b]), [frames] * b), device, batch_sizes, repeats)}
        row = {"model": name, "generator_params": params["generator"], "tokenizer_params": params["tokenizer"]}
        for b, r in speed.items():
            row[f"latency_b{b}_s"] = r["latency_s"]
            row[f"motions_per_s_b{b}"] = r["motions_per_s"]
            row[f"times_b{b}_s"] = r["times_s"]
        row["s_per_motion"] = 1.0 / speed[max(batch_sizes)]["motions_per_s"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def motion_families(split, data_dir: str | Path) -> list[str]:
    """The action family of each motion of ``split``: MotionLab-Synth's first recorded action of the motion
    (``synth_meta.json``); for other datasets the first verb of the first caption (POS tags), else "other"."""
    meta_path = Path(data_dir) / "synth_meta.json"
    meta = {}
    if meta_path.is_file():
        meta = {m["name"]: m for m in json.loads(meta_path.read_text())["motions"]}
    out = []
    for i, name in enumerate(split.names):
        source = split.sources[i] if split.sources else name
        record = meta.get(source) or meta.get(source[1:] if source.startswith("M") else source)
        if record is not None and record.get("actions"):
            out.append(str(record["actions"][0]))
            continue
        caption = split.captions[i][0] if split.captions[i] else None
        verbs = [t.split("/")[0] for t in getattr(caption, "tokens", ()) if t.endswith("/VERB")]
        out.append(verbs[0] if verbs else "other")
    return out


def per_motion_matching(evaluator, captions: Sequence[str], motions: Sequence[np.ndarray], *,
                        batch_size: int = 32, seed: int = 0) -> pd.DataFrame:
    """For each (caption, motion) pair: is the motion among the 3 nearest of its caption within a random batch
    of ``batch_size`` pairs (``top1``, ``top3``), and the caption-motion distance (``mm_dist``).  The pairs are
    shuffled once by ``seed`` into batches (the last incomplete batch is ranked against a full batch padded with
    pairs from the first), so every pair gets a verdict."""
    from motionlab.evaluation.metrics import euclidean_distance_matrix

    n = len(captions)
    if n != len(motions):
        raise InputError(f"{n} captions but {len(motions)} motions")
    if n < batch_size:
        raise InputError(f"{n} pairs: expected at least one batch of {batch_size}")
    text = np.asarray(evaluator.embed_texts(list(captions)))  # (N, d)
    motion = np.asarray(evaluator.embed_motions(list(motions)))  # (N, d)
    order = np.random.default_rng(seed).permutation(n)
    rank = np.empty(n, dtype=np.int64)
    for start in range(0, n, batch_size):
        batch = order[start:start + batch_size]
        fill = order[: batch_size - len(batch)] if len(batch) < batch_size else order[:0]
        members = np.concatenate([batch, fill])
        dist = euclidean_distance_matrix(text[batch], motion[members])  # (b, 32)
        own = dist[np.arange(len(batch)), np.arange(len(batch))][:, None]
        rank[batch] = (dist < own).sum(1)  # how many motions beat the true one
    return pd.DataFrame({"top1": rank < 1, "top3": rank < 3, "mm_dist": np.linalg.norm(text - motion, axis=1)})
