"""The vector quantizer and the conv VQ-VAE: shapes, gradients, codebook rules, checkpoints."""

from __future__ import annotations

import os
import socket

import pytest
import torch

from motionlab.errors import CheckpointError, InputError
from motionlab.profiles import get_profile
from motionlab.tokenizers.quantizers import (
    MODES,
    VectorQuantizer,
    ema_codebook_step,
    perplexity_from_counts,
    straight_through,
)
from motionlab.tokenizers.vqvae import VQVAE, Resnet1D, VQVAEConfig, crop_to_unit

SMALL = dict(input_dim=263, width=16, code_dim=8, n_codes=12, depth=2)


def _seeded(seed=0):
    torch.manual_seed(seed)


def _pairwise(a, b):
    """Exact Euclidean distances (torch.cdist takes a matmul shortcut that is off by ~1e-3 near 0)."""
    return (a[:, None, :] - b[None, :, :]).norm(dim=-1)


# ----------------------------------------------------------------------------------- quantizer
def test_first_batch_initialises_codebook_with_batch_vectors():
    _seeded()
    z = torch.randn(3, 10, 4)  # 30 vectors >= 8 codes: the codes are a subset of the batch
    vq = VectorQuantizer(8, 4, mode="plain")
    assert not bool(vq.initialized)
    vq.train()(z)  # plain mode does not move the codebook inside forward
    assert bool(vq.initialized)
    nearest = _pairwise(vq.codebook.detach(), z.reshape(-1, 4)).min(dim=1)
    assert nearest.values.max() < 1e-5
    assert len(set(nearest.indices.tolist())) == 8  # eight different batch vectors


def test_first_batch_smaller_than_codebook_is_tiled_with_small_noise():
    _seeded()
    vq = VectorQuantizer(50, 6, mode="plain")
    z = torch.randn(1, 7, 6) * 3  # 7 vectors for 50 codes
    vq.train()(z)
    nearest = _pairwise(vq.codebook.detach(), z.reshape(-1, 6)).min(dim=1).values
    assert nearest.max() < 0.01 / 6 ** 0.5 * 8  # every code is a jittered copy of a batch vector
    assert nearest.max() > 0  # ... with noise, so the copies differ
    assert torch.unique(vq.codebook.detach(), dim=0).shape[0] == 50


def test_uniform_init_is_the_original_vqvae_and_needs_no_batch():
    vq = VectorQuantizer(10, 3, mode="plain", init="uniform")
    assert bool(vq.initialized)
    assert vq.codebook.abs().max() <= 0.1 + 1e-7


def test_quantize_picks_nearest_code_and_lookup_inverts():
    _seeded()
    vq = VectorQuantizer(16, 5, mode="ema")
    vq.train()(torch.randn(4, 8, 5))
    vq.eval()
    z = torch.randn(2, 9, 5)
    ids = vq.quantize(z)
    assert ids.shape == (2, 9) and ids.dtype == torch.int64
    # the chosen code is the nearest by exact distances (up to round-off: the quantizer expands the square)
    d = _pairwise(z.reshape(-1, 5), vq.codebook)  # (18, 16)
    assert (d.gather(1, ids.view(-1, 1)).squeeze(1) <= d.min(dim=1).values + 1e-5).all()
    assert torch.allclose(vq.lookup(ids), vq.codebook[ids])
    out = vq(z)
    assert torch.equal(out.ids, ids)
    assert torch.allclose(out.quantized, vq.codebook[ids], atol=1e-6)


def test_straight_through_gradient_is_identity_and_skips_the_codebook():
    _seeded()
    z = torch.randn(3, 4, requires_grad=True)
    e = torch.randn(3, 4, requires_grad=True)
    out = straight_through(z, e)
    assert torch.allclose(out, e)
    w = torch.randn(3, 4)
    (out * w).sum().backward()
    assert torch.allclose(z.grad, w)
    assert e.grad is None or e.grad.abs().max() == 0


@pytest.mark.parametrize("mode", MODES)
def test_losses_and_gradients_by_mode(mode):
    _seeded()
    vq = VectorQuantizer(6, 4, mode=mode).train()
    z = torch.randn(2, 5, 4, requires_grad=True)
    out = vq(z)
    learned = mode in ("plain", "plain_reset")
    assert set(out.losses) == ({"commit", "codebook"} if learned else {"commit"})
    assert set(out.stats) == {"perplexity", "usage", "dead_codes"}
    ((out.quantized ** 2).sum() + sum(out.losses.values())).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    if learned:
        assert vq.codebook.grad is not None and vq.codebook.grad.abs().sum() > 0  # the codebook loss
    else:
        assert not isinstance(vq.codebook, torch.nn.Parameter)  # moved by EMA / resets only
        assert vq.codebook.grad is None


