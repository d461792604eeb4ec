"""BVH import: mappings (CMU, Mixamo, our own files), units and up axis stated, 20 fps, the dataset path, and
clear errors for bad files.  Test files are written here from hand-made skeletons whose joint positions are
computed independently (scipy rotations), so the import is checked against known answers."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motionlab.cli import main
from motionlab.data.commands import describe_folder
from motionlab.data.skeleton import T2M
from motionlab.errors import MotionlabError
from motionlab.io import BvhError, ImportNotice, bvh_to_joints, import_bvh_folder, read_bvh, write_bvh
from motionlab.io.mapping import MAPPINGS_DIR, METRES_PER_UNIT, load_mapping

CMU_UNIT = METRES_PER_UNIT["cmu"]


def _side(prefix, sign, names):
    return [(n.replace("*", prefix), p.replace("*", prefix) if p else p, (sign * o[0], o[1], o[2])) for n, p, o in names]


# (name, parent, offset in metres) of a CMU-style skeleton; '*' is Left / Right
_CMU_LEG = [("*HipJoint", "Hips", (0, 0, 0)), ("*UpLeg", "*HipJoint", (0.08, -0.09, 0.03)), ("*Leg", "*UpLeg", (0, -0.40, 0)),
            ("*Foot", "*Leg", (0, -0.42, 0)), ("*ToeBase", "*Foot", (0, -0.04, 0.12))]
_CMU_ARM = [("*Shoulder", "Spine1", (0, 0.12, 0)), ("*Arm", "*Shoulder", (0.17, 0.03, 0)),
            ("*ForeArm", "*Arm", (0.28, 0, 0)), ("*Hand", "*ForeArm", (0.25, 0, 0)), ("*FingerBase", "*Hand", (0.04, 0, 0))]
CMU = ([("Hips", None, (0, 0, 0))] + _side("Left", 1, _CMU_LEG) + _side("Right", -1, _CMU_LEG)
       + [("LowerBack", "Hips", (0, 0, 0)), ("Spine", "LowerBack", (0, 0.11, 0)), ("Spine1", "Spine", (0, 0.12, 0)),
          ("Neck", "Spine1", (0, 0.12, 0)), ("Neck1", "Neck", (0, 0.09, 0.01)), ("Head", "Neck1", (0, 0.09, 0))]
       + _side("Left", 1, _CMU_ARM) + _side("Right", -1, _CMU_ARM))
CMU = [(n.replace("LeftHipJoint", "LHipJoint").replace("RightHipJoint", "RHipJoint"),
        p and p.replace("LeftHipJoint", "LHipJoint").replace("RightHipJoint", "RHipJoint"), o) for n, p, o in CMU]
_MIX_LEG = [("*UpLeg", "Hips", (0.09, -0.07, 0)), ("*Leg", "*UpLeg", (0, -0.41, 0)), ("*Foot", "*Leg", (0, -0.42, 0)),
            ("*ToeBase", "*Foot", (0, -0.05, 0.12))]
_MIX_ARM = [("*Shoulder", "Spine2", (0.06, 0.10, 0)), ("*Arm", "*Shoulder", (0.11, 0, 0)), ("*ForeArm", "*Arm", (0.27, 0, 0)),
            ("*Hand", "*ForeArm", (0.25, 0, 0))]
MIXAMO = ([("Hips", None, (0, 0, 0)), ("Spine", "Hips", (0, 0.10, 0)), ("Spine1", "Spine", (0, 0.12, 0)),
           ("Spine2", "Spine1", (0, 0.13, 0)), ("Neck", "Spine2", (0, 0.15, 0)), ("Head", "Neck", (0, 0.10, 0.02))]
          + _side("Left", 1, _MIX_LEG) + _side("Right", -1, _MIX_LEG) + _side("Left", 1, _MIX_ARM) + _side("Right", -1, _MIX_ARM))


def make_bvh(path, skeleton, n_frames, fps, metres_per_unit=1.0, prefix="", z_up=False, seed=0):
    """Write a BVH file of ``skeleton`` (smooth random motion, walking root); return its joint positions
    (T, J, 3) in metres, y up, computed with scipy (intrinsic ZXY Euler angles, as the file declares)."""
    rng = np.random.default_rng(seed)
    names = [n for n, _, _ in skeleton]
    parents = [names.index(p) if p else -1 for _, p, _ in skeleton]
    offsets = np.array([o for _, _, o in skeleton], dtype=float)
    t = np.arange(n_frames) / fps
    trunk = np.array([n in ("Hips", "LowerBack", "Spine", "Spine1", "Spine2", "Neck", "Neck1") for n in names])
    amp = np.where(trunk[:, None], rng.uniform(2, 8, (len(names), 3)), rng.uniform(5, 30, (len(names), 3)))
    freq = rng.uniform(0.3, 1.2, (len(names), 3))
    angles = amp * np.sin(2 * np.pi * freq * t[:, None, None] + rng.uniform(0, 6, (len(names), 3)))  # (T, J, 3) degrees
    angles[:, 0, 2] += np.degrees(0.8 * t)  # the root turns (about Y, the last of Z X Y) while it walks
    root = np.stack([0.3 * np.sin(t), 0.92 + 0.02 * np.sin(4 * t), 0.8 * t], 1)  # (T, 3) metres
    local = [Rotation.from_euler("ZXY", angles[:, j], degrees=True) for j in range(len(names))]
    up = Rotation.from_euler("X", 90 if z_up else 0, degrees=True)  # a z-up file: the world turned +Y -> +Z
    file_root = up.apply(root)
    local[0] = up * local[0]
    pos = np.zeros((n_frames, len(names), 3))
    glob = [None] * len(names)
    for j, p in enumerate(parents):
        if p < 0:
            pos[:, j], glob[j] = root, Rotation.from_euler("ZXY", angles[:, 0], degrees=True)
        else:
            pos[:, j] = pos[:, p] + glob[p].apply(offsets[j])
            glob[j] = glob[p] * local[j]
    file_angles = angles.copy()
    file_angles[:, 0] = local[0].as_euler("ZXY", degrees=True)
    lines, order = ["HIERARCHY"], []  # order: joints as the file lists them (depth first), for the frame lines

    def block(j, depth):
        order.append(j)
        tab = "  " * depth
        kind = "ROOT" if parents[j] < 0 else "JOINT"
        lines.append(f"{tab}{kind} {prefix}{names[j]}")
        lines.append(f"{tab}{{")
        lines.append(f"{tab}  OFFSET {' '.join(f'{v / metres_per_unit:.6f}' for v in offsets[j])}")
        chans = "Xposition Yposition Zposition " if parents[j] < 0 else ""
        lines.append(f"{tab}  CHANNELS {6 if parents[j] < 0 else 3} {chans}Zrotation Xrotation Yrotation")
        kids = [k for k, p in enumerate(parents) if p == j]
        for k in kids:
            block(k, depth + 1)
        if not kids:
            lines.extend([f"{tab}  End Site", f"{tab}  {{", f"{tab}    OFFSET 0.0 0.0 0.0", f"{tab}  }}"])
        lines.append(f"{tab}}}")

    block(0, 0)
    lines += ["MOTION", f"Frames: {n_frames}", f"Frame Time: {1 / fps:.7f}"]
    for f in range(n_frames):
        row = list(file_root[f] / metres_per_unit)
        for j in order:
            row += list(file_angles[f, j])
        lines.append(" ".join(f"{v:.6f}" for v in row))
    path.write_text("\n".join(lines) + "\n")
    return pos


def expected_t2m(positions, skeleton, mapping):
    """The 22 t2m joints a mapping file picks from a skeleton's joint positions (T, J, 3)."""
    names = [n for n, _, _ in skeleton]
    joints = json.loads((MAPPINGS_DIR / f"{mapping}.json").read_text())["joints"]
    cols = []
    for joint in T2M.joint_names:
        src = joints[joint] if isinstance(joints[joint], list) else [joints[joint]]
        cols.append(positions[:, [names.index(s) for s in src]].mean(1))
    return np.stack(cols, 1)


