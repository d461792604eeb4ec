"""BVH export: features -> BVH -> read back -> forward kinematics -> the input joints, within 1 mm.

On the real HumanML3D sample (``../shared/fixtures``), on MotionLab-Synth motions and procedural motions
with twisting joints, on both skeletons; plus an independent reading of the file (our own tiny parser and
scipy's Euler angles) so that the round trip cannot hide a convention that only pymotion shares.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motionlab.data.features import features_to_joints, joints_to_features
from motionlab.data.skeleton import KIT, T2M
from motionlab.data.synth import make_motion
from motionlab.io import export_motion, read_bvh, rotation_features_to_joints, write_bvh
from motionlab.io.rig import fit_rig, rest_directions
from motionlab.labs.motion_data import demo_motion

MM = 1e-3  # metres


def bvh_joints(path, skeleton=T2M) -> np.ndarray:
    """Joints (T, J, 3) of a BVH file in skeleton order, by pymotion's forward kinematics (file units)."""
    motion = read_bvh(path)
    return motion.global_positions()[:, [motion.names.index(n) for n in skeleton.joint_names]]


def independent_fk(path) -> tuple[list[str], np.ndarray]:
    """A second reading of a BVH file: a minimal parser, scipy's intrinsic Euler angles in channel order."""
    words = open(path).read().split()
    names, parents, offsets, channels, stack = [], [], [], [], []
    i = 0
    while words[i] != "MOTION":
        w = words[i]
        if w in ("ROOT", "JOINT"):
            names.append(words[i + 1])
            parents.append(stack[-1] if stack else -1)
            i += 2
        elif w == "End":  # End Site { OFFSET x y z }: skip
            i += 8
        elif w == "{":
            stack.append(len(names) - 1)
            i += 1
        elif w == "}":
            stack.pop()
            i += 1
        elif w == "OFFSET":
            offsets.append([float(v) for v in words[i + 1:i + 4]])
            i += 4
        elif w == "CHANNELS":
            n = int(words[i + 1])
            channels.append(words[i + 2:i + 2 + n])
            i += 2 + n
        else:
            i += 1
    n_frames = int(words[i + 2])
    values = np.array(words[i + 6:], dtype=float).reshape(n_frames, -1)
    pos = np.zeros((n_frames, len(names), 3))
    rot = [None] * len(names)
    col = 0
    for j, kinds in enumerate(channels):
        local_t = np.tile(offsets[j], (n_frames, 1))
        axes, angles = "", []
        for kind in kinds:
            if kind.endswith("position"):
                local_t[:, "XYZ".index(kind[0])] = values[:, col]
            else:
                axes += kind[0]
                angles.append(values[:, col])
            col += 1
        local_r = Rotation.from_euler(axes, np.stack(angles, 1), degrees=True)  # upper case: intrinsic
        p = parents[j]
        if p < 0:
            pos[:, j], rot[j] = local_t, local_r
        else:
            pos[:, j] = pos[:, p] + rot[p].apply(local_t)
            rot[j] = rot[p] * local_r
    return names, pos


def test_real_sample_features_round_trip_within_1mm(hml3d_sample, tmp_path):
    feats = np.load(hml3d_sample / "new_joint_vecs" / "012314.npy")  # (170, 263) official features
    joints = features_to_joints(feats.astype(np.float64))  # (170, 22, 3)
    result = export_motion(feats, tmp_path / "012314.bvh")
    assert result.format == "bvh" and result.frames == len(feats) and result.fps == pytest.approx(20.0)
    back = bvh_joints(result.path)
    error = np.linalg.norm(back - joints, axis=-1)  # (T, J) per joint, every frame
    assert error.max() < 1 * MM
    assert error.max() < 0.01 * MM  # in fact: the file's 6 decimals (1e-6 m), the rig is exact on real data
    assert result.max_error < 0.01 * MM
    names, independent = independent_fk(result.path)
    order = [names.index(n) for n in T2M.joint_names]
    assert np.abs(independent[:, order] - joints).max() < 0.01 * MM


