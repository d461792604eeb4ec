"""Actions that move the body over the floor: gaits (automatic stepping) and jumps (explicit flights).

Every builder takes its parameters ``p`` (see :mod:`motionlab.data.synth.actions`), a length ``n`` in
frames and a :class:`~motionlab.data.synth.poses.Ctx`, and returns a :class:`Score`.  Gaits keep stepping
into a neighbouring gait (a walk that turns into a run does not stop in between); otherwise they speed up
from a stand and slow down to one, leaving time for the closing steps.
"""

from __future__ import annotations

import numpy as np

from motionlab.data.synth.animation import FootStep, Score, ballistic, ease_keys, frames, smoothstep
from motionlab.data.synth.poses import Ctx, arm_pose, blend_arms, envelope, set_arms
from motionlab.data.synth.rig import FPS

STOP_TAIL = 1.0  # seconds a stopping gait keeps after its last automatic step (closing steps)
RAMP = 0.6  # seconds to speed up from / slow down to a stand


def _run_window(n: int, ctx: Ctx) -> tuple[float, float]:
    """Start and end (seconds) of the stepping run of a gait action."""
    total = n / FPS
    return (0.0 if ctx.enter_moving else 0.1), (total if ctx.exit_moving else total - STOP_TAIL)


def gait(n: int, ctx: Ctx, *, velocity: tuple[float, float], rate: float, duty: float, lift: float,
         width: float = 0.1, roll: float = 1.0, lean: float = 0.05, swing: float = 0.7, arms: str = "neutral",
         lead: int = 0, height: float = 0.0, yaw_rate: np.ndarray | None = None, toe_out: float = 0.1) -> Score:
    """A stepping action: constant gait settings, speed ramped from/to a stand unless the body keeps moving."""
    sc = Score.blank(n)
    t = frames(n)
    a, b = _run_window(n, ctx)
    env = speed_envelope(n, ctx, float(np.hypot(*velocity)))
    sc.vel[:] = env[:, None] * np.asarray(velocity)
    running = (t >= a) & (t < b)
    sc.step_rate[:] = np.where(running, rate, 0.0)
    sc.duty[:], sc.lift[:], sc.width[:], sc.roll[:], sc.lead[:] = duty, lift, width, roll, lead
    sc.toe_out[:] = toe_out
    sc.arm_swing[:] = swing * env
    sc.lean[:, 1] = lean * env
    sc.height[:] = height * env
    if yaw_rate is not None:
        sc.yaw_rate[:] = yaw_rate
    if arms != "neutral":
        for side in (0, 1):
            hand, elbow = arm_pose(arms, side)
            w = env[:, None]
            blend_arms(sc, hand, elbow, w[:, 0], side)
    return sc


def speed_envelope(n: int, ctx: Ctx, speed: float) -> np.ndarray:
    """(n,) 0..1 speed envelope of a gait: faster gaits take longer to speed up and slow down, and the body
    has stopped a little before the last automatic step so that the closing steps start from rest."""
    a, b = _run_window(n, ctx)
    ramp = RAMP + 0.15 * speed
    return envelope(n, a + ramp, b - 0.3, ramp, ramp, ctx.enter_moving, ctx.exit_moving)


def _turn_profile(n: int, angle: float, start: float, end: float) -> np.ndarray:
    """(n,) turning rate (rad/s) that turns by ``angle`` between ``start`` and ``end`` (seconds), smoothly."""
    t = frames(n)
    dur = max(end - start, 0.2)
    s = np.clip((t - start) / dur, 0, 1)
    rate = 30 * s * s * (1 - s) * (1 - s) / dur  # derivative of smoothstep: integrates to 1
    return angle * rate * ((t >= start) & (t <= end))


