"""Training MoMask's masked transformer on pre-tokenised RVQ motions, and the cached model.

The recipe, step by step:

1. every training motion is tokenised once by the frozen RVQ-VAE (``tokenizers.tokenize_split``: ``(T', L)``
   ids per motion) and only the base layer, column 0, is kept;
2. every caption is embedded once by the frozen text encoder (``text.embed_caption_sets``, cached on disk);
3. a training item is one caption of one motion and its base-layer codes (a random window of ``max_tokens``
   when longer);
4. each batch is masked by :func:`~motionlab.generators.momask.masked_transformer.mask_for_training`
   (cosine schedule, BERT replace/remask), and the model zeroes 10 % of the sentence features itself;
5. cross-entropy on the masked positions only.

One difference from the official trainer: there every batch re-crops the raw motions (multiples of 4 frames)
and tokenises them on the fly; here the crop offset is drawn once per motion, as chapter 5's T2M-GPT does.

:class:`MaskedTransformerRecipe` is what a profile holds (``profile.momask_masked``).
:func:`get_masked_transformer` runs it through ``runtime.load_or_train`` and returns a
:class:`MaskedTransformerRun`: the trained model with its tokenizer and text encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.momask.masked_transformer import (
    OFFICIAL_COND_SCALE,
    MaskedTransformer,
    MaskedTransformerConfig,
    mask_for_training,
)
from motionlab.generators.momask.token_sets import CaptionedTokens, collate_captioned
from motionlab.training import Recipe, TrainConfig

__all__ = ["MaskedTransformerRecipe", "MaskedTokenSet", "collate_masked", "MaskedBatches", "masked_loss",
           "validation_loss", "MaskedTransformerRun", "get_masked_transformer", "masked_transformer_is_cached"]

VAL_ITERATIONS = 18  # the official checkpoint selection decodes with time_steps 18 (evaluation: 10)


@dataclass(frozen=True)
class MaskedTransformerRecipe(Recipe):
    """The masked transformer of a profile: ``model`` (:class:`MaskedTransformerConfig`; ``n_codes``,
    ``code_dim`` and ``text_dim`` are set from the tokenizer and the text encoder), ``train``
    (:class:`TrainConfig`; defaults are the official optimiser: AdamW 2e-4, β (0.9, 0.99), weight decay 1e-5 on
    all parameters, 2k warm-up, lr x0.1 at 50k, batch 64), the share ``train_fraction`` of the training
    motions, the sentence ``encoder`` and the tokeniser's sub-clip rule ``subclips``."""

    model: MaskedTransformerConfig = field(default_factory=MaskedTransformerConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=183000, lr=2e-4, batch_size=64, betas=(0.9, 0.99), weight_decay=1e-5, weight_decay_on="all",
        warmup_steps=2000, schedule="step", milestones=(50000,), gamma=0.1))
    train_fraction: float = 1.0
    encoder: str = "minilm"
    subclips: str = "crop"

    def __post_init__(self):
        if not 0.0 < float(self.train_fraction) <= 1.0:
            raise InputError(f"MaskedTransformerRecipe.train_fraction={self.train_fraction}: expected a fraction "
                             "in (0, 1]")


# ---------------------------------------------------------------------------------------- training set
class MaskedTokenSet(CaptionedTokens):
    """Base-layer code sequences ``(T',)`` with their captions' sentence features; items carry ``"codes"``."""

    key = "codes"

    def __init__(self, tokens: Sequence[np.ndarray], text_emb: Sequence[np.ndarray], config: MaskedTransformerConfig):
        super().__init__(tokens, text_emb, config, layers=None,
                         layout_hint=" (one layer: pass TokenizedSplit.layer(0))")


