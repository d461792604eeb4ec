"""Composing motions: one to three actions in a row, with a length drawn like HumanML3D's.

:func:`sample_plan` draws a :class:`Plan` (actions, parameters, frame spans) from a generator;
:func:`render_plan` builds each action's score, cross-fades them and solves the whole motion.  Lengths:
HumanML3D clips last 2 to 10 s (40 to 196 frames at 20 fps) with a mean of 7.1 s, and many are cut at the
10 s cap, so the target length is a mixture of a broad bump and a peak just below the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motionlab.data.synth.actions import ACTIONS, Action
from motionlab.data.synth.animation import Score, concat, smoothstep
from motionlab.data.synth.poses import Ctx
from motionlab.data.synth.rig import FPS
from motionlab.data.synth.solver import Rendered, solve

OVERLAP = 8  # frames two neighbouring actions cross-fade over
MIN_FRAMES, MAX_FRAMES = 41, 197  # joints per motion: features (one row fewer) in [40, 196]
CAP_SHARE = 0.25  # share of motions drawn near the 10 s cap

# how often each action is drawn (walking dominates HumanML3D; every action stays common enough to learn)
WEIGHTS = {
    "walk": 4.0, "jog": 1.5, "run": 1.5, "walk_backwards": 1.2, "sidestep": 1.2, "walk_circle": 1.2, "turn": 2.0,
    "jump_forward": 1.2, "jump_in_place": 1.2, "hop": 1.0, "march_in_place": 0.8, "wave": 1.5, "clap": 1.0,
    "punch": 1.2, "throw": 1.2, "raise_arms": 1.3, "reach": 1.0, "stretch": 1.0, "bow": 1.0, "look_around": 0.8,
    "kick": 1.3, "squat": 1.2, "lunge": 1.0, "kneel": 1.0, "sit_down": 1.3, "spin": 0.9, "jumping_jacks": 1.0,
    "dance_sway": 1.0,
}


@dataclass
class Segment:
    """One action of a motion: its parameters and its frames ``[start, start + n)`` in the whole motion."""

    action: str
    params: dict
    start: int
    n: int

    @property
    def core(self) -> tuple[int, int]:
        """Frames that belong to this action alone (the overlaps split in the middle)."""
        return self.start, self.start + self.n


@dataclass
class Plan:
    """A motion to make: its segments in order and its total length in frames."""

    segments: list[Segment]
    n_frames: int
    spans: list[tuple[int, int]] = field(default_factory=list)  # frames each segment is described by
    style: dict = field(default_factory=dict)  # posture of this performer (see sample_style)

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return self.n_frames / FPS

    @property
    def actions(self) -> list[str]:
        """The action names in order."""
        return [s.action for s in self.segments]


def sample_length(rng: np.random.Generator) -> float:
    """Target length in seconds: 2 to 9.8 s, mean about 7 s, a quarter of the mass near the cap."""
    if rng.random() < CAP_SHARE:
        return float(rng.uniform(9.0, 9.8))
    return float(2.0 + 7.8 * rng.beta(2.0, 1.7))


def _n_segments(rng: np.random.Generator, seconds: float) -> int:
    if seconds < 4.0:
        probs = (0.75, 0.25, 0.0)
    elif seconds < 7.0:
        probs = (0.4, 0.45, 0.15)
    else:
        probs = (0.25, 0.45, 0.3)
    return int(rng.choice(3, p=probs)) + 1


def _pick_actions(rng: np.random.Generator, k: int) -> list[str]:
    names = list(WEIGHTS)
    weights = np.array([WEIGHTS[a] for a in names])
    chosen: list[str] = []
    for _ in range(k):
        w = weights.copy()
        if chosen:  # never the same action twice in a row
            w[names.index(chosen[-1])] = 0.0
        chosen.append(names[int(rng.choice(len(names), p=w / w.sum()))])
    return chosen


def _fit(rng: np.random.Generator, bounds: list[tuple[float, float]], target: float) -> list[float] | None:
    """Durations inside ``bounds`` whose overlapped total is ``target`` seconds (None when impossible)."""
    over = OVERLAP / FPS * (len(bounds) - 1)
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    total = target + over
    if total < lo.sum() or total > hi.sum():
        return None
    share = rng.dirichlet(np.ones(len(bounds)) * 2.0) * (hi - lo)
    extra = total - lo.sum()
    d = lo.copy()
    for _ in range(len(bounds) + 1):  # water-filling: spread the extra time, capped at each maximum
        room = hi - d
        if extra <= 1e-9 or room.sum() <= 1e-9:
            break
        w = np.where(room > 1e-9, share + 1e-6, 0.0)
        add = np.minimum(room, extra * w / w.sum())
        d += add
        extra -= add.sum()
    return list(d)


def sample_style(rng: np.random.Generator) -> dict:
    """How one performer stands and idles, whatever they do: posture, stance, arm hang and a slow sway.

    Captions never mention it, so one caption covers motions that differ in style."""
    return {
        "lean": float(rng.uniform(-0.03, 0.08)),  # rad, forward
        "neck": float(rng.uniform(-0.1, 0.15)),  # rad, head down
        "width": float(rng.uniform(-0.02, 0.03)),  # m added to the half stance width
        "toe_out": float(rng.uniform(-0.05, 0.12)),  # rad
        "hands": [float(rng.uniform(-0.02, 0.03)), float(rng.uniform(-0.02, 0.04))],  # m: out, forward
        "sway": float(rng.uniform(0.0, 0.012)),  # m
        "sway_hz": float(rng.uniform(0.15, 0.4)),
        "phase": float(rng.uniform(0, 2 * np.pi)),
    }


def sample_plan(rng: np.random.Generator, max_tries: int = 50) -> Plan:
    """Draw a motion: length, number of actions, actions, their parameters and durations."""
    for _ in range(max_tries):
        seconds = sample_length(rng)
        k = _n_segments(rng, seconds)
        names = _pick_actions(rng, k)
        params = [ACTIONS[a].sample(rng) for a in names]
        last = ACTIONS[names[-1]]
        if last.name in ("kneel", "sit_down") and rng.random() < 0.35:
            params[-1]["stay"] = True  # the motion ends kneeling or seated
        bounds = [ACTIONS[a].seconds(p) for a, p in zip(names, params)]
        over = OVERLAP / FPS * (k - 1)
        lo_total = sum(b[0] for b in bounds) - over
        hi_total = sum(b[1] for b in bounds) - over
        target = float(np.clip(seconds, lo_total, hi_total))
        if not MIN_FRAMES / FPS <= target <= (MAX_FRAMES - 1) / FPS:
            continue
        durations = _fit(rng, bounds, target)
        if durations is None:
            continue
        frames_ = [int(round(d * FPS)) for d in durations]
        if min(frames_) <= 2 * OVERLAP:
            continue
        segments, start = [], 0
        for a, p, n in zip(names, params, frames_):
            segments.append(Segment(a, p, start, n))
            start += n - OVERLAP
        total = start + OVERLAP
        if not MIN_FRAMES <= total <= MAX_FRAMES:
            continue
        spans = []
        for i, s in enumerate(segments):
            a = s.start + (OVERLAP // 2 if i > 0 else 0)
            b = s.start + s.n - (OVERLAP // 2 if i < k - 1 else 0)
            spans.append((a, b))
        return Plan(segments, total, spans, sample_style(rng))
    raise RuntimeError("could not draw a motion plan that fits the length limits")


# how each stepping action travels; two of them chain without stopping when they travel alike, or when
# walking meets stepping on the spot ("walks forward and turns around")
TRAVEL = {"walk": "forward", "jog": "forward", "run": "forward", "walk_circle": "forward",
          "walk_backwards": "backward", "sidestep": "sideways", "turn": "on the spot", "spin": "on the spot",
          "march_in_place": "on the spot"}


def chains(first: str, second: str) -> bool:
    """Whether stepping goes on from action ``first`` into ``second`` (else the body stops in between)."""
    if first not in TRAVEL or second not in TRAVEL:
        return False
    if TRAVEL[first] == TRAVEL[second]:
        return True
    slow = {"walk", "walk_circle"}
    return (first in slow and TRAVEL[second] == "on the spot") or (second in slow and TRAVEL[first] == "on the spot")


def single_action_plan(action: str, rng: np.random.Generator, seconds: float | None = None, **params) -> Plan:
    """A motion of one action (parameters drawn from ``rng``, then overridden by ``params``), lasting
    ``seconds`` (default: the shortest time it needs plus a little)."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    act = ACTIONS[action]
    p = {**act.sample(rng), **params}
    lo, hi = act.seconds(p)
    n = int(round(FPS * (lo + 0.25 * (hi - lo) if seconds is None else seconds)))
    n = int(np.clip(n, MIN_FRAMES, MAX_FRAMES))
    return Plan([Segment(action, p, 0, n)], n, [(0, n)], sample_style(rng))


