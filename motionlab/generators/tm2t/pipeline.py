"""TM2T end to end: motions in, captions out (:class:`TM2TCaptioner`), and captions in, motions out
(:class:`TM2TPipeline`), with the captioning metrics (:func:`evaluate_captioner`).

    captioner:  raw features (T, D) -> tokenizer codes -> [start, codes, end] -> beam search -> words
    pipeline:   caption -> word ids -> GRU, top-k sampling until end -> codes -> VQ-VAE decoder -> (4n, D)

Both answer the book's generator interfaces: ``captioner(motions) -> captions`` and
``pipeline(captions, lengths | None) -> motions`` (the protocol's, as ``T2MGPTPipeline`` and
``MoMaskPipeline``).  TM2T chooses its own lengths (protocol preset ``"tm2t"``: ``lengths="model"``); given
lengths are followed only with ``length_mode="gt"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt_pipeline import GeneratedMotions
from motionlab.generators.tm2t.motion_to_text import (
    OFFICIAL_ALPHA,
    OFFICIAL_BEAM,
    OFFICIAL_MAX_LEN,
    MotionToText,
)
from motionlab.generators.tm2t.text_to_motion import (
    OFFICIAL_MAX_TOKENS,
    OFFICIAL_TOP_K,
    TextToMotion,
)
from motionlab.generators.tm2t.vocab import (
    CaptionVocabulary,
    caption_words,
    pack_motions,
    pack_words,
)

__all__ = [
    "GeneratedTM2T",
    "TM2TCaptioner",
    "TM2TPipeline",
    "evaluate_captioner",
    "get_tm2t",
    "get_tm2t_captioner",
    "tm2t_is_cached",
]


def check_features(motions: Sequence[Any], dim: int, unit: int) -> list[np.ndarray]:
    """Raw feature arrays ``(T, dim)`` with at least ``unit`` frames, or an :class:`InputError` naming the motion."""
    if isinstance(motions, np.ndarray) and motions.ndim == 2:
        raise InputError("expected a list of motions (T, D), not a single array: wrap it in a list")
    out = []
    for i, m in enumerate(motions):
        m = np.asarray(m, dtype=np.float32)
        if m.ndim != 2 or m.shape[1] != dim:
            raise InputError(f"motion {i} has shape {m.shape}: expected (frames, {dim}) features of the tokenizer's "
                             "skeleton")
        if m.shape[0] < unit:
            raise InputError(f"motion {i} has {m.shape[0]} frames: expected at least {unit} (one token)")
        if not np.all(np.isfinite(m)):
            raise InputError(f"motion {i} holds NaN or infinite values")
        out.append(m)
    if not out:
        raise InputError("no motions to caption: expected at least one")
    return out


class TM2TCaptioner:
    """Motions -> captions with a trained :class:`MotionToText`.  ``mode="beam"`` (official evaluation: beam 2,
    30 positions, length penalty 0.7) or ``"sample"`` (top-k, the README's 3; a seeded stream)."""

    def __init__(self, model: MotionToText, vocab: CaptionVocabulary, tokenizer, *, mode: str = "beam",
                 beam: int = OFFICIAL_BEAM, max_len: int = OFFICIAL_MAX_LEN, alpha: float = OFFICIAL_ALPHA,
                 top_k: int | None = 3, seed: int = 0, batch_size: int = 64):
        if mode not in ("beam", "sample"):
            raise InputError(f"mode={mode!r}: expected 'beam' or 'sample'")
        if len(vocab) != model.config.vocab_size:
            raise InputError(f"the vocabulary has {len(vocab)} words, the captioner {model.config.vocab_size}")
        if tokenizer.config.n_codes != model.config.n_codes:
            raise InputError(f"the tokenizer has {tokenizer.config.n_codes} codes, the captioner reads "
                             f"{model.config.n_codes}")
        self.model, self.vocab, self.tokenizer = model.eval(), vocab, tokenizer.eval()
        self.mode, self.beam, self.max_len, self.alpha, self.top_k = mode, int(beam), int(max_len), alpha, top_k
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.generator = torch.Generator().manual_seed(int(seed))

    def with_options(self, **options) -> "TM2TCaptioner":
        """A captioner over the same model with other decoding options (``mode="sample"``, ``beam=4`` ...)."""
        kw = {"mode": self.mode, "beam": self.beam, "max_len": self.max_len, "alpha": self.alpha,
              "top_k": self.top_k, "seed": self.seed, "batch_size": self.batch_size}
        unknown = set(options) - set(kw)
        if unknown:
            raise InputError(f"with_options: unknown option(s) {sorted(unknown)}; expected some of {sorted(kw)}")
        return TM2TCaptioner(self.model, self.vocab, self.tokenizer, **(kw | options))

    @property
    def max_codes(self) -> int:
        return self.model.config.max_tokens - 2

    def tokens(self, motions: Sequence[Any]) -> list[np.ndarray]:
        """Code ids of raw feature arrays (cut to the captioner's longest source)."""
        from motionlab.tokenizers.artifacts import tokenize_motions

        cfg = self.tokenizer.config
        feats = check_features(motions, int(cfg.input_dim), int(cfg.unit))
        feats = [f[: self.max_codes * cfg.unit] for f in feats]
        return tokenize_motions(self.tokenizer, feats)

    def caption_tokens(self, tokens: Sequence[Any]) -> list[str]:
        """Captions of code sequences (ids in ``[0, n_codes)``, 1 .. ``max_tokens - 2`` each)."""
        out = []
        for s in range(0, len(tokens), self.batch_size):
            src, n = pack_motions(tokens[s:s + self.batch_size], self.model.config.n_codes,
                                  self.model.config.max_tokens)
            src, n = src.to(self.model.device), n.to(self.model.device)
            if self.mode == "beam":
                ids = self.model.beam_search(src, n, beam=self.beam, max_len=self.max_len, alpha=self.alpha)
            else:
                ids = self.model.sample(src, n, top_k=self.top_k, max_len=self.max_len, generator=self.generator)
            out.extend(self.vocab.decode(i) for i in ids)
        return out

    def __call__(self, motions: Sequence[Any]) -> list[str]:
        """The motion->text interface: one caption per raw feature array."""
        return self.caption_tokens(self.tokens(motions))


@dataclass
class GeneratedTM2T(GeneratedMotions):
    """:class:`GeneratedMotions` plus each motion's attention over its caption's words ``(n_i, L_i)`` and
    those words (``<sos>`` ... ``<eos>``), for plotting."""

    attention: list[np.ndarray] | None = None
    words: list[list[str]] | None = None


class TM2TPipeline:
    """Captions -> motions with a trained :class:`TextToMotion` and its tokenizer's decoder."""

    def __init__(self, model: TextToMotion, vocab: CaptionVocabulary, tokenizer, *, top_k: int | None = OFFICIAL_TOP_K,
                 temperature: float = 1.0, max_frames: int = 4 * OFFICIAL_MAX_TOKENS, length_mode: str = "model",
                 seed: int = 0, batch_size: int = 128, skeleton: str | None = None, info: dict | None = None):
        if length_mode not in ("model", "gt"):
            raise InputError(f"length_mode={length_mode!r}: expected 'model' or 'gt'")
        if len(vocab) != model.config.vocab_size or tokenizer.config.n_codes != model.config.n_codes:
            raise InputError("the vocabulary / tokenizer do not match the text->motion model it was trained with")
        self.model, self.vocab, self.tokenizer = model.eval(), vocab, tokenizer.eval()
        self.top_k, self.temperature, self.length_mode = top_k, float(temperature), length_mode
        self.unit = int(tokenizer.config.unit)
        self.max_tokens = max(1, int(max_frames) // self.unit)
        self.batch_size, self.info = int(batch_size), dict(info or {})
        self.skeleton = skeleton or {263: "t2m", 251: "kit"}.get(int(tokenizer.config.input_dim), "t2m")
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the sampling stream."""
        self._generator = torch.Generator().manual_seed(int(seed))

    def generate(self, texts: Sequence[str] | str, lengths: Sequence[int] | None = None) -> GeneratedTM2T:
        """Motions (and attention maps) for prompts; ``lengths`` in frames, when given, fix each motion's token
        count (``max(1, frames // 4)``; more than ``max_tokens`` tokens is an error), else the model writes End."""
        from motionlab.text.encoders import check_prompts
        from motionlab.tokenizers.artifacts import decode_tokens

        texts = check_prompts([texts] if isinstance(texts, str) else list(texts))
        ids = [self.vocab.encode(t) for t in texts]
        codes, attention = [], []
        for s in range(0, len(texts), self.batch_size):
            chunk = ids[s:s + self.batch_size]
            forced = None
            if lengths is not None:
                forced = np.maximum(np.asarray(lengths[s:s + self.batch_size]) // self.unit, 1)
            out = self.model.generate(pack_words(chunk).to(self.model.device), torch.as_tensor([len(c) for c in chunk]),
                                      top_k=self.top_k, max_tokens=self.max_tokens, lengths=forced,
                                      temperature=self.temperature, generator=self._generator)
            codes.extend(out.codes)
            attention.extend(out.attention)
        words = [[self.vocab.words[i] for i in row] for row in ids]
        return GeneratedTM2T(texts, codes, decode_tokens(self.tokenizer, codes), self.skeleton, attention, words)

    def __call__(self, captions: Sequence[str], lengths: Sequence[int] | None = None) -> list[np.ndarray]:
        """The protocol's generator interface: raw features, one array per caption; given lengths are followed
        only with ``length_mode="gt"`` (TM2T's own protocol lets the model choose)."""
        return self.generate(list(captions), lengths if self.length_mode == "gt" else None).features


# ---------------------------------------------------------------------------------------------- metrics
def evaluate_captioner(captioner, motions: Sequence[np.ndarray], references: Sequence[Sequence[Any]], *,
                       evaluator=None, reference_form: str = "raw", bertscore: bool = True, batch_size: int = 32,
                       device: str = "cpu") -> dict[str, float]:
    """Captioning metrics of ``captioner(motions)`` against each motion's reference captions.

    BLEU@1/@4, ROUGE-L, CIDEr and MiniLM BERTScore (``evaluation.captions``; the BERTScore is a stand-in,
    not comparable with published values).  ``reference_form="raw"`` scores against the captions as written
    (how MotionGPT re-reports TM2T), ``"lemma"`` against TM2T's own lemmatised words.  With an ``evaluator``
    also motion->text R-precision (top 1-3 among batches of ``batch_size``) and MM-Dist between the generated
    captions and the motions.
    """
    from motionlab.evaluation import metrics
    from motionlab.evaluation.captions import caption_metrics

    if len(motions) != len(references):
        raise InputError(f"{len(motions)} motions but {len(references)} reference lists")
    candidates = captioner(motions)
    refs = [[" ".join(caption_words(c, reference_form)) for c in caps] for caps in references]
    out = caption_metrics(candidates, refs, bertscore=bertscore, device=device)
    if evaluator is not None:
        text_emb, motion_emb = evaluator.embed_texts(candidates), evaluator.embed_motions(list(motions))
        bs = min(batch_size, len(candidates))
        top = metrics.r_precision(text_emb, motion_emb, top_k=min(3, bs), batch_size=bs)
        out.update({f"r_precision_top{k + 1}": float(v) for k, v in enumerate(top)})
        out["mm_dist"] = float(metrics.matching_score(text_emb, motion_emb))
    return out


# --------------------------------------------------------------------------------------------- cached runs
def tm2t_is_cached(data_dir: str | Path, tokenizer, m2t, t2m) -> bool:
    """Whether :func:`get_tm2t` would load both models instead of training any."""
    from motionlab.generators.tm2t.train_m2t import motion_to_text_is_cached
    from motionlab.generators.tm2t.train_t2m import text_to_motion_is_cached

    return (text_to_motion_is_cached(data_dir, t2m, tokenizer, m2t)
            and (not t2m.inverse_alignment or motion_to_text_is_cached(data_dir, m2t, tokenizer)))


def get_tm2t(data_dir: str | Path, tokenizer, m2t, t2m, device="auto", *, seed: int = 0, verbose: bool = True,
             **options) -> TM2TPipeline:
    """The profile's TM2T text->motion as a :class:`TM2TPipeline` (the captioner is trained first when the
    recipe uses inverse alignment).  ``tokenizer``, ``m2t``, ``t2m``: a profile's ``tokenizer`` (or TM2T's),
    ``tm2t_m2t`` and ``tm2t_t2m`` recipes."""
    from motionlab.generators.tm2t.train_t2m import get_text_to_motion

    run = get_text_to_motion(data_dir, t2m, tokenizer, m2t, device, verbose=verbose)
    return run.pipeline(seed=seed, **options)


def get_tm2t_captioner(data_dir: str | Path, tokenizer, m2t, device="auto", *, verbose: bool = True,
                       **options) -> TM2TCaptioner:
    """The profile's TM2T captioner (trained first when missing) as a :class:`TM2TCaptioner`."""
    from motionlab.generators.tm2t.train_m2t import get_motion_to_text

    return get_motion_to_text(data_dir, m2t, tokenizer, device, verbose=verbose).captioner(**options)