def test_ema_converges_to_the_batch_mean():
    _seeded()
    vq = VectorQuantizer(2, 2, mode="ema", decay=0.9).train()
    cluster_a = torch.randn(40, 2) * 0.1 + torch.tensor([5.0, 0.0])
    cluster_b = torch.randn(40, 2) * 0.1 + torch.tensor([-5.0, 1.0])
    batch = torch.cat([cluster_a, cluster_b])[None]  # (1, 80, 2)
    vq(batch)  # first call: codes start on two (random) batch vectors
    vq.codebook.copy_(torch.tensor([[4.0, 0.0], [-4.0, 0.0]]))  # one code per cluster, off-centre
    vq.embed_sum.copy_(vq.codebook * vq.cluster_size[:, None])
    for _ in range(200):
        vq(batch)
    assert torch.allclose(vq.codebook[0], cluster_a.mean(0), atol=1e-4)
    assert torch.allclose(vq.codebook[1], cluster_b.mean(0), atol=1e-4)
    assert torch.allclose(vq.cluster_size, torch.tensor([40.0, 40.0]), atol=1e-3)  # EMA of the counts


def test_ema_codebook_step_matches_the_module():
    _seeded()
    size, total = torch.rand(5) + 1, torch.randn(5, 3)
    size_before, total_before = size.clone(), total.clone()
    z, ids = torch.randn(12, 3), torch.randint(0, 5, (12,))
    new_size, new_total, codes = ema_codebook_step(size, total, z, ids, decay=0.8)
    for k in range(5):
        sel = ids == k
        assert torch.isclose(new_size[k], 0.8 * size[k] + 0.2 * sel.sum())
        assert torch.allclose(new_total[k], 0.8 * total[k] + 0.2 * z[sel].sum(0), atol=1e-6)
    assert torch.allclose(codes, new_total / new_size[:, None])
    assert torch.equal(size, size_before) and torch.equal(total, total_before)  # inputs untouched (pure function)


def _quantizer_with_a_dead_code(mode):
    """A 4-code quantizer fitted to one cluster of 2-D points, with code 3 moved far from every input."""
    _seeded()
    vq = VectorQuantizer(4, 2, mode=mode, decay=0.5).train()
    batch = torch.randn(1, 64, 2) * 0.1 + torch.tensor([3.0, 3.0])
    vq(batch)
    with torch.no_grad():
        vq.codebook.data[3] = torch.tensor([-100.0, -100.0])  # never chosen again
        if vq.uses_ema:
            vq.embed_sum[3] = vq.codebook[3] * vq.cluster_size[3]
    return vq, batch


@pytest.mark.parametrize("mode", ["reset", "ema_reset", "plain_reset"])
def test_dead_code_is_reset_to_a_batch_vector(mode):
    vq, batch = _quantizer_with_a_dead_code(mode)
    out = vq(batch)
    assert out.stats["dead_codes"] >= 1  # its count fell below the threshold ...
    flat = batch.reshape(-1, 2)
    assert _pairwise(vq.codebook[3:4].detach(), flat).min() < 0.05  # ... and it was moved onto the data


def test_official_reset_replaces_exactly_the_codes_unused_in_this_batch():
    """T2M-GPT's QuantizeReset: raw counts of the current batch (no moving average), no codebook gradient."""
    _seeded()
    vq = VectorQuantizer(6, 2, mode="reset", reset_rows="first").train()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0], [10, 0], [0, 10], [10, 10], [-10, 0], [0, -10]]))
        vq.cluster_size.fill_(50.0)  # a long history of use: a moving average would keep every code alive
    vq.initialized.fill_(True)
    z = torch.tensor([[[0.1, 0], [9.9, 0.2], [0.2, 9.8], [0.3, 0.1], [9.8, 0.1], [0.1, 10.2], [0, 0.1]]],
                     requires_grad=True)  # (1, 7, 2): uses codes 0, 1, 2 only
    before = vq.codebook.clone()
    out = vq(z)
    assert out.ids.tolist() == [[0, 1, 2, 0, 1, 2, 0]]
    unused = torch.tensor([False, False, False, True, True, True])
    assert torch.equal(vq.cluster_size, torch.tensor([3.0, 2, 2, 0, 0, 0]))  # raw counts of this batch
    assert int(out.stats["dead_codes"]) == 3
    assert torch.equal(vq.codebook[~unused], before[~unused])  # used codes do not move at all
    assert torch.equal(vq.codebook[unused], z.detach()[0, 3:6])  # dead code k gets batch row k
    sum(out.losses.values()).backward()
    assert set(out.losses) == {"commit"} and vq.codebook.grad is None
    assert not any(p is vq.codebook for p in vq.parameters())  # nothing for the optimiser to move


