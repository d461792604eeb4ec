"""MoMask's masked transformer: the mask schedule, BERT replace/remask, the masked-only loss, guidance,
MaskGIT generation, the length estimator, the recipes and the cached model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.generators.momask.masked_transformer import (
    IGNORE,
    LengthEstimator,
    LengthEstimatorConfig,
    MaskedTransformer,
    MaskedTransformerConfig,
    cosine_schedule,
    drop_condition,
    filter_top_fraction,
    mask_for_training,
)
from motionlab.profiles import PROFILE_NAMES, get_profile

pytestmark = pytest.mark.usefixtures("single_thread")

TINY = MaskedTransformerConfig(n_codes=16, text_dim=8, code_dim=8, width=16, n_layers=2, n_heads=2, ff=32,
                               dropout=0.0, max_tokens=12)


def _model(cfg: MaskedTransformerConfig = TINY, seed: int = 0) -> MaskedTransformer:
    torch.manual_seed(seed)
    return MaskedTransformer(cfg).eval()


def _codes(b: int, t: int, n_codes: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, n_codes, (b, t), generator=torch.Generator().manual_seed(seed))  # (B, T)


# ------------------------------------------------------------------------------------------ masking
def test_mask_counts_follow_the_cosine_schedule():
    lengths = torch.tensor([1, 5, 12, 7] * 50)
    codes = _codes(len(lengths), 12)
    m = mask_for_training(codes, lengths, TINY, torch.Generator().manual_seed(0))
    expected = torch.ceil(torch.cos(m.tau * math.pi / 2) * lengths).clamp_min(1).long()  # ⌈γ(τ)·n⌉
    assert torch.equal(m.masked.sum(1), expected)
    valid = torch.arange(12) < lengths[:, None]
    assert not (m.masked & ~valid).any()  # never a pad position
    assert (m.inputs[~valid] == TINY.pad_id).all()
    assert torch.equal(m.targets != IGNORE, m.masked) and torch.equal(m.targets[m.masked], codes[m.masked])
    assert torch.equal(m.replaced | m.remasked | m.kept, m.masked)  # the BERT split partitions the masked set
    assert (m.inputs[m.remasked] == TINY.mask_id).all() and torch.equal(m.inputs[m.kept], codes[m.kept])
    assert torch.equal(m.inputs[valid & ~m.masked], codes[valid & ~m.masked])
    assert 0 <= float(m.tau.min()) and float(m.tau.max()) < 1
    assert torch.allclose(cosine_schedule(torch.tensor([0.0, 1.0])), torch.tensor([1.0, 0.0]), atol=1e-6)


def test_replace_remask_fractions_match_the_official_split():
    """Official: 10 % random code, 88 % of the other 90 % [MASK] (79.2 %), the rest (10.8 %) unchanged."""
    codes = _codes(400, 12)
    m = mask_for_training(codes, torch.full((400,), 12), TINY, torch.Generator().manual_seed(1))
    total = float(m.masked.sum())  # ~ 2,500 masked positions: 3 sigma of a share is < 0.02
    assert total > 1500
    assert abs(float(m.replaced.sum()) / total - 0.10) < 0.02
    assert abs(float(m.remasked.sum()) / total - 0.792) < 0.025
    assert abs(float(m.kept.sum()) / total - 0.108) < 0.02
    noise = m.inputs[m.replaced]
    assert ((noise >= 0) & (noise < TINY.n_codes)).all()  # random codes, never [MASK] / [PAD]


def test_condition_dropout_zeroes_whole_rows_at_its_rate():
    text = torch.randn(4000, 8) + 3.0
    out = drop_condition(text, 0.1, torch.Generator().manual_seed(0))
    zero = (out == 0).all(1)
    assert abs(float(zero.float().mean()) - 0.1) < 0.015
    assert torch.equal(out[~zero], text[~zero])
    assert drop_condition(text, 0.0) is text


def test_loss_only_on_masked_positions():
    model = _model()
    codes, lengths = _codes(3, 10), torch.tensor([10, 6, 3])
    m = mask_for_training(codes, lengths, TINY, torch.Generator().manual_seed(2))
    logits, losses = model(torch.randn(3, 8), m.inputs, lengths, m.targets)
    assert logits.shape == (3, 10, 16) and set(losses) == {"loss", "accuracy"}
    scored = m.targets != IGNORE
    changed = logits.clone()
    changed[~scored] = torch.randn(int((~scored).sum()), 16) * 100  # anything at unscored positions
    assert torch.equal(model.loss(changed, m.targets)["loss"], losses["loss"])
    changed[scored] += 1.0  # a shift of every logit of a scored row changes nothing either (softmax)
    assert torch.allclose(model.loss(changed, m.targets)["loss"], losses["loss"], atol=1e-5)
    changed[scored, 0] += 5.0
    assert not torch.allclose(model.loss(changed, m.targets)["loss"], losses["loss"])
    # the loss is the mean over the masked positions
    ce = torch.nn.functional.cross_entropy(logits[scored], m.targets[scored])
    assert torch.allclose(losses["loss"], ce)
    with pytest.raises(InputError, match="IGNORE"):
        model.loss(logits, torch.full_like(m.targets, IGNORE))


def test_padding_is_invisible():
    model = _model()
    text, ids = torch.randn(1, 8), _codes(1, 10)
    short = model(text, ids[:, :6], [6])[0]
    padded_a = model(text, ids, [6])[0][:, :6]
    other = ids.clone()
    other[:, 6:] = 3  # whatever lies past the length is read as [PAD] and hidden from attention
    padded_b = model(text, other, [6])[0][:, :6]
    assert torch.allclose(short, padded_a, atol=1e-5) and torch.allclose(padded_a, padded_b, atol=1e-6)


# ------------------------------------------------------------------------------------------ guidance
def test_cfg_scale_zero_is_exactly_the_conditional_logits():
    model = _model()
    text, ids, lengths = torch.randn(2, 8), _codes(2, 7), [7, 4]
    ids[:, ::2] = TINY.mask_id
    cond = model(text, ids, lengths)[0]
    assert torch.equal(model.guided(text, ids, lengths, 0.0), cond)  # bit-identical: one pass, no mixing
    uncond = model(torch.zeros_like(text), ids, lengths)[0]
    assert torch.allclose(model(text, ids, lengths, uncond=True)[0], uncond)
    s = 2.5
    assert torch.allclose(model.guided(text, ids, lengths, s), (1 + s) * cond - s * uncond, atol=1e-5)


def test_top_fraction_keeps_the_official_52_of_512():
    logits = torch.randn(3, 512)
    kept = torch.isfinite(filter_top_fraction(logits, 0.1)).sum(-1)
    assert kept.tolist() == [52, 52, 52]  # official topkr 0.9: ceil(0.1 * 512)
    assert torch.equal(filter_top_fraction(logits, 1.0), logits)
    with pytest.raises(InputError, match="top_fraction"):
        filter_top_fraction(logits, 0.0)


# ------------------------------------------------------------------------------------------ generation
def test_generation_gives_the_requested_lengths_and_no_special_ids():
    model = _model()
    lengths = torch.tensor([12, 1, 5, 9])
    history: list = []
    ids = model.generate(torch.randn(4, 8), lengths, iterations=5, cond_scale=3.0,
                         generator=torch.Generator().manual_seed(0), history=history)
    assert ids.shape == (4, 12) and ids.dtype == torch.long
    inside = torch.arange(12) < lengths[:, None]
    assert ((ids[inside] >= 0) & (ids[inside] < TINY.n_codes)).all()  # no [MASK] / [PAD] inside the length
    assert (ids[~inside] == TINY.pad_id).all()
    assert len(history) == 5 and torch.equal(history[-1], ids)
    # the first iteration fills every position; later ones only re-mask, never touch padding
    masks = [int((h == TINY.mask_id).sum()) for h in history]
    assert masks == [0] * 5


def test_generation_is_deterministic_with_a_seeded_generator():
    model = _model()
    text, lengths = torch.randn(3, 8), [4, 12, 7]
    a = model.generate(text, lengths, generator=torch.Generator().manual_seed(5))
    b = model.generate(text, lengths, generator=torch.Generator().manual_seed(5))
    c = model.generate(text, lengths, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not model.training  # generate restores the mode it found (eval here)
    model.train()
    model.generate(text, lengths, iterations=2)
    assert model.training


def test_bad_input_is_refused():
    model = _model()
    text = torch.randn(2, 8)
    with pytest.raises(InputError, match="lengths"):
        model.generate(text, [0, 3])
    with pytest.raises(InputError, match="lengths"):
        model.generate(text, [3, 13])  # > max_tokens
    with pytest.raises(InputError, match="lengths"):
        model.generate(text, [3])  # one length for two prompts
    with pytest.raises(InputError, match=r"text_emb.*\(B, 8\)"):
        model.generate(torch.randn(2, 5), [3, 3])
    with pytest.raises(InputError, match="iterations"):
        model.generate(text, [3, 3], iterations=0)
    with pytest.raises(InputError, match="temperature"):
        model.generate(text, [3, 3], temperature=0.0)
    with pytest.raises(InputError, match=r"text_emb.*\(B, 8\)"):
        model(torch.randn(2, 9), _codes(2, 4), [4, 4])
    with pytest.raises(InputError, match="ids"):
        model(text, _codes(2, 13), [4, 4])  # longer than max_tokens
    with pytest.raises(InputError, match="0..17"):
        model(text, torch.full((2, 4), 40), [4, 4])
    with pytest.raises(InputError, match="n_heads"):
        MaskedTransformerConfig(width=10, n_heads=4)


# ------------------------------------------------------------------------------------ length estimator
def test_length_estimator_loss_and_sampling():
    torch.manual_seed(0)
    est = LengthEstimator(LengthEstimatorConfig(text_dim=8, hidden=32, n_classes=10)).eval()
    text = torch.randn(6, 8)
    logits, losses = est(text, torch.tensor([1, 2, 3, 9, 12, 0]))  # 12 counts as the last class
    assert logits.shape == (6, 10) and losses["loss"] > 0
    g = torch.Generator().manual_seed(0)
    n = est.sample(text.repeat(50, 1), min_tokens=2, max_tokens=7, generator=g)
    assert n.shape == (300,) and int(n.min()) >= 2 and int(n.max()) <= 7 and len(set(n.tolist())) > 1
    # the official size: 512 -> 512 -> 256 -> 128 -> 50 with three LayerNorms
    with torch.device("meta"):
        official = LengthEstimator(LengthEstimatorConfig())
    assert sum(p.numel() for p in official.parameters()) == 262_656 + 1024 + 131_328 + 512 + 32_896 + 256 + 6_450
    with pytest.raises(InputError, match="max_tokens"):
        est.sample(text, min_tokens=1, max_tokens=10)


# ---------------------------------------------------------------------------------------- recipes
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_masked_transformer_recipes(profile):
    """Every profile's recipe builds; ``paper`` is the official MaskTransformer
    (t2m_nlayer8_nhead6_ld384_ff1024_cdp0.1_rvq6ns) without CLIP, 12,048,768 parameters: token embedding
    514 x 512 (263,168) + Linear 512 -> 384 (196,992) + text Linear 512 -> 384 (196,992) + 8 post-LN encoder
    layers of 1,380,736 (11,045,888) + head 384 -> 384, LayerNorm, 384 -> 512 (345,728)."""
    recipe = get_profile(profile).momask_masked
    tokenizer = get_profile(profile).momask_tokenizer.model
    assert recipe.model.n_codes == tokenizer.n_codes and recipe.model.code_dim == tokenizer.code_dim
    with torch.device("meta"):
        model = MaskedTransformer(recipe.model)
    assert recipe.for_ablation().ablation == {}
    if profile == "paper":
        assert model.num_params() == 12_048_768
        cfg, train = recipe.model, recipe.train
        assert (cfg.n_layers, cfg.n_heads, cfg.width, cfg.ff, cfg.dropout, cfg.cond_drop) == (8, 6, 384, 1024, 0.2,
                                                                                               0.1)
        assert (train.batch_size, train.lr, train.betas, train.weight_decay, train.weight_decay_on) == (
            64, 2e-4, (0.9, 0.99), 1e-5, "all")
        assert (train.warmup_steps, train.schedule, train.milestones, train.gamma) == (2000, "step", (50_000,), 0.1)
        assert train.best_metric == "val_fid"


def test_token_set_refuses_multi_layer_ids_and_bad_codes():
    from motionlab.generators.momask.train_masked import MaskedTokenSet

    with pytest.raises(InputError, match="layer"):
        MaskedTokenSet([np.zeros((4, 3), dtype=np.int64)], [np.zeros((1, 8))], TINY)
    with pytest.raises(InputError, match="outside"):
        MaskedTokenSet([np.array([1, 16])], [np.zeros((1, 8))], TINY)


# -------------------------------------------------------------------------------------- end to end
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_get_masked_transformer_trains_then_loads(tiny_dataset, isolated_cache, capsys):
    from motionlab.generators.momask.train_masked import (
        MaskedTransformerRun, get_masked_transformer, masked_transformer_is_cached,
    )

    p = get_profile("smoke")
    tokenizer = p.momask_tokenizer.replace(steps=8, batch_size=4, width=16, code_dim=8, n_codes=16, n_quantizers=3,
                                           log_every=4, eval_every=4, window=32)
    recipe = p.momask_masked.replace(steps=12, milestones=(10,), warmup_steps=2, batch_size=8, width=16, n_heads=2,
                                     ff=32, n_layers=1, log_every=4)
    assert not masked_transformer_is_cached(tiny_dataset, recipe, tokenizer)
    run = get_masked_transformer(tiny_dataset, recipe, tokenizer, "cpu")
    assert isinstance(run, MaskedTransformerRun) and run.info["n_train"] == 8
    assert run.model.config.n_codes == 16 and run.model.config.code_dim == 8
    assert {"loss", "accuracy"} <= set(run.info["history"][-1])
    assert 0 <= run.info["evals"][-1]["val_accuracy"] <= 1
    assert masked_transformer_is_cached(tiny_dataset, recipe, tokenizer)

    tokens = run.base_tokens(["a person walks", "someone jumps"], [40, 17], seed=1, iterations=3)
    assert [t.shape for t in tokens] == [(10,), (4,)] and all(t.max() < 16 for t in tokens)
    feats = run.decode_base(tokens)
    assert [f.shape for f in feats] == [(40, 263), (16, 263)]

    capsys.readouterr()
    again = get_masked_transformer(tiny_dataset, recipe, tokenizer, "cpu")
    assert "loaded cached momask_masked" in capsys.readouterr().out
    for (k, v), (k2, v2) in zip(run.model.state_dict().items(), again.model.state_dict().items()):
        assert k == k2 and torch.equal(v.cpu(), v2.cpu())
    same = again.base_tokens(["a person walks", "someone jumps"], [40, 17], seed=1, iterations=3)
    assert all(np.array_equal(a, b) for a, b in zip(same, tokens))  # same weights, same seed: same codes

    with pytest.raises(InputError, match="residual tokenizer"):
        get_masked_transformer(tiny_dataset, recipe, p.tokenizer, "cpu")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_masked_transformer_selected_by_validation_fid(tiny_dataset, isolated_cache, mean_embedder):
    from motionlab.generators.momask.train_masked import get_masked_transformer

    p = get_profile("smoke")
    tokenizer = p.momask_tokenizer.replace(steps=8, batch_size=4, width=16, code_dim=8, n_codes=16, n_quantizers=3,
                                           log_every=4, eval_every=4, window=32)
    recipe = p.momask_masked.replace(steps=12, milestones=(10,), warmup_steps=2, batch_size=8, width=16, n_heads=2,
                                     ff=32, n_layers=1, log_every=4, eval_every=6, best_metric="val_fid",
                                     best_mode="min")
    run = get_masked_transformer(tiny_dataset, recipe, tokenizer, "cpu", evaluator=mean_embedder)
    fids = [e["val_fid"] for e in run.info["evals"]]
    assert len(fids) == 2 and all(np.isfinite(fids))
