"""Curves over time and the *score* of a motion: what every part of the body should do, frame by frame.

A :class:`Score` is the plan an action writes and the solver (:mod:`motionlab.data.synth.solver`) turns
into joint rotations: root velocity and turning rate, pelvis height/lean, spine and neck angles, hand
targets for the arms, gait settings for automatic stepping and explicit foot steps.  Scores of
consecutive actions are joined by :func:`concat`, which cross-fades every curve over the overlap, so
transitions are smooth by construction.  All curves are numpy arrays over frames (20 fps).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from motionlab.data.synth.rig import FPS

# ------------------------------------------------------------------------------------------------ curves


def smoothstep(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk easing 10s^3 - 15s^4 + 6s^5 of s clipped to [0, 1] (zero velocity and acceleration at
    both ends)."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (10 + s * (-15 + 6 * s))


def frames(n: int) -> np.ndarray:
    """Frame times in seconds ``(n,)``."""
    return np.arange(n) / FPS


def ease_keys(times: np.ndarray | list, values: np.ndarray | list, n: int, arc: bool = False) -> np.ndarray:
    """Keyframes held and eased: between consecutive keys the value moves with minimum-jerk easing.

    times: ``(K,)`` seconds (increasing), values: ``(K, ...)``.  Before the first key and after the last
    the value is held.  ``arc=True`` blends 3-vectors with :func:`slerp_vectors`.  Returns ``(n, ...)``.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    t = frames(n)
    idx = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)  # key at or before t
    nxt = np.minimum(idx + 1, len(times) - 1)
    span = np.maximum(times[nxt] - times[idx], 1e-9)
    w = smoothstep((t - times[idx]) / span)
    w = np.where(nxt == idx, 0.0, w)
    if arc:
        return slerp_vectors(values[idx], values[nxt], w)
    w = w.reshape((n,) + (1,) * (values.ndim - 1))
    return values[idx] * (1 - w) + values[nxt] * w


ARC_BIAS = np.array([0.0, -0.2, 1.0])  # nearly opposite directions are joined through the front


