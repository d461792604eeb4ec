"""Runtime services: seeding, config hashing, the artifact cache, dataset resolution."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from motionlab import runtime
from motionlab.data.paths import resolve_dataset
from motionlab.profiles import FULL, SMOKE, get_profile


def test_seed_everything_repeats_all_generators():
    def draw():
        runtime.seed_everything(7)
        import random

        return random.random(), np.random.rand(), torch.rand(1).item()

    assert draw() == draw()


def test_rng_is_a_pure_function_of_seed_and_salt():
    a = runtime.rng(3, 10, "tokenizer").integers(1 << 30, size=4)
    b = runtime.rng(3, 10, "tokenizer").integers(1 << 30, size=4)
    c = runtime.rng(3, 11, "tokenizer").integers(1 << 30, size=4)
    assert (a == b).all() and not (a == c).all()
    g1 = runtime.torch_generator(5, "x")
    g2 = runtime.torch_generator(5, "x")
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))


def test_config_hash_is_stable_and_sensitive():
    assert runtime.config_hash(SMOKE.tokenizer) == runtime.config_hash(dataclasses.replace(SMOKE.tokenizer))
    assert runtime.config_hash(SMOKE.tokenizer) != runtime.config_hash(
        SMOKE.tokenizer.replace(steps=SMOKE.tokenizer.train.steps + 1))
    assert runtime.config_hash({"a": 1, "b": (1, 2)}) == runtime.config_hash({"b": [1, 2], "a": 1})
    with pytest.raises(ValueError, match="not JSON-like"):
        runtime.config_hash({"fn": print})


def test_load_or_train_trains_once_then_loads(isolated_cache):
    calls = []

    def train_fn(workdir):
        calls.append("train")
        (workdir / "value.json").write_text(json.dumps({"v": 41 + 1}))
        return 42

    def load_fn(folder):
        calls.append("load")
        return json.loads((folder / "value.json").read_text())["v"]

    cfg = {"width": 8}
    assert runtime.load_or_train("toy", "synth", cfg, train_fn, load_fn, verbose=False) == 42
    assert runtime.load_or_train("toy", "synth", cfg, train_fn, load_fn, verbose=False) == 42
    assert calls == ["train", "load"]
    folder = runtime.artifact_dir("toy", "synth", cfg)
    record = runtime.artifact_record(folder)
    assert record["config"] == cfg and record["data"] == "synth" and "machine" in record
    # another config is another artifact
    runtime.load_or_train("toy", "synth", {"width": 16}, train_fn, load_fn, verbose=False)
    assert calls[-1] == "train"


def test_interrupted_training_leaves_no_artifact_and_keeps_its_work_folder(isolated_cache):
    def failing(workdir):
        (workdir / "checkpoint.txt").write_text("step 5")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runtime.load_or_train("toy", "synth", {}, failing, lambda f: None, verbose=False)
    assert not runtime.artifact_dir("toy", "synth", {}).exists()

    seen = {}

    def resuming(workdir):
        seen["checkpoint"] = (workdir / "checkpoint.txt").read_text()
        return "done"

    assert runtime.load_or_train("toy", "synth", {}, resuming, lambda f: "loaded", verbose=False) == "done"
    assert seen["checkpoint"] == "step 5"


def test_profile_resolution_order(monkeypatch):
    monkeypatch.delenv("MOTIONLAB_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_profile("auto") is SMOKE
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_profile("auto") is FULL
    monkeypatch.setenv("MOTIONLAB_PROFILE", "smoke")
    assert get_profile("auto") is SMOKE
    assert get_profile("paper").name == "paper"  # an explicit name beats the environment
    with pytest.raises(ValueError, match="unknown profile 'tiny'"):
        get_profile("tiny")


def test_profiles_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMOKE.tokenizer.train.steps = 1  # type: ignore[misc]


def test_resolve_dataset_errors_name_the_problem(isolated_cache, tmp_path):
    with pytest.raises(FileNotFoundError, match="HumanML3D was not found"):
        resolve_dataset("humanml3d", "smoke")
    with pytest.raises(FileNotFoundError, match="neither 'synth'"):
        resolve_dataset(str(tmp_path / "nowhere"), "smoke")
    with pytest.raises(FileNotFoundError, match="not built"):
        resolve_dataset("synth", "smoke", build=False)
    assert resolve_dataset(str(tmp_path), "smoke") == tmp_path.resolve()


def test_explicit_unavailable_device_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.resolve_device("auto").type == "cpu"
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        runtime.resolve_device("cuda")


def test_records_are_strict_json_with_nan_as_null(tmp_path):
    record = {"std": float("nan"), "curve": np.array([1.0, np.inf]), "t": torch.tensor([0.5]), "n": np.int64(3)}
    path = runtime.write_json(tmp_path / "r.json", record)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"std": None, "curve": [1.0, None], "t": [0.5], "n": 3}
    with pytest.raises(runtime.InputError, match=r"record\['f'\].*function"):
        runtime.to_jsonable({"f": print}, "record")
