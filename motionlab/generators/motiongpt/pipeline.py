"""MotionGPT end to end: one model answering every task.

    text->motion:  caption -> instruction (a t2m phrasing) -> LM writes <start> codes <end> -> VQ-VAE -> (4n, D)
    motion->text:  features -> tokenizer codes -> instruction (an m2t phrasing) -> LM writes a caption
    prediction:    first 20 % of the tokens -> LM writes the rest -> whole motion decoded
    in-between:    first and last 25 % kept, middle masked -> LM writes the whole motion
    ask:           any instruction (with an optional motion) -> text, or a motion when the answer holds one

:class:`MotionGPTPipeline` answers the protocol's generator interface ``pipeline(captions, lengths | None) ->
list of raw (T, D) features`` (like ``MoMaskPipeline``); :class:`MotionGPTCaptioner` the captioner interface
``captioner(motions) -> captions`` (like ``TM2TCaptioner``).  :func:`evaluate_completion` scores prediction
and in-between with ADE / FDE on joints and FID with the evaluator.

Motion answers are decoded under a constraint (only codes and the end word may be written), so they always
parse; free-form answers (:meth:`MotionGPTPipeline.ask`) are parsed with the documented repairs of
:func:`~motionlab.generators.motiongpt.vocab.parse_motion`, and every repair is reported (a counted
:class:`MotionTokenWarning` and the ``repairs`` of the result), never silently applied.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.motiongpt.model import MotionGPT
from motionlab.generators.motiongpt.prompts import (
    INSTRUCT,
    build_example,
    inbetween_split,
    prediction_split,
    task_fits,
)
from motionlab.generators.motiongpt.vocab import parse_motion
from motionlab.generators.t2m_gpt_pipeline import GeneratedMotions, token_counts
from motionlab.generators.tm2t.pipeline import check_features

__all__ = [
    "Answer",
    "GeneratedMotionGPT",
    "MotionGPTCaptioner",
    "MotionGPTPipeline",
    "MotionTokenWarning",
    "check_instruction",
    "evaluate_completion",
    "get_motiongpt_captioner",
    "get_motiongpt_pipeline",
]

FPS = {"t2m": 20.0, "kit": 12.5}
MAX_PROMPT_CHARS = 2000  # an instruction longer than this is refused before tokenising


class MotionTokenWarning(UserWarning):
    """Generated text needed repairs to be read as a motion (the message counts them)."""


@dataclass
class GeneratedMotionGPT(GeneratedMotions):
    """:class:`GeneratedMotions` plus the instruction sent for each prompt, the raw generated text and the
    repairs made to read it (empty lists when the output was clean)."""

    instructions: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    repairs: list[list[str]] = field(default_factory=list)


@dataclass
class Answer:
    """What :meth:`MotionGPTPipeline.ask` returns: the generated ``text``, and, when it holds motion words,
    the ``motion`` (raw features), its ``codes`` and the ``repairs`` made to read them."""

    instruction: str
    text: str
    motion: np.ndarray | None = None
    codes: np.ndarray | None = None
    repairs: list[str] = field(default_factory=list)
    skeleton: str = "t2m"

    @property
    def is_motion(self) -> bool:
        return self.motion is not None

    def joints(self) -> np.ndarray:
        from motionlab.data.features import features_to_joints

        if self.motion is None:
            raise InputError("this answer is text, not a motion")
        return np.asarray(features_to_joints(self.motion, skeleton=self.skeleton))


def check_instruction(text: Any, what: str = "instruction") -> str:
    if not isinstance(text, str):
        raise InputError(f"the {what} must be a string, got {type(text).__name__}")
    text = text.strip()
    if not text:
        raise InputError(f"the {what} is empty: expected e.g. 'Generate a motion of about 3 seconds: a person jumps'")
    if len(text) > MAX_PROMPT_CHARS:
        raise InputError(f"the {what} has {len(text)} characters: expected at most {MAX_PROMPT_CHARS}")
    return text


def _warn_repairs(repairs: list[list[str]], what: str) -> None:
    bad = [r for r in repairs if r]
    if bad:
        kinds = sorted({x.split(":")[0] for r in bad for x in r})
        warnings.warn(f"{len(bad)} of {len(repairs)} {what} needed repairs to be read as motions ({'; '.join(kinds)})",
                      MotionTokenWarning, stacklevel=3)


class _Base:
    """What the pipeline and the captioner share: the model, the VQ-VAE and motion <-> codes."""

    def __init__(self, model: MotionGPT, tokenizer, *, batch_size: int = 32, seed: int = 0,
                 skeleton: str | None = None):
        if tokenizer.config.n_codes != model.vocab.n_codes:
            raise InputError(f"the tokenizer has {tokenizer.config.n_codes} codes, MotionGPT's vocabulary "
                             f"{model.vocab.n_codes}: expected the tokenizer it was trained with")
        self.model, self.tokenizer = model.eval(), tokenizer.eval()
        self.unit = int(tokenizer.config.unit)
        self.skeleton = skeleton or {263: "t2m", 251: "kit"}.get(int(tokenizer.config.input_dim), "t2m")
        self.fps = FPS.get(self.skeleton, 20.0)
        self.batch_size = int(batch_size)
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the sampling stream."""
        self.seed = int(seed)
        self._generator = torch.Generator().manual_seed(int(seed))

    def codes_of(self, motions: Sequence[Any], max_codes: int = 49) -> list[np.ndarray]:
        """Tokenizer codes of raw feature arrays (the first ``max_codes`` tokens of each)."""
        from motionlab.tokenizers.artifacts import tokenize_motions

        cfg = self.tokenizer.config
        feats = check_features(motions, int(cfg.input_dim), int(cfg.unit))
        return tokenize_motions(self.tokenizer, [f[: max_codes * self.unit] for f in feats])

    def decode(self, codes: Sequence[np.ndarray]) -> list[np.ndarray]:
        from motionlab.tokenizers.artifacts import decode_tokens

        return decode_tokens(self.tokenizer, codes)

    def _run(self, prompts: list[str], n_codes: Sequence[int] | None = None, **options) -> list[str]:
        """``model.generate`` over batches of ``batch_size`` prompts, from this object's random stream."""
        out = []
        for s in range(0, len(prompts), self.batch_size):
            forced = {} if n_codes is None else {"n_codes": [int(n) for n in n_codes[s:s + self.batch_size]]}
            out.extend(self.model.generate(prompts[s:s + self.batch_size], generator=self._generator, **forced,
                                           **options))
        return out


