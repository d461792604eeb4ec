"""Training TM2T's captioner (motion tokens -> words) and the cached model.

1. every motion of the train / val splits is tokenised once by the frozen tokenizer (``tokenize_split``);
2. the caption vocabulary is built from the training captions (``vocab_form``: ``"raw"`` words or TM2T's
   ``"lemma"`` words);
3. a training item is one caption of one motion, the codes framed by start/end (official augmentation: with
   probability 1/3 the first or last code is dropped);
4. teacher-forced cross-entropy on the words, the one training loop (``training.train``), and the weights of
   the lowest validation loss are kept (the official run early-stops after 5 epochs without improvement).

:class:`MotionToTextRecipe` is what a profile holds (``profile.tm2t_m2t``); :func:`get_motion_to_text` runs it
through ``runtime.load_or_train`` and returns a :class:`MotionToTextRun`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from motionlab.errors import InputError
from motionlab.generators.tm2t.motion_to_text import MotionToText, MotionToTextConfig
from motionlab.generators.tm2t.pairs import (
    PairBatches,
    TokenCaptionPairs,
    build_vocabulary,
    collate_pairs,
)
from motionlab.generators.tm2t.vocab import FORMS, CaptionVocabulary
from motionlab.training import Recipe, TrainConfig

__all__ = [
    "MotionToTextRecipe",
    "MotionToTextRun",
    "get_motion_to_text",
    "load_pairs",
    "m2t_loss",
    "m2t_validation",
    "motion_to_text_is_cached",
]


@dataclass(frozen=True)
class MotionToTextRecipe(Recipe):
    """The captioner of a profile: ``model`` (:class:`MotionToTextConfig`; ``n_codes`` and ``vocab_size`` are
    set from the tokenizer and the vocabulary), ``train`` (defaults: the official Adam 2e-4, batch 64,
    gradient-norm clip 0.5, weights of the lowest validation loss), the vocabulary (``vocab_form``,
    ``min_word_count``, ``max_words`` per caption), the head/tail ``drop_prob``, ``label_smoothing`` (official
    option, off) and the tokeniser's sub-clip rule ``subclips``."""

    model: MotionToTextConfig = field(default_factory=MotionToTextConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=100000, lr=2e-4, batch_size=64, grad_clip=0.5, amp=False, log_every=1000, eval_every=5000,
        best_metric="val_loss"))
    vocab_form: str = "raw"
    min_word_count: int = 1
    max_words: int = 20
    drop_prob: float = 1 / 3
    label_smoothing: float = 0.0
    subclips: str = "crop"

    def __post_init__(self):
        if self.vocab_form not in FORMS:
            raise InputError(f"MotionToTextRecipe.vocab_form={self.vocab_form!r}: expected one of {FORMS}")
        if not 1 <= self.max_words <= self.model.max_words - 2:
            raise InputError(f"MotionToTextRecipe.max_words={self.max_words}: expected 1..{self.model.max_words - 2} "
                             "(the model's target positions minus sos and eos)")


