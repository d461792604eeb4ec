"""Upper-body and whole-body gestures: waving, clapping, punching, throwing, raising and reaching,
stretching, bowing, looking around, dancing.  The feet stay planted unless a gesture steps (a throw
steps into the throw, a boxer steps into a stance).

Each builder ``f(p, n, ctx) -> Score`` times its gesture inside ``n`` frames with the slack placed by
``p["where"]``; :func:`busy_seconds` says how long each gesture needs for its parameters.
"""

from __future__ import annotations

import numpy as np

from motionlab.data.synth.animation import FootStep, Score, ease_keys, frames, smoothstep
from motionlab.data.synth.poses import Ctx, arm_pose, blend_arms, centred, cycle_keys, set_arms
from motionlab.data.synth.rig import FPS

SIDES = {"left": (0,), "right": (1,), "both": (0, 1)}


def _sway_arm(sc: Score, side: int, pose: str, start: float, end: float, freq: float, amp: float, axis: int = 0
              ) -> None:
    """Hold arm ``side`` in ``pose`` from ``start`` to ``end`` (eased in and out over 0.45 s) and sway the
    hand along ``axis`` with amplitude ``amp`` at ``freq`` Hz in between."""
    n = sc.n
    t = frames(n)
    w = smoothstep((t - start + 0.45) / 0.45) * smoothstep((end + 0.45 - t) / 0.45)
    hand, elbow = arm_pose(pose, side)
    sign = 1.0 if side == 0 else -1.0
    inside = smoothstep((t - start) / 0.2) * smoothstep((end - t) / 0.2)
    sway = np.zeros((n, 3))
    sway[:, axis] = sign * amp * np.sin(2 * np.pi * freq * (t - start)) * inside
    blend_arms(sc, hand + sway, elbow, w, side)


def wave(p: dict, n: int, ctx: Ctx) -> Score:
    """Raise one or both hands and wave them side to side, high or at chest height."""
    sc = Score.blank(n)
    busy = 0.9 + p["reps"] / p["freq"]
    t0 = centred(n, busy, p["where"]) + 0.45
    t1 = t0 + p["reps"] / p["freq"]
    pose = "wave_high" if p["height"] == "high" else "wave_low"
    for side in SIDES[p["side"]]:
        _sway_arm(sc, side, pose, t0, t1, p["freq"], p["amp"])
    if p["side"] != "both":
        sign = 1.0 if p["side"] == "left" else -1.0
        sc.neck[:, 2] = -sign * 0.08 * smoothstep((frames(n) - t0 + 0.4) / 0.4) * smoothstep((t1 + 0.4 - frames(n)) / 0.4)
    return sc


def clap(p: dict, n: int, ctx: Ctx) -> Score:
    """Bring the hands up in front of the chest and clap them together."""
    sc = Score.blank(n)
    period = 1.0 / p["freq"]
    busy = 0.8 + p["reps"] * period
    t0 = centred(n, busy, p["where"]) + 0.4
    times, values = cycle_keys(t0, period, p["reps"], 0.0, 1.0)
    closed = ease_keys([0.0] + times, [0.0] + values, n)  # 1 = hands together
    t = frames(n)
    up = smoothstep((t - t0 + 0.4) / 0.4) * smoothstep((t0 + p["reps"] * period + 0.4 - t) / 0.4)
    for side in (0, 1):
        h_in, e_in = arm_pose("clap_in", side)
        h_out, _ = arm_pose("clap_out", side)
        target = h_out * (1 - closed[:, None]) + h_in * closed[:, None]
        target[:, 1] += p["height"]
        blend_arms(sc, target, e_in, up, side)
    return sc