@pytest.mark.parametrize("rows", ["first", "random"])
def test_reset_rows_first_takes_the_leading_batch_rows(rows):
    _seeded()
    z = torch.randn(2, 10, 3)  # 20 rows for 5 codes
    vq = VectorQuantizer(5, 3, mode="reset", reset_rows=rows).train()
    vq(z)  # initialises from z, then refills the codes z left unused, again from z
    if rows == "first":  # official: code k is row k of the flattened batch
        assert torch.equal(vq.codebook, z.reshape(-1, 3)[:5])
    else:
        assert not torch.equal(vq.codebook, z.reshape(-1, 3)[:5])
        assert _pairwise(vq.codebook, z.reshape(-1, 3)).min(dim=1).values.max() < 1e-6  # still batch rows
    with pytest.raises(InputError, match="reset_rows"):
        VectorQuantizer(5, 3, reset_rows="last")


@pytest.mark.parametrize("mode", ["plain", "ema"])
def test_without_reset_a_dead_code_stays_dead(mode):
    vq, batch = _quantizer_with_a_dead_code(mode)
    for _ in range(5):
        out = vq(batch)
    assert torch.allclose(vq.codebook[3].detach(), torch.tensor([-100.0, -100.0]))
    assert out.stats["dead_codes"] >= 1
    assert float(out.stats["usage"]) <= 0.75


@pytest.mark.parametrize("mode", ["ema", "ema_reset"])
def test_training_batch_is_decoded_with_the_codes_it_was_assigned(mode):
    _seeded()
    vq = VectorQuantizer(8, 3, mode=mode, decay=0.5).train()
    vq(torch.randn(2, 10, 3))
    before = vq.codebook.clone()
    out = vq(torch.randn(2, 10, 3) * 3)  # moves the codebook (EMA and resets) after the look-up
    assert not torch.equal(vq.codebook, before)
    assert torch.allclose(out.quantized, before[out.ids], atol=1e-6)


def test_eval_mode_never_changes_the_codebook():
    _seeded()
    vq = VectorQuantizer(8, 3, mode="ema_reset").train()
    vq(torch.randn(2, 10, 3))
    before = vq.codebook.clone(), vq.cluster_size.clone()
    vq.eval()(torch.randn(2, 10, 3) * 5)
    assert torch.equal(vq.codebook, before[0]) and torch.equal(vq.cluster_size, before[1])


def test_perplexity_and_stats():
    assert float(perplexity_from_counts(torch.tensor([5.0, 0, 0, 0]))) == pytest.approx(1.0)
    assert float(perplexity_from_counts(torch.tensor([2.0, 2, 2, 2]))) == pytest.approx(4.0)
    vq = VectorQuantizer(4, 2, mode="plain", init="uniform").eval()
    with torch.no_grad():
        vq.codebook.copy_(torch.tensor([[0.0, 0], [10, 0], [0, 10], [10, 10]]))
    out = vq(torch.tensor([[[0.1, 0], [9.9, 0.2], [0, 0.3], [0.2, 0.1]]]))
    assert out.ids.tolist() == [[0, 1, 0, 0]]
    assert float(out.stats["usage"]) == pytest.approx(0.5)
    assert float(out.stats["perplexity"]) == pytest.approx(float(torch.exp(-(0.75 * torch.log(torch.tensor(0.75)) + 0.25 * torch.log(torch.tensor(0.25))))), rel=1e-5)


def test_gumbel_sampling_is_stochastic_only_in_training():
    _seeded()
    vq = VectorQuantizer(8, 2, mode="ema", sample_temperature=5.0).train()
    z = torch.randn(1, 200, 2)
    vq(z)
    vq.eval()
    nearest = vq(z).ids
    vq.train()
    sampled = vq(z).ids
    assert (sampled != nearest).any()
    assert torch.equal(vq.eval()(z).ids, vq.quantize(z))


def test_quantizer_rejects_bad_input():
    with pytest.raises(InputError, match="mode"):
        VectorQuantizer(4, 2, mode="kmeans")
    vq = VectorQuantizer(4, 2)
    with pytest.raises(InputError, match="last dim 2"):
        vq(torch.randn(3, 5))
    with pytest.raises(InputError, match=r"\[0, 4\)"):
        vq.lookup(torch.tensor([0, 4]))
    with pytest.raises(InputError, match="integer"):
        vq.lookup(torch.tensor([0.0]))