def test_cmu_file_in_cmu_units_at_120fps(tmp_path):
    path = tmp_path / "01_01.bvh"
    truth = make_bvh(path, CMU, 241, 120.0, metres_per_unit=CMU_UNIT)
    with pytest.warns(ImportNotice) as notices:
        result = bvh_to_joints(path)
    said = " | ".join(str(w.message) for w in notices)
    assert "mapping 'cmu'" in said and "CMU units" in said and "120 fps -> 20 fps (241 -> 41 frames" in said
    assert result.mapping == "cmu" and result.units == "cmu" and result.fps == 20 and result.joints.shape == (41, 22, 3)
    want = expected_t2m(truth, CMU, "cmu")[::6]  # 120 fps -> 20 fps: every sixth frame
    assert np.abs(result.joints - want).max() < 1e-4


def test_mixamo_file_in_centimetres_z_up_at_30fps(tmp_path):
    path = tmp_path / "dance.bvh"
    truth = make_bvh(path, MIXAMO, 91, 30.0, metres_per_unit=0.01, prefix="mixamorig:", z_up=True, seed=1)
    with pytest.warns(ImportNotice) as notices:
        result = bvh_to_joints(path)
    said = " | ".join(str(w.message) for w in notices)
    assert "mapping 'mixamo'" in said and "centimetres" in said and "up axis: +Z" in said
    want = expected_t2m(truth, MIXAMO, "mixamo")
    t_old, t_new = np.arange(91) / 30.0, np.arange(61) / 20.0  # 30 -> 20 fps, linear
    want = np.stack([[np.interp(t_new, t_old, want[:, j, k]) for k in range(3)] for j in range(22)]).transpose(2, 0, 1)
    assert result.joints.shape == (61, 22, 3)
    assert np.abs(result.joints - want).max() < 1e-4


