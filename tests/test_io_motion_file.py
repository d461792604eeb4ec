"""Motion files the commands read (edit, caption, export): features or joints, checked, converted."""

from __future__ import annotations

import numpy as np
import pytest

from motionlab.errors import InputError
from motionlab.io.motion_file import motion_features


def test_features_pass_through_and_joints_become_features(tmp_path, hml3d_sample):
    feats = np.load(hml3d_sample / "new_joint_vecs" / "012314.npy")
    np.save(tmp_path / "f.npy", feats)
    out, skeleton = motion_features(tmp_path / "f.npy")
    assert skeleton.name == "t2m" and out.shape == feats.shape and out.dtype == np.float32
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy")
    np.save(tmp_path / "j.npy", joints)
    out, _ = motion_features(tmp_path / "j.npy")
    assert out.shape == (len(joints) - 1, 263)  # velocities need two frames


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 263)), "empty"),
    (np.zeros((30, 100)), r"shape \(30, 100\)"),
    (np.full((30, 263), np.nan), "NaN"),
    (np.zeros((30, 23, 3)), r"joints have shape \(30, 23, 3\)"),
    (np.zeros((1, 22, 3)), "at least 2"),
    (np.array(["a", "b"]), "expected numbers"),
])
def test_bad_motion_files_are_refused(tmp_path, array, message):
    np.save(tmp_path / "m.npy", array)
    with pytest.raises(InputError, match=message):
        motion_features(tmp_path / "m.npy")
    with pytest.raises(InputError, match="no such file"):
        motion_features(tmp_path / "missing.npy")
