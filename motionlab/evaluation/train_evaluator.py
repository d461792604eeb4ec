"""Training the text-motion evaluator in two stages, on any dataset in the HumanML3D layout.

1. **Movement autoencoder** -- random ``movement_window``-frame windows of training motions; the encoder
   learns one code per 4-frame snippet (L1 reconstruction + small sparsity and smoothness terms).
2. **Matching** -- the encoder is frozen; text and motion encoders learn a shared space with the hinge
   contrastive loss (positives pulled together, the batch shifted by a random offset in [1, B-1] as
   negatives pushed beyond ``negative_margin``; the official code draws the offset from [0, B-2], so a
   batch now and then has its positives as "negatives" -- we skip 0).  Each step draws one caption per
   motion and the official random crop (2/3 ``(T//4)*4`` frames, 1/3 one snippet shorter, random start),
   through :class:`~motionlab.data.torch_datasets.TextMotionDataset`.  Every ``eval_every`` steps
   the val split is embedded with fixed crops, captions and shifts, and the weights with the best **val
   R-precision** (mean of top-1, top-2 and top-3 in batches of 32) are kept.  The official code keeps the
   lowest val loss instead; on our small val splits that loss is dominated by the hinge on one random
   negative per caption and wanders up while retrieval still improves (it is logged beside it).

Both stages run through :func:`motionlab.training.train`, in float32 (no bf16 autocast: the evaluator is
small and it is the yardstick, so it stays exact).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from motionlab.data.folders import MotionFolder, MotionSplit, Normalizer
from motionlab.errors import DatasetError, InputError
from motionlab.evaluation.evaluator import (
    UNIT,
    Evaluator,
    EvaluatorConfig,
    MovementAutoencoder,
    TextMotionMatcher,
    padded_width,
)
from motionlab.evaluation.metrics import matching_score, r_precision
from motionlab.runtime import rng as make_rng
from motionlab.text.vocab import OTHER, UNK, WordVocabulary
from motionlab.training import Recipe, TrainConfig

FEAT_BIAS = 5.0  # root and contact std divided by 5: the evaluator's own normalisation (official meta stats)
SELECT_BY = "val_rprec"  # keep the weights with the best mean val R-precision top-1..3 (official: lowest val loss)


@dataclass(frozen=True)
class EvaluatorRecipe(Recipe):
    """The evaluator of a profile: ``model`` (:class:`EvaluatorConfig`; input size and vocabulary are set from
    the data), ``train`` (stage 2, matching: grad clip 0.5, best val R-precision kept), ``movement`` (stage 1,
    the movement autoencoder on ``movement_window``-frame windows), the hinge ``negative_margin`` and
    ``official`` (use the official checkpoint on real HumanML3D / KIT-ML instead of training)."""

    model: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=300000, lr=1e-4, batch_size=8, grad_clip=0.5, amp=False, eval_every=5000, best_metric=SELECT_BY,
        best_mode="max"))
    movement: TrainConfig = field(default_factory=lambda: TrainConfig(steps=100000, lr=1e-4, batch_size=8,
                                                                        amp=False))
    movement_window: int = 24
    negative_margin: float = 10.0
    official: bool = False


# ------------------------------------------------------------------------------------- batches
def pair_collate(vocabulary: WordVocabulary) -> Callable[[list[dict]], dict[str, torch.Tensor]]:
    """Collate :class:`~motionlab.data.torch_datasets.TextMotionDataset` items for the matcher: token strings
    -> word ids / POS categories through ``vocabulary``; motions trimmed to the longest crop of the batch."""

    def collate(items: list[dict]) -> dict[str, torch.Tensor]:
        encoded = [vocabulary.encode_tokens(item["tokens"][1:item["sent_len"] - 1]) for item in items]  # drop sos/eos
        width = max(len(w) for w, _ in encoded)
        word_ids = torch.full((len(items), width), vocabulary.index[UNK], dtype=torch.long)
        pos_ids = torch.full((len(items), width), OTHER, dtype=torch.long)
        for i, (w, p) in enumerate(encoded):
            word_ids[i, :len(w)] = torch.tensor(w)
            pos_ids[i, :len(p)] = torch.tensor(p)
        lengths = torch.tensor([int(item["length"]) for item in items])
        width = padded_width(int(lengths.max()), items[0]["motion"].shape[0])  # official 196-padding, trimmed
        motion = torch.stack([item["motion"][:width] for item in items])  # (B, width, D)
        return {"word_ids": word_ids, "pos_ids": pos_ids, "text_lengths": torch.tensor([len(w) for w, _ in encoded]),
                "motion": motion, "lengths": lengths}

    return collate


def _stack_windows(items: list[dict]) -> torch.Tensor:
    return torch.stack([item["motion"] for item in items])  # (B, window, D)


# ---------------------------------------------------------------------------------------- train
def train_evaluator_on_splits(train_split: MotionSplit, val_split: MotionSplit, normalizer: Normalizer,
                              recipe: EvaluatorRecipe, *, device: str | torch.device = "cpu",
                              progress: bool | None = None, vocabulary: WordVocabulary | None = None) -> Evaluator:
    """Train an evaluator on two :class:`~motionlab.data.folders.MotionSplit` objects (captions with tokens).

    ``normalizer`` holds the evaluator's own statistics (``Normalizer.from_folder(root, feat_bias=5)``).
    Sizes and budgets come from ``recipe`` (a profile's ``evaluator``; seed ``recipe.train.seed``).  Returns an
    :class:`Evaluator` holding the weights with the best val R-precision; its ``info`` carries both training
    histories and the val evaluations.
    """
    from motionlab.data.torch_datasets import TextMotionDataset, WindowDataset
    from motionlab.training import RandomBatches, train

    seed = recipe.train.seed
    if recipe.movement_window % UNIT:
        raise InputError(f"EvaluatorRecipe.movement_window={recipe.movement_window} must be a multiple of {UNIT}")
    if len(train_split) < 2 or len(val_split) < 2:
        raise DatasetError(f"the evaluator needs at least 2 train and 2 val samples, got {len(train_split)} "
                           f"and {len(val_split)}")
    vocab = vocabulary or WordVocabulary.from_captions(c for caps in train_split.captions for c in caps)
    config = replace(recipe.model, input_dim=normalizer.dim, vocab_size=len(vocab))

    # stage 1: movement autoencoder on random windows
    windows = WindowDataset(train_split, normalizer, recipe.movement_window, mode="random")
    ae_batch = min(recipe.movement.batch_size, len(windows))
    with torch.random.fork_rng(devices=[]):  # initial weights depend on the seed only, not on the caller's RNG
        torch.manual_seed(int(make_rng(seed, "evaluator-init").integers(2**31)))
        autoencoder = MovementAutoencoder(config)
        model = TextMotionMatcher(config)
    stage1 = train(
        autoencoder, RandomBatches(windows, ae_batch, seed=seed, collate=_stack_windows),
        lambda model, batch: model(batch)[1],
        replace(recipe.movement, batch_size=ae_batch, seed=seed, progress=progress),
        device=device,
    )

    # stage 2: contrastive matching with the frozen movement encoder
    model.movement_encoder.load_state_dict(autoencoder.encoder.state_dict())
    model.freeze_movement()
    collate = pair_collate(vocab)
    pairs = TextMotionDataset(train_split, normalizer, max_len=config.max_motion_length)
    batch_size = min(recipe.train.batch_size, len(pairs))
    sampler = RandomBatches(pairs, batch_size, seed=seed, collate=collate)

    def batch_fn(step: int) -> dict:
        batch = sampler(step)
        batch["shift"] = torch.tensor(int(make_rng(seed, "shift", step).integers(1, batch_size)))
        return batch

    val_pairs = TextMotionDataset(val_split, normalizer, max_len=config.max_motion_length)
    val_batches = _fixed_val_batches(val_pairs, collate, batch_size, seed)
    margin = recipe.negative_margin
    stage2 = train(
        model, batch_fn, lambda m, batch: m(batch, margin=margin)[1],
        replace(recipe.train, batch_size=batch_size, progress=progress),
        device=device, eval_fn=lambda m, step: validate(m, val_batches, margin),
    )
    info = {
        "source": "trained", "seed": seed,
        "train_samples": len(pairs), "val_samples": sum(len(b["lengths"]) for b in val_batches),
        "vocabulary": len(vocab),
        "unknown_val_words": vocab.unknown_rate([c for cs in val_split.captions for c in cs]),
        "movement_history": stage1.history, "history": stage2.history, "evals": stage2.evals, "best": stage2.best,
        "seconds": round(stage1.seconds + stage2.seconds, 2),
    }
    return Evaluator(model, vocab, normalizer.mean, normalizer.std, device, info)


def _fixed_val_batches(pairs, collate: Callable, batch_size: int, seed: int) -> list[dict]:
    """The val split with crops, captions and negative shifts fixed once (so evaluations are comparable)."""
    order = make_rng(seed, "val-order").permutation(len(pairs))
    batches = []
    for b, start in enumerate(range(0, len(order), batch_size)):
        idx = order[start:start + batch_size]
        if len(idx) < 2:
            continue  # a single pair has no negative
        batch = collate([pairs.sample(int(i), make_rng(seed, "val", int(i))) for i in idx])
        batch["shift"] = torch.tensor(int(make_rng(seed, "val-shift", b).integers(1, len(idx))))
        batches.append(batch)
    return batches


@torch.no_grad()
def validate(model: TextMotionMatcher, batches: list[dict], margin: float = 10.0) -> dict[str, float]:
    """Val loss (mean over batches), R-precision top-1/3 and their mean over top-1..3 (``val_rprec``, the
    selection metric) and MM-Dist of the fixed val batches."""
    device = next(model.parameters()).device
    losses, texts, motions = [], [], []
    for batch in batches:
        batch = {k: v.to(device) for k, v in batch.items()}
        (t, m), out = model(batch, margin=margin)
        losses.append(float(out["loss"]))
        texts.append(t.float().cpu().numpy())
        motions.append(m.float().cpu().numpy())
    t, m = np.concatenate(texts), np.concatenate(motions)
    bs = min(32, len(t))
    top = r_precision(t, m, top_k=min(3, bs - 1), batch_size=bs)
    return {"val_loss": float(np.mean(losses)), "val_top1": float(top[0]), "val_top3": float(top[-1]),
            "val_rprec": float(np.mean(top)), "val_mm_dist": matching_score(t, m)}


def train_evaluator(root: str | Path, recipe: EvaluatorRecipe, *, device: str | torch.device = "cpu",
                    workdir: str | Path | None = None, progress: bool | None = None) -> Evaluator:
    """Train an evaluator on the dataset folder ``root`` (train split; val for selection) and save it into
    ``workdir`` when given.  Normalisation: the dataset's statistics with root and contact std divided by 5."""
    folder = MotionFolder(root)
    train_split = folder.load_split("train")
    val_split = folder.load_split("val")
    normalizer = Normalizer.from_folder(root, feat_bias=FEAT_BIAS)
    evaluator = train_evaluator_on_splits(train_split, val_split, normalizer, recipe, device=device,
                                          progress=progress)
    evaluator.info.update(dataset=Path(root).name, skipped={"train": train_split.n_skipped, "val": val_split.n_skipped})
    if workdir is not None:
        evaluator.save(workdir)
    return evaluator
