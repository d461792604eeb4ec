"""Training the motion tokenizer, and the cached tokenizer every later chapter starts from.

* :func:`tokenizer_configs` -- the model and optimisation settings of a profile (+ overrides).
* :func:`train_tokenizer` -- one training run through :func:`motionlab.training.train`: random 64-frame
  windows of the normalised training motions, AdamW, warm-up and step decay, as T2M-GPT.
* :func:`get_tokenizer_run` / :func:`get_tokenizer` -- the same, cached with
  :func:`motionlab.runtime.load_or_train`: keyed by the profile, the data and the full configuration, so an
  ablation variant (``recon_loss="l2"``, ``quantizer="plain"``, ``n_codes=1024`` ...) is just a set of
  overrides with its own cache entry.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionlab import checkpoints
from motionlab.errors import InputError
from motionlab.profiles import Profile, get_profile
from motionlab.runtime import artifact_dir, load_or_train, resolve_device, seed_everything
from motionlab.runtime import rng as make_rng
from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig
from motionlab.training import RandomBatches, TrainConfig, TrainResult, train

FEAT_BIAS = 5.0  # root and foot-contact std divided by 5, as the evaluator's statistics (official_facts 6.5)
VAL_WINDOWS = 128  # validation windows used by the evaluation during training
EXTRA_KEYS = ("window",)  # overrides that are neither model nor optimiser fields


@dataclass
class TokenizerRun:
    """A trained tokenizer with its training record."""

    model: VQVAE
    train_config: TrainConfig
    window: int
    history: list[dict] = field(default_factory=list)  # per log point: losses, perplexity, usage, dead codes
    evals: list[dict] = field(default_factory=list)  # per evaluation: validation recon + codebook statistics
    seconds: float = 0.0
    folder: Path | None = None

    @property
    def config(self) -> VQVAEConfig:
        return self.model.config


def tokenizer_configs(profile: str | Profile = "auto", input_dim: int = 263, *, ablation: bool = False,
                      seed: int = 0, **overrides) -> tuple[VQVAEConfig, TrainConfig, int]:
    """``(model config, train config, window)`` of a profile's tokenizer.

    ``ablation=True`` gives the cheaper copy chapters 3-4 use for their sweeps: width and code size
    ``profile.tokenizer.ablation_width`` and ``ablation_steps`` steps (milestones scaled to match).
    ``overrides`` may name any :class:`VQVAEConfig` or :class:`TrainConfig` field, or ``window``.
    """
    prof = get_profile(profile)
    spec = prof.tokenizer
    model_fields = {f.name for f in fields(VQVAEConfig)}
    train_fields = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - model_fields - train_fields - set(EXTRA_KEYS))
    if unknown:
        raise InputError(f"unknown tokenizer override(s) {', '.join(unknown)}: expected fields of VQVAEConfig, "
                         f"TrainConfig or {', '.join(EXTRA_KEYS)}")
    steps, milestones, warmup = spec.steps, spec.milestones, spec.warmup_steps
    model_over = {k: v for k, v in overrides.items() if k in model_fields}
    if ablation:
        steps = spec.ablation_steps or spec.steps
        scale = steps / spec.steps
        milestones = tuple(max(1, int(round(m * scale))) for m in spec.milestones)
        warmup = min(warmup, max(1, steps // 10))
        width = spec.ablation_width or spec.width
        model_over = {"width": width, "code_dim": width, **model_over}
    model_config = VQVAEConfig.from_profile(prof, input_dim, **model_over)
    train_config = TrainConfig(
        steps=steps, lr=spec.lr, batch_size=spec.batch_size, betas=(0.9, 0.99), weight_decay=0.0,
        warmup_steps=warmup, schedule="step", milestones=milestones, gamma=spec.gamma, seed=seed,
        log_every=max(1, steps // 40), eval_every=max(1, steps // 10),
    )
    train_config = replace(train_config, **{k: v for k, v in overrides.items() if k in train_fields})
    return model_config, train_config, int(overrides.get("window", spec.window))


@dataclass
class WindowBank:
    """Every motion of a split with >= ``window`` frames, normalised and concatenated into one tensor.

    T2M-GPT trains on random ``window``-frame crops of whole training motions (shorter ones are dropped);
    keeping all frames in one tensor lets a batch be gathered with one indexing operation, on the GPU
    when training runs there.
    """

    frames: torch.Tensor  # (total frames, D) normalised features
    starts: np.ndarray  # (M,) first row of each motion in ``frames``
    lengths: np.ndarray  # (M,) frames of each motion
    window: int
    names: list[str]
    skipped: list[str]  # motions shorter than the window

    def to(self, device: torch.device) -> "WindowBank":
        return replace(self, frames=self.frames.to(device))

    def gather(self, motion: np.ndarray, offset: np.ndarray) -> torch.Tensor:
        """Windows ``(B, window, D)`` of motions ``motion`` (B,) starting at frame ``offset`` (B,)."""
        rows = self.starts[motion] + offset  # (B,) first frame of each window in ``frames``
        index = torch.as_tensor(rows[:, None] + np.arange(self.window)[None, :], device=self.frames.device)
        return self.frames[index]  # (B, window, D)

    def sliding(self, limit: int) -> torch.Tensor:
        """Up to ``limit`` non-overlapping windows spread evenly over the split (deterministic)."""
        pairs = [(m, o) for m, n in enumerate(self.lengths) for o in range(0, int(n) - self.window + 1, self.window)]
        picks = np.linspace(0, len(pairs) - 1, min(limit, len(pairs))).round().astype(int)
        chosen = np.array([pairs[i] for i in picks], dtype=np.int64)
        return self.gather(chosen[:, 0], chosen[:, 1])


_BANKS: dict[tuple, WindowBank] = {}


def load_window_bank(data_dir: str | Path, split: str, window: int, normalizer) -> WindowBank:
    """The :class:`WindowBank` of a split (memoised per process: ablation runs reuse it).

    Skipped motions (too short for one window) are counted and reported once with a warning.
    """
    import warnings

    from motionlab.data.folders import DatasetWarning, MotionFolder

    key = (str(Path(data_dir).resolve()), split, int(window), normalizer.mean.tobytes(), normalizer.std.tobytes())
    if key in _BANKS:
        return _BANKS[key]
    folder = MotionFolder(data_dir)
    feats, names, skipped = [], [], []
    for name in folder.names(split):
        f = folder.load_features(name)
        if len(f) < window or not np.isfinite(f).all():
            skipped.append(name)
            continue
        feats.append(normalizer.normalize(f.astype(np.float32)))
        names.append(name)
    if not feats:
        raise InputError(f"{data_dir}: no motion of the {split!r} split has >= {window} frames")
    if skipped:  # reported under the package-relative file name: no machine paths in notebook outputs
        warnings.warn_explicit(
            f"{Path(data_dir).name}/{split}: {len(skipped)} of {len(skipped) + len(names)} motions are shorter "
            f"than the {window}-frame tokenizer window (or not finite) and are not used (e.g. {skipped[0]})",
            DatasetWarning, "motionlab/tokenizers/train.py", 0)
    lengths = np.array([len(f) for f in feats], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    bank = WindowBank(torch.from_numpy(np.concatenate(feats)), starts, lengths, int(window), names, skipped)
    while len(_BANKS) >= 2:  # keep two splits (train + val) in memory: the full-profile set is large
        _BANKS.pop(next(iter(_BANKS)))
    _BANKS[key] = bank
    return bank


class WindowBatches:
    """``batch_fn(step)`` for :func:`motionlab.training.train`: a random window of each of ``batch_size``
    motions, motions visited in a fresh permutation per epoch (like a shuffled data loader), offsets drawn
    from ``runtime.rng(seed, step)`` -- so the batch of a step never depends on what ran before it."""

    def __init__(self, bank: WindowBank, batch_size: int, seed: int = 0):
        self.bank, self.batch_size, self.seed = bank, int(batch_size), int(seed)
        self.order = RandomBatches(range(len(bank.lengths)), batch_size, seed=seed)

    def __call__(self, step: int) -> torch.Tensor:
        motion = self.order.indices(step)  # (B,)
        room = self.bank.lengths[motion] - self.bank.window + 1  # valid start frames per motion
        offset = make_rng(self.seed, "window", step).integers(0, room)  # (B,)
        return self.bank.gather(motion, offset)


def tokenizer_loss(model: VQVAE, batch: torch.Tensor) -> dict[str, torch.Tensor]:
    """``loss_fn`` for :func:`motionlab.training.train`: the VQ-VAE losses plus logged codebook statistics."""
    _, losses, info = model(batch)
    return {**losses, "perplexity": info["perplexity"], "usage": info["usage"], "dead_codes": info["dead_codes"]}


@torch.no_grad()
def validation_metrics(model: VQVAE, windows: torch.Tensor, batch_size: int = 64) -> dict[str, float]:
    """Reconstruction L1 (normalised features) and codebook usage / perplexity / dead codes on held-out windows."""
    device = next(model.parameters()).device
    l1, ids = [], []
    for start in range(0, windows.shape[0], batch_size):
        x = windows[start:start + batch_size].to(device)
        code = model.encode(x)  # (b, T/4)
        l1.append((model.decode(code) - x).abs().mean(dim=(1, 2)).cpu())
        ids.append(code.flatten().cpu())
    counts = torch.bincount(torch.cat(ids), minlength=model.config.n_codes).float()
    p = counts / counts.sum()
    return {
        "val_l1": float(torch.cat(l1).mean()),
        "val_usage": float((counts > 0).float().mean()),
        "val_perplexity": float(torch.exp(-(p[p > 0] * p[p > 0].log()).sum())),
        "dead_codes": float((model.quantizer.cluster_size < model.quantizer.reset_threshold).sum()),
    }


@contextlib.contextmanager
def cpu_threads(n: int | None, device: torch.device):
    """Run a block with ``n`` torch threads when ``device`` is the CPU (restored afterwards)."""
    before = torch.get_num_threads()
    if n and device.type == "cpu":
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_tokenizer(data_dir: str | Path, model_config: VQVAEConfig, train_config: TrainConfig, window: int,
                    *, device: str | torch.device = "auto", checkpoint_dir: str | Path | None = None,
                    threads: int | None = None) -> TokenizerRun:
    """Train a fresh tokenizer on ``data_dir`` (a folder in the HumanML3D layout); not cached.

    ``threads``: torch threads to use while training on the CPU (None keeps the current setting).
    """
    from motionlab.data.folders import Normalizer

    data_dir, device = Path(data_dir), resolve_device(device)
    normalizer = Normalizer.from_folder(data_dir, feat_bias=FEAT_BIAS)
    bank = load_window_bank(data_dir, "train", window, normalizer).to(device)
    val = load_window_bank(data_dir, "val", window, normalizer).to(device).sliding(VAL_WINDOWS)
    batches = WindowBatches(bank, train_config.batch_size, train_config.seed)
    seed_everything(train_config.seed)  # same seed -> same initial weights
    model = VQVAE(model_config)
    model.set_normalizer(normalizer.mean, normalizer.std)
    with cpu_threads(threads, device):
        result: TrainResult = train(
            model, batches, tokenizer_loss, train_config, device=device,
            checkpoint_dir=checkpoint_dir, eval_fn=lambda m, step: validation_metrics(m, val),
        )
    return TokenizerRun(model.eval(), train_config, window, result.history, result.evals, result.seconds)


def untrained_tokenizer(data_dir: str | Path, model_config: VQVAEConfig, window: int, batch_size: int,
                        seed: int = 0, device: str | torch.device = "cpu") -> VQVAE:
    """A reference for "no learning": random weights, codebook initialised from the first training batch
    (one forward pass in training mode, no optimiser step), the dataset's normalisation; in eval mode."""
    from motionlab.data.folders import Normalizer

    device = resolve_device(device)
    normalizer = Normalizer.from_folder(data_dir, feat_bias=FEAT_BIAS)
    bank = load_window_bank(data_dir, "train", window, normalizer).to(device)
    seed_everything(seed)
    model = VQVAE(model_config).to(device)
    model.set_normalizer(normalizer.mean, normalizer.std)
    with torch.no_grad():
        model.train()(WindowBatches(bank, batch_size, seed)(0))
    return model.eval()


