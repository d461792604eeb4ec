"""Training MoMask's residual transformer on pre-tokenised RVQ motions, and the cached trained model.

The recipe of the official code (``train_res_transformer.py``), step by step:

1. every training motion is tokenised once by the frozen RVQ-VAE: ``(T', L)`` ids, column v = layer v
   (``tokenizers.tokenize_split`` with a residual tokenizer);
2. every caption is embedded once by the frozen text encoder (cached on disk);
3. a training item is one caption of one motion and all its layers' ids, padded with the Pad id;
4. each sample of a batch gets a target layer ``j`` in 1..L-1 by the official schedule
   (:func:`~motionlab.generators.momask.residual_transformer.layer_schedule`, low layers more often), drawn
   here in the batch function from ``(seed, step)`` so a resumed or data-parallel run sees the same layers;
5. cross-entropy on layer ``j``'s ids at the valid positions, the sentence feature dropped with
   probability 0.2 (inside the model).

:class:`ResidualTransformerRecipe` is what a profile holds (``profile.momask_residual``);
:func:`get_residual_transformer` trains it through ``runtime.load_or_train`` (once per distinct recipe and
tokenizer) and returns a :class:`ResidualRun`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.momask.residual_transformer import (
    ResidualTransformer, ResidualTransformerConfig, layer_schedule,
)
from motionlab.generators.momask.token_sets import CaptionedTokens, collate_captioned
from motionlab.training import Recipe, TrainConfig

__all__ = ["ResidualTransformerRecipe", "ResidualTokenSet", "collate_residual", "ResidualBatches",
           "residual_transformer_is_cached", "residual_loss", "residual_validation_loss", "ResidualRun", "get_residual_transformer"]


@dataclass(frozen=True)
class ResidualTransformerRecipe(Recipe):
    """The residual transformer of a profile: ``model`` (:class:`ResidualTransformerConfig`; ``n_codes``,
    ``n_quantizers`` and ``code_dim`` are set from the RVQ tokenizer, ``text_dim`` from the encoder),
    ``train`` (:class:`TrainConfig`), the sentence ``encoder`` and how sub-clip captions get their tokens
    (``subclips``, see :func:`~motionlab.tokenizers.artifacts.tokenize_split`).

    Defaults are the official run (``tres_nlayer8_ld384_ff1024_rvq6ns_cdp0.2_sw``, batch 64, AdamW 2e-4
    beta (0.9, 0.99) wd 1e-5 on every parameter, 2k warm-up, lr x0.1 at 50k, fp32); the official run is
    500 epochs, about 183k iterations on HumanML3D's 23,384 training motions (an estimate)."""

    model: ResidualTransformerConfig = field(default_factory=ResidualTransformerConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=183000, lr=2e-4, batch_size=64, betas=(0.9, 0.99), weight_decay=1e-5, weight_decay_on="all",
        warmup_steps=2000, schedule="step", milestones=(50000,), gamma=0.1, amp=False))
    encoder: str = "minilm"
    subclips: str = "crop"


# ---------------------------------------------------------------------------------------- training set
class ResidualTokenSet(CaptionedTokens):
    """Motions as ``(T', L)`` RVQ id arrays (column v = layer v) with their captions' sentence features."""

    key = "ids"

    def __init__(self, tokens: Sequence[np.ndarray], text_emb: Sequence[np.ndarray],
                 config: ResidualTransformerConfig):
        super().__init__(tokens, text_emb, config, layers=config.n_quantizers,
                         layout_hint=f" from a residual tokenizer with n_quantizers={config.n_quantizers}")


