"""The one training loop every model in the book goes through.

``train(model, batch_fn, loss_fn, config, device=...)`` runs ``config.steps`` AdamW updates with a warm-up
+ constant / step / cosine learning-rate schedule, gradient clipping, bf16 autocast on CUDA, periodic
evaluation with best-weights selection, periodic checkpoints with exact resume, and data-parallel training
under ``torchrun``.  Three design choices make it small and exact:

* **Data is a function of the step.**  ``batch_fn(step)`` must return the same global batch for the same
  step (use :class:`RandomBatches` or ``runtime.rng(seed, step)``), so a resumed run sees exactly the
  batches the uninterrupted run would have seen, and DDP ranks agree on the global batch without a sampler.
* **The schedule is a pure function** :func:`lr_at` ``(config, step)``; there is no scheduler object whose
  state could drift.
* **The loss function runs inside the DDP wrapper**: ``loss_fn(model, batch)`` is wrapped in a small module,
  and that module is what DDP wraps, so a loss may call any method of the model (``encode``, ``decode``, ...)
  and gradients are still averaged across ranks.

Under DDP each rank takes its contiguous slice of the global batch; only rank 0 prints and writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from motionlab import checkpoints as ckpt
from motionlab.distributed import DistInfo, setup_distributed, shard_batch, to_device
from motionlab.errors import InputError
from motionlab.progress import Reporter, fmt, progress_enabled
from motionlab.runtime import artifact_key, resolve_device, rng, seed_everything, to_jsonable

SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.  ``batch_size`` is the GLOBAL batch (split across DDP ranks).

    ``milestones`` are absolute step numbers: from step ``m`` on, the lr is multiplied by ``gamma`` once more.
    Weight decay applies to parameters with >= 2 dims (weights and embeddings, not biases or norm gains) unless
    ``weight_decay_on="all"``.
    """

    steps: int
    lr: float
    batch_size: int
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: str = "constant"  # "constant" | "step" | "cosine"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    min_lr: float = 0.0
    grad_clip: float | None = None  # max global L2 norm of the gradients
    amp: bool = True  # bf16 autocast, CUDA only (a no-op on CPU)
    seed: int = 0  # seeds python/numpy/torch at the start of a fresh run (dropout, noise)
    log_every: int = 50
    eval_every: int = 0  # 0: evaluate only at the end
    checkpoint_every: int = 0  # 0: checkpoint only at the end (when a checkpoint_dir is given)
    best_metric: str | None = None  # key of eval_fn's dict; the model ends with the best weights
    best_mode: str = "min"  # "min" | "max"
    progress: bool | None = None  # None: auto (see progress_enabled)
    weight_decay_on: str = "matrices"  # "matrices" (>= 2-D params) | "all"

    def __post_init__(self):
        def need(ok: bool, name: str, expected: str):
            if not ok:
                raise InputError(f"TrainConfig.{name}={getattr(self, name)!r}: expected {expected}")

        need(isinstance(self.steps, int) and self.steps >= 1, "steps", "an int >= 1")
        need(self.lr > 0, "lr", "> 0")
        need(isinstance(self.batch_size, int) and self.batch_size >= 1, "batch_size", "an int >= 1")
        need(self.schedule in SCHEDULES, "schedule", f"one of {SCHEDULES}")
        need(self.warmup_steps >= 0, "warmup_steps", ">= 0")
        need(list(self.milestones) == sorted(self.milestones), "milestones", "increasing step numbers")
        need(0 <= self.min_lr <= self.lr, "min_lr", f"in [0, lr={self.lr}]")
        need(self.grad_clip is None or self.grad_clip > 0, "grad_clip", "None or > 0")
        need(self.best_mode in ("min", "max"), "best_mode", "'min' or 'max'")
        need(self.weight_decay_on in ("matrices", "all"), "weight_decay_on", "'matrices' or 'all'")
        for name in ("log_every", "eval_every", "checkpoint_every"):
            need(getattr(self, name) >= 0, name, ">= 0")
        object.__setattr__(self, "betas", tuple(self.betas))  # JSON gives lists back
        object.__setattr__(self, "milestones", tuple(self.milestones))

    def scaled_to(self, steps: int) -> "TrainConfig":
        """The same schedule stretched or shrunk to ``steps`` updates: milestones, warm-up and log/eval rates
        scale with the run (an ablation's short run decays its lr at the same fraction of training)."""
        steps = int(steps)
        ratio = steps / self.steps
        milestones = tuple(m for m in (int(round(m * ratio)) for m in self.milestones) if 0 < m < steps)
        warmup = min(self.warmup_steps, max(1, steps // 10)) if self.warmup_steps else 0
        return dataclasses.replace(
            self, steps=steps, milestones=milestones, warmup_steps=warmup,
            schedule="constant" if self.schedule == "step" and not milestones else self.schedule,
            log_every=max(1, int(round(self.log_every * ratio))),
            eval_every=max(1, int(round(self.eval_every * ratio))) if self.eval_every else 0)


@dataclass(frozen=True)
class Recipe:
    """One model's settings in a profile: its own config, its training config, and ``ablation``, the
    overrides that turn it into the cheaper copy a chapter's sweeps train.

    Each model family subclasses this with the knobs of its training data (the tokenizer's window, the
    GPT's corruption rate ...).  :meth:`replace` takes any field name of the recipe, of ``model`` or of
    ``train`` and puts it where it belongs, so a variant is one call:
    ``profile.tokenizer.for_ablation().replace(recon_loss="l2", seed=1)``.
    """

    model: Any
    train: TrainConfig
    ablation: dict = field(default_factory=dict)

    def replace(self, **overrides) -> "Recipe":
        """A copy with overrides routed to the recipe, its model config or its train config.

        ``steps`` rescales the schedule (:meth:`TrainConfig.scaled_to`); an unknown or ambiguous name is an
        :class:`InputError` naming the fields that exist.
        """
        homes = {"recipe": {f.name for f in dataclasses.fields(self)} - {"model", "train"},
                 "model": {f.name for f in dataclasses.fields(self.model)},
                 "train": {f.name for f in dataclasses.fields(TrainConfig)}}
        parts: dict[str, dict] = {"recipe": {}, "model": {}, "train": {}}
        for name, value in overrides.items():
            found = [home for home, names in homes.items() if name in names]
            if len(found) != 1:
                problem = "is ambiguous" if found else "is not a field"
                raise InputError(f"{type(self).__name__}: {name!r} {problem}: expected one field of "
                                 f"{type(self).__name__}, {type(self.model).__name__} or TrainConfig")
            parts[found[0]][name] = value
        train = self.train
        if "steps" in parts["train"]:
            train = train.scaled_to(parts["train"].pop("steps"))
        return dataclasses.replace(self, model=dataclasses.replace(self.model, **parts["model"]),
                                   train=dataclasses.replace(train, **parts["train"]), **parts["recipe"])

    def for_ablation(self) -> "Recipe":
        """The cheaper copy chapters train their sweeps with (``ablation`` applied, then cleared)."""
        return dataclasses.replace(self.replace(**self.ablation), ablation={})

    def key(self) -> dict:
        """What identifies a model trained with this recipe in the artifact cache (see
        :func:`motionlab.runtime.artifact_key`)."""
        return artifact_key(self)


def lr_at(config: TrainConfig, step: int) -> float:
    """Learning rate of update ``step`` (0-based): schedule value x linear warm-up factor.

    warm-up:  lr * (step + 1) / warmup_steps  for step < warmup_steps
    step:     lr * gamma ** #{milestones <= step}
    cosine:   min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2,  t = (step - warmup) / (steps - warmup) in [0, 1]
    """
    if config.schedule == "step":
        base = config.lr * config.gamma ** sum(step >= m for m in config.milestones)
    elif config.schedule == "cosine":
        t = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        t = min(max(t, 0.0), 1.0)
        base = config.min_lr + (config.lr - config.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))
    else:
        base = config.lr
    warm = min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
    return base * warm


@dataclass
class TrainResult:
    """What :func:`train` returns.  ``history``: one dict per log point (``step``, ``lr``, the mean of each
    loss over the steps since the previous log point); ``evals``: ``{"step", **eval_fn(...)}`` per evaluation;
    ``best``: the best evaluation (or None); ``seconds``: wall time of this call; ``steps``: steps done in
    total; ``resumed_from``: the step this call started from (0 for a fresh run)."""

    history: list[dict]
    evals: list[dict]
    best: dict | None
    seconds: float
    steps: int
    resumed_from: int = 0


# ---------------------------------------------------------------------------------------- batches
class RandomBatches:
    """Epoch-permutation sampler as a function of the step: ``RandomBatches(dataset, batch_size, seed)(step)``.

    Sample positions ``step * batch_size + i`` run through a fresh permutation of the dataset per epoch, so
    every index appears exactly once per epoch and the batch of a step depends only on ``(seed, step)``.
    Items come from ``dataset.sample(index, rng)`` when the dataset has it (random crops, drawn from a
    generator seeded by ``(seed, step, i)``), else ``dataset[index]``; ``collate`` (default
    ``torch.utils.data.default_collate``) turns the list of items into a batch.
    """

    def __init__(self, dataset, batch_size: int, seed: int = 0, collate: Callable | None = None):
        if len(dataset) == 0:
            raise InputError("RandomBatches: the dataset is empty")
        if batch_size < 1:
            raise InputError(f"RandomBatches: batch_size={batch_size}, expected >= 1")
        self.dataset, self.batch_size, self.seed = dataset, int(batch_size), int(seed)
        self.collate = collate or torch.utils.data.default_collate
        self._perms: dict[int, np.ndarray] = {}

    @property
    def steps_per_epoch(self) -> float:
        """Steps that make one pass over the dataset (fractional when it does not divide)."""
        return len(self.dataset) / self.batch_size

    def permutation(self, epoch: int) -> np.ndarray:
        """The order of the dataset in ``epoch`` (cached for the last two epochs)."""
        if epoch not in self._perms:
            if len(self._perms) >= 2:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = rng(self.seed, "epoch", epoch).permutation(len(self.dataset))
        return self._perms[epoch]

    def indices(self, step: int) -> np.ndarray:
        """Dataset indices of the batch at ``step``, shape (batch_size,)."""
        n = len(self.dataset)
        pos = np.arange(step * self.batch_size, (step + 1) * self.batch_size)  # global sample positions
        return np.array([self.permutation(int(p // n))[p % n] for p in pos], dtype=np.int64)

    def __call__(self, step: int):
        idx = self.indices(step)
        if hasattr(self.dataset, "sample"):
            items = [self.dataset.sample(int(i), rng(self.seed, "item", step, j)) for j, i in enumerate(idx)]
        else:
            items = [self.dataset[int(i)] for i in idx]
        return self.collate(items)


class _LossModule(nn.Module):
    """``forward(batch) = loss_fn(model, batch)``: what DDP wraps, so any model method works inside a loss."""

    def __init__(self, model: nn.Module, loss_fn: Callable):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch):
        return self.loss_fn(self.model, batch)


# ----------------------------------------------------------------------------------- optimizer
def param_groups(model: nn.Module, trainable, config: TrainConfig) -> list[dict]:
    """AdamW parameter groups: weight decay on >= 2-D params only (unless ``weight_decay_on="all"``).

    ``trainable``: None (every parameter with requires_grad), a predicate ``name -> bool``, an iterable of
    parameters, or an iterable of group dicts (``{"params": [...], "lr_scale": 0.1, "weight_decay": 0.}``).
    """
    if trainable is None:
        groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
    elif callable(trainable):
        groups = [{"params": [p for n, p in model.named_parameters() if p.requires_grad and trainable(n)]}]
    else:
        items = list(trainable)
        groups = [dict(g) for g in items] if items and isinstance(items[0], dict) else [{"params": items}]
    out, seen = [], set()
    for group in groups:
        params = [p for p in group.pop("params") if id(p) not in seen and not seen.add(id(p))]  # drop tied copies
        decay = group.pop("weight_decay", config.weight_decay)
        scale = group.pop("lr_scale", 1.0)
        for wd, ps in ((decay, [p for p in params if p.ndim >= 2 or config.weight_decay_on == "all"]),
                       (0.0, [p for p in params if p.ndim < 2 and config.weight_decay_on != "all"])):
            if ps:
                out.append({"params": ps, "weight_decay": wd, "lr_scale": scale, **group})
    if not out:
        raise InputError("train(): the model has no trainable parameters (check `trainable` / requires_grad)")
    return out


def make_optimizer(model: nn.Module, config: TrainConfig, trainable=None) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, with weight decay where ``config`` puts it (:func:`param_groups`)."""
    return torch.optim.AdamW(param_groups(model, trainable, config), lr=config.lr, betas=config.betas,
                             weight_decay=config.weight_decay)


def training_step(compute_losses: Callable[[Any], dict[str, torch.Tensor]], batch: Any,
                  optimizer: torch.optim.Optimizer, config: TrainConfig, step: int) -> dict[str, torch.Tensor]:
    """One update of the training loop: the scheduled learning rate, the losses of ``batch`` (bf16 autocast
    on CUDA when ``config.amp``), backward, optional gradient clipping, the optimiser step.

    ``compute_losses(batch)`` returns a dict of scalar tensors whose ``"loss"`` is minimised, e.g.
    ``lambda b: tokenizer_loss(model, b)``.  :func:`train` calls exactly this once per step.
    """
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for group in optimizer.param_groups:  # theta <- theta - lr_t * AdamW update
        group["lr"] = lr_at(config, step) * group.get("lr_scale", 1.0)
    use_amp = config.amp and params[0].device.type == "cuda"
    with torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else contextlib.nullcontext():
        losses = compute_losses(batch)
    if not isinstance(losses, dict) or "loss" not in losses:
        raise InputError(f"the loss function must return a dict with a 'loss' entry, got {type(losses).__name__}"
                         + (f" with keys {sorted(losses)}" if isinstance(losses, dict) else ""))
    optimizer.zero_grad(set_to_none=True)
    losses["loss"].backward()
    if config.grad_clip is not None:
        # norm before clipping, logged so that a reader sees how often the clip was active
        losses = {**losses, "grad_norm": torch.nn.utils.clip_grad_norm_(params, config.grad_clip)}
    optimizer.step()
    return losses


# ---------------------------------------------------------------------------------------- train
def train(
    model: nn.Module,
    batch_fn: Callable[[int], Any],
    loss_fn: Callable[[nn.Module, Any], dict[str, torch.Tensor]],
    config: TrainConfig,
    *,
    device: str | torch.device = "auto",
    checkpoint_dir: str | Path | None = None,
    resume: bool = True,
    eval_fn: Callable[[nn.Module, int], dict[str, float]] | None = None,
    trainable: Iterable | Callable[[str], bool] | None = None,
    find_unused_parameters: bool = False,
    keep_checkpoint: bool = True,
) -> TrainResult:
    """Train ``model`` for ``config.steps`` updates and return a :class:`TrainResult`.

    ``batch_fn(step)`` returns the GLOBAL batch of a step (deterministic in ``step``); ``loss_fn(model,
    batch)`` returns a dict of scalar tensors whose ``"loss"`` is minimised (the rest are logged);
    ``eval_fn(model, step)`` (run in eval mode under ``no_grad`` every ``eval_every`` steps and at the end)
    returns floats.  With ``checkpoint_dir`` a checkpoint is written to ``checkpoint_dir/checkpoint`` every
    ``checkpoint_every`` steps and at the end, and with ``resume`` a run continues from it exactly.  When
    ``best_metric`` is set the model ends holding the weights of its best evaluation.  Parameters outside
    ``trainable`` keep their requires_grad: freeze them yourself if they should get no gradients.  The model
    is put in train mode; a frozen sub-module that must stay in eval mode (a text encoder with dropout)
    should be kept there by the model's own ``train()`` override.  Under DDP pass ``find_unused_parameters``
    when some trainable parameters get no gradient in a step; ``keep_checkpoint=False`` deletes the
    checkpoint folder after a finished run (an artifact then holds only what the caller saves).
    """
    t0 = time.perf_counter()
    info, device = setup_distributed(resolve_device(device))
    model.to(device)
    optimizer = make_optimizer(model, config, trainable)
    folder = Path(checkpoint_dir) / "checkpoint" if checkpoint_dir is not None else None
    start, history, evals, best, best_weights, window = 0, [], [], None, None, {}
    if folder is not None and info.world > 1:
        dist.barrier()  # a rank that crashed ahead must not read while rank 0 is still writing
    found = ckpt.find_training_state(folder) if folder is not None and resume else None
    if found is not None:
        saved = ckpt.load_training_state(found, rank=info.rank)
        ckpt.load_model_state(model, {k: v.to(device) for k, v in saved["model"].items()}, found / ckpt.WEIGHTS)
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        start, history, evals, best = state["step"], state["history"], state["evals"], state["best"]
        window = {k: torch.tensor(v, device=device) for k, v in state.get("window", {}).items()}
        best_weights = saved["best"]
        if saved["rng"] is not None:
            ckpt.set_rng_state(saved["rng"])
        else:  # the checkpoint was written by fewer ranks: a deterministic new stream for this one
            seed_everything(int(rng(config.seed, "train", info.rank, start).integers(2**31)))
        _warn_config_change(state.get("config", {}), config, found)
    else:
        seed_everything(int(rng(config.seed, "train", info.rank).integers(2**31)))  # dropout differs per rank

    runner = _LossModule(model, loss_fn)
    if info.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        runner = DDP(runner, device_ids=[device.index] if device.type == "cuda" else None,
                     find_unused_parameters=find_unused_parameters)  # broadcasts buffers (EMA codebooks) from rank 0
    n_params = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    header = (f"[train] {n_params:,} trainable params, {config.steps} steps, global batch {config.batch_size}, "
              f"{device.type}" + (f" x{info.world} ranks" if info.world > 1 else "")
              + (f", resuming at step {start}" if start else ""))
    reporter = Reporter(config.steps, start, enabled=progress_enabled(config.progress), active=info.main,
                        header=header)

    model.train()
    for step in range(start, config.steps):
        batch = to_device(shard_batch(batch_fn(step), info.rank, info.world), device)
        losses = training_step(runner, batch, optimizer, config, step)
        lr = lr_at(config, step)
        for k, v in losses.items():  # running sums stay on the device: no sync per step
            v = torch.as_tensor(v, device=device).detach().float()
            if v.numel() != 1:
                raise InputError(f"loss_fn returned {k!r} with shape {tuple(v.shape)}: logged values must be scalars")
            v = v.reshape(())
            window[k] = window.get(k, 0.0) + v
        window["_count"] = window.get("_count", 0.0) + 1.0

        done = step + 1
        log = evaluation = None
        if (config.log_every and done % config.log_every == 0) or done == config.steps:
            log = {"step": done, "lr": lr, **_reduce_window(window, info)}
            window = {}
            history.append(log)
            if not math.isfinite(log["loss"]):
                raise FloatingPointError(f"training diverged: loss={log['loss']} at step {done} (lr={lr:.3g})")
        if eval_fn is not None and ((config.eval_every and done % config.eval_every == 0) or done == config.steps):
            evaluation = _evaluate(model, eval_fn, done, info)
            evals.append(evaluation)
            if config.best_metric is not None and _better(evaluation, best, config):
                best = evaluation
                best_weights = {k: v.detach().to("cpu", copy=True) for k, v in ckpt.model_state(model).items()}
        reporter.update(done, log, evaluation and {f"eval_{k}": v for k, v in evaluation.items() if k != "step"})
        if folder is not None and ((config.checkpoint_every and done % config.checkpoint_every == 0)
                                   or done == config.steps):
            _save(folder, model, optimizer, info, done, history, evals, best, best_weights, window, config)

    if info.world > 1:  # buffers updated in forward (EMA codebooks) drift per rank after the last step
        for buf in model.buffers():
            dist.broadcast(buf, src=0)
    if config.best_metric is not None and best_weights is not None:
        ckpt.load_model_state(model, {k: v.to(device) for k, v in best_weights.items()}, "best weights")
    if folder is not None and not keep_checkpoint and info.main:
        shutil.rmtree(folder, ignore_errors=True)
    if info.world > 1:
        dist.barrier()  # nobody leaves before rank 0 finished writing
    seconds = time.perf_counter() - t0
    summary = fmt(history[-1] if history else None) + (fmt(best, f"best({config.best_metric}) ") if best else "")
    reporter.close(f"[train] done: {config.steps} steps" + summary)
    return TrainResult(history, evals, best, seconds, config.steps, start)


def _reduce_window(window: dict, info: DistInfo) -> dict[str, float]:
    """Mean of each logged value over the window (and over ranks under DDP), as floats."""
    count = window.pop("_count")
    keys = sorted(window)
    means = torch.stack([window[k] / count for k in keys])
    if info.world > 1:
        dist.all_reduce(means, op=dist.ReduceOp.SUM)
        means /= info.world
    return dict(zip(keys, means.tolist()))


def _evaluate(model: nn.Module, eval_fn: Callable, step: int, info: DistInfo) -> dict:
    """Run ``eval_fn`` on rank 0 (eval mode, no_grad) and share its result with every rank."""
    result = None
    if info.main:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            result = {"step": step, **{k: float(v) for k, v in eval_fn(model, step).items()}}
        model.train(was_training)
    if info.world > 1:
        box = [result]
        dist.broadcast_object_list(box, src=0)  # in-memory between our own ranks, never from a file
        result = box[0]
    return result


def _better(evaluation: dict, best: dict | None, config: TrainConfig) -> bool:
    key = config.best_metric
    if key not in evaluation:
        raise InputError(f"best_metric={key!r} is not among the eval_fn results {sorted(evaluation)}")
    if best is None:
        return True
    return evaluation[key] < best[key] if config.best_mode == "min" else evaluation[key] > best[key]


def _save(folder, model, optimizer, info, step, history, evals, best, best_weights, window, config) -> None:
    """Rank 0 writes the checkpoint; every rank contributes its RNG state (dropout resumes exactly)."""
    states = [ckpt.rng_state()]
    if info.world > 1:
        states = [None] * info.world
        dist.all_gather_object(states, ckpt.rng_state())
    if info.main:
        counts = {k: float(v) for k, v in window.items()}  # a partly filled log window resumes too
        state = {"step": step, "history": history, "evals": evals, "best": best, "window": counts,
                 "config": to_jsonable(config), "world": info.world}
        ckpt.save_training_state(folder, model, optimizer, state, states, best_weights)


def _warn_config_change(saved: dict, config: TrainConfig, where: Path) -> None:
    cosmetic = {"progress", "log_every", "eval_every", "checkpoint_every"}
    changed = sorted(k for k, v in to_jsonable(config).items() if k not in cosmetic and saved.get(k, v) != v)
    if changed:
        warnings.warn(f"resuming from {where} with a different config ({', '.join(changed)}): "
                      "the result will differ from an uninterrupted run", stacklevel=3)


__all__ = ["TrainConfig", "TrainResult", "RandomBatches", "train", "lr_at", "progress_enabled", "shard_batch",
           "param_groups", "setup_distributed", "DistInfo"]
