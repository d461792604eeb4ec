"""``motionlab data check / convert``, the scripts' library functions and the rule-based tagger."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from motionlab.cli import main
from motionlab.data.commands import convert_joints_folder, describe_folder, resample
from motionlab.data.features import canonicalize, features_to_joints
from motionlab.data.folders import DatasetWarning, MotionFolder
from motionlab.data.skeleton import T2M
from motionlab.data.tagging import tag_caption
from motionlab.errors import DatasetError

sys.path.insert(0, str(Path(__file__).parent))
from test_data_features import make_motion  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def joints_dir(tmp_path_factory):
    """Six procedural motions at 30 fps with plain and HumanML3D-style caption files, one without captions."""
    src = tmp_path_factory.mktemp("joints")
    for i, kind in enumerate(["walk", "turn", "jump", "spin", "walk", "turn"]):
        np.save(src / f"clip{i}.npy", make_motion(T2M, kind, 150, seed=i).astype(np.float32))
        (src / f"clip{i}.txt").write_text(f"a person does a {kind} to the left\n"
                                          "someone moves#someone/PRON move/VERB#0.0#0.0\n")
    np.save(src / "uncaptioned.npy", make_motion(T2M, "walk", 60))
    return src


def test_convert_writes_a_valid_dataset(joints_dir, tmp_path):
    with pytest.warns(DatasetWarning, match="skipped 1 no caption file"):
        result = convert_joints_folder(joints_dir, tmp_path / "out", fps=30.0, seed=1, mirror=True)
    assert result["motions"] == 12 and result["skipped"] == {"no caption file": ["uncaptioned"]}
    folder = MotionFolder(tmp_path / "out")
    assert folder.validate().ok
    names = {s: folder.names(s) for s in ("train", "val", "test")}
    assert sum(map(len, names.values())) == 12
    for split in names.values():  # a motion and its mirror share a split
        assert {n.lstrip("M") for n in split} == {n for n in split if not n.startswith("M")}
    motion = folder.load_motion("clip0")
    assert motion.features.shape == (99, 263)  # 150 frames at 30 fps -> 100 frames at 20 fps -> 99 rows
    assert motion.captions[0].tokens[:4] == ("a/DET", "person/NOUN", "do/VERB", "a/DET")
    assert motion.captions[1].tokens == ("someone/PRON", "move/VERB")
    mirrored = folder.load_motion("Mclip0")
    assert mirrored.captions[0].text == "a person does a walk to the right"
    assert "right/ADJ" in mirrored.captions[0].tokens
    # the features describe the resampled, canonicalised input
    src = resample(np.load(joints_dir / "clip0.npy").astype(np.float64), 30.0, 20.0)
    assert np.abs(features_to_joints(motion.features) - canonicalize(src)[:-1]).max() < 1e-4


def test_convert_errors(tmp_path):
    with pytest.raises(DatasetError, match="joints folder does not exist"):
        convert_joints_folder(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "bad").mkdir()
    np.save(tmp_path / "bad" / "x.npy", np.zeros((10, 5, 3)))
    with pytest.raises(DatasetError, match=r"x.npy: joints have shape \(10, 5, 3\); expected \(T, >= 22, 3\)"):
        convert_joints_folder(tmp_path / "bad", tmp_path / "out")


def test_resample():
    j = np.arange(31, dtype=np.float64)[:, None, None] * np.ones((1, 2, 3))  # position = frame index
    out = resample(j, 30.0, 20.0)
    assert out.shape == (21, 2, 3) and np.allclose(out[:, 0, 0], np.arange(21) * 1.5)
    assert resample(j, 20.0, 20.0) is j


def test_describe_folder_statistics(tiny_dataset):
    info = describe_folder(tiny_dataset)
    assert info["report"].ok and info["skeleton"] == "t2m"
    train = info["splits"]["train"]
    assert train["listed"] == 8 and train["samples"] == 8 and train["captions"] == 16
    assert train["vocabulary"] == len(_words(tiny_dataset, "train")) > 5
    assert sum(train["histogram"].values()) == 8
    assert train["lengths"]["min"] >= 40


def _words(root, split):
    folder = MotionFolder(root)
    return {w for n in folder.names(split) for c in folder.load_captions(n) for w in c.words}


def test_check_cli_output_and_exit_codes(tiny_dataset, tmp_path, capsys):
    assert main(["data", "check", str(tiny_dataset)]) == 0
    out = capsys.readouterr().out
    assert "OK, 0 warning(s)" in out and "[train] 8 motions listed -> 8 samples" in out and "vocabulary" in out
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dataset, broken)
    (broken / "texts" / "000001.txt").write_text("no hashes here\n")
    (broken / "new_joint_vecs" / "000002.npy").unlink()
    assert main(["data", "check", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "malformed_caption (error): 1" in out and "000001.txt:1: malformed caption line" in out
    assert "missing_features (error): 1" in out and "skipped 1 (features file missing): 000002" in out
    assert main(["data", "check", str(tmp_path / "nowhere")]) == 2  # a user error: one line on stderr
    assert "dataset folder does not exist" in capsys.readouterr().err


def test_scripts_are_thin_wrappers(tiny_dataset):
    run = subprocess.run([sys.executable, str(REPO / "data_scripts" / "check_dataset.py"), str(tiny_dataset)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "[test] 2 motions listed" in run.stdout
    help_text = subprocess.run([sys.executable, str(REPO / "data_scripts" / "joints_to_dataset.py"), "--help"],
                               capture_output=True, text=True, timeout=120).stdout
    assert "--fps" in help_text and "--mirror" in help_text


@pytest.mark.parametrize("text, want", [
    ("A person walks forward, then turns left.",
     "a/DET person/NOUN walk/VERB forward/ADV then/ADV turn/VERB left/ADJ"),
    ("someone is jogging in a circle", "someone/PRON is/AUX jog/VERB in/ADP a/DET circle/NOUN"),
    ("the man kicks with his right foot twice", "the/DET man/NOUN kick/VERB with/ADP his/PRON right/ADJ foot/NOUN twice/ADV"),
    ("a figure raises both hands", "a/DET figure/NOUN raise/VERB both/DET hand/NOUN"),
    ("she tries to jump over 2 boxes", "she/PRON try/VERB to/PART jump/VERB over/ADP box/NOUN"),
    ("a person does a T-pose", "a/DET person/NOUN do/VERB a/DET tpose/NOUN"),
])
def test_rule_based_tagger(text, want):
    assert " ".join(tag_caption(text)) == want