# ------------------------------------------------------------------------------------------------- gaits
def walk(p: dict, n: int, ctx: Ctx) -> Score:
    """Walk forward (or turn to a side while setting off), arms swinging against the legs, maybe veering."""
    v = p["v"]
    a, b = _run_window(n, ctx)
    yaw_rate = np.full(n, p["veer"])
    if p["direction"] in ("left", "right"):  # turn towards the side while setting off
        sign = 1.0 if p["direction"] == "left" else -1.0
        yaw_rate = yaw_rate + _turn_profile(n, sign * p["angle"], a, a + 1.2)
    sc = gait(n, ctx, velocity=(0.0, v), rate=1.35 + 0.45 * v, duty=0.6, lift=p["lift"], lean=0.03 + 0.03 * v,
              swing=p["swing"], yaw_rate=yaw_rate, height=-0.015)
    sc.neck[:, 1] = p["gaze"]  # looking ahead or slightly down
    return sc


def jog(p: dict, n: int, ctx: Ctx) -> Score:
    """Jog: a short stance with flight phases, elbows bent, a forward lean."""
    v = p["v"]
    return gait(n, ctx, velocity=(0.0, v), rate=2.3 + 0.2 * v, duty=0.42, lift=0.1, lean=0.1, swing=p["swing"],
                arms="jog", height=-0.04, yaw_rate=np.full(n, p["veer"]), width=0.09)


def run(p: dict, n: int, ctx: Ctx) -> Score:
    """Run: faster, longer flights, more lean and arm swing than a jog."""
    v = p["v"]
    return gait(n, ctx, velocity=(0.0, v), rate=2.5 + 0.17 * v, duty=0.36, lift=0.15, lean=0.16, swing=p["swing"],
                arms="run", height=-0.06, yaw_rate=np.full(n, p["veer"]), width=0.08)


def walk_backwards(p: dict, n: int, ctx: Ctx) -> Score:
    """Walk backwards with flat steps, perhaps looking over a shoulder."""
    v = p["v"]
    sc = gait(n, ctx, velocity=(0.0, -v), rate=1.4 + 0.5 * v, duty=0.62, lift=0.05, roll=0.0, lean=0.06,
              swing=0.35, yaw_rate=np.full(n, p["veer"]), toe_out=0.12)
    sc.neck[:, 0] = p["look_back"] * np.sin(np.pi * np.clip(frames(n) / max(n / FPS, 1e-6), 0, 1)) ** 2
    return sc


def sidestep(p: dict, n: int, ctx: Ctx) -> Score:
    """Step sideways: the foot on the travelling side leads, the other closes in."""
    sign = 1.0 if p["direction"] == "left" else -1.0
    sc = gait(n, ctx, velocity=(sign * p["v"], 0.0), rate=p["rate"], duty=0.66, lift=0.04, width=0.13, roll=0.0,
              lean=0.03, swing=0.0, lead=0 if sign > 0 else 1, arms=p["arms"])
    sc.neck[:, 0] = sign * 0.25 * envelope(n, 0.6, n / FPS - 0.6, 0.5, 0.5)  # looks where it goes
    return sc


def walk_circle(p: dict, n: int, ctx: Ctx) -> Score:
    """Walk around a circle (about one turn), leaning into it and looking inside."""
    sign = 1.0 if p["direction"] == "counterclockwise" else -1.0  # counterclockwise from above = turning left
    v = p["v"]
    env = speed_envelope(n, ctx, v)
    omega = sign * p["turns"] * 2 * np.pi / max(env.sum() / FPS, 1e-6)  # rad/s at full speed
    sc = gait(n, ctx, velocity=(0.0, v), rate=1.35 + 0.45 * v, duty=0.6, lift=0.07, lean=0.05, swing=p["swing"],
              yaw_rate=omega * env, height=-0.015)
    lean_in = -np.arctan(v * omega / 9.81) * 1.5  # into the turn (+roll leans right)
    sc.lean[:, 2] = lean_in * env
    sc.neck[:, 0] = sign * 0.15 * env  # looking into the circle
    return sc


def turn_in_place(p: dict, n: int, ctx: Ctx) -> Score:
    """Turn on the spot by 90 or 180 degrees with small steps, the head leading."""
    sign = 1.0 if p["direction"] == "left" else -1.0
    a, b = _run_window(n, ctx)
    turn = _turn_profile(n, sign * p["angle"], a + 0.1, b - 0.1)
    sc = gait(n, ctx, velocity=(0.0, 0.0), rate=p["rate"], duty=0.62, lift=0.04, roll=0.0, lean=0.02, swing=0.15,
              lead=0 if sign > 0 else 1, yaw_rate=turn)
    sc.neck[:, 0] = 0.25 * turn / max(np.abs(turn).max(), 1e-6)  # the head leads the turn
    return sc


