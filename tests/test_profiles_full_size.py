"""The ``full`` and ``paper`` models at their real sizes: built from the profile and put through one
optimisation step on a small CPU batch.  No GPU is needed, and a size that does not fit together (heads vs
width, codebook vs vocabulary, feature widths) fails here instead of on a lent GPU machine."""

from __future__ import annotations

import pytest
import torch

from dataclasses import replace

from motionlab.evaluation.evaluator import TextMotionMatcher
from motionlab.generators.t2m_gpt import T2MGPT
from motionlab.profiles import get_profile
from motionlab.tokenizers.vqvae import VQVAE
from motionlab.training import TrainConfig, train

pytestmark = [pytest.mark.slow]


def one_step(model, batch, loss_fn) -> dict:
    """One AdamW step through the book's training loop; returns the logged losses."""
    config = TrainConfig(steps=1, lr=1e-4, batch_size=2, log_every=1, progress=False)
    result = train(model, lambda step: batch, loss_fn, config, device="cpu")
    return result.history[-1]


@pytest.mark.parametrize("profile", ["full", "paper"])
def test_tokenizer_at_profile_size_trains_one_step(profile):
    torch.manual_seed(0)
    recipe = get_profile(profile).tokenizer
    model = VQVAE(recipe.model)
    window = recipe.window
    x = torch.randn(2, window, 263)  # (B, T, D)
    logged = one_step(model, x, lambda m, b: m(b)[1])
    assert torch.isfinite(torch.tensor(logged["loss"]))
    ids = model.eval().encode(x)
    assert ids.shape == (2, window // 4) and int(ids.max()) < model.config.n_codes


@pytest.mark.parametrize("profile", ["full", "paper"])
def test_gpt_at_profile_size_trains_one_step(profile):
    torch.manual_seed(0)
    config = get_profile(profile).gpt.model
    model = T2MGPT(config)
    idx = torch.randint(0, config.n_codes, (2, config.block_size - 1))  # (B, t) inputs after the text slot
    target = torch.randint(0, config.n_codes + 1, (2, config.block_size))  # (B, 1 + t): codes and End
    text = torch.randn(2, config.text_dim)  # (B, text_dim)
    batch = {"text": text, "idx": idx, "target": target}
    logged = one_step(model, batch, lambda m, b: m(b["text"], b["idx"], b["target"])[1])
    assert torch.isfinite(torch.tensor(logged["loss"]))
    if profile == "paper":  # 2 x 9 blocks of width 1024: the official model's size (~0.23 B parameters)
        assert config.n_layer == 18 and config.n_embd == 1024
        assert 2.0e8 < sum(p.numel() for p in model.parameters()) < 2.6e8


def test_evaluator_at_full_size_trains_one_step():
    torch.manual_seed(0)
    model = TextMotionMatcher(replace(get_profile("full").evaluator.model, input_dim=263, vocab_size=300))
    lengths = torch.tensor([196, 120])
    batch = {
        "word_ids": torch.randint(0, 300, (2, 12)), "pos_ids": torch.randint(0, 15, (2, 12)),
        "text_lengths": torch.tensor([12, 7]), "motion": torch.randn(2, 196, 263), "lengths": lengths,
        "shift": torch.tensor(1),
    }
    logged = one_step(model, batch, lambda m, b: m(b)[1])
    assert torch.isfinite(torch.tensor(logged["loss"]))
    text, motion = model.eval()(batch)[0]
    assert text.shape == motion.shape == (2, get_profile("full").evaluator.model.dim_coemb)