def punch(p: dict, n: int, ctx: Ctx) -> Score:
    """Raise the fists to a guard and punch forward (alternating for "both"), the chest turning into it."""
    sc = Score.blank(n)
    reps, period = p["reps"], p["period"]
    busy = busy_seconds("punch", p)
    t0 = centred(n, busy, p["where"]) + 0.5 + (0.1 if p["stance"] else 0.0)
    arms = [0, 1] if p["side"] == "both" else [0 if p["side"] == "left" else 1]
    t = frames(n)
    guard = smoothstep((t - t0 + 0.5) / 0.5) * smoothstep((t0 + reps * period + 0.5 - t) / 0.5)
    set_arms(sc, [t0 - 0.5, t0, t0 + reps * period, t0 + reps * period + 0.5], ["neutral", "guard", "guard", "neutral"])
    twist = np.zeros(n)
    for i in range(reps):
        side = arms[i % len(arms)]
        a = t0 + i * period
        out = smoothstep((t - a) / (0.35 * period)) * smoothstep((a + period - t) / (0.55 * period))
        hand, elbow = arm_pose("punch", side)
        g_hand, g_elbow = arm_pose("guard", side)
        hand = hand + np.array([0.0, p["aim"], 0.0])
        blend_arms(sc, hand, elbow, out, side)
        twist += (-1.0 if side == 0 else 1.0) * 0.3 * out  # a right punch turns the chest to the left
    sc.spine[:, 0] = twist
    sc.lean[:, 1] = 0.06 * guard
    sc.height[:] = -0.04 * guard
    if p["stance"]:  # step into a boxing stance and back out
        _step_pair(sc, 0 if arms[-1] == 1 else 1, t0 - 0.55, t0 - 0.1, t0 + reps * period + 0.1, (0.0, 0.28))
    return sc


def _step_pair(sc: Score, foot: int, out0: float, out1: float, back0: float, delta: tuple[float, float],
               back_dur: float = 0.45) -> None:
    """Step ``foot`` by ``delta`` (heading frame) between ``out0`` and ``out1`` and back starting ``back0``."""
    w = 0.1 if foot == 0 else -0.1
    sc.steps.append(FootStep(foot, out0 * FPS, out1 * FPS, out1 * FPS, (w + delta[0], delta[1]), 0.0, lift=0.05))
    end = back0 + back_dur
    sc.steps.append(FootStep(foot, back0 * FPS, end * FPS, end * FPS, (w, 0.0), 0.1 * np.sign(w), lift=0.05))


def throw(p: dict, n: int, ctx: Ctx) -> Score:
    """Wind up and throw overhand or underhand, stepping into the throw with the other foot."""
    sc = Score.blank(n)
    side = 0 if p["side"] == "left" else 1
    sign = 1.0 if side == 0 else -1.0
    over = p["style"] == "overhand"
    busy = 2.3
    t0 = centred(n, busy, p["where"]) + 0.1  # wind-up starts
    back, rel, follow = ("throw_back", "throw_release", "throw_follow") if over else (
        "underhand_back", "underhand_release", "forward")
    wind, release = t0 + 0.55, t0 + 0.8
    set_arms(sc, [t0, wind, release, release + 0.3, release + 1.1], ["neutral", back, rel, follow, "neutral"], side)
    set_arms(sc, [t0, wind, release + 0.3, release + 1.1], ["neutral", "forward", "side_low", "neutral"], 1 - side)
    k_t = [t0, wind, release, release + 0.3, release + 1.1]
    sc.spine[:, 0] = ease_keys(k_t, [0, sign * 0.45, -sign * 0.2, -sign * 0.35, 0], n) * p["power"]
    sc.lean[:, 1] = ease_keys(k_t, [0, -0.05, 0.15, 0.25, 0], n) * p["power"]
    sc.lean[:, 0] = ease_keys(k_t, [0, sign * 0.2, -sign * 0.1, -sign * 0.15, 0], n) * p["power"]
    # step forward with the opposite foot into the throw, and back
    _step_pair(sc, 1 - side, wind - 0.3, release - 0.05, release + 0.55, (0.0, 0.3 * p["power"]))
    sc.offset[:, 1] = ease_keys(k_t, [0, -0.03, 0.12, 0.15, 0], n) * p["power"]
    return sc


