"""Motion as a foreign language: ``<motion_id_k>`` tokens in the language model's vocabulary.

The book's VQ-VAE turns a motion into K-way codes (4 frames each).  MotionGPT writes code ``k`` as the word
``<motion_id_k>`` and adds three more words: start of motion (``<motion_id_K>``), end of motion
(``<motion_id_K+1>``) and mask (``<motion_id_K+2>``, the gap of an in-between task).  A motion of codes
``[12, 7, 7]`` becomes the string::

    <motion_id_128><motion_id_12><motion_id_7><motion_id_7><motion_id_129>      (K = 128)

:func:`add_motion_vocabulary` adds the K + 3 words to the tokenizer as whole tokens (never split into BPE
pieces) and grows the model's embedding table (and output layer) by K + 3 rows, initialised to the mean of
the existing rows: a new word starts as an "average word", not as noise the pretrained layers never saw.

:func:`parse_motion` reads codes back out of generated text.  A language model can write anything, so the
parser never fails on text; it repairs and reports (``ParsedMotion.repairs``):

* text before the first start token, or between motion tokens, is ignored (counted);
* no start token: the motion is read from the first motion token; no end token: up to the end of the text
  (the output was cut by the token budget);
* a start or mask token inside the motion is dropped; an id above the last code (a special's number, or a
  number the vocabulary does not have) is clamped to ``K - 1``, as the official code clamps;
* a malformed token (``<motion_id_>``, ``<motion_id_12``, ``<motion_id_x>``) is dropped;
* no code at all: ``fallback`` codes (default one code 0, 4 frames of the dataset's mean-ish pose), or a
  :class:`MotionParseError` when ``fallback=None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from motionlab.errors import InputError

__all__ = [
    "MotionParseError",
    "MotionVocabulary",
    "ParsedMotion",
    "add_motion_vocabulary",
    "motion_token",
    "parse_motion",
]


class MotionParseError(InputError):
    """Generated text holds no motion that can be read (only raised when no fallback is allowed)."""


def motion_token(k: int) -> str:
    """The word of motion id ``k``: ``<motion_id_k>``."""
    return f"<motion_id_{int(k)}>"


@dataclass(frozen=True)
class MotionVocabulary:
    """The motion words of a tokenizer: codes ``0..n_codes-1`` then start, end, mask, at consecutive token
    ids from ``first_id``."""

    n_codes: int
    first_id: int

    @property
    def start(self) -> int:  # motion ids (not token ids) of the three specials
        return self.n_codes

    @property
    def end(self) -> int:
        return self.n_codes + 1

    @property
    def mask(self) -> int:
        return self.n_codes + 2

    @property
    def size(self) -> int:
        return self.n_codes + 3

    def words(self) -> list[str]:
        return [motion_token(k) for k in range(self.size)]

    def token_id(self, motion_id: int) -> int:
        return self.first_id + int(motion_id)

    def code_token_ids(self) -> torch.Tensor:
        """Token ids of the ``n_codes`` codes, ``(n_codes,)``."""
        return torch.arange(self.first_id, self.first_id + self.n_codes)

    def to_text(self, codes: Sequence[int], *, start: bool = True, end: bool = True) -> str:
        """Codes -> ``<motion_id_start><motion_id_c1>...<motion_id_end>`` (mask ids allowed inside)."""
        codes = np.asarray(codes)
        if codes.ndim != 1 or (codes.size and not np.issubdtype(codes.dtype, np.integer)):
            raise InputError(f"motion codes of shape {codes.shape} / dtype {codes.dtype}: expected a 1-D integer array")
        bad = [int(c) for c in codes if not (0 <= c < self.n_codes or c == self.mask)]
        if bad:
            raise InputError(f"motion codes {bad[:5]} are outside the codebook [0, {self.n_codes}) (and not the mask "
                             f"id {self.mask})")
        body = "".join(motion_token(c) for c in codes)
        return (motion_token(self.start) if start else "") + body + (motion_token(self.end) if end else "")

    def to_json(self) -> dict:
        return {"n_codes": self.n_codes, "first_id": self.first_id}


def add_motion_vocabulary(model, tokenizer, n_codes: int) -> MotionVocabulary:
    """Add ``<motion_id_0..n_codes+2>`` to ``tokenizer`` (no-op for words it already has, e.g. a tokenizer
    saved after training) and grow ``model``'s embeddings to match, new rows = mean of the old rows (input
    embeddings and, when untied, the output layer).  Returns the :class:`MotionVocabulary`."""
    if not isinstance(n_codes, int) or n_codes < 1:
        raise InputError(f"n_codes={n_codes!r}: expected the tokenizer's codebook size (an int >= 1)")
    words = [motion_token(k) for k in range(n_codes + 3)]
    tokenizer.add_tokens(words, special_tokens=False)  # whole words, kept by decode()
    ids = tokenizer.convert_tokens_to_ids(words)
    if ids != list(range(ids[0], ids[0] + len(words))):
        raise InputError("the tokenizer's <motion_id_k> words do not have consecutive ids: expected a tokenizer "
                         "without motion words, or one saved by MotionGPT training with the same codebook")
    vocab = MotionVocabulary(n_codes, ids[0])
    _grow_embeddings(model, ids[-1] + 1)
    return vocab


@torch.no_grad()
def _grow_embeddings(model, n_rows: int) -> None:
    """Resize the embeddings to at least ``n_rows`` rows and set every new row to the mean of the old ones."""
    inp = model.get_input_embeddings()
    old = inp.weight.shape[0]
    if n_rows <= old:  # already large enough (T5 pads its table to a multiple of 128)
        return
    out = model.get_output_embeddings()
    tied = out is None or out.weight is inp.weight
    out_mean = None if tied else out.weight[:old].mean(0)  # (C,)
    model.resize_token_embeddings(n_rows, mean_resizing=False)
    inp = model.get_input_embeddings()
    inp.weight[old:] = inp.weight[:old].mean(0)  # (n_new, C) <- (C,)
    if not tied:
        model.get_output_embeddings().weight[old:] = out_mean


# ------------------------------------------------------------------------------------------------ parsing
_ANY = re.compile(r"<motion_id_(-?\d+)>|<motion_id[^<>\s]*>?")  # a well-formed word, or a malformed one


@dataclass
class ParsedMotion:
    """Codes read from generated text and every repair made to read them (empty when the text was clean)."""

    codes: np.ndarray  # (n,) int64 in [0, n_codes)
    repairs: list[str] = field(default_factory=list)
    clean: bool = True  # no repair was needed

    def __len__(self) -> int:
        return len(self.codes)


def parse_motion(text: str, vocab: MotionVocabulary, *, fallback: Sequence[int] | None = (0,)) -> ParsedMotion:
    """Read the first motion out of generated ``text`` (see the module docstring for the repairs).

    Never raises on odd text; with ``fallback=None`` a text without any code raises :class:`MotionParseError`.
    """
    if not isinstance(text, str):
        raise InputError(f"parse_motion expects generated text (a string), got {type(text).__name__}")
    repairs: list[str] = []
    tokens: list[int | None] = []  # motion ids in order; None = malformed
    spans = []
    for m in _ANY.finditer(text):
        tokens.append(int(m.group(1)) if m.group(1) is not None else None)
        spans.append(m.span())
    begin = next((i for i, t in enumerate(tokens) if t == vocab.start), None)
    if begin is None:
        if tokens:
            repairs.append("no start-of-motion token: read from the first motion token")
        begin = -1
    elif text[:spans[begin][0]].strip():
        repairs.append("text before the start-of-motion token ignored")
    stop = next((i for i in range(begin + 1, len(tokens)) if tokens[i] == vocab.end), None)
    if stop is None:
        if tokens:
            repairs.append("no end-of-motion token: read to the end of the text (output cut short?)")
        stop = len(tokens)
    codes, malformed, clamped, dropped = [], 0, 0, 0
    for t in tokens[begin + 1:stop]:
        if t is None:
            malformed += 1
        elif t in (vocab.start, vocab.mask):
            dropped += 1
        elif 0 <= t < vocab.n_codes:
            codes.append(t)
        else:  # a number the vocabulary does not have: the official clamp to the last code
            clamped += 1
            codes.append(min(max(t, 0), vocab.n_codes - 1))
    if malformed:
        repairs.append(f"{malformed} malformed motion token(s) dropped")
    if dropped:
        repairs.append(f"{dropped} start/mask token(s) inside the motion dropped")
    if clamped:
        repairs.append(f"{clamped} out-of-range motion id(s) clamped to [0, {vocab.n_codes - 1}]")
    inside = text[spans[begin][1] if begin >= 0 else 0: spans[stop - 1][1] if stop > 0 and spans else 0]
    if _ANY.sub("", inside).strip():
        repairs.append("text between motion tokens ignored")
    if not codes:
        if fallback is None:
            raise MotionParseError(f"no motion codes in the generated text {text[:80]!r}: expected "
                                   f"<motion_id_{vocab.start}> <motion_id_k>... <motion_id_{vocab.end}>")
        codes = [int(c) for c in fallback]
        repairs.append(f"no motion codes: fell back to {len(codes)} code(s) {codes}")
    return ParsedMotion(np.asarray(codes, dtype=np.int64), repairs, clean=not repairs)
