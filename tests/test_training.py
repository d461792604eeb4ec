"""The training loop: schedules, clipping, progress, evaluation, exact resume and the batch sampler."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from torch import nn

from motionlab.errors import InputError
from motionlab.training import (
    RandomBatches,
    TrainConfig,
    lr_at,
    param_groups,
    progress_enabled,
    shard_batch,
    train,
)


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.delenv("MOTIONLAB_PROGRESS", raising=False)
    monkeypatch.delenv("CI", raising=False)


W_TRUE = torch.tensor([[1.0, -2.0], [0.5, 0.0], [0.0, 1.5], [-1.0, 1.0]])  # (4, 2)


def regression_batch(step: int) -> dict:
    """Global batch of a step: x (16, 4), y = x W + noise (16, 2); a function of the step only."""
    g = torch.Generator().manual_seed(step)
    x = torch.randn(16, 4, generator=g)
    return {"x": x, "y": x @ W_TRUE + 0.01 * torch.randn(16, 2, generator=g)}


def mse_loss(model, batch):
    err = ((model(batch["x"]) - batch["y"]) ** 2).mean()
    return {"loss": err, "rmse": err.detach().sqrt()}


def make_model(seed: int = 0, dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.Dropout(dropout), nn.GELU(), nn.Linear(16, 2))


# ------------------------------------------------------------------------------------------ schedules
def test_warmup_then_step_milestones():
    cfg = TrainConfig(steps=30, lr=1.0, batch_size=1, warmup_steps=4, schedule="step", milestones=(10, 20), gamma=0.5)
    assert [lr_at(cfg, s) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lr_at(cfg, 9) == 1.0
    assert lr_at(cfg, 10) == 0.5 and lr_at(cfg, 19) == 0.5
    assert lr_at(cfg, 20) == 0.25 and lr_at(cfg, 29) == 0.25


def test_cosine_reaches_min_lr_and_constant_stays():
    cfg = TrainConfig(steps=110, lr=1e-3, batch_size=1, warmup_steps=10, schedule="cosine", min_lr=1e-5)
    assert lr_at(cfg, 0) == pytest.approx(1e-4)
    assert lr_at(cfg, 10) == pytest.approx(1e-3)  # end of warm-up = peak
    assert lr_at(cfg, 60) == pytest.approx((1e-3 + 1e-5) / 2)  # half-way through the decay
    assert lr_at(cfg, 110) == pytest.approx(1e-5)  # the end of the run
    lrs = [lr_at(cfg, s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))  # monotone decay after warm-up
    const = TrainConfig(steps=10, lr=0.1, batch_size=1)
    assert {lr_at(const, s) for s in range(10)} == {0.1}


def test_optimizer_uses_the_schedule():
    cfg = TrainConfig(steps=12, lr=0.01, batch_size=16, warmup_steps=3, schedule="step", milestones=(6,),
                      gamma=0.1, log_every=1, progress=False)
    result = train(make_model(), regression_batch, mse_loss, cfg, device="cpu")
    assert [h["lr"] for h in result.history] == pytest.approx([lr_at(cfg, s) for s in range(12)])


@pytest.mark.parametrize("bad", [dict(steps=0), dict(lr=0.0), dict(schedule="linear"), dict(milestones=(5, 2)),
                                 dict(best_mode="best"), dict(grad_clip=0.0), dict(min_lr=1.0)])
def test_config_rejects_bad_values(bad):
    with pytest.raises(InputError, match=next(iter(bad))):
        TrainConfig(**{"steps": 10, "lr": 0.1, "batch_size": 4, **bad})


# -------------------------------------------------------------------------------------- optimisation
def test_loss_decreases_on_toy_regression():
    cfg = TrainConfig(steps=100, lr=2e-2, batch_size=16, warmup_steps=10, schedule="cosine", log_every=10,
                      progress=False)
    result = train(make_model(), regression_batch, mse_loss, cfg, device="cpu")
    assert result.steps == 100 and len(result.history) == 10
    assert set(result.history[0]) == {"step", "lr", "loss", "rmse"}
    assert result.history[-1]["loss"] < 0.05 * result.history[0]["loss"]


def _grad_norms_seen_by_optimizer(cfg) -> list[float]:
    norms = []

    def hook(optimizer, args, kwargs):
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])).item())

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    handle = register_optimizer_step_pre_hook(hook)
    try:
        train(make_model(), regression_batch, lambda m, b: {"loss": 100 * mse_loss(m, b)["loss"]}, cfg, device="cpu")
    finally:
        handle.remove()
    return norms


def test_grad_clipping_clips():
    base = dict(steps=8, lr=1e-3, batch_size=16, log_every=1, progress=False)
    unclipped = _grad_norms_seen_by_optimizer(TrainConfig(**base))
    clipped = _grad_norms_seen_by_optimizer(TrainConfig(**base, grad_clip=0.5))
    assert len(clipped) == 8 and min(unclipped) > 0.5  # the clip has work to do ...
    assert max(clipped) <= 0.5 * (1 + 1e-5)  # ... and the optimizer never sees a larger gradient


def test_weight_decay_only_on_matrices_by_default():
    model = make_model()
    groups = param_groups(model, None, TrainConfig(steps=1, lr=0.1, batch_size=1, weight_decay=0.1))
    decayed = {p.ndim for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    plain = {p.ndim for g in groups if g["weight_decay"] == 0 for p in g["params"]}
    assert decayed == {2} and plain == {1}
    groups = param_groups(model, None, TrainConfig(steps=1, lr=0.1, batch_size=1, weight_decay=0.1,
                                                   weight_decay_on="all"))
    assert len(groups) == 1 and groups[0]["weight_decay"] == 0.1


def test_trainable_subset_leaves_the_rest_unchanged():
    model = make_model()
    frozen = model[3].weight.detach().clone()
    cfg = TrainConfig(steps=5, lr=1e-2, batch_size=16, progress=False)
    train(model, regression_batch, mse_loss, cfg, device="cpu", trainable=lambda name: name.startswith("0."))
    assert torch.equal(model[3].weight, frozen)


def test_loss_fn_must_return_loss_dict():
    cfg = TrainConfig(steps=2, lr=1e-2, batch_size=16, progress=False)
    with pytest.raises(InputError, match="'loss'"):
        train(make_model(), regression_batch, lambda m, b: {"mse": mse_loss(m, b)["loss"]}, cfg, device="cpu")


def test_divergence_is_reported():
    cfg = TrainConfig(steps=4, lr=1e-2, batch_size=16, log_every=2, progress=False)
    with pytest.raises(FloatingPointError, match="step 2"):
        train(make_model(), regression_batch, lambda m, b: {"loss": mse_loss(m, b)["loss"] * float("nan")}, cfg,
              device="cpu")


# -------------------------------------------------------------------------------------- evaluation
def test_best_weights_are_restored_at_the_end():
    model = make_model()
    snapshots = {}

    def eval_fn(m, step):
        assert not m.training and not torch.is_grad_enabled()
        snapshots[step] = m[0].weight.detach().clone()
        return {"score": {4: 1.0, 8: 5.0, 12: 2.0}[step]}  # step 8 is best under "max"

    cfg = TrainConfig(steps=12, lr=1e-2, batch_size=16, eval_every=4, best_metric="score", best_mode="max",
                      progress=False)
    result = train(model, regression_batch, mse_loss, cfg, device="cpu", eval_fn=eval_fn)
    assert [e["step"] for e in result.evals] == [4, 8, 12]
    assert result.best == {"step": 8, "score": 5.0}
    assert torch.equal(model[0].weight, snapshots[8]) and not torch.equal(snapshots[8], snapshots[12])
    assert model.training  # eval mode was only for the evaluation


def test_unknown_best_metric_is_an_error():
    cfg = TrainConfig(steps=2, lr=1e-2, batch_size=16, best_metric="fid", progress=False)
    with pytest.raises(InputError, match="fid"):
        train(make_model(), regression_batch, mse_loss, cfg, device="cpu", eval_fn=lambda m, s: {"val": 1.0})


# ---------------------------------------------------------------------------------------- progress
def test_progress_quiet_when_not_a_tty(capsys, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a TTY
    assert progress_enabled(None) is False
    cfg = TrainConfig(steps=80, lr=1e-2, batch_size=16, log_every=2, eval_every=4)
    train(make_model(), regression_batch, mse_loss, cfg, device="cpu", eval_fn=lambda m, s: {"val": 1.0})
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert 3 <= len(lines) <= 10, out
    assert lines[0].startswith("[train]") and "step 80/80" in out
    assert "it/s" not in out and "s/it" not in out  # no timings in notebook outputs
    import sys

    assert sys.stderr.getvalue() == ""  # no tqdm bar


def test_progress_env_and_tty(monkeypatch):
    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", FakeTTY())
    assert progress_enabled(None) is True
    assert progress_enabled(False) is False
    monkeypatch.setenv("MOTIONLAB_PROGRESS", "0")
    assert progress_enabled(True) is False
    monkeypatch.setenv("MOTIONLAB_PROGRESS", "1")
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert progress_enabled(None) is True
    monkeypatch.delenv("MOTIONLAB_PROGRESS")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr("sys.stderr", FakeTTY())
    assert progress_enabled(None) is False


def test_progress_bar_in_a_terminal(monkeypatch, capsys):
    monkeypatch.setenv("MOTIONLAB_PROGRESS", "1")
    cfg = TrainConfig(steps=6, lr=1e-2, batch_size=16, log_every=2)
    train(make_model(), regression_batch, mse_loss, cfg, device="cpu")
    captured = capsys.readouterr()
    assert "train" in captured.err and "6/6" in captured.err  # tqdm writes to stderr
    assert captured.out == ""


# ------------------------------------------------------------------------------------------ resume
RESUME_CFG = TrainConfig(steps=23, lr=5e-3, batch_size=16, warmup_steps=4, schedule="cosine", grad_clip=1.0,
                         weight_decay=0.05, log_every=3, eval_every=5, checkpoint_every=4, best_metric="val",
                         seed=7, progress=False)


def _val(model, step):
    torch.rand(3)  # evaluation that consumes the global RNG must not break exact resume
    return {"val": mse_loss(model, regression_batch(10_000))["loss"].item()}


class Interrupt(Exception):
    pass


def _interrupting(at: int):
    def batch_fn(step):
        if step == at:
            raise Interrupt
        return regression_batch(step)

    return batch_fn


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    model = make_model(dropout=0.3)  # dropout: resume must restore the torch RNG to match
    result = train(model, regression_batch, mse_loss, RESUME_CFG, device="cpu", eval_fn=_val,
                   checkpoint_dir=tmp_path_factory.mktemp("full"))
    return model, result


@pytest.mark.parametrize("stop_at", [2, 9, 22])  # before the first checkpoint, mid-window, the last step
def test_resume_is_exact(tmp_path, uninterrupted, stop_at, monkeypatch):
    ref_model, ref = uninterrupted
    with pytest.raises(Interrupt):
        train(make_model(dropout=0.3), _interrupting(stop_at), mse_loss, RESUME_CFG, device="cpu", eval_fn=_val,
              checkpoint_dir=tmp_path)

    def no_pickles(*args, **kwargs):
        raise AssertionError("a checkpoint was read with torch.load")

    monkeypatch.setattr(torch, "load", no_pickles)
    torch.manual_seed(12345)  # whatever the caller's RNG state, the checkpoint's state wins
    # After a checkpoint, start from other initial weights: the checkpoint's must replace them.
    model = make_model(seed=99 if stop_at >= RESUME_CFG.checkpoint_every else 0, dropout=0.3)
    result = train(model, regression_batch, mse_loss, RESUME_CFG, device="cpu", eval_fn=_val,
                   checkpoint_dir=tmp_path)
    assert result.resumed_from == (stop_at // 4) * 4
    for (name, a), b in zip(ref_model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    assert result.history == ref.history and result.evals == ref.evals and result.best == ref.best


def test_resume_after_completion_does_no_work(tmp_path):
    cfg = TrainConfig(steps=6, lr=1e-2, batch_size=16, log_every=2, progress=False)
    first_model = make_model()
    first = train(first_model, regression_batch, mse_loss, cfg, device="cpu", checkpoint_dir=tmp_path)
    files = sorted(p.name for p in (tmp_path / "checkpoint").iterdir())
    assert files == ["model.safetensors", "optimizer.safetensors", "state.json"]

    def never(step):
        raise AssertionError("no batch should be drawn")

    model = make_model(seed=5)
    again = train(model, never, mse_loss, cfg, device="cpu", checkpoint_dir=tmp_path)
    assert again.resumed_from == 6 and again.history == first.history
    assert torch.equal(model[0].weight, first_model[0].weight)
    fresh = train(make_model(), regression_batch, mse_loss, cfg, device="cpu", checkpoint_dir=tmp_path,
                  resume=False, keep_checkpoint=False)
    assert fresh.resumed_from == 0 and not (tmp_path / "checkpoint").exists()


def test_resume_with_changed_config_warns(tmp_path):
    cfg = TrainConfig(steps=4, lr=1e-2, batch_size=16, progress=False, checkpoint_every=2)
    with pytest.raises(Interrupt):
        train(make_model(), _interrupting(3), mse_loss, cfg, device="cpu", checkpoint_dir=tmp_path)
    with pytest.warns(UserWarning, match="lr"):
        train(make_model(), regression_batch, mse_loss, TrainConfig(**{**vars(cfg), "lr": 2e-2}), device="cpu",
              checkpoint_dir=tmp_path)


# ---------------------------------------------------------------------------------------- batches
class Squares:
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return torch.tensor([i, i * i])


class Crops(Squares):
    def sample(self, i, rng):
        return torch.tensor([i, int(rng.integers(1000))])


def test_random_batches_cover_each_index_once_per_epoch():
    sampler = RandomBatches(Squares(), batch_size=3, seed=4)
    positions = np.concatenate([sampler.indices(s) for s in range(10)])  # 30 samples = 3 epochs of 10
    for epoch in range(3):
        assert sorted(positions[epoch * 10:(epoch + 1) * 10]) == list(range(10))
    assert not np.array_equal(positions[:10], positions[10:20])  # a new order each epoch
    batch = sampler(0)
    assert batch.shape == (3, 2) and torch.equal(batch[:, 1], batch[:, 0] ** 2)


def test_random_batches_are_a_function_of_seed_and_step():
    a, b = RandomBatches(Crops(), 4, seed=1), RandomBatches(Crops(), 4, seed=1)
    late_first = a(7)
    for step in range(8):
        b(step)
    assert torch.equal(late_first, b(7))  # no hidden state: order of calls does not matter
    assert torch.equal(a(3), b(3))
    assert not torch.equal(a(3), RandomBatches(Crops(), 4, seed=2)(3))
    assert not torch.equal(a(3)[:, 1], a(4)[:, 1])  # sample() gets a per-(step, item) generator
    with pytest.raises(InputError, match="empty"):
        RandomBatches([], 4)


# ------------------------------------------------------------------------------------------- shards
def test_shard_batch_slices_every_field():
    batch = {"motion": torch.arange(10).reshape(5, 2), "names": list("abcde"), "pair": (np.arange(5), 3.0),
             "temperature": torch.tensor(1.0)}
    parts = [shard_batch(batch, r, 2) for r in range(2)]
    assert parts[0]["motion"].shape == (2, 2) and parts[1]["motion"].shape == (3, 2)
    assert parts[0]["names"] == ["a", "b"] and parts[1]["names"] == ["c", "d", "e"]
    assert list(parts[1]["pair"][0]) == [2, 3, 4] and parts[1]["pair"][1] == 3.0
    assert parts[1]["temperature"].item() == 1.0
    assert shard_batch(batch, 0, 1) is batch
    with pytest.raises(InputError, match=r"batch\['names'\]"):
        shard_batch({"motion": torch.zeros(4, 2), "names": ["a"] * 3}, 0, 2)
    with pytest.raises(InputError, match="fewer"):
        shard_batch({"motion": torch.zeros(1, 2)}, 0, 2)
    assert math.isclose(sum(len(p["names"]) for p in parts), 5)


def test_logged_values_must_be_scalars():
    cfg = TrainConfig(steps=2, lr=1e-2, batch_size=16, progress=False)

    def loss_fn(m, b):
        err = (m(b["x"]) - b["y"]) ** 2
        return {"loss": err.mean(), "per_dim": err.mean(0)}

    with pytest.raises(InputError, match=r"'per_dim' with shape \(2,\)"):
        train(make_model(), regression_batch, loss_fn, cfg, device="cpu")


def test_amp_is_a_no_op_on_cpu():
    seen = []

    def loss_fn(m, b):
        seen.append(torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda"))
        return mse_loss(m, b)

    train(make_model(), regression_batch, loss_fn, TrainConfig(steps=2, lr=1e-2, batch_size=16, amp=True,
                                                               progress=False), device="cpu")
    assert seen == [False, False]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_amp_runs_bf16_autocast_on_cuda():
    dtypes = []

    def loss_fn(m, b):
        out = m(b["x"])
        dtypes.append(out.dtype)
        return {"loss": ((out.float() - b["y"]) ** 2).mean()}

    model = make_model()
    train(model, regression_batch, loss_fn, TrainConfig(steps=3, lr=1e-2, batch_size=16, progress=False),
          device="cuda")
    assert dtypes == [torch.bfloat16] * 3 and next(model.parameters()).dtype == torch.float32
