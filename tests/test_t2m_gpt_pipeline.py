"""T2M-GPT end to end on a tiny dataset: training through the cache, the pipeline, the protocol adapter
and ``motionlab generate``."""

from __future__ import annotations


import numpy as np
import pytest

from motionlab import profiles
from motionlab.cli import main as cli_main
from motionlab.errors import InputError


pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def tiny_profile(monkeypatch):
    """The smoke profile shrunk to seconds, installed under the name "smoke" (the CLI looks profiles up)."""
    p = profiles.get_profile("smoke")
    tiny = p.with_overrides(
        tokenizer=p.tokenizer.replace(steps=12, milestones=(10,), warmup_steps=2, batch_size=8, width=32,
                                      code_dim=32, n_codes=32),
        gpt=p.gpt.replace(steps=16, milestones=(12,), n_embd=32, n_head=2, n_layer=2, batch_size=8,
                          ablation={"steps": 6}))
    monkeypatch.setitem(profiles.PROFILES, "smoke", tiny)
    return tiny


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_pipeline_and_cli_end_to_end(isolated_cache, tiny_dataset, tiny_profile, capsys, tmp_path):
    from motionlab.generators.train_t2m_gpt import (
        RandomTokens, T2MGPTPipeline, get_t2m_gpt, t2m_gpt_is_cached,
    )

    data = str(tiny_dataset)
    assert not t2m_gpt_is_cached(data, tiny_profile.gpt, tiny_profile.tokenizer)
    out = tmp_path / "wave.html"
    # 1. the CLI trains the missing model, says so, and writes the page and the arrays
    assert cli_main(["generate", "a person waves", "--out", str(out), "--profile", "smoke", "--data", data,
                     "--device", "cpu", "--seed", "3"]) == 0
    said = capsys.readouterr().out
    assert "training it now" in said and "wrote" in said
    assert t2m_gpt_is_cached(data, tiny_profile.gpt, tiny_profile.tokenizer)
    feats = np.load(tmp_path / "wave.features.npy")
    joints = np.load(tmp_path / "wave.joints.npy")
    assert feats.ndim == 2 and feats.shape[1] == 263 and feats.shape[0] % 4 == 0
    assert joints.shape == (feats.shape[0], 22, 3) and np.isfinite(joints).all()
    assert out.stat().st_size > 100_000 and "plotly" in out.read_text()[:5000].lower()

    # 2. the library call loads the same model: same seed, same motion
    pipe = get_t2m_gpt(data, tiny_profile.gpt, tiny_profile.tokenizer, "cpu")
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


def test_evaluate_runs_makes_one_protocol_call_and_summarizes(monkeypatch):
    import pandas as pd

    from motionlab.evaluation import protocol
    from motionlab.generators.t2m_gpt_pipeline import evaluate_runs, summarize_runs

    calls = []

    def fake_evaluate(generators, evaluator, split, spec=None, seed=0, **options):
        calls.append((sorted(generators), options))
        rows = [("ground truth", r, "fid", 0.1) for r in range(2)]
        for i, name in enumerate(generators):
            rows += [(name, r, "fid", float(generators[name]) + r) for r in range(2)]  # mean = value + 0.5
        return type("R", (), {"values": pd.DataFrame(rows, columns=["model", "replication", "metric", "value"])})

    monkeypatch.setattr(protocol, "evaluate", fake_evaluate)
    table = evaluate_runs({"a": [1.0, 3.0], "b": [10.0]}, None, None, replications=2)
    assert len(calls) == 1 and calls[0] == (["a [run 0]", "a [run 1]", "b [run 0]"], {"replications": 2})
    assert set(table["setting"]) == {"ground truth", "a", "b"}
    s = summarize_runs(table, "fid")
    assert s.loc["a", "mean"] == pytest.approx(2.5) and s.loc["a", "runs"] == 2
    assert s.loc["a", "ci"] == pytest.approx(1.96 * 1.0 / np.sqrt(2))  # std of (1.5, 3.5) is 1
    assert np.isnan(s.loc["b", "ci"]) and s.loc["ground truth", "mean"] == pytest.approx(0.1)
    with pytest.raises(InputError, match="no values for metric 'top3'"):
        summarize_runs(table, "top3")
    with pytest.raises(InputError, match="reserved"):
        evaluate_runs({"ground truth": [1.0]}, None, None)


def test_cache_keys_separate_every_setting(tiny_dataset, tiny_profile, isolated_cache):
    from motionlab.data.paths import dataset_label
    from motionlab.generators.train_t2m_gpt import _bind, _key
    from motionlab.runtime import config_hash

    tokenizer = tiny_profile.tokenizer.for_data(tiny_dataset)
    base = _bind(tiny_profile.gpt, tokenizer)
    assert base.tau == 0.5 and base.train.steps == 16 and base.model.n_codes == 32 and base.model.text_dim == 384
    variants = [tiny_profile.gpt.replace(seed=1), tiny_profile.gpt.replace(tau="uniform"),
                tiny_profile.gpt.replace(tau=0.0), tiny_profile.gpt.replace(train_fraction=0.5),
                tiny_profile.gpt.for_ablation(), tiny_profile.gpt.replace(encoder="minilm-other")]
    hashes = {config_hash(_key(v.replace(n_codes=32, text_dim=384), tokenizer)) for v in variants}
    assert len(hashes | {config_hash(_key(base, tokenizer))}) == 7  # each setting trains (and is cached) alone
    assert variants[1].tau is None and variants[4].train.steps == 6  # "uniform" -> None; ablation steps
    assert config_hash(_key(base.replace(progress=True), tokenizer)) == config_hash(_key(base, tokenizer))
    # another tokenizer means another GPT
    assert _key(base, tokenizer.replace(seed=1)) != _key(base, tokenizer)
    assert dataset_label(tiny_dataset).startswith(tiny_dataset.name)
    with pytest.raises(InputError, match="train_fraction=1.5"):
        tiny_profile.gpt.replace(train_fraction=1.5)


def test_long_sequences_are_cropped_to_the_block():
    from motionlab.generators.t2m_gpt import T2MGPTConfig
    from motionlab.generators.train_t2m_gpt import GPTTokenSet

    cfg = T2MGPTConfig(n_codes=100, text_dim=4, n_embd=8, n_head=2, n_layer=2, block_size=11)
    ds = GPTTokenSet([np.arange(30)], [np.ones((2, 4))], cfg, drop_prob=0.0)
    item = ds.sample(0, np.random.default_rng(0))
    codes = item["target"][: item["length"]]
    assert item["length"] == 10 and item["target"][10] == cfg.end_id
    assert np.array_equal(codes, np.arange(codes[0], codes[0] + 10))  # a contiguous window of the motion
    assert ds[0]["target"].tolist() == list(range(10)) + [cfg.end_id]



@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_gpt_selected_by_validation_fid(isolated_cache, tiny_dataset, tiny_profile, mean_embedder):
    from motionlab.generators.train_t2m_gpt import get_t2m_gpt

    recipe = tiny_profile.gpt.replace(best_metric="val_fid", best_mode="min", eval_every=8)
    with pytest.raises(InputError, match="validation FID"):
        get_t2m_gpt(tiny_dataset, recipe, tiny_profile.tokenizer, "cpu", verbose=False)
    pipe = get_t2m_gpt(tiny_dataset, recipe, tiny_profile.tokenizer, "cpu", evaluator=mean_embedder,
                       verbose=False)
    fids = [e["val_fid"] for e in pipe.info["evals"]]
    assert len(fids) == 2 and all(np.isfinite(fids)) and all("val_loss" in e for e in pipe.info["evals"])
