"""Training the motion tokenizer, and the cached tokenizer every later chapter starts from.

* :class:`TokenizerRecipe` -- what a profile holds for the tokenizer: the :class:`VQVAEConfig`, the
  :class:`TrainConfig`, the crop window and the overrides of the ablation copy.
* :func:`train_tokenizer` -- one training run through :func:`motionlab.training.train`: random 64-frame
  windows of the normalised training motions, AdamW, warm-up and step decay, as T2M-GPT.
* :func:`get_tokenizer_run` / :func:`get_tokenizer` -- the same, cached with
  :func:`motionlab.runtime.load_or_train` and keyed by the recipe and the dataset's fingerprint, so an
  ablation variant (``recipe.replace(recon_loss="l2")``, ``quantizer="plain"``, ``n_codes=1024`` ...) is
  its own cache entry.

MoMask's RVQ-VAE trains through the same functions: its recipe (``profile.momask_tokenizer``) is a
:class:`TokenizerRecipe` whose model config has ``n_quantizers > 1``.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from motionlab import checkpoints
from motionlab.errors import InputError
from motionlab.runtime import artifact_dir, load_or_train, resolve_device, seed_everything
from motionlab.runtime import rng as make_rng
from motionlab.tokenizers.quantizers import perplexity_from_counts
from motionlab.tokenizers.artifacts import reconstruct_motions
from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig
from motionlab.training import RandomBatches, Recipe, TrainConfig, TrainResult, train

VAL_WINDOWS = 128  # validation windows used by the evaluation during training
VAL_FID_MOTIONS = 256  # validation motions of the best-val-FID selection (official: the whole val split)
VAL_FID = "val_fid"  # TrainConfig.best_metric that selects the weights by validation FID, as the official code


@dataclass(frozen=True)
class TokenizerRecipe(Recipe):
    """The tokenizer of a profile: ``model`` (:class:`VQVAEConfig`; ``input_dim`` is set from the dataset),
    ``train`` (:class:`TrainConfig`), the training crop ``window`` in frames, the feature normalisation
    ``feat_bias`` and ``cpu_threads`` (torch threads while training on a CPU: small convolutions run faster
    on one thread than on two whose OpenMP workers sleep between ops)."""

    model: VQVAEConfig = field(default_factory=VQVAEConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=300000, lr=2e-4, batch_size=256))
    window: int = 64
    feat_bias: float = 5.0  # root and foot-contact std divided by 5, as the evaluator's statistics
    cpu_threads: int | None = None

    def for_data(self, data_dir: str | Path) -> "TokenizerRecipe":
        """The recipe with ``input_dim`` read from the dataset's ``Mean.npy`` (263 HumanML3D, 251 KIT)."""
        return self.replace(input_dim=feature_dim(data_dir))


