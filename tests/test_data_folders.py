"""Dataset folders: captions, writing and reading, statistics, normalisation and validation of bad input."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

from motionlab.data.features import feature_slices, features_to_joints
from motionlab.data.folders import (
    Caption, DatasetWarning, Motion, MotionFolder, Normalizer, compute_stats, format_caption_line, parse_caption_line,
    write_dataset,
)
from motionlab.errors import DatasetError, InputError

# group std values of the Std.npy shipped with HumanML3D (official_facts.md section 1.4)
SHIPPED_GROUP_STD = {"root_rot_vel": 0.01283, "root_lin_vel": 0.01693, "root_y": 0.15377, "ric": 0.12224,
                     "rot6d": 0.29969, "local_vel": 0.01947, "contacts": 0.35593}


@pytest.fixture
def dataset(tiny_dataset, tmp_path):
    """A private, writable copy of the tiny dataset (tests corrupt it)."""
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    return root


# -------------------------------------------------------------------------------------------- captions
def test_caption_line_round_trip():
    line = "a person walks forward#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0"
    cap = parse_caption_line(line)
    assert cap == Caption("a person walks forward", ("a/DET", "person/NOUN", "walk/VERB", "forward/ADV"))
    assert cap.whole and cap.words == ("a", "person", "walk", "forward")
    assert format_caption_line(cap) == line
    sub = parse_caption_line("then jumps#then/ADV jump/VERB#1.5#4.25")
    assert not sub.whole and (sub.start, sub.end) == (1.5, 4.25)
    assert parse_caption_line("x#x/NOUN#nan#nan").whole  # the official loaders read NaN times as 0
    with pytest.raises(InputError, match="#"):
        format_caption_line(Caption("bad # text"))


@pytest.mark.parametrize("line, match", [
    ("a person walks#a/DET person/NOUN#0.0", "malformed caption line .*4 '#'-separated fields.*found 3"),
    ("  #a/DET#0.0#0.0", "empty caption text"),
    ("walks#walk/VERB#zero#0.0", "non-numeric start time 'zero'"),
    ("walks#walk/VERB#2.0#1.0", "invalid time span"),
    ("walks#walk VERB#0.0#0.0", "malformed token 'walk'"),
])
def test_caption_line_errors_name_file_line_and_fault(line, match):
    with pytest.raises(DatasetError, match=match) as info:
        parse_caption_line(line, "texts/000001.txt", 3)
    assert str(info.value).startswith("texts/000001.txt:3: ")


# ------------------------------------------------------------------------------------- write and read
def test_tiny_dataset_layout_and_round_trip(tiny_dataset, hml3d_sample):
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        assert len(list((tiny_dataset / sub).iterdir())) == 12
    for f in ("Mean.npy", "Std.npy", "train.txt", "val.txt", "test.txt", "train_val.txt", "all.txt"):
        assert (tiny_dataset / f).is_file()
    folder = MotionFolder(tiny_dataset)
    assert folder.skeleton.name == "t2m"
    assert folder.names("train_val") == folder.names("train") + folder.names("val")
    motion = folder.load_motion("000003", with_joints=True)
    assert motion.features.dtype == np.float32 and motion.features.shape[1] == 263
    # new_joints are recovered from the features, as the official pipeline writes them
    assert np.abs(motion.joints - features_to_joints(motion.features)).max() < 1e-6
    assert motion.captions[0].tokens[0] == "a/DET"


def test_write_dataset_rejects_bad_motions(tmp_path):
    good = Motion("a", np.zeros((50, 263), np.float32), [Caption("x", ("x/NOUN",))])
    with pytest.raises(InputError, match="motion b: features have shape"):
        write_dataset(tmp_path / "w1", [good, Motion("b", np.zeros((50, 251)), good.captions)], {"train": ["a"]})
    with pytest.raises(InputError, match="not given"):
        write_dataset(tmp_path / "w2", [good], {"train": ["a", "zzz"]})
    with pytest.raises(InputError, match="appears twice"):
        write_dataset(tmp_path / "w3", [good, good], {"train": ["a"]})
    bad = Motion("c", np.full((50, 263), np.nan, np.float32), good.captions)
    with pytest.raises(InputError, match="motion c: features contain NaN"):
        write_dataset(tmp_path / "w4", [bad], {"train": ["c"]})


def _motion(name, length, captions, seed=0):
    rng = np.random.default_rng(seed)
    return Motion(name, rng.normal(size=(length, 263)).astype(np.float32), captions)


def test_load_split_lengths_and_subclips(tmp_path):
    whole = Caption("a person walks", ("a/DET", "person/NOUN", "walk/VERB"))
    motions = [
        _motion("long_ok", 150, [whole, Caption("sub", ("sub/NOUN",), 1.0, 4.0), Caption("tiny", ("t/NOUN",), 0.5, 1.0)]),
        _motion("too_short", 30, [whole]),
        _motion("too_long", 230, [whole]),
        _motion("only_sub", 120, [Caption("part", ("part/NOUN",), 0.5, 5.0)]),
    ]
    root = write_dataset(tmp_path / "ds", motions, {"train": [m.name for m in motions]})
    with pytest.warns(DatasetWarning, match="kept 3 samples from 4 listed motions"):
        split = MotionFolder(root).load_split("train", with_joints=True)
    assert split.names == ["long_ok", "A_long_ok", "A_only_sub"]  # sub-clips are samples of their own
    assert list(split.lengths) == [150, 60, 90]
    assert split.spans[1] == (20, 80) and split.sources[1] == "long_ok"
    assert np.array_equal(split.features[1], motions[0].features[20:80])
    assert split.joints[1].shape == (60, 22, 3)
    assert [c.text for c in split.captions[0]] == ["a person walks"]
    assert split.skipped["too short (< 40 frames)"] == ["too_short"]
    assert split.skipped["too long (>= 200 frames)"] == ["too_long"]
    assert split.skipped["sub-clip length out of range"] == ["long_ok[10:20]"]
    # KIT-style lower limit and no sub-clips
    with pytest.warns(DatasetWarning):
        loose = MotionFolder(root).load_split("train", min_len=24, max_len=None, subclips=False)
    assert loose.names == ["long_ok", "too_short"] and "no whole-motion caption" in loose.skipped


# --------------------------------------------------------------------------------- stats / normaliser
def test_compute_stats_group_averaged_std():
    rng = np.random.default_rng(0)
    feats = [rng.normal(size=(n, 263)) * np.linspace(0.1, 3, 263) for n in (50, 70, 90)]
    mean, std = compute_stats(feats)
    cat = np.concatenate(feats)
    assert np.allclose(mean, cat.mean(0), atol=1e-5)
    per_dim = cat.std(0)
    for _, sl in feature_slices("t2m").groups:
        assert np.allclose(std[sl], per_dim[sl].mean(), rtol=1e-5)
    with pytest.warns(DatasetWarning, match="skipped 1 array"):
        compute_stats(feats + [np.full((5, 263), np.inf)])
    const = [np.ones((10, 263))]
    with pytest.warns(DatasetWarning, match="constant"):
        assert (compute_stats(const)[1] == 1).all()


def test_shipped_stats_and_evaluator_normaliser(hml3d_sample):
    mean, std = np.load(hml3d_sample / "Mean.npy"), np.load(hml3d_sample / "Std.npy")
    lay = feature_slices("t2m")
    for name, sl in lay.groups:  # the shipped Std.npy is group-averaged, with these values
        assert np.allclose(std[sl], SHIPPED_GROUP_STD[name], atol=5e-6), name
    norm = Normalizer.from_stats(mean, std, "t2m", feat_bias=5.0)
    assert np.allclose(norm.std[0:4], std[0:4] / 5) and np.allclose(norm.std[259:], std[259:] / 5)
    assert np.array_equal(norm.std[4:259], std[4:259])
    x = np.random.default_rng(1).normal(size=(7, 263)).astype(np.float32)
    assert np.allclose(norm.denormalize(norm.normalize(x)), x, atol=1e-5)
    t = torch.from_numpy(x)[None].double()
    assert norm.normalize(t).dtype == torch.float64
    assert np.allclose(norm.normalize(t)[0].numpy(), norm.normalize(x), atol=1e-5)
    with pytest.raises(InputError, match="251 dims"):
        norm.normalize(np.zeros((3, 251)))
    with pytest.raises(InputError, match="strictly positive"):
        Normalizer(mean, np.zeros_like(std))


def test_normalizer_from_folder(tiny_dataset):
    folder = MotionFolder(tiny_dataset)
    norm = Normalizer.from_folder(tiny_dataset)
    assert np.allclose(norm.std[:4] * 5, folder.std[:4]) and np.allclose(norm.mean, folder.mean)
    raw = Normalizer.from_folder(tiny_dataset, feat_bias=1.0)
    assert np.array_equal(raw.std, folder.std)


# ------------------------------------------------------------------------------------ bad dataset input
def _corrupt_and_check(root, kind, path_part, match):
    report = MotionFolder(root).validate()
    hits = [p for p in report.problems if p.kind == kind]
    assert hits, f"expected a {kind} problem, got {report.counts()}"
    assert path_part in hits[0].path and path_part in hits[0].message
    assert any(__import__("re").search(match, p.message) for p in hits), [p.message for p in hits]
    return report


def test_clean_dataset_validates(tiny_dataset):
    report = MotionFolder(tiny_dataset).validate()
    assert report.ok and not report.problems, report.summary()
    assert report.checked == {"train": 8, "val": 2, "test": 2}


def test_missing_folder(dataset):
    shutil.rmtree(dataset / "texts")
    report = _corrupt_and_check(dataset, "missing_folder", "texts", "folder is missing")
    assert not report.ok
    with pytest.raises(DatasetError, match="texts: folder is missing"):
        MotionFolder(dataset).load_split("train")
    with pytest.raises(DatasetError, match="does not exist"):
        MotionFolder(dataset / "nope")


def test_missing_split_file(dataset):
    (dataset / "val.txt").unlink()
    _corrupt_and_check(dataset, "missing_split_file", "val.txt", "split file is missing")
    with pytest.raises(DatasetError, match=r"val.txt: split file is missing \(found: all, test, train, train_val\)"):
        MotionFolder(dataset).load_split("val")


def test_missing_split_entry(dataset):
    (dataset / "new_joint_vecs" / "000002.npy").unlink()
    _corrupt_and_check(dataset, "missing_features", "000002.npy", "listed in train.txt but the features file is missing")
    with pytest.warns(DatasetWarning, match=r"1 features file missing \(e.g. 000002\)"):
        split = MotionFolder(dataset).load_split("train")
    assert "000002" not in split.names and split.skipped["features file missing"] == ["000002"]


def test_wrong_feature_width(dataset):
    np.save(dataset / "new_joint_vecs" / "000001.npy", np.zeros((80, 250), np.float32))
    _corrupt_and_check(dataset, "wrong_width", "000001.npy", "wrong feature width 250; expected 263")
    with pytest.raises(DatasetError, match="000001.npy: wrong feature width 250"):
        MotionFolder(dataset).load_split("train")
    with pytest.warns(DatasetWarning, match="format error"):
        split = MotionFolder(dataset).load_split("train", strict=False)
    assert "000001" not in split.names


def test_wrong_array_rank(dataset):
    np.save(dataset / "new_joint_vecs" / "000004.npy", np.zeros((80, 22, 3), np.float32))
    _corrupt_and_check(dataset, "wrong_rank", "000004.npy", "rank 3")
    with pytest.raises(DatasetError, match="000004.npy: array has rank 3"):
        MotionFolder(dataset).load_motion("000004")


def test_nan_frames_are_skipped_counted_and_warned(dataset):
    feats = np.load(dataset / "new_joint_vecs" / "000005.npy")
    feats[10, 3] = np.nan
    feats[12, 5] = np.inf
    np.save(dataset / "new_joint_vecs" / "000005.npy", feats)
    report = _corrupt_and_check(dataset, "nan_frames", "000005.npy", "2 of .* frames have NaN or infinite values")
    assert report.ok  # a warning: the loaders skip it
    with pytest.warns(DatasetWarning, match=r"1 NaN or infinite values \(e.g. 000005\)"):
        split = MotionFolder(dataset).load_split("train")
    assert split.skipped == {"NaN or infinite values": ["000005"]} and len(split) == 7


def test_malformed_caption_line(dataset):
    path = dataset / "texts" / "000006.txt"
    path.write_text(path.read_text() + "no hashes at all\nwalks#walk/VERB#0.0\n")
    report = _corrupt_and_check(dataset, "malformed_caption", "000006.txt", r"000006.txt:3: malformed caption line")
    assert any(":4: malformed" in p.message for p in report.problems)  # every bad line, not only the first
    with pytest.raises(DatasetError, match=r"000006.txt:3: malformed caption line"):
        MotionFolder(dataset).load_split("train")


def test_empty_caption(dataset):
    (dataset / "texts" / "000007.txt").write_text("#a/DET#0.0#0.0\n")
    _corrupt_and_check(dataset, "empty_caption", "000007.txt", "empty caption text")


def test_caption_file_without_captions(dataset):
    (dataset / "texts" / "000007.txt").write_text("\n\n")
    _corrupt_and_check(dataset, "no_captions", "000007.txt", "has no captions")


def test_non_numeric_times(dataset):
    (dataset / "texts" / "000000.txt").write_text("a person walks#a/DET person/NOUN walk/VERB#0.0#end\n")
    _corrupt_and_check(dataset, "bad_time", "000000.txt", "non-numeric end time 'end'")


def test_missing_text_file(dataset):
    (dataset / "texts" / "000003.txt").unlink()
    _corrupt_and_check(dataset, "missing_text", "000003.txt", "caption file is missing")
    with pytest.raises(DatasetError, match="000003.txt: caption file is missing"):
        MotionFolder(dataset).load_split("train")


def test_mismatched_joints_and_features(dataset):
    joints = np.load(dataset / "new_joints" / "000008.npy")
    np.save(dataset / "new_joints" / "000008.npy", joints[:-3])
    _corrupt_and_check(dataset, "length_mismatch", "000008.npy", r"\d+ frames but 000008.npy in new_joint_vecs/ has")
    with pytest.raises(DatasetError, match="000008.npy: joints have shape"):
        MotionFolder(dataset).load_split("val", with_joints=True)


def test_unreadable_file(dataset):
    (dataset / "new_joint_vecs" / "000009.npy").write_bytes(b"this is not numpy")
    _corrupt_and_check(dataset, "unreadable_file", "000009.npy", "cannot be read as a numeric .npy array")


def test_bad_statistics(dataset):
    np.save(dataset / "Std.npy", np.zeros(263, np.float32))
    _corrupt_and_check(dataset, "bad_stats", "Std.npy", "263 dims have std <= 0")
    with pytest.raises(DatasetError, match="Std.npy: 263 dims have std <= 0"):
        Normalizer.from_folder(dataset)
    np.save(dataset / "Mean.npy", np.zeros(100, np.float32))
    assert MotionFolder(dataset).skeleton.name == "t2m"  # the features decide; the statistics file is at fault
    with pytest.raises(DatasetError, match=r"Mean.npy: statistics file has shape \(100,\); expected \(263,\)"):
        MotionFolder(dataset).mean


def test_out_of_range_and_duplicates_are_warnings(dataset):
    feats = np.load(dataset / "new_joint_vecs" / "000010.npy")
    np.save(dataset / "new_joint_vecs" / "000010.npy", feats[:20])
    np.save(dataset / "new_joints" / "000010.npy", np.load(dataset / "new_joints" / "000010.npy")[:20])
    (dataset / "test.txt").write_text("000010\n000011\n000011\n")
    report = _corrupt_and_check(dataset, "out_of_range", "000010.npy", r"20 frames, outside \[40, 200\)")
    assert "duplicate_entry" in report.kinds() and report.ok
    assert "out_of_range (warning): 1" in report.summary()


def test_report_raise_for_errors(dataset):
    (dataset / "texts" / "000003.txt").unlink()
    report = MotionFolder(dataset).validate()
    with pytest.raises(DatasetError, match="1 dataset error"):
        report.raise_for_errors()


def test_no_silent_skips(dataset):
    """Every name listed in a split is either loaded or accounted for in ``skipped``."""
    (dataset / "new_joint_vecs" / "000002.npy").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        split = MotionFolder(dataset).load_split("train")
    listed = set(MotionFolder(dataset).names("train"))
    accounted = set(split.sources) | {n for names in split.skipped.values() for n in names}
    assert listed == accounted


def test_write_dataset_streams_a_generator_and_stats_from_a_split(tmp_path):
    cap = [Caption("a person walks", ("a/DET", "person/NOUN", "walk/VERB"))]
    made = []

    def motions():
        for i in range(6):
            m = _motion(f"s{i}", 50 + 10 * i, cap, seed=i)
            made.append(m)
            yield m

    root = write_dataset(tmp_path / "gen", motions(), {"train": ["s0", "s1", "s2", "s3"], "val": ["s4"], "test": ["s5"]},
                         stats_from="train")
    assert (root / "all.txt").read_text().split() == [f"s{i}" for i in range(6)]
    mean, std = compute_stats([m.features for m in made[:4]])
    assert np.allclose(np.load(root / "Mean.npy"), mean) and np.allclose(np.load(root / "Std.npy"), std)
    with pytest.raises(InputError, match="stats_from='nope'"):
        write_dataset(tmp_path / "gen2", made, {"train": ["s0"]}, stats_from="nope")
