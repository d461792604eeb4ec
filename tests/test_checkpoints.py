"""Model folders (safetensors + config.json): round trip, tied weights, and errors that name the fault."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from motionlab import checkpoints
from motionlab.checkpoints import load_extra, load_model, read_config, save_model
from motionlab.errors import CheckpointError


@dataclass(frozen=True)
class Inner:
    depth: int = 1


@dataclass(frozen=True)
class TinyConfig:
    dim: int = 4
    hidden: tuple[int, ...] = (8, 8)
    kernel: tuple[int, int] | None = None
    inner: Inner = Inner()
    names: list[str] | None = None


class TinyModel(nn.Module):
    config_class = TinyConfig

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        dims = (config.dim, *config.hidden)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.embed = nn.Embedding(5, config.dim)
        self.head = nn.Linear(config.dim, 5, bias=False)
        self.head.weight = self.embed.weight  # tied: stored once
        self.register_buffer("running", torch.arange(3.0))


def test_round_trip_restores_config_weights_and_buffers(tmp_path):
    torch.manual_seed(0)
    config = TinyConfig(dim=4, hidden=(6, 3), kernel=(3, 1), inner=Inner(depth=2), names=["a", "b"])
    model = TinyModel(config)
    model.running += 1
    save_model(model, tmp_path / "m", extra={"mean": np.arange(4.0), "vocab": ["<pad>", "walk"]})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json", "extra.json", "extra.safetensors", "model.safetensors"]
    loaded = load_model(TinyModel, tmp_path / "m")
    assert loaded.config == config  # tuples, Optional tuples, nested dataclasses and lists come back as such
    assert isinstance(loaded.config.hidden, tuple) and isinstance(loaded.config.names, list)
    assert not loaded.training
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    assert loaded.head.weight is loaded.embed.weight  # still tied after loading
    extra = load_extra(tmp_path / "m")
    assert extra["vocab"] == ["<pad>", "walk"] and torch.equal(extra["mean"], torch.arange(4.0, dtype=torch.float64))


def test_legacy_call_order_and_config_override(tmp_path):
    model = TinyModel(TinyConfig())
    save_model(model, TinyConfig(), tmp_path / "legacy")  # save_model(model, config, folder) from CONTRACTS
    assert read_config(TinyModel, tmp_path / "legacy") == TinyConfig()


def test_no_pickle_is_involved(tmp_path, monkeypatch):
    save_model(TinyModel(TinyConfig()), tmp_path)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    monkeypatch.setattr("pickle.loads", lambda *a, **k: pytest.fail("pickle.loads was called"))
    load_model(TinyModel, tmp_path)


def test_shape_mismatch_names_tensor_and_shapes(tmp_path):
    save_model(TinyModel(TinyConfig(hidden=(8, 8))), tmp_path)
    # the config on disk says (8, 8): edit it so the rebuilt model disagrees with the weights
    (tmp_path / "config.json").write_text(json.dumps({"dim": 4, "hidden": [8, 7]}))
    with pytest.raises(CheckpointError) as err:
        load_model(TinyModel, tmp_path)
    msg = str(err.value)
    assert "model.safetensors" in msg and "layers.1.weight" in msg and "(8, 8)" in msg and "(7, 8)" in msg


def test_missing_and_unexpected_tensors_are_listed(tmp_path):
    model = TinyModel(TinyConfig(hidden=(8,)))
    save_model(model, tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"dim": 4, "hidden": [8, 8]}))
    with pytest.raises(CheckpointError, match=r"missing tensor\(s\): layers\.1\.weight, layers\.1\.bias"):
        load_model(TinyModel, tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"dim": 4, "hidden": []}))
    with pytest.raises(CheckpointError, match=r"unexpected tensor\(s\): layers\.0\.bias, layers\.0\.weight"):
        load_model(TinyModel, tmp_path)


def test_config_errors_name_the_file_and_fields(tmp_path):
    save_model(TinyModel(TinyConfig()), tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"dim": 4, "widht": 3}))
    with pytest.raises(CheckpointError, match=r"config\.json.*unknown field\(s\) \['widht'\]"):
        load_model(TinyModel, tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json is not valid JSON"):
        load_model(TinyModel, tmp_path)

    @dataclass
    class Needs:
        size: int

    class NeedsModel(nn.Module):
        config_class = Needs

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match=r"missing required field\(s\) \['size'\]"):
        read_config(NeedsModel, tmp_path)


def test_missing_folder_file_and_bad_class(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(TinyModel, tmp_path / "nowhere")
    save_model(TinyModel(TinyConfig()), tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot read .*model.safetensors"):
        load_model(TinyModel, tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors does not exist"):
        load_model(TinyModel, tmp_path)
    with pytest.raises(CheckpointError, match="config_class"):
        load_model(nn.Linear, tmp_path)
    bare = nn.Linear(2, 2)
    with pytest.raises(CheckpointError, match="must be a dataclass"):
        save_model(bare, tmp_path / "x", config={"in": 2})


def test_optimizer_state_round_trips_through_safetensors():
    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.8, 0.9))
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors, info = checkpoints.flatten_optimizer(opt)
    json.dumps(info)  # the non-tensor part is plain JSON
    restored = checkpoints.unflatten_optimizer(tensors, json.loads(json.dumps(info)))
    other = torch.optim.AdamW(model.parameters(), lr=1.0)
    other.load_state_dict(restored)
    assert other.param_groups[0]["betas"] == (0.8, 0.9) and other.param_groups[0]["lr"] == 1e-2
    for a, b in zip(opt.state.values(), other.state.values()):
        assert all(torch.equal(a[k], b[k]) for k in a)


class Views(nn.Module):
    """Buffers that view one storage at different offsets are distinct tensors, not tied copies."""

    config_class = Inner

    def __init__(self, config: Inner):
        super().__init__()
        self.config = config
        storage = torch.arange(8.0)
        self.register_buffer("low", storage[:4])
        self.register_buffer("high", storage[4:])


def test_views_of_one_storage_are_saved_separately(tmp_path):
    save_model(Views(Inner()), tmp_path)
    assert set(checkpoints.load_tensors(tmp_path / "model.safetensors")) == {"low", "high"}
    loaded = load_model(Views, tmp_path)
    assert loaded.high.tolist() == [4.0, 5.0, 6.0, 7.0]
