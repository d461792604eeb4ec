"""Tiny trainings that ``tests/test_training_ddp.py`` runs under ``torchrun`` (2 CPU ranks, gloo) and in one
process, to check that DDP with a sliced global batch gives the single-process result.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 tests/helpers/ddp_train.py OUT_DIR``.
Each rank writes ``OUT_DIR/rank<r>.safetensors`` (its final model states) and rank 0 writes
``OUT_DIR/result.json`` (histories) and the training checkpoints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

from motionlab.checkpoints import save_tensors
from motionlab.training import TrainConfig, train

MLP_CONFIG = TrainConfig(steps=12, lr=1e-2, batch_size=8, warmup_steps=3, schedule="cosine", grad_clip=0.5,
                         weight_decay=0.01, log_every=4, progress=False)
EMA_CONFIG = TrainConfig(steps=10, lr=1e-2, batch_size=8, log_every=5, progress=False)


def regression_batch(step: int) -> dict:
    """The global batch of a step: x (8, 4), y (8, 2), plus per-sample names to exercise list slicing."""
    g = torch.Generator().manual_seed(1000 + step)
    x = torch.randn(8, 4, generator=g)
    y = torch.stack([x.sum(1), x[:, 0] - x[:, 1]], dim=1)
    return {"x": x, "y": y, "names": [f"s{step}_{i}" for i in range(8)]}


def make_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))


def mlp_loss(model, batch):
    assert len(batch["names"]) == batch["x"].shape[0]  # the list was sliced like the tensors
    hidden = model[1](model[0](batch["x"]))  # sub-modules called directly, not model.forward: DDP must cope
    return {"loss": ((model[2](hidden) - batch["y"]) ** 2).mean()}


class EMACodebook(nn.Module):
    """An encoder + a codebook held in a buffer that forward updates in place (like an EMA VQ)."""

    def __init__(self, n_codes: int = 6, dim: int = 3, decay: float = 0.8):
        super().__init__()
        torch.manual_seed(1)
        self.encoder = nn.Linear(4, dim)
        self.decoder = nn.Linear(dim, 4)
        self.decay = decay
        self.register_buffer("codebook", torch.randn(n_codes, dim))
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        z = self.encoder(x)  # (B, dim)
        ids = torch.cdist(z.detach(), self.codebook).argmin(1)  # (B,)
        if self.training:
            with torch.no_grad():  # codebook <- decay * codebook + (1 - decay) * mean of its assigned vectors
                one_hot = nn.functional.one_hot(ids, self.codebook.shape[0]).float()  # (B, K)
                counts = one_hot.sum(0)  # (K,)
                means = (one_hot.T @ z.detach()) / counts.clamp(min=1)[:, None]  # (K, dim)
                used = counts > 0
                self.codebook[used] = self.decay * self.codebook[used] + (1 - self.decay) * means[used]
                self.updates += 1
        q = z + (self.codebook[ids] - z).detach()  # straight-through
        return self.decoder(q), ((z - self.codebook[ids]) ** 2).mean()


def ema_loss(model, batch):
    recon, commit = model(batch["x"])
    rec = ((recon - batch["x"]) ** 2).mean()
    return {"loss": rec + 0.25 * commit, "recon": rec}


class Interrupt(Exception):
    """Raised by every rank at the same step to simulate a crash."""


def run(out: Path) -> dict:
    """Train the toy models (called under torchrun or in one process) and write their states.

    1. the MLP, uninterrupted, checkpointing into ``out/ckpt``;
    2. the MLP again, interrupted at step 7 (checkpoints every 4 steps) and resumed from ``out/ckpt_resume``:
       its final state is stored as ``resumed.*`` and must equal the uninterrupted one;
    3. the EMA-codebook model.
    """
    mlp = make_mlp()
    mlp_result = train(mlp, regression_batch, mlp_loss, MLP_CONFIG, device="cpu", checkpoint_dir=out / "ckpt")

    def crash_at_7(step):
        if step == 7:
            raise Interrupt
        return regression_batch(step)

    cfg = TrainConfig(**{**vars(MLP_CONFIG), "checkpoint_every": 4})
    try:
        train(make_mlp(), crash_at_7, mlp_loss, cfg, device="cpu", checkpoint_dir=out / "ckpt_resume")
    except Interrupt:
        pass
    torch.manual_seed(123)
    resumed = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))  # other weights: must be replaced
    resumed_result = train(resumed, regression_batch, mlp_loss, cfg, device="cpu", checkpoint_dir=out / "ckpt_resume")

    ema = EMACodebook()
    ema_result = train(ema, regression_batch, ema_loss, EMA_CONFIG, device="cpu")
    state = {f"mlp.{k}": v for k, v in mlp.state_dict().items()}
    state.update({f"resumed.{k}": v for k, v in resumed.state_dict().items()})
    state.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    out.mkdir(parents=True, exist_ok=True)
    save_tensors(state, out / f"rank{rank}.safetensors")
    result = {"mlp": mlp_result.history, "ema": ema_result.history, "resumed_from": resumed_result.resumed_from}
    if rank == 0:
        (out / "result.json").write_text(json.dumps(result))
    return result


if __name__ == "__main__":
    torch.set_num_threads(1)
    run(Path(sys.argv[1]))  # train() joined the process group torchrun described and leaves it at exit
