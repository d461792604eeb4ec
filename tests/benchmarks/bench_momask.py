"""MoMask against T2M-GPT: generation latency (batch 1) and throughput (batch 32) at the same profile.

Each row generates 196-frame motions (49 tokens, forced lengths, so both models do the same work) from random
sentence features and decodes them to features: T2M-GPT writes 49 tokens one at a time (KV cache) and decodes
them with its VQ-VAE; MoMask fills 49 base-layer tokens in L = 10 guided iterations (two passes each: with and
without the text), writes the residual layers in one guided pass each and decodes with its RVQ-VAE.  Text
encoding is left out (the same cached lookup for both).  Weights are random: speed does not depend on them.

Writes ``results/bench_momask.json`` with provenance.  Run: ``python tests/benchmarks/bench_momask.py``
(``--quick``: the smoke sizes only).  The paper's comparison (MoMask's Fig. 5a: faster than T2M-GPT, one
2080Ti) is between the ``paper`` sizes: T2M-GPT's GPT is 18 blocks of width 1024, MoMask's transformers 8 x 384.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from motionlab.evaluation.speed import generation_speed
from motionlab.generators.momask.masked_transformer import MaskedTransformer
from motionlab.generators.momask.residual_transformer import ResidualTransformer
from motionlab.generators.t2m_gpt import T2MGPT
from motionlab.profiles import get_profile
from motionlab.runtime import provenance, write_json
from motionlab.tokenizers.artifacts import decode_tokens
from motionlab.tokenizers.vqvae import VQVAE

REPO = Path(__file__).resolve().parents[2]
TOKENS, TEXT_DIM = 49, 384  # 196 frames / 4; MiniLM's feature width


def t2m_gpt_generator(profile, device):
    """``generate(batch)`` for the profile's T2M-GPT (random weights) and its parameter count."""
    vq_cfg = profile.tokenizer.model
    gpt = T2MGPT(profile.gpt.replace(n_codes=vq_cfg.n_codes, text_dim=TEXT_DIM).model).to(device).eval()
    vq = VQVAE(vq_cfg).to(device).eval()

    def generate(batch: int):
        text = torch.randn(batch, TEXT_DIM, device=device)
        ids = gpt.generate(text, lengths=torch.full((batch,), TOKENS), generator=torch.Generator().manual_seed(0))
        return decode_tokens(vq, [row.cpu().numpy() for row in ids.to_list()])

    return generate, gpt.num_params()


def momask_generator(profile, device, iterations: int = 10):
    """``generate(batch)`` for the profile's MoMask (random weights) and its transformers' parameter count."""
    vq_cfg = profile.momask_tokenizer.model
    sizes = {"n_codes": vq_cfg.n_codes, "code_dim": vq_cfg.code_dim, "text_dim": TEXT_DIM}
    masked = MaskedTransformer(profile.momask_masked.replace(**sizes).model).to(device).eval()
    residual = ResidualTransformer(profile.momask_residual.replace(n_quantizers=vq_cfg.n_quantizers, **sizes).model
                                   ).to(device).eval()
    vq = VQVAE(vq_cfg).to(device).eval()
    gen = torch.Generator().manual_seed(0)

    def generate(batch: int):
        text = torch.randn(batch, TEXT_DIM, device=device)
        n = torch.full((batch,), TOKENS, device=device)
        base = masked.generate(text, n, iterations=iterations, generator=gen)  # (B, 49)
        ids = residual.generate(text, base, n, generator=gen)  # (B, 49, L)
        return decode_tokens(vq, list(ids.cpu().numpy()))

    return generate, masked.num_params() + residual.num_params()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the smoke sizes only")
    parser.add_argument("--out", default=str(REPO / "results" / "bench_momask.json"))
    args = parser.parse_args([] if argv is None else argv)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows, params = [], {}
    for device in devices:
        sizes = ["smoke"] if args.quick else ["smoke", "laptop", "full", "paper"]
        for size in sizes:
            profile = get_profile(size)
            repeats = 1 if device.type == "cpu" and size in ("full", "paper") else 3
            for model, build in (("t2m-gpt", t2m_gpt_generator), ("momask", momask_generator)):
                torch.manual_seed(0)
                generate, n_params = build(profile, device)
                params[f"{size}/{model}"] = n_params
                with torch.no_grad():
                    for row in generation_speed(generate, device, (1, 32), repeats):
                        rows.append({"device": device.type, "profile": size, "model": model, **row})
                        print(f"{device.type} {size:6s} {model:7s} batch {row['batch']:2d}: {row['latency_s']:.3f} s, "
                              f"{row['motions_per_s']:.1f} motions/s", flush=True)
    ratios = []
    for row in rows:
        if row["model"] == "momask":
            ref = next(r for r in rows if r["model"] == "t2m-gpt" and all(r[k] == row[k] for k in
                                                                         ("device", "profile", "batch")))
            ratios.append({k: row[k] for k in ("device", "profile", "batch")}
                          | {"momask_speedup": round(ref["latency_s"] / row["latency_s"], 2)})
    result = {"benchmark": "momask", "threads": torch.get_num_threads(), "tokens_per_motion": TOKENS,
              "iterations": 10, "transformer_params": params, "generation": rows, "momask_vs_t2m_gpt": ratios,
              **provenance()}
    write_json(Path(args.out), result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
