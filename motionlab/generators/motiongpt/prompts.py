"""Task templates: how one language model is asked for every motion task.

Every training example is a ``(prompt, answer)`` pair of plain strings in which motions appear as motion
words (:mod:`~motionlab.generators.motiongpt.vocab`).  Placeholders:

``{caption}`` a caption; ``{motion}`` a whole motion; ``{frames}`` / ``{seconds}`` its length (frames at the
dataset's rate, seconds with one decimal); ``{head}`` the first 20 % of a motion's tokens (prediction) and
``{tail}`` the rest (the head has no end word: it goes on; every motion answer, the tail included, is
framed by start and end words); ``{masked}`` the motion with its middle half replaced by mask words (in-between).

Two template sets, written for this book (the phrasings are ours, the task families MotionGPT's):

* :data:`PRETRAIN` -- stage (a), motion-language pre-training: one terse phrasing each for text->motion,
  motion->text and motion prediction;
* :data:`INSTRUCT` -- stage (b), instruction tuning: a handful of phrasings for each family: text->motion
  (``t2m``; with a length in frames ``t2m_frames`` or seconds ``t2m_seconds``), motion->text (``m2t``),
  length->motion (``l2m``), motion->length (``m2l``), prediction (``predict``) and in-between
  (``inbetween``).

A recipe may keep only the first ``n`` phrasings of each task for training; the rest then test whether the
model follows instructions worded in a way it never saw.

Splits (the official rules, on tokens): prediction gives the first ``int(0.2 n + 1)`` tokens; in-between keeps
the tokens before ``int(0.25 n + 1)`` and from ``int(0.75 n + 1)`` on and masks the rest.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motionlab.errors import InputError
from motionlab.generators.motiongpt.vocab import MotionVocabulary

__all__ = [
    "INSTRUCT",
    "INSTRUCT_TASKS",
    "MOTION_TASKS",
    "PRETRAIN",
    "PRETRAIN_TASKS",
    "PROMPTS_VERSION",
    "Example",
    "Template",
    "build_example",
    "inbetween_split",
    "prediction_split",
    "templates_for",
]

PROMPTS_VERSION = 2  # part of a trained model's cache key: bump when a template or a framing rule changes
PREDICT_RATIO = 0.2  # share of the tokens given in prediction (official predict_ratio)
INBETWEEN_RATIO = 0.25  # share kept at each end in in-between (official inbetween_ratio)


@dataclass(frozen=True)
class Template:
    """One phrasing of a task: ``prompt`` and ``answer`` with ``{placeholders}``."""

    task: str
    prompt: str
    answer: str

    @property
    def fields(self) -> set[str]:
        return {f for text in (self.prompt, self.answer) for _, f, _, _ in string.Formatter().parse(text) if f}


def _family(task: str, answer: str, *prompts: str) -> list[Template]:
    return [Template(task, p, answer) for p in prompts]


PRETRAIN: dict[str, list[Template]] = {
    "t2m": _family("t2m", "{motion}", "motion: {caption}"),
    "m2t": _family("m2t", "{caption}", "text: {motion}"),
    "predict": _family("predict", "{tail}", "continue: {head}"),
}

INSTRUCT: dict[str, list[Template]] = {
    "t2m": _family(
        "t2m", "{motion}",
        "Generate a motion: {caption}",
        "Show me how a person moves when {caption}",
        "Create the motion described here: \"{caption}\"",
        "Animate this description: {caption}",
        "Give me motion tokens for the sentence: {caption}"),
    "t2m_frames": _family(
        "t2m_frames", "{motion}",
        "Generate a motion of {frames} frames: {caption}",
        "Make a {frames}-frame motion in which {caption}",
        "In {frames} frames, show: {caption}",
        "Create a motion lasting {frames} frames where {caption}"),
    "t2m_seconds": _family(
        "t2m_seconds", "{motion}",
        "Generate a motion of about {seconds} seconds: {caption}",
        "Make a {seconds}-second motion in which {caption}",
        "Show for {seconds} seconds: {caption}",
        "Animate, in roughly {seconds} s, this: {caption}"),
    "m2t": _family(
        "m2t", "{caption}",
        "Describe this motion: {motion}",
        "What is the person doing here? {motion}",
        "Write a caption for the movement {motion}",
        "Explain in one sentence what happens in {motion}",
        "{motion} Describe the motion above."),
    "l2m": _family(
        "l2m", "{motion}",
        "Generate any motion of {frames} frames.",
        "Make up a motion that lasts {seconds} seconds.",
        "Show me a random movement of about {seconds} s.",
        "Create some motion, {frames} frames long."),
    "m2l": _family(
        "m2l", "{frames} frames ({seconds} seconds)",
        "How long is this motion? {motion}",
        "Count the frames of {motion}",
        "What is the duration of the movement {motion}",
        "{motion} How many frames does this motion have?"),
    "predict": _family(
        "predict", "{tail}",
        "Predict how this motion continues: {head}",
        "Continue the movement: {head}",
        "Here is the beginning of a motion, finish it: {head}",
        "What comes next after {head}"),
    "inbetween": _family(
        "inbetween", "{motion}",
        "Fill in the masked part of this motion: {masked}",
        "Complete the motion, replacing the masks: {masked}",
        "Some frames are missing, restore them: {masked}",
        "Inpaint the middle of {masked}"),
}

PRETRAIN_TASKS = tuple(PRETRAIN)
INSTRUCT_TASKS = tuple(INSTRUCT)
MOTION_TASKS = ("t2m", "t2m_frames", "t2m_seconds", "l2m", "predict", "inbetween")  # the answer is a motion


def templates_for(task: str, stage: str = "instruct", n: int | None = None) -> list[Template]:
    """The phrasings of ``task`` in ``stage`` (``"pretrain"`` | ``"instruct"``), the first ``n`` of them."""
    table = {"pretrain": PRETRAIN, "instruct": INSTRUCT}.get(stage)
    if table is None:
        raise InputError(f"stage={stage!r}: expected 'pretrain' or 'instruct'")
    if task not in table:
        raise InputError(f"task {task!r} has no {stage} templates: expected one of {', '.join(table)}")
    if n is not None and n < 1:
        raise InputError(f"n={n}: expected None (all phrasings) or >= 1")
    return table[task][:n]


def prediction_split(n: int) -> int:
    """Tokens given in a prediction task of an ``n``-token motion: ``int(0.2 n + 1)``."""
    return int(n * PREDICT_RATIO + 1)


def inbetween_split(n: int) -> tuple[int, int]:
    """``(a, b)``: in-between keeps tokens ``[0, a)`` and ``[b, n)`` and masks ``[a, b)``."""
    return int(n * INBETWEEN_RATIO + 1), int(n * (1 - INBETWEEN_RATIO) + 1)


def task_fits(task: str, n: int) -> bool:
    """Whether an ``n``-token motion can make an example of ``task`` (prediction and in-between need a
    non-empty part to write)."""
    if task == "predict":
        return prediction_split(n) < n
    if task == "inbetween":
        a, b = inbetween_split(n)
        return a < b <= n
    return n >= 1


@dataclass(frozen=True)
class Example:
    """A filled template: the ``prompt`` and the ``answer`` the model must write."""

    task: str
    prompt: str
    answer: str


def build_example(template: Template, vocab: MotionVocabulary, *, caption: str | None = None,
                  codes: Sequence[int] | None = None, unit: int = 4, fps: float = 20.0) -> Example:
    """Fill ``template`` for one motion (``codes``) and/or one ``caption``.

    The length placeholders are the motion's frames ``len(codes) * unit`` and seconds ``frames / fps`` (one
    decimal).  A template whose placeholders need what is not given is an :class:`InputError`.
    """
    need = template.fields
    values: dict[str, str] = {}
    if "caption" in need:
        if not isinstance(caption, str) or not caption.strip():
            raise InputError(f"task {template.task!r} needs a caption, got {caption!r}")
        values["caption"] = caption.strip()
    if need & {"motion", "head", "tail", "masked", "frames", "seconds"}:
        if codes is None or len(codes) == 0:
            raise InputError(f"task {template.task!r} needs a motion (a non-empty code sequence)")
        codes = np.asarray(codes, dtype=np.int64)
        n = len(codes)
        if not task_fits(template.task, n):
            raise InputError(f"task {template.task!r} needs a longer motion than {n} token(s)")
        frames = n * unit
        values.update(frames=str(frames), seconds=f"{frames / fps:.1f}")
        if "motion" in need:
            values["motion"] = vocab.to_text(codes)
        if "head" in need or "tail" in need:
            k = prediction_split(n)
            values["head"] = vocab.to_text(codes[:k], end=False)  # an open motion: it continues
            values["tail"] = vocab.to_text(codes[k:])  # framed like every motion answer
        if "masked" in need:
            a, b = inbetween_split(n)
            masked = np.concatenate([codes[:a], np.full(b - a, vocab.mask), codes[b:]])
            values["masked"] = vocab.to_text(masked)
    return Example(template.task, template.prompt.format(**values), template.answer.format(**values))
