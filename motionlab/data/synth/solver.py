"""From a :class:`~motionlab.data.synth.animation.Score` to joint rotations and positions.

The order of work, all vectorised over frames:

1. **Root path.**  Integrate the turning rate into a heading and the velocity (heading frame) into a
   ground path; add the non-integrated offset.  The pelvis rotation is heading x lean.
2. **Footsteps.**  Stepping runs (``step_rate`` > 0) place a step at every whole cycle of the gait phase:
   the foot lands where the hip will be 40% into its stance, so the stance foot stays put while the body
   passes over it (the cadence rises if the body would travel too far over one foot); when the run ends,
   closing steps bring the feet side by side.  Actions add their own steps (lunges, kicks, jumps).
3. **Foot tracks.**  A planted foot does not move (the heel rises about the toe before lift-off, the toes
   come down after heel strike); a swinging foot follows a minimum-jerk path with a lift.
4. **Pelvis height.**  The requested height, lowered where a planted leg could not reach its foot.
5. **Legs and arms** by two-bone IK; spine and neck from angles; arms swing against the legs.
6. **Forward kinematics** on the template skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, minimum_filter1d

from motionlab.data.skeleton import T2M
from motionlab.data.synth.animation import FootStep, Score, smoothstep
from motionlab.data.synth.rig import (
    ARMS, FPS, HEAD, L_HIP, LEGS, N_JOINTS, NECK, PELVIS, R_HIP, REST_OFFSETS,
    SPINE1, SPINE2, SPINE3, STAND_HEIGHT, apply, euler_matrix, frame_matrix,
    quat_from_matrix, rot, two_bone_ik, unit,
)

T2M_PARENTS = T2M.parents
BONE = T2M.bone_lengths  # the template's, left and right differ by a few millimetres
FOOT = REST_OFFSETS[[LEGS[0][3], LEGS[1][3]]]  # (2, 3) ankle -> toe of a flat foot, per side
ANKLE_HEIGHT = -FOOT[:, 1]  # ankle above the floor when the foot is flat on it
LEG_LENGTH = np.array([BONE[LEGS[f][1]] + BONE[LEGS[f][2]] for f in (0, 1)])
UP = np.array([0.0, 1.0, 0.0])
SIDE = np.array([1.0, -1.0])  # the left foot/hand is on +x

LEG_REACH = 0.9985  # fraction of the leg length a planted leg may stretch to (about 6 degrees of knee bend)
SPINE_SHARE = (0.3, 0.35, 0.35)  # how a spine bend is spread over spine1..spine3
HEEL_RISE = 0.3  # seconds before lift-off the heel starts rising (rolling steps)
TOE_OFF = 0.45  # foot pitch at lift-off of a rolling step, rad (toes down)
HEEL_STRIKE = 0.25  # toes-up pitch at heel strike, rad
CLOSE_SECONDS = 0.4  # duration of a closing step
STANCE_REF = 0.4  # a foot lands under where the hip will be this far into the stance
STANCE_TRAVEL = 0.8  # m the body may travel over one planted foot


@dataclass
class Rendered:
    """A solved motion: joints ``(n, 22, 3)``, global joint rotations, root ``(n, 3)`` and what the
    tests check it against: foot contact flags ``(n, 2)`` and the IK miss of each ankle ``(n, 2)`` (m)."""

    joints: np.ndarray
    globals_: np.ndarray  # (n, 22, 3, 3) global rotation of every joint
    root: np.ndarray
    contact: np.ndarray
    ankle_miss: np.ndarray
    steps: list[FootStep]


# ---------------------------------------------------------------------------------------------- root path
def root_path(score: Score) -> tuple[np.ndarray, np.ndarray]:
    """Heading ``(n,)`` (rad) and ground position ``(n, 2)`` (x, z) of the root."""
    yaw = np.concatenate([[0.0], np.cumsum(score.yaw_rate[:-1])]) / FPS
    c, s = np.cos(yaw), np.sin(yaw)
    vx = c * score.vel[:, 0] + s * score.vel[:, 1]  # R_y(yaw) applied to (x, z)
    vz = -s * score.vel[:, 0] + c * score.vel[:, 1]
    pos = np.stack([np.concatenate([[0.0], np.cumsum(vx[:-1])]), np.concatenate([[0.0], np.cumsum(vz[:-1])])], -1)
    pos = pos / FPS
    ox, oz = score.offset[:, 0], score.offset[:, 1]
    pos = pos + np.stack([c * ox + s * oz, -s * ox + c * oz], -1)
    return yaw, pos


def _to_world(yaw: float, local: np.ndarray) -> np.ndarray:
    """Heading-frame (x, z) -> world (x, z) for one heading."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([c * local[0] + s * local[1], -s * local[0] + c * local[1]])


