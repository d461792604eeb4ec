"""TM2T end to end on the tiny dataset: both cached models, inverse alignment, the captioner and the
text->motion pipeline, caption metrics, and the ``motionlab caption`` command's input handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.generators.tm2t.motion_to_text import MotionToTextConfig
from motionlab.generators.tm2t.pipeline import evaluate_captioner
from motionlab.generators.tm2t.text_to_motion import TextToMotionConfig
from motionlab.generators.tm2t.train_m2t import MotionToTextRecipe
from motionlab.generators.tm2t.train_t2m import TextToMotionRecipe
from motionlab.profiles import get_profile
from motionlab.training import TrainConfig

pytestmark = pytest.mark.usefixtures("single_thread")


def _recipes():
    tokenizer = get_profile("smoke").tokenizer.replace(steps=8, batch_size=4, width=16, code_dim=8, n_codes=16,
                                                       log_every=4, eval_every=4, window=32)
    m2t = MotionToTextRecipe(
        model=MotionToTextConfig(width=32, n_enc_layers=1, n_dec_layers=1, n_heads=4, ff=64, max_tokens=60),
        train=TrainConfig(steps=20, lr=1e-3, batch_size=8, grad_clip=0.5, log_every=10, eval_every=10,
                          best_metric="val_loss"))
    t2m = TextToMotionRecipe(
        model=TextToMotionConfig(word_dim=16, text_hidden=16, motion_hidden=32, max_tokens=55),
        train=TrainConfig(steps=12, lr=1e-3, batch_size=8, grad_clip=0.5, log_every=4, eval_every=6,
                          best_metric="val_loss"),
        tf_decay_steps=8, inverse_alignment=True, inverse_from_step=6)
    return tokenizer, m2t, t2m


@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_tm2t_trains_both_models_then_loads_them(tiny_dataset, isolated_cache, capsys):
    from motionlab.data.folders import MotionFolder
    from motionlab.generators.tm2t.pipeline import (
        get_tm2t,
        get_tm2t_captioner,
        tm2t_is_cached,
    )
    from motionlab.generators.tm2t.train_t2m import get_text_to_motion

    tokenizer, m2t, t2m = _recipes()
    assert not tm2t_is_cached(tiny_dataset, tokenizer, m2t, t2m)
    pipe = get_tm2t(tiny_dataset, tokenizer, m2t, t2m, "cpu", top_k=5)  # trains the captioner first
    assert tm2t_is_cached(tiny_dataset, tokenizer, m2t, t2m)
    history = pipe.info["history"]
    assert [h["step"] for h in history] == [4, 8, 12]
    assert "inverse_ce" not in history[0] and "inverse_ce" in history[-1]  # the inverse step starts at step 6
    assert history[0]["tf_ratio"] > history[-1]["tf_ratio"] == pytest.approx(0.1)
    assert [e["step"] for e in pipe.info["evals"]] == [6, 12]
    assert pipe.info["best"]["step"] == 12, pipe.info["evals"]  # step-6 weights never saw the inverse step

    out = pipe.generate(["a person starts to walk", "someone does a jump"])
    assert [f.shape[1] for f in out.features] == [263, 263]
    assert all(len(f) == 4 * len(c) for f, c in zip(out.features, out.tokens))
    assert out.attention[0].shape == (len(out.tokens[0]), len(out.words[0]))  # (tokens, words incl. sos/eos)
    assert len(pipe(["a person waves"], None)) == 1

    captioner = get_tm2t_captioner(tiny_dataset, tokenizer, m2t, "cpu")
    val = MotionFolder(tiny_dataset).load_split("val")
    captions = captioner(val.features)
    assert len(captions) == 2 and all(isinstance(c, str) for c in captions)
    metrics = evaluate_captioner(captioner, val.features, val.captions, bertscore=False)
    assert set(metrics) == {"bleu_1", "bleu_4", "rouge_l", "cider"}
    assert all(0.0 <= v for v in metrics.values())

    capsys.readouterr()
    again = get_text_to_motion(tiny_dataset, t2m, tokenizer, m2t, "cpu")
    assert "loaded cached tm2t_t2m" in capsys.readouterr().out
    for (k, v), (k2, v2) in zip(pipe.model.state_dict().items(), again.model.state_dict().items()):
        assert k == k2 and torch.equal(v.cpu(), v2.cpu())
    assert again.vocab.words == pipe.vocab.words

    with pytest.raises(InputError, match="no motions|expected \\(frames, 263\\)"):
        captioner([np.zeros((40, 100), dtype=np.float32)])  # wrong width
    with pytest.raises(InputError, match="0 frames"):
        captioner([np.zeros((0, 263), dtype=np.float32)])  # empty motion
    with pytest.raises(InputError, match="captioner"):
        get_tm2t(tiny_dataset, tokenizer, None, t2m, "cpu")


@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_cli_captions_and_generates_with_tm2t(tiny_dataset, isolated_cache, monkeypatch, capsys, tmp_path,
                                               hml3d_sample):
    from motionlab import profiles
    from motionlab.cli import main as cli_main

    tokenizer, m2t, t2m = _recipes()
    smoke = profiles.get_profile("smoke")
    monkeypatch.setitem(profiles.PROFILES, "smoke", smoke.with_overrides(tm2t_tokenizer=tokenizer, tm2t_m2t=m2t,
                                                                         tm2t_t2m=t2m))
    common = ["--profile", "smoke", "--data", str(tiny_dataset), "--device", "cpu"]
    joints = tmp_path / "walk.npy"
    np.save(joints, np.load(hml3d_sample / "new_joints" / "012314.npy"))  # joints: converted to features
    assert cli_main(["caption", str(joints), *common]) == 0
    said = capsys.readouterr().out
    assert "training it now" in said and "beam 2" in said and said.strip().splitlines()[-1].strip()
    assert cli_main(["caption", str(joints), "--sample", "--samples", "3", *common]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "training" not in " ".join(lines) and [line.split(".")[0].strip() for line in lines[-3:]] == ["1", "2", "3"]

    out = tmp_path / "wave.html"
    assert cli_main(["generate", "a person waves", "--model", "tm2t", "--out", str(out), "--seconds", "2",
                     *common]) == 0
    assert "TM2T" in capsys.readouterr().out and out.is_file()
    assert np.load(tmp_path / "wave.features.npy").shape == (40, 263)  # 2 s at 20 fps: 10 tokens

    for argv, message in ((["caption", str(tmp_path / "nope.npy")], "no such file"),
                          (["caption", str(joints), "--beam", "0"], "--beam 0")):
        assert cli_main([*argv, *common]) == 2
        assert message in capsys.readouterr().err


class _FixedCaptioner:
    def __init__(self, captions):
        self.captions = captions

    def __call__(self, motions):
        return list(self.captions)


def test_caption_metrics_against_raw_and_lemmatised_references():
    class Cap:
        def __init__(self, text, tokens):
            self.text, self.tokens = text, tokens

    refs = [[Cap("A man walks forward.", ("a/DET", "man/NOUN", "walk/VERB", "forward/ADV"))],
            [Cap("Someone jumps up high", ("someone/PRON", "jump/VERB", "up/ADP", "high/ADV"))]]
    motions = [np.zeros((8, 263))] * 2
    lemma_out = _FixedCaptioner(["a man walk forward", "someone jump up high"])
    # exact matches of 4-word references: BLEU-1 = 1, ROUGE-L = 1, CIDEr = 10 (see test_eval_captions)
    exact = evaluate_captioner(lemma_out, motions, refs, reference_form="lemma", bertscore=False)
    assert exact == pytest.approx({"bleu_1": 1.0, "bleu_4": 1.0, "rouge_l": 1.0, "cider": 10.0})
    raw = evaluate_captioner(lemma_out, motions, refs, reference_form="raw", bertscore=False)
    # against the raw text the lemmas "walk"/"jump" miss: 6 of 8 unigrams match
    assert raw["bleu_1"] == pytest.approx(6 / 8) and raw["rouge_l"] < 1.0
    with pytest.raises(InputError, match="2 motions but 1"):
        evaluate_captioner(lemma_out, motions, refs[:1])


# ----------------------------------------------------------------------------------------------------- CLI
