"""Lower-body actions: kicks, squats, lunges, kneeling, sitting down and standing up.

The legs follow from where the feet are and where the pelvis goes: a squat lowers and pushes back the
pelvis over planted feet, a lunge steps one foot forward and sinks between the feet, kneeling steps one
foot back onto its toes and lowers the pelvis until that knee is just above the floor.
"""

from __future__ import annotations

import numpy as np

from motionlab.data.synth.animation import FootStep, Score, ease_keys, frames, smoothstep
from motionlab.data.synth.poses import Ctx, arm_pose, blend_arms, centred, set_arms
from motionlab.data.synth.rig import FPS, REST_OFFSETS, SHIN, STAND_HEIGHT, THIGH

KNEEL_KNEE = 0.07  # height of the kneeling knee joint above the floor, m
KNEEL_TOE_PITCH = 1.0  # the kneeling foot stands on its toes, rad


def _kneel_geometry() -> tuple[float, float]:
    """(pelvis height offset, how far behind the hip the kneeling foot's flat-foot anchor goes)."""
    foot = REST_OFFSETS[10]
    # toes on the floor, foot pitched KNEEL_TOE_PITCH: ankle height and its distance behind the toe
    c, s = np.cos(KNEEL_TOE_PITCH), np.sin(KNEEL_TOE_PITCH)
    tilted = np.array([0.0, c * foot[1] - s * foot[2], s * foot[1] + c * foot[2]])
    ankle_y = -tilted[1]
    shin_dz = np.sqrt(SHIN**2 - (ankle_y - KNEEL_KNEE) ** 2)  # knee in front of the ankle
    hip_y = KNEEL_KNEE + THIGH * np.cos(0.15)  # thigh nearly upright
    pelvis = hip_y - REST_OFFSETS[1][1]
    anchor_back = shin_dz + (foot[2] - tilted[2]) - THIGH * np.sin(0.15)  # flat-foot anchor behind the hip
    return pelvis - STAND_HEIGHT, anchor_back


KNEEL_HEIGHT, KNEEL_BACK = _kneel_geometry()


def kick(p: dict, n: int, ctx: Ctx) -> Score:
    """Kick forward or to the side with one leg, the weight over the other foot."""
    sc = Score.blank(n)
    foot = 0 if p["side"] == "left" else 1
    sign = 1.0 if foot == 0 else -1.0
    dur = p["dur"]
    busy = 0.5 + p["reps"] * (dur + 0.15) + 0.4
    t0 = centred(n, busy, p["where"]) + 0.5
    t = frames(n)
    end = t0 + p["reps"] * (dur + 0.15) - 0.15
    weight = smoothstep((t - t0 + 0.45) / 0.4) * smoothstep((end + 0.45 - t) / 0.4)
    sc.offset[:, 0] = -sign * 0.07 * weight  # weight over the standing foot
    sc.lean[:, 2] = sign * 0.05 * weight
    h = p["height"]
    m = 9
    s = np.linspace(0, 1, m)
    if p["style"] == "front":
        keys = np.array([[0, 0, 0], [0, 0.22, 0.12], [0, 0.12 + 0.33 * h, 0.3 + 0.3 * h], [0, 0.22, 0.12], [0, 0, 0]])
        pitch = np.array([0.0, 0.3, 0.8, 0.3, 0.0])
    else:
        keys = np.array([[0, 0, 0], [sign * 0.05, 0.28, 0.12], [sign * (0.25 + 0.25 * h), 0.1 + 0.35 * h, 0.05],
                         [sign * 0.05, 0.28, 0.12], [0, 0, 0]])
        pitch = np.array([0.0, 0.2, 0.4, 0.2, 0.0])
    path = np.stack([np.interp(s, np.linspace(0, 1, 5), keys[:, c]) for c in range(3)], -1)
    lean_keys_t, lean_keys = [0.0], [0.0]
    for i in range(p["reps"]):
        a = t0 + i * (dur + 0.15)
        sc.steps.append(FootStep(foot, a * FPS, (a + dur) * FPS, (a + dur) * FPS, (sign * 0.1, 0.0), sign * 0.1,
                                 lift=0.0, path=path, pitch=pitch))
        lean_keys_t += [a, a + dur / 2, a + dur]
        lean_keys += [0.0, 1.0, 0.0]
    ext = ease_keys(lean_keys_t, lean_keys, n)
    if p["style"] == "front":
        sc.lean[:, 1] = -0.12 * h * ext
    else:
        sc.lean[:, 2] += sign * 0.25 * h * ext  # lean away from a side kick
    arms = "guard" if p["arms"] == "guard" else "side_low"
    set_arms(sc, [t0 - 0.5, t0 - 0.1, end, end + 0.45], ["neutral", arms, arms, "neutral"])
    return sc


