"""Tokenizer training throughput (samples/s) for the profiles' model sizes -> results/bench_tokenizer.json.

Each row times full training steps (forward, backward, AdamW) of the VQ-VAE on random 64-frame windows:
on the CPU with a small batch and a few steps, and -- when CUDA is present -- on the GPU at the profile's
own batch size with bf16 autocast.  The FLOPs of one training sample (3x the convolution MACs x 2) are
recorded too, so the time of a run on other hardware can be estimated.

    python tests/benchmarks/bench_tokenizer.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from pathlib import Path

import torch

from motionlab.profiles import get_profile
from motionlab.runtime import provenance, write_json
from motionlab.tokenizers.train import cpu_threads
from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "results" / "bench_tokenizer.json"


def conv_macs_per_sample(config: VQVAEConfig, window: int) -> int:
    """Multiply-accumulates of one forward pass over one window (all Conv1d layers)."""
    model = VQVAE(config)
    total = 0

    def hook(module, _inputs, output):
        nonlocal total
        k = module.kernel_size[0] * module.in_channels // module.groups
        total += output.numel() * k

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    with torch.no_grad():
        model.eval().encode_latents(torch.zeros(1, window, config.input_dim))
        model.decode_latents(torch.zeros(1, window // config.unit, config.code_dim))
    for h in handles:
        h.remove()
    return total


def time_training(config: VQVAEConfig, window: int, batch: int, steps: int, device: torch.device) -> dict:
    """Samples per second of ``steps`` timed training steps (after 2 warm-up steps)."""
    torch.manual_seed(0)
    model = VQVAE(config).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, betas=(0.9, 0.99))
    x = torch.randn(batch, window, config.input_dim, device=device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()

    def step():
        with amp:
            _, losses, _ = model(x)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()

    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"batch": batch, "steps": steps, "seconds": round(seconds, 3),
            "samples_per_s": round(batch * steps / seconds, 2), "s_per_step": round(seconds / steps, 4)}


def main(quick: bool = False) -> dict:
    """Measure every row and write ``results/bench_tokenizer.json``."""
    rows = []
    sizes = [("smoke", False), ("full", False), ("full", True), ("paper", False)]
    for profile, ablation in sizes:
        recipe = get_profile(profile).tokenizer
        recipe = recipe.for_ablation() if ablation else recipe
        config, train_config, window = recipe.model, recipe.train, recipe.window
        macs = conv_macs_per_sample(config, window)
        base = {"profile": profile, "model": "ablation" if ablation else "main", "width": config.width,
                "n_codes": config.n_codes, "window": window, "parameters": VQVAE(config).num_parameters(),
                "profile_batch": train_config.batch_size, "profile_steps": train_config.steps,
                "train_gflop_per_sample": round(6 * macs / 1e9, 4)}  # fwd 2*MACs, fwd+bwd ~ 3x
        cpu_batch = 32 if config.width <= 64 else 8
        cpu_steps = 2 if quick else (20 if config.width <= 64 else 10)
        cpu = torch.device("cpu")
        with cpu_threads(get_profile(profile).tokenizer.cpu_threads, cpu):  # as training runs it
            rows.append({**base, "device": "cpu", "threads": torch.get_num_threads(),
                         **time_training(config, window, cpu_batch, cpu_steps, cpu)})
        print(rows[-1])
        if torch.cuda.is_available():
            gpu_steps = 3 if quick else 30
            rows.append({**base, "device": "cuda", "amp": "bf16",
                         **time_training(config, window, train_config.batch_size, gpu_steps, torch.device("cuda"))})
            print(rows[-1])
    record = {"benchmark": "tokenizer training throughput", "rows": rows,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"), "provenance": provenance()}
    write_json(OUT, record)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a check that it runs)")
    main(parser.parse_args().quick)
