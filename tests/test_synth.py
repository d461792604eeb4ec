"""MotionLab-Synth generator: rig, actions, composition, physical plausibility, features round trip."""

from __future__ import annotations

import numpy as np
import pytest

from motionlab.data.features import canonicalize, features_to_joints, joints_to_features
from motionlab.data.mirror import mirror_features, mirror_joints
from motionlab.data.skeleton import T2M, forward_kinematics
from motionlab.data.synth import ACTIONS, render_plan, sample_plan
from motionlab.data.synth.animation import Score, concat, ease_keys, slerp_vectors, smoothstep
from motionlab.data.synth.compose import MAX_FRAMES, MIN_FRAMES, OVERLAP, Plan, Segment, sample_length
from motionlab.data.synth.poses import Ctx
from motionlab.data.synth.quality import (
    ELBOW_LIMIT, KNEE_LIMIT, bone_error, floor_penetration, foot_sliding, jerk, knee_hyperextension, measure,
)
from motionlab.data.synth.rig import (
    REST_OFFSETS, axis_angle, cross, euler_matrix, euler_yxz, frame_matrix, quat_from_matrix, rot, two_bone_ik,
)
from motionlab.data.synth.solver import local_rotations, solve
from motionlab.data.quaternion import qto_matrix

# the bounds this dataset promises (the dataset card states them)
SLIDE_MEAN = 0.005  # m per frame (10 cm/s) mean horizontal motion of a foot joint at floor level
SLIDE_P95 = 0.03  # m per frame, 95th percentile
PENETRATION = 0.01  # m below the floor
JERK_P99 = 5000.0  # m/s^3, 99th percentile over joints and frames
HYPEREXTENSION = 0.02  # share of bent-knee frames that bend backwards
REACH_MISS = 0.002  # m between a planted ankle and its target


def _single(name: str, seed: int, ctx: Ctx = Ctx()) -> tuple[dict, np.ndarray, object]:
    """Render one action alone with parameters drawn from ``seed``."""
    action = ACTIONS[name]
    params = action.sample(np.random.default_rng([seed, len(name)]))
    lo, hi = action.seconds(params)
    n = int(round((lo + (hi - lo) * 0.3) * 20))
    rendered = solve(action.build(params, n, ctx))
    return params, rendered.joints, rendered


def _check_plausible(joints: np.ndarray, rendered, label: str) -> None:
    q = measure(joints)
    assert q.bone_error < 1e-6, f"{label}: bone lengths change by {q.bone_error}"
    assert q.sliding_mean < SLIDE_MEAN and q.sliding_p95 < SLIDE_P95, f"{label}: feet slide {q}"
    assert q.penetration < PENETRATION, f"{label}: {q.penetration} m below the floor"
    assert q.knee_max < KNEE_LIMIT and q.elbow_max < ELBOW_LIMIT, f"{label}: joint limits {q}"
    assert q.hyperextension < HYPEREXTENSION, f"{label}: knees bend backwards in {q.hyperextension:.1%} of frames"
    assert q.jerk_p99 < JERK_P99, f"{label}: jerk {q.jerk_p99}"
    planted = rendered.contact > 0
    assert rendered.ankle_miss[planted].max() < REACH_MISS, f"{label}: a planted foot is out of reach"
    assert np.isfinite(joints).all()


# ----------------------------------------------------------------------------------------------- rig
def test_rest_pose_uses_template_bone_lengths_and_is_symmetric():
    lengths = np.linalg.norm(REST_OFFSETS, axis=1)
    np.testing.assert_allclose(lengths, T2M.bone_lengths, atol=1e-12)
    for left, right in T2M.left_right:
        a, b = REST_OFFSETS[left] / lengths[left], REST_OFFSETS[right] / lengths[right]
        np.testing.assert_allclose(a * [-1, 1, 1], b, atol=1e-12)