def test_own_export_reimports_exactly(tmp_path, hml3d_sample):
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)
    path = write_bvh(tmp_path / "012314.bvh", joints).path
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = bvh_to_joints(path)
    assert result.mapping == "t2m" and result.units == "m" and result.joints.shape == joints.shape
    assert not any("resampled" in str(w.message) for w in caught)  # already 20 fps
    assert np.abs(result.joints - joints).max() < 1e-5


def test_units_given_or_from_the_mapping(tmp_path):
    path = tmp_path / "m.bvh"
    make_bvh(path, CMU, 40, 20.0, metres_per_unit=0.01)  # centimetres
    with pytest.warns(ImportNotice, match="centimetres"):
        auto = bvh_to_joints(path, "cmu")
    with pytest.warns(ImportNotice, match="given"):
        given = bvh_to_joints(path, "cmu", units="m")  # wrong on purpose: 100x too large
    assert np.allclose(given.joints[:, :, 1].max() / auto.joints[:, :, 1].max(), 100.0, rtol=1e-3)


def test_import_folder_writes_a_dataset_and_the_cli_states_decisions(tmp_path, capsys):
    src = tmp_path / "mocap"
    (src / "sub").mkdir(parents=True)
    make_bvh(src / "walk_a.bvh", CMU, 301, 120.0, metres_per_unit=CMU_UNIT, seed=2)
    make_bvh(src / "sub" / "walk_b.bvh", CMU, 301, 120.0, metres_per_unit=CMU_UNIT, seed=3)
    make_bvh(src / "walk_c.bvh", CMU, 301, 120.0, metres_per_unit=CMU_UNIT, seed=4)
    (src / "walk_a.txt").write_text("a person walks forward slowly\n")
    code = main(["data", "import-bvh", str(src), str(tmp_path / "out"), "--mapping", "cmu",
                 "--caption", "a person walks"])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: units: CMU units" in out and "note: resampled 120 fps -> 20 fps (301 -> 51 frames" in out
    assert "wrote 3 motions" in out
    info = describe_folder(tmp_path / "out")
    assert info["report"].ok
    texts = (tmp_path / "out" / "texts" / "walk_a.txt").read_text()
    assert texts.startswith("a person walks forward slowly#")


def test_import_folder_skips_a_bad_file_with_a_counted_warning(tmp_path):
    src = tmp_path / "mocap"
    src.mkdir()
    make_bvh(src / "good.bvh", CMU, 100, 50.0, metres_per_unit=CMU_UNIT)
    (src / "bad.bvh").write_text("this is not motion capture\n")
    with pytest.warns(Warning) as caught:
        result = import_bvh_folder(src, tmp_path / "out", "cmu", caption="a person moves")
    assert any("skipped 1 of 2 file(s)" in str(w.message) and "bad.bvh" in str(w.message) for w in caught)
    assert result["motions"] == 1 and list(result["failed"]) == [str(src / "bad.bvh")]
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    (only_bad / "bad.bvh").write_text("nope\n")
    with pytest.raises(BvhError, match="not a BVH file"):
        import_bvh_folder(only_bad, tmp_path / "out2")


# ----------------------------------------------------------------------------------------- bad input
@pytest.fixture
def good_bvh(tmp_path, hml3d_sample):
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float64)[:30]
    return write_bvh(tmp_path / "good.bvh", joints).path


def _broken(good, tmp_path, edit, name="broken.bvh"):
    path = tmp_path / name
    path.write_text(edit(good.read_text()))
    return path