def raise_arms(p: dict, n: int, ctx: Ctx) -> Score:
    """Raise one or both arms overhead, forward or out to the side, hold, lower."""
    sc = Score.blank(n)
    pose = {"overhead": "overhead", "forward": "forward", "sideways": "side"}[p["style"]]
    up_t, hold = p["up_time"], p["hold"]
    cycle = 2 * up_t + hold
    busy = p["reps"] * cycle + (p["reps"] - 1) * 0.2
    t0 = centred(n, busy, p["where"])
    times, poses = [0.0], ["neutral"]
    for i in range(p["reps"]):
        a = t0 + i * (cycle + 0.2)
        times += [a, a + up_t, a + up_t + hold, a + cycle]
        poses += ["neutral", pose, pose, "neutral"]
    for side in SIDES[p["side"]]:
        set_arms(sc, times, poses, side)
    if p["style"] == "overhead" and p["side"] == "both":
        up = ease_keys(times, [1.0 if q == pose else 0.0 for q in poses], n)
        sc.spine[:, 1] = -0.08 * up  # a little arch
        sc.neck[:, 1] = -0.15 * up  # look up
    return sc


REACH = {  # direction -> (pose, body: spine bend fwd, pelvis pitch, side bend, height, hips back, heel)
    "forward": ("reach_forward", 0.15, 0.15, 0.0, -0.02, -0.03, 0.0),
    "up": ("reach_up", -0.06, 0.0, 0.0, 0.0, 0.0, 0.35),
    "side": ("reach_side", 0.0, 0.0, 0.3, -0.02, 0.0, 0.0),
    "down": ("reach_down", 0.7, 0.55, 0.0, -0.12, -0.1, 0.0),
}


def reach(p: dict, n: int, ctx: Ctx) -> Score:
    """Reach out with one hand forward, up (on the toes), to the side or down (bending over)."""
    sc = Score.blank(n)
    pose, bend, pitch, side_bend, height, back, heel = REACH[p["direction"]]
    side = 0 if p["side"] == "left" else 1
    sign = 1.0 if side == 0 else -1.0
    go, hold = p["go"], p["hold"]
    cycle = 2 * go + hold
    busy = p["reps"] * cycle
    t0 = centred(n, busy, p["where"])
    times, w = [0.0], [0.0]
    for i in range(p["reps"]):
        a = t0 + i * cycle
        times += [a, a + go, a + go + hold, a + cycle]
        w += [0.0, 1.0, 1.0, 0.0]
    c = ease_keys(times, w, n)
    hand, elbow = arm_pose(pose, side)
    blend_arms(sc, hand, elbow, c, side)
    sc.spine[:, 1] = bend * c
    sc.lean[:, 1] = pitch * c
    sc.spine[:, 2] = -sign * side_bend * c  # lean towards the reaching side (+roll bends right)
    sc.spine[:, 0] = sign * 0.12 * c * (p["direction"] == "forward")  # the reaching shoulder comes forward
    sc.height[:] = height * c
    sc.offset[:, 1] = back * c
    sc.heel[:, :] = heel * c[:, None]
    return sc