def test_rotation_helpers_agree_with_quaternions():
    rng = np.random.default_rng(0)
    angles = rng.uniform(-3, 3, size=(3, 50))
    for axis in range(3):
        np.testing.assert_allclose(rot(axis, angles[axis]), qto_matrix(axis_angle(axis, angles[axis])), atol=1e-12)
    m = euler_matrix(*angles)
    q = euler_yxz(*angles)
    np.testing.assert_allclose(m, qto_matrix(q), atol=1e-12)
    back = quat_from_matrix(m)
    np.testing.assert_allclose(np.abs((back * q).sum(-1)), 1.0, atol=1e-9)  # same rotation up to sign
    a, b = rng.normal(size=(2, 20, 3))
    np.testing.assert_allclose(cross(a, b), np.cross(a, b), atol=1e-12)
    y = a / np.linalg.norm(a, axis=-1, keepdims=True)
    f = frame_matrix(y, b)
    np.testing.assert_allclose(f @ np.swapaxes(f, -1, -2), np.broadcast_to(np.eye(3), f.shape), atol=1e-12)
    np.testing.assert_allclose(f[..., 1], y, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(f), 1.0, atol=1e-12)


def test_two_bone_ik_reaches_and_bends_towards_the_pole():
    rng = np.random.default_rng(1)
    base = np.zeros((200, 3))
    target = rng.normal(size=(200, 3))
    target *= rng.uniform(0.1, 0.8, size=(200, 1)) / np.linalg.norm(target, axis=-1, keepdims=True)
    pole = np.cross(target, rng.normal(size=(200, 3)))
    u, kappa, point = two_bone_ik(base, target, pole, 0.4, 0.43)
    mid = 0.4 * u
    reachable = np.linalg.norm(target, axis=-1) < 0.8
    # the lower bone has its length and ends on the target
    d = np.linalg.norm(target - mid, axis=-1)
    np.testing.assert_allclose(d[reachable], 0.43, atol=1e-9)
    assert (kappa >= 0).all() and (kappa < np.pi).all()
    assert ((mid * pole).sum(-1)[reachable & (kappa > 0.1)] > 0).all()  # the middle joint is on the pole's side


# ------------------------------------------------------------------------------------------ actions
def test_registry_has_at_least_25_actions_in_every_group():
    assert len(ACTIONS) >= 25
    groups = {a.group for a in ACTIONS.values()}
    assert groups == {"locomotion", "upper", "lower", "whole"}
    required = {"walk", "jog", "run", "walk_backwards", "sidestep", "walk_circle", "turn", "jump_forward",
                "jump_in_place", "hop", "wave", "clap", "punch", "throw", "raise_arms", "reach", "stretch", "bow",
                "kick", "squat", "lunge", "kneel", "sit_down", "spin", "jumping_jacks", "dance_sway"}
    assert required <= set(ACTIONS)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_action_is_physically_plausible(name):
    for seed in range(2):
        params, joints, rendered = _single(name, seed)
        _check_plausible(joints, rendered, f"{name} {params}")
        # local rotations through the skeleton's hierarchical FK give the same joints: the motion is made of
        # joint rotations on the template skeleton
        fk = forward_kinematics(local_rotations(rendered), rendered.root, T2M, offsets=REST_OFFSETS)
        np.testing.assert_allclose(fk, joints, atol=1e-9)


