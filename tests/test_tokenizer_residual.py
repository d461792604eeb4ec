"""MoMask's residual VQ: the residual rule, quantisation dropout, Gumbel assignment, the RVQ-VAE and its recipe."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from motionlab.errors import InputError
from motionlab.profiles import PROFILE_NAMES, get_profile
from motionlab.tokenizers.residual import DROPPED, ResidualQuantizer
from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig

pytestmark = pytest.mark.usefixtures("single_thread")

SMALL = dict(input_dim=263, width=16, code_dim=8, n_codes=16, depth=2, n_quantizers=3)


def _rq(n_layers=4, n_codes=32, dim=8, **options) -> ResidualQuantizer:
    torch.manual_seed(0)
    return ResidualQuantizer(n_layers, n_codes, dim, **options)


def _latents(b=8, t=16, dim=8, seed=1) -> torch.Tensor:
    return torch.randn(b, t, dim, generator=torch.Generator().manual_seed(seed))  # (B, T, C)


def _initialised(rq: ResidualQuantizer, z: torch.Tensor) -> ResidualQuantizer:
    """Every layer's codebook seeded from its residual of ``z`` (one training pass), then eval mode."""
    rq.train()(z)
    return rq.eval()


def test_each_layer_reduces_the_residual_and_the_sum_is_the_quantized_latent():
    z = _latents()
    rq = _initialised(_rq(), z)
    out = rq(z)
    assert out.ids.shape == (8, 16, 4) and out.ids.dtype == torch.int64
    assert out.quantized.shape == z.shape
    # sum_v b^v is what the decoder gets
    assert torch.allclose(rq.lookup(out.ids), out.quantized, atol=1e-5)
    # each added layer brings the sum closer to z, on the data the codebooks were seeded from
    errors = [float((z - rq.lookup(out.ids, layers=n)).pow(2).mean()) for n in range(1, 5)]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.5 * float(z.pow(2).mean())


def test_straight_through_gradient_reaches_z_unchanged():
    z = _latents()
    rq = _initialised(_rq(), z).train()
    x = z.clone().requires_grad_(True)
    rq(x).quantized.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))  # d(sum z_q)/dz = identity, once (not once per layer)
    x.grad = None
    rq(x).losses["commit"].backward()  # the commitment reaches z through every r^v
    assert x.grad.abs().sum() > 0


def test_commitment_is_the_mean_of_the_per_layer_commitments():
    z = _latents()
    rq = _initialised(_rq(), z)
    out = rq(z)
    residual, per_layer = z, []
    for v, layer in enumerate(rq.layers):
        b = layer.lookup(out.ids[..., v])  # b^v (B, T, C)
        per_layer.append(F.mse_loss(residual, b))  # ||r^v - sg[b^v]||^2
        residual = residual - b
    assert torch.allclose(out.losses["commit"], torch.stack(per_layer).mean(), rtol=1e-5)
    assert len(out.stats["layers"]) == 4 and set(out.stats["layers"][0]) == {"perplexity", "usage", "dead_codes"}


def _kept_per_batch(q: float, seed: int, batches: int = 40) -> list[int]:
    z = _latents()
    rq = _rq(quantize_dropout=q).train()
    torch.manual_seed(seed)
    kept = []
    for _ in range(batches):
        out = rq(z)
        n = int((out.ids[0, 0] != DROPPED).sum())
        assert (out.ids[..., :n] >= 0).all() and (out.ids[..., n:] == DROPPED).all()  # a prefix is kept
        kept.append(n)
    return kept


def test_quantize_dropout_keeps_a_prefix_of_layers_per_batch():
    always = _kept_per_batch(q=1.0, seed=0)
    assert min(always) == 1 and set(always) == {1, 2, 3, 4}  # k ~ U{0..V}: every prefix length, layer 0 always
    assert always == _kept_per_batch(q=1.0, seed=0)  # the same seed draws the same layers
    assert always != _kept_per_batch(q=1.0, seed=1)
    assert set(_kept_per_batch(q=0.0, seed=0)) == {4}  # q = 0: never dropped
    some = _kept_per_batch(q=0.2, seed=0, batches=200)
    assert 0.6 < some.count(4) / len(some) < 0.95  # 1 - q + q / L = 0.85 of batches keep every layer


def test_dropped_layers_are_not_decoded_nor_counted_in_the_loss():
    z = _latents()
    rq = _initialised(_rq(quantize_dropout=1.0), z)
    rq.train()
    torch.manual_seed(3)
    for _ in range(20):
        before = [layer.codebook.clone() for layer in rq.layers]
        out = rq(z)
        n = int((out.ids[0, 0] != DROPPED).sum())
        if n < rq.n_layers:
            break
    assert n < rq.n_layers
    assert len(out.stats["layers"]) == n
    # the quantized latent is the sum of the kept layers' codes as they were when assigned
    codes = sum(F.embedding(out.ids[..., v], before[v]) for v in range(n))
    assert torch.allclose(out.quantized, codes, atol=1e-5)
    assert torch.allclose(rq.lookup(out.ids[..., :n]), rq.lookup(out.ids), atol=0)  # DROPPED adds nothing
    assert all(torch.equal(rq.layers[v].codebook, before[v]) for v in range(n, rq.n_layers))  # untouched


def test_gumbel_assignment_only_in_training():
    z = _latents()
    rq = _initialised(_rq(sample_temperature=0.5), z)
    argmin = rq.quantize(z)
    assert torch.equal(rq(z).ids, argmin)  # eval: the nearest code at every layer
    sampled = rq.train()(z).ids
    assert (sampled[..., 0] != argmin[..., 0]).any()  # training: Gumbel-max over -distance / 0.5
    assert sampled.min() >= 0 and sampled.max() < 32


