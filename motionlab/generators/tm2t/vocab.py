"""TM2T's word vocabulary: the "target language" of the captioner and the source language of text->motion.

TM2T reads and writes captions as word ids.  The official code uses the GloVe ``our_vab`` list (lemmatised
``word/POS`` tokens, e.g. ``walk/VERB``) plus a pad id; its captions are therefore lemmatised ("a person walk
forward").  Here the vocabulary is built from the training captions, in one of two forms:

* ``"lemma"`` -- the word part of each caption's ``word/POS`` tokens, as TM2T (needs tokenised captions);
* ``"raw"``   -- the lower-cased words of the caption text itself (what MotionGPT scores TM2T against).

Ids 0..3 are fixed: ``pad`` (after a caption's end, no loss), ``sos``, ``eos`` and ``unk`` (a word seen too
rarely, or never).  :meth:`CaptionVocabulary.from_glove` takes the GloVe word list instead, when the user has
the official files (read without running pickled code).

The motion language needs no table: its vocabulary is the tokenizer's codes plus start (= n_codes), end
(n_codes + 1) and pad (n_codes + 2).  :func:`pack_motions` and :func:`pack_words` pad batches of both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionlab.errors import InputError

__all__ = [
    "EOS",
    "FORMS",
    "MotionVocabulary",
    "MAX_WORDS",
    "PAD",
    "SOS",
    "SPECIALS",
    "UNK",
    "CaptionVocabulary",
    "caption_words",
    "pack_motions",
    "pack_words",
]

PAD, SOS, EOS, UNK = 0, 1, 2, 3  # fixed ids of the special words


class MotionVocabulary:
    """The motion language's ids, for config dataclasses with an ``n_codes`` field: the codes, then start,
    end and pad (TM2T's 1024 codes: 1024, 1025, 1026)."""

    n_codes: int

    @property
    def start_id(self) -> int:
        return self.n_codes

    @property
    def end_id(self) -> int:
        return self.n_codes + 1

    @property
    def pad_id(self) -> int:
        return self.n_codes + 2

    @property
    def motion_vocab(self) -> int:
        """Motion vocabulary size: codes + start + end + pad."""
        return self.n_codes + 3
SPECIALS = ("<pad>", "<sos>", "<eos>", "<unk>")
FORMS = ("lemma", "raw")
MAX_WORDS = 20  # words kept per caption (official max_text_len); + sos + eos


def caption_words(caption: Any, form: str = "raw") -> list[str]:
    """The words of one caption: a plain string, or a ``Caption`` (``.text``, ``.tokens``).

    ``form="raw"`` tokenises the text as the caption metrics do (lower case, punctuation dropped);
    ``form="lemma"`` takes the word part of the ``word/POS`` tokens (TM2T's target text).
    """
    from motionlab.evaluation.captions import tokenize_caption

    if form not in FORMS:
        raise InputError(f"form={form!r}: expected one of {FORMS}")
    if form == "lemma":
        tokens = getattr(caption, "tokens", None)
        if not tokens:
            raise InputError(f"caption {caption!r} has no word/POS tokens: the 'lemma' form needs tokenised captions "
                             "(Caption objects from a dataset folder); use form='raw' for plain text")
        return [str(t).rpartition("/")[0].lower() or str(t).lower() for t in tokens]
    text = caption if isinstance(caption, str) else getattr(caption, "text", None)
    if not isinstance(text, str):
        raise InputError(f"a caption must be a string or have a .text, got {type(caption).__name__}")
    return tokenize_caption(text).split()


@dataclass
class CaptionVocabulary:
    """Word <-> id table; ``words[:4]`` are :data:`SPECIALS`.  ``form`` says how captions become words."""

    words: list[str]
    form: str = "raw"
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        if tuple(self.words[:4]) != SPECIALS:
            raise InputError(f"CaptionVocabulary: the first words must be {SPECIALS}, got {tuple(self.words[:4])}")
        if len(set(self.words)) != len(self.words):
            raise InputError("CaptionVocabulary: words must be unique")
        if self.form not in FORMS:
            raise InputError(f"CaptionVocabulary.form={self.form!r}: expected one of {FORMS}")
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    # ------------------------------------------------------------------------------------------- build
    @classmethod
    def from_captions(cls, captions: Iterable[Any], form: str = "raw", min_count: int = 1) -> CaptionVocabulary:
        """The words that occur at least ``min_count`` times in ``captions`` (strings or ``Caption`` objects),
        most frequent first (ties alphabetical), after the four special words."""
        counts = Counter(w for cap in captions for w in caption_words(cap, form))
        if not counts:
            raise InputError("CaptionVocabulary.from_captions: no words in the captions")
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
                      key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + kept, form)

    @classmethod
    def from_glove(cls, folder: str | Path, prefix: str = "our_vab") -> CaptionVocabulary:
        """TM2T's own vocabulary from the official GloVe files (``{prefix}_words.pkl``), lemma form.

        The pickle is read with a loader that accepts plain lists and strings only.  The ``word/POS`` entries
        of the official list become words (``walk/VERB`` -> ``walk``); its ``sos``/``eos``/``unk`` map to ours.
        """
        from motionlab.evaluation.official import load_plain_pickle

        raw = load_plain_pickle(Path(folder) / f"{prefix}_words.pkl")
        if not isinstance(raw, list) or not all(isinstance(w, str) for w in raw):
            raise InputError(f"{Path(folder) / (prefix + '_words.pkl')}: expected a list of words")
        words = dict.fromkeys(w.rpartition("/")[0] or w for w in raw)  # ordered, unique
        kept = [w for w in words if w not in ("sos", "eos", "unk", *SPECIALS)]
        return cls(list(SPECIALS) + kept, "lemma")

    # ------------------------------------------------------------------------------------------ encode
    def encode(self, caption: Any, max_words: int = MAX_WORDS) -> list[int]:
        """``[sos, w_1 .. w_n, eos]`` with ``n <= max_words``; unknown words become ``unk``."""
        words = caption_words(caption, self.form)[:max_words]
        return [SOS, *(self.index.get(w, UNK) for w in words), EOS]

    def decode(self, ids: Sequence[int]) -> str:
        """Words of ``ids`` up to the first ``eos``; ``sos`` and ``pad`` are skipped."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.words):
                raise InputError(f"word id {i} is outside the vocabulary [0, {len(self.words)})")
            if i == EOS:
                break
            if i not in (PAD, SOS):
                out.append(self.words[i])
        return " ".join(out)

    # -------------------------------------------------------------------------------------------- JSON
    def to_json(self) -> dict:
        return {"words": list(self.words), "form": self.form}

    @classmethod
    def from_json(cls, data: dict) -> CaptionVocabulary:
        return cls(list(data["words"]), data.get("form", "raw"))


# ------------------------------------------------------------------------------------- padded id batches
def pack_motions(tokens: Sequence[Any], n_codes: int, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Motion token sequences -> ``ids (B, S)`` = ``[start, c_1 .. c_n, end, pad ...]`` and ``lengths (B,)``
    (n + 2).  The motion vocabulary is the ``n_codes`` codes plus start (= n_codes), end (+1) and pad (+2).

    Each sequence must hold 1 .. ``max_len - 2`` codes in ``[0, n_codes)``; anything else is an
    :class:`InputError` naming the motion and the problem.
    """
    start, end, pad = n_codes, n_codes + 1, n_codes + 2
    rows = []
    for i, t in enumerate(tokens):
        t = np.asarray(t)
        if t.ndim != 1 or t.size == 0:
            raise InputError(f"motion {i}: token ids of shape {t.shape}: expected a non-empty 1-D sequence of codes")
        if not np.issubdtype(t.dtype, np.integer):
            raise InputError(f"motion {i}: token ids have dtype {t.dtype}: expected integers")
        if t.min() < 0 or t.max() >= n_codes:
            raise InputError(f"motion {i}: token id {int(t.max() if t.max() >= n_codes else t.min())} is outside "
                             f"the codebook [0, {n_codes})")
        if len(t) > max_len - 2:
            raise InputError(f"motion {i}: {len(t)} tokens, more than the model's {max_len - 2} (+ start, end)")
        rows.append([start, *t.tolist(), end])
    if not rows:
        raise InputError("no motions: expected at least one token sequence")
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.as_tensor(r)
    return ids, torch.as_tensor([len(r) for r in rows])


def pack_words(id_lists: Sequence[Sequence[int]]) -> torch.Tensor:
    """Encoded captions (``[sos .. eos]`` lists) -> ``(B, L)`` padded with :data:`PAD`."""
    width = max(len(r) for r in id_lists)
    out = torch.full((len(id_lists), width), PAD, dtype=torch.long)
    for i, r in enumerate(id_lists):
        out[i, :len(r)] = torch.as_tensor(list(r), dtype=torch.long)
    return out
