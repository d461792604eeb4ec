"""MotionLab-Synth captions: every phrase and sentence shape of the grammar, tokens, levels, mirroring."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from motionlab.data.captions import format_caption_line, parse_caption_line
from motionlab.data.synth import ACTIONS, caption_motion, mirror, phrase_options, sample_plan
from motionlab.data.synth.captions import (
    JOINED, SINGLE, SUBJECTS, _exact_time, sentence, to_caption,
)
from motionlab.data.synth.lexicon import FORMS, P, Verb, Word, conjugate, realise, times_phrase

# the evaluator's POS set (text-to-motion's POS_enumerator) plus the universal tags it maps to OTHER
POS = {"VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV", "PART", "CCONJ", "SCONJ", "INTJ"}
INFLECTED = ("walks", "walking", "hands", "arms", "times", "steps", "jumps", "knees", "squats", "turns")


def _param_variants(name: str) -> list[dict]:
    """Parameter draws covering every label value the phrases branch on."""
    action = ACTIONS[name]
    draws = [action.sample(np.random.default_rng(i)) for i in range(40)]
    keys = {"speed": ("slow", "normal", "fast"), "side": ("left", "right", "both"), "amplitude": None,
            "stay": (False, True)}
    variants = list(draws)
    base = draws[0]
    for key, values in keys.items():
        if key not in base:
            continue
        values = values or sorted({d[key] for d in draws})
        for value in values:
            if key == "side" and value == "both" and not any(d["side"] == "both" for d in draws):
                continue
            variants.append(dict(base, **{key: value}))
    for d in draws:  # exact counts of 1 and several
        if "reps" in d:
            variants += [dict(d, reps=1), dict(d, reps=3)]
            break
    return variants


def _check_words(words: list[Word], label: str) -> None:
    caption = to_caption(words)
    line = format_caption_line(caption)
    back = parse_caption_line(line)
    assert back.text == caption.text and back.tokens == caption.tokens
    for tok in caption.tokens:
        word, _, pos = tok.rpartition("/")
        assert word.isalpha() and word == word.lower(), f"{label}: token {tok!r}"
        assert pos in POS, f"{label}: tag {pos!r} in {caption.text!r}"
        if pos in ("NOUN", "VERB"):
            assert word not in INFLECTED, f"{label}: {tok!r} is not lemmatised in {caption.text!r}"
    n_alpha = sum(1 for x in words if x.text.isalpha())
    assert len(caption.tokens) == n_alpha


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_phrase_of_every_action_makes_valid_captions(name):
    seen = set()
    for params in _param_variants(name):
        for level in (0, 1, 2):
            for poss in ("his/PRON", "the/DET"):
                options = phrase_options(name, params, level, poss)
                assert options, f"{name} level {level} has no phrase for {params}"
                for phrase in options:
                    assert any(isinstance(c, Verb) for c in phrase), f"{name}: a phrase without a verb"
                    for form in FORMS:
                        words = realise(phrase, form)
                        _check_words(words, f"{name} L{level} {form}")
                        seen.add(" ".join(w.text for w in words))
    assert len(seen) >= 12, f"{name}: only {len(seen)} distinct phrases"


def test_levels_add_detail():
    """Level 0 never names a side, level 2 names the side and the count."""
    params = dict(ACTIONS["wave"].sample(np.random.default_rng(0)), side="left", reps=3)
    for level, want_side in ((0, False), (1, True), (2, True)):
        for phrase in phrase_options("wave", params, level):
            text = " ".join(w.text for w in realise(phrase, "3sg"))
            assert ("left" in text) == want_side, (level, text)
    texts = [" ".join(w.text for w in realise(p, "3sg")) for p in phrase_options("wave", params, 2)]
    assert any("three times" in t for t in texts)
    kick = dict(ACTIONS["kick"].sample(np.random.default_rng(0)), side="right", reps=2)
    assert all("right" not in " ".join(w.text for w in realise(p, "3sg")) for p in phrase_options("kick", kick, 0))


def test_every_sentence_shape_and_subject():
    phrases = [P("walk/V forward/ADV"), P("wave/V with/ADP his/PRON left/ADJ hand/NOUN"), P("sit/V down/ADP")]
    for subject, shape in itertools.product(SUBJECTS, SINGLE):
        words = sentence(shape, subject, phrases[:1])
        _check_words(words, shape)
    for subject, shape, k in itertools.product(SUBJECTS, JOINED, (2, 3)):
        words = sentence(shape, subject, phrases[:k])
        _check_words(words, shape)
        text = to_caption(words).text
        assert all(key in text for key in ("walk", "wav", "down")[:k]), text
    assert to_caption(sentence("then", SUBJECTS[0], phrases[:2])).text == "a person walks forward, then waves with his left hand."
    assert to_caption(sentence("progressive", SUBJECTS[2], phrases[2:])).text == "a man is sitting down."
    assert to_caption(sentence("after", SUBJECTS[5], phrases[:2]), period=False).text == \
        "after walking forward, someone waves with his left hand"
    first = to_caption(sentence("first", SUBJECTS[5], phrases[:2])).text
    assert first == "first someone walks forward, then they wave with his left hand."
    with pytest.raises(ValueError):
        sentence("sideways", SUBJECTS[0], phrases[:1])


def test_lexicon_forms_and_counts():
    assert [conjugate("run", f) for f in FORMS] == ["runs", "running", "ran", "run"]
    assert [conjugate("walk", f) for f in FORMS] == ["walks", "walking", "walked", "walk"]
    assert conjugate("wave", "ing") == "waving" and conjugate("stretch", "3sg") == "stretches"
    assert [w.text for w in times_phrase(1)] == ["once"] and [w.text for w in times_phrase(2)] == ["twice"]
    assert [w.token for w in times_phrase(3)] == ["three/NUM", "time/NOUN"]
    assert [w.token for w in times_phrase(5, vague=True)] == ["several/ADJ", "time/NOUN"]
    words = realise(P("raise/V his/PRON left/ADJ arms/NOUN"), "3sg")
    assert [w.token for w in words] == ["raise/VERB", "his/PRON", "left/ADJ", "arm/NOUN"]
    with pytest.raises(ValueError):
        P("walk forward/ADV")


def test_motion_captions_three_levels_distinct_and_subclips():
    n_sub = 0
    for i in range(150):
        rng = np.random.default_rng([3, i])
        plan = sample_plan(rng)
        captions, specs = caption_motion(plan, rng)
        assert len(captions) == 3
        assert len({c.text for c in captions}) == 3, [c.text for c in captions]
        assert sorted(s.level for s in specs if not s.subclip) == sorted(set(s.level for s in specs if not s.subclip))
        for c, s in zip(captions, specs):
            _check_words_text(c)
            if s.subclip:
                n_sub += 1
                a, b = plan.spans[s.described[0]]
                assert int(c.start * 20) == a and int(c.end * 20) == b - 1  # the loaders' frames
                assert 40 <= b - 1 - a < 200
            else:
                assert c.whole
    assert n_sub > 5


def _check_words_text(caption) -> None:
    words = caption.text.replace(",", " ").replace(".", " ").split()
    assert [w for w in words if w.isalpha()] and len(caption.tokens) == len([w for w in words if w.isalpha()])


def test_exact_times_match_the_loaders():
    for frame in range(0, 400):
        t = _exact_time(frame)
        assert int(t * 20) == frame
        assert len(repr(t)) <= 6


def test_mirrored_captions_swap_sides_in_text_and_tokens():
    for i in range(60):
        rng = np.random.default_rng([4, i])
        plan = sample_plan(rng)
        captions, _ = caption_motion(plan, rng)
        for c in captions:
            m = mirror(c)
            assert mirror(m) == c
            words, mwords = c.text.split(), m.text.split()
            for a, b in zip(words, mwords):
                a, b = a.strip(",."), b.strip(",.")
                pairs = {("left", "right"), ("right", "left"), ("clockwise", "counterclockwise"),
                         ("counterclockwise", "clockwise")}
                assert a == b or (a, b) in pairs
            assert [t.split("/")[0] for t in m.tokens] == [
                {"left": "right", "right": "left", "clockwise": "counterclockwise",
                 "counterclockwise": "clockwise"}.get(t.split("/")[0], t.split("/")[0]) for t in c.tokens]
