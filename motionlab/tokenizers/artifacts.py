"""Using a trained tokenizer on whole datasets: token ids per motion (cached), reconstructions, metrics.

* :func:`tokenize_motions` / :func:`tokenize_split` -- T2M-GPT tokenises every training motion once with the
  frozen VQ-VAE, after cropping it to a multiple of 4 frames at a random offset; the generators of chapters
  5-8 read those id arrays.  ``tokenize_split`` caches them per (tokenizer, split, seed).
* :func:`reconstruct_motions` -- encode + decode raw motions (cropped to a multiple of 4 frames).
* :func:`evaluate_reconstruction` -- MPJPE (mm, pelvis-aligned joints from the RIC slice), reconstruction
  FID with the evaluator, codebook usage and perplexity over a split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.profiles import Profile, get_profile
from motionlab.runtime import load_or_train, resolve_device, rng as make_rng
from motionlab.tokenizers.vqvae import VQVAE, crop_to_unit

BATCH = 64  # motions per forward pass when tokenising or reconstructing


def _device_of(model: VQVAE) -> torch.device:
    return next(model.parameters()).device


def _by_length(lengths: Sequence[int]) -> list[list[int]]:
    """Indices grouped by equal length, each group cut into batches of at most ``BATCH``."""
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        groups.setdefault(int(n), []).append(i)
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
    """Token ids (int64, ``T // unit`` each) of raw (un-normalised) motions ``(T, D)``.

    Each motion is cropped to ``T // unit * unit`` frames starting at ``offsets[i]`` (default 0).
    """
    model.eval()
    unit, device = model.config.unit, _device_of(model)
    offsets = np.zeros(len(features), dtype=np.int64) if offsets is None else np.asarray(offsets)
    crops = [crop_to_unit(np.asarray(f, dtype=np.float32), unit, int(o)) for f, o in zip(features, offsets)]
    out: list[np.ndarray | None] = [None] * len(crops)
    for batch in _by_length([c.shape[0] for c in crops]):
        x = torch.as_tensor(np.stack([crops[i] for i in batch]), device=device)  # (b, T, D)
        ids = model.encode(model.normalize(x)).cpu().numpy()  # (b, T/unit)
        for row, i in enumerate(batch):
            out[i] = ids[row].astype(np.int64)
    return out  # type: ignore[return-value]


@torch.no_grad()
def decode_tokens(model: VQVAE, tokens: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Raw features ``(len * unit, D)`` of token id arrays (the generators' last step)."""
    model.eval()
    device, out = _device_of(model), [None] * len(tokens)
    for batch in _by_length([len(t) for t in tokens]):
        ids = torch.as_tensor(np.stack([np.asarray(tokens[i], dtype=np.int64) for i in batch]), device=device)
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
                            skeleton: str = "t2m") -> dict[str, float]:
    """Reconstruction quality of a tokenizer on raw motions.

    ``mpjpe_mm``: mean per-joint position error in millimetres (whatever the skeleton's units), joints
    recovered from the RIC slice and aligned at the pelvis, averaged over all frames; ``fid``: Frechet distance between the evaluator's
    embeddings of reconstructions and originals (only with an ``evaluator``); ``usage`` / ``perplexity``:
    of the code histogram over all motions.
    """
    from motionlab.data.features import features_to_joints
    from motionlab.data.skeleton import get_skeleton
    from motionlab.evaluation import metrics

    if len(features) < 2:
        raise InputError(f"evaluate_reconstruction needs at least 2 motions, got {len(features)}")
    targets = [crop_to_unit(np.asarray(f, dtype=np.float32), model.config.unit) for f in features]
    tokens = tokenize_motions(model, targets)
    recons = decode_tokens(model, tokens)
    ids = np.concatenate(tokens)
    errors, frames = 0.0, 0
    for r, t in zip(recons, targets):
        pj, tj = features_to_joints(r, skeleton=skeleton), features_to_joints(t, skeleton=skeleton)
        per_frame = metrics.mpjpe(pj, tj, root=0, reduce=False)
        errors += float(np.sum(per_frame))
        frames += int(np.size(per_frame))
    to_mm = 1000.0 / get_skeleton(skeleton).units_per_metre  # HumanML3D joints are in metres, KIT-ML's in mm
    out = {
        "mpjpe_mm": to_mm * errors / frames,
        "usage": metrics.codebook_usage(ids, model.config.n_codes),
        "perplexity": metrics.perplexity(ids, model.config.n_codes),
        "motions": len(targets),
    }
    if evaluator is not None:
        out["fid"] = metrics.fid(evaluator.embed_motions(recons), evaluator.embed_motions(targets))
    return out


