"""MoMask end to end: the pipeline (lengths, layers, determinism, bad input) on tiny untrained parts, the
length estimator's training glue and ``get_momask`` on the tiny dataset, and ``motionlab generate --model
momask``."""

from __future__ import annotations

import numpy as np
import pytest

from motionlab.cli import main as cli_main
from motionlab.errors import InputError
from motionlab.generators.momask.masked_transformer import (
    LengthEstimator,
    LengthEstimatorConfig,
    MaskedTransformer,
    MaskedTransformerConfig,
)
from motionlab.generators.momask.pipeline import MoMaskPipeline
from motionlab.generators.t2m_gpt_pipeline import GeneratedMotions
from motionlab.profiles import PROFILE_NAMES, get_profile

pytestmark = pytest.mark.usefixtures("single_thread")

DIM, CODES, LAYERS = 384, 16, 3  # the conftest fixture `momask_pipe`: MiniLM width, a tiny 3-layer RVQ


@pytest.fixture
def pipe(momask_pipe) -> MoMaskPipeline:
    return momask_pipe


CAPTIONS = ["a person walks", "someone jumps", "a person waves"]


def test_given_lengths_become_whole_tokens(pipe):
    out = pipe(CAPTIONS, [40, 17, 3])
    assert [f.shape for f in out] == [(40, 263), (16, 263), (4, 263)]  # 10, 4 and (at least) 1 tokens
    assert all(np.isfinite(f).all() for f in out)
    result = pipe.generate(CAPTIONS, np.array([48, 8, 4]))
    assert isinstance(result, GeneratedMotions) and result.texts == CAPTIONS
    assert [t.shape for t in result.tokens] == [(12, LAYERS), (2, LAYERS), (1, LAYERS)]
    assert all(t.min() >= 0 and t.max() < CODES for t in result.tokens)  # codes only, no [PAD] / [MASK]
    assert result.lengths.tolist() == [48, 8, 4] and pipe.max_tokens == 12


def test_sampled_lengths_stay_within_the_estimators_classes(pipe):
    result = pipe.generate(CAPTIONS * 10)  # no lengths: drawn from the (untrained) estimator
    n = np.array([len(t) for t in result.tokens])
    assert n.min() >= 1 and n.max() <= 7 and len(set(n.tolist())) > 1  # classes 1..7 of 8
    assert [len(f) for f in result.features] == (4 * n).tolist()


def test_same_seed_same_motions_and_the_stream_moves_on(pipe):
    pipe.reseed(5)
    a = pipe(CAPTIONS, None)
    b = pipe(CAPTIONS, None)  # the stream continued: another draw
    pipe.reseed(5)
    again = pipe(CAPTIONS, None)
    assert all(np.array_equal(x, y) for x, y in zip(a, again))  # bit-identical: the claim is determinism
    assert any(x.shape != y.shape or not np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(x, y) for x, y in zip(pipe.with_options(seed=5)(CAPTIONS), a))


def test_batches_do_not_change_the_shapes(pipe):
    small = pipe.with_options(batch_size=2)
    assert [len(f) for f in small(CAPTIONS, [20, 24, 28])] == [20, 24, 28]


def test_residual_layers_change_the_motion(pipe):
    full = pipe.with_options(seed=1).generate(CAPTIONS, [40, 40, 40])
    base = pipe.with_options(seed=1, layers=1).generate(CAPTIONS, [40, 40, 40])
    for f, b in zip(full.tokens, base.tokens):
        assert b.shape == (10, 1) and np.array_equal(f[:, 0], b[:, 0])  # the same base layer ...
    # ... and the residual layers move the decoded motion away from the base-only decoding
    assert all(np.abs(f - b).max() > 1e-4 for f, b in zip(full.features, base.features))


def test_options_reach_the_samplers(pipe):
    assert pipe.iterations == 3 and pipe.with_options(iterations=10).iterations == 10
    cfg0 = pipe.with_options(cond_scale=0.0, residual_cond_scale=0.0, temperature=0.5)
    assert (cfg0.cond_scale, cfg0.residual_cond_scale, cfg0.temperature) == (0.0, 0.0, 0.5)
    assert [len(f) for f in cfg0(CAPTIONS[:1], [12])] == [12]
    assert "MoMaskPipeline" in repr(pipe) and pipe.embed(CAPTIONS).shape == (3, DIM)


