"""MoMask's residual transformer: official size, weight sharing, the layer schedule, the loss, guidance,
generation, the batch function over (T', L) ids, the profiles and the cached model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from motionlab.errors import InputError
from motionlab.generators.momask.residual_transformer import (
    ResidualTransformer, ResidualTransformerConfig, gumbel_argmax, layer_probabilities, layer_schedule,
    official_top_k,
)
from motionlab.generators.momask.train_residual import (
    ResidualBatches, ResidualTokenSet, ResidualTransformerRecipe, collate_residual, residual_loss,
    residual_validation_loss,
)
from motionlab.profiles import PROFILES, get_profile

TINY = ResidualTransformerConfig(n_codes=16, n_quantizers=4, code_dim=8, text_dim=6, width=16, n_layers=2,
                                 n_heads=2, ff=32, dropout=0.1, max_tokens=12)

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ResidualTransformer(TINY).eval()


def _inputs(B=3, T=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    text = torch.randn(B, TINY.text_dim, generator=g)
    ids = torch.randint(0, TINY.n_codes, (B, T, TINY.n_quantizers), generator=g)
    lengths = torch.tensor([T, 6, 3][:B])
    return text, ids, lengths


# ------------------------------------------------------------------------------------------ size
def test_paper_model_has_the_official_parameter_count():
    """The official ResidualTransformer (momask-codes, share_weight on, unshared RVQ codebooks, CLIP's 512-d
    feature) has 13,364,224 parameters without CLIP; this one has exactly as many:

    input Linear 512->384 (196,992) + 8 encoder layers (8 x 1,380,736) + layer token Linear 6->384 (2,688)
    + text Linear 512->384 (196,992) + output head 384->384, LayerNorm, 384->512 (345,728) + token tables:
    4 shared + E_0 + W_5, each 513 x 512 (1,575,936)."""
    paper = get_profile("paper").momask_residual.replace(text_dim=512).model
    assert (paper.n_layers, paper.n_heads, paper.width, paper.ff, paper.dropout, paper.cond_drop,
            paper.share_weights) == (8, 6, 384, 1024, 0.2, 0.2, True)
    with torch.device("meta"):  # no memory: only count
        m = ResidualTransformer(paper)
    assert m.num_params() == 13_364_224
    assert len(m.encoder.layers) == 8 and m.encoder.layers[0].norm_first is False  # post-LN, as official
    assert "pos" not in dict(m.named_parameters())  # fixed sinusoidal positions


# ------------------------------------------------------------------------------------------ weight sharing
def test_prediction_of_layer_j_is_the_embedding_of_layer_j(model):
    L = TINY.n_quantizers
    for j in range(1, L - 1):  # W_j is E_j: the same Parameter object and the same memory
        assert model.heads[j - 1].weight is model.embeds[j].weight
        assert model.heads[j - 1].weight.data_ptr() == model.embeds[j].weight.data_ptr()
    assert model.heads[L - 2].weight is not model.embeds[L - 2].weight  # last prediction: own table
    assert all(model.embeds[0].weight is not h.weight for h in model.heads)  # base embedding: own table
    assert all(h.bias is None for h in model.heads)
    # an update through the head is seen by the embedding
    with torch.no_grad():
        model.heads[0].weight[3, 0] += 1.0
    assert model.embeds[1].weight[3, 0] == model.heads[0].weight[3, 0]
    # without sharing every table is its own
    free = ResidualTransformer(ResidualTransformerConfig(**{**TINY.__dict__, "share_weights": False}))
    assert all(free.heads[j - 1].weight is not free.embeds[j].weight for j in range(1, L - 1))
    tables = (L - 1) * 2 * (TINY.n_codes + 1) * TINY.code_dim
    shared = (L - 2) * (TINY.n_codes + 1) * TINY.code_dim
    assert free.num_params() - model.num_params() == shared + (L - 1) * (TINY.n_codes + 1)  # + biases
    assert tables - shared == sum(p.numel() for p in {id(p): p for m in (*model.embeds, *model.heads)
                                                      for p in m.parameters()}.values())


def test_tied_weights_survive_a_checkpoint(model, tmp_path):
    from motionlab import checkpoints

    checkpoints.save_model(model, tmp_path)
    back = checkpoints.load_model(ResidualTransformer, tmp_path)
    assert back.heads[0].weight is back.embeds[1].weight
    text, ids, lengths = _inputs()
    assert torch.equal(model(text, ids, lengths, layer=2)[0], back(text, ids, lengths, layer=2)[0])


# ------------------------------------------------------------------------------------------ layer schedule
def test_layer_schedule_is_the_official_cosine_rule():
    # j = round((1 - cos(pi u / 2)) (L - 2)) + 1 at a few points, L = 6
    u = torch.tensor([0.0, 0.2, 0.5, 0.8, 0.999])
    expect = [round((1 - np.cos(np.pi * x / 2)) * 4) + 1 for x in u.tolist()]
    assert layer_schedule(u, 6).tolist() == expect == [1, 1, 2, 4, 5]
    p = layer_probabilities(6)
    assert p.shape == (5,) and abs(float(p.sum()) - 1.0) < 1e-12
    assert np.allclose(p.numpy(), [0.3217, 0.2485, 0.1851, 0.1649, 0.0798], atol=5e-4)  # low layers favoured
    assert layer_probabilities(2).tolist() == [1.0]  # one residual layer: always it


@pytest.mark.parametrize("L", [3, 6])
def test_sampled_layers_follow_the_schedule(L):
    cfg = ResidualTransformerConfig(**{**TINY.__dict__, "n_quantizers": L})
    m = ResidualTransformer(cfg)
    n = 200_000
    j = m.sample_layers(n, torch.Generator().manual_seed(0))
    assert int(j.min()) >= 1 and int(j.max()) <= L - 1
    freq = torch.bincount(j, minlength=L)[1:].double() / n
    # binomial standard error <= 0.0012 at n = 200k: 0.006 is 5 sigma
    assert torch.allclose(freq, layer_probabilities(L), atol=0.006), (freq, layer_probabilities(L))


# ------------------------------------------------------------------------------------------ forward and loss
def test_loss_is_cross_entropy_of_layer_j_on_valid_tokens_only(model):
    text, ids, lengths = _inputs()
    logits, losses = model(text, ids, lengths, layer=2)
    assert logits.shape == (3, 10, TINY.n_codes)
    valid = torch.arange(10)[None] < lengths[:, None]
    manual = F.cross_entropy(logits[valid], ids[:, :, 2][valid])
    assert torch.allclose(losses["loss"], manual, atol=1e-6)
    # anything written at pads (other codes, -1, the Pad id) changes neither the loss nor valid logits
    junk = ids.clone()
    junk[~valid] = -1
    logits2, losses2 = model(text, junk, lengths, layer=2)
    assert torch.equal(losses["loss"], losses2["loss"]) and torch.equal(logits[valid], logits2[valid])
    junk[~valid] = (ids[~valid] + 5) % TINY.n_codes
    assert torch.equal(model(text, junk, lengths, layer=2)[1]["loss"], losses["loss"])
    assert float(losses["layer"]) == 2.0 and 0.0 <= float(losses["accuracy"]) <= 1.0


def test_input_is_the_sum_of_the_layers_below_j(model):
    text, ids, lengths = _inputs()
    base, _ = model(text, ids, lengths, layer=2)
    above = ids.clone()
    above[:, :, 2:] = (above[:, :, 2:] + 3) % TINY.n_codes  # layers >= j are not inputs
    assert torch.equal(model(text, above, lengths, layer=2)[0], base)
    below = ids.clone()
    below[:, :, 1] = (below[:, :, 1] + 3) % TINY.n_codes  # layer j-1 is
    assert not torch.allclose(model(text, below, lengths, layer=2)[0], base)
    # a per-sample layer tensor gives each sample its own target layer
    mixed, losses = model(text, ids, lengths, layer=torch.tensor([1, 2, 3]))
    for b, j in enumerate([1, 2, 3]):
        assert torch.allclose(mixed[b], model(text[b:b + 1], ids[b:b + 1], lengths[b:b + 1], layer=j)[0][0],
                              atol=1e-5)
    assert abs(float(losses["layer"]) - 2.0) < 1e-6


def test_attention_is_bidirectional(model):
    text, ids, lengths = _inputs()
    base, _ = model(text, ids, lengths, layer=1)
    later = ids.clone()
    later[0, 8, 0] = (later[0, 8, 0] + 1) % TINY.n_codes  # a late token of sample 0 (length 10)
    after, _ = model(text, later, lengths, layer=1)
    assert not torch.allclose(after[0, :8], base[0, :8])  # earlier positions see it
    assert torch.equal(after[1:], base[1:])  # other samples do not


def test_condition_dropout_zeroes_the_text_in_training_only():
    torch.manual_seed(0)
    cfg = ResidualTransformerConfig(**{**TINY.__dict__, "dropout": 0.0, "cond_drop": 1.0})
    m = ResidualTransformer(cfg)
    text, ids, lengths = _inputs()
    m.train()
    dropped, _ = m(text, ids, lengths, layer=1)
    m.eval()
    assert torch.allclose(dropped, m(torch.zeros_like(text), ids, lengths, layer=1)[0], atol=1e-6)
    assert not torch.allclose(dropped, m(text, ids, lengths, layer=1)[0])
    # at 0.2, about one sample in five sees the zeroed text (a seeded generator: the same rows every time)
    m = ResidualTransformer(ResidualTransformerConfig(**{**TINY.__dict__, "dropout": 0.0})).train()
    n = 2000
    rows = (text[:1].expand(n, -1), ids[:1, :2].expand(n, -1, -1), torch.full((n,), 2))
    train_logits, _ = m(*rows, layer=1, generator=torch.Generator().manual_seed(1))
    m.eval()
    zero_text, _ = m(torch.zeros_like(rows[0]), *rows[1:], layer=1)
    with_text, _ = m(*rows, layer=1)
    dropped = torch.isclose(train_logits, zero_text, atol=1e-5).flatten(1).all(1)
    kept = torch.isclose(train_logits, with_text, atol=1e-5).flatten(1).all(1)
    assert bool((dropped ^ kept).all())  # each row is one or the other
    assert abs(float(dropped.double().mean()) - 0.2) < 0.03  # binomial sd 0.009


# ------------------------------------------------------------------------------------------ guidance
def test_guidance_at_scale_zero_is_the_conditional_logits(model):
    text, ids, lengths = _inputs()
    valid = model.valid_mask(lengths, ids.shape[1])
    for j in range(1, TINY.n_quantizers):
        cond, _ = model(text, ids, lengths, layer=j)
        h = model.history(ids.masked_fill(~valid[:, :, None], TINY.pad_id), torch.full((3,), j))
        assert torch.equal(model.guided_logits(text, h, j, valid, 0.0), cond)  # bit-identical: one pass
    uncond, _ = model(torch.zeros_like(text), ids, lengths, layer=1)
    cond, _ = model(text, ids, lengths, layer=1)
    h = model.history(ids.masked_fill(~valid[:, :, None], TINY.pad_id), torch.full((3,), 1))
    guided = model.guided_logits(text, h, 1, valid, 5.0)
    assert torch.allclose(guided, 6.0 * cond - 5.0 * uncond, atol=1e-5)  # (1 + s) w_c - s w_u


# ------------------------------------------------------------------------------------------ generation
def test_generate_keeps_base_ids_and_fills_every_residual_layer(model):
    text, ids, lengths = _inputs()
    base = ids[:, :, 0].clone()
    out = model.generate(text, base, lengths, generator=torch.Generator().manual_seed(0))
    valid = model.valid_mask(lengths, 10)
    assert out.shape == (3, 10, TINY.n_quantizers) and out.dtype == torch.long
    assert torch.equal(out[:, :, 0][valid], base[valid])
    codes = out[valid]  # (N, L)
    assert int(codes.min()) >= 0 and int(codes.max()) < TINY.n_codes
    assert bool((out[~valid] == TINY.pad_id).all())  # pads stay Pad in every layer
    assert not model.training  # and the model's mode is restored
    # n_layers: a prefix of the layers, the rest Pad
    short = model.generate(text, base, lengths, n_layers=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(short[:, :, :2], out[:, :, :2]) and bool((short[:, :, 2:] == TINY.pad_id).all())


def test_generate_is_one_guided_pass_per_layer(model):
    """With top_k = 1 every sample is the argmax of the guided logits of the layers generated so far."""
    text, ids, lengths = _inputs()
    out = model.generate(text, ids[:, :, 0], lengths, cond_scale=2.0, top_k=1)
    valid = model.valid_mask(lengths, 10)
    filled = out.masked_fill(~valid[:, :, None], TINY.pad_id)
    for j in range(1, TINY.n_quantizers):
        h = model.history(filled, torch.full((3,), j))
        expect = model.guided_logits(text, h, j, valid, 2.0).argmax(-1)
        assert torch.equal(out[:, :, j][valid], expect[valid])


def test_generate_is_deterministic_with_a_seeded_generator(model):
    text, ids, lengths = _inputs()
    a = model.generate(text, ids[:, :, 0], lengths, generator=torch.Generator().manual_seed(7))
    b = model.generate(text, ids[:, :, 0], lengths, generator=torch.Generator().manual_seed(7))
    c = model.generate(text, ids[:, :, 0], lengths, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_sampling_helpers():
    assert official_top_k(512) == 52 and official_top_k(16) == 2 and official_top_k(3) == 1
    logits = torch.log(torch.tensor([0.1, 0.2, 0.7])).expand(100_000, 3)
    freq = torch.bincount(gumbel_argmax(logits, 1.0, torch.Generator().manual_seed(0)), minlength=3) / 100_000
    assert torch.allclose(freq, torch.tensor([0.1, 0.2, 0.7]), atol=0.01)  # Gumbel-max = softmax sampling


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, message", [
    (lambda m, t, i, n: m(t, i[:, :, 0], n), r"ids has shape \(3, 10\): expected \(B=3, T, L=4\)"),
    (lambda m, t, i, n: m(t, i[:, :, :3], n), r"expected \(B=3, T, L=4\)"),
    (lambda m, t, i, n: m(t, i, n, layer=0), r"layer=\[0\]: expected residual layers in 1..3"),
    (lambda m, t, i, n: m(t, i, n, layer=4), r"layer=\[4\]: expected residual layers in 1..3"),
    (lambda m, t, i, n: m(t, i, n, layer=torch.tensor([1, 2])), r"layer has shape \(2,\)"),
    (lambda m, t, i, n: m(t[:, :5], i, n), r"text_emb has shape \(3, 5\): expected \(B, 6\)"),
    (lambda m, t, i, n: m(t, i, torch.tensor([10, 11, 3])), r"lengths must be 3 token counts in 1..10"),
    (lambda m, t, i, n: m(t, i, torch.tensor([10, 0, 3])), r"lengths must be"),
    (lambda m, t, i, n: m(t, i + 16, n), r"ids outside \[0, 16\)"),
    (lambda m, t, i, n: m(t, i.float(), n), r"ids has dtype torch.float32: expected integer code ids"),
    (lambda m, t, i, n: m(t, torch.zeros(3, 13, 4, dtype=torch.long), torch.tensor([13, 1, 1])),
     r"13 tokens per sequence: expected 1..12"),
    (lambda m, t, i, n: m.generate(t, i, n), r"base_ids has shape \(3, 10, 4\): expected \(B=3, T\)"),
    (lambda m, t, i, n: m.generate(t[:, :4], i[:, :, 0], n), r"expected \(B, 6\)"),
    (lambda m, t, i, n: m.generate(t, i[:, :, 0], n, cond_scale=-1), r"cond_scale=-1"),
    (lambda m, t, i, n: m.generate(t, i[:, :, 0], n, temperature=0), r"temperature=0"),
    (lambda m, t, i, n: m.generate(t, i[:, :, 0], n, n_layers=5), r"n_layers=5: expected 1..4"),
])
def test_bad_input_gets_a_clear_error(model, call, message):
    text, ids, lengths = _inputs()
    with pytest.raises(InputError, match=message):
        call(model, text, ids, lengths)


def test_bad_configs_are_rejected():
    with pytest.raises(InputError, match="n_quantizers=1"):
        ResidualTransformerConfig(n_quantizers=1)
    with pytest.raises(InputError, match="width=30"):
        ResidualTransformerConfig(width=30, n_heads=4)
    with pytest.raises(InputError, match="cond_drop=1.5"):
        ResidualTransformerConfig(cond_drop=1.5)


# ------------------------------------------------------------------------------------------ training data
def _token_set(n=6, seed=0, lengths=None):
    rng = np.random.default_rng(seed)
    lengths = lengths or [int(rng.integers(2, 11)) for _ in range(n)]
    tokens = [rng.integers(0, TINY.n_codes, size=(t, TINY.n_quantizers)) for t in lengths]  # (T', L) each
    text = [rng.normal(size=(int(rng.integers(1, 4)), TINY.text_dim)).astype(np.float16) for _ in lengths]
    return ResidualTokenSet(tokens, text, TINY), tokens


def test_token_set_items_and_collate():
    data, tokens = _token_set(lengths=[4, 7, 2, 15])
    item = data[1]
    assert item["ids"].shape == (TINY.max_tokens, TINY.n_quantizers) and item["length"] == 7
    assert np.array_equal(item["ids"][:7], tokens[1]) and (item["ids"][7:] == TINY.pad_id).all()
    long = data.sample(3, np.random.default_rng(0))  # 15 tokens > max_tokens 12: a window of 12
    assert long["length"] == 12
    starts = [s for s in range(4) if np.array_equal(tokens[3][s:s + 12], long["ids"])]
    assert starts
    batch = collate_residual([data[0], data[1], data[2]])
    assert batch["ids"].shape == (3, 7, TINY.n_quantizers)  # cut to the longest
    assert batch["text"].shape == (3, TINY.text_dim) and batch["text"].dtype == torch.float32
    assert batch["length"].tolist() == [4, 7, 2]


def test_token_set_rejects_bad_arrays():
    rng = np.random.default_rng(0)
    text = [rng.normal(size=(1, TINY.text_dim))]
    with pytest.raises(InputError, match=r"shape \(5,\): expected \(T' >= 1, L=4\)"):
        ResidualTokenSet([np.zeros(5, dtype=np.int64)], text, TINY)  # a single-codebook tokenizer's ids
    with pytest.raises(InputError, match=r"shape \(5, 3\)"):
        ResidualTokenSet([np.zeros((5, 3), dtype=np.int64)], text, TINY)
    with pytest.raises(InputError, match=r"outside \[0, 16\)"):
        ResidualTokenSet([np.full((5, 4), 16)], text, TINY)
    with pytest.raises(InputError, match="1 token arrays but 2 caption sets"):
        ResidualTokenSet([np.zeros((5, 4), dtype=np.int64)], text * 2, TINY)


def test_batches_are_a_function_of_the_step_and_draw_layers_by_the_schedule():
    data, _ = _token_set()
    batches = ResidualBatches(data, batch_size=4, seed=3)
    a, b = batches(5), ResidualBatches(data, batch_size=4, seed=3)(5)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["layer"].shape == (4,) and int(a["layer"].min()) >= 1 and int(a["layer"].max()) <= 3
    many = torch.cat([batches(s)["layer"] for s in range(3000)])  # 12,000 draws
    freq = torch.bincount(many, minlength=4)[1:].double() / len(many)
    assert torch.allclose(freq, layer_probabilities(4), atol=0.025)


def test_training_reduces_the_loss_and_validation_reports_every_layer():
    from motionlab.training import TrainConfig, train

    data, _ = _token_set(n=4, lengths=[6, 8, 5, 7])
    torch.manual_seed(0)
    m = ResidualTransformer(ResidualTransformerConfig(**{**TINY.__dict__, "dropout": 0.0, "cond_drop": 0.0}))
    before = residual_validation_loss(m, data)
    cfg = TrainConfig(steps=300, lr=3e-3, batch_size=4, betas=(0.9, 0.99), log_every=100, progress=False)
    result = train(m, ResidualBatches(data, 4, seed=0), residual_loss, cfg, device="cpu")
    after = residual_validation_loss(m, data)
    assert set(after) == {"val_loss", "val_accuracy", *(f"val_{k}_layer{j}" for k in ("loss", "accuracy")
                                                         for j in (1, 2, 3))}
    assert after["val_loss"] < before["val_loss"] - 0.5  # four motions: memorised quickly
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    assert m.training  # validation restores the mode


# ------------------------------------------------------------------------------------------ profiles
def test_every_profile_holds_a_residual_recipe():
    for name in PROFILES:
        recipe = get_profile(name).momask_residual
        assert isinstance(recipe, ResidualTransformerRecipe)
        rvq = get_profile(name).momask_tokenizer.model
        assert (recipe.model.n_codes, recipe.model.n_quantizers, recipe.model.code_dim) == \
               (rvq.n_codes, rvq.n_quantizers, rvq.code_dim)  # the profile's own RVQ-VAE
        assert "momask_residual" in get_profile(name).recipes()
    paper = get_profile("paper").momask_residual.train
    assert (paper.lr, paper.betas, paper.weight_decay, paper.weight_decay_on, paper.warmup_steps, paper.milestones,
            paper.gamma, paper.batch_size) == (2e-4, (0.9, 0.99), 1e-5, "all", 2000, (50000,), 0.1, 64)
    smoke = get_profile("smoke").momask_residual
    assert smoke.model.width <= 64 and smoke.train.steps <= 300
    variant = smoke.replace(width=32, seed=1)
    assert variant.model.width == 32 and variant.train.seed == 1 and variant.key() != smoke.key()


# ------------------------------------------------------------------------------------------ cached model
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_cached_residual_transformer_end_to_end(isolated_cache, tiny_dataset, capsys):
    from motionlab.generators.momask.train_residual import ResidualRun, get_residual_transformer

    p = get_profile("smoke")
    tokenizer = p.momask_tokenizer.replace(steps=8, milestones=(6,), warmup_steps=2, batch_size=8, width=32,
                                           code_dim=32, n_codes=32, eval_every=4)
    recipe = p.momask_residual.replace(steps=12, milestones=(10,), warmup_steps=2, batch_size=8, width=32,
                                       n_heads=2, ff=64)
    run = get_residual_transformer(tiny_dataset, recipe, tokenizer, "cpu")
    assert isinstance(run, ResidualRun) and not run.model.training
    cfg = run.model.config
    assert (cfg.n_codes, cfg.n_quantizers, cfg.code_dim, cfg.text_dim) == (32, 3, 32, 384)  # bound to its inputs
    assert run.info["steps"] == 12 and run.info["n_train"] > 0 and "val_loss" in run.info["evals"][-1]
    again = get_residual_transformer(tiny_dataset, recipe, tokenizer, "cpu")
    assert "loaded cached momask_residual" in capsys.readouterr().out
    assert again.model.heads[0].weight is again.model.embeds[1].weight
    for a, b in zip(run.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    base = torch.randint(0, 32, (2, 5))
    out = again.model.generate(torch.randn(2, 384), base, torch.tensor([5, 3]),
                               generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 5, 3) and torch.equal(out[0, :, 0], base[0])
    with pytest.raises(InputError, match="needs a residual tokenizer"):
        get_residual_transformer(tiny_dataset, recipe, p.tokenizer, "cpu")
