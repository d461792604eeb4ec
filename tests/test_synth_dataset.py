"""Building MotionLab-Synth: layout, determinism, splits, mirrors, the CLI and its errors."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from motionlab.data.folders import MotionFolder
from motionlab.data.paths import resolve_dataset
from motionlab.data.synth import META_FILE, build_synth, make_motion, split_names
from motionlab.data.synth.cli import synth_command
from motionlab.errors import DatasetError, InputError


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return build_synth(tmp_path_factory.mktemp("synth") / "a", n_motions=20, seed=0, workers=1, progress=False)


def test_layout_splits_and_mirrors(small):
    folder = MotionFolder(small)
    report = folder.validate()
    assert not report.problems, report.problems
    names = {s: folder.names(s) for s in ("train", "val", "test")}
    assert [len(v) for v in names.values()] == [32, 2, 6]  # 16/1/3 base motions, each with its mirror
    for split, listed in names.items():
        base = [n for n in listed if not n.startswith("M")]
        assert sorted("M" + n for n in base) == sorted(n for n in listed if n.startswith("M"))  # mirror stays
    assert len(folder.names("all")) == 40
    assert not set(names["train"]) & set(names["test"])
    meta = json.loads((small / META_FILE).read_text())
    assert meta["n_motions"] == 20 and len(meta["motions"]) == 20
    split = folder.load_split("train", with_joints=True)
    assert split.n_skipped == 0
    lengths = np.array([len(folder.load_features(n)) for n in folder.names("all")])
    assert lengths.min() >= 40 and lengths.max() <= 196
    for name in folder.names("all")[:6]:
        caps = folder.load_captions(name)
        assert len(caps) == 3 and len({c.text for c in caps}) == 3


def test_mirror_motion_and_text_are_consistent(small):
    folder = MotionFolder(small)
    meta = json.loads((small / META_FILE).read_text())
    for entry in meta["motions"]:
        name = entry["name"]
        a, m = folder.load_motion(name, with_joints=True), folder.load_motion("M" + name, with_joints=True)
        np.testing.assert_allclose(m.joints[..., 0], -a.joints[..., [0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13,
                                                                   15, 17, 16, 19, 18, 21, 20], 0], atol=1e-4)
        for ca, cm in zip(a.captions, m.captions):
            swapped = ca.text.replace("left", "\0").replace("right", "left").replace("\0", "right")
            swapped = swapped.replace("counterclockwise", "\1").replace("clockwise", "counterclockwise").replace("\1", "clockwise")
            assert cm.text == swapped and (cm.start, cm.end) == (ca.start, ca.end)
    # a one-sided action: the named hand is the one that moves, in the motion and in its mirror
    for i in range(200):
        made = make_motion(i, seed=0)
        sides = [p.get("side") for p, a in zip(made.meta["params"], made.meta["actions"]) if a == "wave"]
        if made.meta["actions"] == ["wave"] and sides[0] in ("left", "right"):
            break
    else:
        pytest.skip("no single-wave motion among the first 200")
    j, mj = made.motion.joints, made.mirrored.joints
    lw, rw = (20, 21) if sides[0] == "left" else (21, 20)
    assert j[:, lw, 1].max() > j[:, rw, 1].max() + 0.2
    assert mj[:, rw, 1].max() > mj[:, lw, 1].max() + 0.2
    named = [c.text for c in made.motion.captions if "left" in c.text or "right" in c.text]
    for text, mtext in zip(named, [c.text for c in made.mirrored.captions if "left" in c.text or "right" in c.text]):
        assert (sides[0] in text) and ({"left": "right", "right": "left"}[sides[0]] in mtext)


def test_same_seed_same_bytes_other_seed_other_motions(small, tmp_path):
    again = build_synth(tmp_path / "b", n_motions=20, seed=0, workers=1, progress=False)
    assert _digest(again) == _digest(small)
    other = build_synth(tmp_path / "c", n_motions=20, seed=1, workers=1, progress=False)
    a, b = MotionFolder(small), MotionFolder(other)
    diff = [not np.array_equal(a.load_features(n), b.load_features(n)) if len(a.load_features(n)) == len(b.load_features(n))
            else True for n in a.names("all")[:10]]
    assert all(diff)
    assert (a.mean != b.mean).any()


@pytest.mark.slow
def test_workers_do_not_change_the_result(tmp_path):
    one = build_synth(tmp_path / "one", n_motions=64, seed=3, workers=1, progress=False)
    two = build_synth(tmp_path / "two", n_motions=64, seed=3, workers=2, progress=False)
    assert _digest(one) == _digest(two)


def test_existing_builds_are_kept_or_refused(small, tmp_path):
    before = (small / "Mean.npy").stat().st_mtime_ns
    assert build_synth(small, n_motions=20, seed=0, workers=1) == small
    assert (small / "Mean.npy").stat().st_mtime_ns == before  # kept, not rebuilt
    with pytest.raises(DatasetError, match="different MotionLab-Synth build"):
        build_synth(small, n_motions=21, seed=0, workers=1)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not a MotionLab-Synth folder"):
        build_synth(foreign, n_motions=5, workers=1)
    assert (foreign / "notes.txt").read_text() == "keep me"
    with pytest.raises(InputError, match="at least 3"):
        build_synth(tmp_path / "tiny", n_motions=2)
    with pytest.raises(InputError, match="integer"):
        build_synth(tmp_path / "float", n_motions=5.5)
    assert not (tmp_path / "tiny").exists()


def test_splits_are_80_5_15_and_deterministic():
    s = split_names(1000, seed=0)
    assert [len(s[k]) for k in ("train", "val", "test")] == [800, 50, 150]
    assert s == split_names(1000, seed=0) and s != split_names(1000, seed=1)
    assert sorted(sum(s.values(), [])) == [f"{i:06d}" for i in range(1000)]


def test_cli_and_resolve_dataset(isolated_cache, monkeypatch, capsys):
    out = isolated_cache / "cli_synth"
    args = argparse.Namespace(profile="smoke", out=str(out), seed=0, motions=6, no_mirror=True, force=False)
    assert synth_command(args) == 0
    assert "6 motions" in capsys.readouterr().out
    folder = MotionFolder(out)
    assert len(folder.names("all")) == 6 and not any(n.startswith("M") for n in folder.names("all"))
    args.force, args.seed = True, 2
    assert synth_command(args) == 0
    assert json.loads((out / META_FILE).read_text())["seed"] == 2
    with pytest.raises(InputError):
        synth_command(argparse.Namespace(profile="smoke", out=str(out), seed=0, motions=1, no_mirror=False, force=True))
    # resolve_dataset builds the profile's set on first use (shrunk here to keep the test fast)
    from motionlab import profiles

    small = profiles.SMOKE.with_overrides(data=profiles.DataSpec(synth_motions=8))
    folder = resolve_dataset("synth", small)
    assert (folder / "all.txt").exists() and len(MotionFolder(folder).names("all")) == 16
