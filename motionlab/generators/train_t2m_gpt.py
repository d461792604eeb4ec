"""Training T2M-GPT on pre-tokenised motions, and the cached, ready-to-use text-to-motion pipeline.

The recipe of the official code, step by step:

1. every training motion is tokenised once by the frozen VQ-VAE (``tokenizers.tokenize_split``);
2. every caption is embedded once by the frozen text encoder (``text.embed_captions``, cached on disk);
3. a training item is one caption of one motion and its codes, with the **head/tail token drop**
   (probability 1/3, one token removed from the start or the end, 50/50), then ``codes + End + Pad...``;
4. the batch inputs are **corrupted**: each input token is replaced by a uniformly random code with
   probability τ (fixed, or drawn per batch from U[0, 1]); the targets stay clean.  The model learns to
   continue sensibly after its own mistakes, which is what it meets when it generates;
5. cross-entropy over codes and End, Pad ignored.

:class:`T2MGPTRecipe` is what a profile holds for the GPT (model config, training config, τ, the share of
the training data, the text encoder, the ablation overrides).  :func:`get_t2m_gpt` runs the recipe through
``runtime.load_or_train`` (every distinct recipe is trained once and cached) and returns a
:class:`T2MGPTPipeline`: captions in, raw motion features out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import T2MGPT, T2MGPTConfig
from motionlab.generators.t2m_gpt_pipeline import GeneratedMotions, RandomTokens, T2MGPTPipeline
from motionlab.training import Recipe, TrainConfig

__all__ = [
    "DROP_PROB", "resolve_tau", "tau_label", "draw_tau", "corrupt_tokens", "drop_head_or_tail",
    "GPTTokenSet", "collate_gpt", "GPTBatches", "gpt_loss", "validation_loss",
    "GeneratedMotions", "T2MGPTPipeline", "RandomTokens", "T2MGPTRecipe", "fraction_indices", "get_t2m_gpt",
    "t2m_gpt_is_cached",
]

DROP_PROB = 1.0 / 3.0  # official: with probability 1/3 drop one token at the head or the tail


@dataclass(frozen=True)
class T2MGPTRecipe(Recipe):
    """The GPT of a profile: ``model`` (:class:`T2MGPTConfig`; ``n_codes`` and ``text_dim`` are set from the
    tokenizer and the text encoder), ``train`` (:class:`TrainConfig`), the corruption rate ``tau`` (a float,
    or None / ``"uniform"`` for U[0, 1] per batch), the share ``train_fraction`` of the training motions, the
    head/tail ``drop_prob``, the sentence ``encoder`` and how sub-clip captions get their tokens
    (``subclips``: ``"crop"`` tokenises each sub-clip alone, ``"slice"`` slices the whole motion's tokens as
    the official code; see :func:`~motionlab.tokenizers.artifacts.tokenize_split`)."""

    model: T2MGPTConfig = field(default_factory=T2MGPTConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=300000, lr=1e-4, batch_size=128, betas=(0.5, 0.9), weight_decay=1e-6, weight_decay_on="all",
        schedule="step", milestones=(150000,), gamma=0.05))
    tau: float | None = 0.5
    train_fraction: float = 1.0
    drop_prob: float = DROP_PROB
    encoder: str = "minilm"
    subclips: str = "crop"

    def __post_init__(self):
        object.__setattr__(self, "tau", resolve_tau(self.tau))
        if not 0.0 < float(self.train_fraction) <= 1.0:
            raise InputError(f"T2MGPTRecipe.train_fraction={self.train_fraction}: expected a fraction in (0, 1]")


# ------------------------------------------------------------------------------------------- corruption
def resolve_tau(tau) -> float | None:
    """Normalise a corruption setting: a float in [0, 1] (fixed τ) or None (τ ~ U[0, 1] per batch).

    Accepts floats, None and ``"uniform"`` / ``"U[0,1]"`` (both mean None).
    """
    if isinstance(tau, str):
        key = tau.strip().lower().replace(" ", "")
        if key in ("uniform", "u[0,1]", "u(0,1)"):
            return None
        try:
            tau = float(key)
        except ValueError:
            raise InputError(f"tau={tau!r}: expected a number in [0, 1] or 'uniform'") from None
    if tau is None:
        return None
    tau = float(tau)
    if not 0.0 <= tau <= 1.0:
        raise InputError(f"tau={tau}: expected a corruption probability in [0, 1] (or 'uniform')")
    return tau


def tau_label(tau: float | None) -> str:
    """How a τ setting is written in tables: ``"0.5"`` or ``"U[0,1]"``."""
    return "U[0,1]" if tau is None else f"{tau:g}"


def draw_tau(tau: float | None, rng: np.random.Generator) -> float:
    """The corruption rate of one batch: τ itself, or a fresh draw from U[0, 1] when τ is None."""
    return float(rng.uniform(0.0, 1.0)) if tau is None else float(tau)


def corrupt_tokens(idx: np.ndarray, tau: float, n_codes: int, rng: np.random.Generator) -> np.ndarray:
    """Replace each token with probability ``tau`` by a code drawn uniformly from ``[0, n_codes)``.

    ``idx`` are model inputs (codes, End, Pad); replacements are always codes, never End or Pad, and they
    are applied at every position (End/Pad inputs included), as in the official code.  Returns a new array.
    """
    idx = np.asarray(idx)
    hit = rng.random(idx.shape) < tau  # Bernoulli(τ) per position
    noise = rng.integers(0, n_codes, size=idx.shape)  # uniform codes
    return np.where(hit, noise, idx).astype(idx.dtype, copy=False)


def drop_head_or_tail(codes: np.ndarray, rng: np.random.Generator, p: float = DROP_PROB) -> np.ndarray:
    """With probability ``p`` remove the first or the last code (50/50); sequences of one code are kept."""
    if len(codes) > 1 and rng.random() < p:
        return codes[1:] if rng.random() < 0.5 else codes[:-1]
    return codes


# ---------------------------------------------------------------------------------------- training set
class GPTTokenSet:
    """Motions as code sequences with their captions' sentence features.

    ``tokens[i]``: 1-D int array of motion ``i``'s codes; ``text_emb[i]``: ``(n_captions_i, dim)`` features of
    its captions.  :meth:`sample` draws one caption, applies the head/tail drop, crops to the block and
    returns ``{"text": (dim,), "target": (block_size,), "length": n}`` with target = codes, End, Pad...
    """

    def __init__(self, tokens: Sequence[np.ndarray], text_emb: Sequence[np.ndarray], config: T2MGPTConfig,
                 drop_prob: float = DROP_PROB):
        if len(tokens) != len(text_emb):
            raise InputError(f"GPTTokenSet: {len(tokens)} token sequences but {len(text_emb)} caption sets")
        if not len(tokens):
            raise InputError("GPTTokenSet: no motions to train on")
        self.tokens = [np.asarray(t, dtype=np.int64).reshape(-1) for t in tokens]
        self.text_emb = [np.asarray(e).reshape(-1, config.text_dim) for e in text_emb]
        self.config, self.drop_prob = config, float(drop_prob)
        for i, (t, e) in enumerate(zip(self.tokens, self.text_emb)):
            if len(t) == 0:
                raise InputError(f"GPTTokenSet: motion {i} has no tokens")
            if t.min() < 0 or t.max() >= config.n_codes:
                raise InputError(f"GPTTokenSet: motion {i} has codes outside [0, {config.n_codes}): "
                                 f"min {t.min()}, max {t.max()}")
            if len(e) == 0:
                raise InputError(f"GPTTokenSet: motion {i} has no caption features")

    def __len__(self) -> int:
        return len(self.tokens)

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        cfg = self.config
        codes = drop_head_or_tail(self.tokens[index], rng, self.drop_prob)
        if len(codes) > cfg.max_tokens:  # longer than the block (never for <= 196-frame motions): random window
            start = int(rng.integers(0, len(codes) - cfg.max_tokens + 1))
            codes = codes[start:start + cfg.max_tokens]
        caps = self.text_emb[index]
        text = caps[int(rng.integers(0, len(caps)))]
        target = np.full(cfg.block_size, cfg.pad_id, dtype=np.int64)
        target[: len(codes)] = codes
        target[len(codes)] = cfg.end_id
        return {"text": np.asarray(text, dtype=np.float32), "target": target, "length": len(codes)}

    def __getitem__(self, index: int) -> dict:
        """A deterministic item (no drop, first caption): what a validation pass reads."""
        cfg = self.config
        codes = self.tokens[index][: cfg.max_tokens]
        target = np.full(cfg.block_size, cfg.pad_id, dtype=np.int64)
        target[: len(codes)] = codes
        target[len(codes)] = cfg.end_id
        return {"text": self.text_emb[index][0].astype(np.float32), "target": target, "length": len(codes)}


def collate_gpt(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack items; trailing columns that are Pad in every row are cut (they carry no loss)."""
    target = np.stack([it["target"] for it in items])  # (B, block)
    length = np.array([it["length"] for it in items], dtype=np.int64)
    width = int(length.max()) + 1  # codes + End of the longest sequence
    return {"text": torch.from_numpy(np.stack([it["text"] for it in items])),  # (B, dim)
            "target": torch.from_numpy(target[:, :width].copy()),  # (B, W)
            "length": torch.from_numpy(length)}