# ---------------------------------------------------------------------------------------------- stepping
def gait_steps(score: Score, yaw: np.ndarray, pos: np.ndarray, explicit: list[FootStep]) -> list[FootStep]:
    """Automatic steps of every stepping run, plus closing steps that bring the feet together after it."""
    n = score.n
    active = score.step_rate > 1e-3
    steps: list[FootStep] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    side = SIDE
    # cadence: at least fast enough that the body travels at most STANCE_TRAVEL over one planted foot
    # (v * stance time = v * duty * 2 / rate), which matters while a run slows down to a walk
    speed = np.linalg.norm(score.vel, axis=-1)
    step_rate = np.where(active, np.maximum(score.step_rate, 2 * speed * score.duty / STANCE_TRAVEL), 0.0)
    for a, b in zip(edges[0::2], edges[1::2]):
        rate = step_rate[a:b]
        phase = np.cumsum(rate) / FPS  # steps taken since a
        lands = np.flatnonzero(np.floor(phase[1:]) > np.floor(phase[:-1])) + 1 + a
        swings = (1 - score.duty[lands]) * 2 / step_rate[lands] * FPS  # frames in the air
        feet = (int(round(score.lead[a])) + np.arange(len(lands))) % 2
        lifts = np.maximum(lands - swings, float(a))
        earlier = [*explicit, *steps]  # a foot lifts only after it landed (also from steps planned before)
        for f in (0, 1):
            done = max((st.t1 for st in earlier if st.foot == f and st.t0 < a + 1), default=-np.inf)
            first = np.flatnonzero(feet == f)[:1]
            if first.size:
                lifts[first[0]] = max(lifts[first[0]], done + 2.0)
        for i in range(2, len(lands)):
            lifts[i] = max(lifts[i], lands[i - 2] + 2.0)
        run_steps = []
        for i, t1 in enumerate(lands):
            if t1 - lifts[i] < 3:
                continue
            # the stance lasts until this foot lifts again: land under where the hip will be early in it
            stance = (lifts[i + 2] - t1) if i + 2 < len(lands) else score.duty[t1] * 2 / step_rate[t1] * FPS
            ref = t1 + STANCE_REF * stance
            k = int(min(round(ref), n - 1))
            f = int(feet[i])
            run_steps.append(FootStep(f, float(lifts[i]), float(t1), ref, (side[f] * score.width[k], 0.0),
                                      side[f] * score.toe_out[k], lift=float(score.lift[t1]),
                                      roll_off=bool(score.roll[t1] > 0.5)))
        steps.extend(run_steps)
        steps.extend(_closing_steps(score, yaw, pos, [*explicit, *steps], b))
    return steps