def stretch(p: dict, n: int, ctx: Ctx) -> Score:
    """Stretch: arms up on the toes, side bends, a forward fold, or the arms pulled back."""
    sc = Score.blank(n)
    style, reps = p["style"], p["reps"]
    t = frames(n)
    if style == "side":
        period = p["period"]
        busy = 0.8 + reps * period
        t0 = centred(n, busy, p["where"]) + 0.4
        up = smoothstep((t - t0 + 0.4) / 0.4) * smoothstep((t0 + reps * period + 0.4 - t) / 0.4)
        set_arms(sc, [t0 - 0.4, t0, t0 + reps * period, t0 + reps * period + 0.4],
                 ["neutral", "overhead", "overhead", "neutral"])
        times, values = [t0], [0.0]
        for i in range(reps):  # bend to one side, then the other
            first = 1.0 if p["first"] == "left" else -1.0
            times += [t0 + (i + 0.25) * period, t0 + (i + 0.5) * period, t0 + (i + 0.75) * period, t0 + (i + 1) * period]
            values += [-first * 0.4, 0.0, first * 0.4, 0.0]
        sc.spine[:, 2] = ease_keys(times, values, n) * up
        sc.lean[:, 2] = 0.3 * sc.spine[:, 2]
        sc.offset[:, 0] = 0.1 * sc.spine[:, 2]  # hips go the other way
        return sc
    hold = p["hold"]
    cycle = 1.6 + hold
    busy = reps * cycle
    t0 = centred(n, busy, p["where"])
    times, w = [0.0], [0.0]
    for i in range(reps):
        a = t0 + i * cycle
        times += [a, a + 0.8, a + 0.8 + hold, a + cycle]
        w += [0.0, 1.0, 1.0, 0.0]
    c = ease_keys(times, w, n)
    if style == "up":  # arms high, up on the toes, a slight arch
        pose, spine, lean, heel, neck = "overhead", -0.12, 0.0, 0.45, -0.2
    elif style == "forward":  # fold down towards the toes
        pose, spine, lean, heel, neck = "reach_down", 0.9, 0.85, 0.0, 0.1
        sc.offset[:, 1] = -0.12 * c
    else:  # "arms": arms out to the side and pulled back, chest open
        pose, spine, lean, heel, neck = "side", -0.1, 0.0, 0.0, -0.05
    for side in (0, 1):
        hand, elbow = arm_pose(pose, side)
        if style == "arms":
            hand = hand + np.array([0.0, 0.05, -0.12])
        blend_arms(sc, hand, elbow, c, side)
    sc.spine[:, 1] = spine * c
    sc.lean[:, 1] = lean * c
    sc.heel[:, :] = heel * c[:, None]
    sc.neck[:, 1] = neck * c
    return sc


def bow(p: dict, n: int, ctx: Ctx) -> Score:
    """Bow from the hips, slightly or deeply, perhaps with a hand on the chest."""
    sc = Score.blank(n)
    depth = p["depth"]
    go, hold = p["go"], p["hold"]
    cycle = 2 * go + hold
    busy = p["reps"] * cycle + (p["reps"] - 1) * 0.2
    t0 = centred(n, busy, p["where"])
    times, w = [0.0], [0.0]
    for i in range(p["reps"]):
        a = t0 + i * (cycle + 0.2)
        times += [a, a + go, a + go + hold, a + cycle]
        w += [0.0, 1.0, 1.0, 0.0]
    c = ease_keys(times, w, n)
    sc.spine[:, 1] = 0.45 * depth * c
    sc.lean[:, 1] = 0.55 * depth * c
    sc.neck[:, 1] = 0.15 * c
    sc.offset[:, 1] = -0.07 * depth * c
    if p["hand"] in ("left", "right"):  # a hand on the chest
        side = 0 if p["hand"] == "left" else 1
        t = frames(n)
        on = smoothstep((t - t0 + 0.3) / 0.4) * smoothstep((times[-1] + 0.4 - t) / 0.4)
        hand, elbow = arm_pose("chest", side)
        blend_arms(sc, hand, elbow, on, side)
    return sc