def test_real_sample_new_joints_round_trip(hml3d_sample, tmp_path):
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)
    path = write_bvh(tmp_path / "j.bvh", joints).path
    assert np.abs(bvh_joints(path) - joints).max() < 1 * MM


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4, 5])
def test_synth_motions_round_trip_within_1mm(index, tmp_path):
    made = make_motion(index, seed=0, mirror_too=True)
    for motion in (made.motion, made.mirrored):
        result = export_motion(motion.features, tmp_path / f"{motion.name}.bvh")
        joints = features_to_joints(motion.features.astype(np.float64))
        assert np.linalg.norm(bvh_joints(result.path) - joints, axis=-1).max() < 1 * MM


@pytest.mark.parametrize("kind", ["walk", "turn", "jump", "stand"])
def test_twisting_procedural_motions_round_trip(kind, tmp_path):
    # demo motions rotate every joint about a random axis (twists included) and turn the root 1.5 times
    joints = features_to_joints(joints_to_features(demo_motion(kind, 90, seed=3)).astype(np.float64))
    path = export_motion(joints, tmp_path / f"{kind}.bvh").path
    assert np.linalg.norm(bvh_joints(path) - joints, axis=-1).max() < 1 * MM


def test_kit_skeleton_round_trip_in_metres(tmp_path):
    joints = features_to_joints(joints_to_features(demo_motion("walk", 60, seed=1, skeleton="kit"), "kit").astype(np.float64), "kit")
    result = export_motion(joints, tmp_path / "kit.bvh")  # (T, 21, 3) in millimetres -> a file in metres
    assert result.skeleton == "kit" and result.fps == pytest.approx(12.5)
    motion = read_bvh(result.path)
    assert motion.frame_time == pytest.approx(0.08) and len(motion.names) == KIT.n_joints
    back = bvh_joints(result.path, KIT) * 1000.0
    assert np.linalg.norm(back - joints, axis=-1).max() < 1.0  # millimetres


def test_units_and_header(tmp_path, hml3d_sample):
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)[:30]
    metres = write_bvh(tmp_path / "m.bvh", joints)
    centimetres = write_bvh(tmp_path / "cm.bvh", joints, units="cm")
    lines = metres.path.read_text().splitlines()
    assert lines[:2] == ["HIERARCHY", "ROOT pelvis"]
    assert "Frames: 30" in lines and "Frame Time: 0.050000" in lines
    assert np.allclose(bvh_joints(centimetres.path) / 100.0, bvh_joints(metres.path), atol=1e-6)
    with pytest.raises(Exception, match="units"):
        write_bvh(tmp_path / "x.bvh", joints, units="furlong")


def test_rest_pose_is_a_t_pose_with_template_bones(hml3d_sample):
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)
    rig = fit_rig(joints)
    lengths = np.linalg.norm(rig.offsets, axis=1)
    assert np.allclose(lengths[1:], T2M.bone_lengths[1:], atol=1e-5)  # HumanML3D bones are the template's
    dirs = rest_directions(T2M)
    for j in (16, 18, 20):  # left arm out along +x, right arm along -x, head up
        assert np.allclose(dirs[j], [1, 0, 0]) and np.allclose(dirs[j + 1], [-1, 0, 0])
    assert np.allclose(dirs[15], [0, 1, 0])
    rest = rig.rest_positions()
    assert rest[15, 1] > rest[12, 1] > rest[0, 1] > rest[7, 1]  # head above neck above pelvis above ankle


def test_non_rigid_input_reports_its_error(tmp_path, hml3d_sample):
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)[:40]
    noisy = joints + np.random.default_rng(0).normal(scale=0.01, size=joints.shape)  # bones change length
    result = write_bvh(tmp_path / "noisy.bvh", noisy)
    measured = np.linalg.norm(bvh_joints(result.path) - noisy, axis=-1).max()
    assert result.max_error > 1 * MM  # a rig has constant bones: it cannot follow 1 cm of jitter exactly
    assert measured == pytest.approx(result.max_error, abs=1e-5)


def test_rotation_features_match_ric_joints_on_the_real_sample(hml3d_sample):
    feats = np.load(hml3d_sample / "new_joint_vecs" / "012314.npy").astype(np.float64)
    gap = np.linalg.norm(rotation_features_to_joints(feats) - features_to_joints(feats), axis=-1)
    assert gap.max() < 0.01 * MM