def collate_masked(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack items: ``{"text" (B, dim), "codes" (B, T), "length" (B,)}``."""
    return collate_captioned(items, "codes")


def _masked(batch: dict, config: MaskedTransformerConfig, generator: torch.Generator) -> dict:
    m = mask_for_training(batch["codes"], batch["length"], config, generator)
    return {**batch, "ids": m.inputs, "targets": m.targets}


class MaskedBatches:
    """``batch_fn(step)`` for :func:`motionlab.training.train`: sampled items, then masked.

    Returns ``{"text" (B, dim), "codes" (B, T), "length" (B,), "ids" (B, T) masked inputs, "targets" (B, T)}``;
    every random choice is a function of ``(seed, step)``, so a resumed run sees the same batches.
    """

    def __init__(self, dataset: MaskedTokenSet, batch_size: int, seed: int = 0):
        from motionlab.training import RandomBatches

        self.dataset, self.seed = dataset, int(seed)
        self.sampler = RandomBatches(dataset, batch_size, seed=seed, collate=collate_masked)

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        from motionlab.runtime import rng

        g = torch.Generator().manual_seed(int(rng(self.seed, "mask", step).integers(2**62)))
        return _masked(self.sampler(step), self.dataset.config, g)


def masked_loss(model: MaskedTransformer, batch: dict) -> dict[str, torch.Tensor]:
    """``loss_fn`` for the training loop: cross-entropy on the masked positions."""
    return model(batch["text"], batch["ids"], batch["length"], batch["targets"])[1]


@torch.no_grad()
def validation_loss(model: MaskedTransformer, dataset: MaskedTokenSet, batch_size: int = 128, limit: int = 1024,
                    seed: int = 0) -> dict[str, float]:
    """Masked-token cross-entropy and accuracy on validation items under one fixed set of masks."""
    n = min(len(dataset), limit)
    g = torch.Generator().manual_seed(int(seed))
    total = acc = weight = 0.0
    for start in range(0, n, batch_size):
        batch = _masked(collate_masked([dataset[i] for i in range(start, min(n, start + batch_size))]),
                        dataset.config, g)
        batch = {k: v.to(model.device) for k, v in batch.items()}
        _, losses = model(batch["text"], batch["ids"], batch["length"], batch["targets"])
        scored = float((batch["targets"] >= 0).sum())
        total += float(losses["loss"]) * scored
        acc += float(losses["accuracy"]) * scored
        weight += scored
    return {"val_loss": total / weight, "val_accuracy": acc / weight}


# ------------------------------------------------------------------------------------------ the run
@dataclass
class MaskedTransformerRun:
    """A trained masked transformer with the RVQ-VAE whose base layer it writes and its text encoder."""

    model: MaskedTransformer
    tokenizer: torch.nn.Module  # the VQVAE (n_quantizers > 1)
    recipe: MaskedTransformerRecipe
    info: dict = field(default_factory=dict)

    @property
    def unit(self) -> int:
        return int(self.tokenizer.config.unit)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """Sentence features ``(N, text_dim)`` from the on-disk cache (encoding only unseen prompts)."""
        from motionlab.text.encoders import embed_captions

        emb = embed_captions(list(texts), self.recipe.encoder, device=self.model.device)
        return torch.from_numpy(emb.astype(np.float32)).to(self.model.device)

    def base_tokens(self, texts: Sequence[str], frames: Sequence[int], *, seed: int = 0, **options
                    ) -> list[np.ndarray]:
        """Base-layer codes ``(frames_i // 4,)`` for each prompt (``options``: :meth:`MaskedTransformer.generate`'s)."""
        lengths = torch.as_tensor([max(1, int(f) // self.unit) for f in frames])
        g = torch.Generator().manual_seed(int(seed))
        ids = self.model.generate(self.embed(texts), lengths, generator=g, **options).cpu().numpy()  # (B, T)
        return [ids[i, : int(n)] for i, n in enumerate(lengths)]

    def decode_base(self, tokens: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw features of base-layer codes alone (the residual layers left out)."""
        from motionlab.tokenizers.artifacts import decode_tokens

        return decode_tokens(self.tokenizer, [np.asarray(t).reshape(-1, 1) for t in tokens])


def _bind(recipe: MaskedTransformerRecipe, tokenizer) -> MaskedTransformerRecipe:
    """The recipe with the sizes it takes from its inputs: the tokenizer's codebook and code width, the
    encoder's feature width."""
    from motionlab.text.encoders import get_text_encoder

    if not tokenizer.model.residual:
        raise InputError(f"the masked transformer needs a residual tokenizer (n_quantizers > 1), got "
                         f"n_quantizers={tokenizer.model.n_quantizers}: pass profile.momask_tokenizer")
    return recipe.replace(n_codes=tokenizer.model.n_codes, code_dim=tokenizer.model.code_dim,
                          text_dim=get_text_encoder(recipe.encoder).dim)


def _key(recipe: MaskedTransformerRecipe, tokenizer) -> dict:
    return {"masked": recipe.key(), "tokenizer": tokenizer.key()}


def masked_transformer_is_cached(data_dir: str | Path, recipe: MaskedTransformerRecipe, tokenizer) -> bool:
    """Whether :func:`get_masked_transformer` with these arguments would load instead of train."""
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import is_cached

    if not (Path(data_dir) / "Mean.npy").is_file():
        return False
    tokenizer = tokenizer.for_data(data_dir)
    key = _key(_bind(recipe, tokenizer), tokenizer)
    return is_cached("momask_masked", dataset_label(data_dir), key)


def get_masked_transformer(data_dir: str | Path, recipe: MaskedTransformerRecipe, tokenizer, device="auto",
                           evaluator=None, *, retrain: bool = False, verbose: bool = True) -> MaskedTransformerRun:
    """The trained masked transformer of a recipe on a dataset folder (cached).

    ``recipe``: a profile's ``momask_masked`` or a variant; ``tokenizer``: the RVQ
    :class:`~motionlab.tokenizers.train.TokenizerRecipe` (a profile's ``momask_tokenizer``), loaded from its own
    cache (trained first if missing).  Each distinct pair of recipes is trained once
    (``runtime.load_or_train``) and then loaded.  ``evaluator`` is needed only to train recipes that select
    their weights by validation FID (``best_metric="val_fid"``, as the official ``net_best_fid``: base-layer
    tokens generated for validation captions at their lengths, decoded without the residual layers).
    """
    from motionlab import checkpoints
    from motionlab.data.paths import dataset_label
    from motionlab.generators.train_t2m_gpt import fraction_indices
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.text.encoders import embed_caption_sets
    from motionlab.tokenizers.artifacts import tokenize_split
    from motionlab.tokenizers.train import get_tokenizer_run, needs_evaluator
    from motionlab.training import train

    data_dir, dev = Path(data_dir), resolve_device(device)
    if needs_evaluator(recipe) and evaluator is None and not masked_transformer_is_cached(data_dir, recipe,
                                                                                          tokenizer):
        raise InputError("this masked-transformer recipe selects its weights by validation FID "
                         "(best_metric='val_fid'): pass evaluator=get_evaluator(data_dir, profile.evaluator)")
    tokenizer = tokenizer.for_data(data_dir)
    recipe = _bind(recipe, tokenizer)
    run = get_tokenizer_run(data_dir, tokenizer, dev, evaluator=evaluator)
    model_cfg, train_cfg, seed = recipe.model, recipe.train, recipe.train.seed

    def build(work):
        say = print if verbose else (lambda *_: None)
        splits = {s: tokenize_split(run, data_dir, s, seed=run.recipe.train.seed, subclips=recipe.subclips)
                  for s in ("train", "val")}
        emb = {s: embed_caption_sets(split.captions, recipe.encoder, device=dev, progress=say)
               for s, split in splits.items()}
        base = {s: split.layer(0) for s, split in splits.items()}  # (T',) base-layer ids per motion
        keep = fraction_indices(len(base["train"]), recipe.train_fraction, seed)
        train_set = MaskedTokenSet([base["train"][i] for i in keep], [emb["train"][i] for i in keep], model_cfg)
        val_set = MaskedTokenSet(base["val"], emb["val"], model_cfg)
        say(f"[momask-masked] {len(train_set)} training motions ({recipe.train_fraction:.0%}), "
            f"{train_cfg.steps} steps, seed {seed}")
        torch.manual_seed(seed)
        model = MaskedTransformer(model_cfg)
        cfg = train_cfg if train_cfg.eval_every else replace(train_cfg, eval_every=max(1, train_cfg.steps // 10))
        eval_fn = lambda m, step: validation_loss(m, val_set)  # noqa: E731
        if needs_evaluator(recipe):
            eval_fn = _with_val_fid(eval_fn, data_dir, evaluator, run.model, recipe, seed)
        result = train(model, MaskedBatches(train_set, cfg.batch_size, seed=seed), masked_loss, cfg, device=dev,
                       eval_fn=eval_fn)
        info = {"train_fraction": float(recipe.train_fraction), "n_train": len(train_set), "steps": train_cfg.steps,
                "seed": seed, "seconds": round(result.seconds, 2), "history": result.history,
                "evals": result.evals, "encoder": recipe.encoder, "data": data_dir.name}
        checkpoints.save_model(model, work, info)
        return MaskedTransformerRun(model.eval(), run.model, recipe, info)

    def load(folder):
        model = checkpoints.load_model(MaskedTransformer, folder, dev)
        return MaskedTransformerRun(model, run.model, recipe, checkpoints.load_extra(folder))

    return load_or_train("momask_masked", dataset_label(data_dir), _key(recipe, tokenizer), build, load,
                         retrain=retrain, verbose=verbose)


def _with_val_fid(eval_fn, data_dir: Path, evaluator, vq, recipe: MaskedTransformerRecipe, seed: int):
    """``eval_fn`` plus ``val_fid``, as the official selection: base-layer tokens for the first caption of each
    validation motion at its own length (``time_steps`` 18, the official guidance), decoded without the
    residual layers, against those motions."""
    from motionlab.tokenizers.train import VAL_FID, ValidationFID

    val_fid = ValidationFID(evaluator, data_dir)

    def with_fid(model: MaskedTransformer, step: int) -> dict[str, float]:
        run = MaskedTransformerRun(model, vq, recipe)
        frames = [min(len(m), model.config.max_tokens * run.unit) for m in val_fid.motions]
        base = run.base_tokens(val_fid.captions, frames, seed=seed, iterations=VAL_ITERATIONS,
                               cond_scale=OFFICIAL_COND_SCALE)
        return {**eval_fn(model, step), VAL_FID: val_fid(run.decode_base(base))}

    return with_fid