# --------------------------------------------------------------------------------- cached tokens
@dataclass
class TokenizedSplit:
    """Token ids of every motion of a split, in the split's order."""

    names: list[str]
    tokens: list[np.ndarray]  # int64 ids, one array per motion
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

    def __len__(self) -> int:
        return len(self.tokens)

    def save(self, folder: str | Path) -> Path:
        """``tokens.npz`` (flat ids + offsets, no pickles) and ``index.json`` (names, captions)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sizes = np.array([len(t) for t in self.tokens], dtype=np.int64)
        flat = np.concatenate(self.tokens) if self.tokens else np.zeros(0, dtype=np.int64)
        np.savez(folder / "tokens.npz", flat=flat.astype(np.int64), sizes=sizes, offsets=self.offsets)
        captions = [[_caption_dict(c) for c in caps] for caps in self.captions]
        (folder / "index.json").write_text(json.dumps(
            {"names": self.names, "captions": captions, "n_codes": self.n_codes, "unit": self.unit,
             "sources": self.sources, "spans": [list(map(int, s)) for s in self.spans]}))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "TokenizedSplit":
        folder = Path(folder)
        with np.load(folder / "tokens.npz", allow_pickle=False) as arrays:
            flat, sizes, offsets = arrays["flat"], arrays["sizes"], arrays["offsets"]
        index = json.loads((folder / "index.json").read_text())
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


def tokenize_split(data: str | Path = "synth", profile: str | Profile = "auto", device: str | torch.device = "auto",
                   split: str = "train", seed: int = 0, *, crop: str = "random", **overrides) -> TokenizedSplit:
    """Token ids of every motion of ``split`` with the profile's cached tokenizer (cached too).

    Each motion is cropped to a multiple of 4 frames at a random offset drawn from ``(seed, split)``
    (``crop="random"``, as T2M-GPT) or from its first frame (``crop="start"``).  ``overrides`` select a
    tokenizer variant exactly as in :func:`~motionlab.tokenizers.train.get_tokenizer_run`.
    """
    from motionlab.data.folders import MotionFolder
    from motionlab.data.paths import dataset_label, resolve_dataset
    from motionlab.tokenizers.train import cache_key, get_tokenizer_run

    prof = get_profile(profile)
    dev = resolve_device(device)
    run = get_tokenizer_run(data, prof, dev, seed, **overrides)
    model = run.model
    data_dir = resolve_dataset(data, prof)
    key = {"tokenizer": cache_key(run.config, run.train_config, run.window), "split": split, "crop": crop,
           "seed": seed}

    def build(work: Path) -> TokenizedSplit:
        motions = MotionFolder(data_dir).load_split(split)
        lengths = [f.shape[0] for f in motions.features]
        offsets = crop_offsets(lengths, model.config.unit, crop, make_rng(seed, "tokenize", split))
        tokens = tokenize_motions(model, motions.features, offsets)
        result = TokenizedSplit(list(motions.names), tokens, offsets, list(motions.captions),
                                model.config.n_codes, model.config.unit, list(motions.sources),
                                [tuple(map(int, s)) for s in motions.spans])
        result.save(work)
        return result

    return load_or_train("tokens", prof.name, dataset_label(data, data_dir), key, train_fn=build,
                         load_fn=TokenizedSplit.load)