class GPTBatches:
    """``batch_fn(step)`` for :func:`motionlab.training.train`: sampled items + corrupted inputs.

    Returns ``{"text" (B, dim), "idx" (B, W-1) corrupted inputs, "target" (B, W), "length" (B,), "tau" ()}``;
    every random choice is a function of ``(seed, step)``, so a resumed run sees the same batches.
    """

    def __init__(self, dataset: GPTTokenSet, batch_size: int, tau: float | None, seed: int = 0):
        from motionlab.training import RandomBatches

        self.dataset, self.tau, self.seed = dataset, tau, int(seed)
        self.sampler = RandomBatches(dataset, batch_size, seed=seed, collate=collate_gpt)

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        from motionlab.runtime import rng

        batch = self.sampler(step)
        g = rng(self.seed, "corrupt", step)
        tau = draw_tau(self.tau, g)
        inputs = batch["target"][:, :-1].numpy()  # (B, W-1): the text slot predicts target[0]
        batch["idx"] = torch.from_numpy(corrupt_tokens(inputs, tau, self.dataset.config.n_codes, g))
        batch["tau"] = torch.tensor(tau)
        return batch


def gpt_loss(model: T2MGPT, batch: dict) -> dict[str, torch.Tensor]:
    """``loss_fn`` for the training loop: the model's cross-entropy on (corrupted inputs, clean targets)."""
    _, losses = model(batch["text"], batch["idx"], batch["target"])
    return {**losses, "tau": batch["tau"]}


