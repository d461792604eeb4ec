"""Named arm poses and the small helpers actions use to write scores.

An arm pose is where the wrist is relative to its shoulder and where the elbow points, both in the chest
frame (x left, y up, z forward), given for the left arm; the right arm mirrors x.  The solver reaches the
wrist target with two-bone IK, so poses stay valid for any timing and blend into each other smoothly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionlab.data.synth.animation import Score, ease_keys, frames, slerp_vectors, smoothstep
from motionlab.data.synth.rig import FPS

# left-arm poses: (wrist - shoulder, where the elbow points)
ARM_POSES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "neutral": ((0.035, -0.505, 0.05), (0.35, -0.1, -0.93)),
    "jog": ((0.03, -0.27, 0.22), (0.15, -0.4, -1.0)),  # elbow bent about 90 degrees, forearm forward
    "run": ((0.0, -0.22, 0.25), (0.15, -0.45, -1.0)),
    "overhead": ((0.07, 0.51, 0.05), (1.0, 0.1, -0.2)),
    "v_up": ((0.3, 0.41, 0.05), (1.0, -0.2, -0.3)),  # arms up and apart
    "forward": ((-0.05, -0.02, 0.5), (0.4, -1.0, -0.1)),
    "side": ((0.5, 0.02, 0.03), (0.0, -0.4, -1.0)),  # arms out to the side
    "side_low": ((0.4, -0.28, 0.05), (0.2, -0.3, -1.0)),  # balancing
    "hip": ((0.03, -0.28, -0.02), (1.0, 0.0, -0.3)),  # hand on the hip, elbow out
    "chest": ((-0.17, -0.18, 0.15), (0.6, -1.0, 0.0)),  # hand on the chest
    "guard": ((-0.07, -0.14, 0.21), (0.3, -1.0, -0.2)),  # fist up in front of the chin
    "punch": ((-0.1, 0.0, 0.51), (0.4, -1.0, 0.0)),
    "wave_high": ((0.3, 0.33, 0.06), (1.0, -0.6, -0.1)),
    "wave_low": ((0.13, -0.08, 0.32), (0.7, -1.0, -0.1)),
    "clap_in": ((-0.19, -0.14, 0.33), (1.0, -1.0, -0.4)),
    "clap_out": ((0.03, -0.12, 0.30), (1.0, -1.0, -0.4)),
    "throw_back": ((0.13, 0.22, -0.25), (1.0, 0.3, 0.1)),
    "throw_release": ((-0.02, 0.24, 0.45), (0.6, -0.3, 0.1)),
    "throw_follow": ((-0.2, -0.35, 0.3), (0.6, -0.6, 0.0)),
    "underhand_back": ((0.05, -0.45, -0.25), (0.3, 0.2, -1.0)),
    "underhand_release": ((-0.02, -0.1, 0.48), (0.3, -1.0, -0.2)),
    "reach_forward": ((-0.02, 0.05, 0.51), (0.4, -1.0, 0.0)),
    "reach_up": ((0.04, 0.52, 0.06), (1.0, 0.0, -0.2)),
    "reach_side": ((0.51, 0.06, 0.04), (0.0, -0.5, -1.0)),
    "reach_down": ((0.0, -0.47, 0.17), (0.4, 0.0, -1.0)),
    "swing_back": ((0.05, -0.42, -0.27), (0.3, 0.2, -1.0)),  # arms back before a jump
    "lap": ((0.03, -0.37, 0.3), (0.6, -0.3, -1.0)),  # hands resting on the thighs when seated
    "knee": ((-0.02, -0.42, 0.3), (0.5, -0.2, -1.0)),  # hand on the front knee when kneeling
}


def arm_pose(name: str, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(hand, elbow) vectors of a named pose for arm ``side`` (0 left, 1 right: x mirrored)."""
    hand, elbow = ARM_POSES[name]
    sign = np.array([1.0 if side == 0 else -1.0, 1.0, 1.0])
    return np.array(hand) * sign, np.array(elbow) * sign


def set_arms(score: Score, times: list[float], poses: list[str | tuple[str, str]], side: int | None = None) -> None:
    """Key both arms (``side=None``; a pose may be a ``(left, right)`` pair) or one arm through named poses
    at ``times`` (seconds), eased between keys and held outside them."""
    arms = (0, 1) if side is None else (side,)
    for a in arms:
        names = [p if isinstance(p, str) else p[a] for p in poses]
        hands = np.stack([arm_pose(nm, a)[0] for nm in names])
        elbows = np.stack([arm_pose(nm, a)[1] for nm in names])
        score.hands[:, a] = ease_keys(times, hands, score.n, arc=True)
        score.elbows[:, a] = ease_keys(times, elbows, score.n)


def blend_arms(score: Score, other_hands: np.ndarray, other_elbows: np.ndarray, weight: np.ndarray,
               side: int) -> None:
    """Blend arm ``side`` towards per-frame targets ``(n, 3)`` with weights ``(n,)``."""
    score.hands[:, side] = slerp_vectors(score.hands[:, side], np.broadcast_to(other_hands, (score.n, 3)), weight)
    w = weight[:, None]
    score.elbows[:, side] = score.elbows[:, side] * (1 - w) + other_elbows * w


@dataclass(frozen=True)
class Ctx:
    """Where an action sits in its motion: whether the body is already moving when it starts (a stepping
    action before it) and whether it keeps moving after it (a stepping action after it)."""

    enter_moving: bool = False
    exit_moving: bool = False


def envelope(n: int, t_in: float, t_out: float, ramp_in: float, ramp_out: float,
             enter: bool = False, exit_: bool = False) -> np.ndarray:
    """(n,) 0..1 envelope: up over ``ramp_in`` ending at ``t_in``, down over ``ramp_out`` ending at
    ``t_out``; ``enter``/``exit_`` keep it at 1 at the start/end instead."""
    t = frames(n)
    up = np.ones(n) if enter else smoothstep((t - (t_in - ramp_in)) / max(ramp_in, 1e-6))
    down = np.ones(n) if exit_ else smoothstep((t_out - t) / max(ramp_out, 1e-6))
    return up * down


def centred(n: int, busy: float, where: float = 0.5, lead: float = 0.2) -> float:
    """Start time (s) of ``busy`` seconds of action inside ``n`` frames: at least ``lead`` seconds in, the
    slack shared before/after by ``where`` (0 = as early as possible, 1 = as late)."""
    slack = max(n / FPS - busy - 2 * lead, 0.0)
    return lead + where * slack


def cycle_keys(start: float, period: float, reps: int, a: float, b: float) -> tuple[list[float], list[float]]:
    """Keys of ``reps`` back-and-forth cycles between ``a`` and ``b`` starting at ``start``."""
    times, values = [], []
    for i in range(reps):
        times += [start + i * period, start + (i + 0.5) * period]
        values += [a, b]
    times.append(start + reps * period)
    values.append(a)
    return times, values