def spin(p: dict, n: int, ctx: Ctx) -> Score:
    """Spin around once or twice with quick small steps, the chest leading."""
    sign = 1.0 if p["direction"] == "left" else -1.0
    a, b = _run_window(n, ctx)
    turn = _turn_profile(n, sign * p["angle"], a + 0.05, b - 0.05)
    sc = gait(n, ctx, velocity=(0.0, 0.0), rate=2.9, duty=0.55, lift=0.05, roll=0.0, lean=0.0, swing=0.0,
              lead=0 if sign > 0 else 1, yaw_rate=turn, width=0.08, arms=p["arms"])
    sc.spine[:, 0] = sign * 0.2 * np.abs(turn) / max(np.abs(turn).max(), 1e-6)  # the chest leads the turn
    return sc


def march_in_place(p: dict, n: int, ctx: Ctx) -> Score:
    """March on the spot, lifting the knees, arms swinging."""
    return gait(n, ctx, velocity=(0.0, 0.0), rate=p["rate"], duty=0.6, lift=p["lift"], roll=0.0, lean=0.0,
                swing=p["swing"], width=0.1)


# ------------------------------------------------------------------------------------------------- jumps
def jumps(sc: Score, takeoffs: list[float], tau: float, distance: float, *, widths: list[float] | None = None,
          crouch: float = 0.18, tuck: float = 0.07, arms: bool = True, feet: tuple[int, ...] = (0, 1),
          heel: float = 0.6) -> None:
    """Write two-footed (or one-footed, ``feet``) jumps into ``sc``: a crouch, a push off the toes, a free
    flight of ``tau`` seconds (peak g tau^2/8), a landing that absorbs, ``distance`` metres forward each."""
    n = sc.n
    t = frames(n)
    v = distance / (tau + 0.125) if distance else 0.0
    keys_t, keys_h, keys_lean = [0.0], [0.0], [0.0]
    for i, t0 in enumerate(takeoffs):
        t1 = t0 + tau
        sc.flight += ballistic(n, t0, t1)
        if v:
            sc.vel[:, 1] += v * smoothstep((t - t0 + 0.15) / 0.15) * smoothstep((t1 + 0.1 - t) / 0.1)
        prep = t0 - 0.3 if i == 0 else max(t0 - 0.3, takeoffs[i - 1] + tau + 0.05)
        keys_t += [prep, t0 - 0.12, t0, t1, t1 + 0.12]
        keys_h += [0.0 if i == 0 else -crouch * 0.6, -crouch, 0.02, 0.02, -crouch * 0.8]
        keys_lean += [0.0 if i == 0 else 0.2, 0.3 + 0.2 * bool(distance), 0.12, 0.1, 0.25]
        rise = (t > t0 - 0.14) & (t <= t0)
        for f in feet:
            sc.heel[:, f] += np.where(rise, heel * smoothstep((t - t0 + 0.14) / 0.14), 0.0)
            w = (widths[i] if widths else 0.1) * (1.0 if f == 0 else -1.0)
            sc.steps.append(FootStep(f, t0 * FPS, t1 * FPS, t1 * FPS + 3, (w, 0.0), 0.1 * np.sign(w), lift=tuck,
                                     ride=True))
    end = takeoffs[-1] + tau
    keys_t += [end + 0.45]
    keys_h += [0.0]
    keys_lean += [0.0]
    order = np.argsort(keys_t, kind="stable")
    sc.height += ease_keys(np.array(keys_t)[order], np.array(keys_h)[order], n)
    sc.lean[:, 1] += ease_keys(np.array(keys_t)[order], np.array(keys_lean)[order], n)
    if arms:  # swing back in the crouch, forward and up through the take-off, down on landing
        times, poses = [0.0, max(takeoffs[0] - 0.65, 0.05), takeoffs[0] - 0.2], ["neutral", "neutral", "swing_back"]
        for t0 in takeoffs:
            times += [t0 + 0.2, t0 + tau + 0.1]
            poses += ["forward", "neutral"]
        times[-1] += 0.2
        set_arms(sc, times, poses)