@pytest.mark.parametrize("call, message", [
    (lambda p: p([], None), "no captions"),
    (lambda p: p(["   "], None), "prompt 0 is empty"),
    (lambda p: p(CAPTIONS, [40, 40]), "one length in frames per caption"),
    (lambda p: p(CAPTIONS, [40, 0, 40]), r"lengths \[0\] frames: expected 1..48"),
    (lambda p: p(CAPTIONS, [40, 49, 40]), r"lengths \[49\] frames"),
    (lambda p: p(CAPTIONS, [40, 12.5, 40]), "whole numbers of frames"),
    (lambda p: p.with_options(iterations=0), "iterations=0"),
    (lambda p: p.with_options(layers=4), "layers=4: expected 1..3"),
    (lambda p: p.with_options(temperature=0.0), "temperature=0.0"),
    (lambda p: p.with_options(residual_cond_scale=-1.0), "residual_cond_scale=-1.0"),
    (lambda p: p.with_options(guidance=2.0), "unknown option"),
])
def test_bad_input_gets_a_clear_error(pipe, call, message):
    with pytest.raises(InputError, match=message):
        call(pipe)


def test_mismatched_parts_are_refused(pipe):
    with pytest.raises(InputError, match="codebook sizes differ"):
        masked = MaskedTransformer(MaskedTransformerConfig(n_codes=32, text_dim=DIM, code_dim=8, width=16,
                                                           n_layers=1, n_heads=2, ff=32))
        MoMaskPipeline(masked, pipe.residual, pipe.tokenizer, pipe.length)
    with pytest.raises(InputError, match="text feature sizes differ"):
        MoMaskPipeline(pipe.masked, pipe.residual, pipe.tokenizer, LengthEstimator(LengthEstimatorConfig(text_dim=8)))
    no_length = MoMaskPipeline(pipe.masked, pipe.residual, pipe.tokenizer, None)
    assert [len(f) for f in no_length(CAPTIONS[:1], [8])] == [8]
    with pytest.raises(InputError, match="no length estimator: pass lengths"):
        no_length(CAPTIONS[:1], None)


# ------------------------------------------------------------------------------------- recipes
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_profile_holds_a_length_recipe(profile):
    from motionlab.generators.momask.train_length import LengthEstimatorRecipe

    p = get_profile(profile)
    recipe = p.momask_length
    assert isinstance(recipe, LengthEstimatorRecipe) and recipe.encoder == p.momask_masked.encoder
    assert recipe.model.n_classes - 1 >= p.momask_masked.model.max_tokens  # every trainable length is a class
    assert recipe.train.best_metric == "val_loss" and recipe.replace(seed=3).key() != recipe.key()
    if profile == "paper":
        assert (recipe.model.hidden, recipe.model.n_classes, recipe.model.dropout) == (512, 50, 0.2)  # official


def test_length_set_pairs_every_caption_with_its_class():
    from motionlab.generators.momask.train_length import LengthSet

    cfg = LengthEstimatorConfig(text_dim=4, hidden=8, n_classes=10)
    data = LengthSet([np.ones((2, 4)), np.zeros((3, 4))], [7, 30], cfg)
    assert len(data) == 5 and data.length.tolist() == [7, 7, 9, 9, 9] and data.clamped == 3
    assert data[0]["text"].dtype == np.float32
    with pytest.raises(InputError, match="caption sets"):
        LengthSet([np.ones((2, 4))], [7, 8], cfg)


