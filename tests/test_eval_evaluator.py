"""The text-motion evaluator: embedding contract, training on the tiny dataset, caching, save/load, official files."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch

from motionlab.errors import CheckpointError, InputError
from motionlab.evaluation import metrics as M
from motionlab.evaluation.evaluator import (
    Evaluator,
    EvaluatorConfig,
    TextMotionMatcher,
    crop_variants,
    get_evaluator,
    official_crop,
    padded_width,
)
from motionlab.evaluation.official import load_official_evaluator, load_plain_pickle
from motionlab.profiles import SMOKE, get_profile
from motionlab.text.vocab import WordVocabulary

TINY = SMOKE.evaluator.replace(dim_word=16, dim_text_hidden=32, dim_movement=32, dim_motion_hidden=32, dim_coemb=16,
                               steps=160, batch_size=8, eval_every=40, lr=2e-3)
TINY = dataclasses.replace(TINY, movement=dataclasses.replace(TINY.movement, steps=40, batch_size=8, lr=2e-3))


class _Cap:
    def __init__(self, text, tokens):
        self.text, self.tokens = text, tuple(tokens)


def _small_evaluator(seed: int = 0) -> Evaluator:
    torch.manual_seed(seed)
    vocab = WordVocabulary(words=["unk", "sos", "eos", "a", "person", "walk", "jump"])
    config = EvaluatorConfig(input_dim=263, vocab_size=len(vocab), dim_word=8, dim_text_hidden=16, dim_movement=16,
                             dim_motion_hidden=16, dim_coemb=8)
    model = TextMotionMatcher(config)
    model.freeze_movement()
    rng = np.random.default_rng(seed)
    return Evaluator(model, vocab, rng.normal(size=263), rng.uniform(0.5, 2, size=263))


# ------------------------------------------------------------------------------------------ contract
def test_embed_motions_contract():
    ev = _small_evaluator()
    rng = np.random.default_rng(1)
    a, b, long = rng.normal(size=(50, 263)), rng.normal(size=(121, 263)), rng.normal(size=(250, 263))
    out = ev.embed_motions([a, b, long])
    assert out.shape == (3, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], ev.embed_motions([a[:48]])[0], atol=1e-5)  # cropped to 4k frames
    np.testing.assert_allclose(out[2], ev.embed_motions([long[:196]])[0], atol=1e-5)  # cut to 196 frames
    np.testing.assert_allclose(out[0], ev.embed_motions([a])[0], atol=1e-5)  # batch company does not matter
    stacked = ev.embed_motions(torch.from_numpy(np.stack([a[:48], b[:48]])))  # a (N, T, D) tensor works too
    np.testing.assert_allclose(stacked[0], out[0], atol=1e-5)
    assert not np.allclose(out[0], out[1])
    # raw features in, normalised with the evaluator's own statistics, zero-padded like the official loader
    padded = np.zeros((1, 196, 263), dtype=np.float32)
    padded[0, :48] = ev.normalize(a[:48])
    model_out = ev.model.encode_motion(torch.from_numpy(padded), torch.tensor([48]))
    np.testing.assert_allclose(out[0], model_out[0].detach().numpy(), atol=1e-5)
    unpadded = ev.model.encode_motion(torch.from_numpy(padded[:, :48]), torch.tensor([48]))
    assert not np.allclose(out[0], unpadded[0].detach().numpy(), atol=1e-3)  # why the padding rule exists
    windows = ev.embed_motions([b], starts=[8], lengths=[40])
    with pytest.raises(InputError, match="together"):
        ev.embed_motions([b], lengths=[40])
    np.testing.assert_allclose(windows[0], ev.embed_motions([b[8:48]])[0], atol=1e-5)
    r1 = ev.embed_motions([b], crop="random", rng=np.random.default_rng(0))
    np.testing.assert_array_equal(r1, ev.embed_motions([b], crop="random", rng=np.random.default_rng(0)))
    with pytest.raises(InputError, match="rng"):
        ev.embed_motions([b], crop="random")
    with pytest.raises(InputError, match=r"expected \(frames, 263\)"):
        ev.embed_motions([rng.normal(size=(40, 251))])
    with pytest.raises(InputError, match="NaN"):
        ev.embed_motions([np.full((40, 263), np.nan)])
    with pytest.raises(InputError, match="at least 4"):
        ev.embed_motions([a[:3]])
    with pytest.raises(InputError, match="multiple of 4"):
        ev.embed_motions([b], starts=[0], lengths=[42])


def test_embed_texts_accepts_captions_tokens_and_strings():
    ev = _small_evaluator()
    caps = [_Cap("a person walks", ["a/DET", "person/NOUN", "walk/VERB"]), ("a/DET", "person/NOUN", "jump/VERB")]
    out = ev.embed_texts(caps)
    assert out.shape == (2, 8) and not np.allclose(out[0], out[1])
    np.testing.assert_allclose(ev.embed_texts([caps[1]])[0], out[1], atol=1e-5)
    with pytest.raises(InputError, match="single string"):
        ev.embed_texts("a person walks")


def test_crops_follow_the_official_rule():
    rng = np.random.default_rng(0)
    draws = [official_crop(50, rng) for _ in range(3000)]
    lengths = np.array([d[1] for d in draws])
    assert set(lengths) == {48, 44} and abs((lengths == 48).mean() - 2 / 3) < 0.03
    assert all(0 <= s and s + length <= 50 for s, length in draws)
    variants = crop_variants(50)
    assert sum(p for _, _, p in variants) == pytest.approx(1.0)
    assert {(s, length) for s, length, _ in variants} == {(s, 48) for s in range(3)} | {(s, 44) for s in range(7)}
    assert padded_width(48) == 52 and padded_width(196) == 196 and padded_width(192) == 196


def test_save_load_round_trip(tmp_path):
    ev = _small_evaluator()
    ev.info["history"] = [{"step": 1, "loss": 2.0}]
    ev.save(tmp_path / "ev")
    back = Evaluator.load(tmp_path / "ev")
    motions = [np.random.default_rng(2).normal(size=(60, 263))]
    np.testing.assert_array_equal(back.embed_motions(motions), ev.embed_motions(motions))
    np.testing.assert_array_equal(back.embed_texts([("a/DET", "walk/VERB")]), ev.embed_texts([("a/DET", "walk/VERB")]))
    assert back.vocabulary.words == ev.vocabulary.words and back.info["history"] == ev.info["history"]
    np.testing.assert_array_equal(back.std, ev.std)
    (tmp_path / "ev" / "extra.safetensors").unlink()
    with pytest.raises(CheckpointError, match="mean"):
        Evaluator.load(tmp_path / "ev")
    with pytest.raises(CheckpointError, match="does not exist"):
        Evaluator.load(tmp_path / "nowhere")


# ----------------------------------------------------------------------------------------- training
@pytest.mark.slow
def test_trains_on_tiny_dataset_separates_pairs_and_caches(tiny_dataset, isolated_cache, capsys):
    from motionlab.data.folders import MotionFolder

    ev = get_evaluator(tiny_dataset, TINY, device="cpu")
    assert "training evaluator" in capsys.readouterr().out
    info = ev.info
    assert info["source"] == "trained" and len(info["evals"]) == 4
    assert info["best"]["val_rprec"] == max(e["val_rprec"] for e in info["evals"])  # the kept weights
    assert info["best"]["step"] == min(e["step"] for e in info["evals"] if e["val_rprec"] == info["best"]["val_rprec"])
    split = MotionFolder(tiny_dataset).load_split("train")
    texts = ev.embed_texts([caps[0] for caps in split.captions])
    motions = ev.embed_motions(split.features)
    d = M.euclidean_distance_matrix(texts, motions)
    words = [caps[0].tokens[-1] for caps in split.captions]
    mismatched = np.array([[words[i] != words[j] for j in range(len(words))] for i in range(len(words))])
    assert np.diag(d).mean() < 0.5 * d[mismatched].mean()  # matched pairs much closer than mismatched ones
    again = get_evaluator(tiny_dataset, TINY, device="cpu")
    assert "loaded cached evaluator" in capsys.readouterr().out
    np.testing.assert_allclose(again.embed_motions(split.features), motions, atol=1e-5)


# ----------------------------------------------------------------------------------- official files
def _official_layout(root, matcher: TextMotionMatcher, words, vectors):
    model_dir = root / "t2m" / "text_mot_match" / "model"
    model_dir.mkdir(parents=True)
    torch.save({"text_encoder": {k: v for k, v in matcher.text_encoder.state_dict().items() if k != "word_emb.weight"},
                "movement_encoder": matcher.movement_encoder.state_dict(),
                "motion_encoder": matcher.motion_encoder.state_dict(),
                "opt_text_encoder": {"state": {}, "param_groups": []}, "epoch": 7, "iter": 100},
               model_dir / "finest.tar")
    glove = root / "glove"
    glove.mkdir()
    np.save(glove / "our_vab_data.npy", vectors)
    with open(glove / "our_vab_words.pkl", "wb") as fh:
        pickle.dump(list(words), fh)
    with open(glove / "our_vab_idx.pkl", "wb") as fh:
        pickle.dump({w: i for i, w in enumerate(words)}, fh)
    meta = root / "t2m" / "Comp_v6_KLD01" / "meta"
    meta.mkdir(parents=True)
    np.save(meta / "mean.npy", np.zeros(263, dtype=np.float32))
    np.save(meta / "std.npy", np.ones(263, dtype=np.float32))


def test_official_checkpoint_loads_and_matches(tmp_path):
    words = ["unk", "sos", "eos", "a", "person", "walk"]
    config = EvaluatorConfig(input_dim=263, vocab_size=len(words), dim_word=12, dim_text_hidden=16, dim_movement=16,
                             dim_motion_hidden=24, dim_coemb=8)
    torch.manual_seed(3)
    source = TextMotionMatcher(config).eval()
    vectors = source.text_encoder.word_emb.weight.detach().numpy()
    _official_layout(tmp_path, source, words, vectors)
    ev = load_official_evaluator("t2m", root=tmp_path)
    assert ev.info["source"] == "official" and ev.info["epoch"] == 7 and ev.config.dim_motion_hidden == 24
    caption = ("a/DET", "person/NOUN", "walk/VERB")
    enc = ev.vocabulary.encode([caption])
    ids, pos, lengths = (torch.from_numpy(a) for a in (enc.word_ids, enc.pos_ids, enc.lengths))
    want = source.encode_text(ids, pos, lengths)
    np.testing.assert_allclose(ev.embed_texts([caption]), want.detach().numpy(), atol=1e-5)
    motion = np.random.default_rng(0).normal(size=(40, 263)).astype(np.float32)
    padded = np.zeros((1, 196, 263), dtype=np.float32)
    padded[0, :40] = motion  # the official loader pads to 196 frames
    want_m = source.encode_motion(torch.from_numpy(padded), torch.tensor([40]))
    np.testing.assert_allclose(ev.embed_motions([motion]), want_m.detach().numpy(), atol=1e-5)
    assert not any(p.requires_grad for p in ev.model.parameters())


def test_official_files_refuse_code_and_report_missing(tmp_path, isolated_cache):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "bad.pkl"
    bad.write_bytes(pickle.dumps([Evil()]))
    with pytest.raises(CheckpointError, match="refusing"):
        load_plain_pickle(bad)
    plain = {"walk": 3, "list": [1, 2.5, "x"]}
    assert load_plain_pickle(_write(tmp_path / "ok.pkl", plain)) == plain
    with pytest.raises(CheckpointError, match="finest.tar"):
        load_official_evaluator("t2m", root=tmp_path / "empty")
    real = tmp_path / "HumanML3D"
    real.mkdir()
    np.save(real / "Mean.npy", np.zeros(263, dtype=np.float32))
    with pytest.raises(CheckpointError, match="official_evaluator"):
        get_evaluator(real, get_profile("paper").evaluator, device="cpu")  # paper on real data: official files


def _write(path, obj):
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)
    return path


def test_training_depends_on_the_seed_only(tiny_dataset):
    from motionlab.evaluation.train_evaluator import train_evaluator

    short = dataclasses.replace(TINY.replace(steps=6, eval_every=3),
                                movement=dataclasses.replace(TINY.movement, steps=4))
    motion = [np.random.default_rng(0).normal(size=(40, 263)).astype(np.float32)]
    out = []
    for caller_seed in (1, 2):  # the caller's global RNG state must not matter
        torch.manual_seed(caller_seed)
        out.append(train_evaluator(tiny_dataset, short, progress=False).embed_motions(motion))
    np.testing.assert_array_equal(out[0], out[1])
    other = train_evaluator(tiny_dataset, short.replace(seed=1), progress=False).embed_motions(motion)
    assert not np.allclose(other, out[0])
