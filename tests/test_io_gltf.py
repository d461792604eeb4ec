"""glTF export (read back by pygltflib and by motionlab.io.read_gltf) and the ``motionlab export`` command."""

from __future__ import annotations

import numpy as np
import pygltflib
import pytest

from motionlab.cli import main
from motionlab.data.features import features_to_joints, joints_to_features
from motionlab.data.skeleton import KIT, T2M
from motionlab.errors import InputError
from motionlab.io import export_motion, read_bvh, read_gltf
from motionlab.labs.motion_data import demo_motion


@pytest.mark.parametrize("suffix", [".glb", ".gltf"])
def test_real_sample_gltf_reads_back(hml3d_sample, tmp_path, suffix):
    feats = np.load(hml3d_sample / "new_joint_vecs" / "012314.npy")
    joints = features_to_joints(feats.astype(np.float64))
    result = export_motion(feats, tmp_path / f"012314{suffix}")
    gltf = pygltflib.GLTF2().load(str(result.path))  # the library reads it back
    assert len(gltf.skins) == 1 and len(gltf.skins[0].joints) == T2M.n_joints
    assert len(gltf.animations) == 1 and len(gltf.animations[0].channels) == T2M.n_joints + 1
    times = gltf.accessors[gltf.animations[0].samplers[0].input]
    assert times.count == len(feats) and times.max[0] == pytest.approx((len(feats) - 1) / 20.0)
    assert gltf.meshes and gltf.accessors[gltf.meshes[0].primitives[0].attributes.POSITION].min is not None
    motion = read_gltf(result.path)
    assert motion.names == T2M.joint_names and motion.n_frames == len(feats)
    assert np.linalg.norm(motion.positions - joints, axis=-1).max() < 1e-3  # float32 keys: ~1e-6 m in fact


def test_kit_gltf_is_in_metres_at_12_5_fps(tmp_path):
    joints = features_to_joints(joints_to_features(demo_motion("turn", 50, seed=2, skeleton="kit"), "kit").astype(np.float64), "kit")
    motion = read_gltf(export_motion(joints, tmp_path / "kit.glb").path)
    assert len(motion.names) == KIT.n_joints and motion.times[1] == pytest.approx(0.08)
    assert np.linalg.norm(motion.positions * 1000.0 - joints, axis=-1).max() < 1.0  # millimetres


def test_export_rejects_bad_input(tmp_path):
    with pytest.raises(InputError, match="shape"):
        export_motion(np.zeros((10, 5)), tmp_path / "x.bvh")
    with pytest.raises(InputError, match="NaN"):
        export_motion(np.full((10, 263), np.nan), tmp_path / "x.bvh")
    with pytest.raises(InputError, match="cannot tell the format"):
        export_motion(np.zeros((10, 22, 3)), tmp_path / "x.fbx")
    with pytest.raises(InputError, match="a gltf file name ends in .glb or .gltf"):
        export_motion(np.zeros((10, 22, 3)), tmp_path / "x.bvh", format="gltf")


def test_export_command(hml3d_sample, tmp_path, capsys):
    src = tmp_path / "walk.npy"
    np.save(src, np.load(hml3d_sample / "new_joint_vecs" / "012314.npy"))
    assert main(["export", str(src), "--format", "bvh", "--out", str(tmp_path / "walk.bvh")]) == 0
    assert main(["export", str(src), "--format", "gltf"]) == 0  # default name: beside the input, .glb
    out = capsys.readouterr().out
    assert "reproduces the joints to" in out and (tmp_path / "walk.glb").is_file()
    assert read_bvh(tmp_path / "walk.bvh").n_frames == 170
    np.save(tmp_path / "bad.npy", np.zeros((4, 7)))
    assert main(["export", str(tmp_path / "bad.npy")]) == 2
    assert "bad.npy: shape (4, 7)" in capsys.readouterr().err
