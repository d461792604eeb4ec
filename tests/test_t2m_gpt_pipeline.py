"""T2M-GPT end to end on a tiny dataset: training through the cache, the pipeline, the protocol adapter
and ``motionlab generate``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from motionlab import profiles
from motionlab.cli import main as cli_main
from motionlab.errors import InputError


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_profile(monkeypatch):
    """The smoke profile shrunk to seconds, installed under the name "smoke" (the CLI looks profiles up)."""
    p = profiles.get_profile("smoke")
    tiny = p.with_overrides(
        tokenizer=replace(p.tokenizer, steps=12, milestones=(10,), warmup_steps=2, batch_size=8, width=32,
                          code_dim=32, n_codes=32),
        gpt=replace(p.gpt, steps=16, milestones=(12,), n_embd=32, n_head=2, n_base_layers=1, n_head_layers=1,
                    batch_size=8, ablation_steps=6))
    monkeypatch.setitem(profiles.PROFILES, "smoke", tiny)
    return tiny


@pytest.mark.slow
def test_pipeline_and_cli_end_to_end(isolated_cache, tiny_dataset, tiny_profile, capsys, tmp_path):
    from motionlab.generators.train_t2m_gpt import (
        RandomTokens, T2MGPTPipeline, get_t2m_gpt, t2m_gpt_is_cached,
    )

    data = str(tiny_dataset)
    assert not t2m_gpt_is_cached(data, "smoke")
    out = tmp_path / "wave.html"
    # 1. the CLI trains the missing model, says so, and writes the page and the arrays
    assert cli_main(["generate", "a person waves", "--out", str(out), "--profile", "smoke", "--data", data,
                     "--device", "cpu", "--seed", "3"]) == 0
    said = capsys.readouterr().out
    assert "training it now" in said and "wrote" in said
    assert t2m_gpt_is_cached(data, "smoke")
    feats = np.load(tmp_path / "wave.features.npy")
    joints = np.load(tmp_path / "wave.joints.npy")
    assert feats.ndim == 2 and feats.shape[1] == 263 and feats.shape[0] % 4 == 0
    assert joints.shape == (feats.shape[0], 22, 3) and np.isfinite(joints).all()
    assert out.stat().st_size > 100_000 and "plotly" in out.read_text()[:5000].lower()

    # 2. the library call loads the same model: same seed, same motion
    pipe = get_t2m_gpt(data, "smoke", "cpu", seed=0)
    assert "loaded cached t2m_gpt" in capsys.readouterr().out
    assert isinstance(pipe, T2MGPTPipeline) and pipe.info["n_train"] == 8 and pipe.info["tau"] == "0.5"
    pipe.reseed(3)
    np.testing.assert_allclose(pipe.generate("a person waves").features[0], feats, rtol=1e-5, atol=1e-5)

    # 3. the protocol interface: own lengths by default, forced lengths when given
    own = pipe(["a person waves", "someone does a kick"], None)
    assert len(own) == 2 and all(f.shape[1] == 263 and 4 <= len(f) <= 196 for f in own)
    forced = pipe(["a person waves"] * 3, np.array([40, 81, 196]))
    assert [len(f) for f in forced] == [40, 80, 196]
    ignoring = pipe.with_options(length_mode="model", seed=5)(["a person waves"], np.array([40]))
    own_len = pipe.with_options(seed=5)(["a person waves"], None)
    assert np.array_equal(ignoring[0], own_len[0])  # length_mode="model" ignores the lengths it is given
    argmax = pipe.with_options(sample="argmax")
    a, b = argmax(["a person waves"], None), argmax(["a person waves"], None)
    assert np.array_equal(a[0], b[0])  # argmax is deterministic
    rand = RandomTokens(pipe.tokenizer, [5, 10], seed=0)
    assert [len(f) for f in rand(["a", "b"], np.array([40, 60]))] == [40, 60]

    # 4. the live lab reports a bad prompt in its output area instead of raising
    from motionlab.labs.t2m_gpt import live_lab

    box = live_lab(pipe)
    prompt, _, button = box.children[0].children
    prompt.value = "   "
    button.click()
    assert "cannot generate: prompt 0 is empty" in capsys.readouterr().out

    # 5. a second CLI call does not train again; bad prompts and paths are one-line errors
    assert cli_main(["generate", "someone kicks", "--out", str(tmp_path / "k.html"), "--profile", "smoke",
                     "--data", data, "--device", "cpu", "--samples", "2"]) == 0
    said = capsys.readouterr().out
    assert "training" not in said and (tmp_path / "k.s2.joints.npy").exists()


@pytest.mark.parametrize("argv, message", [
    (["generate", "   ", "--out", "x.html"], "prompt 0 is empty"),
    (["generate", "walk " * 300, "--out", "x.html"], "exceed the all-MiniLM-L6-v2 limit of 256"),
    (["generate", "a person walks", "--out", "x.png"], "ending in .html"),
    (["generate", "a person walks", "--model", "mdm"], "expected one of t2m-gpt"),
    (["generate", "a person walks", "--samples", "0"], "--samples 0"),
])
def test_cli_rejects_bad_input_before_training(argv, message, capsys, isolated_cache):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (isolated_cache / "cache" / "t2m_gpt").exists()  # nothing was trained


def test_fraction_subsets_are_nested():
    from motionlab.generators.train_t2m_gpt import fraction_indices

    quarter, half, full = (set(fraction_indices(100, f, seed=2).tolist()) for f in (0.25, 0.5, 1.0))
    assert len(quarter) == 25 and len(half) == 50 and full == set(range(100))
    assert quarter < half < full
    assert set(fraction_indices(100, 0.25, seed=3).tolist()) != quarter  # another seed, another subset
    with pytest.raises(InputError, match="train_fraction=0"):
        fraction_indices(100, 0.0, seed=0)
