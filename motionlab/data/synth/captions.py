"""The caption grammar: three different captions per motion, at different levels of detail.

A caption is a subject, one verb phrase per described action (:mod:`motionlab.data.synth.phrases`) and a
sentence shape that joins them ("a person walks forward, then sits down", "someone is waving",
"after jogging, the man turns around").  For each motion the three captions take three detail levels:

* level 0 -- vague: the actions only; with several actions it may name just the longest one;
* level 1 -- the telling parameter of each action (side, direction, a vague count);
* level 2 -- everything the phrases know: speed, exact counts, heights, styles.

Some motions get one caption for a single action with its start and end time (a sub-clip caption, as
HumanML3D has).  Captions come with ``word/POS`` tokens from the grammar itself, and a mirrored motion gets
the same captions with left and right (and clockwise and counterclockwise) swapped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionlab.data.captions import Caption
from motionlab.data.mirror import CAPTION_SWAPS, mirror_caption
from motionlab.data.synth.compose import Plan
from motionlab.data.synth.lexicon import Chunk, P, Word, realise
from motionlab.data.synth.phrases import phrase_options
from motionlab.data.synth.rig import FPS

# (subject phrase, bare subject phrase, possessive choices, pronoun for a second clause)
SUBJECTS = [
    ("a/DET person/NOUN", "person/NOUN", ("his/PRON", "their/PRON", "the/DET"), "he/PRON"),
    ("the/DET person/NOUN", "person/NOUN", ("his/PRON", "their/PRON", "the/DET"), "he/PRON"),
    ("a/DET man/NOUN", "man/NOUN", ("his/PRON", "the/DET"), "he/PRON"),
    ("the/DET man/NOUN", "man/NOUN", ("his/PRON", "the/DET"), "he/PRON"),
    ("a/DET woman/NOUN", "woman/NOUN", ("her/PRON", "the/DET"), "she/PRON"),
    ("someone/PRON", "someone/PRON", ("their/PRON", "his/PRON", "the/DET"), "they/PRON"),
    ("a/DET figure/NOUN", "figure/NOUN", ("its/PRON", "the/DET", "his/PRON"), "it/PRON"),
    ("a/DET human/NOUN", "human/NOUN", ("his/PRON", "their/PRON"), "he/PRON"),
    ("this/DET person/NOUN", "person/NOUN", ("his/PRON", "their/PRON"), "he/PRON"),
    ("a/DET guy/NOUN", "guy/NOUN", ("his/PRON", "the/DET"), "he/PRON"),
    ("an/DET individual/NOUN", "individual/NOUN", ("their/PRON", "his/PRON"), "he/PRON"),
    ("the/DET character/NOUN", "character/NOUN", ("its/PRON", "his/PRON", "the/DET"), "it/PRON"),
]
SUBJECT_WEIGHTS = np.array([5.0, 2.0, 3.0, 1.0, 1.5, 1.5, 0.7, 0.5, 0.5, 0.4, 0.3, 0.3])

# sentence shapes for one phrase: (name, verb form, words before the subject's verb phrase)
SINGLE = ("present", "progressive", "bare", "fragment", "past", "starts")
# sentence shapes joining several phrases
JOINED = ("then", "and_then", "before", "first", "progressive_then", "after", "and", "past_then")
SINGLE_WEIGHTS = np.array([5.0, 2.5, 1.0, 0.7, 0.8, 0.6])
JOINED_WEIGHTS = np.array([3.0, 3.0, 1.0, 1.2, 1.2, 1.0, 1.5, 0.7])


def _words(spec: str) -> list[Word]:
    return [c for c in P(spec) if isinstance(c, Word)]


def sentence(shape: str, subject: tuple, phrases: list[list[Chunk]]) -> list[Word]:
    """Join verb phrases into one sentence of a given shape (see :data:`SINGLE` and :data:`JOINED`)."""
    subj, bare, _, pron = subject
    k = len(phrases)
    plural_pron = pron == "they/PRON"
    comma = Word(",", "PUNCT", ",")
    if k == 1:
        vp = phrases[0]
        if shape == "present":
            return _words(subj) + realise(vp, "3sg")
        if shape == "progressive":
            return _words(subj) + _words("is/AUX") + realise(vp, "ing")
        if shape == "bare":
            return _words(bare) + realise(vp, "ing")
        if shape == "fragment":
            return realise(vp, "ing")
        if shape == "past":
            return _words(subj) + realise(vp, "past")
        if shape == "starts":
            return _words(subj) + realise(P("start/V to/PART"), "3sg") + realise(vp, "base")
        raise ValueError(f"unknown single-phrase shape {shape!r}")

    def chain(form: str, last_join: list[Word]) -> list[Word]:
        """The phrases in one verb form, joined by commas and ``last_join`` before the last."""
        out: list[Word] = []
        for i, vp in enumerate(phrases):
            if i > 0:
                out += last_join if i == k - 1 else [comma]
            out += realise(vp, form)
        return out

    if shape == "then":
        return _words(subj) + chain("3sg", [comma, *_words("then/ADV")])
    if shape == "and_then":
        return _words(subj) + chain("3sg", _words("and/CCONJ then/ADV"))
    if shape == "before":
        head: list[Word] = []
        for i, vp in enumerate(phrases[:-1]):
            if i > 0:
                head += _words("and/CCONJ")
            head += realise(vp, "3sg")
        return _words(subj) + head + _words("before/ADP") + realise(phrases[-1], "ing")
    if shape == "first":
        second = [*_words(pron), *(realise(phrases[1], "base") if plural_pron else realise(phrases[1], "3sg"))]
        out = _words("first/ADV") + _words(subj) + realise(phrases[0], "3sg") + [comma] + _words("then/ADV") + second
        for vp in phrases[2:]:
            out += _words("and/CCONJ") + (realise(vp, "base") if plural_pron else realise(vp, "3sg"))
        return out
    if shape == "progressive_then":
        return _words(subj) + _words("is/AUX") + chain("ing", _words("and/CCONJ then/ADV"))
    if shape == "after":
        out = _words("after/ADP") + realise(phrases[0], "ing") + [comma] + _words(subj)
        rest = phrases[1:]
        for i, vp in enumerate(rest):
            if i > 0:
                out += _words("and/CCONJ")
            out += realise(vp, "3sg")
        return out
    if shape == "and":
        return _words(subj) + chain("3sg", _words("and/CCONJ"))
    if shape == "past_then":
        return _words(subj) + chain("past", [comma, *_words("then/ADV")])
    raise ValueError(f"unknown joined shape {shape!r}")


def to_caption(words: list[Word], start: float = 0.0, end: float = 0.0, period: bool = True) -> Caption:
    """Text (lower case, commas attached, an optional full stop) and HumanML3D tokens of a sentence."""
    text = ""
    for word in words:
        text += word.text if (word.pos == "PUNCT" or not text) else " " + word.text
    if period:
        text += "."
    tokens = tuple(word.token for word in words if word.text.isalpha())
    return Caption(text.lower(), tokens, float(start), float(end))


@dataclass(frozen=True)
class CaptionSpec:
    """The choices behind one caption (kept for tests and the dataset card)."""

    level: int
    shape: str
    subject: int
    described: tuple[int, ...]  # which segments of the plan it describes
    subclip: bool


def _choose(rng: np.random.Generator, weights: np.ndarray) -> int:
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def subclip_times(plan: Plan, index: int) -> tuple[float, float]:
    """(start, end) seconds of a segment, chosen so that the loaders' ``int(t * 20)`` gives its frames."""
    a, b = plan.spans[index]
    start, end = _exact_time(a), _exact_time(b - 1)  # features have one row fewer than joints
    return start, end