def _closing_steps(score: Score, yaw: np.ndarray, pos: np.ndarray, planned: list[FootStep], b: int
                   ) -> list[FootStep]:
    """Steps after frame ``b`` that put each foot back beside the other under the root (skipped when a
    foot is already within 3 cm and 0.1 rad of that place)."""
    n = score.n
    ref = min(b + int(CLOSE_SECONDS * FPS), n - 1)
    side = SIDE
    last = {f: max((s for s in planned if s.foot == f and s.t1 <= b + 1), key=lambda s: s.t1, default=None)
            for f in (0, 1)}
    order = sorted((0, 1), key=lambda f: -1.0 if last[f] is None else last[f].t1)  # the older stance first
    out, t_free = [], float(b)
    for f in order:
        target = pos[ref] + _to_world(yaw[ref], np.array([side[f] * score.width[ref], 0.0]))
        prev = last[f]
        if prev is None:
            here, here_yaw = pos[0] + _to_world(yaw[0], np.array([side[f] * score.width[0], 0.0])), yaw[0]
        else:
            k = int(min(round(prev.ref), n - 1))
            here = pos[k] + _to_world(yaw[k], np.asarray(prev.local))
            here_yaw = yaw[k] + prev.yaw
        if np.linalg.norm(here - target) < 0.03 and abs(here_yaw - yaw[ref] - side[f] * score.toe_out[ref]) < 0.1:
            continue
        t0 = max(t_free, (prev.t1 + 2.0) if prev is not None else 0.0)
        t1 = t0 + CLOSE_SECONDS * FPS
        if t1 > n - 2:
            continue
        out.append(FootStep(f, t0, t1, float(ref), (side[f] * score.width[ref], 0.0), side[f] * score.toe_out[ref],
                            lift=0.05))
        t_free = t1 + 1.0
    return out


# ------------------------------------------------------------------------------------------- foot tracks
def _foot_pose(anchor: np.ndarray, yaw: np.ndarray, pitch: np.ndarray, foot: int) -> np.ndarray:
    """Ankle positions ``(m, 3)`` of feet whose flat-foot ankle would be at ``anchor`` ``(m, 3)``: a toes-down
    pitch pivots about the toe (the toe stays on the floor), a toes-up pitch about the ankle."""
    flat = apply(rot(1, yaw), FOOT[foot])  # (m, 3) ankle -> toe of the flat foot
    tilted = apply(foot_matrix(yaw, pitch), FOOT[foot])
    return anchor + np.where((pitch > 0)[:, None], flat - tilted, 0.0)


