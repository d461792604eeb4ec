"""The evaluation protocol: replications, confidence intervals, the ground-truth row, options and presets."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from motionlab.errors import InputError
from motionlab.evaluation import protocol as P
from motionlab.evaluation.evaluator import Evaluator, EvaluatorConfig, TextMotionMatcher
from motionlab.profiles import get_profile
from motionlab.text.vocab import WordVocabulary

WORDS = ["walk", "jump", "wave", "kick"]


class _Cap:
    def __init__(self, text, tokens):
        self.text, self.tokens = text, tuple(tokens)


@pytest.fixture(scope="module")
def world():
    torch.manual_seed(0)
    vocab = WordVocabulary(words=["unk", "sos", "eos", "a", "person", *WORDS])
    config = EvaluatorConfig(input_dim=263, vocab_size=len(vocab), dim_word=8, dim_text_hidden=16, dim_movement=16,
                             dim_motion_hidden=16, dim_coemb=8)
    model = TextMotionMatcher(config)
    model.freeze_movement()
    ev = Evaluator(model, vocab, np.zeros(263), np.ones(263))
    rng = np.random.default_rng(0)
    feats, caps = [], []
    for i in range(70):
        w = WORDS[i % 4]
        feats.append((rng.normal(size=(int(rng.integers(40, 120)), 263)) + i % 4).astype(np.float32))
        caps.append([_Cap(f"a person {w}s {i}", ["a/DET", "person/NOUN", f"{w}/VERB"]),
                     _Cap(f"{w} {i}", [f"{w}/VERB"])])
    return ev, SimpleNamespace(features=feats, captions=caps)


SMALL = P.ProtocolOptions(replications=3, diversity_pairs=50, mm_texts=8, mm_samples=3, mm_pairs=2)


def _lookup(split):
    """A generator that returns the real motion a caption belongs to (what a perfect model would write)."""
    table = {c.text: f for f, caps in zip(split.features, split.captions) for c in caps}
    return lambda captions, lengths: [table[c] for c in captions]


def test_ci_is_1_96_std_over_sqrt_n():
    values = pd.DataFrame({"model": ["m"] * 4, "replication": range(4), "metric": ["fid"] * 4,
                           "value": [1.0, 2.0, 3.0, 4.0]})
    res = P.ProtocolResult(values, P.ProtocolOptions(replications=4), n_motions=32)
    want = 1.96 * np.std([1, 2, 3, 4]) / math.sqrt(4)  # ddof=0, as the official code
    assert res.mean("m", "fid") == 2.5 and res.ci("m", "fid") == pytest.approx(want)
    assert res.table().loc["m", "FID ↓"] == f"2.500 ± {want:.3f}"


def test_protocol_rows_calls_and_lengths(world):
    ev, split = world
    calls = []

    def recording(captions, lengths):
        calls.append((list(captions), None if lengths is None else np.array(lengths)))
        return _lookup(split)(captions, lengths)

    res = P.evaluate({"copy": recording}, ev, split, SMALL, seed=0)
    assert res.models == ["ground truth", "copy"] and res.n_motions == 64
    assert len(calls) == 2 * SMALL.replications  # one pass + one MultiModality batch per replication
    main, mm = calls[0], calls[1]
    assert len(main[0]) == 64 and main[1] is not None and (main[1] % 4 == 0).all()
    table = {c.text: len(f) for f, caps in zip(split.features, split.captions) for c in caps}
    assert all(length <= table[c] for c, length in zip(*main))  # the crop length of the real motion
    assert len(mm[0]) == SMALL.mm_texts * SMALL.mm_samples and mm[0][0] == mm[0][1] == mm[0][2]
    summary = res.summary()
    assert np.isnan(summary.loc["ground truth", ("multimodality", "mean")])
    assert res.table().loc["ground truth", "MModality ↑"] == "–"
    # the same motion for the same caption: 0 up to round-off (it is embedded at different batch positions)
    assert res.mean("copy", "multimodality") <= 1e-5 * res.mean("ground truth", "diversity")
    assert 0 <= res.mean("ground truth", "top1") <= res.mean("ground truth", "top3") <= 1
    assert res.mean("ground truth", "fid") > 0  # two GT passes differ by their random crops and captions
    assert "6 of 70 motions" in res.notes[0]
    records = res.to_records()
    assert records["rows"]["ground truth"]["multimodality"]["mean"] is None
    assert res.figure().data[0].type == "table"


def test_protocol_is_deterministic_and_random_is_worse(world):
    ev, split = world
    gens = {"copy": _lookup(split), "random": P.random_generator(np.zeros(263), np.ones(263) * 3, seed=1)}
    a = P.evaluate(gens, ev, split, SMALL, seed=0, multimodality=False)
    b = P.evaluate(gens, ev, split, SMALL, seed=0, multimodality=False)
    pd.testing.assert_frame_equal(a.values, b.values)
    c = P.evaluate(gens, ev, split, SMALL, seed=1, multimodality=False)
    assert not np.allclose(a.values["value"], c.values["value"], equal_nan=True)
    assert a.mean("random", "fid") > 10 * max(a.mean("copy", "fid"), a.mean("ground truth", "fid"))
    assert np.isnan(a.mean("copy", "multimodality"))


def test_model_lengths_and_min_gt(world):
    ev, split = world
    seen = []

    def fixed(captions, lengths):
        seen.append(lengths)
        return [np.ones((300, 263), dtype=np.float32)] * len(captions)

    P.evaluate({"m": fixed}, ev, split, SMALL, lengths="model", replications=1, multimodality=False)
    assert seen == [None]
    cut = []
    orig = ev.embed_motions

    def spy(motions, **kw):
        cut.append([len(m) for m in motions])
        return orig(motions, **kw)

    ev.embed_motions = spy
    try:
        P.evaluate({"m": fixed}, ev, split, "motiongpt", replications=1, multimodality=False, diversity_pairs=50)
    finally:
        del ev.embed_motions
    assert max(cut[-1]) < 120  # cut to the ground-truth lengths, not the 300 frames generated


def test_options_presets_and_errors(world):
    ev, split = world
    momask = P.resolve_options("momask")
    assert momask.lengths == "gt" and momask.mm_selection == "first_batches" and momask.mm_texts == 96
    assert P.resolve_options("t2m_gpt").mm_selection == "all"
    assert P.resolve_options("motiongpt").eval_length == "min_gt"
    assert P.resolve_options(get_profile("smoke").protocol).replications == 2
    assert P.resolve_options(get_profile("full").protocol, replications=3).replications == 3
    with pytest.raises(InputError, match="unknown protocol 'smoke'"):
        P.resolve_options("smoke")  # a profile name is resolved once, by the caller
    assert P.resolve_options("momask", replications=3).replications == 3
    with pytest.raises(InputError, match="unknown protocol"):
        P.resolve_options("nonsense")
    with pytest.raises(InputError, match="lengths"):
        P.ProtocolOptions(lengths="estimated")
    with pytest.raises(InputError, match="returned 1 motions"):
        P.evaluate({"bad": lambda c, l: [np.zeros((40, 263))]}, ev, split, SMALL)
    with pytest.raises(InputError, match="reserved"):
        P.evaluate({"ground truth": _lookup(split)}, ev, split, SMALL)
    tiny = SimpleNamespace(features=split.features[:10], captions=split.captions[:10])
    with pytest.raises(InputError, match="fewer than one batch"):
        P.evaluate({}, ev, tiny, SMALL)


def test_t2m_gpt_fid_reference_is_the_same_pass(world):
    """T2M-GPT's code takes FID against the pass the generator was conditioned on: a generator that writes
    exactly that pass's ground-truth crops scores FID ~ 0 there, and about the GT row's FID(A, B) otherwise."""
    from motionlab.runtime import rng as make_rng

    ev, split = world
    assert P.resolve_options("t2m_gpt").fid_reference == "same_pass"
    assert P.resolve_options("t2m").fid_reference == "independent"
    bank = P.build_ground_truth(ev, split.features, split.captions)
    a = bank.draw_pass(make_rng(0, "protocol", 0), 64)  # pass A of replication 0, as the protocol draws it
    crop_of = {bank.caption_texts[c]: k for c, k in zip(a["captions"], a["crops"])}

    def oracle(captions, lengths):  # pass A's own ground-truth crops
        out = []
        for c in captions:
            k = crop_of[c]
            i = int(np.searchsorted(bank.crop_offsets, k, side="right")) - 1  # the motion crop k belongs to
            out.append(split.features[i][bank.crop_start[k]:bank.crop_start[k] + bank.crop_length[k]])
        return out

    opts = dict(seed=0, replications=1, multimodality=False, ground_truth=bank)
    same = P.evaluate({"oracle": oracle}, ev, split, SMALL, fid_reference="same_pass", **opts)
    indep = P.evaluate({"oracle": oracle}, ev, split, SMALL, **opts)
    gt_fid = indep.mean("ground truth", "fid")
    assert same.mean("ground truth", "fid") == pytest.approx(gt_fid, rel=1e-9)  # the GT row keeps FID(A, B)
    assert same.mean("oracle", "fid") < 1e-4 * gt_fid
    assert indep.mean("oracle", "fid") == pytest.approx(gt_fid, rel=1e-3)
    assert same.mean("oracle", "top1") == pytest.approx(indep.mean("oracle", "top1"), abs=1e-9)
    with pytest.raises(InputError, match="fid_reference"):
        P.ProtocolOptions(fid_reference="pass_b")


def test_vq_reconstruction_as_t2m_gpt_vq_eval(world, monkeypatch):
    """VQ_eval.py: random loader crops, batches of 32 without the last partial one, 20 repeats."""
    from motionlab.tokenizers import artifacts
    from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig

    ev, split = world
    torch.manual_seed(0)
    vq = VQVAE(VQVAEConfig(width=16, code_dim=8, n_codes=12, depth=2))
    vq.train()(torch.randn(4, 32, 263))  # initialise the codebook from data
    bank = P.build_ground_truth(ev, split.features, split.captions)
    res = artifacts.evaluate_reconstruction_official(vq.eval(), split, ev, ground_truth=bank)
    assert res.models == ["ground truth", "reconstruction"] and res.n_motions == 64  # 70 motions: 2 x 32
    assert res.options.replications == 20 and res.values["replication"].nunique() == 20
    assert res.mean("reconstruction", "fid") > 0 and np.isnan(res.mean("ground truth", "fid"))
    gt = res.values[(res.values["model"] == "ground truth") & (res.values["metric"] == "mm_dist")]
    assert gt["value"].nunique() > 1  # every repeat draws new captions and crops

    seen = []

    def identity(model, windows):  # a perfect tokenizer: FID 0 only if each crop meets its own reconstruction
        seen.extend(len(w) for w in windows)
        return list(windows), list(windows)

    monkeypatch.setattr(artifacts, "reconstruct_motions", identity)
    perfect = artifacts.evaluate_reconstruction_official(vq, split, ev, ground_truth=bank, replications=3)
    assert all(n % 4 == 0 for n in seen)
    assert abs(perfect.mean("reconstruction", "fid")) < 1e-6 * res.mean("reconstruction", "fid")


def test_mm_selection_modes(world):
    ev, split = world
    sizes = []

    def gen(captions, lengths):
        sizes.append(len(captions))
        return _lookup(split)(captions, lengths)

    P.evaluate({"g": gen}, ev, split, SMALL, replications=1, mm_selection="all", mm_samples=2, mm_pairs=1)
    P.evaluate({"g": gen}, ev, split, SMALL, replications=1, mm_selection="first_batches", mm_texts=33,
               mm_samples=2, mm_pairs=1)
    assert sizes == [64, 64 * 2, 64, 64 * 2]  # all texts; two batches of 32 for 33 texts


def test_reused_ground_truth_and_degenerate_generators(world):
    ev, split = world
    bank = P.build_ground_truth(ev, split.features, split.captions)
    a = P.evaluate({}, ev, split, SMALL, multimodality=False)
    b = P.evaluate({}, ev, split, SMALL, multimodality=False, ground_truth=bank)
    pd.testing.assert_frame_equal(a.values, b.values)
    half = SimpleNamespace(features=split.features[:40], captions=split.captions[:40])
    with pytest.raises(InputError, match="bank holds 70"):
        P.evaluate({}, ev, half, SMALL, ground_truth=bank)
    with pytest.raises(InputError, match="generator 'empty'.*2 frames"):
        P.evaluate({"empty": lambda c, l: [np.zeros((2, 263))] * len(c)}, ev, split, SMALL)


def test_retrieval_generator_returns_the_best_overlapping_motion():
    feats = [np.full((50, 263), float(i), dtype=np.float32) for i in range(3)]
    caps = [[_Cap("a person walks forward", ())], [_Cap("someone jumps high", ()), _Cap("a jump", ())],
            [_Cap("a person waves the left hand", ())]]
    gen = P.retrieval_generator(SimpleNamespace(features=feats, captions=caps))
    out = gen(["The person WAVES a hand.", "jumps!", "walks forward", "zebra"], None)
    assert [int(m[0, 0]) for m in out] == [2, 1, 0, 0]  # no shared word: the first motion
    cut = gen(["jumps!"], np.array([12]))
    assert cut[0].shape == (12, 263)
