"""Training MoMask's length estimator: how many tokens a caption's motion should have, and the cached model.

When no length is given, MoMask draws one: an MLP on the sentence feature gives a distribution over token
counts (class k = k tokens = 4k frames) and the pipeline samples it
(:meth:`~motionlab.generators.momask.masked_transformer.LengthEstimator.sample`).  The official checkpoint
(``length_estimator/model/finest.tar``) ships without its training code, so the recipe here is our own, kept
as plain as the model:

1. every caption of every training motion is one example: its sentence feature (the frozen encoder's, cached
   on disk) and the motion's token count ``frames // unit`` (the same count the masked transformer is trained
   on), counts above the last class clamped to it;
2. cross-entropy ``-log p(n | c)`` on shuffled batches (``training.RandomBatches``), AdamW;
3. validation cross-entropy on the val split's captions every ``eval_every`` steps, and the run ends with the
   weights of the lowest one (``best_metric="val_loss"``): the MLP overfits a small caption set quickly, and
   the official file name ``finest.tar`` is the same "best on validation" rule of the other official models.

The token counts come from the dataset folder alone (no tokenizer is trained for them): the tokenizer recipe
only gives ``unit``, the frames per token.

:class:`LengthEstimatorRecipe` is what a profile holds (``profile.momask_length``);
:func:`get_length_estimator` trains it through ``runtime.load_or_train`` and returns a
:class:`LengthEstimatorRun`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.momask.masked_transformer import (
    LengthEstimator,
    LengthEstimatorConfig,
)
from motionlab.training import Recipe, TrainConfig

__all__ = [
    "LengthEstimatorRecipe",
    "LengthEstimatorRun",
    "LengthSet",
    "get_length_estimator",
    "length_estimator_is_cached",
    "length_loss",
    "length_validation",
]


@dataclass(frozen=True)
class LengthEstimatorRecipe(Recipe):
    """The length estimator of a profile: ``model`` (:class:`LengthEstimatorConfig`; ``text_dim`` is set from
    the encoder), ``train`` (:class:`TrainConfig`) and the sentence ``encoder`` (the masked transformer's).

    The defaults are our choice (the official training code is not released): AdamW 1e-4, β (0.9, 0.99),
    weight decay 1e-5, batch 64, 20k steps (about 15 epochs of HumanML3D's ~87k training captions), weights
    of the lowest validation cross-entropy."""

    model: LengthEstimatorConfig = field(default_factory=LengthEstimatorConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=20000, lr=1e-4, batch_size=64, betas=(0.9, 0.99), weight_decay=1e-5, amp=False, log_every=500,
        eval_every=1000, best_metric="val_loss"))
    encoder: str = "minilm"


# ---------------------------------------------------------------------------------------- training set
class LengthSet:
    """(caption feature, token-count class) pairs: ``text (N, dim)`` float32, ``length (N,)`` int64.

    Built from per-motion caption features ``text_emb[i] (n_i, dim)`` and token counts ``tokens[i]``; every
    caption of motion ``i`` gets class ``min(tokens[i], n_classes - 1)``.
    """

    def __init__(self, text_emb: Sequence[np.ndarray], tokens: Sequence[int], config: LengthEstimatorConfig):
        if len(text_emb) != len(tokens):
            raise InputError(f"LengthSet: {len(text_emb)} caption sets but {len(tokens)} token counts")
        if not len(tokens):
            raise InputError("LengthSet: no motions to train on")
        feats = [np.asarray(e, dtype=np.float32).reshape(-1, config.text_dim) for e in text_emb]
        counts = np.asarray(tokens, dtype=np.int64)
        if counts.min() < 1:
            raise InputError(f"LengthSet: token counts must be >= 1, got min {counts.min()}")
        self.text = np.concatenate(feats)  # (N, dim): one row per caption
        per_caption = np.repeat(counts, [len(f) for f in feats])  # (N,) the motion's count for each caption
        self.length = np.minimum(per_caption, config.n_classes - 1)  # (N,) class = token count, clamped
        self.clamped = int((per_caption > config.n_classes - 1).sum())  # reported, not hidden

    def __len__(self) -> int:
        return len(self.length)

    def __getitem__(self, index: int) -> dict:
        return {"text": self.text[index], "length": self.length[index]}


def length_loss(model: LengthEstimator, batch: dict) -> dict[str, torch.Tensor]:
    """``loss_fn`` for the training loop: cross-entropy of the token-count class."""
    return model(batch["text"], batch["length"])[1]


@torch.no_grad()
def length_validation(model: LengthEstimator, dataset: LengthSet, batch_size: int = 1024) -> dict[str, float]:
    """Cross-entropy and accuracy (exact class) over every validation caption, and the mean absolute error of
    the most likely class in tokens."""
    device = next(model.parameters()).device
    total = acc = err = 0.0
    for start in range(0, len(dataset), batch_size):
        text = torch.from_numpy(dataset.text[start:start + batch_size]).to(device)  # (b, dim)
        target = torch.from_numpy(dataset.length[start:start + batch_size]).to(device)  # (b,)
        logits, losses = model(text, target)
        total += float(losses["loss"]) * len(target)
        acc += float(losses["accuracy"]) * len(target)
        err += float((logits.argmax(-1) - target).abs().float().sum())
    n = len(dataset)
    return {"val_loss": total / n, "val_accuracy": acc / n, "val_abs_error_tokens": err / n}


# ------------------------------------------------------------------------------------------ the run
@dataclass
class LengthEstimatorRun:
    """A trained length estimator (eval mode), its recipe (``text_dim`` bound to the encoder) and its
    training record (``history``, ``evals``, ``n_train`` captions, ``clamped`` ...)."""

    model: LengthEstimator
    recipe: LengthEstimatorRecipe
    info: dict = field(default_factory=dict)


def _bind(recipe: LengthEstimatorRecipe) -> LengthEstimatorRecipe:
    """The recipe with the encoder's feature width."""
    from motionlab.text.encoders import get_text_encoder

    return recipe.replace(text_dim=get_text_encoder(recipe.encoder).dim)


def _key(recipe: LengthEstimatorRecipe, unit: int) -> dict:
    return {"length": recipe.key(), "unit": int(unit)}


def _unit(tokenizer_recipe) -> int:
    return int(tokenizer_recipe.model.unit)


def length_estimator_is_cached(data_dir: str | Path, recipe: LengthEstimatorRecipe, tokenizer_recipe) -> bool:
    """Whether :func:`get_length_estimator` with these arguments would load instead of train."""
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import is_cached

    if not (Path(data_dir) / "Mean.npy").is_file():
        return False
    key = _key(_bind(recipe), _unit(tokenizer_recipe))
    return is_cached("momask_length", dataset_label(data_dir), key)


def get_length_estimator(data_dir: str | Path, recipe: LengthEstimatorRecipe, tokenizer_recipe, device="auto", *,
                         retrain: bool = False, verbose: bool = True) -> LengthEstimatorRun:
    """The trained length estimator of a recipe on a dataset folder (cached).

    ``recipe``: a profile's ``momask_length`` or a variant; ``tokenizer_recipe``: the RVQ's
    :class:`~motionlab.tokenizers.train.TokenizerRecipe` (a profile's ``momask_tokenizer``), read only for its
    frames per token (``unit``, 4), so nothing is tokenised.  Each distinct recipe is trained once
    (``runtime.load_or_train``) and then loaded.
    """
    from motionlab import checkpoints
    from motionlab.data.folders import MotionFolder
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.text.encoders import embed_caption_sets
    from motionlab.training import RandomBatches, train

    data_dir, dev = Path(data_dir), resolve_device(device)
    recipe, unit = _bind(recipe), _unit(tokenizer_recipe)
    model_cfg, train_cfg, seed = recipe.model, recipe.train, recipe.train.seed

    def build(work):
        say = print if verbose else (lambda *_: None)
        folder = MotionFolder(data_dir)
        sets = {}
        for s in ("train", "val"):
            split = folder.load_split(s)
            tokens = [max(1, len(f) // unit) for f in split.features]  # what the masked transformer sees
            emb = embed_caption_sets(split.captions, recipe.encoder, device=dev, progress=say)
            sets[s] = LengthSet(emb, tokens, model_cfg)
        say(f"[momask-length] {len(sets['train'])} training captions ({sets['train'].clamped} longer than "
            f"{model_cfg.n_classes - 1} tokens, clamped), {train_cfg.steps} steps, seed {seed}")
        torch.manual_seed(seed)
        model = LengthEstimator(model_cfg)
        result = train(model, RandomBatches(sets["train"], train_cfg.batch_size, seed=seed), length_loss,
                       train_cfg, device=dev, eval_fn=lambda m, step: length_validation(m, sets["val"]))
        info = {"n_train": len(sets["train"]), "clamped": sets["train"].clamped, "steps": train_cfg.steps,
                "seed": seed, "seconds": round(result.seconds, 2), "history": result.history,
                "evals": result.evals, "encoder": recipe.encoder, "unit": unit, "data": data_dir.name}
        checkpoints.save_model(model, work, info)
        return LengthEstimatorRun(model.eval(), recipe, info)

    def load(folder):
        model = checkpoints.load_model(LengthEstimator, folder, dev)
        return LengthEstimatorRun(model, recipe, checkpoints.load_extra(folder))

    return load_or_train("momask_length", dataset_label(data_dir), _key(recipe, unit), build, load,
                         retrain=retrain, verbose=verbose)