def _slerp_unit(u: np.ndarray, v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Great-circle interpolation between unit vectors ``u`` and ``v`` ``(..., 3)`` at ``t`` ``(..., 1)``."""
    cos = np.clip((u * v).sum(-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(cos)
    sin = np.sin(omega)
    safe = sin > 1e-6
    a = np.where(safe, np.sin((1 - t) * omega) / np.where(safe, sin, 1.0), 1 - t)
    b = np.where(safe, np.sin(t * omega) / np.where(safe, sin, 1.0), t)
    return a * u + b * v


def slerp_vectors(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Blend vectors ``a``, ``b`` ``(..., 3)`` by weights ``w`` ``(...)`` along an arc: the length moves
    linearly and the direction along a great circle, through a midpoint that is pulled to the front when the
    two directions are nearly opposite -- so a hand going from hanging down to overhead swings up in front
    of the shoulder instead of through it, and a hand swinging from behind to the front passes below."""
    w = np.asarray(w, dtype=np.float64)[..., None]
    ra, rb = np.linalg.norm(a, axis=-1, keepdims=True), np.linalg.norm(b, axis=-1, keepdims=True)
    da, db = a / np.maximum(ra, 1e-9), b / np.maximum(rb, 1e-9)
    opposite = smoothstep((-(da * db).sum(-1, keepdims=True) - 0.3) / 0.4)  # 0 unless nearly opposite
    mid = da + db + 0.6 * opposite * ARC_BIAS
    mid = mid / np.maximum(np.linalg.norm(mid, axis=-1, keepdims=True), 1e-9)
    first = w < 0.5
    direction = np.where(first, _slerp_unit(da, mid, 2 * w), _slerp_unit(mid, db, 2 * w - 1))
    return direction * (ra + (rb - ra) * w)


def window(n: int, start: float, end: float, ramp: float) -> np.ndarray:
    """``(n,)`` envelope: 0 before ``start``, eased up to 1 over ``ramp`` seconds, 1 until ``end - ramp``,
    eased down to 0 at ``end`` (times in seconds)."""
    t = frames(n)
    ramp = max(min(ramp, (end - start) / 2), 1e-6)
    return smoothstep((t - start) / ramp) * smoothstep((end - t) / ramp)


def oscillate(n: int, freq: float, phase: float = 0.0, start: float = 0.0) -> np.ndarray:
    """``sin(2 pi freq (t - start) + phase)`` over frames."""
    return np.sin(2 * np.pi * freq * (frames(n) - start) + phase)


def ballistic(n: int, takeoff: float, landing: float) -> np.ndarray:
    """Height of a free flight between ``takeoff`` and ``landing`` (seconds): g/2 (t - t0)(t1 - t), else 0.

    Peak g tau^2 / 8 for a flight of tau seconds (0.2 m for 0.4 s), as gravity dictates.
    """
    t = frames(n)
    return np.where((t > takeoff) & (t < landing), 0.5 * 9.81 * (t - takeoff) * (landing - t), 0.0)


# ------------------------------------------------------------------------------------------------- score
NEUTRAL_HAND = np.array([[0.035, -0.505, 0.05], [-0.035, -0.505, 0.05]])  # wrist - shoulder, chest frame
NEUTRAL_ELBOW = np.array([[0.35, -0.1, -0.93], [-0.35, -0.1, -0.93]])  # where each elbow points


@dataclass
class FootStep:
    """One foot leaving the floor at frame ``t0`` and landing at ``t1`` (fractional frames allowed).

    The landing spot is given relative to the root at frame ``ref``: ``local`` = (x = left, z = forward)
    metres in the root's heading frame and ``yaw`` radians relative to the heading.  ``lift`` is the swing
    height; ``ride`` adds the body's flight height (jumps); ``path`` is an optional ``(m, 3)`` array of
    extra offsets (heading frame, sampled uniformly over the swing) for kicks and held-up legs, and
    ``pitch`` an optional ``(m,)`` array of foot pitch (radians, + = toes down) over the swing.
    ``roll_off``: the heel rises before lift-off and the heel strikes first (walking and running).
    ``attach``: the swinging foot travels with the root (a leg held up while the body hops along).
    """

    foot: int
    t0: float
    t1: float
    ref: float
    local: tuple[float, float]
    yaw: float = 0.0
    lift: float = 0.08
    ride: bool = False
    path: np.ndarray | None = None
    pitch: np.ndarray | None = None
    roll_off: bool = False
    attach: bool = False

    def shifted(self, frames_: float) -> "FootStep":
        """The same step ``frames`` later."""
        return dataclasses.replace(self, t0=self.t0 + frames_, t1=self.t1 + frames_, ref=self.ref + frames_)


@dataclass
class Score:
    """Everything the solver needs to animate ``n`` frames.  Per-frame arrays are in the root's heading
    frame (x left, y up, z forward) unless said otherwise; angles in radians."""

    n: int
    vel: np.ndarray  # (n, 2) root velocity (x, z), m/s
    yaw_rate: np.ndarray  # (n,) rad/s, + = turning left
    offset: np.ndarray  # (n, 2) root displacement not integrated (weight shifts, sitting back), m
    height: np.ndarray  # (n,) pelvis height relative to a relaxed stand, m
    flight: np.ndarray  # (n,) ballistic height while airborne, m
    lean: np.ndarray  # (n, 3) pelvis (twist, pitch forward, roll to the right)
    spine: np.ndarray  # (n, 3) whole-spine (twist, bend forward, bend right)
    neck: np.ndarray  # (n, 3) (turn left, nod down, tilt right)
    hands: np.ndarray  # (n, 2, 3) wrist targets relative to each shoulder, chest frame, m
    elbows: np.ndarray  # (n, 2, 3) where each elbow points, chest frame
    shrug: np.ndarray  # (n, 2) collar elevation, rad
    arm_swing: np.ndarray  # (n,) gain of the arm swing that counters the legs
    step_rate: np.ndarray  # (n,) steps per second of automatic stepping (0 = feet stay unless stepped)
    duty: np.ndarray  # (n,) fraction of a gait cycle a foot is on the floor
    lift: np.ndarray  # (n,) swing height of automatic steps, m
    width: np.ndarray  # (n,) half distance between the feet, m
    toe_out: np.ndarray  # (n,) foot yaw outwards, rad
    roll: np.ndarray  # (n,) 1: automatic steps roll heel to toe (walking, running); 0: flat steps
    heel: np.ndarray  # (n, 2) heel raise of a planted foot, rad of toes-down pitch about the toe
    lead: np.ndarray  # (n,) foot (0 left, 1 right) that takes the first automatic step of a stepping run
    steps: list[FootStep] = field(default_factory=list)

    ARRAYS = ("vel", "yaw_rate", "offset", "height", "flight", "lean", "spine", "neck", "hands", "elbows",
              "shrug", "arm_swing", "step_rate", "duty", "lift", "width", "toe_out", "roll", "heel", "lead")

    @classmethod
    def blank(cls, n: int) -> "Score":
        """A relaxed stand for ``n`` frames."""
        return cls(
            n=n, vel=np.zeros((n, 2)), yaw_rate=np.zeros(n), offset=np.zeros((n, 2)), height=np.zeros(n),
            flight=np.zeros(n), lean=np.zeros((n, 3)), spine=np.zeros((n, 3)), neck=np.zeros((n, 3)),
            hands=np.broadcast_to(NEUTRAL_HAND, (n, 2, 3)).copy(),
            elbows=np.broadcast_to(NEUTRAL_ELBOW, (n, 2, 3)).copy(), shrug=np.zeros((n, 2)),
            arm_swing=np.zeros(n), step_rate=np.zeros(n), duty=np.full(n, 0.6), lift=np.full(n, 0.07),
            width=np.full(n, 0.1), toe_out=np.full(n, 0.1), roll=np.ones(n), heel=np.zeros((n, 2)),
            lead=np.zeros(n),
        )

    @property
    def seconds(self) -> float:
        """Length in seconds."""
        return self.n / FPS


def concat(scores: list[Score], overlap: int) -> tuple[Score, list[int]]:
    """Join scores back to back, cross-fading every curve over ``overlap`` frames (minimum-jerk weights).

    Returns the joined score and the start frame of each part in it.  Steps keep their timing relative to
    their own part.  Each part must be longer than ``2 * overlap`` frames.
    """
    if len(scores) == 1:
        return scores[0], [0]
    starts = [0]
    for s in scores[:-1]:
        starts.append(starts[-1] + s.n - overlap)
    total = starts[-1] + scores[-1].n
    out = Score.blank(total)
    ramp_in = smoothstep((np.arange(overlap) + 0.5) / overlap)
    weights = []  # each part's cross-fade weights, computed once for every curve
    for k, sc in enumerate(scores):
        w = np.ones(sc.n)
        if k > 0:
            w[:overlap] = ramp_in
        if k < len(scores) - 1:
            w[sc.n - overlap:] = ramp_in[::-1]
        weights.append(w)
    norm = np.zeros(total)
    for w, a in zip(weights, starts):
        norm[a:a + len(w)] += w
    for name in Score.ARRAYS:
        if name == "hands":
            continue
        acc = np.zeros_like(getattr(out, name))
        for sc, w, a in zip(scores, weights, starts):
            src = getattr(sc, name)
            acc[a:a + sc.n] += src * w.reshape((-1,) + (1,) * (src.ndim - 1))
        setattr(out, name, acc / norm.reshape((-1,) + (1,) * (acc.ndim - 1)))
    # hands: each part's own, arcs across the overlaps
    hands = np.zeros((total, 2, 3))
    for k, (s, a) in enumerate(zip(scores, starts)):
        hands[a:a + s.n] = s.hands
        if k > 0:
            w = smoothstep((np.arange(overlap) + 0.5) / overlap)[:, None]
            prev = scores[k - 1].hands[scores[k - 1].n - overlap:]
            hands[a:a + overlap] = slerp_vectors(prev, s.hands[:overlap], np.broadcast_to(w, (overlap, 2)))
    out.hands = hands
    out.steps = [st.shifted(a) for s, a in zip(scores, starts) for st in s.steps]
    return out, starts