def save_run(run: TokenizerRun, folder: str | Path) -> Path:
    """Write a :class:`TokenizerRun` as a model folder (weights, config, training record)."""
    extra = {"train_config": run.train_config, "window": run.window, "history": run.history,
             "evals": run.evals, "seconds": run.seconds}
    return checkpoints.save_model(run.model, folder, extra)


def load_run(folder: str | Path, device: str | torch.device = "cpu") -> TokenizerRun:
    """Read what :func:`save_run` wrote."""
    model = checkpoints.load_model(VQVAE, folder, device)
    extra = checkpoints.load_extra(folder)
    train_config = checkpoints.config_from_dict(TrainConfig, extra["train_config"], Path(folder) / "extra.json")
    return TokenizerRun(model, train_config, int(extra["window"]), extra.get("history", []),
                        extra.get("evals", []), float(extra.get("seconds", 0.0)), Path(folder))


def cache_key(model_config: VQVAEConfig, train_config: TrainConfig, window: int) -> dict[str, Any]:
    """What identifies a tokenizer in the artifact cache (progress flags and log rates excluded)."""
    cosmetic = {"progress", "log_every", "eval_every", "checkpoint_every"}
    train_part = {f.name: getattr(train_config, f.name) for f in fields(TrainConfig) if f.name not in cosmetic}
    return {"model": model_config, "train": train_part, "window": window, "feat_bias": FEAT_BIAS}