def squat(p: dict, n: int, ctx: Ctx) -> Score:
    """Squat down and up again, hips back, trunk forward, feet apart."""
    sc = Score.blank(n)
    down, hold, up = p["down"], p["hold"], p["up"]
    cycle = down + hold + up
    busy = p["reps"] * cycle + (p["reps"] - 1) * p["rest"]
    t0 = centred(n, busy, p["where"])
    times, w = [0.0], [0.0]
    for i in range(p["reps"]):
        a = t0 + i * (cycle + p["rest"])
        times += [a, a + down, a + down + hold, a + cycle]
        w += [0.0, 1.0, 1.0, 0.0]
    c = ease_keys(times, w, n)
    sc.height[:] = -p["depth"] * c
    sc.offset[:, 1] = -0.14 * c
    sc.lean[:, 1] = 0.5 * c
    sc.spine[:, 1] = 0.12 * c
    sc.neck[:, 1] = -0.35 * c  # keep looking ahead
    if p["arms"] != "neutral":
        for side in (0, 1):
            hand, elbow = arm_pose(p["arms"], side)
            blend_arms(sc, hand, elbow, c, side)
    # feet a little apart first (and back together at the end)
    t_first, t_last = times[1], times[-1]
    for foot, sign in ((0, 1.0), (1, -1.0)):
        a = max(t_first - 0.5, 0.05) + 0.25 * foot
        b = min(t_last + 0.1 + 0.25 * foot, n / FPS - 0.45)
        sc.steps.append(FootStep(foot, a * FPS, (a + 0.3) * FPS, (a + 0.3) * FPS, (sign * 0.16, 0.0), sign * 0.2,
                                 lift=0.04))
        sc.steps.append(FootStep(foot, b * FPS, (b + 0.3) * FPS, (b + 0.3) * FPS, (sign * 0.1, 0.0), sign * 0.1,
                                 lift=0.04))
    return sc


def lunge(p: dict, n: int, ctx: Ctx) -> Score:
    """Step forward into a lunge, sink, rise and step back."""
    sc = Score.blank(n)
    front = 0 if p["side"] == "left" else 1
    sign = 1.0 if front == 0 else -1.0
    step, down, hold = 0.45, p["down"], p["hold"]
    cycle = 2 * step + 2 * down + hold
    busy = p["reps"] * cycle
    t0 = centred(n, busy, p["where"])
    t = frames(n)
    times, w = [0.0], [0.0]
    for i in range(p["reps"]):
        a = t0 + i * cycle
        land = a + step
        sc.steps.append(FootStep(front, a * FPS, land * FPS, land * FPS + 1, (sign * 0.11, p["length"]), sign * 0.05,
                                 lift=0.06))
        times += [land, land + down, land + down + hold, land + 2 * down]
        w += [0.0, 1.0, 1.0, 0.0]
        back = land + 2 * down
        # the pelvis goes forward over the stance while sinking: reference the return step to the root
        sc.steps.append(FootStep(front, back * FPS, (back + step) * FPS, (back + step) * FPS + 1, (sign * 0.1, 0.0),
                                 sign * 0.1, lift=0.06))
    c = ease_keys(times, w, n)
    # pelvis over the middle of the stance while the front foot is out
    out = np.zeros(n)
    for i in range(p["reps"]):
        a = t0 + i * cycle
        out = np.maximum(out, smoothstep((t - a) / step) * smoothstep((a + cycle - t) / step))
    sc.offset[:, 1] = p["length"] * (0.25 * out + 0.2 * c)
    sc.height[:] = -p["depth"] * c
    sc.heel[:, 1 - front] = 0.7 * c + 0.2 * out
    sc.lean[:, 1] = 0.05 * c
    if p["arms"] == "hips":
        set_arms(sc, [t0 - 0.3, t0 + 0.2, t0 + busy - 0.2, t0 + busy + 0.3], ["neutral", "hip", "hip", "neutral"])
    return sc