def look_around(p: dict, n: int, ctx: Ctx) -> Score:
    """Look left and right, turning the head and the chest a little."""
    sc = Score.blank(n)
    k = len(p["looks"])
    busy = 1.2 * k + 0.6
    t0 = centred(n, busy, p["where"])
    times = [0.0, t0] + [t0 + 1.2 * (i + 1) for i in range(k)] + [t0 + 1.2 * k + 0.6]
    yaws = [0.0, 0.0] + [0.9 * s for s in p["looks"]] + [0.0]
    turn = ease_keys(times, yaws, n)
    sc.neck[:, 0] = turn
    sc.spine[:, 0] = 0.35 * turn
    sc.neck[:, 1] = -0.05 * np.abs(turn)
    if p["hands"] == "hips":
        set_arms(sc, [0.0, t0 - 0.1, times[-2], times[-1] + 0.2], ["neutral", "hip", "hip", "neutral"])
    return sc


def dance_sway(p: dict, n: int, ctx: Ctx) -> Score:
    """Sway the hips from side to side with bouncing knees and swaying arms, perhaps stepping."""
    sc = Score.blank(n)
    period, reps = p["period"], p["reps"]
    busy = reps * period + 0.6
    t0 = centred(n, busy, p["where"]) + 0.3
    t1 = t0 + reps * period
    t = frames(n)
    on = smoothstep((t - t0 + 0.3) / 0.3) * smoothstep((t1 + 0.3 - t) / 0.3)
    phase = np.sin(2 * np.pi * (t - t0) / period)
    sc.offset[:, 0] = p["amp"] * phase * on
    sc.height[:] = -(0.03 + 0.04 * np.abs(np.cos(2 * np.pi * (t - t0) / period))) * on  # bounce on each sway
    sc.lean[:, 2] = -0.08 * phase * on
    sc.spine[:, 2] = 0.15 * phase * on
    sc.neck[:, 2] = -0.1 * phase * on
    pose = {"up": "v_up", "low": "side_low", "hips": "hip"}[p["arms"]]
    for side in (0, 1):
        hand, elbow = arm_pose(pose, side)
        sway = np.zeros((n, 3))
        sway[:, 0] = (0.1 if p["arms"] != "hips" else 0.0) * phase
        target = hand + sway
        blend_arms(sc, target, elbow, on, side)
    if p["steps"]:  # step-touch: each foot steps out to its side and back, in time with the sway
        for i in range(reps):
            a = t0 + i * period
            for half, foot in ((0.0, 0), (0.5, 1)):
                s = a + half * period
                w = 0.1 if foot == 0 else -0.1
                out = 0.12 if foot == 0 else -0.12
                sc.steps.append(FootStep(foot, (s - 0.05) * FPS, (s + 0.2) * FPS, (s + 0.2) * FPS, (w + out, 0.0),
                                         0.1 * np.sign(w), lift=0.05))
                sc.steps.append(FootStep(foot, (s + 0.3) * FPS, (s + 0.5) * FPS, (s + 0.5) * FPS, (w, 0.0),
                                         0.1 * np.sign(w), lift=0.05))
    return sc


def busy_seconds(name: str, p: dict) -> float:
    """Seconds a gesture needs for its parameters (the rest of its segment is spent standing)."""
    if name == "wave":
        return 0.9 + p["reps"] / p["freq"]
    if name == "clap":
        return 0.8 + p["reps"] / p["freq"]
    if name == "punch":
        return 1.0 + p["reps"] * p["period"] + (0.6 if p["stance"] else 0.0)
    if name == "throw":
        return 2.3
    if name == "raise_arms":
        return p["reps"] * (2 * p["up_time"] + p["hold"]) + (p["reps"] - 1) * 0.2
    if name == "reach":
        return p["reps"] * (2 * p["go"] + p["hold"])
    if name == "stretch":
        return 0.8 + p["reps"] * p["period"] if p["style"] == "side" else p["reps"] * (1.6 + p["hold"])
    if name == "bow":
        return p["reps"] * (2 * p["go"] + p["hold"]) + (p["reps"] - 1) * 0.2
    if name == "look_around":
        return 1.2 * len(p["looks"]) + 0.6
    if name == "dance_sway":
        return p["reps"] * p["period"] + 0.6
    raise KeyError(name)
