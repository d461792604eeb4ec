"""MotionGPT end to end on the tiny dataset: both training stages through the one loop, the cached model,
text->motion, captions, prediction / in-between with their metrics, free-form ``ask`` and ``motionlab ask``'s
input handling.  The backbone is a tiny random Llama with SmolLM2's tokenizer (the real weights are loaded in
``test_motiongpt_model.py``)."""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pytest
import torch
from helpers.motiongpt import smollm2_tokenizer_or_skip, tiny_lm

from motionlab.errors import InputError
from motionlab.generators.motiongpt.model import MotionGPTConfig
from motionlab.generators.motiongpt.pipeline import (
    MotionTokenWarning,
    evaluate_completion,
)
from motionlab.generators.motiongpt.train import MotionGPTRecipe
from motionlab.generators.tm2t.pipeline import evaluate_captioner
from motionlab.profiles import get_profile
from motionlab.training import TrainConfig

pytestmark = [pytest.mark.usefixtures("single_thread"),
              pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")]

@pytest.fixture(scope="module")
def lm_tokenizer():
    return smollm2_tokenizer_or_skip()



def _recipes():
    tokenizer = get_profile("smoke").tokenizer.replace(steps=8, batch_size=4, width=16, code_dim=8, n_codes=16,
                                                       log_every=4, eval_every=4, window=32)
    recipe = MotionGPTRecipe(
        model=MotionGPTConfig(backbone="smollm2-truncated-2", lora=True),
        train=TrainConfig(steps=6, lr=1e-3, batch_size=4, log_every=3, eval_every=3, best_metric="val_loss"),
        pretrain_steps=4, pretrain_lr=1e-3, templates=2)
    return tokenizer, recipe


@pytest.fixture
def tiny_backbone(monkeypatch, lm_tokenizer):
    """Every backbone name builds a tiny random Llama (with SmolLM2's tokenizer) in these tests."""
    monkeypatch.setattr("motionlab.generators.motiongpt.backbone.build_backbone",
                        lambda name, seed=0: tiny_lm(lm_tokenizer, seed=seed))


def test_motiongpt_trains_both_stages_then_loads(tiny_dataset, isolated_cache, tiny_backbone, capsys, mean_embedder):
    from motionlab.data.folders import MotionFolder
    from motionlab.generators.motiongpt.train import get_motiongpt, motiongpt_is_cached

    tokenizer, recipe = _recipes()
    assert not motiongpt_is_cached(tiny_dataset, recipe, tokenizer)
    run = get_motiongpt(tiny_dataset, recipe, tokenizer, "cpu")
    assert motiongpt_is_cached(tiny_dataset, recipe, tokenizer)
    out = capsys.readouterr().out
    assert "stage pretrain" in out and "stage instruct" in out and "+ LoRA" in out
    assert run.info["pretrain"]["history"][-1]["step"] == 4 and "evals" in run.info["pretrain"]
    assert [e["step"] for e in run.info["instruct"]["evals"]] == [3, 6]
    assert all(np.isfinite(h["loss"]) for h in run.info["instruct"]["history"])
    # LoRA is merged on saving: what was trained is kept in the run's info, also when loaded from the cache
    again = get_motiongpt(tiny_dataset, recipe, tokenizer, "cpu")
    assert 0 < again.info["trained_params"] == run.info["trained_params"] < again.model.num_params() // 10

    pipe = run.pipeline(seed=0)
    gen = pipe.generate(["a person starts to walk", "someone does a jump"])
    assert [f.shape[1] for f in gen.features] == [263, 263]
    assert all(len(f) == 4 * len(c) for f, c in zip(gen.features, gen.tokens))
    assert gen.instructions[0] == "Generate a motion: a person starts to walk"
    forced = run.pipeline(length_mode="gt").generate(["someone does a jump"] * 2, [40, 13])
    assert [len(c) for c in forced.tokens] == [10, 3]
    assert "40 frames" in forced.instructions[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # constrained decoding: a motion answer always parses, nothing to repair
        assert len(pipe(["a person waves"] * 3, None)) == 3
    pipe.reseed(3)
    a = pipe.generate(["a person waves"]).tokens[0]
    pipe.reseed(3)
    assert np.array_equal(a, pipe.generate(["a person waves"]).tokens[0])

    val = MotionFolder(tiny_dataset).load_split("val")
    captions = run.captioner()(val.features)
    assert len(captions) == 2 and all(isinstance(c, str) and c and "<motion_id" not in c for c in captions)
    metrics = evaluate_captioner(run.captioner(), val.features, val.captions, bertscore=False)  # TM2T's metrics
    assert set(metrics) == {"bleu_1", "bleu_4", "rouge_l", "cider"}

    for task in ("predict", "inbetween"):
        scores = evaluate_completion(pipe, val.features, task)
        assert set(scores) == {"ade", "fde"} and all(np.isfinite(v) and v >= 0 for v in scores.values())
    scores = evaluate_completion(pipe, val.features, "predict", evaluator=mean_embedder)  # + FID of the motions
    assert set(scores) == {"ade", "fde", "fid"} and np.isfinite(scores["fid"])
    done = pipe.predict(val.features)
    codes = pipe.codes_of(val.features)
    for given, full in zip(codes, done.tokens):
        k = int(0.2 * len(given) + 1)
        assert len(full) == len(given) and np.array_equal(full[:k], given[:k])  # the given 20 % is kept
    filled = pipe.inbetween(val.features)
    for given, full in zip(codes, filled.tokens):
        a, b = int(0.25 * len(given) + 1), int(0.75 * len(given) + 1)
        assert np.array_equal(full[:a], given[:a]) and np.array_equal(full[b:], given[b:])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MotionTokenWarning)  # an untrained model may mix words and motion words
        answer = pipe.ask("Describe this motion:", val.features[0])
    assert answer.instruction.startswith("Describe this motion: <motion_id_16>")
    assert isinstance(answer.text, str)
    if answer.is_motion:
        assert answer.motion.shape[1] == 263
    with pytest.raises(InputError, match="instruction is empty"):
        pipe.ask("   ")
    with pytest.raises(InputError, match="prompt 0 is empty"):
        pipe.generate([""])
    with pytest.raises(InputError, match="lengths"):
        pipe.generate(["a person waves"], [0])

    capsys.readouterr()
    again = get_motiongpt(tiny_dataset, recipe, tokenizer, "cpu")
    assert "loaded cached motiongpt" in capsys.readouterr().out
    for (k, v), (k2, v2) in zip(run.model.lm.state_dict().items(), again.model.lm.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    assert torch.equal(again.model.allowed, run.model.allowed)


def test_free_form_answers_with_motion_words_are_decoded_and_repairs_reported(tiny_dataset, isolated_cache,
                                                                               tiny_backbone, monkeypatch):
    from motionlab.generators.motiongpt.train import get_motiongpt

    tokenizer, recipe = _recipes()
    pipe = get_motiongpt(tiny_dataset, recipe.replace(steps=1, pretrain_steps=0), tokenizer, "cpu",
                         verbose=False).pipeline()
    vocab = pipe.model.vocab
    broken = f"Here: <motion_id_{vocab.start}><motion_id_3><motion_id_99><motion_id_"
    monkeypatch.setattr(pipe.model, "generate", lambda prompts, **kw: [broken] * len(prompts))
    with pytest.warns(MotionTokenWarning, match="repairs"):
        answer = pipe.ask("Generate a motion: a person jumps")
    assert answer.is_motion and answer.codes.tolist() == [3, vocab.n_codes - 1]
    assert any("clamped" in r for r in answer.repairs) and any("malformed" in r for r in answer.repairs)
    assert answer.motion.shape == (8, 263)
    with pytest.warns(MotionTokenWarning, match="2 of 2 generated answers needed repairs"):
        out = pipe.generate(["a person jumps", "a person walks"])
    assert all(r for r in out.repairs) and [c.tolist() for c in out.tokens] == [[3, vocab.n_codes - 1]] * 2
    monkeypatch.setattr(pipe.model, "generate", lambda prompts, **kw: ["I would rather not."] * len(prompts))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        answer = pipe.ask("Tell me a joke")
    assert not answer.is_motion and answer.text == "I would rather not."
    with pytest.raises(InputError, match="text, not a motion"):
        answer.joints()


def test_ask_command_checks_its_input_before_training(tmp_path):
    from motionlab.generators.motiongpt.commands import ask_command

    def args(**kw):
        base = {"instruction": "Generate a motion of about 3 seconds: a person jumps", "motion": None,
                "out": str(tmp_path / "a.html"), "profile": "smoke", "data": "synth", "device": "cpu", "seed": 0,
                "greedy": False, "top_k": 50, "max_tokens": 64}
        return argparse.Namespace(**{**base, **kw})

    with pytest.raises(InputError, match="instruction is empty"):
        ask_command(args(instruction=" "))
    with pytest.raises(InputError, match="--max-tokens"):
        ask_command(args(max_tokens=0))
    with pytest.raises(InputError, match=".html"):
        ask_command(args(out=str(tmp_path / "a.txt")))
    with pytest.raises(InputError):
        ask_command(args(motion=str(tmp_path / "missing.npy")))


def test_registry_loaders_serve_the_profile_recipe(tiny_dataset, isolated_cache, tiny_backbone, capsys):
    """``load_motiongpt`` / ``load_motiongpt_captioner`` have the registry's signature and read
    ``profile.motiongpt`` over ``profile.tokenizer``; the caption command's beam options map to greedy."""
    from motionlab.generators.motiongpt.commands import (
        load_motiongpt,
        load_motiongpt_captioner,
    )
    from motionlab.generators.motiongpt.pipeline import (
        MotionGPTCaptioner,
        MotionGPTPipeline,
    )

    tokenizer, recipe = _recipes()
    profile = argparse.Namespace(motiongpt=recipe.replace(steps=1, pretrain_steps=0), tokenizer=tokenizer)
    pipe = load_motiongpt(tiny_dataset, profile, "cpu", None)
    assert isinstance(pipe, MotionGPTPipeline)
    assert "no trained MotionGPT for this profile" in capsys.readouterr().out
    captioner = load_motiongpt_captioner(tiny_dataset, profile, "cpu", None, mode="beam", beam=2, top_k=3, seed=0)
    assert isinstance(captioner, MotionGPTCaptioner) and not captioner.sample
    out = capsys.readouterr().out
    assert "captions greedily" in out and "no trained MotionGPT" not in out  # cached now
    assert load_motiongpt_captioner(tiny_dataset, profile, "cpu", mode="sample").sample
    with pytest.raises(InputError, match="mode="):
        load_motiongpt_captioner(tiny_dataset, profile, "cpu", mode="nucleus")
