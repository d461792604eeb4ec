"""Every generator of the book by name, behind one call, so comparisons are loops and not code paths.

``TEXT_TO_MOTION[name]`` and ``MOTION_TO_TEXT[name]`` are :class:`Entry` items: a label for tables and pages,
and ``load(data_dir, profile, device, evaluator=None)`` returning the profile's trained model (loaded from
the artifact cache, trained first when missing, which it says before it starts).  Text->motion models answer
``generator(captions, lengths | None) -> list of raw (T, D) features`` (and ``.generate(texts, lengths)``,
``.reseed(seed)``); motion->text models answer ``captioner(list of raw features) -> list of captions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from motionlab.errors import InputError

__all__ = ["Entry", "TEXT_TO_MOTION", "MOTION_TO_TEXT", "load_text_to_motion", "load_motion_to_text"]


@dataclass(frozen=True)
class Entry:
    label: str  # how tables, logs and pages name the model
    load: Callable[..., Any]  # (data_dir, profile, device, evaluator=None) -> generator or captioner


def _say_training(what: str, steps: str) -> None:
    print(f"[motionlab] no trained {what} for this profile in the cache yet: training it now ({steps}). Later "
          "calls reuse it.", flush=True)


def _t2m_gpt(data_dir: Path, profile, device, evaluator=None):
    from motionlab.generators.train_t2m_gpt import get_t2m_gpt, t2m_gpt_is_cached

    if not t2m_gpt_is_cached(data_dir, profile.gpt, profile.tokenizer):
        _say_training("T2M-GPT", f"{profile.gpt.train.steps} steps; the tokenizer, {profile.tokenizer.train.steps} "
                                 "steps, first if it is missing too")
    return get_t2m_gpt(data_dir, profile.gpt, profile.tokenizer, device, evaluator=evaluator)


def _momask(data_dir: Path, profile, device, evaluator=None):
    from motionlab.generators.momask.pipeline import get_momask, momask_is_cached

    parts = (profile.momask_tokenizer, profile.momask_masked, profile.momask_residual, profile.momask_length)
    if not momask_is_cached(data_dir, *parts):
        _say_training("MoMask", f"the missing parts: RVQ-VAE {parts[0].train.steps}, masked transformer "
                                f"{parts[1].train.steps}, residual transformer {parts[2].train.steps}, length "
                                f"estimator {parts[3].train.steps} steps")
    return get_momask(data_dir, *parts, device, evaluator)


def _tm2t(data_dir: Path, profile, device, evaluator=None):
    from motionlab.generators.tm2t.pipeline import get_tm2t, tm2t_is_cached

    tokenizer, m2t, t2m = profile.tm2t_tokenizer, profile.tm2t_m2t, profile.tm2t_t2m
    if not tm2t_is_cached(data_dir, tokenizer, m2t, t2m):
        first = f", the captioner ({m2t.train.steps} steps) first" if t2m.inverse_alignment else ""
        _say_training("TM2T", f"{t2m.train.steps} steps{first}; the tokenizer too if it is missing")
    return get_tm2t(data_dir, tokenizer, m2t, t2m, device)


def _tm2t_captioner(data_dir: Path, profile, device, evaluator=None, **options):
    from motionlab.generators.tm2t.pipeline import get_tm2t_captioner
    from motionlab.generators.tm2t.train_m2t import motion_to_text_is_cached

    tokenizer, m2t = profile.tm2t_tokenizer, profile.tm2t_m2t
    if not motion_to_text_is_cached(data_dir, m2t, tokenizer):
        _say_training("TM2T captioner", f"{m2t.train.steps} steps; the tokenizer, {tokenizer.train.steps} steps, "
                                        "first if it is missing too")
    return get_tm2t_captioner(data_dir, tokenizer, m2t, device, **options)


def _motiongpt(data_dir: Path, profile, device, evaluator=None):
    from motionlab.generators.motiongpt.commands import load_motiongpt

    return load_motiongpt(data_dir, profile, device, evaluator)


def _motiongpt_captioner(data_dir: Path, profile, device, evaluator=None, **options):
    from motionlab.generators.motiongpt.commands import load_motiongpt_captioner

    return load_motiongpt_captioner(data_dir, profile, device, evaluator, **options)


TEXT_TO_MOTION: dict[str, Entry] = {
    "t2m-gpt": Entry("T2M-GPT", _t2m_gpt),
    "momask": Entry("MoMask", _momask),
    "tm2t": Entry("TM2T", _tm2t),
    "motiongpt": Entry("MotionGPT", _motiongpt),
}
MOTION_TO_TEXT: dict[str, Entry] = {
    "tm2t": Entry("TM2T", _tm2t_captioner),
    "motiongpt": Entry("MotionGPT", _motiongpt_captioner),
}


def _entry(table: dict[str, Entry], name: str, what: str) -> Entry:
    if name not in table:
        raise InputError(f"--model {name!r}: expected one of {', '.join(table)} ({what})")
    return table[name]


def load_text_to_motion(name: str, data_dir: str | Path, profile, device, evaluator=None):
    """The profile's trained text->motion model ``name`` (a key of :data:`TEXT_TO_MOTION`)."""
    return _entry(TEXT_TO_MOTION, name, "text->motion models").load(Path(data_dir), profile, device, evaluator)


def load_motion_to_text(name: str, data_dir: str | Path, profile, device, evaluator=None, **options):
    """The profile's trained motion->text model ``name`` (a key of :data:`MOTION_TO_TEXT`)."""
    entry = _entry(MOTION_TO_TEXT, name, "motion->text models")
    return entry.load(Path(data_dir), profile, device, evaluator, **options)