def _exact_time(frame: int) -> float:
    """A short decimal t with int(t * 20) == frame (what the official loaders compute)."""
    for decimals in (1, 2, 3):
        t = round(frame / FPS, decimals)
        if int(t * FPS) == frame:
            return t
        t = round(frame / FPS + 0.5 * 10 ** -decimals, decimals)
        if int(t * FPS) == frame:
            return t
    return frame / FPS + 1e-6


def caption_motion(plan: Plan, rng: np.random.Generator, n: int = 3, subclip_rate: float = 0.3,
                   min_frames: int = 40) -> tuple[list[Caption], list[CaptionSpec]]:
    """``n`` different captions of a plan, at different levels of detail (see the module docstring)."""
    k = len(plan.segments)
    levels = list(rng.permutation(3))[:n] if n <= 3 else list(rng.integers(0, 3, size=n))
    long_enough = [i for i in range(k) if min_frames <= plan.spans[i][1] - plan.spans[i][0] - 1 < 200]
    use_subclip = k > 1 and long_enough and rng.random() < subclip_rate
    captions, specs, seen = [], [], set()
    for j, level in enumerate(levels):
        for _attempt in range(12):
            subject_i = _choose(rng, SUBJECT_WEIGHTS)
            subject = SUBJECTS[subject_i]
            poss = subject[2][int(rng.integers(len(subject[2])))]
            sub = bool(use_subclip and j == n - 1)
            if sub:
                described = (int(rng.choice(long_enough)),)
                level = max(level, 1)
            elif level == 0 and k > 1 and rng.random() < 0.5:
                longest = int(np.argmax([b - a for a, b in plan.spans]))
                described = (longest,)  # a vague caption that names only the main action
            else:
                described = tuple(range(k))
            phrases = []
            for i in described:
                seg = plan.segments[i]
                options = phrase_options(seg.action, seg.params, int(level), poss)
                phrases.append(options[int(rng.integers(len(options)))])
            if len(phrases) == 1:
                shape = SINGLE[_choose(rng, SINGLE_WEIGHTS)]
            else:
                shape = JOINED[_choose(rng, JOINED_WEIGHTS)]
            words = sentence(shape, subject, phrases)
            start, end = subclip_times(plan, described[0]) if sub else (0.0, 0.0)
            caption = to_caption(words, start, end, period=bool(rng.random() < 0.8))
            if caption.text not in seen:
                break
        seen.add(caption.text)
        captions.append(caption)
        specs.append(CaptionSpec(int(level), shape, subject_i, described, sub))
    return captions, specs


def mirror(caption: Caption) -> Caption:
    """The caption of the mirrored motion: left <-> right, clockwise <-> counterclockwise, in the text (with
    :func:`motionlab.data.mirror.mirror_caption`) and in the tokens alike."""
    tokens = []
    for tok in caption.tokens:
        word, _, pos = tok.rpartition("/")
        tokens.append(f"{CAPTION_SWAPS.get(word, word)}/{pos}")
    return Caption(mirror_caption(caption.text), tuple(tokens), caption.start, caption.end)
