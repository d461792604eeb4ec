"""Data-parallel training: 2 CPU ranks under torchrun (gloo) must match one process on the same global batch."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motionlab.checkpoints import load_tensors

HELPER = Path(__file__).resolve().parent / "helpers" / "ddp_train.py"


def _helper():
    spec = importlib.util.spec_from_file_location("ddp_train_helper", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MOTIONLAB_PROGRESS": "0"}
    env.pop("WORLD_SIZE", None), env.pop("RANK", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2",
           str(HELPER), str(out)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"torchrun did not finish in 90 s:\n{err.stdout}\n{err.stderr}")
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return out, proc.stdout


@pytest.mark.slow
def test_two_ranks_match_one_process(ddp_run, tmp_path):
    out, stdout = ddp_run
    single = _helper().run(tmp_path)  # the same trainings, in this process, on the whole global batch
    ranks = [load_tensors(out / f"rank{r}.safetensors") for r in range(2)]
    reference = load_tensors(tmp_path / "rank0.safetensors")
    for name, value in reference.items():
        if name.startswith("mlp."):
            torch.testing.assert_close(ranks[0][name], value, rtol=0, atol=1e-6, msg=name)
    ddp_history = json.loads((out / "result.json").read_text())["mlp"]
    assert [h["step"] for h in ddp_history] == [h["step"] for h in single["mlp"]]
    for a, b in zip(ddp_history, single["mlp"]):  # logged losses are averaged over ranks = the global mean
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    assert stdout.count("[train] done") == 3  # only rank 0 prints (three finished trainings)
    assert "x2 ranks" in stdout


@pytest.mark.slow
def test_ddp_checkpoint_and_exact_resume(ddp_run):
    out, stdout = ddp_run
    state = json.loads((out / "ckpt" / "checkpoint" / "state.json").read_text())
    assert state["world"] == 2 and state["step"] == 12
    assert len(state["rng"]) == 2 and state["rng"][0] != state["rng"][1]  # each rank's RNG is kept
    assert not list(out.glob("**/*.tmp")) and not list(out.glob("**/*.old"))
    assert json.loads((out / "result.json").read_text())["resumed_from"] == 4
    assert "resuming at step 4" in stdout
    ranks = [load_tensors(out / f"rank{r}.safetensors") for r in range(2)]
    for rank in ranks:
        for name, value in rank.items():
            if name.startswith("resumed."):  # interrupted + resumed == uninterrupted, bit for bit
                assert torch.equal(value, rank["mlp." + name[len("resumed."):]]), name


@pytest.mark.slow
def test_buffers_updated_in_forward_train_under_ddp(ddp_run):
    out, _ = ddp_run
    ranks = [load_tensors(out / f"rank{r}.safetensors") for r in range(2)]
    initial = _helper().EMACodebook().state_dict()
    for name, value in ranks[0].items():  # every rank ends with the same parameters and buffers
        assert torch.equal(value, ranks[1][name]), name
    assert ranks[0]["ema.updates"].item() == 10  # the forward's in-place update ran every step
    assert not torch.allclose(ranks[0]["ema.codebook"], initial["codebook"])
    assert not torch.allclose(ranks[0]["ema.encoder.weight"], initial["encoder.weight"])
    history = json.loads((out / "result.json").read_text())["ema"]
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in history)