def collate_residual(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack items: ``{"text" (B, dim), "ids" (B, W, L), "length" (B,)}``."""
    return collate_captioned(items, "ids")



class ResidualBatches:
    """``batch_fn(step)`` for :func:`motionlab.training.train`: sampled items + one target layer per sample.

    Returns ``{"text" (B, dim), "ids" (B, W, L), "length" (B,), "layer" (B,)}``; the items and the layers are
    functions of ``(seed, step)`` only (layers by the official schedule from ``runtime.rng(seed, "layer",
    step)``), so a resumed run and every DDP rank see the same batch.
    """

    def __init__(self, dataset: ResidualTokenSet, batch_size: int, seed: int = 0):
        from motionlab.training import RandomBatches

        self.dataset, self.seed = dataset, int(seed)
        self.sampler = RandomBatches(dataset, batch_size, seed=seed, collate=collate_residual)

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        from motionlab.runtime import rng

        batch = self.sampler(step)
        u = torch.from_numpy(rng(self.seed, "layer", step).random(len(batch["length"])))  # (B,) U[0, 1)
        batch["layer"] = layer_schedule(u, self.dataset.config.n_quantizers)  # (B,) in 1..L-1
        return batch


def residual_loss(model: ResidualTransformer, batch: dict) -> dict[str, torch.Tensor]:
    """``loss_fn`` for the training loop: cross-entropy of each sample's target layer (pads ignored)."""
    _, losses = model(batch["text"], batch["ids"], batch["length"], layer=batch["layer"])
    return losses


@torch.no_grad()
def residual_validation_loss(model: ResidualTransformer, dataset: ResidualTokenSet, batch_size: int = 128,
                             limit: int = 1024) -> dict[str, float]:
    """Cross-entropy and accuracy of every residual layer on the deterministic items (no layer drawn):
    ``val_loss_layer{j}``, ``val_accuracy_layer{j}`` for j = 1..L-1, and their means ``val_loss``,
    ``val_accuracy``.  Per layer, weighted by valid tokens."""
    was_training = model.training
    model.eval()
    L, n = model.config.n_quantizers, min(len(dataset), limit)
    sums = {j: [0.0, 0.0, 0] for j in range(1, L)}  # loss x tokens, accuracy x tokens, tokens
    try:
        for start in range(0, n, batch_size):
            batch = collate_residual([dataset[i] for i in range(start, min(n, start + batch_size))])
            tokens = int(batch["length"].sum())
            for j in range(1, L):
                _, losses = model(batch["text"], batch["ids"], batch["length"], layer=j)
                sums[j][0] += float(losses["loss"]) * tokens
                sums[j][1] += float(losses["accuracy"]) * tokens
                sums[j][2] += tokens
    finally:
        model.train(was_training)
    out = {}
    for j, (loss, acc, tokens) in sums.items():
        out[f"val_loss_layer{j}"], out[f"val_accuracy_layer{j}"] = loss / tokens, acc / tokens
    out["val_loss"] = float(np.mean([out[f"val_loss_layer{j}"] for j in range(1, L)]))
    out["val_accuracy"] = float(np.mean([out[f"val_accuracy_layer{j}"] for j in range(1, L)]))
    return out


# ------------------------------------------------------------------------------------ cached model
@dataclass
class ResidualRun:
    """A trained residual transformer (eval mode), the recipe it was trained with (sizes bound to its
    tokenizer and encoder) and its training record (``history``, ``evals``, ``n_train``, ``seconds``...)."""

    model: ResidualTransformer
    recipe: ResidualTransformerRecipe
    info: dict = field(default_factory=dict)


def _bind(recipe: ResidualTransformerRecipe, tokenizer) -> ResidualTransformerRecipe:
    """The recipe with the sizes it takes from its inputs: the RVQ's layers, codebook and code width, the
    encoder's feature width."""
    from motionlab.text.encoders import get_text_encoder

    vq = tokenizer.model
    if vq.n_quantizers < 2:
        raise InputError(f"the residual transformer needs a residual tokenizer: tokenizer recipe has "
                         f"n_quantizers={vq.n_quantizers}; expected >= 2 (a profile's momask_tokenizer)")
    return recipe.replace(n_codes=vq.n_codes, n_quantizers=vq.n_quantizers, code_dim=vq.code_dim,
                          text_dim=get_text_encoder(recipe.encoder).dim)


def _key(recipe: ResidualTransformerRecipe, tokenizer) -> dict:
    return {"residual": recipe.key(), "tokenizer": tokenizer.key()}


def residual_transformer_is_cached(data_dir: str | Path, recipe: ResidualTransformerRecipe, tokenizer) -> bool:
    """Whether :func:`get_residual_transformer` with these arguments would load instead of train."""
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import is_cached

    if not (Path(data_dir) / "Mean.npy").is_file():
        return False
    tokenizer = tokenizer.for_data(data_dir)
    return is_cached("momask_residual", dataset_label(data_dir), _key(_bind(recipe, tokenizer), tokenizer))


def get_residual_transformer(data_dir: str | Path, recipe: ResidualTransformerRecipe, tokenizer_recipe,
                             device="auto", *, evaluator=None, retrain: bool = False, verbose: bool = True
                             ) -> ResidualRun:
    """The trained residual transformer of a recipe on a dataset folder (cached).

    ``recipe``: a profile's ``momask_residual`` or a variant (``recipe.replace(steps=..., seed=1)``);
    ``tokenizer_recipe``: the RVQ :class:`~motionlab.tokenizers.train.TokenizerRecipe` whose ids it learns
    (a profile's ``momask_tokenizer``), loaded from its own cache (trained first if missing; ``evaluator``
    is passed on for tokenizer recipes that select by validation FID).  Each distinct pair of recipes is
    trained once (``runtime.load_or_train``) and then loaded.  Weights are selected by nothing: the run
    ends with its last weights (the official run keeps its best validation FID of full generation, which
    needs the masked transformer too).
    """
    from motionlab import checkpoints
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.text.encoders import embed_caption_sets
    from motionlab.tokenizers.artifacts import tokenize_split
    from motionlab.tokenizers.train import get_tokenizer_run
    from motionlab.training import train

    data_dir, dev = Path(data_dir), resolve_device(device)
    tokenizer = tokenizer_recipe.for_data(data_dir)
    recipe = _bind(recipe, tokenizer)
    model_cfg, train_cfg, seed = recipe.model, recipe.train, recipe.train.seed

    def build(work):
        say = print if verbose else (lambda *_: None)
        run = get_tokenizer_run(data_dir, tokenizer, dev, evaluator=evaluator)
        splits = {s: tokenize_split(run, data_dir, s, seed=run.recipe.train.seed, subclips=recipe.subclips)
                  for s in ("train", "val")}
        sets = {s: ResidualTokenSet(sp.tokens, embed_caption_sets(sp.captions, recipe.encoder, device=dev,
                                                                  progress=say), model_cfg)
                for s, sp in splits.items()}
        say(f"[momask-residual] {len(sets['train'])} training motions, {model_cfg.n_quantizers} layers, "
            f"{train_cfg.steps} steps, seed {seed}")
        torch.manual_seed(seed)
        model = ResidualTransformer(model_cfg)
        cfg = train_cfg if train_cfg.eval_every else replace(train_cfg, eval_every=max(1, train_cfg.steps // 10))
        # untied embeddings of layers above a batch's highest target get no gradient: tell DDP so
        result = train(model, ResidualBatches(sets["train"], cfg.batch_size, seed=seed), residual_loss, cfg,
                       device=dev, eval_fn=lambda m, step: residual_validation_loss(m, sets["val"]),
                       find_unused_parameters=not model_cfg.share_weights)
        info = {"n_train": len(sets["train"]), "steps": train_cfg.steps, "seed": seed,
                "seconds": round(result.seconds, 2), "history": result.history, "evals": result.evals,
                "encoder": recipe.encoder, "data": data_dir.name}
        checkpoints.save_model(model, work, info)
        return ResidualRun(model.eval(), recipe, info)

    def load(folder):
        model = checkpoints.load_model(ResidualTransformer, folder, dev)
        return ResidualRun(model, recipe, checkpoints.load_extra(folder))

    return load_or_train("momask_residual", dataset_label(data_dir), _key(recipe, tokenizer), build, load,
                         retrain=retrain, verbose=verbose)