# ------------------------------------------------------------------------------------ validation
def validation_loss(model: T2MGPT, dataset: GPTTokenSet, batch_size: int = 128, limit: int = 1024
                    ) -> dict[str, float]:
    """Teacher-forced cross-entropy and next-token accuracy on clean (uncorrupted) validation items."""
    device = model.lm_head.weight.device
    n = min(len(dataset), limit)
    total = acc = 0.0
    for start in range(0, n, batch_size):
        batch = collate_gpt([dataset[i] for i in range(start, min(n, start + batch_size))])
        target = batch["target"].to(device)
        _, losses = model(batch["text"].to(device), target[:, :-1], target)
        total += float(losses["loss"]) * len(target)
        acc += float(losses["accuracy"]) * len(target)
    return {"val_loss": total / n, "val_accuracy": acc / n}


# ------------------------------------------------------------------------------------ cached model
def _caption_features(split, encoder: str, device, progress=None) -> list[np.ndarray]:
    """Per motion of a tokenised split: ``(n_captions, dim)`` fp16 sentence features (cached on disk)."""
    from motionlab.text.encoders import embed_caption_sets

    return embed_caption_sets(split.captions, encoder, device=device, progress=progress)


def fraction_indices(n: int, fraction: float, seed: int) -> np.ndarray:
    """The training motions a run with ``fraction`` of the data uses: a prefix of one seeded permutation,
    so the 25 % subset is inside the 50 % subset, which is inside the full set."""
    from motionlab.runtime import rng

    if not 0.0 < fraction <= 1.0:
        raise InputError(f"train_fraction={fraction}: expected a fraction in (0, 1]")
    keep = max(1, int(round(fraction * n)))
    return np.sort(rng(seed, "train-fraction").permutation(n)[:keep])


def t2m_gpt_is_cached(data_dir: str | Path, recipe: T2MGPTRecipe, tokenizer) -> bool:
    """Whether :func:`get_t2m_gpt` with these arguments would load instead of train."""
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import is_cached

    if not (Path(data_dir) / "Mean.npy").is_file():
        return False
    tokenizer = tokenizer.for_data(data_dir)
    key = _key(_bind(recipe, tokenizer), tokenizer)
    return is_cached("t2m_gpt", dataset_label(data_dir), key)


def _bind(recipe: T2MGPTRecipe, tokenizer) -> T2MGPTRecipe:
    """The recipe with the sizes it takes from its inputs: the tokenizer's codebook, the encoder's width."""
    from motionlab.text.encoders import get_text_encoder

    return recipe.replace(n_codes=tokenizer.model.n_codes, text_dim=get_text_encoder(recipe.encoder).dim)


def _key(recipe: T2MGPTRecipe, tokenizer) -> dict:
    return {"gpt": recipe.key(), "tokenizer": tokenizer.key()}