def plan_score(plan: Plan) -> Score:
    """Build and join the scores of a plan's actions."""
    scores = []
    segs = plan.segments
    for i, s in enumerate(segs):
        act: Action = ACTIONS[s.action]
        ctx = Ctx(enter_moving=i > 0 and chains(segs[i - 1].action, s.action),
                  exit_moving=i + 1 < len(segs) and chains(s.action, segs[i + 1].action))
        scores.append(act.build(s.params, s.n, ctx))
    score, starts = concat(scores, OVERLAP)
    assert starts == [s.start for s in segs] and score.n == plan.n_frames
    for i in range(1, len(segs)):
        if chains(segs[i - 1].action, segs[i].action):
            # over up to 0.9 s each side, but well inside both actions (a short spin must stop in time)
            half = min(0.9, 0.3 * min(segs[i - 1].n, segs[i].n) / FPS)
            _ease_gait_change(score, segs[i].start + OVERLAP // 2, half)
    if plan.style:
        _apply_style(score, plan.style)
    return score


def _apply_style(score: Score, style: dict) -> None:
    """Add a performer's posture and idle sway to a score (small offsets on top of every action)."""
    score.lean[:, 1] += style["lean"]
    score.neck[:, 1] += style["neck"]
    score.width += style["width"]
    score.toe_out += style["toe_out"]
    out, fwd = style["hands"]
    score.hands[:, 0] += (out, 0.0, fwd)
    score.hands[:, 1] += (-out, 0.0, fwd)
    t = np.arange(score.n) / FPS
    phase = 2 * np.pi * style["sway_hz"] * t + style["phase"]
    still = 1.0 - np.clip(np.abs(score.vel).sum(-1) / 0.3, 0, 1)  # sway only while standing
    score.offset[:, 0] += style["sway"] * np.sin(phase) * still
    score.offset[:, 1] += 0.5 * style["sway"] * np.sin(2 * phase) * still


def _ease_gait_change(score: Score, centre: int, half: float = 0.9) -> None:
    """Change speed and cadence between two gaits over ``2 * half`` seconds around ``centre`` (a runner
    needs a few steps to slow down to a walk), instead of over the short cross-fade."""
    h = int(half * FPS)
    a, b = max(centre - h, 0), min(centre + h, score.n - 1)
    w = smoothstep((np.arange(a, b + 1) - a) / max(b - a, 1))[:, None]
    for name in ("vel", "step_rate", "duty", "lift", "width"):
        arr = getattr(score, name)
        flat = arr.reshape(score.n, -1)
        flat[a:b + 1] = flat[a] * (1 - w) + flat[b] * w


def render_plan(plan: Plan) -> Rendered:
    """Animate a plan: joints ``(n, 22, 3)`` and the solver's diagnostics."""
    return solve(plan_score(plan))