# -------------------------------------------------------------------------------------- end to end
def _tiny_recipes():
    p = get_profile("smoke")
    tokenizer = p.momask_tokenizer.replace(steps=8, batch_size=4, width=16, code_dim=8, n_codes=16, n_quantizers=3,
                                           log_every=4, eval_every=4, window=32)
    masked = p.momask_masked.replace(steps=10, milestones=(8,), warmup_steps=2, batch_size=8, width=16, n_heads=2,
                                     ff=32, n_layers=1, log_every=5)
    residual = p.momask_residual.replace(steps=10, milestones=(8,), warmup_steps=2, batch_size=8, width=16,
                                         n_heads=2, ff=32, n_layers=1, log_every=5)
    length = p.momask_length.replace(steps=20, batch_size=8, hidden=16, log_every=5, eval_every=10)
    return tokenizer, masked, residual, length


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_get_momask_trains_the_parts_then_loads_them(tiny_dataset, isolated_cache, capsys):
    from motionlab.generators.momask.pipeline import get_momask, momask_is_cached
    from motionlab.generators.momask.train_length import get_length_estimator

    parts = _tiny_recipes()
    assert not momask_is_cached(tiny_dataset, *parts)
    pipe = get_momask(tiny_dataset, *parts, device="cpu")
    assert momask_is_cached(tiny_dataset, *parts)
    assert pipe.info["length"]["n_train"] == 16  # 8 training motions x 2 captions
    assert {"val_loss", "val_accuracy"} <= set(pipe.info["length"]["evals"][-1])
    out = pipe(["a person walks", "someone jumps"], [40, 81])
    assert [f.shape for f in out] == [(40, 263), (80, 263)] and all(np.isfinite(f).all() for f in out)
    pipe.reseed(2)
    own = pipe.generate(["a person walks", "someone jumps"])  # lengths drawn by the trained estimator
    assert all(1 <= len(t) <= pipe.max_sampled_tokens for t in own.tokens)

    capsys.readouterr()
    again = get_momask(tiny_dataset, *parts, device="cpu", verbose=False)
    assert "training" not in capsys.readouterr().out
    again.reseed(2)
    assert all(np.array_equal(a, b) for a, b in zip(again.generate(["a person walks", "someone jumps"]).features,
                                                    own.features))  # same weights, same seed: same motions
    run = get_length_estimator(tiny_dataset, parts[3], parts[0], "cpu")
    assert "loaded cached momask_length" in capsys.readouterr().out and not run.model.training
    with pytest.raises(InputError, match="different text encoders"):
        get_momask(tiny_dataset, parts[0], parts[1], parts[2], parts[3].replace(encoder="clip"), device="cpu")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_cli_generates_with_momask(tiny_dataset, isolated_cache, monkeypatch, capsys, tmp_path):
    from motionlab import profiles

    p = profiles.get_profile("smoke")
    tokenizer, masked, residual, length = _tiny_recipes()
    monkeypatch.setitem(profiles.PROFILES, "smoke", p.with_overrides(
        momask_tokenizer=tokenizer, momask_masked=masked, momask_residual=residual, momask_length=length))
    out = tmp_path / "wave.html"
    assert cli_main(["generate", "a person waves", "--model", "momask", "--out", str(out), "--profile", "smoke",
                     "--data", str(tiny_dataset), "--device", "cpu", "--seed", "3"]) == 0
    said = capsys.readouterr().out
    assert "MoMask" in said and "training it now (the missing parts" in said and "wrote" in said
    feats = np.load(tmp_path / "wave.features.npy")
    assert feats.ndim == 2 and feats.shape[1] == 263 and feats.shape[0] % 4 == 0 and np.isfinite(feats).all()
    assert not (isolated_cache / "cache" / "t2m_gpt").exists()  # the T2M-GPT path was not taken

    common = ["--profile", "smoke", "--data", str(tiny_dataset), "--device", "cpu"]
    assert cli_main(["generate", "a person waves", "--model", "momask", "--out", str(tmp_path / "short.html"),
                     "--seconds", "1.2", *common]) == 0
    assert np.load(tmp_path / "short.features.npy").shape[0] == 24  # 1.2 s at 20 fps, 6 tokens
    edited = tmp_path / "edited.html"
    assert cli_main(["edit", str(tmp_path / "wave.features.npy"), "a person jumps", "--frames", "4:12",
                     "--out", str(edited), *common]) == 0
    said = capsys.readouterr().out
    assert "regenerated frames 4:12 (tokens 1:3)" in said and "kept bit for bit" in said and edited.is_file()
    assert np.load(tmp_path / "edited.features.npy").shape == feats.shape
    assert cli_main(["edit", str(tmp_path / "wave.features.npy"), "a person jumps", "--frames", "0:9999",
                     "--out", str(edited), *common]) == 2
    assert "frame range 0:9999 lies outside the motion's frames" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["generate", "   ", "--model", "momask", "--out", "x.html"], "prompt 0 is empty"),
    (["generate", "a person walks", "--model", "momask", "--out", "x.png"], "ending in .html"),
    (["generate", "a person walks", "--model", "momask", "--samples", "0"], "--samples 0"),
    (["generate", "a person walks", "--model", "mask"], "expected one of t2m-gpt, momask"),
    (["generate", "a person walks", "--model", "momask", "--seconds", "-1"], "--seconds -1.0"),
    (["edit", "missing.npy", "a person walks", "--frames", "0:8"], "missing.npy: no such file"),
    (["edit", "missing.npy", "a person walks", "--frames", "0-8"], "frame range '0-8'"),
])
def test_cli_rejects_bad_input_before_training(argv, message, capsys, isolated_cache):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (isolated_cache / "cache").exists() or not any((isolated_cache / "cache").glob("momask*"))