def m2t_loss(model: MotionToText, batch: dict, label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
    """``loss_fn`` for the training loop: teacher-forced word cross-entropy."""
    return model(batch["src"], batch["src_len"], batch["words"], label_smoothing=label_smoothing)[1]


@torch.no_grad()
def m2t_validation(model: MotionToText, pairs: TokenCaptionPairs, batch_size: int = 128, limit: int = 1024
                   ) -> dict[str, float]:
    """Word cross-entropy and accuracy on fixed validation items, weighted by words."""
    total = acc = weight = 0.0
    for start in range(0, min(len(pairs), limit), batch_size):
        items = [pairs[i] for i in range(start, min(len(pairs), limit, start + batch_size))]
        batch = {k: v.to(model.device) for k, v in collate_pairs(items, pairs.n_codes).items()}
        losses = m2t_loss(model, batch)
        n = float((batch["word_len"] - 1).sum())  # scored words: everything after sos
        total, acc, weight = total + float(losses["loss"]) * n, acc + float(losses["accuracy"]) * n, weight + n
    return {"val_loss": total / weight, "val_accuracy": acc / weight}


@dataclass
class MotionToTextRun:
    """A trained captioner with its vocabulary and the tokenizer whose codes it reads."""

    model: MotionToText
    vocab: CaptionVocabulary
    tokenizer: torch.nn.Module
    recipe: MotionToTextRecipe
    info: dict = field(default_factory=dict)

    def captioner(self, **options):
        """A :class:`~motionlab.generators.tm2t.pipeline.TM2TCaptioner` over this run (motions -> captions)."""
        from motionlab.generators.tm2t.pipeline import TM2TCaptioner

        return TM2TCaptioner(self.model, self.vocab, self.tokenizer, **options)


def load_pairs(run, data_dir: Path, split: str, vocab: CaptionVocabulary | None, *, n_codes: int, max_codes: int,
               subclips: str, form: str = "raw", min_count: int = 1, max_words: int = 20, drop_prob: float = 0.0
               ) -> tuple[TokenCaptionPairs, CaptionVocabulary]:
    """Token/caption pairs of ``split`` (tokenised by the tokenizer ``run``, cached) and the vocabulary
    (built from this split's captions when ``vocab`` is None)."""
    from motionlab.tokenizers.artifacts import tokenize_split

    tokens = tokenize_split(run, data_dir, split, seed=run.recipe.train.seed, subclips=subclips)
    if tokens.n_layers != 1:
        raise InputError(f"TM2T reads one codebook, but the tokenizer has {tokens.n_layers} quantizer layers: pass a "
                         "single-codebook TokenizerRecipe (profile.tokenizer)")
    vocab = vocab or build_vocabulary(tokens.captions, form, min_count)
    pairs = TokenCaptionPairs(tokens.tokens, tokens.captions, vocab, n_codes, max_codes, max_words=max_words,
                              drop_prob=drop_prob)
    return pairs, vocab


def train_val_pairs(run, data_dir: Path, recipe, n_codes: int
                    ) -> tuple[TokenCaptionPairs, TokenCaptionPairs, CaptionVocabulary]:
    """The training and validation pairs of a TM2T recipe (either direction: both have ``vocab_form``,
    ``min_word_count``, ``drop_prob``, ``max_words``, ``subclips`` and the model's ``max_tokens``), with the
    vocabulary of the training captions."""
    common = dict(n_codes=n_codes, max_codes=recipe.model.max_tokens - 2, subclips=recipe.subclips,
                  max_words=recipe.max_words)
    train_set, vocab = load_pairs(run, data_dir, "train", None, form=recipe.vocab_form,
                                  min_count=recipe.min_word_count, drop_prob=recipe.drop_prob, **common)
    val_set, _ = load_pairs(run, data_dir, "val", vocab, **common)
    return train_set, val_set, vocab


def _key(recipe: MotionToTextRecipe, tokenizer) -> dict:
    return {"m2t": recipe.key(), "tokenizer": tokenizer.key()}


def motion_to_text_is_cached(data_dir: str | Path, recipe: MotionToTextRecipe, tokenizer) -> bool:
    """Whether :func:`get_motion_to_text` with these arguments would load instead of train."""
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import is_cached

    if not (Path(data_dir) / "Mean.npy").is_file():
        return False
    tokenizer = tokenizer.for_data(data_dir)
    return is_cached("tm2t_m2t", dataset_label(data_dir), _key(recipe, tokenizer))


def get_motion_to_text(data_dir: str | Path, recipe: MotionToTextRecipe, tokenizer, device="auto", *,
                       retrain: bool = False, verbose: bool = True) -> MotionToTextRun:
    """The trained captioner of a recipe on a dataset folder (cached).

    ``tokenizer``: the single-codebook :class:`~motionlab.tokenizers.train.TokenizerRecipe` whose codes it reads
    (TM2T's own in ``paper``; chapter 3's in ``smoke``/``laptop``), loaded from its cache or trained first.
    The cache key is the recipe as given; ``n_codes`` and ``vocab_size`` are filled in from the tokenizer and
    the training captions.
    """
    from motionlab import checkpoints
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.tokenizers.train import get_tokenizer_run
    from motionlab.training import train

    data_dir, dev = Path(data_dir), resolve_device(device)
    tokenizer = tokenizer.for_data(data_dir)
    run = get_tokenizer_run(data_dir, tokenizer, dev)
    n_codes = int(run.model.config.n_codes)

    def build(work):
        say = print if verbose else (lambda *_: None)
        train_set, val_set, vocab = train_val_pairs(run, data_dir, recipe, n_codes)
        cfg_model = replace(recipe.model, n_codes=n_codes, vocab_size=len(vocab))
        cfg = recipe.train
        if not cfg.eval_every:
            cfg = replace(cfg, eval_every=max(1, cfg.steps // 10))
        say(f"[tm2t-m2t] {len(train_set)} training motions, {len(vocab)} words ({recipe.vocab_form}), "
            f"{cfg.steps} steps, seed {cfg.seed}")
        torch.manual_seed(cfg.seed)
        model = MotionToText(cfg_model)
        result = train(model, PairBatches(train_set, cfg.batch_size, seed=cfg.seed),
                       lambda m, b: m2t_loss(m, b, recipe.label_smoothing), cfg, device=dev,
                       eval_fn=lambda m, step: m2t_validation(m, val_set))
        info = {"n_train": len(train_set), "steps": cfg.steps, "seed": cfg.seed, "seconds": round(result.seconds, 2),
                "history": result.history, "evals": result.evals, "best": result.best, "data": data_dir.name,
                "vocab": vocab.to_json()}
        checkpoints.save_model(model, work, info)
        return MotionToTextRun(model.eval(), vocab, run.model, recipe, info)

    def load(folder):
        info = checkpoints.load_extra(folder)
        model = checkpoints.load_model(MotionToText, folder, dev)
        return MotionToTextRun(model, CaptionVocabulary.from_json(info["vocab"]), run.model, recipe, info)

    return load_or_train("tm2t_m2t", dataset_label(data_dir), _key(recipe, tokenizer), build, load,
                         retrain=retrain, verbose=verbose)
