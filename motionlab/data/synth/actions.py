"""The registry of action primitives: what each action is, how its parameters are drawn, how long it
can last, and which builder animates it.

Parameters are a flat dict.  Keys the captions may mention: ``speed`` (``"slow" | "normal" | "fast"``),
``side`` (``"left" | "right" | "both"``), ``direction``, ``reps``, ``style``, ``amplitude``.  Other keys
are hidden numbers (the exact speed ``v``, timing ``where``, amplitudes) that vary motions under one
caption.  Every draw comes from the generator it is given, so a seed fixes everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from motionlab.data.synth import gestures, locomotion, postures
from motionlab.data.synth.animation import Score
from motionlab.data.synth.poses import Ctx

Params = dict
Rng = np.random.Generator

SPEEDS = ("slow", "normal", "fast")


@dataclass(frozen=True)
class Action:
    """One primitive: ``sample(rng) -> params``, ``seconds(params) -> (shortest, longest)`` and
    ``build(params, n_frames, ctx) -> Score``.  ``gait`` actions step continuously and chain into each
    other without stopping.  (Kneeling and sitting have ``stay``: the motion ends kneeling or seated; the
    composer sets it only for a motion's last action.)"""

    name: str
    group: str  # locomotion | upper | lower | whole
    gait: bool
    sample: Callable[[Rng], Params]
    seconds: Callable[[Params], tuple[float, float]]
    build: Callable[[Params, int, Ctx], Score]


def _pick(rng: Rng, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def _speed(rng: Rng, ranges: dict[str, tuple[float, float]], p=(0.25, 0.5, 0.25)) -> tuple[str, float]:
    """A speed label and a value drawn inside that label's range (the ranges of neighbours touch)."""
    label = _pick(rng, SPEEDS, p)
    lo, hi = ranges[label]
    return label, float(rng.uniform(lo, hi))


def _common(rng: Rng) -> Params:
    return {"where": float(rng.uniform(0, 1))}


# ----------------------------------------------------------------------------------------- locomotion
def _walk(rng: Rng) -> Params:
    speed, v = _speed(rng, {"slow": (0.65, 0.95), "normal": (0.95, 1.3), "fast": (1.3, 1.65)})
    direction = _pick(rng, ("forward", "left", "right"), (0.7, 0.15, 0.15))
    return {**_common(rng), "speed": speed, "v": v, "direction": direction,
            "angle": float(rng.uniform(0.6, 1.6)), "veer": float(rng.choice([0.0, rng.uniform(-0.15, 0.15)])),
            "lift": float(rng.uniform(0.05, 0.09)), "swing": float(rng.uniform(0.45, 0.95)),
            "gaze": float(rng.uniform(-0.05, 0.2))}


def _jog(rng: Rng) -> Params:
    speed, v = _speed(rng, {"slow": (1.6, 2.0), "normal": (2.0, 2.4), "fast": (2.4, 2.8)})
    return {**_common(rng), "speed": speed, "v": v, "veer": float(rng.choice([0.0, rng.uniform(-0.12, 0.12)])),
            "swing": float(rng.uniform(0.7, 1.1))}


def _run(rng: Rng) -> Params:
    speed, v = _speed(rng, {"slow": (2.7, 3.1), "normal": (3.1, 3.6), "fast": (3.6, 4.2)})
    return {**_common(rng), "speed": speed, "v": v, "veer": float(rng.choice([0.0, rng.uniform(-0.1, 0.1)])),
            "swing": float(rng.uniform(0.9, 1.3))}


def _backwards(rng: Rng) -> Params:
    speed, v = _speed(rng, {"slow": (0.35, 0.55), "normal": (0.55, 0.8), "fast": (0.8, 1.05)})
    return {**_common(rng), "speed": speed, "v": v, "veer": float(rng.choice([0.0, rng.uniform(-0.1, 0.1)])),
            "look_back": float(rng.choice([0.0, rng.uniform(-0.7, 0.7)]))}


def _sidestep(rng: Rng) -> Params:
    speed, v = _speed(rng, {"slow": (0.2, 0.28), "normal": (0.28, 0.36), "fast": (0.36, 0.42)})
    return {**_common(rng), "speed": speed, "v": v, "direction": _pick(rng, ("left", "right")),
            "rate": float(rng.uniform(1.7, 2.0)), "arms": _pick(rng, ("neutral", "hip", "side_low"), (0.6, 0.2, 0.2))}


def _circle(rng: Rng) -> Params:
    speed, v = _speed(rng, {"slow": (0.7, 0.95), "normal": (0.95, 1.2), "fast": (1.2, 1.5)}, (0.3, 0.55, 0.15))
    return {**_common(rng), "speed": speed, "v": v, "direction": _pick(rng, ("clockwise", "counterclockwise")),
            "turns": float(rng.uniform(0.8, 1.15)), "swing": float(rng.uniform(0.4, 0.8))}


def _turn(rng: Rng) -> Params:
    around = rng.random() < 0.5
    angle = np.pi * rng.uniform(0.9, 1.05) if around else np.pi / 2 * rng.uniform(0.8, 1.15)
    return {**_common(rng), "direction": _pick(rng, ("left", "right")), "amount": "around" if around else "quarter",
            "angle": float(angle), "rate": float(rng.uniform(1.8, 2.3))}


def _spin(rng: Rng) -> Params:
    twice = rng.random() < 0.15
    return {**_common(rng), "direction": _pick(rng, ("left", "right")), "reps": 2 if twice else 1,
            "angle": float(2 * np.pi * (2 if twice else 1) * rng.uniform(0.95, 1.05)),
            "arms": _pick(rng, ("side_low", "side", "neutral"), (0.5, 0.3, 0.2))}


def _march(rng: Rng) -> Params:
    speed, rate = _speed(rng, {"slow": (1.2, 1.5), "normal": (1.5, 1.9), "fast": (1.9, 2.3)})
    high = rng.random() < 0.4
    return {**_common(rng), "speed": speed, "rate": rate, "amplitude": "high" if high else "normal",
            "lift": float(rng.uniform(0.26, 0.34) if high else rng.uniform(0.14, 0.22)),
            "swing": float(rng.uniform(0.9, 1.4))}


def _jump(rng: Rng, forward: bool) -> Params:
    reps = int(_pick(rng, (1, 2, 3), (0.55, 0.3, 0.15)) if forward else _pick(rng, (1, 2, 3, 4), (0.35, 0.3, 0.2, 0.15)))
    big = rng.random() < 0.35
    tau = float(rng.uniform(0.42, 0.5) if big else rng.uniform(0.3, 0.42))
    p = {**_common(rng), "reps": reps, "tau": tau, "amplitude": "high" if big else "normal",
         "gap": float(rng.uniform(0.3, 0.5)), "crouch": float(rng.uniform(0.14, 0.24)), "tuck": float(rng.uniform(0.04, 0.12))}
    if forward:
        far = rng.random() < 0.4
        p["distance"] = float(rng.uniform(0.9, 1.3) if far else rng.uniform(0.45, 0.9))
        p["amplitude"] = "far" if far else "normal"
    return p


def _hop(rng: Rng) -> Params:
    forward = rng.random() < 0.5
    return {**_common(rng), "side": _pick(rng, ("left", "right")), "reps": int(rng.integers(2, 6)),
            "tau": float(rng.uniform(0.24, 0.32)), "gap": float(rng.uniform(0.2, 0.35)),
            "direction": "forward" if forward else "in place",
            "distance": float(rng.uniform(0.15, 0.35)) if forward else 0.0,
            "knee": float(rng.uniform(0.2, 0.32)), "arms": _pick(rng, ("out", "neutral"), (0.6, 0.4))}


def _jacks(rng: Rng) -> Params:
    speed, gap = _speed(rng, {"slow": (0.45, 0.6), "normal": (0.3, 0.45), "fast": (0.18, 0.3)})
    return {**_common(rng), "speed": speed, "reps": int(rng.integers(2, 6)), "tau": float(rng.uniform(0.24, 0.3)),
            "gap": gap}


# --------------------------------------------------------------------------------------------- gestures
def _wave(rng: Rng) -> Params:
    speed, freq = _speed(rng, {"slow": (1.2, 1.7), "normal": (1.7, 2.3), "fast": (2.3, 3.0)})
    return {**_common(rng), "side": _pick(rng, ("left", "right", "both"), (0.4, 0.4, 0.2)), "speed": speed,
            "freq": freq, "reps": int(rng.integers(2, 7)), "height": _pick(rng, ("high", "low"), (0.7, 0.3)),
            "amp": float(rng.uniform(0.07, 0.14))}


def _clap(rng: Rng) -> Params:
    speed, freq = _speed(rng, {"slow": (1.2, 1.8), "normal": (1.8, 2.6), "fast": (2.6, 3.4)})
    return {**_common(rng), "speed": speed, "freq": freq, "reps": int(rng.integers(2, 9)),
            "height": float(rng.uniform(-0.05, 0.12))}


def _punch(rng: Rng) -> Params:
    speed, period = _speed(rng, {"slow": (0.75, 0.95), "normal": (0.55, 0.75), "fast": (0.42, 0.55)})
    return {**_common(rng), "side": _pick(rng, ("left", "right", "both"), (0.35, 0.35, 0.3)), "speed": speed,
            "period": period, "reps": int(rng.integers(1, 7)), "aim": float(rng.uniform(-0.12, 0.08)),
            "stance": bool(rng.random() < 0.4)}


def _throw(rng: Rng) -> Params:
    return {**_common(rng), "side": _pick(rng, ("left", "right"), (0.35, 0.65)),
            "style": _pick(rng, ("overhand", "underhand"), (0.75, 0.25)), "power": float(rng.uniform(0.7, 1.2))}


def _raise(rng: Rng) -> Params:
    return {**_common(rng), "side": _pick(rng, ("both", "left", "right"), (0.5, 0.25, 0.25)),
            "style": _pick(rng, ("overhead", "forward", "sideways"), (0.5, 0.25, 0.25)),
            "reps": int(_pick(rng, (1, 2, 3), (0.6, 0.3, 0.1))), "up_time": float(rng.uniform(0.5, 0.9)),
            "hold": float(rng.uniform(0.3, 1.8))}


def _reach(rng: Rng) -> Params:
    return {**_common(rng), "side": _pick(rng, ("left", "right")),
            "direction": _pick(rng, ("forward", "up", "side", "down")), "reps": int(_pick(rng, (1, 2), (0.75, 0.25))),
            "go": float(rng.uniform(0.5, 0.9)), "hold": float(rng.uniform(0.3, 1.2))}


def _stretch(rng: Rng) -> Params:
    style = _pick(rng, ("up", "side", "forward", "arms"))
    return {**_common(rng), "style": style, "reps": int(_pick(rng, (1, 2), (0.6, 0.4))),
            "hold": float(rng.uniform(0.8, 2.0)), "period": float(rng.uniform(2.2, 3.2)),
            "first": _pick(rng, ("left", "right"))}


def _bow(rng: Rng) -> Params:
    deep = rng.random() < 0.4
    return {**_common(rng), "depth": float(rng.uniform(1.0, 1.3) if deep else rng.uniform(0.45, 0.8)),
            "amplitude": "deep" if deep else "normal", "reps": int(_pick(rng, (1, 2), (0.75, 0.25))),
            "go": float(rng.uniform(0.6, 1.0)), "hold": float(rng.uniform(0.3, 1.2)),
            "hand": _pick(rng, ("none", "left", "right"), (0.7, 0.1, 0.2))}


def _look(rng: Rng) -> Params:
    k = int(rng.integers(2, 5))
    first = float(rng.choice([-1.0, 1.0]))
    looks = [first * (1 if i % 2 == 0 else -1) * float(rng.uniform(0.6, 1.0)) for i in range(k)]
    return {**_common(rng), "looks": looks, "hands": _pick(rng, ("neutral", "hips"), (0.7, 0.3))}


def _dance(rng: Rng) -> Params:
    speed, period = _speed(rng, {"slow": (1.6, 2.2), "normal": (1.2, 1.6), "fast": (0.9, 1.2)})
    return {**_common(rng), "speed": speed, "period": period, "reps": int(rng.integers(2, 5)),
            "amp": float(rng.uniform(0.05, 0.1)), "arms": _pick(rng, ("up", "low", "hips"), (0.4, 0.4, 0.2)),
            "steps": bool(rng.random() < 0.4)}


# -------------------------------------------------------------------------------------------- lower body
def _kick(rng: Rng) -> Params:
    high = rng.random() < 0.4
    return {**_common(rng), "side": _pick(rng, ("left", "right"), (0.4, 0.6)),
            "style": _pick(rng, ("front", "side"), (0.7, 0.3)), "reps": int(_pick(rng, (1, 2, 3), (0.5, 0.3, 0.2))),
            "height": float(rng.uniform(0.85, 1.1) if high else rng.uniform(0.3, 0.75)),
            "amplitude": "high" if high else "normal", "dur": float(rng.uniform(0.7, 1.0)),
            "arms": _pick(rng, ("guard", "balance"), (0.4, 0.6))}


def _squat(rng: Rng) -> Params:
    speed, down = _speed(rng, {"slow": (0.9, 1.3), "normal": (0.65, 0.9), "fast": (0.45, 0.65)})
    deep = rng.random() < 0.4
    return {**_common(rng), "speed": speed, "reps": int(_pick(rng, (1, 2, 3, 4), (0.35, 0.3, 0.2, 0.15))),
            "down": down, "up": down * float(rng.uniform(0.9, 1.2)), "hold": float(rng.uniform(0.1, 0.6)),
            "rest": float(rng.uniform(0.0, 0.3)), "depth": float(rng.uniform(0.44, 0.52) if deep else rng.uniform(0.3, 0.42)),
            "amplitude": "deep" if deep else "normal", "arms": _pick(rng, ("forward", "neutral", "hip"), (0.55, 0.25, 0.2))}


def _lunge(rng: Rng) -> Params:
    return {**_common(rng), "side": _pick(rng, ("left", "right")), "reps": int(_pick(rng, (1, 2), (0.6, 0.4))),
            "length": float(rng.uniform(0.55, 0.75)), "down": float(rng.uniform(0.5, 0.8)),
            "hold": float(rng.uniform(0.1, 0.8)), "depth": float(rng.uniform(0.22, 0.32)),
            "arms": _pick(rng, ("neutral", "hips"), (0.6, 0.4))}


def _kneel(rng: Rng) -> Params:
    return {**_common(rng), "side": _pick(rng, ("left", "right")), "down": float(rng.uniform(0.7, 1.1)),
            "hold": float(rng.uniform(0.8, 2.5)), "stay": False, "hand": _pick(rng, ("knee", "none"), (0.5, 0.5))}


def _sit(rng: Rng) -> Params:
    return {**_common(rng), "down": float(rng.uniform(1.0, 1.5)), "up": float(rng.uniform(1.0, 1.4)),
            "hold": float(rng.uniform(0.8, 3.0)), "drop": float(rng.uniform(0.4, 0.47)), "stay": False,
            "hands": _pick(rng, ("lap", "neutral"), (0.6, 0.4))}


# ------------------------------------------------------------------------------------------- durations
def _gesture_seconds(name: str) -> Callable[[Params], tuple[float, float]]:
    return lambda p: (gestures.busy_seconds(name, p) + 0.5, gestures.busy_seconds(name, p) + 3.5)


def _jump_seconds(p: Params) -> tuple[float, float]:
    busy = 0.45 + p["reps"] * p["tau"] + (p["reps"] - 1) * p["gap"] + 0.6 + 0.5
    return busy + 0.3, busy + 2.5


def _kick_seconds(p: Params) -> tuple[float, float]:
    busy = 0.5 + p["reps"] * (p["dur"] + 0.15) + 0.4 + 1.0
    return busy, busy + 2.5


def _cycle_seconds(p: Params) -> tuple[float, float]:  # squat
    busy = p["reps"] * (p["down"] + p["hold"] + p["up"]) + (p["reps"] - 1) * p["rest"] + 1.3
    return busy, busy + 2.5


def _lunge_seconds(p: Params) -> tuple[float, float]:
    busy = p["reps"] * (0.9 + 2 * p["down"] + p["hold"]) + 0.6
    return busy, busy + 2.5


def _kneel_seconds(p: Params) -> tuple[float, float]:
    busy = 0.5 + p["down"] + p["hold"] + (0.0 if p["stay"] else p["down"] + 0.5) + 0.5
    return busy, busy + 2.5


def _sit_seconds(p: Params) -> tuple[float, float]:
    busy = p["down"] + p["hold"] + (0.0 if p["stay"] else p["up"]) + 0.6
    return busy, busy + 3.0


def _hop_seconds(p: Params) -> tuple[float, float]:
    busy = 0.45 + p["reps"] * p["tau"] + (p["reps"] - 1) * p["gap"] + 1.6
    return busy, busy + 2.0


def _jacks_seconds(p: Params) -> tuple[float, float]:
    busy = 0.45 + 2 * p["reps"] * p["tau"] + (2 * p["reps"] - 1) * p["gap"] + 1.1
    return busy, busy + 2.0


def _turn_seconds(p: Params) -> tuple[float, float]:
    base = 0.9 + 0.55 * p["angle"] / np.pi
    return base + 1.2, base + 2.2


def _spin_seconds(p: Params) -> tuple[float, float]:
    base = 0.7 * p["reps"] + 0.2
    return base + 1.1, base + 1.8


def _range(lo: float, hi: float) -> Callable[[Params], tuple[float, float]]:
    return lambda p: (lo, hi)


def _circle_seconds(p: Params) -> tuple[float, float]:
    # a full circle of radius 0.6 .. 1.6 m at this speed, plus speeding up and slowing down
    return 2 * np.pi * 0.6 * p["turns"] / p["v"] + 1.8, 2 * np.pi * 1.6 * p["turns"] / p["v"] + 1.8


ACTIONS: dict[str, Action] = {a.name: a for a in [
    Action("walk", "locomotion", True, _walk, _range(2.5, 9.5), locomotion.walk),
    Action("jog", "locomotion", True, _jog, _range(2.2, 8.0), locomotion.jog),
    Action("run", "locomotion", True, _run, _range(2.0, 6.5), locomotion.run),
    Action("walk_backwards", "locomotion", True, _backwards, _range(2.5, 7.0), locomotion.walk_backwards),
    Action("sidestep", "locomotion", True, _sidestep, _range(2.2, 6.0), locomotion.sidestep),
    Action("walk_circle", "locomotion", True, _circle, _circle_seconds, locomotion.walk_circle),
    Action("turn", "locomotion", True, _turn, _turn_seconds, locomotion.turn_in_place),
    Action("jump_forward", "locomotion", False, lambda r: _jump(r, True), _jump_seconds, locomotion.jump_forward),
    Action("jump_in_place", "locomotion", False, lambda r: _jump(r, False), _jump_seconds, locomotion.jump_in_place),
    Action("hop", "locomotion", False, _hop, _hop_seconds, locomotion.hop),
    Action("march_in_place", "locomotion", True, _march, _range(2.2, 7.0), locomotion.march_in_place),
    Action("wave", "upper", False, _wave, _gesture_seconds("wave"), gestures.wave),
    Action("clap", "upper", False, _clap, _gesture_seconds("clap"), gestures.clap),
    Action("punch", "upper", False, _punch, _gesture_seconds("punch"), gestures.punch),
    Action("throw", "upper", False, _throw, _gesture_seconds("throw"), gestures.throw),
    Action("raise_arms", "upper", False, _raise, _gesture_seconds("raise_arms"), gestures.raise_arms),
    Action("reach", "upper", False, _reach, _gesture_seconds("reach"), gestures.reach),
    Action("stretch", "upper", False, _stretch, _gesture_seconds("stretch"), gestures.stretch),
    Action("bow", "upper", False, _bow, _gesture_seconds("bow"), gestures.bow),
    Action("look_around", "upper", False, _look, _gesture_seconds("look_around"), gestures.look_around),
    Action("kick", "lower", False, _kick, _kick_seconds, postures.kick),
    Action("squat", "lower", False, _squat, _cycle_seconds, postures.squat),
    Action("lunge", "lower", False, _lunge, _lunge_seconds, postures.lunge),
    Action("kneel", "lower", False, _kneel, _kneel_seconds, postures.kneel),
    Action("sit_down", "lower", False, _sit, _sit_seconds, postures.sit_down),
    Action("spin", "whole", True, _spin, _spin_seconds, locomotion.spin),
    Action("jumping_jacks", "whole", False, _jacks, _jacks_seconds, locomotion.jumping_jacks),
    Action("dance_sway", "whole", False, _dance, _gesture_seconds("dance_sway"), gestures.dance_sway),
]}
