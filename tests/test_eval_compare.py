"""Side-by-side helpers: per-motion matching, action families, parameter counts, the speed table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from motionlab.errors import InputError
from motionlab.evaluation.compare import generator_parameters, per_motion_matching, speed_table

pytestmark = pytest.mark.usefixtures("single_thread")


class Oracle:
    """Text and motion embeddings that match exactly for the pairs marked good, and are far apart otherwise."""

    def __init__(self, good):
        self.good = good

    def embed_texts(self, captions):
        return np.stack([np.eye(64)[int(c)] for c in captions])

    def embed_motions(self, motions):
        return np.stack([np.eye(64)[int(m[0, 0])] if ok else 10 + np.eye(64)[int(m[0, 0])]
                         for m, ok in zip(motions, self.good)])


def test_per_motion_matching_finds_the_right_pairs():
    good = np.arange(40) % 4 != 0  # every fourth pair gets a motion far from its caption
    captions = [str(i) for i in range(40)]
    motions = [np.full((8, 2), i, dtype=np.float64) for i in range(40)]
    table = per_motion_matching(Oracle(good), captions, motions, batch_size=32, seed=1)
    assert len(table) == 40  # the last, incomplete batch gets a verdict too
    assert table["top1"].to_numpy().tolist() == good.tolist()
    assert np.allclose(table["mm_dist"].to_numpy()[good], 0.0)
    with pytest.raises(InputError, match="at least one batch of 32"):
        per_motion_matching(Oracle(good), captions[:10], motions[:10])


def test_parameters_count_generator_and_tokenizer_once():
    class Pipe:
        def __init__(self):
            self.tokenizer = torch.nn.Linear(3, 3)  # 12
            self.model = torch.nn.Linear(4, 4)  # 20
            self.head = torch.nn.Linear(4, 4, bias=False)
            self.head.weight = self.model.weight  # tied: counted once
            self.seed = 0

    assert generator_parameters(Pipe()) == {"generator": 20, "tokenizer": 12}


def test_speed_table_measures_every_model(momask_pipe):
    prompts = [f"a person walks {i}" for i in range(4)]
    table = speed_table({"tiny MoMask": momask_pipe}, prompts, batch_sizes=(1, 4), repeats=1, frames=16)
    assert isinstance(table, pd.DataFrame) and list(table.index) == ["tiny MoMask"]
    row = table.loc["tiny MoMask"]
    assert row["generator_params"] == momask_pipe.masked.num_params() + momask_pipe.residual.num_params() + sum(
        p.numel() for p in momask_pipe.length.parameters())
    assert row["latency_b1_s"] > 0 and row["motions_per_s_b4"] > 0
    with pytest.raises(InputError, match="at least 4"):
        speed_table({"m": momask_pipe}, prompts[:2], batch_sizes=(1, 4))


def test_quality_table_has_both_length_modes_and_the_ground_truth(hml3d_sample):
    from types import SimpleNamespace

    from motionlab.data.captions import Caption
    from motionlab.evaluation.protocol import ProtocolOptions
    from motionlab.evaluation.compare import quality_table, quality_values

    feats = np.load(hml3d_sample / "new_joint_vecs" / "012314.npy").astype(np.float32)
    rng = np.random.default_rng(0)
    motions = [feats[s:s + 60] + 0.01 * rng.standard_normal((60, feats.shape[1])).astype(np.float32)
               for s in rng.integers(0, len(feats) - 60, size=8)]
    split = SimpleNamespace(features=motions, captions=[[Caption(text=f"motion {i}", tokens=())] for i in range(8)])

    class Embedder:  # texts: one-hot of their number; motions: mean of 8 features
        config = SimpleNamespace(max_motion_length=196)

        def embed_texts(self, texts):
            return np.stack([np.eye(8)[int(getattr(t, "text", t).split()[-1])] for t in texts])

        def embed_motions(self, ms, starts=None, lengths=None):  # the protocol embeds crops of the motions
            starts = starts or [0] * len(ms)
            lengths = lengths or [len(m) for m in ms]
            return np.stack([np.asarray(m)[s:s + n, :8].mean(0) for m, s, n in zip(ms, starts, lengths)])

    def copy(captions, lengths=None):  # the test motion a caption belongs to
        return [motions[int(getattr(c, "text", c).split()[-1])][: (lengths[i] if lengths is not None else 60)]
                for i, c in enumerate(captions)]
    spec = ProtocolOptions(replications=2, batch_size=4, diversity_pairs=4, multimodality=False)
    values = quality_values({"copy": copy}, Embedder(), split, spec)
    assert set(values["replication"]) == {0, 1}
    table = quality_table(values)
    assert set(table["lengths"]) == {"gt", "model"}
    assert set(table["model"]) == {"ground truth", "copy"}
    fid = table[(table.model == "copy") & (table.metric == "fid")]
    assert len(fid) == 2 and (fid["mean"] < 1e-2).all()  # copies of the test motions
    with pytest.raises(InputError, match="no models"):
        quality_values({}, Embedder(), split, spec)

    calls = []

    def counted(captions, lengths=None):
        calls.append(len(captions))
        return copy(captions, lengths)
    mm_spec = ProtocolOptions(replications=1, batch_size=4, diversity_pairs=4, mm_texts=2, mm_samples=3, mm_pairs=2)
    mm = quality_table(quality_values({"copy": counted}, Embedder(), split, mm_spec))
    measured = mm[(mm.model == "copy") & (mm.metric == "multimodality")]
    assert list(measured["lengths"]) == ["gt"]  # only with given lengths, by default
    assert sorted(calls) == [2 * 3, 8, 8]  # one pass per mode, one multimodality draw


@pytest.mark.parametrize("argv, message", [
    (["compare", "--models", "nope"], "expected some of t2m-gpt, momask, tm2t, motiongpt"),
    (["compare", "--out", "table.txt"], "expected a .json or .csv"),
    (["generate", "a person walks", "--model", "all", "--samples", "2"], "one motion per model"),
    (["generate", "a person walks", "--model", "every"], "or all"),
])
def test_cli_rejects_bad_comparisons_before_any_work(argv, message, capsys, isolated_cache):
    from motionlab.cli import main as cli_main

    assert cli_main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (isolated_cache / "cache").exists() or not any((isolated_cache / "cache").iterdir())


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_generate_all_animates_every_model_side_by_side(tiny_dataset, isolated_cache, monkeypatch, capsys,
                                                          tmp_path):
    from helpers.motiongpt import smollm2_tokenizer_or_skip, tiny_lm

    from motionlab import profiles
    from motionlab.cli import main as cli_main

    lm_tokenizer = smollm2_tokenizer_or_skip()  # MotionGPT: a tiny random Llama with SmolLM2's tokenizer
    monkeypatch.setattr("motionlab.generators.motiongpt.backbone.build_backbone",
                        lambda name, seed=0: tiny_lm(lm_tokenizer, seed=seed))
    p = profiles.get_profile("smoke")
    vq = dict(steps=8, batch_size=4, width=16, code_dim=8, n_codes=16, log_every=4, eval_every=4, window=32)
    tokenizer = p.tokenizer.replace(**vq)
    tiny = p.with_overrides(
        tokenizer=tokenizer, tm2t_tokenizer=tokenizer,
        gpt=p.gpt.replace(steps=8, milestones=(6,), n_embd=32, n_head=2, n_layer=1, batch_size=8),
        momask_tokenizer=p.momask_tokenizer.replace(**vq, n_quantizers=3),
        momask_masked=p.momask_masked.replace(steps=6, milestones=(5,), warmup_steps=2, batch_size=8, width=16,
                                              n_heads=2, ff=32, n_layers=1),
        momask_residual=p.momask_residual.replace(steps=6, milestones=(5,), warmup_steps=2, batch_size=8,
                                                  width=16, n_heads=2, ff=32, n_layers=1),
        momask_length=p.momask_length.replace(steps=6, batch_size=8, hidden=16, eval_every=3),
        tm2t_m2t=p.tm2t_m2t.replace(steps=6, batch_size=8, eval_every=3, width=32, n_enc_layers=1, n_dec_layers=1,
                                    ff=64),
        tm2t_t2m=p.tm2t_t2m.replace(steps=6, batch_size=8, eval_every=3, tf_decay_steps=4, inverse_from_step=3,
                                    word_dim=16, text_hidden=16, motion_hidden=32),
        motiongpt=p.motiongpt.replace(steps=4, pretrain_steps=2, batch_size=4, eval_every=2, log_every=2,
                                      templates=2, val_items=8),
    )
    monkeypatch.setitem(profiles.PROFILES, "smoke", tiny)
    out = tmp_path / "all.html"
    assert cli_main(["generate", "a person waves", "--model", "all", "--out", str(out), "--seconds", "1",
                     "--profile", "smoke", "--data", str(tiny_dataset), "--device", "cpu"]) == 0
    said = capsys.readouterr().out
    assert all(label in said for label in ("T2M-GPT:", "MoMask:", "TM2T:", "MotionGPT:")) and out.is_file()
    for name in ("t2m-gpt", "momask", "tm2t"):
        assert np.load(tmp_path / f"all.{name}.features.npy").shape == (20, 263)  # 1 s at 20 fps
    made = np.load(tmp_path / "all.motiongpt.features.npy")  # MotionGPT reads the length in its instruction
    assert made.shape[1] == 263 and len(made) % 4 == 0 and "MotionGPT: " in said
    page = out.read_text()
    assert all(label in page for label in ("T2M-GPT", "MoMask", "TM2T", "MotionGPT"))


def test_batch_rank_lab():
    from motionlab.labs import LabCheckFailed
    from motionlab.labs.side_by_side import check_batch_rank

    assert check_batch_rank(lambda d: (d < np.diag(d)[:, None]).sum(1))
    with pytest.raises(LabCheckFailed, match="one too high"):
        check_batch_rank(lambda d: (d <= np.diag(d)[:, None]).sum(1))
    with pytest.raises(LabCheckFailed, match="per column"):
        check_batch_rank(lambda d: (d < np.diag(d)[None, :]).sum(0))
