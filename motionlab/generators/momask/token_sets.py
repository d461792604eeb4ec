"""Captioned token sets: what MoMask's masked and residual transformers train on.

One motion is an id array, ``(T',)`` for the base layer alone or ``(T', L)`` for every RVQ layer, plus the
sentence features of its captions ``(n_captions, text_dim)``.  :meth:`CaptionedTokens.sample` draws one
caption and, when the motion is longer than the model's positions, a random window of ``max_tokens``;
``__getitem__`` is the deterministic item a validation pass reads (first window, first caption).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from motionlab.errors import InputError


class CaptionedTokens:
    """Token id arrays with their captions' features; subclasses name the item key and the id layout.

    ``config`` needs ``n_codes``, ``text_dim``, ``max_tokens`` and ``pad_id``; ``layers`` is None for
    ``(T',)`` arrays and L for ``(T', L)`` arrays.  Items are ``{"text": (dim,), key: (max_tokens[, L])
    ids then Pad, "length": n}``.
    """

    key = "ids"

    def __init__(self, tokens: Sequence[np.ndarray], text_emb: Sequence[np.ndarray], config, *,
                 layers: int | None, layout_hint: str = ""):
        name = type(self).__name__
        if len(tokens) != len(text_emb):
            raise InputError(f"{name}: {len(tokens)} token arrays but {len(text_emb)} caption sets")
        if not len(tokens):
            raise InputError(f"{name}: no motions to train on")
        self.config = config
        self.tokens = [np.asarray(t, dtype=np.int64) for t in tokens]
        self.text_emb = [np.asarray(e).reshape(-1, config.text_dim) for e in text_emb]
        expected = "(T' >= 1,)" if layers is None else f"(T' >= 1, L={layers})"
        for i, (t, e) in enumerate(zip(self.tokens, self.text_emb)):
            layout_ok = t.ndim == 1 if layers is None else (t.ndim == 2 and t.shape[1] == layers)
            if not layout_ok or t.shape[0] == 0:
                raise InputError(f"{name}: motion {i} has ids of shape {t.shape}: expected {expected}{layout_hint}")
            if t.min() < 0 or t.max() >= config.n_codes:
                raise InputError(f"{name}: motion {i} has ids outside [0, {config.n_codes}): "
                                 f"min {t.min()}, max {t.max()}")
            if len(e) == 0:
                raise InputError(f"{name}: motion {i} has no caption features")

    def __len__(self) -> int:
        return len(self.tokens)

    def _item(self, ids: np.ndarray, text: np.ndarray) -> dict:
        cfg = self.config
        out = np.full((cfg.max_tokens, *ids.shape[1:]), cfg.pad_id, dtype=np.int64)  # (max_tokens[, L])
        out[: len(ids)] = ids
        return {"text": np.asarray(text, dtype=np.float32), self.key: out, "length": len(ids)}

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        ids, m = self.tokens[index], self.config.max_tokens
        if len(ids) > m:  # longer than the model's positions: a random window
            start = int(rng.integers(0, len(ids) - m + 1))
            ids = ids[start:start + m]
        caps = self.text_emb[index]
        return self._item(ids, caps[int(rng.integers(0, len(caps)))])

    def __getitem__(self, index: int) -> dict:
        """A deterministic item (first window, first caption): what a validation pass reads."""
        return self._item(self.tokens[index][: self.config.max_tokens], self.text_emb[index][0])


def collate_captioned(items: list[dict], key: str) -> dict[str, torch.Tensor]:
    """Stack items; positions past the longest sequence (Pad in every row, no loss) are cut."""
    length = np.array([it["length"] for it in items], dtype=np.int64)  # (B,)
    width = int(length.max())
    return {"text": torch.from_numpy(np.stack([it["text"] for it in items])),  # (B, dim)
            key: torch.from_numpy(np.stack([it[key][:width] for it in items])),  # (B, W[, L])
            "length": torch.from_numpy(length)}
