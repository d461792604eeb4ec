"""T2M-GPT speed: generation latency/throughput with and without the KV cache, and training tokens/s.

Generation: for the ``smoke`` and ``full`` model sizes (and ``paper`` on a GPU), batches of 1 and 32
prompts each decode exactly 49 tokens (196 frames, forced lengths so every row does the same work), with
the KV cache and with the uncached reference loop that re-reads the whole prefix every step.  Training: full
optimiser steps (forward, backward, AdamW) on random tokens of length 50 at the profile's batch size (CPU: at
most 32), reported as tokens/s.  Weights are random: speed does not depend on them.

Writes ``results/bench_t2m_gpt.json`` with provenance.  Run: ``python tests/benchmarks/bench_t2m_gpt.py``
(``--quick`` for a fast pass with fewer repeats).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
from pathlib import Path

import torch

from motionlab.evaluation.speed import timed
from motionlab.generators.t2m_gpt import T2MGPT, T2MGPTConfig
from motionlab.profiles import get_profile
from motionlab.runtime import provenance, write_json

REPO = Path(__file__).resolve().parents[2]
TOKENS = 49  # 196 frames / 4


def bench_generation(cfg: T2MGPTConfig, device: torch.device, batch: int, cache: bool, repeats: int) -> dict:
    torch.manual_seed(0)
    model = T2MGPT(cfg).to(device).eval()
    text = torch.randn(batch, cfg.text_dim, device=device)
    lengths = torch.full((batch,), TOKENS, dtype=torch.long)

    def run():
        model.generate(text, lengths=lengths, use_cache=cache, generator=torch.Generator().manual_seed(0))

    times = timed(run, device, repeats)
    best = min(times)
    return {"batch": batch, "kv_cache": cache, "tokens_per_sequence": TOKENS, "repeats": repeats,
            "latency_s": round(best, 5), "median_s": round(statistics.median(times), 5),
            "ms_per_token_step": round(1000 * best / (TOKENS + 1), 4),
            "sequences_per_s": round(batch / best, 3), "tokens_per_s": round(batch * TOKENS / best, 1)}


def bench_training(cfg: T2MGPTConfig, device: torch.device, batch: int, steps: int) -> dict:
    torch.manual_seed(0)
    model = T2MGPT(cfg).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.5, 0.9), weight_decay=1e-6)
    g = torch.Generator().manual_seed(0)
    text = torch.randn(batch, cfg.text_dim, generator=g).to(device)
    target = torch.randint(0, cfg.n_codes, (batch, cfg.block_size), generator=g).to(device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()

    def step():
        with amp:
            _, losses = model(text, target[:, :-1], target)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()

    times = timed(lambda: [step() for _ in range(steps)], device, 2)
    best = min(times) / steps
    return {"batch": batch, "seq_len": cfg.block_size, "steps_timed": steps, "s_per_step": round(best, 5),
            "tokens_per_s": round(batch * cfg.block_size / best, 1),
            "model_tflops_per_s": round(batch * cfg.block_size * model.flops_per_token() / best / 1e12, 4),
            "bf16_autocast": device.type == "cuda"}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, CPU full-size rows skipped")
    parser.add_argument("--out", default=str(REPO / "results" / "bench_t2m_gpt.json"))
    args = parser.parse_args([] if argv is None else argv)  # run_all.py calls main() with its own sys.argv
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows_gen, rows_train, models = [], [], {}
    for device in devices:
        sizes = ["smoke", "full"] + (["paper"] if device.type == "cuda" else [])
        if args.quick and device.type == "cpu":
            sizes = ["smoke"]
        for size in sizes:
            prof = get_profile(size)
            cfg = prof.gpt.replace(n_codes=prof.tokenizer.model.n_codes, text_dim=384).model
            with torch.device("meta"):
                models[size] = {"params": T2MGPT(cfg).num_params(), "n_embd": cfg.n_embd,
                                "layers": cfg.n_layer, "n_codes": cfg.n_codes}
            heavy = device.type == "cpu" and size != "smoke"
            for batch in (1, 32):
                for cache in (True, False):
                    repeats = 1 if heavy or args.quick else 3
                    row = bench_generation(cfg, device, batch, cache, repeats)
                    rows_gen.append({"device": device.type, "model": size, **row})
                    print(f"generate {device.type} {size:5s} batch {batch:2d} cache {str(cache):5s}: "
                          f"{row['latency_s']:.3f} s, {row['tokens_per_s']:.0f} tokens/s", flush=True)
            batch = prof.gpt.train.batch_size
            if device.type == "cpu":
                batch = min(batch, 32)
            steps = 2 if heavy else 5
            with contextlib.redirect_stdout(io.StringIO()):
                row = bench_training(cfg, device, batch, steps)
            rows_train.append({"device": device.type, "model": size, **row})
            print(f"train    {device.type} {size:5s} batch {batch}: {row['tokens_per_s']:.0f} tokens/s", flush=True)
    speedups = []
    for row in rows_gen:
        if row["kv_cache"]:
            ref = next(r for r in rows_gen if not r["kv_cache"] and r["device"] == row["device"]
                       and r["model"] == row["model"] and r["batch"] == row["batch"])
            speedups.append({"device": row["device"], "model": row["model"], "batch": row["batch"],
                             "kv_cache_speedup": round(ref["latency_s"] / row["latency_s"], 2)})
    result = {"benchmark": "t2m_gpt", "threads": torch.get_num_threads(), "models": models,
              "generation": rows_gen, "kv_cache_speedup": speedups, "training": rows_train, **provenance()}
    out = Path(args.out)
    write_json(out, result)
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
