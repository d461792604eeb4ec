"""Self-checks for the MotionLab-Synth dataset card (chapter 1b).

Exercise 1 -- a jump's flight.  Write ``flight_height(n_frames, takeoff, landing) -> (n_frames,)``: the
height (m) the body gains in a free flight between ``takeoff`` and ``landing`` (seconds, 20 fps, frame t
at time t / 20), 0 outside the flight.  Gravity g = 9.81 m/s^2.  :func:`check_flight_height`.

Exercise 2 -- foot sliding.  Write ``sliding(joints) -> float``: the mean horizontal distance (m) that an
ankle or toe joint moves from one frame to the next while it is at floor level in both frames -- within
1.5 cm of the height it has when the foot stands flat (ankles 4.45 / 4.63 cm, toes 0 cm for the left /
right foot).  :func:`check_sliding`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from motionlab.data.synth.animation import ballistic
from motionlab.data.synth.compose import render_plan, sample_plan
from motionlab.data.synth.quality import CONTACT_MARGIN, FLAT_HEIGHT, foot_sliding
from motionlab.labs import call_answer, expect_close, fail, passed

_FLIGHT = "flight height"
_SLIDE = "foot sliding"
G = 9.81


def reference_flight_height(n_frames: int, takeoff: float, landing: float) -> np.ndarray:
    """The package's answer to exercise 1 (:func:`motionlab.data.synth.animation.ballistic`)."""
    return ballistic(n_frames, takeoff, landing)


def check_flight_height(flight_height: Callable[[int, float, float], np.ndarray]) -> bool:
    """Exercise 1: the height of a free flight, g/2 (t - t0)(t1 - t) between take-off and landing."""
    for n, t0, t1 in ((40, 0.5, 0.9), (60, 1.05, 1.37), (30, 0.0, 0.5)):
        got = call_answer(_FLIGHT, flight_height, n, t0, t1)
        got = np.asarray(got, dtype=np.float64)
        want = reference_flight_height(n, t0, t1)
        if got.shape != want.shape:
            fail(_FLIGHT, f"the result has shape {got.shape}, expected {want.shape}", "one height per frame")
        if np.allclose(got, want, atol=1e-6):
            continue
        t = np.arange(n) / 20.0
        inside = (t > t0) & (t < t1)
        if np.allclose(got, 2 * want, atol=1e-6):
            fail(_FLIGHT, "the heights are twice too large", "the height of a free fall is g t^2 / 2, not g t^2")
        if np.allclose(got, -want, atol=1e-6):
            fail(_FLIGHT, "the heights are negative", "the body rises and falls back: heights are >= 0")
        if np.allclose(got[inside], want[inside], atol=1e-6):
            fail(_FLIGHT, "the heights outside the flight are not 0", "before take-off and after landing the "
                                                                       "body is on the floor: 0")
        frames_as_time = 0.5 * G * (np.arange(n) - t0) * (t1 - np.arange(n))
        if np.allclose(got[inside], frames_as_time[inside], atol=1e-6):
            fail(_FLIGHT, "the heights are far too large", "use time in seconds: frame t is at t / 20 s")
        peak = G * (t1 - t0) ** 2 / 8
        expect_close(_FLIGHT, f"the flight from {t0} s to {t1} s", got, want, atol=1e-6,
                     hint=f"rising at g (t1 - t0) / 2 at take-off and falling with g, the peak is g tau^2 / 8 = "
                          f"{peak:.3f} m here")
    return passed(_FLIGHT)


def reference_sliding(joints: np.ndarray) -> float:
    """The package's answer to exercise 2 (the mean of :func:`motionlab.data.synth.quality.foot_sliding`)."""
    return foot_sliding(np.asarray(joints, dtype=np.float64))[0]


def _sliding_variants(joints: np.ndarray) -> list[tuple[float, str]]:
    """Answers with the usual mistakes, each with the hint that fixes it."""
    def measure(three_d: bool = False, one_end: bool = False, everywhere: bool = False) -> float:
        moves = []
        for j, flat in FLAT_HEIGHT.items():
            low = joints[:, j, 1] <= flat + CONTACT_MARGIN
            keep = np.ones(len(joints) - 1, bool) if everywhere else (low[:-1] if one_end else low[1:] & low[:-1])
            step = np.diff(joints[:, j] if three_d else joints[:, j][:, [0, 2]], axis=0)
            moves.append(np.linalg.norm(step, axis=-1)[keep])
        allm = np.concatenate(moves)
        return float(allm.mean()) if allm.size else 0.0

    return [
        (measure(three_d=True), "measure the horizontal (x, z) distance: a foot lifting straight up does not slide"),
        (measure(one_end=True), "count a step only when the joint is at floor level in both frames"),
        (measure(everywhere=True), "only frames at floor level count: a swinging foot is supposed to move"),
    ]


def check_sliding(sliding: Callable[[np.ndarray], float]) -> bool:
    """Exercise 2: mean horizontal step of ankle/toe joints while at floor level in both frames."""
    rng = np.random.default_rng(0)
    cases = [render_plan(sample_plan(np.random.default_rng([21, i]))).joints for i in range(3)]
    dragged = cases[0].copy()
    dragged[:, [7, 8, 10, 11], 0] += 0.02 * np.arange(len(dragged))[:, None]  # feet dragged 2 cm per frame
    cases.append(dragged + rng.normal(scale=0.001, size=dragged.shape))
    for i, joints in enumerate(cases):
        got = call_answer(_SLIDE, sliding, joints.copy())
        try:
            got = float(got)
        except (TypeError, ValueError):
            fail(_SLIDE, f"the result is a {type(got).__name__}, expected one number (metres per frame)")
        want = reference_sliding(joints)
        if abs(got - want) <= 1e-6 + 1e-4 * abs(want):
            continue
        if abs(got - 100 * want) <= 1e-4 * abs(100 * want) + 1e-6 and want > 0:
            fail(_SLIDE, f"motion {i}: the result is 100 times too large", "return metres, not centimetres")
        for variant, hint in _sliding_variants(joints):
            if abs(variant - want) > 1e-9 and abs(got - variant) <= 1e-6 + 1e-4 * abs(variant):
                fail(_SLIDE, f"motion {i}: got {got:.5f} m, expected {want:.5f} m", hint)
        expect_close(_SLIDE, f"motion {i}", got, want, atol=1e-6, rtol=1e-4,
                     hint="for each of joints 7, 8 (ankles) and 10, 11 (toes): steps between frames where the "
                          "joint is at floor level at both ends; average their x-z lengths over all of them")
    return passed(_SLIDE)
