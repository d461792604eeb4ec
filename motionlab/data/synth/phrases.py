"""What each action is called: verb phrases at three levels of detail.

``phrase_options(action, params, level, poss)`` lists every phrase the grammar may use for one action:

* level 0 names the action only ("waves", "squats down") -- and several actions share vague names
  ("runs" for a jog, "crouches down" for a squat, "bends forward" for a bow);
* level 1 adds the most telling parameter (the side, the direction, or a vague count);
* level 2 adds what else the parameters say: speed, exact counts, heights, styles.

Phrases are written with :func:`~motionlab.data.synth.lexicon.P` (``word/TAG``, ``word/V`` for the verb).
``poss`` is the possessive ("his/PRON", "her/PRON", "their/PRON", "the/DET").
"""

from __future__ import annotations

from typing import Callable

from motionlab.data.synth import phrases_body as body
from motionlab.data.synth import phrases_travel as travel
from motionlab.data.synth.lexicon import Options

PHRASES: dict[str, Callable[[dict, int, str], Options]] = {
    **{name: getattr(travel, name) for name in (
        "walk", "jog", "run", "walk_backwards", "sidestep", "walk_circle", "turn", "spin", "march_in_place",
        "jump_forward", "jump_in_place", "hop", "jumping_jacks")},
    **{name: getattr(body, name) for name in (
        "wave", "clap", "punch", "throw", "raise_arms", "reach", "stretch", "bow", "look_around", "dance_sway",
        "kick", "squat", "lunge", "kneel", "sit_down")},
}


def phrase_options(action: str, params: dict, level: int, poss: str = "his/PRON") -> Options:
    """Every verb phrase the grammar may use for ``action`` at ``level`` (0, 1, 2)."""
    if level not in (0, 1, 2):
        raise ValueError(f"level must be 0, 1 or 2, got {level}")
    if action not in PHRASES:
        raise KeyError(f"no phrases for action {action!r}; known: {', '.join(sorted(PHRASES))}")
    return PHRASES[action](params, level, poss)