def test_lookup_rejects_bad_ids():
    rq = _rq()
    with pytest.raises(InputError, match="1 <= l <= 4"):
        rq.lookup(torch.zeros(2, 3, 5, dtype=torch.long))
    with pytest.raises(InputError, match="layers=3"):
        rq.lookup(torch.zeros(2, 3, 2, dtype=torch.long), layers=3)
    with pytest.raises(InputError, match=r"\[0, 32\)"):
        rq.lookup(torch.full((2, 3, 4), 32))
    with pytest.raises(InputError, match="quantize_dropout"):
        ResidualQuantizer(2, 8, 4, quantize_dropout=1.5)
    with pytest.raises(InputError, match="n_quantizers"):
        VQVAEConfig(n_quantizers=0)


def test_rvqvae_encodes_to_layers_and_decodes_them():
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(**SMALL, quantize_dropout=0.2, sample_temperature=0.5, dropout=0.2))
    assert isinstance(model.quantizer, ResidualQuantizer) and model.quantizer.n_layers == 3
    x = torch.randn(2, 16, 263)
    recon, losses, info = model.train()(x)
    assert recon.shape == x.shape and {"loss", "recon", "vel", "commit"} <= set(losses)
    assert info["ids"].shape == (2, 4, 3) and {"perplexity", "usage", "dead_codes", "layers"} <= set(info)
    model.eval()
    ids = model.encode(x)
    assert ids.shape == (2, 4, 3) and ids.min() >= 0
    assert model.decode(ids).shape == x.shape
    assert model.decode(ids[..., :1]).shape == x.shape  # the base layer alone decodes too
    z = model.encode_latents(x)
    assert torch.allclose(model.quantizer.lookup(ids), model.quantizer(z).quantized, atol=1e-5)
    with pytest.raises(InputError, match=r"\(B, T', L\)"):
        model.decode(ids[..., 0])
    # one quantizer stays T2M-GPT's: ids (B, T')
    single = VQVAE(VQVAEConfig(**{**SMALL, "n_quantizers": 1}))
    assert single.encode(x).shape == (2, 4)


def test_rvqvae_checkpoint_round_trip(tmp_path):
    from motionlab.checkpoints import load_model, save_model

    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(**SMALL, quantize_dropout=0.2)).train()
    for _ in range(3):
        model(torch.randn(2, 16, 263))
    save_model(model, tmp_path / "rvq")
    loaded = load_model(VQVAE, tmp_path / "rvq")
    assert loaded.config == model.config and isinstance(loaded.quantizer, ResidualQuantizer)
    assert all(bool(layer.initialized) for layer in loaded.quantizer.layers)
    model.eval()
    x = torch.randn(2, 16, 263)
    assert torch.equal(loaded.encode(x), model.encode(x))
    assert torch.equal(loaded.decode(model.encode(x)), model.decode(model.encode(x)))  # same weights, same ops


def test_rvqvae_trains_through_the_tokenizer_recipe_and_caches(tiny_dataset, isolated_cache):
    from motionlab.tokenizers.train import get_tokenizer_run

    recipe = get_profile("smoke").momask_tokenizer.replace(
        steps=8, batch_size=4, width=16, code_dim=8, n_codes=16, n_quantizers=3, log_every=4, eval_every=4,
        window=32)
    run = get_tokenizer_run(tiny_dataset, recipe, "cpu")
    assert {"loss", "recon", "vel", "commit", "perplexity", "usage", "dead_codes"} <= set(run.history[-1])
    last = run.evals[-1]
    assert 0 < last["val_usage"] <= 1 and 1 <= last["val_perplexity"] <= 16 and last["val_l1"] > 0
    assert run.model.encode(torch.zeros(1, 32, 263)).shape == (1, 8, 3)
    again = get_tokenizer_run(tiny_dataset, recipe, "cpu")  # loaded from the cache, not retrained
    assert again.folder == run.folder and again.history == run.history
    assert isinstance(again.model.quantizer, ResidualQuantizer)
    for (k, v), (k2, v2) in zip(run.model.state_dict().items(), again.model.state_dict().items()):
        assert k == k2 and torch.equal(v.cpu(), v2.cpu())
    assert recipe.key() != recipe.replace(n_quantizers=2).key()


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_momask_tokenizer_recipes(profile):
    recipe = get_profile(profile).momask_tokenizer
    config = recipe.model
    assert config.n_quantizers > 1 and config.dropout == 0.2 and config.quantize_dropout == 0.2
    assert config.sample_temperature == 0.5 and config.quantizer == "ema_reset"
    with torch.device("meta"):  # the architecture only: no memory, no training
        model = VQVAE(config)
    assert isinstance(model.quantizer, ResidualQuantizer)
    if profile == "paper":
        # the official RVQ-VAE: 19,436,807 trainable parameters, plus 6 codebooks of 512 x 512 as buffers
        assert model.num_parameters(trainable_only=True) == 19_436_807
        assert [tuple(layer.codebook.shape) for layer in model.quantizer.layers] == [(512, 512)] * 6
        assert not any(layer.codebook.requires_grad for layer in model.quantizer.layers)
        assert (config.width, config.code_dim, config.down_t, config.reset_rows) == (512, 512, 2, "first")
        train = recipe.train
        assert (recipe.window, train.batch_size, train.lr, train.betas, train.weight_decay) == (
            64, 256, 2e-4, (0.9, 0.99), 0.0)
        assert (train.warmup_steps, train.milestones, train.gamma) == (2000, (150_000, 250_000), 0.05)
        assert (config.recon_loss, config.vel_weight, config.vel_on, config.commit_weight) == (
            "l1_smooth", 0.5, "ric", 0.02)