def get_tokenizer_run(data: str | Path = "synth", profile: str | Profile = "auto",
                      device: str | torch.device = "auto", seed: int = 0, *, ablation: bool = False,
                      retrain: bool = False, quiet: bool = False, **overrides) -> TokenizerRun:
    """The cached tokenizer of a profile on a dataset (trained on first use), with its training record.

    ``data`` is a chapter's data parameter (``"synth"``, ``"humanml3d"``, ``"kit"`` or a folder).  Overrides
    and ``ablation`` as in :func:`tokenizer_configs`; each distinct configuration is its own cache entry.
    ``quiet`` hides the printed training log (progress bars in a live notebook still show).  The cache entry
    is keyed by the dataset's content fingerprint too, so a rebuilt dataset never reuses an old tokenizer.
    """
    from motionlab.data.paths import dataset_label, resolve_dataset

    prof = get_profile(profile)
    data_dir = resolve_dataset(data, prof)
    input_dim = _feature_dim(data_dir)
    model_config, train_config, window = tokenizer_configs(prof, input_dim, ablation=ablation, seed=seed,
                                                           **overrides)
    dev = resolve_device(device)
    key = cache_key(model_config, train_config, window)
    label = dataset_label(data, data_dir)
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        run = load_or_train(
            "tokenizer", prof.name, label, key,
            train_fn=lambda work: _train_and_save(data_dir, model_config, train_config, window, dev, work,
                                                  prof.tokenizer.cpu_threads),
            load_fn=lambda folder: load_run(folder, dev),
            retrain=retrain,
        )
    run.folder = artifact_dir("tokenizer", prof.name, label, key)
    return run


def _train_and_save(data_dir, model_config, train_config, window, device, work: Path, threads) -> TokenizerRun:
    run = train_tokenizer(data_dir, model_config, train_config, window, device=device, threads=threads)
    save_run(run, work)
    return run


def get_tokenizer(data: str | Path = "synth", profile: str | Profile = "auto", device: str | torch.device = "auto",
                  seed: int = 0, **overrides) -> VQVAE:
    """The cached, trained :class:`VQVAE` (eval mode) for a profile and dataset; see :func:`get_tokenizer_run`."""
    return get_tokenizer_run(data, profile, device, seed, **overrides).model


def _feature_dim(data_dir: Path) -> int:
    """Feature size of a dataset folder, read from its ``Mean.npy``."""
    mean = Path(data_dir) / "Mean.npy"
    if not mean.is_file():
        raise InputError(f"{data_dir} has no Mean.npy: expected a dataset folder in the HumanML3D layout")
    return int(np.load(mean, allow_pickle=False).shape[-1])