@dataclass
class TokenizerRun:
    """A trained tokenizer with the recipe it was trained with and its training record."""

    model: VQVAE
    recipe: TokenizerRecipe
    history: list[dict] = field(default_factory=list)  # per log point: losses, perplexity, usage, dead codes
    evals: list[dict] = field(default_factory=list)  # per evaluation: validation recon + codebook statistics
    seconds: float = 0.0
    folder: Path | None = None

    @property
    def config(self) -> VQVAEConfig:
        return self.model.config

    @property
    def window(self) -> int:
        return self.recipe.window


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
    """Reconstruction L1 (normalised features) and codebook usage / perplexity / dead codes on held-out windows.

    With a residual quantizer usage and perplexity are the means over its layers (each layer's own codebook)
    and dead codes the sum over them.
    """
    device = next(model.parameters()).device
    l1, ids = [], []
    for start in range(0, windows.shape[0], batch_size):
        x = windows[start:start + batch_size].to(device)
        code = model.encode(x)  # (b, T/4) or (b, T/4, L)
        l1.append((model.decode(code) - x).abs().mean(dim=(1, 2)).cpu())
        ids.append(code.reshape(code.shape[0] * code.shape[1], -1).cpu())  # (b * T/4, L)
    ids = torch.cat(ids)  # (N, L)
    counts = torch.stack([torch.bincount(ids[:, v], minlength=model.config.n_codes) for v in range(ids.shape[1])])
    layers = getattr(model.quantizer, "layers", [model.quantizer])  # the VectorQuantizer(s)
    return {
        "val_l1": float(torch.cat(l1).mean()),
        "val_usage": float((counts > 0).float().mean()),
        "val_perplexity": float(torch.stack([perplexity_from_counts(c) for c in counts]).mean()),
        "dead_codes": float(sum((q.cluster_size < q.reset_threshold).sum() for q in layers)),
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


class ValidationFID:
    """The official checkpoint selection (``net_best_fid``): the FID between the evaluator's embeddings of
    what a model makes for validation motions and of the motions themselves.

    ``motions`` are up to ``limit`` validation motions (raw features, at least 2 tokens) evenly spread over
    the split, ``captions`` their first captions; the motions are embedded once, here, and every call
    ``val_fid(generated)`` embeds only the ``generated`` motions (one per validation motion).
    """

    def __init__(self, evaluator, data_dir: str | Path, limit: int = VAL_FID_MOTIONS):
        from motionlab.data.folders import MotionFolder

        val = MotionFolder(data_dir).load_split("val", warn=False)
        keep = [i for i, f in enumerate(val.features) if len(f) >= 8]
        picks = [keep[j] for j in np.linspace(0, len(keep) - 1, min(limit, len(keep))).round().astype(int)]
        self.evaluator = evaluator
        self.motions = [val.features[i] for i in picks]
        self.captions = [val.captions[i][0].text for i in picks]
        self.real = evaluator.embed_motions(self.motions)  # (N, dim_coemb)

    def __call__(self, generated: list[np.ndarray]) -> float:
        from motionlab.evaluation.metrics import fid

        return fid(self.evaluator.embed_motions(generated), self.real, method="eigh")


def needs_evaluator(recipe) -> bool:
    """Whether training ``recipe`` selects its weights by validation FID (and so needs an evaluator)."""
    return recipe.train.best_metric == VAL_FID


def train_tokenizer(data_dir: str | Path, recipe: TokenizerRecipe, *, device: str | torch.device = "auto",
                    checkpoint_dir: str | Path | None = None, evaluator=None) -> TokenizerRun:
    """Train a fresh tokenizer on ``data_dir`` (a folder in the HumanML3D layout); not cached.

    With ``recipe.train.best_metric == "val_fid"`` every evaluation also measures the reconstruction FID of
    the validation motions with ``evaluator`` and the run ends with the weights of the lowest one.
    """
    from motionlab.data.folders import Normalizer

    data_dir, device = Path(data_dir), resolve_device(device)
    recipe = recipe.for_data(data_dir)
    model_config, train_config, window, feat_bias = recipe.model, recipe.train, recipe.window, recipe.feat_bias
    normalizer = Normalizer.from_folder(data_dir, feat_bias=feat_bias)
    bank = load_window_bank(data_dir, "train", window, normalizer).to(device)
    val = load_window_bank(data_dir, "val", window, normalizer).to(device).sliding(VAL_WINDOWS)
    batches = WindowBatches(bank, train_config.batch_size, train_config.seed)
    eval_fn = lambda m, step: validation_metrics(m, val)  # noqa: E731
    if needs_evaluator(recipe):
        if evaluator is None:
            raise InputError("this tokenizer recipe selects its weights by validation FID (best_metric="
                             "'val_fid'): pass evaluator=get_evaluator(data_dir, profile.evaluator)")
        val_fid = ValidationFID(evaluator, data_dir)
        eval_fn = lambda m, step: {**validation_metrics(m, val),  # noqa: E731
                                   VAL_FID: val_fid(reconstruct_motions(m, val_fid.motions)[0])}
    seed_everything(train_config.seed)  # same seed -> same initial weights
    model = VQVAE(model_config)
    model.set_normalizer(normalizer.mean, normalizer.std)
    with cpu_threads(recipe.cpu_threads, device):
        result: TrainResult = train(
            model, batches, tokenizer_loss, train_config, device=device,
            checkpoint_dir=checkpoint_dir, eval_fn=eval_fn,
        )
    return TokenizerRun(model.eval(), recipe, result.history, result.evals, result.seconds)


def untrained_tokenizer(data_dir: str | Path, recipe: TokenizerRecipe, device: str | torch.device = "cpu") -> VQVAE:
    """A reference for "no learning": random weights, codebook initialised from the first training batch
    (one forward pass in training mode, no optimiser step), the dataset's normalisation; in eval mode."""
    from motionlab.data.folders import Normalizer

    device = resolve_device(device)
    recipe = recipe.for_data(data_dir)
    seed = recipe.train.seed
    normalizer = Normalizer.from_folder(data_dir, feat_bias=recipe.feat_bias)
    bank = load_window_bank(data_dir, "train", recipe.window, normalizer).to(device)
    seed_everything(seed)
    model = VQVAE(recipe.model).to(device)
    model.set_normalizer(normalizer.mean, normalizer.std)
    with torch.no_grad():
        model.train()(WindowBatches(bank, recipe.train.batch_size, seed)(0))
    return model.eval()


def save_run(run: TokenizerRun, folder: str | Path) -> Path:
    """Write a :class:`TokenizerRun` as a model folder (weights, config, training record)."""
    extra = {"recipe": run.recipe, "history": run.history, "evals": run.evals, "seconds": run.seconds}
    return checkpoints.save_model(run.model, folder, extra)


def load_run(folder: str | Path, device: str | torch.device = "cpu") -> TokenizerRun:
    """Read what :func:`save_run` wrote."""
    model = checkpoints.load_model(VQVAE, folder, device)
    extra = checkpoints.load_extra(folder)
    where = Path(folder) / "extra.json"
    saved = extra["recipe"]
    recipe = checkpoints.config_from_dict(TokenizerRecipe, {
        **saved, "model": model.config,
        "train": checkpoints.config_from_dict(TrainConfig, saved["train"], where)}, where)
    return TokenizerRun(model, recipe, extra.get("history", []), extra.get("evals", []),
                        float(extra.get("seconds", 0.0)), Path(folder))


def get_tokenizer_run(data_dir: str | Path, recipe: TokenizerRecipe, device: str | torch.device = "auto", *,
                      evaluator=None, retrain: bool = False, quiet: bool = False) -> TokenizerRun:
    """The cached tokenizer of a recipe on a dataset folder (trained on first use), with its training record.

    ``recipe`` is a profile's ``tokenizer`` or a variant of it (``recipe.for_ablation().replace(...)``); the
    training seed is ``recipe.train.seed``.  ``quiet`` hides the printed training log (progress bars in a live
    notebook still show).  The cache entry is keyed by the recipe and the dataset's content fingerprint, so a
    rebuilt dataset never reuses an old tokenizer.  ``evaluator`` (the profile's) is needed only to train a
    recipe that selects its weights by validation FID (``full``, ``paper``).
    """
    from motionlab.data.paths import dataset_label

    data_dir, dev = Path(data_dir), resolve_device(device)
    recipe = recipe.for_data(data_dir)
    key, label = recipe.key(), dataset_label(data_dir)

    def train_and_save(work: Path) -> TokenizerRun:
        run = train_tokenizer(data_dir, recipe, device=dev, evaluator=evaluator)
        save_run(run, work)
        return run

    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        run = load_or_train("tokenizer", label, key, train_and_save, lambda folder: load_run(folder, dev),
                            retrain=retrain)
    run.folder = artifact_dir("tokenizer", label, key)
    return run


def get_tokenizer(data_dir: str | Path, recipe: TokenizerRecipe, device: str | torch.device = "auto") -> VQVAE:
    """The cached, trained :class:`VQVAE` (eval mode); see :func:`get_tokenizer_run`."""
    return get_tokenizer_run(data_dir, recipe, device).model


def feature_dim(data_dir: str | Path) -> int:
    """Feature size of a dataset folder, read from its ``Mean.npy``."""
    mean = Path(data_dir) / "Mean.npy"
    if not mean.is_file():
        raise InputError(f"{data_dir} has no Mean.npy: expected a dataset folder in the HumanML3D layout")
    return int(np.load(mean, allow_pickle=False).shape[-1])
