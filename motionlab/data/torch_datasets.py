"""Torch datasets over a :class:`~motionlab.data.folders.MotionSplit`, with deterministic randomness.

Every dataset draws its random choices in ``sample(index, rng)`` from a ``numpy.random.Generator`` it is
given, so training data are a deterministic function of the step (``RandomBatches`` passes
``runtime.rng(seed, step)``); ``dataset[index]`` uses a fixed generator derived from the index.

* :class:`WindowDataset` -- fixed-length normalised windows for tokenizer training (random crops or
  sliding windows); clips shorter than the window are dropped, counted and reported.
* :class:`TextMotionDataset` -- text-motion pairs for evaluation, as the official evaluation loader makes
  them: one caption drawn per motion, a crop to a multiple of 4 frames (2/3 "single", 1/3 "double"),
  normalised and zero-padded to 196 frames, with the caption's word/POS tokens.
* :class:`TokenDataset` -- motion-token id sequences with their captions, for the generators.

Collate functions return dicts with ``lengths (B,)`` and a boolean ``mask (B, T)`` (True = real frame).
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from motionlab.data.folders import Caption, DatasetWarning, MotionSplit, Normalizer
from motionlab.errors import InputError

MAX_TEXT_TOKENS = 20  # the evaluator reads at most 20 word tokens, plus sos/eos


def _index_rng(index: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([salt, int(index)])


def _check_norm(split: MotionSplit, normalizer: Normalizer) -> None:
    if normalizer.dim != split.dim:
        raise InputError(f"the normaliser has {normalizer.dim} dims but the split's features have {split.dim}")


# ---------------------------------------------------------------------------------------------- windows
class WindowDataset(Dataset):
    """Normalised ``(window, D)`` crops of the motions of a split (the tokenizer's training data).

    ``mode="random"``: one item per motion; :meth:`sample` crops a uniformly random window of it.
    ``mode="sliding"``: one item per window start ``0, stride, 2 stride, ...`` of every motion (default
    stride: the window, no overlap), plus a last window flush with the end; no randomness.
    Motions shorter than ``window`` frames cannot give a window: they are dropped, listed in
    ``self.dropped`` and reported with one :class:`DatasetWarning`.
    """

    def __init__(self, split: MotionSplit, normalizer: Normalizer, window: int, mode: str = "random",
                 stride: int | None = None) -> None:
        if mode not in ("random", "sliding"):
            raise InputError(f"mode must be 'random' or 'sliding', got {mode!r}")
        if window < 1:
            raise InputError(f"window must be a positive number of frames, got {window}")
        _check_norm(split, normalizer)
        self.window, self.mode = int(window), mode
        self.stride = int(stride or window)
        if self.stride < 1:
            raise InputError(f"stride must be positive, got {stride}")
        keep = [i for i, f in enumerate(split.features) if len(f) >= self.window]
        self.dropped = [split.names[i] for i in range(len(split)) if len(split.features[i]) < self.window]
        if self.dropped:
            warnings.warn(f"WindowDataset: {len(self.dropped)} of {len(split)} motions are shorter than the "
                          f"{self.window}-frame window and were dropped (e.g. {self.dropped[0]})", DatasetWarning,
                          stacklevel=2)
        if not keep:
            raise InputError(f"no motion in the split has {self.window} frames or more")
        self.names = [split.names[i] for i in keep]
        self.motions = [normalizer.normalize(split.features[i]).astype(np.float32) for i in keep]
        self.windows: list[tuple[int, int]] = []
        if mode == "sliding":
            for m, x in enumerate(self.motions):
                starts = list(range(0, len(x) - self.window + 1, self.stride))
                if starts[-1] != len(x) - self.window:
                    starts.append(len(x) - self.window)
                self.windows += [(m, s) for s in starts]

    def __len__(self) -> int:
        return len(self.windows) if self.mode == "sliding" else len(self.motions)

    def _item(self, m: int, start: int) -> dict:
        return {"motion": torch.from_numpy(self.motions[m][start:start + self.window]), "length": self.window,
                "name": self.names[m], "start": start}

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        """The item at ``index``; in random mode its window start is drawn from ``rng``."""
        if self.mode == "sliding":
            return self._item(*self.windows[index])
        start = int(rng.integers(0, len(self.motions[index]) - self.window + 1))
        return self._item(index, start)

    def __getitem__(self, index: int) -> dict:
        return self.sample(index, _index_rng(index, 17))


# ------------------------------------------------------------------------------------ text-motion pairs
def caption_tokens(caption: Caption, max_tokens: int = MAX_TEXT_TOKENS) -> tuple[list[str], int]:
    """The evaluator's token list and its length: ``sos/OTHER``, up to ``max_tokens`` word/POS tokens,
    ``eos/OTHER``, then ``unk/OTHER`` padding to ``max_tokens + 2`` entries."""
    tokens = list(caption.tokens[:max_tokens])
    tokens = ["sos/OTHER", *tokens, "eos/OTHER"]
    length = len(tokens)
    return tokens + ["unk/OTHER"] * (max_tokens + 2 - length), length


def crop_length(length: int, unit: int, rng: np.random.Generator) -> int:
    """The official evaluation crop: ``(len//unit)*unit`` with p=2/3 ("single"), ``(len//unit - 1)*unit``
    with p=1/3 ("double"); never below one unit (the official code would crop to 0 there)."""
    coin = rng.choice(["single", "single", "double"])
    units = length // unit - (1 if coin == "double" else 0)
    return max(units, 1) * unit if length >= unit else length


class TextMotionDataset(Dataset):
    """Text-motion pairs as the official evaluation loader (``Text2MotionDatasetV2``) makes them.

    Each item: ``motion`` ``(max_len, D)`` normalised and zero-padded, ``length`` (frames, a multiple of
    ``unit``), ``caption`` (text), ``tokens`` (``max_text_len + 2`` word/POS strings with sos/eos/unk),
    ``sent_len`` and ``name``.  Random choices (caption, crop length, crop start) come from ``rng``.
    """

    def __init__(self, split: MotionSplit, normalizer: Normalizer, max_len: int = 196, unit: int = 4,
                 max_text_len: int = MAX_TEXT_TOKENS) -> None:
        _check_norm(split, normalizer)
        too_long = [n for n, f in zip(split.names, split.features) if len(f) > max_len + unit - 1]
        if too_long:
            raise InputError(f"{len(too_long)} samples are longer than max_len={max_len} allows after cropping "
                             f"(e.g. {too_long[0]}); load the split with max_len <= {max_len + unit}")
        self.split, self.normalizer = split, normalizer
        self.max_len, self.unit, self.max_text_len = int(max_len), int(unit), int(max_text_len)
        self.motions = [normalizer.normalize(f).astype(np.float32) for f in split.features]

    def __len__(self) -> int:
        return len(self.motions)

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        """One pair: a caption drawn from ``rng``, the crop length and start drawn from ``rng``."""
        captions = self.split.captions[index]
        caption = captions[int(rng.integers(len(captions)))]
        tokens, sent_len = caption_tokens(caption, self.max_text_len)
        motion = self.motions[index]
        length = min(crop_length(len(motion), self.unit, rng), self.max_len)
        start = int(rng.integers(0, len(motion) - length + 1))
        padded = np.zeros((self.max_len, motion.shape[1]), dtype=np.float32)
        padded[:length] = motion[start:start + length]
        return {"motion": torch.from_numpy(padded), "length": length, "caption": caption.text, "tokens": tokens,
                "sent_len": sent_len, "name": self.split.names[index]}

    def __getitem__(self, index: int) -> dict:
        return self.sample(index, _index_rng(index, 23))


# ------------------------------------------------------------------------------------------ token ids
class TokenDataset(Dataset):
    """Motion-token sequences (1-D integer arrays) with their captions, for the generators.

    ``captions[i]`` is a list of :class:`Caption` or strings; :meth:`sample` draws one.  With
    ``drop_end_prob`` > 0, a sequence loses its first or last token with that probability (T2M-GPT's
    augmentation draws it with probability 1/3).  Items: ``tokens`` (LongTensor), ``length``, ``caption``.
    """

    def __init__(self, tokens: Sequence[np.ndarray], captions: Sequence[Sequence[Caption | str]],
                 names: Sequence[str] | None = None, drop_end_prob: float = 0.0) -> None:
        if len(tokens) != len(captions):
            raise InputError(f"{len(tokens)} token sequences but {len(captions)} caption lists")
        self.tokens = []
        for i, t in enumerate(tokens):
            arr = np.asarray(t)
            if arr.ndim != 1 or arr.dtype.kind not in "iu":
                raise InputError(f"token sequence {i} must be a 1-D integer array, got shape {arr.shape} {arr.dtype}")
            if len(arr) == 0:
                raise InputError(f"token sequence {i} is empty")
            self.tokens.append(arr.astype(np.int64))
        self.captions = [[c.text if isinstance(c, Caption) else str(c) for c in caps] for caps in captions]
        empty = [i for i, caps in enumerate(self.captions) if not caps]
        if empty:
            raise InputError(f"{len(empty)} token sequences have no caption (e.g. index {empty[0]})")
        self.names = list(names) if names is not None else [str(i) for i in range(len(tokens))]
        if not 0.0 <= drop_end_prob <= 1.0:
            raise InputError(f"drop_end_prob must be in [0, 1], got {drop_end_prob}")
        self.drop_end_prob = float(drop_end_prob)

    def __len__(self) -> int:
        return len(self.tokens)

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        caps = self.captions[index]
        caption = caps[int(rng.integers(len(caps)))]
        ids = self.tokens[index]
        if len(ids) > 1 and self.drop_end_prob > 0 and rng.random() < self.drop_end_prob:
            ids = ids[:-1] if rng.random() < 0.5 else ids[1:]
        return {"tokens": torch.from_numpy(ids.copy()), "length": len(ids), "caption": caption,
                "name": self.names[index]}

    def __getitem__(self, index: int) -> dict:
        return self.sample(index, _index_rng(index, 29))


# ------------------------------------------------------------------------------------------- collation
def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean mask ``(B, T)``: True where ``t < lengths[b]``."""
    max_len = int(lengths.max()) if max_len is None else int(max_len)
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def _stack_rest(batch: list[dict], skip: set[str]) -> dict:
    out = {}
    for key in batch[0]:
        if key in skip:
            continue
        values = [item[key] for item in batch]
        out[key] = torch.tensor(values) if isinstance(values[0], (int, np.integer)) else values
    return out


def collate_motion(batch: list[dict], pad_to: int | None = None) -> dict:
    """Stack motion items: ``motion (B, T, D)`` zero-padded to the longest (or ``pad_to``), ``lengths (B,)``,
    ``mask (B, T)``; other fields become lists (strings) or tensors (integers)."""
    lengths = torch.tensor([int(item["length"]) for item in batch], dtype=torch.long)
    size = max(int(lengths.max()), max(item["motion"].shape[0] for item in batch)) if pad_to is None else int(pad_to)
    dim = batch[0]["motion"].shape[-1]
    motion = torch.zeros(len(batch), size, dim, dtype=batch[0]["motion"].dtype)
    for b, item in enumerate(batch):
        n = min(item["motion"].shape[0], size)
        motion[b, :n] = item["motion"][:n]
    out = {"motion": motion, "lengths": lengths, "mask": lengths_to_mask(lengths, size)}
    out.update(_stack_rest(batch, {"motion", "length"}))
    return out


def collate_tokens(batch: list[dict], pad_id: int, pad_to: int | None = None) -> dict:
    """Stack token items: ``tokens (B, L)`` padded with ``pad_id``, ``lengths (B,)``, ``mask (B, L)``,
    ``caption`` (list of str), ``name`` (list)."""
    lengths = torch.tensor([len(item["tokens"]) for item in batch], dtype=torch.long)
    size = int(lengths.max()) if pad_to is None else int(pad_to)
    if size < int(lengths.max()):
        raise InputError(f"pad_to={pad_to} is shorter than the longest sequence ({int(lengths.max())})")
    tokens = torch.full((len(batch), size), int(pad_id), dtype=torch.long)
    for b, item in enumerate(batch):
        tokens[b, : len(item["tokens"])] = item["tokens"]
    out = {"tokens": tokens, "lengths": lengths, "mask": lengths_to_mask(lengths, size)}
    out.update(_stack_rest(batch, {"tokens", "length"}))
    return out
