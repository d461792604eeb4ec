"""Skeletons, the HumanML3D representation, mirroring: against the real fixture and procedural motions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.data.features import (
    canonicalize, feature_slices, features_to_joints, foot_contacts, joints_to_features, recover_root,
)
from motionlab.data.mirror import mirror_caption, mirror_features, mirror_joints
from motionlab.data.quaternion import qfrom_axis_angle, qfrom_yaw, qrot
from motionlab.data.skeleton import (
    KIT, T2M, bone_offsets, chain_forward_kinematics, chain_inverse_kinematics, forward_direction,
    forward_kinematics, get_skeleton, retarget, skeleton_for_dim,
)
from motionlab.errors import InputError

SKELETONS = [T2M, KIT]


def make_motion(sk, kind: str, n_frames: int = 100, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """A procedural motion (T, J, 3) on skeleton ``sk``: 'walk', 'turn' (one and a half turns), 'jump', 'spin'.

    Every joint swings sinusoidally about a random axis; the root yaws and travels according to ``kind``.
    ``scale`` != 1 gives a source skeleton with other bone lengths (exercises retargeting).
    """
    rng = np.random.default_rng(seed)
    u = sk.units_per_metre
    t = np.arange(n_frames) / sk.fps
    n = sk.n_joints
    axes = rng.normal(size=(n, 3)) + np.array([3.0, 0, 0])  # mostly about x (swinging limbs)
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    amp = rng.uniform(0.1, 0.6, n)
    freq = rng.uniform(0.5, 1.5, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    angles = amp * np.sin(2 * np.pi * freq * t[:, None] + phase)  # (T, J)
    local = qfrom_axis_angle(np.broadcast_to(axes, (n_frames, n, 3)), angles)  # (T, J, 4)
    yaw = {"walk": 0.2 * np.sin(t), "turn": 3 * np.pi * t / t[-1], "jump": 0.3 * t, "spin": -4 * np.pi * t / t[-1]}[kind]
    yaw = yaw + rng.uniform(-np.pi, np.pi)  # start facing anywhere
    local[:, 0] = qfrom_yaw(yaw)
    speed = {"walk": 1.3, "turn": 0.8, "jump": 0.2, "spin": 0.0}[kind] * u
    heading = np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], -1)
    root = np.cumsum(heading * speed / sk.fps, axis=0) + rng.normal(size=3) * u
    root[:, 1] = 0.95 * u + (0.35 * u * np.maximum(0, np.sin(2 * np.pi * t)) if kind == "jump" else 0.02 * u * np.sin(4 * np.pi * t))
    offsets = sk.template_offsets * scale * rng.uniform(0.9, 1.1, (n, 1))
    return forward_kinematics(local, root, sk, offsets=offsets)


@pytest.fixture(scope="module")
def fixture_motion(hml3d_sample):
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy")
    vecs = np.load(hml3d_sample / "new_joint_vecs" / "012314.npy")
    return joints, vecs


# ------------------------------------------------------------------------------------------ skeletons
@pytest.mark.parametrize("sk", SKELETONS, ids=lambda s: s.name)
def test_skeleton_tables_are_consistent(sk):
    assert sk.n_joints == len(sk.joint_names) == len(sk.raw_offsets) == len(sk.bone_lengths)
    for chain in sk.kinematic_chain:  # every chain link is a parent -> child bone
        for a, b in zip(chain[:-1], chain[1:]):
            assert sk.parents[b] == a
    assert sorted(j for c in sk.kinematic_chain for j in c[1:]) == list(range(1, sk.n_joints))
    assert np.array_equal(sk.mirror_index[sk.mirror_index], np.arange(sk.n_joints))
    # raw directions are mirror-symmetric: reflecting x maps each joint's direction onto its mirror's
    assert np.array_equal(sk.raw_offsets * [-1, 1, 1], sk.raw_offsets[sk.mirror_index])
    for left, right in sk.left_right:
        assert sk.joint_names[left].startswith("left") and sk.joint_names[right].startswith("right")
    assert skeleton_for_dim(sk.feature_dim) is sk


def test_feature_dims_and_official_constants():
    assert (T2M.feature_dim, KIT.feature_dim) == (263, 251)
    lay = feature_slices("t2m")
    assert [(s.start, s.stop) for _, s in lay.groups] == [(0, 1), (1, 3), (3, 4), (4, 67), (67, 193), (193, 259), (259, 263)]
    lay = feature_slices("kit")
    assert [(s.start, s.stop) for _, s in lay.groups] == [(0, 1), (1, 3), (3, 4), (4, 64), (64, 184), (184, 247), (247, 251)]
    assert T2M.face_joints == (2, 1, 17, 16) and KIT.face_joints == (11, 16, 5, 8)
    assert (T2M.foot_left, T2M.foot_right, KIT.foot_left, KIT.foot_right) == ((7, 10), (8, 11), (19, 20), (14, 15))
    assert T2M.leg_joints == (5, 8) and KIT.leg_joints == (17, 18)
    assert KIT.joint_names[11] == "left_hip" and KIT.joint_names[5] == "left_shoulder"  # MMM names (LH, LS)
    with pytest.raises(InputError, match="unknown skeleton"):
        get_skeleton("smplx")
    with pytest.raises(InputError, match="263"):
        skeleton_for_dim(100)


def test_template_bones_are_the_fixture_bones(fixture_motion):
    joints = fixture_motion[0].astype(np.float64)
    measured = np.linalg.norm(bone_offsets(joints[0], T2M), axis=1)
    assert np.abs(measured - T2M.bone_lengths).max() < 2e-6


@pytest.mark.parametrize("sk", SKELETONS, ids=lambda s: s.name)
def test_chain_ik_fk_reproduces_positions(sk):
    joints = make_motion(sk, "walk", 40, seed=3)
    quats = chain_inverse_kinematics(joints, sk)
    assert np.allclose(np.linalg.norm(quats, axis=-1), 1.0)
    back = chain_forward_kinematics(quats, joints[:, 0], sk, offsets=bone_offsets(joints[0], sk))
    assert np.abs(back - joints).max() < 1e-9 * sk.units_per_metre


def test_ik_quirks_are_kept():
    joints = make_motion(T2M, "turn", 60, seed=1)
    quats = chain_inverse_kinematics(joints, T2M)
    assert np.array_equal(quats[0, 0], [1.0, 0, 0, 0])  # first root rotation forced to identity
    # arm chains start from the root rotation: the accumulated rotation along (root) -> 14 maps raw -> bone
    acc = quats[:, 0]
    from motionlab.data.quaternion import qmul

    acc = qmul(acc, quats[:, 14])
    bone = joints[:, 14] - joints[:, 9]
    got = qrot(acc, np.broadcast_to(T2M.raw_offsets[14], bone.shape))
    assert np.abs(got - bone / np.linalg.norm(bone, axis=-1, keepdims=True))[1:].max() < 1e-9
    # face-joint order quirk: the IK facing differs from the true facing
    true_fwd = forward_direction(joints, T2M)
    ik_fwd = forward_direction(joints, T2M, ik_order=True)
    assert np.abs(true_fwd - ik_fwd).max() > 1e-3


@pytest.mark.parametrize("sk", SKELETONS, ids=lambda s: s.name)
def test_retarget_gives_template_bones_and_keeps_directions(sk):
    joints = make_motion(sk, "walk", 30, seed=2, scale=1.15)
    out = retarget(joints, sk)
    lengths = np.linalg.norm(out[:, 1:] - out[:, list(sk.parents[1:])], axis=-1)
    assert np.abs(lengths - sk.bone_lengths[1:]).max() < 1e-9 * sk.units_per_metre
    d_in = joints[:, 1:] - joints[:, list(sk.parents[1:])]
    d_out = out[:, 1:] - out[:, list(sk.parents[1:])]
    cos = (d_in * d_out).sum(-1) / np.linalg.norm(d_in, axis=-1) / np.linalg.norm(d_out, axis=-1)
    assert cos.min() > 1 - 1e-9
    src_leg = np.linalg.norm(bone_offsets(joints[0], sk)[list(sk.leg_joints)], axis=1).sum()
    assert np.allclose(out[:, 0], joints[:, 0] * sk.leg_length / src_leg)


# --------------------------------------------------------------------------------- the real fixture
def test_recover_matches_official_new_joints(fixture_motion):
    joints, vecs = fixture_motion
    rec = features_to_joints(vecs)
    assert rec.shape == joints.shape and rec.dtype == np.float32
    assert np.abs(rec - joints).max() < 5e-6  # measured 1.2e-6 (float32 rounding)
    rec_t = features_to_joints(torch.from_numpy(vecs))
    assert torch.is_tensor(rec_t) and np.abs(rec_t.numpy() - joints).max() < 5e-6


# measured max |ours - official| per slice on 012314 (2026-11, this machine): root_rot_vel 3.0e-4,
# root_lin_vel 1.4e-4, root_y 6e-8, ric 6.8e-3, rot6d 1.3e-2, local_vel 4.1e-4, contacts 0.  The official
# code runs its quaternion maths in float32 and this float64; the IK heading (smoothed, quirky) amplifies it.
FIXTURE_TOLERANCE = {"root_rot_vel": 1e-3, "root_lin_vel": 5e-4, "root_y": 1e-6, "ric": 1e-2, "rot6d": 2e-2,
                     "local_vel": 1e-3, "contacts": 0.0}


def test_features_match_official_pipeline(fixture_motion):
    joints, vecs = fixture_motion
    feats = joints_to_features(joints)
    assert feats.shape == (len(joints) - 1, 263) and feats.dtype == np.float32
    ref = vecs[: len(feats)]
    for name, sl in feature_slices("t2m").groups:
        err = np.abs(feats[:, sl] - ref[:, sl]).max()
        assert err <= FIXTURE_TOLERANCE[name], f"{name}: {err}"
    # and the mean error is far smaller than the max (a handful of frames near the smoothing edges)
    assert np.abs(feats - ref).mean() < 2e-4


# ------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("sk", SKELETONS, ids=lambda s: s.name)
@pytest.mark.parametrize("kind", ["walk", "turn", "jump", "spin"])
def test_round_trip_recovers_canonical_positions(sk, kind):
    joints = make_motion(sk, kind, 120, seed=len(kind), scale=1.1)
    canon = canonicalize(joints, sk)
    feats = joints_to_features(joints, sk)
    assert feats.shape == (119, sk.feature_dim)
    back = features_to_joints(feats, sk)
    err_m = np.abs(back - canon[:-1]).max() / sk.units_per_metre
    assert err_m < 1e-4, f"{sk.name}/{kind}: {err_m:.2e} m"


@pytest.mark.parametrize("sk", SKELETONS, ids=lambda s: s.name)
def test_canonical_frame(sk):
    canon = canonicalize(make_motion(sk, "walk", 50, seed=5), sk)
    assert abs(canon[..., 1].min()) < 1e-9 * sk.units_per_metre  # floor at y = 0
    assert np.abs(canon[0, 0, [0, 2]]).max() < 1e-9 * sk.units_per_metre  # first root xz at the origin
    assert np.allclose(forward_direction(canon[0], sk), [0, 0, 1], atol=1e-9)  # first frame faces +Z


def test_official_heading_bug_drifts_when_turning_around(fixture_motion):
    pose = fixture_motion[0][0].astype(np.float64)
    n = 120
    spin = qfrom_yaw(np.linspace(0, 2 * np.pi, n))  # one full turn on the spot crosses 180 degrees
    motion = qrot(np.broadcast_to(spin[:, None], (n, 22, 4)), np.broadcast_to(pose, (n, 22, 3)))
    canon = canonicalize(motion)[:-1]
    fixed = np.abs(features_to_joints(joints_to_features(motion)) - canon).max()
    buggy = np.abs(features_to_joints(joints_to_features(motion, official_heading_bug=True)) - canon).max()
    assert fixed < 1e-5 and buggy > 1e-2


def test_features_to_joints_torch_batches_and_gradients():
    feats = np.stack([joints_to_features(make_motion(T2M, k, 60, seed=i)) for i, k in enumerate(["walk", "turn", "jump"])])
    want = np.stack([features_to_joints(f) for f in feats])  # (3, 59, 22, 3)
    x = torch.from_numpy(feats).reshape(3, 1, 59, 263).requires_grad_(True)  # two leading batch dims
    got = features_to_joints(x)
    assert got.shape == (3, 1, 59, 22, 3)
    assert np.abs(got.detach().numpy()[:, 0] - want).max() < 1e-4
    got.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    heading, root = recover_root(feats[0])
    assert heading.shape == (59, 4) and np.allclose(root[0], [0, feats[0, 0, 3], 0])


def test_foot_contacts():
    sk = T2M
    n = 10
    pos = np.zeros((n, sk.n_joints, 3))
    pos[:, sk.foot_right[0], 2] = np.arange(n) * 0.1  # right ankle slides 10 cm per frame
    pos[5:, sk.foot_left[1], 1] = 0.03  # left toe lifts 3 cm between frames 4 and 5 (0.0009 < 0.002)
    c = foot_contacts(pos, sk)
    assert c.shape == (n - 1, 4) and c.dtype == np.float32
    assert c[:, 0].all() and c[:, 1].all() and not c[:, 2].any() and c[:, 3].all()
    assert not foot_contacts(pos, sk, threshold=0.0005)[4, 1]  # stricter threshold: the lift counts as motion


@pytest.mark.parametrize("bad, match", [
    (np.zeros((10, 21, 3)), r"\(T, 22, 3\)"),
    (np.zeros((10, 22)), "shape"),
    (np.zeros((1, 22, 3)), "at least 2"),
])
def test_joints_to_features_rejects_bad_input(bad, match):
    with pytest.raises(InputError, match=match):
        joints_to_features(bad)


def test_bad_values_and_widths_are_reported():
    joints = make_motion(T2M, "walk", 20)
    joints[7, 3, 1] = np.nan
    with pytest.raises(InputError, match="NaN.*frame 7"):
        joints_to_features(joints)
    with pytest.raises(InputError, match="263"):
        features_to_joints(np.zeros((5, 251)), "t2m")
    assert features_to_joints(np.zeros((5, 251)), "auto").shape == (5, 21, 3)


# ------------------------------------------------------------------------------------------ mirroring
@pytest.mark.parametrize("sk", SKELETONS, ids=lambda s: s.name)
def test_mirror_features_commutes_with_the_pipeline(sk):
    joints = make_motion(sk, "turn", 80, seed=7)
    feats = joints_to_features(joints, sk, retarget=False)
    mirrored = joints_to_features(mirror_joints(joints, sk), sk, retarget=False)
    assert np.abs(mirror_features(feats, sk) - mirrored).max() < 1e-4 * sk.units_per_metre
    assert np.array_equal(mirror_features(mirror_features(feats, sk), sk), feats)
    assert np.array_equal(mirror_joints(mirror_joints(joints, sk), sk), joints)
    t = torch.from_numpy(feats)
    assert np.array_equal(mirror_features(t, sk).numpy(), mirror_features(feats, sk))


def test_mirror_joints_swaps_sides():
    joints = make_motion(T2M, "walk", 5)
    m = mirror_joints(joints, T2M)
    assert np.allclose(m[:, 1, 0], -joints[:, 2, 0]) and np.allclose(m[:, 1, 1:], joints[:, 2, 1:])
    assert np.allclose(m[:, 0], joints[:, 0] * [-1, 1, 1])


@pytest.mark.parametrize("text, want", [
    ("a person waves with the left hand", "a person waves with the right hand"),
    ("Left foot, then RIGHT foot", "Right foot, then LEFT foot"),
    ("turns clockwise then counterclockwise", "turns counterclockwise then clockwise"),
    ("steps leftwards; a leftover cup is on the right", "steps rightwards; a leftover cup is on the left"),
])
def test_mirror_caption(text, want):
    assert mirror_caption(text) == want
    assert mirror_caption(mirror_caption(text)) == text