def kneel(p: dict, n: int, ctx: Ctx) -> Score:
    """Kneel on one knee (``side``), hold, and stand back up (unless ``stay``: the motion ends kneeling)."""
    sc = Score.blank(n)
    knee = 0 if p["side"] == "left" else 1
    sign = 1.0 if knee == 0 else -1.0
    step, down, hold = 0.5, p["down"], p["hold"]
    stay = p["stay"]
    busy = step + down + hold + (0.0 if stay else down + step)
    t0 = centred(n, busy, p["where"] if not stay else 0.3)
    land = t0 + step
    low = land + down
    rise = low + hold
    back = 0.12  # the pelvis moves back so the front shin stands upright
    sc.steps.append(FootStep(knee, t0 * FPS, land * FPS, land * FPS, (sign * 0.1, -KNEEL_BACK - back), 0.0, lift=0.05))
    times, w = [0.0, land - 0.1, low], [0.0, 0.0, 1.0]
    if not stay:
        up_end = rise + down
        times += [rise, up_end]
        w += [1.0, 0.0]
        sc.steps.append(FootStep(knee, up_end * FPS, (up_end + step) * FPS, (up_end + step) * FPS,
                                 (sign * 0.1, 0.0), sign * 0.1, lift=0.05))
    c = ease_keys(times, w, n)
    t = frames(n)
    toes = np.clip((t - land + 0.1) / 0.25, 0, 1) if stay else ease_keys(
        [0.0, land - 0.25, land, rise + down, rise + down + 0.2], [0.0, 0.0, 1.0, 1.0, 0.0], n)
    sc.heel[:, knee] = KNEEL_TOE_PITCH * smoothstep(toes)
    sc.height[:] = KNEEL_HEIGHT * c
    sc.offset[:, 1] = -back * c
    sc.lean[:, 1] = 0.5 * c * (1 - c) + 0.05 * c  # lean forward on the way down and up
    if p["hand"] == "knee":
        side = 1 - knee
        hand, elbow = arm_pose("knee", side)
        blend_arms(sc, hand, elbow, c, side)
    return sc


def sit_down(p: dict, n: int, ctx: Ctx) -> Score:
    """Sit down on a seat that is not drawn, hold, and stand up again (unless ``stay``)."""
    sc = Score.blank(n)
    down, hold = p["down"], p["hold"]
    stay = p["stay"]
    busy = down + hold + (0.0 if stay else p["up"])
    t0 = centred(n, busy, p["where"] if not stay else 0.3)
    seat = t0 + down
    rise = seat + hold
    times, w = [0.0, t0, seat], [0.0, 0.0, 1.0]
    lean_t, lean_v = [0.0, t0, t0 + 0.55 * down, seat + 0.3], [0.0, 0.0, 0.55, 0.12]
    if not stay:
        end = rise + p["up"]
        times += [rise, end]
        w += [1.0, 0.0]
        lean_t += [rise, rise + 0.4 * p["up"], end]
        lean_v += [0.12, 0.6, 0.0]
    c = ease_keys(times, w, n)
    sc.height[:] = -p["drop"] * c
    sc.offset[:, 1] = -0.3 * c
    sc.lean[:, 1] = ease_keys(lean_t, lean_v, n)
    sc.neck[:, 1] = -0.3 * sc.lean[:, 1]
    if p["hands"] == "lap":
        seated = smoothstep((c - 0.5) / 0.5)
        for side in (0, 1):
            hand, elbow = arm_pose("lap", side)
            blend_arms(sc, hand, elbow, seated, side)
    return sc