def test_actions_do_what_they_say():
    """A few semantic checks: walks go forward, backwards go back, sides are the named side, turns turn."""
    def heading(j):
        across = (j[:, 2] - j[:, 1]) + (j[:, 17] - j[:, 16])
        return np.arctan2(-across[:, 2], across[:, 0])  # facing = up x across; angle of facing about +y

    p, j, _ = _single("walk", 0)
    assert j[-1, 0, 2] - j[0, 0, 2] > 1.0 or p["direction"] != "forward"
    _, j, _ = _single("walk_backwards", 0)
    assert j[-1, 0, 2] < j[0, 0, 2] - 0.5
    for side, wrist, other in (("left", 20, 21), ("right", 21, 20)):
        action = ACTIONS["wave"]
        params = dict(action.sample(np.random.default_rng(3)), side=side, height="high")
        j = solve(action.build(params, 80, Ctx())).joints
        assert j[:, wrist, 1].max() > j[:, 15, 1].max() - 0.15 > j[:, other, 1].max()  # waving hand up high
    for direction, sign in (("left", 1), ("right", -1)):
        params = dict(ACTIONS["sidestep"].sample(np.random.default_rng(0)), direction=direction)
        j = solve(ACTIONS["sidestep"].build(params, 70, Ctx())).joints
        assert sign * (j[-1, 0, 0] - j[0, 0, 0]) > 0.3  # +x is the character's left
        params = dict(ACTIONS["turn"].sample(np.random.default_rng(0)), direction=direction, angle=np.pi / 2)
        j = solve(ACTIONS["turn"].build(params, 50, Ctx())).joints
        turned = np.angle(np.exp(1j * (heading(j)[-1] - heading(j)[0])))
        assert abs(turned - sign * np.pi / 2) < 0.25
    _, j, r = _single("jump_in_place", 0)
    assert (r.contact.sum(1) == 0).any() and j[:, 10, 1].max() > 0.1  # airborne, feet off the floor
    _, j, _ = _single("sit_down", 0)
    assert j[:, 0, 1].min() < 0.6  # the pelvis comes down to seat height
    params = dict(ACTIONS["kneel"].sample(np.random.default_rng(0)), side="right")
    j = solve(ACTIONS["kneel"].build(params, 120, Ctx())).joints
    assert j[:, 5, 1].min() < 0.12 < j[:, 4, 1].min()  # the right knee goes down to the floor, the left does not
    assert j[-1, 5, 1] > 0.4  # and stands back up
    for name in ("kneel", "sit_down"):  # ending kneeling or seated when the motion stops there
        params = dict(ACTIONS[name].sample(np.random.default_rng(1)), stay=True)
        r = solve(ACTIONS[name].build(params, 90, Ctx()))
        assert r.joints[-1, 0, 1] < 0.65
        _check_plausible(r.joints, r, f"{name} staying down")


# --------------------------------------------------------------------------------------- composition
def test_lengths_follow_a_humanml3d_like_distribution():
    rng = np.random.default_rng(0)
    target = np.array([sample_length(rng) for _ in range(4000)])
    assert 2.0 <= target.min() and target.max() <= 9.8
    assert 6.5 < target.mean() < 7.5  # HumanML3D: 7.1 s on average
    plans = [sample_plan(np.random.default_rng([5, i])) for i in range(300)]
    frames = np.array([p.n_frames for p in plans])
    assert frames.min() >= MIN_FRAMES and frames.max() <= MAX_FRAMES
    assert 6.0 < frames.mean() / 20 < 8.0
    counts = np.bincount([len(p.segments) for p in plans], minlength=4)
    assert counts[1] > 0 and counts[2] > 0 and counts[3] > 0
    for p in plans:  # spans tile the motion in order
        assert p.spans[0][0] == 0 and p.spans[-1][1] == p.n_frames
        assert all(a[1] == b[0] for a, b in zip(p.spans, p.spans[1:]))
        assert all(s.action != t.action for s, t in zip(p.segments, p.segments[1:]))


def test_composed_motions_are_plausible_and_transitions_smooth():
    for i in range(40):
        plan = sample_plan(np.random.default_rng([7, i]))
        r = render_plan(plan)
        _check_plausible(r.joints, r, f"plan {i} {plan.actions}")
        # no jumps at the joins: no joint moves faster than a thrown hand (12 m/s)
        step = np.linalg.norm(np.diff(r.joints, axis=0), axis=-1).max()
        assert step < 0.6, f"plan {i} {plan.actions}: a joint moves {step:.2f} m in one frame"


