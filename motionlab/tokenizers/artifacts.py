"""Using a trained tokenizer on whole datasets: token ids per motion (cached), reconstructions, metrics.

* :func:`tokenize_motions` / :func:`tokenize_split` -- T2M-GPT tokenises every training motion once with the
  frozen VQ-VAE, after cropping it to a multiple of 4 frames at a random offset; the generators of chapters
  5-8 read those id arrays.  ``tokenize_split`` caches them per (tokenizer, split, seed).  A residual
  tokenizer (MoMask's RVQ, ``n_quantizers`` = L > 1) gives ``(T', L)`` arrays (column v = layer v), a single
  codebook ``(T',)`` ones; :func:`decode_tokens` takes either (and ``(T', l)`` with l < L: a coarse prefix).
* :func:`reconstruct_motions` -- encode + decode raw motions (cropped to a multiple of 4 frames).
* :func:`evaluate_reconstruction` -- MPJPE (mm, pelvis-aligned joints from the RIC slice), reconstruction
  FID with the evaluator, codebook usage and perplexity over a split (whole motions, one pass).
* :func:`evaluate_reconstruction_official` -- the reconstruction row as T2M-GPT's ``VQ_eval.py`` measures
  it (the evaluation loader's random crops, batches of 32 without the last partial one, 20 repeats).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.runtime import load_or_train, rng as make_rng
from motionlab.tokenizers.vqvae import VQVAE, crop_to_unit

BATCH = 64  # motions per forward pass when tokenising or reconstructing


def _device_of(model: VQVAE) -> torch.device:
    return next(model.parameters()).device


def _by_length(lengths: Sequence[int | tuple[int, ...]]) -> list[list[int]]:
    """Indices grouped by equal length (or equal shape), each group cut into batches of at most ``BATCH``."""
    groups: dict = {}
    for i, n in enumerate(lengths):
        groups.setdefault(tuple(int(d) for d in n) if isinstance(n, tuple) else int(n), []).append(i)
    return [idx[s:s + BATCH] for _, idx in sorted(groups.items()) for s in range(0, len(idx), BATCH)]


def crop_offsets(lengths: Sequence[int], unit: int = 4, mode: str = "random",
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Start frame of each motion's crop to a multiple of ``unit``: 0 (``"start"``) or uniform in
    ``[0, T mod unit]`` (``"random"``, T2M-GPT's tokenisation)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if mode == "start":
        return np.zeros(len(lengths), dtype=np.int64)
    if mode != "random":
        raise InputError(f"crop mode {mode!r}: expected 'random' or 'start'")
    gen = rng if rng is not None else np.random.default_rng(0)
    return gen.integers(0, lengths % unit + 1).astype(np.int64)


@torch.no_grad()
def tokenize_motions(model: VQVAE, features: Sequence[np.ndarray], offsets: Sequence[int] | None = None
                     ) -> list[np.ndarray]:
    """Token ids (int64) of raw (un-normalised) motions ``(T, D)``: ``(T // unit,)`` per motion, or
    ``(T // unit, L)`` with a residual tokenizer of L layers (column v holds layer v's ids).

    Each motion is cropped to ``T // unit * unit`` frames starting at ``offsets[i]`` (default 0).
    """
    model.eval()
    unit, device = model.config.unit, _device_of(model)
    offsets = np.zeros(len(features), dtype=np.int64) if offsets is None else np.asarray(offsets)
    crops = [crop_to_unit(np.asarray(f, dtype=np.float32), unit, int(o)) for f, o in zip(features, offsets)]
    out: list[np.ndarray | None] = [None] * len(crops)
    for batch in _by_length([c.shape[0] for c in crops]):
        x = torch.as_tensor(np.stack([crops[i] for i in batch]), device=device)  # (b, T, D)
        ids = model.encode(model.normalize(x)).cpu().numpy()  # (b, T/unit) or (b, T/unit, L)
        for row, i in enumerate(batch):
            out[i] = ids[row].astype(np.int64)
    return out  # type: ignore[return-value]


@torch.no_grad()
def decode_tokens(model: VQVAE, tokens: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Raw features ``(len * unit, D)`` of token id arrays (the generators' last step).

    Single codebook: ``(T',)`` arrays.  Residual tokenizer of L layers: ``(T', l)`` arrays with 1 <= l <= L
    (the first l layers are summed: l < L decodes a coarse prefix, as in chapter 6); arrays of different
    shapes are decoded in separate batches.
    """
    model.eval()
    device, out = _device_of(model), [None] * len(tokens)
    tokens = [np.asarray(t, dtype=np.int64) for t in tokens]
    want = 2 if model.config.residual else 1
    for i, t in enumerate(tokens):
        if t.ndim != want:
            shape = "(T', l) with l <= n_quantizers" if want == 2 else "(T',)"
            raise InputError(f"decode_tokens: token array {i} has shape {t.shape}: expected {shape} for a "
                             f"tokenizer with n_quantizers={model.config.n_quantizers}")
    for batch in _by_length([t.shape for t in tokens]):
        ids = torch.as_tensor(np.stack([tokens[i] for i in batch]), device=device)  # (b, T') or (b, T', l)
        feats = model.denormalize(model.decode(ids)).float().cpu().numpy()
        for row, i in enumerate(batch):
            out[i] = feats[row]
    return out  # type: ignore[return-value]


@torch.no_grad()
def reconstruct_motions(model: VQVAE, features: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(reconstructions, targets)``: raw motions cropped to a multiple of ``unit`` from frame 0, and their
    encode-decode reconstructions (raw features)."""
    targets = [crop_to_unit(np.asarray(f, dtype=np.float32), model.config.unit) for f in features]
    return decode_tokens(model, tokenize_motions(model, targets)), targets


def evaluate_reconstruction(model: VQVAE, features: Sequence[np.ndarray], evaluator: Any = None,
                            skeleton: str = "t2m", layers: int | None = None) -> dict[str, float]:
    """Reconstruction quality of a tokenizer on raw motions.

    ``mpjpe_mm``: mean per-joint position error in millimetres (whatever the skeleton's units), joints
    recovered from the RIC slice and aligned at the pelvis, averaged over all frames; ``fid``: Frechet distance between the evaluator's
    embeddings of reconstructions and originals (only with an ``evaluator``); ``usage`` / ``perplexity``:
    of the code histogram over all motions.  With a residual tokenizer (L layers) each layer has its own
    codebook, so each is measured on its own histogram (``usage_layer{v}``, ``perplexity_layer{v}`` for
    v = 0..L-1) and ``usage`` / ``perplexity`` are their means over the layers (as the training's
    ``val_usage`` / ``val_perplexity``); a single codebook's keys are unchanged.  ``layers``: decode only the
    first ``layers`` RVQ layers (a coarse prefix, chapter 6); the code statistics still cover all layers.
    """
    from motionlab.data.features import features_to_joints
    from motionlab.data.skeleton import get_skeleton
    from motionlab.evaluation import metrics

    if len(features) < 2:
        raise InputError(f"evaluate_reconstruction needs at least 2 motions, got {len(features)}")
    targets = [crop_to_unit(np.asarray(f, dtype=np.float32), model.config.unit) for f in features]
    tokens = tokenize_motions(model, targets)
    if layers is not None:
        if not model.config.residual or not 1 <= int(layers) <= model.config.n_quantizers:
            raise InputError(f"layers={layers}: expected 1..n_quantizers={model.config.n_quantizers} of a residual "
                             "tokenizer")
        recons = decode_tokens(model, [t[:, : int(layers)] for t in tokens])
    else:
        recons = decode_tokens(model, tokens)
    ids = np.concatenate(tokens).reshape(-1, model.config.n_quantizers)  # (N, L): one column per layer
    errors, frames = 0.0, 0
    for r, t in zip(recons, targets):
        pj, tj = features_to_joints(r, skeleton=skeleton), features_to_joints(t, skeleton=skeleton)
        per_frame = metrics.mpjpe(pj, tj, root=0, reduce=False)
        errors += float(np.sum(per_frame))
        frames += int(np.size(per_frame))
    to_mm = 1000.0 / get_skeleton(skeleton).units_per_metre  # HumanML3D joints are in metres, KIT-ML's in mm
    n_codes = model.config.n_codes
    usage = [metrics.codebook_usage(ids[:, v], n_codes) for v in range(ids.shape[1])]  # per layer
    ppl = [metrics.perplexity(ids[:, v], n_codes) for v in range(ids.shape[1])]  # exp(H(p_v))
    out = {"mpjpe_mm": to_mm * errors / frames, "usage": float(np.mean(usage)), "perplexity": float(np.mean(ppl)),
           "motions": len(targets)}
    if model.config.residual:
        for v, (u, p) in enumerate(zip(usage, ppl)):
            out[f"usage_layer{v}"], out[f"perplexity_layer{v}"] = u, p
    if evaluator is not None:
        out["fid"] = metrics.fid(evaluator.embed_motions(recons), evaluator.embed_motions(targets))
    return out


def evaluate_reconstruction_official(model: VQVAE, split: Any, evaluator: Any, *, replications: int = 20,
                                     batch_size: int = 32, seed: int = 0, ground_truth: Any = None):
    """The reconstruction metrics of T2M-GPT's ``VQ_eval.py`` (FID 0.070 in the paper).

    Each of ``replications`` repeats is one pass of the official evaluation loader over ``split`` (anything
    with ``.features`` and ``.captions``): the motions shuffled, the last incomplete batch of ``batch_size``
    dropped, one random caption and the loader's random crop per motion (a multiple of 4 frames, one token
    shorter with probability 1/3, at a random start).  The VQ-VAE reconstructs each crop; FID compares the
    reconstructions with the same crops, and R-precision (per batch), MM-Dist and Diversity are measured
    for both.  Returns a :class:`~motionlab.evaluation.protocol.ProtocolResult` with rows "ground truth"
    (FID "–") and "reconstruction", mean ± 1.96 std/sqrt(N) over the repeats.  ``ground_truth``: a bank from
    :func:`~motionlab.evaluation.protocol.build_ground_truth` on the same split and evaluator.
    """
    import pandas as pd

    from motionlab.evaluation import metrics as M
    from motionlab.evaluation.protocol import (
        FID_METHOD, GT_NAME, ProtocolOptions, ProtocolResult, build_ground_truth,
    )

    features, captions = list(split.features), list(split.captions)
    bank = ground_truth if ground_truth is not None else build_ground_truth(evaluator, features, captions)
    n_used = (bank.n_motions // batch_size) * batch_size  # drop_last
    if n_used == 0:
        raise InputError(f"the split has {bank.n_motions} motions, fewer than one batch of {batch_size}")
    # the VQ-VAE is deterministic in eval mode: reconstruct every crop the loader can draw once, up front
    owner = np.repeat(np.arange(bank.n_motions), np.diff(bank.crop_offsets))  # (K,) motion of each crop
    windows = [np.asarray(features[i][s:s + n]) for i, s, n in zip(owner, bank.crop_start, bank.crop_length)]
    recon_emb = evaluator.embed_motions(reconstruct_motions(model, windows)[0])  # (K, d)
    pairs = 300 if n_used > 300 else min(100, n_used)  # the official diversity rule
    rows = []
    for r in range(replications):
        rng = make_rng(seed, "vq_eval", r)
        a = bank.draw_pass(rng, n_used)  # order, caption and crop of each motion
        text, real = bank.text_emb[a["captions"]], bank.crop_emb[a["crops"]]  # (n_used, d)
        for name, emb in ((GT_NAME, real), ("reconstruction", recon_emb[a["crops"]])):
            top = M.r_precision(text, emb, 3, batch_size)
            fid = float("nan") if name == GT_NAME else M.fid(emb, real, method=FID_METHOD)
            values = {"top1": top[0], "top2": top[1], "top3": top[2], "fid": fid,
                      "mm_dist": M.matching_score(text, emb), "diversity": M.diversity(emb, pairs, rng)}
            rows += [(name, r, k, float(v)) for k, v in values.items()]
    options = ProtocolOptions(replications=replications, batch_size=batch_size, diversity_pairs=pairs,
                              multimodality=False, description="T2M-GPT VQ_eval.py: VQ-VAE reconstruction")
    return ProtocolResult(pd.DataFrame(rows, columns=["model", "replication", "metric", "value"]), options,
                          n_motions=n_used)


# --------------------------------------------------------------------------------- cached tokens
@dataclass
class TokenizedSplit:
    """Token ids of every motion of a split, in the split's order.

    ``tokens[i]`` is ``(T'_i,)`` for a single codebook and ``(T'_i, L)`` for a residual tokenizer of L
    layers; :meth:`layer` gives one layer's ``(T'_i,)`` ids (MoMask's masked transformer reads layer 0).
    """

    names: list[str]
    tokens: list[np.ndarray]  # int64 ids, one array per motion: (T',) or (T', L)
    offsets: np.ndarray  # crop start frame of each motion
    captions: list[list[Any]] = field(default_factory=list)  # the split's captions (Caption objects)
    n_codes: int = 0
    unit: int = 4
    sources: list[str] = field(default_factory=list)  # motion file of each sample (sub-clips share one)
    spans: list[tuple[int, int]] = field(default_factory=list)  # frames of the source file each sample is

    @property
    def lengths(self) -> np.ndarray:
        """Frames covered by each motion's tokens (``len(tokens) * unit``)."""
        return np.array([len(t) * self.unit for t in self.tokens], dtype=np.int64)

    @property
    def n_layers(self) -> int:
        """Quantizer layers per token: 1 for ``(T',)`` arrays, L for ``(T', L)`` ones."""
        return int(self.tokens[0].shape[1]) if self.tokens and np.ndim(self.tokens[0]) == 2 else 1

    def layer(self, v: int) -> list[np.ndarray]:
        """Layer ``v``'s ids ``(T'_i,)`` of every motion (``v=0`` of a single codebook: the ids themselves)."""
        if not 0 <= v < self.n_layers:
            raise InputError(f"TokenizedSplit.layer({v}): the split has {self.n_layers} layer(s)")
        return [t if t.ndim == 1 else t[:, v].copy() for t in self.tokens]

    def __len__(self) -> int:
        return len(self.tokens)

    def save(self, folder: str | Path) -> Path:
        """``tokens.npz`` (flat ids + offsets, no pickles) and ``index.json`` (names, captions)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sizes = np.array([len(t) for t in self.tokens], dtype=np.int64)
        flat = np.concatenate(self.tokens) if self.tokens else np.zeros(0, dtype=np.int64)  # (N,) or (N, L)
        np.savez(folder / "tokens.npz", flat=flat.astype(np.int64), sizes=sizes, offsets=self.offsets)
        captions = [[_caption_dict(c) for c in caps] for caps in self.captions]
        (folder / "index.json").write_text(json.dumps(
            {"names": self.names, "captions": captions, "n_codes": self.n_codes, "unit": self.unit,
             "n_layers": self.n_layers,
             "sources": self.sources, "spans": [list(map(int, s)) for s in self.spans]}))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "TokenizedSplit":
        folder = Path(folder)
        with np.load(folder / "tokens.npz", allow_pickle=False) as arrays:
            flat, sizes, offsets = arrays["flat"], arrays["sizes"], arrays["offsets"]
        index = json.loads((folder / "index.json").read_text())
        if index.get("n_layers", 1) > 1:
            flat = flat.reshape(-1, index["n_layers"])  # (N, L)
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        tokens = [flat[bounds[i]:bounds[i + 1]].copy() for i in range(len(sizes))]
        captions = [[_caption_from(c) for c in caps] for caps in index["captions"]]
        return cls(index["names"], tokens, offsets, captions, index["n_codes"], index["unit"],
                   index.get("sources", []), [tuple(s) for s in index.get("spans", [])])


def _caption_dict(caption: Any) -> dict:
    if isinstance(caption, str):
        return {"text": caption}
    return {"text": caption.text, "tokens": list(getattr(caption, "tokens", ())),
            "start": float(getattr(caption, "start", 0.0)), "end": float(getattr(caption, "end", 0.0))}


def _caption_from(d: dict) -> Any:
    from motionlab.data.folders import Caption

    return Caption(text=d["text"], tokens=tuple(d.get("tokens", ())), start=d.get("start", 0.0),
                   end=d.get("end", 0.0))


SUBCLIP_MODES = ("crop", "slice")


def tokenize_split(run, data_dir: str | Path, split: str = "train", seed: int = 0, *,
                   crop: str = "random", subclips: str = "crop") -> TokenizedSplit:
    """Token ids of every motion of ``split`` of ``data_dir`` with a trained tokenizer run (cached).

    ``run`` is a :class:`~motionlab.tokenizers.train.TokenizerRun` (``get_tokenizer_run``).  Each motion is
    cropped to a multiple of 4 frames at a random offset drawn from ``(seed, split)`` (``crop="random"``, as
    T2M-GPT) or from its first frame (``crop="start"``).  Sub-clip captions (``#start#end``) are handled by
    ``subclips``: ``"crop"`` tokenises each sub-clip's frames on their own; ``"slice"`` (the official
    T2M-GPT rule) tokenises the whole motion once from its first frame and gives each sub-clip the tokens
    ``[start // 4, end // 4)`` of it, dropping (and counting) sub-clips that get no token.
    """
    from motionlab.data.folders import MotionFolder
    from motionlab.data.paths import dataset_label

    if subclips not in SUBCLIP_MODES:
        raise InputError(f"subclips={subclips!r}: expected one of {', '.join(SUBCLIP_MODES)}")
    model, data_dir = run.model, Path(data_dir)
    key = {"tokenizer": run.recipe.key(), "split": split, "crop": crop, "seed": int(seed), "subclips": subclips}

    def build(work: Path) -> TokenizedSplit:
        folder = MotionFolder(data_dir)
        motions = folder.load_split(split)
        if subclips == "slice":
            keep, tokens, offsets = _slice_subclips(model, folder, motions)
            motions = motions.subset(keep)
        else:
            lengths = [f.shape[0] for f in motions.features]
            offsets = crop_offsets(lengths, model.config.unit, crop, make_rng(seed, "tokenize", split))
            tokens = tokenize_motions(model, motions.features, offsets)
        result = TokenizedSplit(list(motions.names), tokens, offsets, list(motions.captions),
                                model.config.n_codes, model.config.unit, list(motions.sources),
                                [tuple(map(int, s)) for s in motions.spans])
        result.save(work)
        return result

    return load_or_train("tokens", dataset_label(data_dir), key, train_fn=build, load_fn=TokenizedSplit.load)


def _slice_subclips(model: VQVAE, folder, motions) -> tuple[list[int], list[np.ndarray], np.ndarray]:
    """The official sub-clip rule: tokens of each whole source motion, sliced per entry by its frame span.

    Returns the indices of the entries kept, their token ids and their offsets (first token's frame minus
    the span's first frame, <= 0).  Entries whose span holds no whole token are dropped with a warning.
    """
    import warnings

    from motionlab.data.folders import DatasetWarning

    unit, whole = model.config.unit, {}
    keep, tokens, offsets = [], [], []
    for i, (source, (start, end)) in enumerate(zip(motions.sources, motions.spans)):
        if source not in whole:
            whole[source] = tokenize_motions(model, [folder.load_features(source)])[0]  # (T // unit,)
        ids = whole[source][start // unit:end // unit]
        if len(ids):
            keep.append(i)
            tokens.append(ids)
            offsets.append((start // unit) * unit - start)
    if len(keep) < len(motions.names):
        warnings.warn(f"{len(motions.names) - len(keep)} sub-clip(s) shorter than one token were dropped",
                      DatasetWarning, stacklevel=3)
    return keep, tokens, np.asarray(offsets, dtype=np.int64)
