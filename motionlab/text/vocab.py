"""Word vocabulary and part-of-speech categories for the text-motion evaluator (Guo et al. 2022).

The evaluator reads a caption as a sequence of ``word/POS`` tokens -- the second field of every HumanML3D
caption line, produced by spaCy (nouns and verbs lemmatised).  Each token becomes a word id and one of 15
POS categories: spaCy's coarse tags VERB, NOUN, DET, ADP, NUM, AUX, PRON, ADJ, ADV, five "VIP" word lists
that override the tag (locations, body parts, objects, actions, manners) and OTHER.  Words outside the
vocabulary become ``unk`` with category OTHER.  Every caption is cut to 20 tokens and framed by ``sos`` and
``eos`` (22 at most), as the official data loader does.

The official evaluator uses a fixed GloVe vocabulary; offline we build the vocabulary from the dataset's own
caption files (:meth:`WordVocabulary.from_captions`).  For captions that arrive as plain strings (generated
text), :meth:`WordVocabulary.tokens_for_text` maps each surface word to the ``lemma/POS`` it carried most
often in the dataset, since spaCy is not available here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

POS_CATEGORIES: tuple[str, ...] = (
    "VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV",
    "Loc_VIP", "Body_VIP", "Obj_VIP", "Act_VIP", "Desc_VIP", "OTHER",
)
POS_INDEX: dict[str, int] = {p: i for i, p in enumerate(POS_CATEGORIES)}
OTHER = POS_INDEX["OTHER"]

# The word lists of the official evaluator: membership overrides spaCy's tag (checked in this order).
VIP_WORDS: dict[str, tuple[str, ...]] = {
    "Loc_VIP": ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back",
                "backward", "up", "down", "straight", "curve"),
    "Body_VIP": ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee",
                 "shoulder", "thigh"),
    "Obj_VIP": ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball",
                "basketball"),
    "Act_VIP": ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance",
                "jump", "turn", "stumble", "stop", "sit", "lift", "lower", "raise", "wash", "stand", "kneel",
                "stroll", "rub", "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate", "spin",
                "spread", "climb"),
    "Desc_VIP": ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad",
                 "happily", "angrily", "sadly"),
}
_VIP_OF: dict[str, str] = {}
for _cat, _words in VIP_WORDS.items():
    for _w in _words:
        _VIP_OF.setdefault(_w, _cat)

UNK, SOS, EOS = "unk", "sos", "eos"
SPECIAL_WORDS = (UNK, SOS, EOS)
MAX_TEXT_TOKENS = 20  # word tokens kept per caption; +2 for sos/eos
_ALPHA = re.compile(r"[a-z]+")


def split_token(token: str) -> tuple[str, str]:
    """``"walk/VERB"`` -> ``("walk", "VERB")``; a bare word gets POS ``OTHER``."""
    word, sep, pos = str(token).rpartition("/")
    if not sep:
        return str(token).lower(), "OTHER"
    return word.lower(), pos


def pos_category(word: str, pos: str) -> int:
    """The 15-way category index of a (known) word: its VIP list if any, else its tag, else OTHER."""
    vip = _VIP_OF.get(word)
    if vip is not None:
        return POS_INDEX[vip]
    return POS_INDEX.get(pos, OTHER)


def caption_tokens(caption: Any) -> tuple[str, ...] | None:
    """The ``word/POS`` tokens of a caption-like object (``.tokens``), a token sequence, or None for text."""
    if isinstance(caption, str):
        return None
    tokens = getattr(caption, "tokens", caption)
    if isinstance(tokens, str):
        return None
    return tuple(str(t) for t in tokens)


def caption_text(caption: Any) -> str:
    """The raw text of a caption-like object (``.text``) or string."""
    if isinstance(caption, str):
        return caption
    text = getattr(caption, "text", None)
    if text is not None:
        return str(text)
    return " ".join(split_token(t)[0] for t in caption_tokens(caption) or ())


@dataclass
class EncodedCaptions:
    """A padded batch of encoded captions (numpy; the evaluator moves them to torch)."""

    word_ids: np.ndarray  # (B, L) int64, padded with unk
    pos_ids: np.ndarray  # (B, L) int64 in [0, 15), padded with OTHER
    lengths: np.ndarray  # (B,) tokens incl. sos/eos


@dataclass
class WordVocabulary:
    """Word -> id table (``unk``, ``sos``, ``eos`` first) plus a surface-word -> ``lemma/POS`` map."""

    words: list[str]
    surface: dict[str, str] = field(default_factory=dict)
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(set(self.words)) != len(self.words):
            raise ValueError("vocabulary words must be unique")
        missing = [w for w in SPECIAL_WORDS if w not in self.words]
        if missing:
            raise ValueError(f"vocabulary lacks the special words {missing}")
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    # ------------------------------------------------------------------------------------- build
    @classmethod
    def from_captions(cls, captions: Iterable[Any], min_count: int = 1) -> "WordVocabulary":
        """Vocabulary of the words that occur at least ``min_count`` times in ``word/POS`` caption tokens.

        ``captions``: Caption objects (``.text``, ``.tokens``) or token sequences.  Also learns which
        ``lemma/POS`` each surface word of the raw text carried (only from captions whose alphabetic words
        line up one-to-one with their tokens).
        """
        counts: Counter[str] = Counter()
        surface_counts: dict[str, Counter[str]] = defaultdict(Counter)
        for cap in captions:
            tokens = caption_tokens(cap)
            if tokens is None:
                raise ValueError(f"cannot build a vocabulary from untokenised text {cap!r}: pass Caption objects")
            words = [split_token(t)[0] for t in tokens]
            counts.update(w for w in words if w not in SPECIAL_WORDS)
            text = getattr(cap, "text", None)
            if text:
                surfaces = _ALPHA.findall(str(text).lower().replace("-", ""))
                if len(surfaces) == len(tokens):
                    for s, t in zip(surfaces, tokens):
                        w, p = split_token(t)
                        surface_counts[s][f"{w}/{p}"] += 1
        words = list(SPECIAL_WORDS) + sorted(w for w, c in counts.items() if c >= min_count)
        surface = {s: c.most_common(1)[0][0] for s, c in sorted(surface_counts.items())}
        return cls(words=words, surface=surface)

    # ------------------------------------------------------------------------------------ encode
    def tokens_for_text(self, text: str) -> tuple[str, ...]:
        """``word/POS`` tokens for a plain-text caption, through the surface map (unknown: ``word/OTHER``)."""
        out = []
        for s in _ALPHA.findall(str(text).lower().replace("-", "")):
            out.append(self.surface.get(s, f"{s}/OTHER"))
        return tuple(out)

    def encode_tokens(self, tokens: Sequence[str]) -> tuple[list[int], list[int]]:
        """Word ids and POS categories of one caption, cut to 20 tokens and framed by sos/eos."""
        word_ids, pos_ids = [self.index[SOS]], [OTHER]
        for tok in list(tokens)[:MAX_TEXT_TOKENS]:
            word, pos = split_token(tok)
            if word in self.index and word not in SPECIAL_WORDS:
                word_ids.append(self.index[word])
                pos_ids.append(pos_category(word, pos))
            else:  # out of vocabulary: unk with category OTHER, as the official vectoriser does
                word_ids.append(self.index[UNK])
                pos_ids.append(OTHER)
        word_ids.append(self.index[EOS])
        pos_ids.append(OTHER)
        return word_ids, pos_ids

    def encode(self, captions: Sequence[Any]) -> EncodedCaptions:
        """Encode a batch of captions (Caption objects, token sequences or plain strings), padded with unk."""
        rows = []
        for cap in captions:
            tokens = caption_tokens(cap)
            if tokens is None:
                tokens = self.tokens_for_text(caption_text(cap))
            rows.append(self.encode_tokens(tokens))
        width = max((len(w) for w, _ in rows), default=2)
        word_ids = np.full((len(rows), width), self.index[UNK], dtype=np.int64)
        pos_ids = np.full((len(rows), width), OTHER, dtype=np.int64)
        lengths = np.zeros(len(rows), dtype=np.int64)
        for i, (w, p) in enumerate(rows):
            word_ids[i, :len(w)] = w
            pos_ids[i, :len(p)] = p
            lengths[i] = len(w)
        return EncodedCaptions(word_ids, pos_ids, lengths)

    def unknown_rate(self, captions: Sequence[Any]) -> float:
        """Fraction of word tokens (excluding sos/eos) that map to ``unk``."""
        enc = self.encode(captions)
        inner = enc.lengths - 2
        if inner.sum() == 0:
            return 0.0
        unk = sum(int((enc.word_ids[i, 1:1 + n] == self.index[UNK]).sum()) for i, n in enumerate(inner))
        return unk / float(inner.sum())

    # -------------------------------------------------------------------------------------- JSON
    def to_json(self) -> dict:
        """A JSON-able dict (saved next to the evaluator weights)."""
        return {"words": list(self.words), "surface": dict(self.surface)}

    @classmethod
    def from_json(cls, data: dict) -> "WordVocabulary":
        """Inverse of :meth:`to_json`."""
        return cls(words=list(data["words"]), surface=dict(data.get("surface", {})))