def get_t2m_gpt(data_dir: str | Path, recipe: T2MGPTRecipe, tokenizer, device="auto", *, evaluator=None,
                retrain: bool = False, verbose: bool = True) -> T2MGPTPipeline:
    """The trained T2M-GPT of a recipe on a dataset folder, as a ready :class:`T2MGPTPipeline` (cached).

    ``recipe``: a profile's ``gpt`` or a variant (``profile.gpt.for_ablation().replace(tau=0.0, seed=1)``);
    ``tokenizer``: the :class:`~motionlab.tokenizers.train.TokenizerRecipe` whose tokens it learns (a
    profile's ``tokenizer``), loaded from its own cache (trained first if missing).  Each distinct pair of
    recipes is trained once (``runtime.load_or_train``) and then loaded.  ``evaluator`` (the profile's) is
    needed only to train recipes that select their weights by validation FID (``best_metric="val_fid"``:
    ``full`` and ``paper``, as the official ``net_best_fid``).
    """
    from motionlab import checkpoints
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.tokenizers.artifacts import tokenize_split
    from motionlab.tokenizers.train import get_tokenizer_run, needs_evaluator
    from motionlab.training import train

    data_dir, dev = Path(data_dir), resolve_device(device)
    if needs_evaluator(recipe) and evaluator is None and not t2m_gpt_is_cached(data_dir, recipe, tokenizer):
        raise InputError("this GPT recipe selects its weights by validation FID (best_metric='val_fid'): pass "
                         "evaluator=get_evaluator(data_dir, profile.evaluator)")
    tokenizer = tokenizer.for_data(data_dir)
    run = get_tokenizer_run(data_dir, tokenizer, dev, evaluator=evaluator)
    recipe = _bind(recipe, tokenizer)
    model_cfg, train_cfg, seed = recipe.model, recipe.train, recipe.train.seed
    tokenizer_seed = run.recipe.train.seed

    def build(work):
        say = print if verbose else (lambda *_: None)
        train_split = tokenize_split(run, data_dir, "train", seed=tokenizer_seed, subclips=recipe.subclips)
        val_split = tokenize_split(run, data_dir, "val", seed=tokenizer_seed, subclips=recipe.subclips)
        train_emb = _caption_features(train_split, recipe.encoder, dev, progress=say)
        val_emb = _caption_features(val_split, recipe.encoder, dev, progress=say)
        keep = fraction_indices(len(train_split), recipe.train_fraction, seed)
        train_set = GPTTokenSet([train_split.tokens[i] for i in keep], [train_emb[i] for i in keep], model_cfg,
                                recipe.drop_prob)
        val_set = GPTTokenSet(val_split.tokens, val_emb, model_cfg)
        say(f"[t2m-gpt] {len(train_set)} training motions ({recipe.train_fraction:.0%}), "
            f"tau={tau_label(recipe.tau)}, {train_cfg.steps} steps, seed {seed}")
        torch.manual_seed(seed)
        model = T2MGPT(model_cfg)
        cfg = train_cfg if train_cfg.eval_every else replace(train_cfg, eval_every=max(1, train_cfg.steps // 10))
        eval_fn = lambda m, step: validation_loss(m, val_set)  # noqa: E731
        if needs_evaluator(recipe):
            eval_fn = _with_val_fid(eval_fn, data_dir, evaluator, run.model, recipe.encoder, seed)
        result = train(model, GPTBatches(train_set, cfg.batch_size, recipe.tau, seed=seed), gpt_loss, cfg,
                       device=dev, eval_fn=eval_fn)
        info = {"tau": tau_label(recipe.tau), "train_fraction": float(recipe.train_fraction),
                "n_train": len(train_set), "steps": train_cfg.steps, "seed": seed,
                "seconds": round(result.seconds, 2), "history": result.history, "evals": result.evals,
                "encoder": recipe.encoder, "data": data_dir.name}
        checkpoints.save_model(model, work, info)
        return _pipeline(model.eval(), run.model, recipe.encoder, seed, info)

    def load(folder):
        model = checkpoints.load_model(T2MGPT, folder, dev)
        return _pipeline(model, run.model, recipe.encoder, seed, checkpoints.load_extra(folder))

    return load_or_train("t2m_gpt", dataset_label(data_dir), _key(recipe, tokenizer), build, load,
                         retrain=retrain, verbose=verbose)


def _with_val_fid(eval_fn, data_dir: Path, evaluator, vq, encoder: str, seed: int):
    """``eval_fn`` plus ``val_fid``: the FID of motions generated for validation captions (first caption of
    each motion, the model's own lengths, a fixed sampling seed) against those motions."""
    from motionlab.tokenizers.train import VAL_FID, ValidationFID

    val_fid = ValidationFID(evaluator, data_dir)

    def with_fid(model: T2MGPT, step: int) -> dict[str, float]:
        pipeline = _pipeline(model, vq, encoder, seed, {})
        return {**eval_fn(model, step), VAL_FID: val_fid(pipeline(val_fid.captions))}

    return with_fid


def _pipeline(model: T2MGPT, vq, encoder: str, seed: int, info: dict) -> T2MGPTPipeline:
    return T2MGPTPipeline(model, vq, encoder=encoder, seed=seed, info=info)