def test_gaits_chain_without_stopping():
    plan = Plan([Segment("walk", dict(ACTIONS["walk"].sample(np.random.default_rng(0)), direction="forward", veer=0.0), 0, 80),
                 Segment("run", ACTIONS["run"].sample(np.random.default_rng(1)), 80 - OVERLAP, 80)], 160 - OVERLAP,
                [(0, 80 - OVERLAP // 2), (80 - OVERLAP // 2, 160 - OVERLAP)])
    r = render_plan(plan)
    speed = np.linalg.norm(np.diff(r.root[:, [0, 2]], axis=0), axis=-1) * 20
    join = 80 - OVERLAP // 2
    assert speed[join - 5:join + 5].min() > 0.8  # still moving through the change of gait
    assert speed[join + 30:join + 40].mean() > 2.0  # running afterwards
    _check_plausible(r.joints, r, "walk then run")


def test_concat_cross_fades_curves():
    a, b = Score.blank(30), Score.blank(30)
    a.height[:] = -0.2
    b.hands[:] = [[0.07, 0.51, 0.05], [-0.07, 0.51, 0.05]]  # arms up
    out, starts = concat([a, b], 8)
    assert out.n == 52 and starts == [0, 22]
    assert out.height[0] == pytest.approx(-0.2) and out.height[-1] == pytest.approx(0.0)
    assert np.all(np.diff(out.height) >= -1e-12)  # monotone ease from one to the other
    # a hand going from hanging down to overhead swings out in front of the shoulder, not through it
    reach = np.linalg.norm(out.hands[:, 0], axis=-1)
    assert reach.min() > 0.45


def test_curve_helpers():
    s = np.linspace(-0.5, 1.5, 41)
    e = smoothstep(s)
    assert e[0] == 0 and e[-1] == 1 and np.all(np.diff(e) >= 0)
    keys = ease_keys([0.0, 1.0, 2.0], [0.0, 1.0, 1.0], 60)
    assert keys[0] == 0 and keys[20] == pytest.approx(1.0) and keys[59] == pytest.approx(1.0)
    down, up = np.array([0.0, -0.5, 0.05]), np.array([0.0, 0.5, 0.05])
    mid = slerp_vectors(down, up, np.array(0.5))
    assert np.linalg.norm(mid) == pytest.approx(0.5, rel=0.02) and mid[2] > 0.4  # out in front


# ---------------------------------------------------------------------------------------- measures
def test_plausibility_measures_detect_faults():
    plan = sample_plan(np.random.default_rng([9, 3]))
    j = render_plan(plan).joints
    assert bone_error(j) < 1e-9
    stretched = j.copy()
    stretched[:, 20] += 0.05
    assert bone_error(stretched) > 0.04
    sunk = j.copy()
    sunk[40:, :, 1] -= 0.05
    assert floor_penetration(sunk) > 0.04
    sliding = j.copy()
    sliding[:, [7, 8, 10, 11], 0] += 0.15 * np.arange(len(j))[:, None]  # feet dragged 15 cm per frame
    assert foot_sliding(sliding)[0] > 0.05
    shaky = j + np.random.default_rng(0).normal(scale=0.02, size=j.shape)
    assert jerk(shaky)[0] > 10 * jerk(j)[0]
    backwards = j.copy()
    backwards[:, [4, 5], 2] -= 0.3  # knees pushed behind the legs
    backwards[:, [4, 5], 1] = 0.5 * (j[:, [1, 2], 1] + j[:, [7, 8], 1])
    assert knee_hyperextension(backwards, min_flexion=20) > 0.5


def test_real_humanml3d_motion_as_reference(hml3d_sample):
    """The same measures on the real sample motion: the synthetic bounds are no looser than real data needs."""
    real = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)
    q = measure(real)
    assert q.bone_error < 1e-5
    assert q.jerk_p99 < JERK_P99
    assert q.knee_max < KNEE_LIMIT and q.elbow_max < ELBOW_LIMIT


# ------------------------------------------------------------------------------ representation
def test_features_round_trip_and_mirror():
    plan = sample_plan(np.random.default_rng([11, 0]))
    j = render_plan(plan).joints
    feats = joints_to_features(j, "t2m", retarget=False)
    assert feats.shape == (len(j) - 1, 263) and np.isfinite(feats).all()
    back = features_to_joints(feats, "t2m")
    np.testing.assert_allclose(back, canonicalize(j, "t2m", retarget=False)[:-1], atol=2e-3)
    # retargeting would change nothing: the motion already has the template's bones
    np.testing.assert_allclose(joints_to_features(j, "t2m", retarget=True), feats, atol=1e-3)
    # mirroring the features equals the features of the mirrored joints (no retargeting involved)
    np.testing.assert_allclose(mirror_features(feats), joints_to_features(mirror_joints(j), "t2m", retarget=False),
                               atol=1e-3)
