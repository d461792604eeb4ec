"""MoMask end to end: captions in, motions out (Guo et al., CVPR 2024).

``MoMaskPipeline`` chains the four trained parts::

    captions --encoder--> c (N, text_dim)                                  # frozen, cached on disk
    lengths (frames) -> n = max(1, frames // 4) tokens,  or  n ~ LengthEstimator(c)   (no lengths given)
    masked transformer: all [MASK] -> base-layer ids (N, T)                 # 10 iterations, guidance s = 3
    residual transformer: layers 1..L-1, one pass each -> ids (N, T, L)     # guidance s = 4
    RVQ-VAE decoder on the sum of the L layers' codes -> de-normalised features (4n, D)

``MoMaskPipeline.edit`` regenerates frame ranges of a given motion with the same parts (chapter 7's editing).

It answers the generator interface of the evaluation protocol exactly as ``T2MGPTPipeline`` does
(``pipeline(captions, lengths | None) -> list of raw (T, D) features``), so evaluation and the side-by-side
chapter loop over both.  :func:`get_momask` loads (training first if missing) the four cached parts of a
profile and returns the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.momask.edit import EditedMotion, token_spans
from motionlab.generators.momask.masked_transformer import (
    OFFICIAL_COND_SCALE,
    LengthEstimator,
    MaskedTransformer,
)
from motionlab.generators.momask.residual_transformer import ResidualTransformer
from motionlab.generators.t2m_gpt_pipeline import GeneratedMotions, token_counts

__all__ = ["OFFICIAL_ITERATIONS", "OFFICIAL_RESIDUAL_COND_SCALE", "MoMaskPipeline", "get_momask", "momask_is_cached"]

OFFICIAL_ITERATIONS = 10  # the README's evaluation --time_steps (the option's default is 18)
# official res_cond_scale 5 in the code's form u + 5·(c − u); the paper's form (1 + s)·c − s·u has s = 4
OFFICIAL_RESIDUAL_COND_SCALE = 4.0


class MoMaskPipeline:
    """Captions in, motions out: text encoder -> (length estimator) -> masked transformer -> residual
    transformer -> RVQ-VAE decoder -> de-normalised features.

    ``pipeline(captions, lengths)`` is the protocol's generator interface.  Given lengths (frames, the
    protocol's ``"gt"`` mode) become ``max(1, frames // 4)`` tokens, as the official evaluation's
    ``m_length // 4`` (a motion of 1..3 frames gets one token, 4 frames); lengths outside
    ``1..4·max_tokens`` are an error.  ``lengths=None`` draws each length from the length estimator.
    Successive calls continue one random stream seeded by ``seed`` (lengths, base layer and residual layers
    all draw from it), so replications differ and the whole run is repeatable.

    Options: ``iterations`` (L = 10), ``cond_scale`` (masked guidance s, paper form; default 3 = the official
    code's 4), ``residual_cond_scale`` (s = 4, the official 5), ``temperature`` (both samplers),
    ``top_fraction`` (codes kept before sampling, 10 %), ``layers`` (RVQ layers generated and decoded: None =
    all, 1 = the base layer only), ``max_frames`` (196).
    """

    def __init__(self, masked: MaskedTransformer, residual: ResidualTransformer, tokenizer,
                 length: LengthEstimator | None = None, *, encoder: str = "minilm",
                 iterations: int = OFFICIAL_ITERATIONS, cond_scale: float = OFFICIAL_COND_SCALE,
                 residual_cond_scale: float = OFFICIAL_RESIDUAL_COND_SCALE, temperature: float = 1.0,
                 top_fraction: float = 0.1, layers: int | None = None, max_frames: int = 196, seed: int = 0,
                 batch_size: int | None = None, skeleton: str | None = None, info: dict | None = None):
        self.masked, self.residual, self.tokenizer = masked.eval(), residual.eval(), tokenizer.eval()
        self.length = length.eval() if length is not None else None
        self.encoder = encoder
        self.iterations, self.cond_scale = int(iterations), float(cond_scale)
        self.residual_cond_scale, self.temperature = float(residual_cond_scale), float(temperature)
        self.top_fraction, self.max_frames = float(top_fraction), int(max_frames)
        tc, mc, rc = tokenizer.config, masked.config, residual.config
        self.unit, self.n_quantizers = int(tc.unit), int(tc.n_quantizers)
        self.layers = self.n_quantizers if layers is None else int(layers)
        self.batch_size = int(batch_size or (1024 if self.device.type == "cuda" else 128))  # prompts per pass
        self.skeleton = skeleton or {263: "t2m", 251: "kit"}.get(int(tc.input_dim), "t2m")
        self.info = dict(info or {})
        self.seed = int(seed)
        self.reseed(seed)
        # the four parts must have been trained together
        if not tc.residual or rc.n_quantizers != tc.n_quantizers:
            raise InputError(f"the residual transformer writes {rc.n_quantizers} layers but the tokenizer has "
                             f"n_quantizers={tc.n_quantizers}: expected the RVQ-VAE they were trained on")
        if not mc.n_codes == rc.n_codes == tc.n_codes:
            raise InputError(f"codebook sizes differ: masked {mc.n_codes}, residual {rc.n_codes}, tokenizer "
                             f"{tc.n_codes}")
        dims = {"masked": mc.text_dim, "residual": rc.text_dim}
        if length is not None:
            dims["length"] = length.config.text_dim
        if len(set(dims.values())) != 1:
            raise InputError(f"text feature sizes differ between the parts: {dims}")
        if self.iterations < 1:
            raise InputError(f"iterations={iterations}: expected >= 1")
        if not (math.isfinite(self.cond_scale) and self.residual_cond_scale >= 0
                and math.isfinite(self.residual_cond_scale)):
            raise InputError(f"cond_scale={cond_scale}, residual_cond_scale={residual_cond_scale}: expected finite "
                             "guidance scales, the residual one >= 0")
        if not self.temperature > 0:
            raise InputError(f"temperature={temperature}: expected > 0")
        if not 1 <= self.layers <= self.n_quantizers:
            raise InputError(f"layers={layers}: expected 1..{self.n_quantizers} (or None for all)")
        if self.max_frames < self.unit:
            raise InputError(f"max_frames={max_frames}: expected >= {self.unit} (one token)")

    @property
    def device(self) -> torch.device:
        return self.masked.device

    @property
    def max_tokens(self) -> int:
        """Longest motion in tokens: both transformers' positions and ``max_frames`` (196 -> 49)."""
        return max(1, min(self.masked.config.max_tokens, self.residual.config.max_tokens,
                          self.max_frames // self.unit))

    @property
    def max_sampled_tokens(self) -> int:
        """Longest length the estimator may draw: ``max_tokens`` and its last class."""
        if self.length is None:
            return self.max_tokens
        return min(self.max_tokens, self.length.config.n_classes - 1)

    def reseed(self, seed: int) -> None:
        """Restart the sampling stream."""
        self._generator = torch.Generator().manual_seed(int(seed))

    def with_options(self, **options) -> MoMaskPipeline:
        """A pipeline sharing the same models with other options (``cond_scale=0``, ``iterations=5``,
        ``layers=1`` ...); it starts its own stream from ``seed``."""
        kw = {"encoder": self.encoder, "iterations": self.iterations, "cond_scale": self.cond_scale,
              "residual_cond_scale": self.residual_cond_scale, "temperature": self.temperature,
              "top_fraction": self.top_fraction, "layers": self.layers, "max_frames": self.max_frames,
              "seed": self.seed, "batch_size": self.batch_size, "skeleton": self.skeleton, "info": self.info}
        unknown = set(options) - set(kw)
        if unknown:
            raise InputError(f"with_options: unknown option(s) {sorted(unknown)}; expected some of {sorted(kw)}")
        kw.update(options)
        return MoMaskPipeline(self.masked, self.residual, self.tokenizer, self.length, **kw)

    def embed(self, texts: Sequence[str], overlong: str = "warn") -> torch.Tensor:
        """Sentence features ``(N, text_dim)`` from the on-disk cache (encoding only unseen prompts)."""
        from motionlab.text.encoders import embed_prompts

        return embed_prompts(texts, self.encoder, device=self.device, dim=self.masked.config.text_dim,
                             model="MoMask", overlong=overlong)

    def token_lengths(self, lengths: Sequence[int], n: int) -> np.ndarray:
        """Frames -> token counts ``max(1, frames // unit)`` for ``n`` prompts, or a clear error."""
        return token_counts(lengths, n, self.unit, self.max_tokens)

    @torch.no_grad()
    def tokens(self, texts: Sequence[str], lengths: Sequence[int] | None = None, overlong: str = "warn"
               ) -> list[np.ndarray]:
        """RVQ ids ``(n_i, layers)`` per prompt; ``lengths`` in frames fix ``n_i``, else the estimator draws."""
        emb = self.embed(texts, overlong=overlong)  # (N, text_dim)
        forced = None if lengths is None else self.token_lengths(lengths, len(emb))
        if forced is None and self.length is None:
            raise InputError("this pipeline has no length estimator: pass lengths (frames per caption)")
        out: list[np.ndarray] = []
        for start in range(0, len(emb), self.batch_size):
            c = emb[start:start + self.batch_size].to(self.device)  # (b, text_dim)
            if forced is None:
                n = self.length.sample(c, min_tokens=1, max_tokens=self.max_sampled_tokens,
                                       generator=self._generator)  # (b,) token counts
            else:
                n = torch.as_tensor(forced[start:start + self.batch_size], device=self.device)  # (b,)
            base = self.masked.generate(c, n, iterations=self.iterations, cond_scale=self.cond_scale,
                                        top_fraction=self.top_fraction, temperature=self.temperature,
                                        generator=self._generator)  # (b, T) layer 0, [PAD] past each length
            if self.layers > 1:  # top-k: the official 10 % of the codes, the same share as the masked sampler
                ids = self.residual.generate(c, base, n, cond_scale=self.residual_cond_scale,
                                             temperature=self.temperature, generator=self._generator,
                                             n_layers=self.layers)[:, :, : self.layers]  # (b, T, layers)
            else:
                ids = base.unsqueeze(-1)  # (b, T, 1)
            ids, n = ids.cpu().numpy(), n.cpu().numpy()
            out.extend(ids[i, : int(k)] for i, k in enumerate(n))  # (n_i, layers) each, no pads
        return out

    def decode(self, tokens: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw features ``(4·n_i, D)`` of RVQ ids ``(n_i, l)`` (the first l layers' codes summed, decoded,
        de-normalised)."""
        from motionlab.tokenizers.artifacts import decode_tokens

        return decode_tokens(self.tokenizer, tokens)

    def generate(self, texts: Sequence[str] | str, lengths: Sequence[int] | None = None, *,
                 overlong: str = "warn") -> GeneratedMotions:
        """Motions for prompts (a string or a list); see :meth:`tokens` for ``lengths``."""
        from motionlab.text.encoders import check_prompts

        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise InputError("no captions to generate for: expected at least one prompt")
        texts = check_prompts(texts)
        tokens = self.tokens(texts, lengths, overlong=overlong)
        return GeneratedMotions(texts, tokens, self.decode(tokens), self.skeleton)

    @torch.no_grad()
    def edit(self, motion: np.ndarray, caption: str, frames, *, overlong: str = "warn") -> EditedMotion:
        """Regenerate the frames of ``motion`` (raw features ``(F, D)``) in ``frames`` from ``caption``.

        ``frames``: one ``(start, stop)`` range or a list of them (stop exclusive, -1 = the end): a prefix
        ``(0, 40)``, a suffix ``(80, -1)``, an in-between ``(40, 80)``.  The motion is tokenised (its first
        ``4·floor(F/4)`` frames: a tail of ``F mod 4`` frames has no token and is not part of the result), the
        base-layer tokens of the ranges (:func:`~motionlab.generators.momask.edit.token_spans`) are filled by
        the masked transformer, their residual layers by the residual transformer, and everything outside stays
        the motion's own ids.  Uses this pipeline's options and random stream.
        """
        from motionlab.text.encoders import check_prompts
        from motionlab.tokenizers.artifacts import tokenize_motions

        motion = np.asarray(motion, dtype=np.float32)
        width = int(self.tokenizer.config.input_dim)
        if motion.ndim != 2 or motion.shape[1] != width:
            raise InputError(f"motion has shape {motion.shape}: expected raw features (frames, {width}) of the "
                             "dataset this MoMask was trained on")
        if not np.isfinite(motion).all():
            bad = np.flatnonzero(~np.isfinite(motion).all(axis=1))
            raise InputError(f"motion has NaN/inf values in {len(bad)} frame(s), first {bad[:5].tolist()}")
        n = motion.shape[0] // self.unit
        if not 1 <= n <= self.max_tokens:
            raise InputError(f"motion has {motion.shape[0]} frames: expected {self.unit}..{self.max_tokens * self.unit}"
                             f" ({self.max_tokens} tokens of {self.unit} frames)")
        spans = token_spans(frames, n * self.unit, self.unit)
        (caption,) = check_prompts([caption])
        source = tokenize_motions(self.tokenizer, [motion])[0][:, : self.layers]  # (n, layers)
        edit = torch.zeros(1, n, dtype=torch.bool)
        for t0, t1 in spans:
            edit[0, t0:t1] = True
        c = self.embed([caption], overlong=overlong).to(self.device)  # (1, text_dim)
        length = torch.tensor([n], device=self.device)
        src = torch.as_tensor(source, device=self.device).unsqueeze(0)  # (1, n, layers)
        base = src[:, :, 0].masked_fill(edit.to(self.device), self.masked.config.mask_id)  # (1, n)
        base = self.masked.fill(c, base, length, iterations=self.iterations, cond_scale=self.cond_scale,
                                top_fraction=self.top_fraction, temperature=self.temperature,
                                generator=self._generator)  # (1, n) new codes at the masked positions only
        ids = base.unsqueeze(-1)  # (1, n, 1)
        if self.layers > 1:
            full = torch.full((1, n, self.n_quantizers), self.residual.config.pad_id, device=self.device)
            full[:, :, : self.layers] = src
            ids = self.residual.generate(c, base, length, cond_scale=self.residual_cond_scale,
                                         temperature=self.temperature, generator=self._generator,
                                         n_layers=self.layers, source=full, edit=edit)[:, :, : self.layers]
        tokens = ids[0].cpu().numpy()  # (n, layers)
        source_features, features = self.decode([source, tokens])
        return EditedMotion(caption, spans, source, tokens, source_features, features, self.skeleton, self.unit)

    def __call__(self, captions: Sequence[str], lengths: Sequence[int] | None = None) -> list[np.ndarray]:
        """The protocol's generator interface: raw features, one array per caption."""
        return self.generate(list(captions), lengths).features

    def __repr__(self) -> str:
        n = self.masked.num_params() + self.residual.num_params()
        return (f"MoMaskPipeline({n:,} transformer params, {self.n_quantizers} RVQ layers x "
                f"{self.tokenizer.config.n_codes} codes, encoder={self.encoder!r}, iterations={self.iterations}, "
                f"cond_scale={self.cond_scale:g}, residual_cond_scale={self.residual_cond_scale:g}, "
                f"layers={self.layers})")


# ------------------------------------------------------------------------------------ cached parts
def _check_encoders(masked, residual, length) -> str:
    names = {"momask_masked": masked.encoder, "momask_residual": residual.encoder, "momask_length": length.encoder}
    if len(set(names.values())) != 1:
        raise InputError(f"the MoMask recipes use different text encoders {names}: expected one encoder")
    return masked.encoder


def momask_is_cached(data_dir: str | Path, tokenizer, masked, residual, length) -> bool:
    """Whether :func:`get_momask` with these recipes would load all four parts instead of training any."""
    from motionlab.generators.momask.train_length import length_estimator_is_cached
    from motionlab.generators.momask.train_masked import masked_transformer_is_cached
    from motionlab.generators.momask.train_residual import (
        residual_transformer_is_cached,
    )

    return (masked_transformer_is_cached(data_dir, masked, tokenizer)
            and residual_transformer_is_cached(data_dir, residual, tokenizer)
            and length_estimator_is_cached(data_dir, length, tokenizer))


def get_momask(data_dir: str | Path, tokenizer, masked, residual, length, device="auto", evaluator=None, *,
               seed: int = 0, verbose: bool = True) -> MoMaskPipeline:
    """The ready MoMask of a profile on a dataset folder: the four cached parts as a :class:`MoMaskPipeline`.

    ``tokenizer``, ``masked``, ``residual``, ``length``: a profile's ``momask_tokenizer``, ``momask_masked``,
    ``momask_residual`` and ``momask_length`` recipes (or variants).  Each part is loaded from the artifact
    cache, trained first when missing (the RVQ-VAE before the transformers that read its ids).  ``evaluator``
    is needed only to train recipes that select their weights by validation FID.  ``seed`` starts the
    pipeline's sampling stream.
    """
    from motionlab.generators.momask.train_length import get_length_estimator
    from motionlab.generators.momask.train_masked import get_masked_transformer
    from motionlab.generators.momask.train_residual import get_residual_transformer
    from motionlab.runtime import resolve_device

    encoder = _check_encoders(masked, residual, length)
    dev = resolve_device(device)
    m = get_masked_transformer(data_dir, masked, tokenizer, dev, evaluator, verbose=verbose)  # trains the RVQ too
    r = get_residual_transformer(data_dir, residual, tokenizer, dev, evaluator=evaluator, verbose=verbose)
    n = get_length_estimator(data_dir, length, tokenizer, dev, verbose=verbose)
    info = {"masked": m.info, "residual": r.info, "length": n.info}
    return MoMaskPipeline(m.model, r.model, m.tokenizer, n.model, encoder=encoder, seed=seed, info=info)
