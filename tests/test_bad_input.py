"""Bad input and faults (issue 12): each is refused with one line naming the file, field and expected value,
or skipped with a counted warning -- never accepted silently, never a traceback."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

import motionlab
from motionlab import cli
from motionlab.checkpoints import load_model, save_model
from motionlab.data.commands import convert_joints_folder
from motionlab.data.folders import DatasetWarning, MotionFolder, write_dataset
from motionlab.data.synth.build import build_synth
from motionlab.errors import CheckpointError, DatasetError, InputError
from motionlab.text import encoders as enc

SUBCLIP = "a person waves#a/DET person/NOUN wave/VERB#{start}#{end}\n"


@pytest.fixture
def dataset(tiny_dataset, tmp_path):
    """A private, writable copy of the tiny dataset (tests corrupt it)."""
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    return root


def run_cli(argv, capsys) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.startswith("motionlab: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


# ---------------------------------------------------------------------------------- 1. span past the end
def test_caption_span_past_the_motion_end_is_an_error_not_a_shorter_clip(dataset):
    n = len(np.load(dataset / "new_joint_vecs" / "000001.npy"))
    with open(dataset / "texts" / "000001.txt", "a") as fh:
        fh.write(SUBCLIP.format(start=1.0, end=500.0))
    report = MotionFolder(dataset).validate()
    assert "span_past_end" in report.kinds() and not report.ok
    (problem,) = [p for p in report.problems if p.kind == "span_past_end"]
    assert "000001.txt" in problem.message and f"the motion has {n} frames" in problem.message
    with pytest.raises(DatasetError, match=r"000001.txt: caption 'a person waves' spans 1-500 s"):
        MotionFolder(dataset).load_split("train")
    with pytest.warns(DatasetWarning, match="1 sub-clip runs past the motion's end"):
        data = MotionFolder(dataset).load_split("train", strict=False)
    assert not any(name.endswith("_000001") for name in data.names)


def test_caption_span_ending_at_the_last_pose_still_loads(dataset):
    n = len(np.load(dataset / "new_joint_vecs" / "000001.npy"))
    with open(dataset / "texts" / "000001.txt", "a") as fh:  # features have one row fewer than the poses
        fh.write(SUBCLIP.format(start=0.5, end=(n + 1) / 20))
    assert MotionFolder(dataset).validate().ok
    data = MotionFolder(dataset).load_split("train")
    assert "A_000001" in data.names


# ---------------------------------------------------------------------------- 2. one motion, two splits
def test_a_motion_in_train_and_test_fails_the_check_and_warns_on_load(dataset):
    with open(dataset / "test.txt", "a") as fh:
        fh.write("000001\n")  # listed in train.txt too
    report = MotionFolder(dataset).validate()
    assert "split_overlap" in report.kinds() and not report.ok
    assert "test.txt: 1 motion(s) also listed in train.txt (e.g. '000001')" in report.summary()
    with pytest.warns(DatasetWarning, match="listed in both train.txt and test.txt"):
        MotionFolder(dataset).load_split("test")


# ---------------------------------------------------------------- 3. convert into an existing dataset
@pytest.fixture
def joints_dir(tmp_path, hml3d_sample):
    """Three (T, 22, 3) joint arrays with plain-sentence captions, as a user brings them to `convert`."""
    src = tmp_path / "joints"
    src.mkdir()
    joints = np.load(hml3d_sample / "new_joints" / "012314.npy").astype(np.float32)
    for i, word in enumerate(["walks", "waves", "jumps"]):
        np.save(src / f"clip{i}.npy", joints[i * 5:i * 5 + 60])
        (src / f"clip{i}.txt").write_text(f"a person {word}\n")
    return src


def test_convert_refuses_to_overwrite_a_dataset_unless_forced(joints_dir, tmp_path, capsys):
    out = tmp_path / "ds"
    convert_joints_folder(joints_dir, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(DatasetError, match="already holds a dataset; refusing to overwrite it.*--force"):
        convert_joints_folder(joints_dir, out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # untouched
    code, _, err = run_cli(["data", "convert", joints_dir, out], capsys)
    assert_one_line_error(code, err, str(out), "--force")
    (joints_dir / "clip0.npy").unlink()
    convert_joints_folder(joints_dir, out, force=True)  # replaced on purpose: only the new motions remain
    assert (out / "all.txt").read_text().split() == ["clip1", "clip2"]
    assert sorted(p.stem for p in (out / "new_joint_vecs").iterdir()) == ["clip1", "clip2"]
    assert not list(tmp_path.glob(".ds.*"))  # no work folder left beside it


def test_writers_refuse_folders_they_did_not_make(joints_dir, tmp_path, tiny_dataset):
    motion = MotionFolder(tiny_dataset).load_motion("000001")
    with pytest.raises(DatasetError, match="already holds a dataset; refusing to overwrite"):
        write_dataset(tiny_dataset, [motion], {"train": ["000001"]})
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(DatasetError, match="is not empty and holds no dataset"):
        convert_joints_folder(joints_dir, other, force=True)
    with pytest.raises(DatasetError, match="refusing to delete it even with force=True"):
        build_synth(other, 3, workers=1, progress=False, force=True)
    assert (other / "thesis.tex").read_text() == "precious"


# ----------------------------------------------------------------------- 4. a prompt of unknown pieces
class _UnknownOnly(enc.TextEncoder):
    """A stand-in encoder that recognises only ASCII words (the MiniLM check is in test_text_encoders)."""

    name, dim, max_tokens = "fake", 4, 16

    def _load(self):
        return self

    def _encode(self, texts, batch_size):
        return torch.zeros(len(texts), self.dim)

    def count_tokens(self, texts):
        return [len(t.split()) + 2 for t in texts]

    def count_known_pieces(self, texts):
        return [sum(w.isascii() for w in t.split()) for t in texts]


def test_a_prompt_of_only_unknown_pieces_is_refused_like_an_empty_one():
    encoder = _UnknownOnly()
    assert enc.check_prompts(["🙂 a person waves"], encoder=encoder) == ["🙂 a person waves"]
    with pytest.raises(InputError, match=r"prompt 1 \('🙂🙂'\) has no word the fake encoder knows"):
        enc.check_prompts(["a person waves", "🙂🙂"], encoder=encoder)
    with pytest.raises(InputError, match="has no word"):
        encoder.encode(["🎉"])


# ------------------------------------------------------------------- 5 and 11. checkpoints that lie
@dataclass(frozen=True)
class HeadConfig:
    n_embd: int = 4
    n_head: int = 2
    dropout: float = 0.1
    kernel: tuple[int, int] = (3, 1)


class Head(nn.Module):
    config_class = HeadConfig

    def __init__(self, config: HeadConfig):
        super().__init__()
        self.config = config
        self.proj = nn.Linear(config.n_embd, config.n_embd * config.n_head)


def test_non_finite_weights_are_refused_at_load_naming_the_tensor(tmp_path):
    save_model(Head(HeadConfig()), tmp_path)
    weights = load_file(str(tmp_path / "model.safetensors"))
    weights["proj.weight"][0, :3] = float("nan")
    weights["proj.bias"][1] = float("inf")
    save_file(weights, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"model.safetensors: 2 tensor\(s\) hold NaN or infinite values") as info:
        load_model(Head, tmp_path)
    assert "'proj.weight' (3 of 32 values)" in str(info.value) and "'proj.bias' (1 of 8 values)" in str(info.value)


@pytest.mark.parametrize("field, value, expected", [
    ("n_head", "four", r"field 'n_head' of HeadConfig is 'four' \(str\); expected an integer"),
    ("n_head", 2.5, r"field 'n_head' of HeadConfig is 2.5 \(float\); expected an integer"),
    ("n_head", True, r"field 'n_head' of HeadConfig is True \(bool\); expected an integer"),
    ("dropout", None, r"field 'dropout' of HeadConfig is None \(NoneType\); expected a finite number"),
    ("kernel", [3, "x"], r"field 'kernel' of HeadConfig is \(3, 'x'\) \(tuple\); expected a list of 2 values"),
])
def test_config_field_of_the_wrong_type_names_file_field_and_value(tmp_path, field, value, expected):
    save_model(Head(HeadConfig()), tmp_path)
    path = tmp_path / "config.json"
    config = json.loads(path.read_text())
    config[field] = value
    path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=f"config.json: {expected}"):
        load_model(Head, tmp_path)


def test_config_with_nan_number_is_refused(tmp_path):
    save_model(Head(HeadConfig()), tmp_path)
    path = tmp_path / "config.json"
    path.write_text(path.read_text().replace('"dropout": 0.1', '"dropout": NaN'))
    with pytest.raises(CheckpointError, match="field 'dropout' of HeadConfig is nan .*expected a finite number"):
        load_model(Head, tmp_path)


# ----------------------------------------------------------------- 6. statistics of the wrong width
def test_a_mean_of_the_wrong_width_is_blamed_not_the_features(dataset):
    np.save(dataset / "Mean.npy", np.zeros(251, np.float32))  # KIT's width in a HumanML3D folder
    report = MotionFolder(dataset).validate()
    assert report.skeleton == "t2m"
    assert report.counts() == {"bad_stats": 1}, report.summary()
    assert "Mean.npy: statistics file has shape (251,); expected (263,)" in report.errors[0].message


# ------------------------------------------------------------------- every loader checks finiteness
def test_non_finite_joints_are_reported_and_skipped(dataset):
    path = dataset / "new_joints" / "000002.npy"
    joints = np.load(path)
    joints[5, 3] = np.nan
    np.save(path, joints)
    report = MotionFolder(dataset).validate()
    assert report.counts() == {"nan_frames": 1} and "000002.npy: 1 of" in report.warnings[0].message
    with pytest.warns(DatasetWarning, match="1 NaN or infinite values"):
        data = MotionFolder(dataset).load_split("train", with_joints=True)
    assert "000002" not in data.sources


def test_corrupt_embedding_shards_are_ignored_with_a_warning(tmp_path):
    store = enc._EmbeddingStore(tmp_path, dim=2)
    np.savez(tmp_path / "shard-nan.npz", keys=np.array([b"a" * 40], dtype="S40"),
             emb=np.full((1, 2), np.nan, np.float16))
    (tmp_path / "shard-junk.npz").write_bytes(b"not a zip file")
    with pytest.warns(UserWarning) as caught:
        assert store.lookup([b"a" * 40]) == {}  # the caption is encoded again instead of read back as NaN
    messages = " ".join(str(w.message) for w in caught)
    assert "shard-nan.npz: 1 of 1 rows hold NaN" in messages and "unreadable embedding shard" in messages


# ---------------------------------------------------------------------- 7. a name listed twice
def test_load_split_counts_names_listed_twice(dataset):
    (dataset / "test.txt").write_text("000010\n000011\n000010\n000010\n")
    with pytest.warns(DatasetWarning, match="2 listed more than once in the split"):
        data = MotionFolder(dataset).load_split("test", subclips=False)
    assert data.names == ["000010", "000011"]
    assert data.skipped == {"listed more than once in the split": ["000010", "000010"]}


# ----------------------------------------------------------------------- 8. a split that is not UTF-8
def test_a_split_file_that_is_not_utf8_is_named(dataset, capsys):
    (dataset / "val.txt").write_bytes("000008\n00000\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"val.txt: split file is not UTF-8 text \(byte 12"):
        MotionFolder(dataset).names("val")
    report = MotionFolder(dataset).validate()
    assert "unreadable_split_file" in report.kinds() and not report.ok
    code, out, err = run_cli(["data", "check", dataset], capsys)
    assert code == 1 and "val.txt: split file is not UTF-8" in out and "Traceback" not in err


def test_a_caption_source_that_is_not_utf8_is_named(joints_dir, tmp_path):
    (joints_dir / "clip1.txt").write_bytes("une personne saute \xe0 pieds joints\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="clip1.txt: caption file is not UTF-8 text"):
        convert_joints_folder(joints_dir, tmp_path / "out")


# ----------------------------------------------------------------------- 9. an --out that cannot be written
@pytest.fixture
def no_generation(monkeypatch):
    """generate must fail before it loads, trains or generates anything."""
    import motionlab.generators.train_t2m_gpt as t2m

    def refuse(*args, **kwargs):
        raise AssertionError("reached the model")

    monkeypatch.setattr(t2m, "get_t2m_gpt", refuse)
    monkeypatch.setattr(t2m, "t2m_gpt_is_cached", refuse)
    monkeypatch.setattr(enc, "check_prompts", refuse)


def test_generate_checks_out_before_any_work(tmp_path, capsys, no_generation):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = run_cli(["generate", "a person waves", "--out", blocker / "sub" / "wave.html"], capsys)
    assert_one_line_error(code, err, f"{blocker} is a file, not a folder")
    (tmp_path / "page.html").mkdir()
    code, out, err = run_cli(["generate", "a person waves", "--out", tmp_path / "page.html"], capsys)
    assert_one_line_error(code, err, "page.html is a folder")


def test_generate_on_a_read_only_folder_fails_first(tmp_path, capsys, monkeypatch, no_generation):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", read_only)
    code, out, err = run_cli(["generate", "a person waves", "--out", tmp_path / "wave.html"], capsys)
    assert_one_line_error(code, err, f"cannot write into {tmp_path} (Read-only file system)")
    assert "T2M-GPT" not in out


# ------------------------------------------------------------------- 10. expected errors: one line, code 2
def test_unknown_profile_is_one_line(capsys, monkeypatch):
    import motionlab.book as book

    monkeypatch.setattr(book, "run_chapters", lambda **kw: pytest.fail("ran chapters with a bad profile"))
    for argv in (["info", "--profile", "huge"], ["book", "run", "--profile", "huge"],
                 ["data", "synth", "--profile", "huge"]):
        code, _, err = run_cli(argv, capsys)
        assert_one_line_error(code, err, "--profile: unknown profile 'huge': expected one of smoke")
    monkeypatch.setenv("MOTIONLAB_PROFILE", "huge")
    code, _, err = run_cli(["info"], capsys)
    assert_one_line_error(code, err, "$MOTIONLAB_PROFILE: unknown profile 'huge'")


def test_unavailable_device_is_one_line(capsys, monkeypatch, no_generation):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli(["generate", "a person waves", "--device", "cuda"], capsys)
    assert_one_line_error(code, err, "--device 'cuda': CUDA is not available on this machine; use --device cpu")
    code, _, err = run_cli(["book", "run", "--device", "gpu"], capsys)
    assert_one_line_error(code, err, "--device 'gpu': not a device torch knows")


def test_os_errors_are_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run_cli(["data", "synth", "--profile", "smoke", "--motions", "3", "--out", blocker / "synth"],
                           capsys)
    assert_one_line_error(code, err, str(blocker))


# -------------------------------------------------------------------- 12. builds stopped from outside
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.filterwarnings("ignore:feature group contacts is constant")  # three motions: expected
def test_stale_build_folders_of_dead_processes_are_removed(tmp_path):
    out = tmp_path / "synth"
    stale = tmp_path / f".synth.building-{_dead_pid()}"
    (stale / "new_joint_vecs").mkdir(parents=True)
    alive = tmp_path / f".synth.building-{os.getppid()}"  # a running process's build is left alone
    alive.mkdir()
    with pytest.warns(DatasetWarning, match="removed 1 unfinished MotionLab-Synth build folder"):
        build_synth(out, 3, workers=1, progress=False)
    assert not stale.exists() and alive.exists() and (out / "all.txt").is_file()


def test_sigterm_during_a_build_removes_its_folder_without_tracebacks(tmp_path):
    script = ("import sys; from motionlab.data.synth.build import build_synth; "
              "build_synth(sys.argv[1], 5000, workers=2, progress=False)")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(motionlab.__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "synth")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".synth.building-*/new_joint_vecs/*.npy")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert list(tmp_path.iterdir()) == []  # neither the half-written build nor the final folder


# --------------------------------------------------------------- 13. a real dataset that is not there
def test_generate_without_the_dataset_does_not_promise_training(isolated_cache, capsys, no_generation):
    code, out, err = run_cli(["generate", "a person waves", "--data", "humanml3d", "--out",
                              isolated_cache / "wave.html"], capsys)
    assert_one_line_error(code, err, "HumanML3D was not found at")
    assert "training" not in out
