"""Evaluation protocol speed -> results/bench_evaluation.json.

Two measurements:

* **smoke** -- the smoke evaluator (trained once, cached) on the MotionLab-Synth test split of the smoke
  profile: the smoke protocol (2 replications, MultiModality 16 x 6) and the full 20-replication protocol,
  each with two generators whose outputs cost nothing to produce (noisy copies of the real motions and
  Gaussian features), so the time is the protocol's own: embedding, metrics, bookkeeping.
* **full-size** -- an evaluator with the paper's sizes (300 / 512 / 512 / 1024 / 512; weights untrained,
  which does not change the cost) on a synthetic test split with HumanML3D's test size (4,384 motions,
  40-196 frames), 20 replications with MultiModality 100 x 30, on the GPU when there is one.  On the CPU
  the same protocol runs on ``--cpu-motions`` motions (default 128) without MultiModality, unless
  ``--full-cpu``.  Each row also measures the embedding throughput and estimates from it the time of the
  full HumanML3D-size protocol (embedding is what the protocol spends its time on).

    python tests/benchmarks/bench_evaluation.py [--skip-smoke] [--cpu-motions 128] [--full-cpu]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from motionlab.evaluation import protocol as P
from motionlab.evaluation.evaluator import Evaluator, TextMotionMatcher
from motionlab.profiles import get_profile
from motionlab.runtime import provenance, write_json
from motionlab.text.vocab import WordVocabulary

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "bench_evaluation.json"
HUMANML3D_TEST = 4384


def noisy_copy(split, scale: float = 0.1, seed: int = 0):
    """A generator returning each caption's real motion plus noise (free to compute)."""
    table = {}
    for feats, caps in zip(split.features, split.captions):
        for c in caps:
            table[getattr(c, "text", str(c))] = feats
    std = np.concatenate(split.features).std(0)

    def generate(captions, lengths):
        rng = np.random.default_rng(seed)
        out = []
        for i, c in enumerate(captions):
            f = table[c]
            n = len(f) if lengths is None else min(len(f), int(lengths[i]))
            out.append((f[:n] + scale * std * rng.standard_normal((n, f.shape[1]))).astype(np.float32))
        return out

    return generate


def _time(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_smoke(device: torch.device) -> dict:
    from motionlab.data.folders import MotionFolder
    from motionlab.data.paths import resolve_dataset
    from motionlab.evaluation.evaluator import get_evaluator

    prof = get_profile("smoke")
    root = resolve_dataset("synth", prof)
    train_s, ev = _time(lambda: get_evaluator(root, prof.evaluator, device=device))
    test = MotionFolder(root).load_split("test", warn=False)
    gens = {"noisy copy": noisy_copy(test), "random": P.random_generator(ev.mean, ev.std * 5.0)}
    rows = {}
    for label, opts in (("smoke protocol", prof.protocol),
                        ("20 replications", P.resolve_options(prof.protocol, replications=20))):
        seconds, res = _time(lambda: P.evaluate(gens, ev, test, opts, seed=0))
        rows[label] = {"seconds": round(seconds, 2), "replications": opts.replications,
                       "motions_per_pass": res.n_motions, "mm": f"{opts.mm_texts} x {opts.mm_samples}",
                       "ground_truth": {k: round(res.mean("ground truth", k), 4)
                                        for k in ("top1", "top2", "top3", "fid", "mm_dist", "diversity")}}
    return {"test_motions": len(test), "evaluator_seconds_cold_or_cached": round(train_s, 2), **rows}


def synthetic_split(n: int, dim: int = 263, seed: int = 0):
    rng = np.random.default_rng(seed)
    feats = [rng.standard_normal((int(rng.integers(40, 197)), dim)).astype(np.float32) for _ in range(n)]
    words = ["walk", "run", "jump", "turn", "wave", "kick", "sit", "spin"]
    caps = [[SimpleNamespace(text=f"a person {words[i % 8]}s {i}.{j}",
                             tokens=("a/DET", "person/NOUN", f"{words[i % 8]}/VERB")) for j in range(3)]
            for i in range(n)]
    return SimpleNamespace(features=feats, captions=caps)


def full_size_evaluator(device: torch.device) -> Evaluator:
    """An evaluator with the paper's sizes (untrained weights cost the same as trained ones)."""
    torch.manual_seed(0)
    vocab = WordVocabulary(words=["unk", "sos", "eos", "a", "person", "walk", "run", "jump", "turn", "wave",
                                  "kick", "sit", "spin"])
    config = dataclasses.replace(get_profile("paper").evaluator.model, input_dim=263, vocab_size=len(vocab))
    model = TextMotionMatcher(config)
    model.freeze_movement()
    return Evaluator(model, vocab, np.zeros(263), np.ones(263), device=device)


def protocol_embeddings(n: int, opts: P.ProtocolOptions) -> int:
    """Motion embeddings one protocol run computes: every crop of every test motion once (about 11 per
    motion for 40-196 frames), then per replication one per generated motion plus the MultiModality set."""
    used = (n // opts.batch_size) * opts.batch_size
    mm = min(opts.mm_texts, used) * opts.mm_samples if opts.multimodality else 0
    return int(11.3 * n) + opts.replications * (used + mm)


def bench_full_size(n: int, device: torch.device, multimodality: bool) -> dict:
    ev = full_size_evaluator(device)
    split = synthetic_split(n)
    full = get_profile("full").protocol
    opts = P.resolve_options(full, multimodality=multimodality)  # 20 replications, MM 100 x 30
    probe = synthetic_split(256, seed=1).features
    ev.embed_motions(probe[:32])  # warm-up (cuDNN plans, allocator)
    embed_s, _ = _time(lambda: ev.embed_motions(probe))
    rate = len(probe) / embed_s
    seconds, res = _time(lambda: P.evaluate({"noisy copy": noisy_copy(split)}, ev, split, opts, seed=0))
    needed = protocol_embeddings(HUMANML3D_TEST, full)
    return {"device": str(device), "test_motions": n, "replications": opts.replications,
            "multimodality": f"{opts.mm_texts} x {opts.mm_samples}" if multimodality else "off",
            "seconds": round(seconds, 2), "motions_per_pass": res.n_motions,
            "embeddings_per_second": round(rate, 1),
            "estimate_full_protocol_s": {"embeddings": needed, "seconds": round(needed / rate, 1),
                                         "what": f"HumanML3D-size test split ({HUMANML3D_TEST}), 20 replications, "
                                                 "MM 100 x 30, embedding time only (generators excluded)"},
            "parameters": sum(p.numel() for p in ev.model.parameters())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-smoke", action="store_true")
    parser.add_argument("--cpu-motions", type=int, default=128)
    parser.add_argument("--full-cpu", action="store_true", help="full HumanML3D-size split on the CPU too")
    args = parser.parse_args([] if argv is None else argv)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))

    record: dict = {"benchmark": "evaluation"}
    if not args.skip_smoke:
        record["smoke"] = bench_smoke(torch.device("cpu"))
    n_cpu = HUMANML3D_TEST if args.full_cpu else args.cpu_motions
    record["full_size_cpu"] = bench_full_size(n_cpu, torch.device("cpu"), multimodality=args.full_cpu)
    if torch.cuda.is_available():
        record["full_size_gpu"] = bench_full_size(HUMANML3D_TEST, torch.device("cuda"), multimodality=True)
    record["provenance"] = provenance()
    write_json(OUT, record)
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