# ---------------------------------------------------------------------------------- distributed
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, mode: str, queue) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    torch.manual_seed(100 + rank)  # different data and different local random draws on every rank
    vq = VectorQuantizer(16, 3, mode=mode, decay=0.9).train()
    for step in range(6):
        vq(torch.randn(2, 5 + rank, 3) * (1 + step))  # ranks even see different batch sizes
    queue.put((rank, vq.codebook.detach().clone(), vq.cluster_size.clone()))
    dist.destroy_process_group()


@pytest.mark.parametrize("mode", ["ema_reset", "reset"])
def test_codebooks_stay_identical_across_ddp_ranks(mode):
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_ddp_worker, args=(r, 2, port, mode, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict((r, (c, s)) for r, c, s in (queue.get(timeout=60) for _ in procs))
    for p in procs:
        p.join(timeout=30)
    assert all(p.exitcode == 0 for p in procs)
    assert torch.equal(results[0][0], results[1][0])  # the same codebook on both ranks
    assert torch.equal(results[0][1], results[1][1])  # counts of the global batch


# -------------------------------------------------------------------------------------- VQ-VAE
def test_vqvae_shapes_and_token_range():
    _seeded()
    model = VQVAE(VQVAEConfig(**SMALL)).train()
    x = torch.randn(3, 32, 263)
    recon, losses, info = model(x)
    assert recon.shape == x.shape
    assert info["ids"].shape == (3, 8)
    assert set(losses) == {"loss", "recon", "vel", "commit"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    model.eval()
    ids = model.encode(x)
    assert ids.shape == (3, 8) and int(ids.min()) >= 0 and int(ids.max()) < 12
    assert model.decode(ids).shape == (3, 32, 263)
    assert torch.allclose(model.decode(ids), model(x)[0], atol=1e-5)  # eval forward = decode(encode)


def test_resnet_dilations_are_9_3_1_and_encoder_downsamples_by_4():
    stack = Resnet1D(8, depth=3, growth=3)
    assert [block.body[1].dilation[0] for block in stack] == [9, 3, 1]
    model = VQVAE(VQVAEConfig(**{**SMALL, "depth": 3}))
    assert model.config.unit == 4
    for t in (4, 8, 64, 196):
        assert model.encode_latents(torch.randn(1, t, 263)).shape == (1, t // 4, 8)


def test_gradients_reach_the_encoder_through_the_quantizer():
    _seeded()
    model = VQVAE(VQVAEConfig(**{**SMALL, "commit_weight": 0.0, "quantizer": "ema"})).train()
    model(torch.randn(2, 16, 263))  # initialise the codebook
    model.zero_grad()
    _, losses, _ = model(torch.randn(2, 16, 263))
    losses["recon"].backward()  # reconstruction only: the encoder learns through the straight-through path
    first_conv = model.encoder[0].weight
    assert first_conv.grad is not None and first_conv.grad.abs().sum() > 0


def test_vqvae_rejects_bad_input():
    model = VQVAE(VQVAEConfig(**SMALL))
    with pytest.raises(InputError, match="multiple of 4"):
        model(torch.randn(1, 30, 263))
    with pytest.raises(InputError, match=r"\(B, T, 263\)"):
        model.encode(torch.randn(1, 32, 251))
    with pytest.raises(InputError, match="quantizer"):
        VQVAEConfig(quantizer="gumbel")
    with pytest.raises(InputError, match="'widht' is not a field"):
        get_profile("smoke").tokenizer.replace(widht=3)


@pytest.mark.parametrize("outer", ["relu", "same"])
def test_outer_activations_are_relu_whatever_activation_says(outer):
    """The official encoder/decoder hard-code ReLU at the outer convolutions; only the res-blocks follow --vq-act."""
    model = VQVAE(VQVAEConfig(**SMALL, activation="gelu", outer_activation=outer))
    outer_acts = [model.encoder[1], model.decoder[1], model.decoder[-2]]
    want = torch.nn.ReLU if outer == "relu" else torch.nn.GELU
    assert all(type(a) is want for a in outer_acts)
    inner = [m for stack in model.encoder.modules() if isinstance(stack, Resnet1D) for m in stack.modules()]
    assert any(isinstance(m, torch.nn.GELU) for m in inner) and not any(isinstance(m, torch.nn.ReLU) for m in inner)
    with pytest.raises(InputError, match="outer_activation"):
        VQVAEConfig(outer_activation="tanh")


def test_official_plain_vq_weights_codebook_and_commitment_by_0_02():
    """T2M-GPT's "orig" quantizer: (||sg[z] - e||^2 + ||z - sg[e]||^2) times --commit 0.02."""
    _seeded()
    config = VQVAEConfig(**SMALL, quantizer="plain", codebook_weight=0.02, commit_weight=0.02)
    model = VQVAE(config).train()
    _, losses, _ = model(torch.randn(2, 16, 263))
    want = losses["recon"] + 0.5 * losses["vel"] + 0.02 * (losses["codebook"] + losses["commit"])
    assert torch.isclose(losses["loss"], want, rtol=1e-6)
    default = VQVAE(VQVAEConfig(**SMALL, quantizer="plain")).train()
    _, losses, _ = default(torch.randn(2, 16, 263))
    assert torch.isclose(losses["loss"], losses["recon"] + 0.5 * losses["vel"] + 0.02 * losses["commit"]
                         + 1.0 * losses["codebook"], rtol=1e-6)  # the textbook weighting stays the default


def test_reset_rows_reaches_the_quantizer():
    assert VQVAE(VQVAEConfig(**SMALL, reset_rows="first")).quantizer.reset_rows == "first"
    assert VQVAE(VQVAEConfig(**SMALL)).quantizer.reset_rows == "random"
    with pytest.raises(InputError, match="reset_rows"):
        VQVAEConfig(reset_rows="all")


def test_dropout_option_for_momask():
    model = VQVAE(VQVAEConfig(**{**SMALL, "dropout": 0.2}))
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.2 for m in model.modules())
    assert not any(isinstance(m, torch.nn.Dropout) for m in VQVAE(VQVAEConfig(**SMALL)).modules())


def test_crop_to_unit():
    x = torch.arange(30).view(15, 2)
    assert crop_to_unit(x).shape == (12, 2)
    assert crop_to_unit(x, offset=3)[0, 0] == 6
    with pytest.raises(InputError, match="offset"):
        crop_to_unit(x, offset=4)
    with pytest.raises(InputError, match="shorter than one token"):
        crop_to_unit(x[:3])


@pytest.mark.parametrize("profile", ["smoke", "laptop", "full", "paper"])
def test_profile_models_instantiate_and_report_parameters(profile):
    config = get_profile(profile).tokenizer.model
    with torch.device("meta"):  # no memory, no training: just the architecture
        model = VQVAE(config)
    n = model.num_parameters()
    print(f"{profile}: {n:,} parameters")
    assert model.describe()["parameters"] == n
    if profile == "paper":
        assert (config.width, config.code_dim, config.n_codes, config.depth) == (512, 512, 512, 3)
        assert config.quantizer == "ema_reset" and config.commit_weight == 0.02 and config.vel_weight == 0.5
        assert 19_000_000 < n < 20_000_000  # T2M-GPT's VQ-VAE: ~19.4 M parameters
    else:
        assert n > 10_000


def test_checkpoint_round_trip(tmp_path):
    from motionlab.checkpoints import load_model, save_model

    _seeded()
    model = VQVAE(VQVAEConfig(**SMALL)).train()
    for _ in range(3):
        model(torch.randn(2, 16, 263))
    model.set_normalizer(torch.rand(263) - 0.5, torch.rand(263) + 0.5)
    save_model(model, tmp_path / "vq")
    loaded = load_model(VQVAE, tmp_path / "vq")
    assert loaded.config == model.config
    assert bool(loaded.quantizer.initialized)
    x = torch.randn(2, 16, 263)
    model.eval()
    assert torch.equal(loaded.encode(x), model.encode(x))
    assert torch.allclose(loaded.decode(model.encode(x)), model.decode(model.encode(x)))
    assert torch.allclose(loaded.denormalize(x), model.denormalize(x))
    loaded.train()(x)  # a loaded model does not re-initialise its codebook from the next batch ...
    assert _pairwise(loaded.quantizer.codebook, model.quantizer.codebook).diagonal().max() < 1.0
    other = VQVAE(VQVAEConfig(**{**SMALL, "n_codes": 20}))
    save_model(other, tmp_path / "other")
    with pytest.raises(CheckpointError, match="codebook"):  # ... and a mismatching file is named
        from motionlab.checkpoints import load_model_state, load_tensors

        load_model_state(model, load_tensors(tmp_path / "other" / "model.safetensors"), "other")
