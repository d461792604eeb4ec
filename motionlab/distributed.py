"""Data-parallel plumbing for :func:`motionlab.training.train`: joining the process group ``torchrun``
describes, and giving each rank its contiguous slice of the global batch.

The training loop asks ``batch_fn(step)`` for the GLOBAL batch on every rank (it is a function of the step,
so all ranks build the same one) and keeps only its own rows: no distributed sampler is needed, and a run on
N ranks sees exactly the samples a single process would.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from motionlab.errors import InputError


@dataclass
class DistInfo:
    """Rank layout of this process (``world == 1`` without DDP)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    created: bool = False  # whether train() initialised the process group itself

    @property
    def main(self) -> bool:
        """Rank 0: the process that prints and writes."""
        return self.rank == 0


def setup_distributed(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group torchrun describes (or use one already initialised).

    gloo on CPU, nccl on CUDA (each rank on ``cuda:LOCAL_RANK``).  Without torchrun: a single process.
    """
    if dist.is_available() and dist.is_initialized():
        info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    elif dist.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        atexit.register(_leave)  # later train() calls in this process reuse the group; leave it at exit
        info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), True)
    else:
        return DistInfo(), device
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    return info, device


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def shard_batch(batch: Any, rank: int, world: int) -> Any:
    """This rank's contiguous slice of a global batch.

    Tensors / arrays are sliced along dim 0 and lists (per-sample items: captions, names) as sequences;
    dicts and tuples are containers whose fields are sliced; 0-d tensors and plain scalars are shared.
    Rank r gets samples [r * B // world, (r + 1) * B // world).
    """
    if world == 1:
        return batch
    size = _batch_size(batch)
    if size is None:
        raise InputError("shard_batch: found no tensor or list with a batch dimension in the batch")
    if size < world:
        raise InputError(f"the global batch has {size} samples, fewer than the {world} DDP ranks")
    lo, hi = rank * size // world, (rank + 1) * size // world
    return _slice(batch, lo, hi, size, "batch")


def _batch_size(batch: Any) -> int | None:
    if isinstance(batch, (torch.Tensor, np.ndarray)) and batch.ndim > 0:
        return int(batch.shape[0])
    if isinstance(batch, list):
        return len(batch)
    children = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, tuple) else ()
    for child in children:
        if (size := _batch_size(child)) is not None:
            return size
    return None


def _slice(x: Any, lo: int, hi: int, size: int, where: str) -> Any:
    if isinstance(x, dict):
        return {k: _slice(v, lo, hi, size, f"{where}[{k!r}]") for k, v in x.items()}
    if isinstance(x, tuple):
        parts = [_slice(v, lo, hi, size, f"{where}[{i}]") for i, v in enumerate(x)]
        return type(x)(*parts) if hasattr(x, "_fields") else tuple(parts)  # namedtuples keep their type
    if isinstance(x, (torch.Tensor, np.ndarray, list)):
        if isinstance(x, list) or x.ndim > 0:
            if len(x) != size:
                raise InputError(f"{where} has {len(x)} rows but the batch has {size}: cannot split it across ranks")
            return x[lo:hi]
    return x  # scalars, 0-d tensors, None: the same on every rank


def to_device(x: Any, device: torch.device) -> Any:
    """Move every tensor in a (nested) dict / tuple / list batch to ``device``; other values pass through."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    if isinstance(x, tuple):
        parts = [to_device(v, device) for v in x]
        return type(x)(*parts) if hasattr(x, "_fields") else tuple(parts)
    if isinstance(x, list):
        return [to_device(v, device) for v in x]
    return x