class MotionGPTPipeline(_Base):
    """Captions in, motions out, and every other task (``predict``, ``inbetween``, ``ask``).

    ``pipeline(captions, lengths)`` is the protocol's generator interface.  ``length_mode``: ``"prompt"``
    (default) states a given length in the instruction (a ``t2m_frames`` phrasing) and lets the model end the
    motion; ``"gt"`` also forces exactly ``max(1, frames // 4)`` codes; ``"model"`` ignores given lengths.
    Without lengths a plain ``t2m`` phrasing is used.  ``template`` picks the phrasing (index into the
    family); ``sample`` / ``top_k`` / ``temperature`` the decoding (default: top-k sampling, k = 50 -- the
    official text->motion samples, ``do_sample=True``).  Successive calls continue one random stream.
    """

    def __init__(self, model: MotionGPT, tokenizer, *, length_mode: str = "prompt", template: int = 0,
                 sample: bool = True, top_k: int | None = 50, temperature: float = 1.0, max_frames: int = 196,
                 batch_size: int = 32, seed: int = 0, skeleton: str | None = None, info: dict | None = None):
        if length_mode not in ("prompt", "gt", "model"):
            raise InputError(f"length_mode={length_mode!r}: expected 'prompt', 'gt' or 'model'")
        super().__init__(model, tokenizer, batch_size=batch_size, seed=seed, skeleton=skeleton)
        self.length_mode, self.template = length_mode, int(template)
        self.sample, self.top_k, self.temperature = bool(sample), top_k, float(temperature)
        self.max_tokens = max(1, int(max_frames) // self.unit)
        self.info = dict(info or {})
        for family in ("t2m", "t2m_frames"):
            if not 0 <= self.template < len(INSTRUCT[family]):
                raise InputError(f"template={template}: expected 0..{len(INSTRUCT[family]) - 1}")

    def _decoding(self) -> dict:
        return {"sample": self.sample, "top_k": self.top_k, "temperature": self.temperature}

    def instructions(self, texts: Sequence[str], lengths: Sequence[int] | None) -> list[str]:
        """The instruction sent for each caption (with its length in frames when the mode uses lengths)."""
        out = []
        for i, text in enumerate(texts):
            if lengths is None or self.length_mode == "model":
                tpl = INSTRUCT["t2m"][self.template]
                out.append(tpl.prompt.format(caption=text))
            else:
                tpl = INSTRUCT["t2m_frames"][self.template]
                out.append(tpl.prompt.format(caption=text, frames=int(lengths[i])))
        return out

    def token_lengths(self, lengths: Sequence[int], n: int) -> np.ndarray:
        """Frames -> token counts ``max(1, frames // unit)`` for ``n`` prompts, or a clear error."""
        return token_counts(lengths, n, self.unit, self.max_tokens)

    def generate(self, texts: Sequence[str] | str, lengths: Sequence[int] | None = None) -> GeneratedMotionGPT:
        """Motions for captions (a string or a list); see the class docstring for ``lengths``."""
        from motionlab.text.encoders import check_prompts

        texts = check_prompts([texts] if isinstance(texts, str) else list(texts))
        if not texts:
            raise InputError("no captions to generate for: expected at least one prompt")
        forced = None
        if lengths is not None:
            n = self.token_lengths(lengths, len(texts))
            forced = n if self.length_mode == "gt" else None
        prompts = self.instructions(texts, lengths)
        outputs = self._run(prompts, motion=True, n_codes=forced, max_new_tokens=self.max_tokens + 1,
                            **self._decoding())
        parsed = [parse_motion(o, self.model.vocab) for o in outputs]
        _warn_repairs([p.repairs for p in parsed], "generated answers")
        codes = [p.codes[: self.max_tokens] for p in parsed]
        return GeneratedMotionGPT(texts, codes, self.decode(codes), self.skeleton, prompts, outputs,
                                  [p.repairs for p in parsed])

    def __call__(self, captions: Sequence[str], lengths: Sequence[int] | None = None) -> list[np.ndarray]:
        """The protocol's generator interface: raw features, one array per caption."""
        return self.generate(list(captions), lengths).features

    # ------------------------------------------------------------------------------------ completion tasks
    def _complete(self, motions: Sequence[Any], task: str) -> GeneratedMotionGPT:
        codes = self.codes_of(motions, self.max_tokens)
        prompts, heads = [], []
        for i, c in enumerate(codes):
            if not task_fits(task, len(c)):
                raise InputError(f"motion {i} has {len(c)} token(s) ({len(c) * self.unit} frames): too short for "
                                 f"{task} (expected at least 3 tokens)")
            tpl = INSTRUCT[task][self.template % len(INSTRUCT[task])]
            prompts.append(build_example(tpl, self.model.vocab, codes=c, unit=self.unit, fps=self.fps).prompt)
            heads.append(c[: prediction_split(len(c))] if task == "predict" else c[:0])
        n = [len(c) - len(h) for c, h in zip(codes, heads)]  # codes the answer must hold
        outputs = self._run(prompts, motion=True, n_codes=np.asarray(n), **self._decoding())
        parsed = [parse_motion(o, self.model.vocab) for o in outputs]
        _warn_repairs([p.repairs for p in parsed], f"{task} answers")
        out_codes = [np.concatenate([h, p.codes]) for h, p in zip(heads, parsed)]
        if task == "inbetween":  # the kept ends are given: only the masked middle comes from the model
            for c, o in zip(codes, out_codes):
                a, b = inbetween_split(len(c))
                o[:a], o[b:] = c[:a], c[b:]
        return GeneratedMotionGPT([task] * len(codes), out_codes, self.decode(out_codes), self.skeleton, prompts,
                                  outputs, [p.repairs for p in parsed])

    def predict(self, motions: Sequence[Any]) -> GeneratedMotionGPT:
        """Each motion continued from its first 20 % of tokens (same total length as the motion's tokens)."""
        return self._complete(motions, "predict")

    def inbetween(self, motions: Sequence[Any]) -> GeneratedMotionGPT:
        """Each motion with its middle half (in tokens) regenerated between the kept first and last 25 %."""
        return self._complete(motions, "inbetween")

    # --------------------------------------------------------------------------------------------- chat
    def ask(self, instruction: str, motion: np.ndarray | None = None, *, max_new_tokens: int = 64) -> Answer:
        """A free-form instruction; ``motion`` (raw features) is written into it as motion words, replacing
        ``{motion}`` or appended at the end.  The answer is text, or a motion when it holds motion words
        (decoded through the tokenizer; repairs reported).  Decoding is this pipeline's (sampling by default)
        and unconstrained: the model itself decides whether to answer with words or with motion."""
        instruction = check_instruction(instruction)
        if motion is not None:
            (codes,) = self.codes_of([motion], self.max_tokens)
            words = self.model.vocab.to_text(codes)
            instruction = (instruction.replace("{motion}", words) if "{motion}" in instruction
                           else f"{instruction} {words}")
        (text,) = self._run([instruction], motion=False, max_new_tokens=max(max_new_tokens, self.max_tokens + 2),
                            **self._decoding())
        if "<motion_id" not in text:
            return Answer(instruction, text.strip(), skeleton=self.skeleton)
        parsed = parse_motion(text, self.model.vocab)
        if parsed.repairs:
            warnings.warn(f"the answer needed repairs to be read as a motion: {'; '.join(parsed.repairs)}",
                          MotionTokenWarning, stacklevel=2)
        codes = parsed.codes[: self.max_tokens]
        return Answer(instruction, text, self.decode([codes])[0], codes, parsed.repairs, self.skeleton)

    def __repr__(self) -> str:
        m = self.model
        return (f"MotionGPTPipeline({m.config.backbone}{' + LoRA' if m.config.lora else ''}, {m.num_params():,} "
                f"params, {m.vocab.n_codes} codes, length_mode={self.length_mode!r}, sample={self.sample}, "
                f"top_k={self.top_k})")


class MotionGPTCaptioner(_Base):
    """Motions -> captions with a trained MotionGPT (greedy, as the official motion->text; ``sample=True``:
    top-k sampling from the seeded stream).  ``template`` picks the m2t phrasing."""

    def __init__(self, model: MotionGPT, tokenizer, *, template: int = 0, sample: bool = False, top_k: int | None = 3,
                 max_words: int = 40, batch_size: int = 32, seed: int = 0):
        super().__init__(model, tokenizer, batch_size=batch_size, seed=seed)
        if not 0 <= int(template) < len(INSTRUCT["m2t"]):
            raise InputError(f"template={template}: expected 0..{len(INSTRUCT['m2t']) - 1}")
        self.template, self.sample, self.top_k, self.max_words = int(template), bool(sample), top_k, int(max_words)

    def caption_codes(self, codes: Sequence[np.ndarray]) -> list[str]:
        tpl = INSTRUCT["m2t"][self.template]
        prompts = [tpl.prompt.format(motion=self.model.vocab.to_text(c)) for c in codes]
        out = self._run(prompts, text_only=True, max_new_tokens=self.max_words, sample=self.sample, top_k=self.top_k)
        return [motion_free(t) for t in out]

    def __call__(self, motions: Sequence[Any]) -> list[str]:
        """The motion->text interface: one caption per raw feature array."""
        return self.caption_codes(self.codes_of(motions))


def motion_free(text: str) -> str:
    """A caption with any motion words (a confused answer) removed and quotes stripped."""
    return re.sub(r"<motion_id[^<>\s]*>?", " ", text).strip().strip("\"").strip()


# --------------------------------------------------------------------------------------------- evaluation
def evaluate_completion(pipeline: MotionGPTPipeline, motions: Sequence[np.ndarray], task: str = "predict", *,
                        evaluator=None) -> dict[str, float]:
    """ADE / FDE (metres, joints from the RIC slice) of the generated part of each motion against the
    ground truth, and FID of the whole generated motions against the ground truth with an ``evaluator``.

    ``task="predict"``: the frames after the given 20 %; ``"inbetween"``: the masked middle.  ADE is the mean
    joint distance over those frames, FDE the distance at their last frame.  The ground truth is the motion's
    first ``4·n`` frames (the frames its tokens cover).
    """
    from motionlab.data.features import features_to_joints
    from motionlab.evaluation import metrics

    if task not in ("predict", "inbetween"):
        raise InputError(f"task={task!r}: expected 'predict' or 'inbetween'")
    result = pipeline.predict(motions) if task == "predict" else pipeline.inbetween(motions)
    unit, ade, fde = pipeline.unit, [], []
    truths = []
    for gt, codes, feats in zip(motions, result.tokens, result.features):
        n = len(codes)
        gt = np.asarray(gt, dtype=np.float32)[: n * unit]
        truths.append(gt)
        a, b = (prediction_split(n), n) if task == "predict" else inbetween_split(n)
        j_gen = np.asarray(features_to_joints(feats, skeleton=pipeline.skeleton))[a * unit: b * unit]  # (F, J, 3)
        j_gt = np.asarray(features_to_joints(gt, skeleton=pipeline.skeleton))[a * unit: b * unit]
        dist = np.linalg.norm(j_gen - j_gt, axis=-1).mean(-1)  # (F,) mean over joints
        ade.append(dist.mean())
        fde.append(dist[-1])
    out = {"ade": float(np.mean(ade)), "fde": float(np.mean(fde))}
    if evaluator is not None:
        out["fid"] = float(metrics.fid(evaluator.embed_motions(result.features), evaluator.embed_motions(truths),
                                       method="eigh"))
    return out


# --------------------------------------------------------------------------------------------- cached runs
def get_motiongpt_pipeline(data_dir: str | Path, recipe, tokenizer, device="auto", *, seed: int = 0,
                           verbose: bool = True, **options) -> MotionGPTPipeline:
    """The profile's MotionGPT (trained first when missing) as a :class:`MotionGPTPipeline`."""
    from motionlab.generators.motiongpt.train import get_motiongpt

    return get_motiongpt(data_dir, recipe, tokenizer, device, verbose=verbose).pipeline(seed=seed, **options)


def get_motiongpt_captioner(data_dir: str | Path, recipe, tokenizer, device="auto", *, verbose: bool = True,
                            **options) -> MotionGPTCaptioner:
    """The profile's MotionGPT (trained first when missing) as a :class:`MotionGPTCaptioner`."""
    from motionlab.generators.motiongpt.train import get_motiongpt

    return get_motiongpt(data_dir, recipe, tokenizer, device, verbose=verbose).captioner(**options)
