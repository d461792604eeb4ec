"""The text-to-motion pipeline around a trained T2M-GPT, and helpers to evaluate runs with the protocol.

``T2MGPTPipeline``: captions -> sentence features (cached) -> GPT tokens (KV-cache sampling) -> VQ-VAE
decoder -> de-normalised features; callable as a generator of the evaluation protocol.  ``RandomTokens``:
the baseline that writes uniformly random codes through the same decoder.  ``evaluate_runs`` /
``summarize_runs``: the protocol over several trained runs (settings x seeds) as one tidy table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import T2MGPT

__all__ = ["GeneratedMotions", "T2MGPTPipeline", "RandomTokens", "evaluate_runs", "summarize_runs"]


@dataclass
class GeneratedMotions:
    """What :meth:`T2MGPTPipeline.generate` returns, one entry per prompt."""

    texts: list[str]
    tokens: list[np.ndarray]  # code ids
    features: list[np.ndarray]  # raw (de-normalised) features (frames, D)
    skeleton: str = "t2m"

    @property
    def lengths(self) -> np.ndarray:
        """Frames of each motion."""
        return np.array([len(f) for f in self.features], dtype=np.int64)

    def joints(self) -> list[np.ndarray]:
        """Joint positions ``(frames, J, 3)`` recovered from the RIC slice of each motion."""
        from motionlab.data.features import features_to_joints

        return [np.asarray(features_to_joints(f, skeleton=self.skeleton)) for f in self.features]


def token_counts(lengths: Sequence[int], n: int, unit: int, max_tokens: int) -> np.ndarray:
    """Frames -> token counts ``max(1, frames // unit)`` for ``n`` prompts, or a clear error (lengths that are
    not whole numbers of frames, or outside ``1..max_tokens * unit``).  Shared by the pipelines that take
    given lengths."""
    frames = np.asarray(lengths)
    if frames.ndim != 1 or len(frames) != n:
        raise InputError(f"lengths has shape {frames.shape}: expected one length in frames per caption ({n})")
    if not np.issubdtype(frames.dtype, np.number) or not np.all(np.isfinite(frames)) \
            or not np.array_equal(frames, np.round(frames)):
        raise InputError(f"lengths must be whole numbers of frames, got {frames.tolist()}")
    top = max_tokens * unit
    bad = [int(f) for f in frames if not 1 <= f <= top]
    if bad:
        raise InputError(f"lengths {bad} frames: expected 1..{top} ({max_tokens} tokens of {unit} frames)")
    return np.maximum(frames.astype(np.int64) // unit, 1)


class T2MGPTPipeline:
    """Captions in, motions out: text encoder -> GPT -> VQ-VAE decoder -> de-normalised features.

    Calling the pipeline is the generator interface of the evaluation protocol:
    ``pipeline(captions, lengths) -> list of raw feature arrays``.  ``lengths=None`` (the protocol's
    ``lengths="model"``, T2M-GPT's own) lets each motion end where the GPT writes End.  Given lengths are
    followed with ``length_mode="auto"`` (default) or ``"gt"`` -- the GPT is forced to ``round(length / 4)``
    tokens -- and ignored with ``"model"``.  Successive calls continue one random stream seeded by ``seed``,
    so replications differ from each other and the whole evaluation is repeatable.

    ``max_frames`` caps free generation (196: 49 tokens; the official sampler allows 50 tokens = 200 frames,
    of which the evaluator reads 196) and ``end_at_start`` is :meth:`T2MGPT.generate`'s rule for End as the
    first token (``"fallback"``: the official single code 1).
    """

    def __init__(self, gpt: T2MGPT, tokenizer, *, encoder: str = "minilm", sample: str = "categorical",
                 temperature: float = 1.0, top_k: int | None = None, length_mode: str = "auto",
                 max_frames: int = 196, seed: int = 0, batch_size: int | None = None, skeleton: str | None = None,
                 info: dict | None = None, end_at_start: str = "block"):
        if length_mode not in ("auto", "model", "gt"):
            raise InputError(f"length_mode={length_mode!r}: expected 'auto', 'model' or 'gt'")
        self.gpt, self.tokenizer = gpt.eval(), tokenizer.eval()
        self.encoder, self.sample, self.temperature, self.top_k = encoder, sample, temperature, top_k
        on_gpu = gpt.lm_head.weight.device.type == "cuda"
        self.length_mode, self.max_frames, self.end_at_start = length_mode, int(max_frames), end_at_start
        self.batch_size = int(batch_size or (1024 if on_gpu else 128))  # prompts decoded together
        self.unit = int(tokenizer.config.unit)
        self.skeleton = skeleton or {263: "t2m", 251: "kit"}.get(int(tokenizer.config.input_dim), "t2m")
        self.info = dict(info or {})
        self.seed = int(seed)
        self.reseed(seed)
        if gpt.config.n_codes != tokenizer.config.n_codes:
            raise InputError(f"the GPT writes {gpt.config.n_codes} codes but the tokenizer has "
                             f"{tokenizer.config.n_codes}")

    @property
    def device(self) -> torch.device:
        return self.gpt.lm_head.weight.device

    @property
    def max_tokens(self) -> int:
        """Longest motion in tokens: the block, and at most ``max_frames`` frames (196 for HumanML3D)."""
        return max(1, min(self.gpt.config.max_tokens, self.max_frames // self.unit))

    def reseed(self, seed: int) -> None:
        """Restart the sampling stream."""
        self._generator = torch.Generator().manual_seed(int(seed))

    def with_options(self, **options) -> "T2MGPTPipeline":
        """A pipeline sharing the same models with other sampling options (``sample="argmax"``, ...)."""
        kw = dict(encoder=self.encoder, sample=self.sample, temperature=self.temperature, top_k=self.top_k,
                  length_mode=self.length_mode, max_frames=self.max_frames, seed=self.seed,
                  batch_size=self.batch_size, skeleton=self.skeleton, info=self.info,
                  end_at_start=self.end_at_start)
        kw.update(options)
        return T2MGPTPipeline(self.gpt, self.tokenizer, **kw)

    def embed(self, texts: Sequence[str], overlong: str = "warn") -> torch.Tensor:
        """Sentence features ``(N, text_dim)`` from the on-disk cache (encoding only unseen prompts)."""
        from motionlab.text.encoders import embed_prompts

        return embed_prompts(texts, self.encoder, device=self.device, dim=self.gpt.config.text_dim,
                             model="the GPT", overlong=overlong)

    def tokens(self, texts: Sequence[str], lengths: Sequence[int] | None = None, overlong: str = "warn"
               ) -> list[np.ndarray]:
        """Code sequences for prompts; ``lengths`` in frames force the token counts (else the model's End)."""
        emb = self.embed(texts, overlong=overlong)  # (N, text_dim)
        out: list[np.ndarray] = []
        for start in range(0, len(emb), self.batch_size):
            chunk = emb[start:start + self.batch_size].to(self.device)
            forced = None
            if lengths is not None:
                frames = np.asarray(lengths[start:start + self.batch_size], dtype=np.float64)
                forced = torch.as_tensor(np.clip(np.round(frames / self.unit), 1, self.max_tokens).astype(np.int64))
            gen = self.gpt.generate(chunk, sample=self.sample, temperature=self.temperature, top_k=self.top_k,
                                    max_tokens=self.max_tokens, lengths=forced, generator=self._generator,
                                    end_at_start=self.end_at_start)
            out.extend(c.cpu().numpy() for c in gen.to_list())
        return out

    def decode(self, tokens: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw features of code sequences (VQ-VAE decoder, then the tokenizer's de-normalisation)."""
        from motionlab.tokenizers.artifacts import decode_tokens

        return decode_tokens(self.tokenizer, tokens)

    def generate(self, texts: Sequence[str] | str, lengths: Sequence[int] | None = None, *,
                 overlong: str = "warn") -> GeneratedMotions:
        """Motions for prompts (a string or a list); see :meth:`tokens` for ``lengths``."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        from motionlab.text.encoders import check_prompts

        texts = check_prompts(texts)
        tokens = self.tokens(texts, lengths, overlong=overlong)
        return GeneratedMotions(texts, tokens, self.decode(tokens), self.skeleton)

    def __call__(self, captions: Sequence[str], lengths: Sequence[int] | None = None) -> list[np.ndarray]:
        """The protocol's generator interface: raw features, one array per caption."""
        if self.length_mode == "gt" and lengths is None:
            raise InputError("length_mode='gt' needs the ground-truth lengths (run the protocol with lengths='gt')")
        use = None if self.length_mode == "model" else lengths
        return self.generate(list(captions), use).features

    def __repr__(self) -> str:
        c = self.gpt.config
        return (f"T2MGPTPipeline({self.gpt.num_params():,} GPT params, {c.n_codes} codes, encoder={self.encoder!r}, "
                f"sample={self.sample!r}, length_mode={self.length_mode!r})")


class RandomTokens:
    """Baseline generator: uniformly random codes, decoded by the same VQ-VAE.

    Lengths are the ground-truth ones when the protocol passes them, else drawn from ``length_pool`` (token
    counts, e.g. the training set's).  Everything a trained GPT scores better than this is learned.
    """

    def __init__(self, tokenizer, length_pool: Sequence[int], seed: int = 0, max_tokens: int = 49):
        self.tokenizer, self.max_tokens = tokenizer.eval(), int(max_tokens)
        self.pool = np.clip(np.asarray(length_pool, dtype=np.int64), 1, self.max_tokens)
        self.unit, self.n_codes = int(tokenizer.config.unit), int(tokenizer.config.n_codes)
        self._rng = np.random.default_rng(seed)

    def __call__(self, captions: Sequence[str], lengths: Sequence[int] | None = None) -> list[np.ndarray]:
        from motionlab.tokenizers.artifacts import decode_tokens

        if lengths is not None:
            n = np.clip(np.round(np.asarray(lengths) / self.unit), 1, self.max_tokens).astype(np.int64)
        else:
            n = self._rng.choice(self.pool, size=len(captions))
        return decode_tokens(self.tokenizer, [self._rng.integers(0, self.n_codes, size=int(k)) for k in n])




# ------------------------------------------------------------------------------------ experiments
def evaluate_runs(runs: dict[str, Sequence[Any]], evaluator, split, spec="t2m", *, seed: int = 0,
                  **protocol_options) -> pd.DataFrame:
    """The protocol for every run of every setting: ``runs = {setting: [generator per seed, ...]}``.

    All runs go through ONE call of ``motionlab.evaluation.protocol.evaluate`` (so they share the
    ground-truth passes, and the test crops are embedded once); each run's per-metric means over the
    replications form the rows of the tidy result: columns ``setting``, ``run``, ``metric``, ``value``.
    The protocol's ground-truth row is kept as setting ``"ground truth"`` (run 0).
    """
    from motionlab.evaluation.protocol import GT_NAME, evaluate

    named, owner = {}, {}
    for setting, gens in runs.items():
        if setting == GT_NAME:
            raise InputError(f"{GT_NAME!r} is reserved for the ground-truth row")
        for r, gen in enumerate(gens):
            name = f"{setting} [run {r}]"
            named[name], owner[name] = gen, (setting, r)
    result = evaluate(named, evaluator, split, spec, seed=seed, **protocol_options)
    means = result.values.groupby(["model", "metric"], sort=False)["value"].mean()
    rows = [(*owner.get(model, (GT_NAME, 0)), metric, float(value)) for (model, metric), value in means.items()]
    return pd.DataFrame(rows, columns=["setting", "run", "metric", "value"])


def summarize_runs(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean over runs and the 95 % half-width ``1.96 * std / sqrt(n)`` (NaN for a single run) per setting."""
    part = table[table["metric"] == metric]
    if part.empty:
        raise InputError(f"no values for metric {metric!r}; have {sorted(set(table['metric']))}")
    out = []
    for setting, group in part.groupby("setting", sort=False):
        v = group["value"].to_numpy(dtype=np.float64)
        ci = 1.96 * float(np.std(v)) / math.sqrt(len(v)) if len(v) > 1 else float("nan")
        out.append((setting, float(np.mean(v)), ci, len(v)))
    return pd.DataFrame(out, columns=["setting", "mean", "ci", "runs"]).set_index("setting")