@pytest.mark.parametrize("edit, problem", [
    (lambda s: s.replace("Frame Time: 0.050000", "Frame Time: 0"), "wrong frame time 'Frame Time: 0'"),
    (lambda s: s.replace("Frame Time: 0.050000", "Frame Time: 20"), "wrong frame time 'Frame Time: 20'.*seconds per frame"),
    (lambda s: s.replace("Frame Time: 0.050000", "Frame Time: fast"), "wrong frame time"),
    (lambda s: s.replace("Frame Time: 0.050000", "Frame Time: nan"), "wrong frame time"),
    (lambda s: s.replace("Frames: 30", "Frames: 31"), "declares 31 frames .* but holds 30 frame lines"),
    (lambda s: s.rstrip().rsplit(" ", 1)[0] + "\n", "line [0-9]+: 68 values, but the hierarchy declares 69 channels"),
    (lambda s: s.replace("MOTION", "MOTON"), "no MOTION line"),
    (lambda s: s.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation", 1), "channels Wrotation"),
    (lambda s: s.replace("JOINT left_knee", "JOINT left_hip"), "joint name 'left_hip' appears twice"),
])
def test_broken_files_name_the_file_and_the_problem(good_bvh, tmp_path, edit, problem):
    path = _broken(good_bvh, tmp_path, edit)
    with pytest.raises(BvhError, match=problem) as err:
        read_bvh(path)
    assert str(path) in str(err.value)


def test_nan_channel_is_named(good_bvh, tmp_path):
    def edit(text):
        lines = text.splitlines()
        first = lines.index("Frame Time: 0.050000") + 1
        values = lines[first + 4].split()
        values[4] = "nan"  # frame 4, the root's second rotation channel
        lines[first + 4] = " ".join(values)
        return "\n".join(lines) + "\n"

    path = _broken(good_bvh, tmp_path, edit)
    with pytest.raises(BvhError, match=r"NaN or infinite values .* channel pelvis\.Zrotation of frame 4 \(line [0-9]+\)"):
        read_bvh(path)


@pytest.mark.parametrize("content, problem", [
    (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'}", "not a BVH file: it is not text"),
    (b"name,frame,x,y,z\npelvis,0,0,0,0\n", "not a BVH file: it starts with 'name,frame,x,y,z'"),
    (b"", "not a BVH file"),
])
def test_files_that_are_not_bvh(tmp_path, content, problem):
    path = tmp_path / "motion.bvh"
    path.write_bytes(content)
    with pytest.raises(BvhError, match=problem) as err:
        read_bvh(path)
    assert str(path) in str(err.value)


def test_unknown_skeleton_without_mapping(good_bvh, tmp_path):
    path = _broken(good_bvh, tmp_path, lambda s: s.replace("JOINT left_", "JOINT gauche_").replace("ROOT pelvis", "ROOT bassin"))
    with pytest.raises(MotionlabError, match="unknown skeleton: its 22 joints .*bassin.* --mapping FILE.json") as err:
        bvh_to_joints(path)
    assert str(path) in str(err.value)
    with pytest.raises(MotionlabError, match="mapping 'cmu' needs joints the file lacks"):
        bvh_to_joints(good_bvh, "cmu")


def test_user_mapping_files(good_bvh, tmp_path):
    renamed = _broken(good_bvh, tmp_path, lambda s: s.replace("ROOT pelvis", "ROOT Bassin"))
    doc = json.loads((MAPPINGS_DIR / "t2m.json").read_text())
    doc["joints"]["pelvis"] = "Bassin"
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps(doc))
    with pytest.warns(ImportNotice):
        assert bvh_to_joints(renamed, mine).joints.shape == (30, 22, 3)
    del doc["joints"]["head"]
    mine.write_text(json.dumps(doc))
    with pytest.raises(MotionlabError, match=r"mine.json: \"joints\" lacks 1 of the 22 t2m joints: head"):
        load_mapping(mine)
    mine.write_text("{not json")
    with pytest.raises(MotionlabError, match="mine.json: not a readable JSON mapping"):
        load_mapping(mine)
    with pytest.raises(MotionlabError, match="neither a shipped mapping"):
        load_mapping("vicon-nexus")


def test_mapping_that_collapses_a_bone(good_bvh, tmp_path):
    doc = json.loads((MAPPINGS_DIR / "t2m.json").read_text())
    doc["joints"]["spine1"] = "pelvis"
    bad = tmp_path / "collapse.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(MotionlabError, match="puts pelvis and spine1 at the same point"):
        bvh_to_joints(good_bvh, bad)


def test_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "x.bvh").write_text("hello\n")
    assert main(["data", "import-bvh", str(tmp_path / "x.bvh"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("motionlab: error:") and "not a BVH file" in err and str(tmp_path / "x.bvh") in err