def foot_matrix(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Global rotation of a foot turned by ``yaw`` and pitched by ``pitch`` (+ = toes down)."""
    return rot(1, yaw) @ rot(0, pitch)


def foot_tracks(steps: list[FootStep], score: Score, yaw: np.ndarray, pos: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per foot and frame: ankle target ``(n, 2, 3)``, foot yaw and pitch ``(n, 2)``, contact ``(n, 2)``.

    Frame t is in the swing of a step when t0 < t < t1; otherwise the foot is planted where it last landed.
    """
    n = score.n
    t = np.arange(n, dtype=np.float64)
    ankle = np.zeros((n, 2, 3))
    fyaw = np.zeros((n, 2))
    pitch = np.zeros((n, 2))
    contact = np.ones((n, 2))
    for f in (0, 1):
        own = sorted((s for s in steps if s.foot == f), key=lambda s: s.t0)
        start = pos[0] + _to_world(yaw[0], np.array([SIDE[f] * score.width[0], 0.0]))
        anchors = [(start[0], start[1], yaw[0] + SIDE[f] * score.toe_out[0])]
        for st in own:
            k = int(np.clip(round(st.ref), 0, n - 1))
            land = pos[k] + _to_world(yaw[k], np.asarray(st.local, dtype=np.float64))
            anchors.append((land[0], land[1], yaw[k] + st.yaw))
        a = np.array(anchors)  # (K+1, 3): x, z, yaw
        anchor_pos = np.stack([a[:, 0], np.full(len(a), ANKLE_HEIGHT[f]), a[:, 1]], -1)  # (K+1, 3)
        if not own:
            ankle[:, f], fyaw[:, f] = anchor_pos[0], a[0, 2]
            continue
        t0 = np.array([s.t0 for s in own])
        t1 = np.array([s.t1 for s in own])
        roll = np.array([s.roll_off for s in own])
        landed = np.searchsorted(t1, t, side="right")  # steps finished at or before t
        started = np.searchsorted(t0, t, side="left")  # steps lifted off before t
        swing = started > landed
        # planted: where it last landed; the heel rises before a rolling lift-off, the toes come down after
        # a heel strike, and actions may raise the heel (lunges, kneeling, pushing off for a jump)
        ankle[:, f] = anchor_pos[landed]
        fyaw[:, f] = a[landed, 2]
        prev = np.maximum(landed - 1, 0)
        strike = (landed > 0) & roll[prev] & (t < t1[prev] + 3)
        planted_pitch = np.where(strike, -HEEL_STRIKE * (1 - smoothstep((t - t1[prev] + 1) / 3)), 0.0)
        nxt = np.minimum(started, len(own) - 1)
        # the heel rises over HEEL_RISE, or over the second half of a short stance (running)
        stance = t0 - np.concatenate([[-np.inf], t1[:-1]])
        rise_len = np.minimum(HEEL_RISE * FPS, 0.5 * stance)[nxt]
        rise = (started < len(own)) & roll[nxt] & (t > t0[nxt] - rise_len)
        planted_pitch = np.where(rise, TOE_OFF * smoothstep((t - t0[nxt]) / rise_len + 1), planted_pitch)
        planted_pitch = planted_pitch + score.heel[:, f]
        pitch[:, f] = planted_pitch
        # swinging: minimum-jerk path from the lift-off pose to the landing pose, lifted
        if swing.any():
            k = started[swing] - 1
            s = (t[swing] - t0[k]) / (t1[k] - t0[k])
            e = smoothstep(s)
            p0 = planted_pitch[np.clip(np.floor(t0).astype(int), 0, n - 1)]  # (K,) pitch at lift-off
            p1 = np.where(roll, -HEEL_STRIKE, planted_pitch[np.clip(np.ceil(t1).astype(int), 0, n - 1)])
            lift_off = _foot_pose(anchor_pos[:-1], a[:-1, 2], p0, f)  # (K, 3)
            touch_down = _foot_pose(anchor_pos[1:], a[1:, 2], p1, f)
            path = lift_off[k] * (1 - e)[:, None] + touch_down[k] * e[:, None]
            lifts = np.array([st.lift for st in own])
            rides = np.array([st.ride for st in own])
            path[:, 1] += lifts[k] * np.sin(np.pi * s) ** 2 + np.where(rides[k], score.flight[swing], 0.0)
            sw_yaw = a[k, 2] * (1 - e) + a[k + 1, 2] * e
            sw_pitch = p0[k] * (1 - e) + p1[k] * e
            for i, st in enumerate(own):  # custom paths (kicks, a leg held up) and pitch curves
                if st.path is None and st.pitch is None and not st.attach:
                    continue
                mine = k == i
                si = s[mine]
                if st.attach:  # follow the root's own path rather than a straight line between the spots
                    i0, i1 = int(np.clip(np.floor(st.t0), 0, n - 1)), int(np.clip(np.ceil(st.t1), 0, n - 1))
                    ei = e[mine][:, None]
                    drift = pos[swing][mine] - (pos[i0] * (1 - ei) + pos[i1] * ei)
                    path[mine, 0] += drift[:, 0]
                    path[mine, 2] += drift[:, 1]
                if st.path is not None:
                    grid = np.linspace(0, 1, len(st.path))
                    extra = np.stack([np.interp(si, grid, st.path[:, c]) for c in range(3)], -1)
                    path[mine] += apply(rot(1, yaw[swing][mine]), extra)
                if st.pitch is not None:
                    sw_pitch[mine] = np.interp(si, np.linspace(0, 1, len(st.pitch)), st.pitch)
            ankle[swing, f] = path
            fyaw[swing, f] = sw_yaw
            pitch[swing, f] = sw_pitch
            contact[swing, f] = 0.0
        planted = ~swing & (pitch[:, f] != 0)
        ankle[planted, f] = _foot_pose(ankle[planted, f], fyaw[planted, f], pitch[planted, f], f)
    return ankle, fyaw, pitch, contact


# ------------------------------------------------------------------------------------------------- solve
def _softmin(values: np.ndarray, tau: float) -> np.ndarray:
    """Smooth minimum over the last axis, never above the true minimum."""
    low = values.min(-1, keepdims=True)
    return low[..., 0] - tau * np.log(np.exp(-(values - low) / tau).sum(-1))


def solve(score: Score) -> Rendered:
    """Animate a score: global joint rotations and positions, and everything the checks need."""
    n = score.n
    yaw, pos = root_path(score)
    g = np.zeros((n, N_JOINTS, 3, 3))  # global rotation of every joint
    p = np.zeros((n, N_JOINTS, 3))  # joint positions
    g[:, PELVIS] = rot(1, yaw) @ euler_matrix(score.lean[:, 0], score.lean[:, 1], score.lean[:, 2])

    steps = list(score.steps)
    steps += gait_steps(score, yaw, pos, steps)
    ankle, fyaw, fpitch, contact = foot_tracks(steps, score, yaw, pos)

    # pelvis height: requested, but low enough for every leg to reach its foot
    hips_rel = np.stack([apply(g[:, PELVIS], REST_OFFSETS[hip]) for hip in (L_HIP, R_HIP)], 1)  # (n, 2, 3)
    dxz = np.linalg.norm(ankle[..., [0, 2]] - (pos[:, None] + hips_rel[..., [0, 2]]), axis=-1)  # (n, 2)
    leg = LEG_LENGTH * LEG_REACH  # (2,)
    reach = ankle[..., 1] - hips_rel[..., 1] + np.sqrt(np.maximum(leg**2 - dxz**2, 0.0))  # (n, 2)
    request = STAND_HEIGHT + score.height + score.flight
    # a smooth lower envelope of the reach limit (erode, then blur) keeps the pelvis from bobbing sharply
    # where the limiting foot changes, then the hard limit as a safety net
    limit = reach.min(1)
    envelope = gaussian_filter1d(minimum_filter1d(limit, size=5, mode="nearest"), 1.5, mode="nearest")
    height = _softmin(np.stack([request, envelope], 1), tau=0.01)
    height = np.minimum(gaussian_filter1d(height, 1.0, mode="nearest"), limit - 0.001)
    p[:, PELVIS] = np.stack([pos[:, 0], height, pos[:, 1]], -1)

    # legs: two-bone IK towards the ankle targets, knees pointing where the feet point
    thigh_swing = np.zeros((n, 2))
    fwd = np.stack([np.sin(yaw), np.zeros(n), np.cos(yaw)], -1)
    for f, (hip, knee, ank, toe) in enumerate(LEGS):
        g[:, hip] = g[:, PELVIS]
        p[:, hip] = p[:, PELVIS] + hips_rel[:, f]
        foot_fwd = np.stack([np.sin(fyaw[:, f]), np.zeros(n), np.cos(fyaw[:, f])], -1)
        # the knee points where the foot points; a leg reaching forward (a kick) points it up instead
        facing = unit(foot_fwd + fwd)
        reach_dir = unit(ankle[:, f] - p[:, hip])
        pole = facing + 1.5 * UP * np.clip((facing * reach_dir).sum(-1, keepdims=True), 0.0, 1.0)
        u, kappa, point = two_bone_ik(p[:, hip], ankle[:, f], pole, BONE[knee], BONE[ank])
        g[:, hip] = frame_matrix(-u, point)  # the hip joint turns the thigh
        p[:, knee] = p[:, hip] + BONE[knee] * u
        g[:, knee] = g[:, hip] @ rot(0, kappa)  # knee hinge: the shin swings back
        p[:, ank] = p[:, knee] + apply(g[:, knee], REST_OFFSETS[ank])
        g[:, ank] = foot_matrix(fyaw[:, f], fpitch[:, f])
        p[:, toe] = p[:, ank] + apply(g[:, ank], REST_OFFSETS[toe])
        g[:, toe] = g[:, ank]
        thigh_swing[:, f] = np.arctan2((u * fwd).sum(-1), -u[:, 1])  # thigh angle forward of vertical

    # spine and neck from angles
    parent = g[:, PELVIS]
    for share, joint in zip(SPINE_SHARE, (SPINE1, SPINE2, SPINE3)):
        p[:, joint] = p[:, T2M_PARENTS[joint]] + apply(parent, REST_OFFSETS[joint])
        g[:, joint] = parent @ euler_matrix(share * score.spine[:, 0], share * score.spine[:, 1],
                                            share * score.spine[:, 2])
        parent = g[:, joint]
    chest = g[:, SPINE3]
    p[:, NECK] = p[:, SPINE3] + apply(chest, REST_OFFSETS[NECK])
    g[:, NECK] = chest @ euler_matrix(score.neck[:, 0], score.neck[:, 1], score.neck[:, 2])
    p[:, HEAD] = p[:, NECK] + apply(g[:, NECK], REST_OFFSETS[HEAD])
    g[:, HEAD] = g[:, NECK]

    # arms: IK in the chest frame; each arm swings against the leg on its side
    for f, (collar, shoulder, elbow, wrist) in enumerate(ARMS):
        collar_local = rot(2, SIDE[f] * score.shrug[:, f])
        base = REST_OFFSETS[collar] + apply(collar_local, REST_OFFSETS[shoulder])  # shoulder, chest frame
        swing = rot(0, score.arm_swing * thigh_swing[:, f])  # leg forward -> arm back
        u, kappa, point = two_bone_ik(base, base + apply(swing, score.hands[:, f]), apply(swing, score.elbows[:, f]),
                                      BONE[elbow], BONE[wrist])
        p[:, collar] = p[:, SPINE3] + apply(chest, REST_OFFSETS[collar])
        g[:, collar] = chest @ collar_local
        p[:, shoulder] = p[:, collar] + apply(g[:, collar], REST_OFFSETS[shoulder])
        g[:, shoulder] = chest @ frame_matrix(-u, -point)  # the forearm bends away from where the elbow points
        p[:, elbow] = p[:, shoulder] + apply(g[:, shoulder], REST_OFFSETS[elbow])
        g[:, elbow] = g[:, shoulder] @ rot(0, -kappa)
        p[:, wrist] = p[:, elbow] + apply(g[:, elbow], REST_OFFSETS[wrist])
        g[:, wrist] = g[:, elbow]

    miss = np.stack([np.linalg.norm(p[:, LEGS[f][2]] - ankle[:, f], axis=-1) for f in (0, 1)], -1)
    return Rendered(p, g, p[:, PELVIS].copy(), contact, miss, steps)


def local_rotations(rendered: Rendered) -> np.ndarray:
    """The local joint rotations ``(n, 22, 4)`` (w, x, y, z) of a solved motion: joint j's rotation
    relative to its parent, ``inv(G_parent) G_j``.  ``fk(local_rotations(r), r.root)`` gives ``r.joints``."""
    g = rendered.globals_
    local = np.empty(g.shape[:2] + (4,))
    local[:, 0] = quat_from_matrix(g[:, 0])
    for j in range(1, N_JOINTS):
        local[:, j] = quat_from_matrix(np.swapaxes(g[:, T2M_PARENTS[j]], -1, -2) @ g[:, j])
    return local
