"""Training MotionGPT in two stages through the one training loop, and the cached model.

1. every motion of the train / val splits is tokenised once by the frozen tokenizer (``tokenize_split``);
2. the backbone is built (:func:`~motionlab.generators.motiongpt.backbone.build_backbone`) and given the
   motion words (:func:`~motionlab.generators.motiongpt.vocab.add_motion_vocabulary`), then optionally wrapped
   with LoRA adapters;
3. **stage (a), motion-language pre-training** (``pretrain_steps`` at ``pretrain_lr``): terse text->motion,
   motion->text and prediction pairs (:data:`~motionlab.generators.motiongpt.prompts.PRETRAIN`);
4. **stage (b), instruction tuning** (``train``): the instruction families of
   :data:`~motionlab.generators.motiongpt.prompts.INSTRUCT` (``tasks``), each phrased by one of its first
   ``templates`` phrasings;
5. the weights of the lowest validation answer loss of stage (b) are kept and saved (LoRA merged in).

A training item is one motion with one task, phrasing and caption drawn from the step's random stream; as in
the official data loader the first or last code is dropped with probability ``drop_prob`` (1/3) and the
caption is quoted with probability ``quote_prob`` (1/2).  Only the answer tokens are scored.

:class:`MotionGPTRecipe` is what a profile holds (``profile.motiongpt``); :func:`get_motiongpt` runs it through
``runtime.load_or_train`` and returns a :class:`MotionGPTRun`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.motiongpt.model import (
    MotionGPT,
    MotionGPTConfig,
    apply_lora,
    collate_examples,
)
from motionlab.generators.motiongpt.prompts import (
    INSTRUCT,
    INSTRUCT_TASKS,
    PRETRAIN_TASKS,
    PROMPTS_VERSION,
    build_example,
    task_fits,
    templates_for,
)
from motionlab.generators.motiongpt.vocab import add_motion_vocabulary
from motionlab.training import RandomBatches, Recipe, TrainConfig

__all__ = [
    "MotionGPTRecipe",
    "MotionGPTRun",
    "MotionTextItems",
    "build_motiongpt",
    "get_motiongpt",
    "motiongpt_is_cached",
    "motiongpt_validation",
    "output_vocabulary",
]

FPS = {263: 20.0, 251: 12.5}  # frame rate by feature width (HumanML3D, KIT-ML)


@dataclass(frozen=True)
class MotionGPTRecipe(Recipe):
    """MotionGPT in a profile: ``model`` (:class:`MotionGPTConfig`: backbone, LoRA, lengths), ``train`` (stage
    (b), instruction tuning; official AdamW 1e-4, batch 16), stage (a) as ``pretrain_steps`` at
    ``pretrain_lr`` (official 2e-4; 0 steps skips it), the task families of each stage (``pretrain_tasks``,
    ``tasks``), ``templates`` (phrasings per task used in training, None: all), ``max_codes`` (longest motion
    in tokens, 49 = 196 frames), the augmentations ``drop_prob`` and ``quote_prob``, the tokenizer's
    sub-clip rule ``subclips`` and ``val_items``, the validation motions scored at each evaluation."""

    model: MotionGPTConfig = field(default_factory=MotionGPTConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=100000, lr=1e-4, batch_size=16, amp=True, log_every=1000, eval_every=5000, best_metric="val_loss"))
    pretrain_steps: int = 100000
    pretrain_lr: float = 2e-4
    pretrain_tasks: tuple[str, ...] = PRETRAIN_TASKS
    tasks: tuple[str, ...] = INSTRUCT_TASKS
    templates: int | None = None
    max_codes: int = 49
    drop_prob: float = 1 / 3
    quote_prob: float = 0.5
    subclips: str = "crop"
    val_items: int = 128

    def __post_init__(self):
        object.__setattr__(self, "pretrain_tasks", tuple(self.pretrain_tasks))  # JSON gives lists back
        object.__setattr__(self, "tasks", tuple(self.tasks))
        for name, tasks, stage in (("pretrain_tasks", self.pretrain_tasks, "pretrain"), ("tasks", self.tasks,
                                                                                         "instruct")):
            if not tasks and (stage == "instruct" or self.pretrain_steps):
                raise InputError(f"MotionGPTRecipe.{name} is empty: expected some of the {stage} tasks")
            for task in tasks:
                templates_for(task, stage)  # unknown task names fail here, with the list of known ones
        if self.pretrain_steps < 0 or self.pretrain_lr <= 0:
            raise InputError(f"MotionGPTRecipe: pretrain_steps={self.pretrain_steps}, pretrain_lr={self.pretrain_lr}:"
                             " expected steps >= 0 and lr > 0")
        if self.templates is not None and self.templates < 1:
            raise InputError(f"MotionGPTRecipe.templates={self.templates}: expected None (all) or >= 1")
        if self.val_items < 1:
            raise InputError(f"MotionGPTRecipe.val_items={self.val_items}: expected >= 1")
        if not 2 <= self.max_codes <= 200:
            raise InputError(f"MotionGPTRecipe.max_codes={self.max_codes}: expected 2..200 tokens")

    def stage(self, name: str) -> TrainConfig:
        """The training config of stage ``"pretrain"`` (a) or ``"instruct"`` (b)."""
        if name == "instruct":
            return self.train
        return replace(self.train.scaled_to(max(1, self.pretrain_steps)), lr=self.pretrain_lr,
                       best_metric=None, eval_every=0)


# ----------------------------------------------------------------------------------------------- items
def _text(caption: Any) -> str:
    return caption if isinstance(caption, str) else caption.text


class MotionTextItems:
    """Token sequences with their captions, sampled into encoded ``(prompt, answer)`` training items.

    ``sample(index, rng)`` (what :class:`~motionlab.training.RandomBatches` calls) draws a task of ``stage``,
    one of its phrasings, a caption, the head/tail drop and the quotes.  ``fixed(index)`` is a deterministic
    item for validation.
    """

    def __init__(self, model: MotionGPT, tokens: Sequence[np.ndarray], captions: Sequence[Sequence[Any]], *,
                 stage: str, tasks: Sequence[str], templates: int | None = None, unit: int = 4, fps: float = 20.0,
                 max_codes: int = 49, drop_prob: float = 0.0, quote_prob: float = 0.0):
        if len(tokens) != len(captions):
            raise InputError(f"{len(tokens)} token sequences but {len(captions)} caption lists")
        keep = [i for i, (t, c) in enumerate(zip(tokens, captions)) if len(t) > 0 and len(c) > 0]
        if not keep:
            raise InputError("no motion with both tokens and a caption")
        self.model, self.stage, self.unit, self.fps = model, stage, int(unit), float(fps)
        self.tokens = [np.asarray(tokens[i], dtype=np.int64)[:max_codes] for i in keep]
        self.captions = [[_text(c) for c in captions[i]] for i in keep]
        self.tasks = list(tasks)
        self.templates = {t: templates_for(t, stage, templates) for t in self.tasks}
        self.drop_prob, self.quote_prob = float(drop_prob), float(quote_prob)

    def __len__(self) -> int:
        return len(self.tokens)

    def example(self, index: int, rng: np.random.Generator):
        codes, captions = self.tokens[index], self.captions[index]
        if len(codes) > 3 and rng.random() < self.drop_prob:  # official augmentation: drop the first or last code
            codes = codes[1:] if rng.random() < 0.5 else codes[:-1]
        task = self.tasks[int(rng.integers(len(self.tasks)))]
        if not task_fits(task, len(codes)):  # too short to split: ask for the whole motion instead
            task = "t2m" if "t2m" in self.templates else next(t for t in self.tasks if task_fits(t, len(codes)))
        choices = self.templates[task]
        template = choices[int(rng.integers(len(choices)))]
        caption = captions[int(rng.integers(len(captions)))]
        if "{caption}" in template.prompt and rng.random() < self.quote_prob:
            caption = f"\"{caption}\""
        return build_example(template, self.model.vocab, caption=caption, codes=codes, unit=self.unit, fps=self.fps)

    def encode(self, example) -> dict:
        prompt, answer = self.model.encode(example.prompt, example.answer)
        if len(prompt) + len(answer) > self.model.config.max_length:  # keep the answer, cut the prompt's start
            prompt = prompt[len(prompt) + len(answer) - self.model.config.max_length:]
        return {"prompt": prompt, "answer": answer, "seq2seq": not self.model.decoder_only}

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        return self.encode(self.example(index, rng))

    def fixed(self, index: int) -> dict:
        from motionlab.runtime import rng as make_rng

        return self.encode(self.example(index, make_rng(0, "motiongpt-val", self.stage, index)))


def output_vocabulary(model: MotionGPT, captions: Sequence[Sequence[Any]], max_codes: int, unit: int, fps: float
                      ) -> list[int]:
    """Token ids every answer of the training data can use: the motion words, the stop words, each caption
    (with and without quotes, as it is tokenised as an answer) and every motion->length answer up to
    ``max_codes`` tokens."""
    vocab = model.vocab
    ids = set(range(vocab.first_id, vocab.first_id + vocab.size)) | set(model.stop_ids)
    texts = {_text(c) for caps in captions for c in caps}
    for t in INSTRUCT["m2l"][:1]:
        texts |= {t.answer.format(frames=n * unit, seconds=f"{n * unit / fps:.1f}") for n in range(1, max_codes + 1)}
    for text in texts:
        ids |= set(model.encode("", text)[1])
    return sorted(ids)


@torch.no_grad()
def motiongpt_validation(model: MotionGPT, items: MotionTextItems, batch_size: int = 16, limit: int = 128
                         ) -> dict[str, float]:
    """Answer-token loss and accuracy on fixed validation items (one per motion, at most ``limit``)."""
    pad = model.tokenizer.pad_token_id or 0
    total = acc = 0.0
    n = min(len(items), limit)
    for s in range(0, n, batch_size):
        chunk = [items.fixed(i) for i in range(s, min(n, s + batch_size))]
        batch = {k: v.to(model.device) for k, v in collate_examples(chunk, pad).items()}
        losses = model(batch)[1]
        total, acc = total + float(losses["loss"]) * len(chunk), acc + float(losses["accuracy"]) * len(chunk)
    return {"val_loss": total / n, "val_accuracy": acc / n}


# ----------------------------------------------------------------------------------------------- model
def build_motiongpt(config: MotionGPTConfig, n_codes: int, captions: Sequence[Sequence[Any]] = (), *,
                    unit: int = 4, fps: float = 20.0, max_codes: int = 49, seed: int = 0, backbone=None
                    ) -> MotionGPT:
    """An untrained MotionGPT: the backbone (``backbone=(lm, tokenizer)`` overrides the config's, e.g. a
    tiny model in tests) with ``n_codes`` + 3 motion words, LoRA when configured, and the restricted output
    vocabulary of ``captions`` when ``config.restrict_vocab``."""
    from motionlab.generators.motiongpt.backbone import build_backbone

    torch.manual_seed(seed)  # the scratch twin's weights and the LoRA adapters' initial values
    lm, tokenizer = backbone if backbone is not None else build_backbone(config.backbone, seed)
    config = replace(config, n_codes=int(n_codes))
    vocab = add_motion_vocabulary(lm, tokenizer, int(n_codes))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if config.lora:
        lm = apply_lora(lm, config)
    model = MotionGPT(lm, tokenizer, vocab, config)
    if config.restrict_vocab and model.decoder_only:
        if not captions:
            raise InputError("restrict_vocab=True needs the training captions (the words answers may use)")
        model = MotionGPT(lm, tokenizer, vocab, config, output_vocabulary(model, captions, max_codes, unit, fps))
    return model


@dataclass
class MotionGPTRun:
    """A trained MotionGPT with the tokenizer whose codes it reads."""

    model: MotionGPT
    tokenizer: torch.nn.Module
    recipe: MotionGPTRecipe
    info: dict = field(default_factory=dict)

    def pipeline(self, **options):
        """A :class:`~motionlab.generators.motiongpt.pipeline.MotionGPTPipeline` over this run."""
        from motionlab.generators.motiongpt.pipeline import MotionGPTPipeline

        return MotionGPTPipeline(self.model, self.tokenizer, info=self.info, **options)

    def captioner(self, **options):
        """A :class:`~motionlab.generators.motiongpt.pipeline.MotionGPTCaptioner` over this run."""
        from motionlab.generators.motiongpt.pipeline import MotionGPTCaptioner

        return MotionGPTCaptioner(self.model, self.tokenizer, **options)


def _key(recipe: MotionGPTRecipe, tokenizer) -> dict:
    return {"motiongpt": recipe.key(), "tokenizer": tokenizer.key(), "prompts": PROMPTS_VERSION}


def motiongpt_is_cached(data_dir: str | Path, recipe: MotionGPTRecipe, tokenizer) -> bool:
    """Whether :func:`get_motiongpt` with these arguments would load instead of train."""
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import is_cached

    if not (Path(data_dir) / "Mean.npy").is_file():
        return False
    return is_cached("motiongpt", dataset_label(data_dir), _key(recipe, tokenizer.for_data(data_dir)))


def _split_items(run, data_dir, split, recipe, model, stage, tasks) -> MotionTextItems:
    from motionlab.tokenizers.artifacts import tokenize_split

    tokens = tokenize_split(run, data_dir, split, seed=run.recipe.train.seed, subclips=recipe.subclips)
    if tokens.n_layers != 1:
        raise InputError(f"MotionGPT reads one codebook, but the tokenizer has {tokens.n_layers} quantizer layers: "
                         "pass a single-codebook TokenizerRecipe (profile.tokenizer)")
    fps = FPS.get(int(run.model.config.input_dim), 20.0)
    return MotionTextItems(model, tokens.tokens, tokens.captions, stage=stage, tasks=tasks,
                           templates=recipe.templates if stage == "instruct" else None, unit=tokens.unit, fps=fps,
                           max_codes=recipe.max_codes, drop_prob=recipe.drop_prob if split == "train" else 0.0,
                           quote_prob=recipe.quote_prob if split == "train" else 0.0)


def get_motiongpt(data_dir: str | Path, recipe: MotionGPTRecipe, tokenizer, device="auto", *, retrain: bool = False,
                  verbose: bool = True) -> MotionGPTRun:
    """The trained MotionGPT of a recipe on a dataset folder (cached; both stages run on first use).

    ``tokenizer``: the single-codebook :class:`~motionlab.tokenizers.train.TokenizerRecipe` whose codes it
    reads (chapter 3's), loaded from its cache or trained first.
    """
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.tokenizers.artifacts import tokenize_split
    from motionlab.tokenizers.train import get_tokenizer_run
    from motionlab.training import train

    data_dir, dev = Path(data_dir), resolve_device(device)
    tokenizer = tokenizer.for_data(data_dir)
    run = get_tokenizer_run(data_dir, tokenizer, dev)
    n_codes, unit = int(run.model.config.n_codes), int(run.model.config.unit)
    fps = FPS.get(int(run.model.config.input_dim), 20.0)

    def build(work: Path) -> MotionGPTRun:
        say = print if verbose else (lambda *_: None)
        seed = recipe.train.seed
        captions = tokenize_split(run, data_dir, "train", seed=run.recipe.train.seed, subclips=recipe.subclips).captions
        model = build_motiongpt(recipe.model, n_codes, captions, unit=unit, fps=fps, max_codes=recipe.max_codes,
                                seed=seed)
        say(f"[motiongpt] backbone {recipe.model.backbone}{' + LoRA' if recipe.model.lora else ''}: "
            f"{model.num_params():,} params ({model.num_params(trainable=True):,} trainable), {n_codes} + 3 motion "
            f"words, output softmax over {len(model.allowed) or 'all'} words")
        # saving merges LoRA into the weights, so a model loaded from the cache no longer knows what was trained
        info: dict = {"data": data_dir.name, "seed": seed, "n_codes": n_codes,
                      "trained_params": model.num_params(trainable=True)}
        pad = model.tokenizer.pad_token_id or 0

        def collate(items):
            return collate_examples(items, pad)

        for stage, tasks, steps in (("pretrain", recipe.pretrain_tasks, recipe.pretrain_steps),
                                    ("instruct", recipe.tasks, recipe.train.steps)):
            if not steps:
                continue
            cfg = recipe.stage(stage)
            train_set = _split_items(run, data_dir, "train", recipe, model, stage, tasks)
            val_set = _split_items(run, data_dir, "val", recipe, model, stage, tasks)
            say(f"[motiongpt] stage {stage}: {len(train_set)} motions, tasks {', '.join(tasks)}, {cfg.steps} steps "
                f"of batch {cfg.batch_size}, lr {cfg.lr:g}")
            batches = RandomBatches(train_set, cfg.batch_size, seed=cfg.seed if stage == "pretrain" else cfg.seed + 1,
                                    collate=collate)  # the two stages draw different streams
            result = train(model, batches,
                           lambda m, b: m(b)[1], cfg, device=dev,
                           eval_fn=lambda m, step, v=val_set: motiongpt_validation(m, v, limit=recipe.val_items))
            info[stage] = {"steps": cfg.steps, "seconds": round(result.seconds, 2), "history": result.history,
                           "evals": result.evals, "best": result.best}
        model.eval().save(work)
        (work / "info.json").write_text(json.dumps(info))
        return MotionGPTRun(model, run.model, recipe, info)

    def load(folder: Path) -> MotionGPTRun:
        model = MotionGPT.load(folder, dev)
        return MotionGPTRun(model, run.model, recipe, json.loads((folder / "info.json").read_text()))

    return load_or_train("motiongpt", dataset_label(data_dir), _key(recipe, tokenizer), build, load,
                         retrain=retrain, verbose=verbose)

