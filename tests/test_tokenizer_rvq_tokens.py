"""Residual (multi-layer) token ids through the tokenizer artifacts: tokenising, decoding, cached splits and
per-layer codebook statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.tokenizers.artifacts import (
    TokenizedSplit,
    decode_tokens,
    evaluate_reconstruction,
    tokenize_motions,
)
from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig

pytestmark = pytest.mark.usefixtures("single_thread")

SMALL = dict(input_dim=263, width=16, code_dim=8, n_codes=16, depth=2)


def _model(n_quantizers: int) -> VQVAE:
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig(**SMALL, n_quantizers=n_quantizers))
    model.train()(torch.randn(4, 32, 263))  # one pass initialises the codebooks from data
    return model.eval()


def _motions(lengths=(33, 40, 18, 40), seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 263)).astype(np.float32) for n in lengths]


def test_tokenize_and_decode_residual_ids():
    rvq, motions = _model(3), _motions()
    tokens = tokenize_motions(rvq, motions)
    assert [t.shape for t in tokens] == [(8, 3), (10, 3), (4, 3), (10, 3)]
    assert all(t.dtype == np.int64 and t.min() >= 0 and t.max() < 16 for t in tokens)
    # the same ids as the model's own encoder, layer by layer
    x = torch.as_tensor(motions[1][None])
    assert np.array_equal(tokens[1], rvq.encode(rvq.normalize(x))[0].numpy())
    full = decode_tokens(rvq, tokens)
    assert [f.shape for f in full] == [(32, 263), (40, 263), (16, 263), (40, 263)]
    # a coarse prefix of layers decodes too (chapter 6), and differs from all layers
    base = decode_tokens(rvq, [t[:, :1] for t in tokens])
    assert base[1].shape == (40, 263) and not np.allclose(base[1], full[1])
    mixed = decode_tokens(rvq, [tokens[0], tokens[1][:, :2]])  # shapes differ: separate batches
    assert np.allclose(mixed[0], full[0], atol=1e-5)
    with pytest.raises(InputError, match=r"n_quantizers=3"):
        decode_tokens(rvq, [tokens[0][:, 0]])  # 1-D ids for a residual tokenizer
    with pytest.raises(InputError, match=r"n_quantizers=1"):
        decode_tokens(_model(1), [tokens[0]])  # 2-D ids for a single codebook


def test_single_codebook_ids_are_unchanged():
    vq, motions = _model(1), _motions()
    tokens = tokenize_motions(vq, motions)
    assert [t.shape for t in tokens] == [(8,), (10,), (4,), (10,)]
    assert decode_tokens(vq, tokens)[0].shape == (32, 263)
    metrics = evaluate_reconstruction(vq, motions)
    assert set(metrics) == {"mpjpe_mm", "usage", "perplexity", "motions"}  # no per-layer keys
    ids = np.concatenate(tokens)
    assert metrics["usage"] == pytest.approx(len(np.unique(ids)) / 16)


def test_per_layer_usage_and_perplexity():
    rvq, motions = _model(3), _motions()
    metrics = evaluate_reconstruction(rvq, motions)
    ids = np.concatenate(tokenize_motions(rvq, [m[: len(m) // 4 * 4] for m in motions]))  # (N, 3)
    for v in range(3):
        counts = np.bincount(ids[:, v], minlength=16)
        p = counts[counts > 0] / counts.sum()
        assert metrics[f"usage_layer{v}"] == pytest.approx((counts > 0).mean())
        assert metrics[f"perplexity_layer{v}"] == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert metrics["usage"] == pytest.approx(np.mean([metrics[f"usage_layer{v}"] for v in range(3)]))
    assert metrics["perplexity"] == pytest.approx(np.mean([metrics[f"perplexity_layer{v}"] for v in range(3)]))
    assert "usage_layer3" not in metrics


def test_tokenized_split_round_trip_with_layers(tmp_path):
    tokens = [np.arange(12).reshape(4, 3), np.array([[5, 6, 7]])]
    split = TokenizedSplit(["a", "b"], tokens, np.array([0, 1]), [["walk"], ["run"]], n_codes=16)
    assert split.n_layers == 3 and split.lengths.tolist() == [16, 4]
    back = TokenizedSplit.load(split.save(tmp_path / "t"))
    assert back.n_layers == 3 and all(np.array_equal(a, b) for a, b in zip(back.tokens, tokens))
    assert [t.tolist() for t in back.layer(0)] == [[0, 3, 6, 9], [5]]
    assert [t.tolist() for t in back.layer(2)] == [[2, 5, 8, 11], [7]]
    with pytest.raises(InputError, match="3 layer"):
        back.layer(3)
    one = TokenizedSplit(["a"], [np.array([1, 2])], np.array([0]), [["walk"]], n_codes=16)
    assert one.n_layers == 1 and one.layer(0)[0].tolist() == [1, 2]


@pytest.mark.filterwarnings("ignore:.*shorter than the 64-frame tokenizer window")
def test_tokenize_split_of_an_rvq_run(tiny_dataset, isolated_cache):
    from motionlab.profiles import get_profile
    from motionlab.tokenizers.artifacts import tokenize_split
    from motionlab.tokenizers.train import get_tokenizer_run

    recipe = get_profile("smoke").momask_tokenizer.replace(
        steps=4, batch_size=4, width=16, code_dim=8, n_codes=16, n_quantizers=3, log_every=2, eval_every=2,
        window=32)
    run = get_tokenizer_run(tiny_dataset, recipe, "cpu")
    for subclips in ("crop", "slice"):
        split = tokenize_split(run, tiny_dataset, "train", subclips=subclips)
        assert split.n_layers == 3 and all(t.ndim == 2 and t.shape[1] == 3 for t in split.tokens)
        cached = tokenize_split(run, tiny_dataset, "train", subclips=subclips)
        assert all(np.array_equal(a, b) for a, b in zip(cached.tokens, split.tokens))