def jump_forward(p: dict, n: int, ctx: Ctx) -> Score:
    """One or more two-footed jumps forward."""
    sc = Score.blank(n)
    starts = _jump_times(p, n)
    jumps(sc, starts, p["tau"], p["distance"], crouch=p["crouch"])
    return sc


def jump_in_place(p: dict, n: int, ctx: Ctx) -> Score:
    """One or more two-footed jumps on the spot, rebounding between them."""
    sc = Score.blank(n)
    starts = _jump_times(p, n)
    jumps(sc, starts, p["tau"], 0.0, crouch=p["crouch"], tuck=p["tuck"])
    return sc


def _jump_times(p: dict, n: int) -> list[float]:
    """Take-off times (s): the first after a lead-in and a crouch, the rest after rebounds, centred."""
    reps, tau, gap = p["reps"], p["tau"], p["gap"]
    busy = 0.45 + reps * tau + (reps - 1) * gap + 0.6
    lead = max((n / FPS - busy) / 2, 0.1) + 0.45
    return [lead + i * (tau + gap) for i in range(reps)]


def hop(p: dict, n: int, ctx: Ctx) -> Score:
    """Hop on one foot (``side``) with the other foot held up behind."""
    sc = Score.blank(n)
    stance = 0 if p["side"] == "left" else 1
    free = 1 - stance
    sign = 1.0 if stance == 0 else -1.0
    starts = _jump_times(p, n)
    t_end = starts[-1] + p["tau"] + 0.45
    lift_at, drop_at = max(starts[0] - 0.55, 0.05), min(t_end + 0.1, n / FPS - 0.35)
    # shift the weight over the standing foot, then lift the other foot and hold it up behind
    t = frames(n)
    shift = smoothstep((t - lift_at + 0.3) / 0.3) * smoothstep((drop_at + 0.3 - t) / 0.3)
    sc.offset[:, 0] = sign * 0.06 * shift
    sc.lean[:, 2] = -sign * 0.06 * shift
    m = 41
    s = np.linspace(0, 1, m)
    up = smoothstep(s / 0.2) * smoothstep((1 - s) / 0.2)
    path = np.stack([np.zeros(m), p["knee"] * up, -0.18 * up], -1)
    sc.steps.append(FootStep(free, lift_at * FPS, drop_at * FPS, drop_at * FPS + 2, (-sign * 0.1, 0.0), 0.0,
                             lift=0.0, path=path, attach=True))
    jumps(sc, starts, p["tau"], p["distance"], crouch=0.12, tuck=0.04, arms=False, feet=(stance,), heel=0.4)
    for st in sc.steps:  # the hopping foot lands under the body, inside its usual place
        if st.foot == stance and st.ride:
            st.local = (sign * 0.06, 0.0)
    arms = "side_low" if p["arms"] == "out" else "neutral"
    set_arms(sc, [lift_at - 0.2, lift_at + 0.3, drop_at, drop_at + 0.4], ["neutral", arms, arms, "neutral"])
    return sc


def jumping_jacks(p: dict, n: int, ctx: Ctx) -> Score:
    """Jumping jacks: jump the feet apart with the arms overhead, then back together."""
    sc = Score.blank(n)
    reps, tau = p["reps"], p["tau"]
    count = 2 * reps
    p2 = dict(p, reps=count)
    starts = _jump_times(p2, n)
    widths = [0.3 if i % 2 == 0 else 0.1 for i in range(count)]
    jumps(sc, starts, tau, 0.0, widths=widths, crouch=0.08, tuck=0.03, arms=False, heel=0.45)
    times, poses = [0.0, starts[0] - 0.1], ["neutral", "neutral"]
    for i, t0 in enumerate(starts):
        out = i % 2 == 0
        times += [t0 + tau / 2, t0 + tau + 0.05]
        poses += ["side", "overhead" if out else "neutral"]
    set_arms(sc, times, poses)
    return sc
