"""Temporal inpainting with MoMask: regenerate the frames of a motion in given ranges from a caption.

One masking rule for prefix, suffix and in-between edits: a frame range ``a:b`` (Python slice, frames
``a..b-1``) becomes the tokens whose ``unit`` = 4 frames overlap it, ``floor(a/4) : ceil(b/4)``; the frames
actually regenerated are ``4·floor(a/4) : 4·ceil(b/4)`` (the official ``edit_t2m.py`` divides both ends by 4
and rounds down, which drops a partly covered last token).  Those base-layer tokens become [MASK] and are
filled by the masked transformer; the residual layers are regenerated at the same positions only.  Every token
outside the ranges, in every layer, is the source motion's own.

The decoder is convolutional, so a changed token also moves decoded frames on either side of its four, by
amounts that fall off with the distance: :meth:`EditedMotion.frame_change` and
:meth:`EditedMotion.frame_distance` give both per frame, :meth:`EditedMotion.reach` how far any change above a
tolerance goes, and :func:`token_reach` the same for one changed token.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from motionlab.errors import InputError

__all__ = ["EditedMotion", "FrameRange", "parse_frame_range", "token_reach", "token_spans"]

FrameRange = tuple[int, int]  # (start, stop) frames, stop exclusive


def parse_frame_range(text: str) -> FrameRange:
    """``"40:80"`` -> ``(40, 80)``; ``":40"`` (prefix) and ``"80:"`` (suffix, -1 = to the end) too."""
    start, sep, stop = str(text).partition(":")
    if not sep:
        raise InputError(f"frame range {text!r}: expected START:STOP in frames, e.g. 40:80, :40 or 80:")
    try:
        return (int(start) if start.strip() else 0, int(stop) if stop.strip() else -1)
    except ValueError:
        raise InputError(f"frame range {text!r}: START and STOP must be whole numbers of frames") from None


def token_spans(ranges: FrameRange | Sequence[FrameRange], n_frames: int, unit: int = 4) -> list[tuple[int, int]]:
    """Token spans ``(t0, t1)`` of frame ranges over a motion of ``n_frames`` editable frames (a multiple of
    ``unit``); a stop of -1 means the motion's end.  Ranges that are empty, reversed or outside the motion are
    an error; overlapping spans are merged."""
    if len(ranges) == 2 and all(isinstance(r, (int, np.integer)) for r in ranges):
        ranges = [ranges]  # one (start, stop) pair
    if not ranges:
        raise InputError("no frame range to edit: expected at least one START:STOP")
    spans = []
    for start, stop in ranges:
        stop = n_frames if stop == -1 else stop
        if not 0 <= start < stop <= n_frames:
            what = "is empty" if start >= stop else f"lies outside the motion's frames 0:{n_frames}"
            raise InputError(f"frame range {start}:{stop} {what}: expected 0 <= START < STOP <= {n_frames}")
        spans.append((start // unit, math.ceil(stop / unit)))  # every token whose frames overlap start:stop
    merged: list[tuple[int, int]] = []
    for t0, t1 in sorted(spans):
        if merged and t0 <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], t1))
        else:
            merged.append((t0, t1))
    return merged


@dataclass
class EditedMotion:
    """The result of :meth:`MoMaskPipeline.edit`: ``tokens`` / ``source_tokens`` ``(n, layers)`` RVQ ids,
    ``features`` / ``source_features`` ``(4n, D)`` their decoded raw features (the source decoded too, so the
    two differ only through the edit), ``spans`` the regenerated token spans."""

    caption: str
    spans: list[tuple[int, int]]
    source_tokens: np.ndarray
    tokens: np.ndarray
    source_features: np.ndarray
    features: np.ndarray
    skeleton: str = "t2m"
    unit: int = 4

    @property
    def frame_spans(self) -> list[tuple[int, int]]:
        """The regenerated frames ``(start, stop)`` per span: whole tokens of ``unit`` frames."""
        return [(t0 * self.unit, t1 * self.unit) for t0, t1 in self.spans]

    def edited(self) -> np.ndarray:
        """``(n,)`` True at the regenerated token positions."""
        mask = np.zeros(len(self.tokens), dtype=bool)
        for t0, t1 in self.spans:
            mask[t0:t1] = True
        return mask

    def frame_change(self) -> np.ndarray:
        """``(4n,)`` the largest absolute feature change of each decoded frame, edit against source."""
        return np.abs(self.features - self.source_features).max(axis=1)

    def frame_distance(self) -> np.ndarray:
        """``(4n,)`` each frame's distance in frames to the nearest regenerated span (0 inside one)."""
        frames = np.arange(len(self.features))
        distance = np.full(len(frames), np.iinfo(np.int64).max)
        for start, stop in self.frame_spans:
            distance = np.minimum(distance, np.maximum(start - frames, frames - (stop - 1)).clip(min=0))
        return distance

    def reach(self, tol: float = 1e-4) -> int:
        """How many frames beyond the regenerated spans the decoded motion changed (largest distance to the
        nearest span of a frame whose features moved by more than ``tol``); 0: none outside."""
        distance = self.frame_distance()
        outside = (self.frame_change() > tol) & (distance > 0)
        return int(distance[outside].max()) if outside.any() else 0

    def joints(self, which: str = "edited") -> np.ndarray:
        """Joint positions ``(4n, J, 3)`` of the edited (or ``"source"``) motion."""
        from motionlab.data.features import features_to_joints

        feats = self.features if which == "edited" else self.source_features
        return np.asarray(features_to_joints(feats, skeleton=self.skeleton))


def token_reach(tokenizer, n_tokens: int = 16, seed: int = 0, tol: float = 1e-4) -> int:
    """The decoder's reach in frames: change the middle token of a random sequence (every layer) and return
    how far outside its ``unit`` frames the decoded features move by more than ``tol``."""
    from motionlab.tokenizers.artifacts import decode_tokens

    cfg = tokenizer.config
    rng = np.random.default_rng(seed)
    layers = cfg.n_quantizers if cfg.residual else 1
    ids = rng.integers(0, cfg.n_codes, size=(n_tokens, layers))
    changed = ids.copy()
    mid = n_tokens // 2
    changed[mid] = (ids[mid] + 1 + rng.integers(0, cfg.n_codes - 1, size=layers)) % cfg.n_codes
    if not cfg.residual:
        ids, changed = ids[:, 0], changed[:, 0]
    a, b = decode_tokens(tokenizer, [ids, changed])
    probe = EditedMotion("", [(mid, mid + 1)], ids, changed, a, b, unit=cfg.unit)
    return probe.reach(tol)
