"""Training TM2T's text-to-motion GRU, with or without inverse alignment, and the cached model.

Each step is one or two updates of the same Adam optimiser (official ``Seq2SeqT2MJointTrainer``):

1. **token step** -- teacher-forced cross-entropy on the motion tokens, the teacher-forcing ratio decaying
   0.9 -> 0.1 over ``tf_decay_steps`` (official: 35 epochs);
2. **inverse step** (``inverse_alignment``, from ``inverse_from_step`` on) -- the model samples tokens with
   hard Gumbel-softmax (τ = 1), the one-hot tokens go through the **frozen** captioner, and the caption's
   cross-entropy ``L_inv = -(1/N) Σ_t log p_m2t(w_t | w_<t, y)`` (times ``inverse_weight``) updates the
   text->motion model only.

Why Gumbel: ``argmax`` has zero gradient almost everywhere, so a caption loss on sampled ids could never
reach the generator.  ``gumbel_softmax(hard=True)`` outputs an exact one-hot ``y`` in the forward pass
and uses the gradient of ``softmax((log π + g)/τ)`` in the backward pass (straight-through), and the
captioner embeds ``y`` as ``y @ E_src``, so ``∂L_inv/∂ log π`` exists.

The two updates are two calls of :func:`motionlab.training.training_step` (the one loop's update), so the
loop here is short: no checkpoint/resume or DDP (the runs are minutes in every profile but ``paper``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from motionlab.errors import InputError
from motionlab.generators.tm2t.motion_to_text import MotionToText
from motionlab.generators.tm2t.pairs import (
    PairBatches,
    TokenCaptionPairs,
    collate_pairs,
)
from motionlab.generators.tm2t.text_to_motion import (
    TextToMotion,
    TextToMotionConfig,
    teacher_forcing_ratio,
)
from motionlab.generators.tm2t.vocab import FORMS, CaptionVocabulary
from motionlab.training import Recipe, TrainConfig, TrainResult

__all__ = [
    "TextToMotionRecipe",
    "TextToMotionRun",
    "get_text_to_motion",
    "inverse_alignment_loss",
    "t2m_loss",
    "t2m_validation",
    "text_to_motion_is_cached",
    "train_text_to_motion",
]


@dataclass(frozen=True)
class TextToMotionRecipe(Recipe):
    """The text->motion GRU of a profile: ``model`` (:class:`TextToMotionConfig`; ``vocab_size`` and
    ``n_codes`` set from the vocabulary and the tokenizer), ``train`` (official: Adam 2e-4, batch 64, clip 0.5,
    lowest validation loss), the vocabulary (as the captioner's: it must be the same word list), the teacher
    forcing schedule, and inverse alignment: ``inverse_alignment`` on/off, ``inverse_from_step`` (official
    README: epoch 0), ``inverse_weight`` (1), ``inverse_tau`` (1), ``inverse_top_k`` (None = all codes)."""

    model: TextToMotionConfig = field(default_factory=TextToMotionConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=100000, lr=2e-4, batch_size=64, grad_clip=0.5, amp=False, log_every=1000, eval_every=5000,
        best_metric="val_loss"))
    vocab_form: str = "raw"
    min_word_count: int = 1
    max_words: int = 20
    drop_prob: float = 1 / 3
    tf_start: float = 0.9
    tf_end: float = 0.1
    tf_decay_steps: int = 12800  # ~35 epochs of HumanML3D at batch 64
    inverse_alignment: bool = False
    inverse_from_step: int = 0
    inverse_weight: float = 1.0
    inverse_tau: float = 1.0
    inverse_top_k: int | None = None
    subclips: str = "crop"

    def __post_init__(self):
        if self.vocab_form not in FORMS:
            raise InputError(f"TextToMotionRecipe.vocab_form={self.vocab_form!r}: expected one of {FORMS}")
        if not (0.0 <= self.tf_end <= 1.0 and 0.0 <= self.tf_start <= 1.0):
            raise InputError(f"TextToMotionRecipe: tf_start={self.tf_start}, tf_end={self.tf_end}: expected "
                             "probabilities")
        if self.inverse_from_step < 0 or self.inverse_weight <= 0 or self.inverse_tau <= 0:
            raise InputError("TextToMotionRecipe: expected inverse_from_step >= 0, inverse_weight > 0, inverse_tau > 0")


# ------------------------------------------------------------------------------------------------ losses
def t2m_loss(model: TextToMotion, batch: dict, tf_ratio: float = 1.0) -> dict[str, torch.Tensor]:
    """Token step: teacher-forced cross-entropy on ``batch["src"]`` (start + codes + end) given the words."""
    return model(batch["words"], batch["word_len"], batch["src"], tf_ratio)[1]


def inverse_alignment_loss(model: TextToMotion, captioner: MotionToText, batch: dict, *, tau: float = 1.0,
                           top_k: int | None = None, weight: float = 1.0) -> dict[str, torch.Tensor]:
    """Inverse step: Gumbel one-hot tokens from ``model`` -> frozen ``captioner`` -> caption cross-entropy.

    Only ``model`` receives gradients: the captioner must have ``requires_grad=False`` (checked).
    """
    if any(p.requires_grad for p in captioner.parameters()):
        raise InputError("inverse alignment needs a frozen captioner: call captioner.requires_grad_(False)")
    max_tokens = min(model.config.max_tokens, captioner.config.max_tokens) - 2  # room for start and end
    one_hot, n = model.gumbel_sample(batch["words"], batch["word_len"], max_tokens=max_tokens, tau=tau,
                                     top_k=top_k)  # (B, S, V), (B,)
    _, losses = captioner(one_hot, n, batch["words"])  # L_inv = -(1/N) Σ log p(w_t | w_<t, y)
    return {"loss": weight * losses["loss"], "inverse_ce": losses["loss"].detach(),
            "inverse_accuracy": losses["accuracy"], "inverse_tokens": (n - 2).float().mean().detach()}


@torch.no_grad()
def t2m_validation(model: TextToMotion, pairs: TokenCaptionPairs, batch_size: int = 128, limit: int = 1024
                   ) -> dict[str, float]:
    """Fully teacher-forced token cross-entropy and accuracy on fixed validation items."""
    total = acc = weight = 0.0
    for start in range(0, min(len(pairs), limit), batch_size):
        items = [pairs[i] for i in range(start, min(len(pairs), limit, start + batch_size))]
        batch = {k: v.to(model.device) for k, v in collate_pairs(items, pairs.n_codes).items()}
        losses = t2m_loss(model, batch, tf_ratio=1.0)
        n = float((batch["src_len"] - 1).sum())
        total, acc, weight = total + float(losses["loss"]) * n, acc + float(losses["accuracy"]) * n, weight + n
    return {"val_loss": total / weight, "val_accuracy": acc / weight}


# -------------------------------------------------------------------------------------------------- loop
def train_text_to_motion(model: TextToMotion, batch_fn, recipe: TextToMotionRecipe, *, captioner=None,
                         device="cpu", eval_fn=None, verbose: bool = False) -> TrainResult:
    """Train ``model`` for ``recipe.train.steps`` steps: a token step, then (inverse alignment, from
    ``inverse_from_step``) an inverse step with the same optimiser.  ``eval_fn(model, step)`` runs every
    ``eval_every`` steps and at the end; with ``best_metric`` the model ends with its best weights (with
    inverse alignment: the best of the evaluations made once the inverse step had started)."""
    from motionlab.progress import Reporter, progress_enabled
    from motionlab.runtime import resolve_device, rng, seed_everything
    from motionlab.training import make_optimizer, training_step

    cfg, dev, t0 = recipe.train, resolve_device(device), time.perf_counter()
    if recipe.inverse_alignment:
        if captioner is None:
            raise InputError("inverse_alignment=True needs the trained captioner (captioner=...)")
        captioner = captioner.to(dev).eval().requires_grad_(False)  # frozen: a fixed function of the tokens
    seed_everything(int(rng(cfg.seed, "train", 0).integers(2**31)))
    model.to(dev).train()
    opt = make_optimizer(model, cfg)
    history, evals, best, best_state, window = [], [], None, None, {}
    reporter = Reporter(cfg.steps, enabled=progress_enabled(cfg.progress),
                        header=f"[train] {model.num_params():,} params, {cfg.steps} steps, batch {cfg.batch_size}")
    for step in range(cfg.steps):
        batch = {k: v.to(dev) for k, v in batch_fn(step).items()}
        tf = teacher_forcing_ratio(step, recipe.tf_decay_steps, recipe.tf_start, recipe.tf_end)
        losses = training_step(lambda b, tf=tf: t2m_loss(model, b, tf), batch, opt, cfg, step)
        logs = {k: float(v.detach()) for k, v in losses.items()}
        if recipe.inverse_alignment and step >= recipe.inverse_from_step:  # second update, same optimiser
            inv = training_step(lambda b: inverse_alignment_loss(
                model, captioner, b, tau=recipe.inverse_tau, top_k=recipe.inverse_top_k,
                weight=recipe.inverse_weight), batch, opt, cfg, step)
            logs.update({k: float(v.detach()) for k, v in inv.items() if k not in ("loss", "grad_norm")})
        for k, v in {**logs, "tf_ratio": tf}.items():
            window.setdefault(k, []).append(v)
        done = step + 1
        log = evaluation = None
        if (cfg.log_every and done % cfg.log_every == 0) or done == cfg.steps:
            log = {"step": done, **{k: sum(v) / len(v) for k, v in window.items()}}
            history.append(log)
            window = {}
        if eval_fn is not None and ((cfg.eval_every and done % cfg.eval_every == 0) or done == cfg.steps):
            model.eval()
            evaluation = {"step": done, **{k: float(v) for k, v in eval_fn(model, done).items()}}
            model.train()
            evals.append(evaluation)
            key = cfg.best_metric
            # with inverse alignment only models that had it compete: the token loss alone favours earlier ones
            eligible = not recipe.inverse_alignment or step >= recipe.inverse_from_step
            better = key is not None and (best is None or (evaluation[key] < best[key]) == (cfg.best_mode == "min"))
            if eligible and better:
                best = evaluation
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        reporter.update(done, log, evaluation)
    if best_state is not None:
        model.load_state_dict(best_state)
    reporter.close(f"[train] done: {cfg.steps} steps")
    return TrainResult(history, evals, best, time.perf_counter() - t0, cfg.steps)


# -------------------------------------------------------------------------------------------- cached run
@dataclass
class TextToMotionRun:
    """A trained text->motion GRU with its vocabulary and the tokenizer whose codes it writes."""

    model: TextToMotion
    vocab: CaptionVocabulary
    tokenizer: torch.nn.Module
    recipe: TextToMotionRecipe
    info: dict = field(default_factory=dict)

    def pipeline(self, **options):
        """A :class:`~motionlab.generators.tm2t.pipeline.TM2TPipeline` over this run (captions -> motions)."""
        from motionlab.generators.tm2t.pipeline import TM2TPipeline

        return TM2TPipeline(self.model, self.vocab, self.tokenizer, info=self.info, **options)


def _key(recipe: TextToMotionRecipe, tokenizer, captioner) -> dict:
    key = {"t2m": recipe.key(), "tokenizer": tokenizer.key()}
    if recipe.inverse_alignment:
        key["captioner"] = captioner.key()
    return key


def text_to_motion_is_cached(data_dir: str | Path, recipe: TextToMotionRecipe, tokenizer, captioner=None) -> bool:
    """Whether :func:`get_text_to_motion` with these arguments would load instead of train."""
    from motionlab.data.paths import dataset_label
    from motionlab.runtime import is_cached

    if not (Path(data_dir) / "Mean.npy").is_file():
        return False
    tokenizer = tokenizer.for_data(data_dir)
    return is_cached("tm2t_t2m", dataset_label(data_dir), _key(recipe, tokenizer, captioner))


def get_text_to_motion(data_dir: str | Path, recipe: TextToMotionRecipe, tokenizer, captioner=None, device="auto",
                       *, retrain: bool = False, verbose: bool = True) -> TextToMotionRun:
    """The trained text->motion model of a recipe on a dataset folder (cached).

    ``tokenizer``: the single-codebook tokenizer recipe; ``captioner``: the :class:`MotionToTextRecipe`
    (``profile.tm2t_m2t``), needed when ``recipe.inverse_alignment`` is on (it is loaded, or trained first,
    and its vocabulary must equal this model's).
    """
    from motionlab import checkpoints
    from motionlab.data.paths import dataset_label
    from motionlab.generators.tm2t.train_m2t import get_motion_to_text, train_val_pairs
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.tokenizers.train import get_tokenizer_run

    if recipe.inverse_alignment and captioner is None:
        raise InputError("this recipe uses inverse alignment: pass captioner=profile.tm2t_m2t")
    data_dir, dev = Path(data_dir), resolve_device(device)
    tokenizer = tokenizer.for_data(data_dir)
    run = get_tokenizer_run(data_dir, tokenizer, dev)
    n_codes = int(run.model.config.n_codes)

    def build(work):
        say = print if verbose else (lambda *_: None)
        train_set, val_set, vocab = train_val_pairs(run, data_dir, recipe, n_codes)
        m2t = None
        if recipe.inverse_alignment:
            m2t_run = get_motion_to_text(data_dir, captioner, tokenizer, dev, verbose=verbose)
            if m2t_run.vocab.words != vocab.words:
                raise InputError("the captioner's vocabulary differs from this model's: give both recipes the same "
                                 "vocab_form, min_word_count and tokenizer")
            m2t = m2t_run.model
        cfg_model = replace(recipe.model, n_codes=n_codes, vocab_size=len(vocab))
        bound = replace(recipe, model=cfg_model)
        if not bound.train.eval_every:
            bound = replace(bound, train=replace(bound.train, eval_every=max(1, bound.train.steps // 10)))
        say(f"[tm2t-t2m] {len(train_set)} training motions, {len(vocab)} words, {bound.train.steps} steps, inverse "
            f"alignment {'from step ' + str(recipe.inverse_from_step) if recipe.inverse_alignment else 'off'}, "
            f"seed {bound.train.seed}")
        torch.manual_seed(bound.train.seed)
        model = TextToMotion(cfg_model)
        result = train_text_to_motion(model, PairBatches(train_set, bound.train.batch_size, seed=bound.train.seed),
                                      bound, captioner=m2t, device=dev,
                                      eval_fn=lambda m, step: t2m_validation(m, val_set))
        info = {"n_train": len(train_set), "steps": bound.train.steps, "seed": bound.train.seed,
                "seconds": round(result.seconds, 2), "history": result.history, "evals": result.evals,
                "best": result.best, "inverse_alignment": recipe.inverse_alignment, "data": data_dir.name,
                "vocab": vocab.to_json()}
        checkpoints.save_model(model, work, info)
        return TextToMotionRun(model.eval(), vocab, run.model, recipe, info)

    def load(folder):
        info = checkpoints.load_extra(folder)
        model = checkpoints.load_model(TextToMotion, folder, dev)
        return TextToMotionRun(model, CaptionVocabulary.from_json(info["vocab"]), run.model, recipe, info)

    return load_or_train("tm2t_t2m", dataset_label(data_dir), _key(recipe, tokenizer, captioner), build, load,
                         retrain=retrain, verbose=verbose)
