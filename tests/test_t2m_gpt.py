"""T2M-GPT: causality, KV-cache decoding, End handling, lengths, corruption and the token-drop augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import (
    T2MGPT, T2MGPTConfig, filter_top_k, sample_from_logits, sinusoidal_table,
)
from motionlab.generators.train_t2m_gpt import (
    GPTBatches, GPTTokenSet, collate_gpt, corrupt_tokens, draw_tau, drop_head_or_tail, gpt_loss, resolve_tau,
)
from motionlab.profiles import get_profile

TINY = T2MGPTConfig(n_codes=24, text_dim=8, n_embd=32, n_head=4, n_layer=2, block_size=16, dropout=0.1)


pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return T2MGPT(TINY).eval()


def test_vocabulary_layout_and_paper_size():
    assert (TINY.end_id, TINY.pad_id, TINY.vocab_size, TINY.max_tokens) == (24, 25, 26, 15)
    paper = get_profile("paper").gpt.replace(text_dim=512).model
    assert (paper.n_embd, paper.n_head, paper.n_layer, paper.block_size, paper.embed_dropout) == (1024, 16, 18, 51, 0)
    with torch.device("meta"):  # no memory: only count
        m = T2MGPT(paper)
    assert len(m.blocks) == 18
    assert m.tok.weight.shape == (514, 1024) and m.lm_head.weight.shape == (513, 1024)
    assert m.lm_head.bias is None
    assert 225e6 < m.num_params() < 235e6  # 18 x 12.6M blocks + embeddings
    with pytest.raises(InputError, match="divisible"):
        T2MGPTConfig(n_embd=30, n_head=4)


def test_sinusoidal_positions_are_fixed(model):
    table = sinusoidal_table(5, 6)
    assert torch.allclose(table[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    assert torch.isclose(table[3, 0], torch.sin(torch.tensor(3.0)))
    assert "pos" not in dict(model.named_parameters())


def test_forward_shapes_and_block_limit(model):
    text, idx = torch.randn(3, 8), torch.randint(0, 26, (3, 7))
    logits, losses = model(text, idx)
    assert logits.shape == (3, 8, 25) and losses == {}
    model(text, torch.randint(0, 24, (3, 15)))  # 1 + 15 = block size: fits
    with pytest.raises(InputError, match="exceeds block_size 16"):
        model(text, torch.randint(0, 24, (3, 16)))
    with pytest.raises(InputError, match=r"expected \(B, 8\)"):
        model(torch.randn(3, 5), idx)


def test_causal_mask_future_never_leaks(model):
    torch.manual_seed(1)
    text, idx = torch.randn(2, 8), torch.randint(0, 24, (2, 12))
    base, _ = model(text, idx)
    changed = idx.clone()
    changed[:, 6:] = (changed[:, 6:] + 5) % 24  # perturb inputs 6.. (model positions 7..)
    after, _ = model(text, changed)
    assert torch.equal(base[:, :7], after[:, :7])  # positions 0..6 saw only the text and inputs 0..5
    assert not torch.allclose(base[:, 7:], after[:, 7:])  # the test can fail: later positions do change
    other_text, _ = model(torch.randn(2, 8), idx)
    assert not torch.allclose(other_text[:, 0], base[:, 0])  # and everything sees the text


def test_loss_ignores_pad_and_averages_per_sequence(model):
    torch.manual_seed(2)
    text = torch.randn(2, 8)
    target = torch.tensor([[3, 4, 24, 25, 25], [5, 6, 7, 8, 24]])
    logits, losses = model(text, target[:, :-1], target)
    per_seq = []
    for b, n in ((0, 3), (1, 5)):
        per_seq.append(torch.nn.functional.cross_entropy(logits[b, :n], target[b, :n]))
    assert torch.isclose(losses["loss"], torch.stack(per_seq).mean(), atol=1e-6)
    scrambled = logits.clone()
    scrambled[0, 3:] = torch.randn_like(scrambled[0, 3:]) * 10  # logits at Pad targets do not matter
    assert torch.isclose(model.loss(scrambled, target)["loss"], losses["loss"])
    assert 0.0 <= float(losses["accuracy"]) <= 1.0


@pytest.mark.parametrize("kwargs", [
    dict(sample="categorical"),
    dict(sample="categorical", temperature=0.7, top_k=5),
    dict(sample="argmax"),
    dict(sample="categorical", lengths=torch.tensor([1, 4, 9, 15, 2])),
])
def test_cached_and_uncached_decoding_agree(model, kwargs):
    text = torch.randn(5, 8, generator=torch.Generator().manual_seed(3))
    fast = model.generate(text, generator=torch.Generator().manual_seed(7), use_cache=True, **kwargs)
    slow = model.generate(text, generator=torch.Generator().manual_seed(7), use_cache=False, **kwargs)
    assert torch.equal(fast.lengths, slow.lengths)
    assert torch.equal(fast.codes, slow.codes)
    again = model.generate(text, generator=torch.Generator().manual_seed(7), **kwargs)
    assert torch.equal(again.codes, fast.codes)  # same seed, same tokens


def test_generation_shapes_lengths_and_padding(model):
    text = torch.randn(6, 8)
    lengths = torch.tensor([1, 2, 3, 8, 15, 5])
    out = model.generate(text, lengths=lengths, generator=torch.Generator().manual_seed(0))
    assert out.lengths.tolist() == lengths.tolist()
    assert out.codes.shape == (6, 15)
    for row, n in zip(out.codes, lengths):
        assert (row[:n] < TINY.n_codes).all()  # codes only: no End or Pad inside a motion
        assert (row[n:] == TINY.pad_id).all()
    assert [len(c) for c in out.to_list()] == lengths.tolist()
    free = model.generate(text, max_tokens=4, generator=torch.Generator().manual_seed(0))
    assert int(free.lengths.max()) <= 4 and int(free.lengths.min()) >= 1  # min_tokens=1 by default
    with pytest.raises(InputError, match="lengths must be 6 token counts in 1..15"):
        model.generate(text, lengths=torch.tensor([0, 1, 2, 3, 4, 5]))
    with pytest.raises(InputError, match="max_tokens=16"):
        model.generate(text, max_tokens=16)
    with pytest.raises(InputError, match="sample='beam'"):
        model.generate(text, sample="beam")


def _constant_logits(model, end_logit):
    """A copy of ``model`` whose every position gives logit 0 to each code and ``end_logit`` to End."""
    import copy

    m = copy.deepcopy(model)
    with torch.no_grad():
        m.ln_f.weight.zero_()
        m.ln_f.bias.fill_(1.0)  # the final LayerNorm outputs all-ones at every position
        m.lm_head.weight.zero_()
        m.lm_head.weight[TINY.end_id] = end_logit / TINY.n_embd
    return m


@pytest.mark.parametrize("sample", ["argmax", "categorical"])
def test_end_first_blocks_or_falls_back_to_code_1_as_official(model, sample):
    text = torch.randn(4, 8)
    eager = _constant_logits(model, 50.0)  # End is (almost surely) the model's first choice
    gen = dict(sample=sample, generator=torch.Generator().manual_seed(0))
    official = eager.generate(text, end_at_start="fallback", **gen)
    assert official.lengths.tolist() == [1] * 4 and official.codes.tolist() == [[1]] * 4
    blocked = eager.generate(text, **gen)  # default "block": the first token is a code, End comes next
    assert blocked.lengths.tolist() == [1] * 4 and (blocked.codes < TINY.n_codes).all()
    if sample == "argmax":
        assert blocked.codes.tolist() == [[0]] * 4  # all codes tie: the first one
    forced = eager.generate(text, lengths=torch.tensor([3, 3, 3, 3]), end_at_start="fallback", **gen)
    assert forced.lengths.tolist() == [3] * 4  # forced lengths win over the fallback
    with pytest.raises(InputError, match="end_at_start"):
        eager.generate(text, end_at_start="stop")


def test_free_generation_allows_block_size_minus_one_tokens(model):
    never_end = _constant_logits(model, -50.0)
    out = never_end.generate(torch.randn(2, 8), end_at_start="fallback",
                             generator=torch.Generator().manual_seed(0))
    assert out.lengths.tolist() == [TINY.block_size - 1] * 2  # 1 text slot + 15 tokens (official: 1 + 50)


def test_top_k_and_inverse_cdf_sampling():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    assert torch.equal(torch.isfinite(filter_top_k(logits, 2)), torch.tensor([[False, True, False, True]]))
    assert torch.equal(filter_top_k(logits, None), logits)
    probs = torch.softmax(logits, -1)[0]
    cdf = probs.cumsum(0)
    for u, want in ((0.0, 0), (float(cdf[0]) - 1e-4, 0), (float(cdf[0]) + 1e-4, 1), (0.9999, 3)):
        assert int(sample_from_logits(logits, torch.tensor([u]))) == want
    assert int(sample_from_logits(logits, None)) == 1  # argmax
    for u in torch.linspace(0, 0.999, 50):  # top-k never returns a filtered token
        assert int(sample_from_logits(logits, u[None], top_k=2)) in (1, 3)
    draws = sample_from_logits(logits.repeat(20000, 1), torch.rand(20000, generator=torch.Generator().manual_seed(0)))
    freq = torch.bincount(draws, minlength=4) / 20000
    assert torch.allclose(freq, probs, atol=0.015)


def _toy_set(drop_prob=0.0):
    """Caption class c (one-hot) -> c + 1 copies of code 2c."""
    tokens = [np.full(c + 1, 2 * c) for c in range(4)]
    emb = [np.eye(8, dtype=np.float32)[c:c + 1] for c in range(4)]
    return GPTTokenSet(tokens, emb, TINY, drop_prob=drop_prob)


def test_end_token_stops_generation_after_learning_lengths():
    from motionlab.training import TrainConfig, train

    torch.manual_seed(0)
    model = T2MGPT(TINY)
    cfg = TrainConfig(steps=120, lr=3e-3, batch_size=16, progress=False, log_every=120)
    train(model, GPTBatches(_toy_set(), 16, tau=0.0, seed=0), gpt_loss, cfg, device="cpu")
    out = model.generate(torch.eye(8)[:4], sample="argmax")
    assert out.lengths.tolist() == [1, 2, 3, 4]  # each sequence stopped at its own End
    for c, codes in enumerate(out.to_list()):
        assert codes.tolist() == [2 * c] * (c + 1)


def test_corruption_replaces_the_expected_fraction():
    rng = np.random.default_rng(0)
    idx = np.full((200, 50), 25)  # all Pad: every changed position was replaced
    for tau in (0.0, 0.25, 0.5, 1.0):
        out = corrupt_tokens(idx, tau, n_codes=24, rng=rng)
        frac = (out != idx).mean()
        assert abs(frac - tau) < 0.01, (tau, frac)
        replaced = out[out != idx]
        assert replaced.size == 0 or (replaced.min() >= 0 and replaced.max() < 24)  # codes only, never End/Pad
    codes = rng.integers(0, 24, (400, 50))
    out = corrupt_tokens(codes, 1.0, n_codes=24, rng=rng)
    assert np.bincount(out.ravel(), minlength=24).min() > 0.8 * out.size / 24  # uniform over the codebook
    assert np.array_equal(corrupt_tokens(codes, 0.0, 24, rng), codes)


def test_tau_settings():
    assert resolve_tau(0.5) == 0.5 and resolve_tau("uniform") is None and resolve_tau(None) is None
    with pytest.raises(InputError, match=r"in \[0, 1\]"):
        resolve_tau(1.5)
    with pytest.raises(InputError, match="expected a number"):
        resolve_tau("half")
    rng = np.random.default_rng(0)
    draws = [draw_tau(None, rng) for _ in range(2000)]
    assert 0.0 <= min(draws) and max(draws) <= 1.0 and abs(np.mean(draws) - 0.5) < 0.03
    assert draw_tau(0.3, rng) == 0.3


def test_head_tail_drop_probability():
    rng = np.random.default_rng(0)
    codes = np.arange(10)
    outs = [drop_head_or_tail(codes, rng) for _ in range(6000)]
    lengths = np.array([len(o) for o in outs])
    assert abs((lengths == 9).mean() - 1 / 3) < 0.02
    heads = np.mean([o[0] == 1 for o in outs if len(o) == 9])
    assert abs(heads - 0.5) < 0.04
    assert all(np.array_equal(o, codes[1:]) or np.array_equal(o, codes[:-1]) for o in outs if len(o) == 9)
    assert len(drop_head_or_tail(np.array([3]), rng, p=1.0)) == 1  # never empty


def test_batches_mixed_lengths_and_determinism():
    ds = _toy_set(drop_prob=0.0)
    batches = GPTBatches(ds, 8, tau=0.5, seed=3)
    b = batches(0)
    assert b["text"].shape == (8, 8) and b["target"].shape == (8, 5) and b["idx"].shape == (8, 4)
    for row, n in zip(b["target"], b["length"]):
        assert row[n] == TINY.end_id and (row[n + 1:] == TINY.pad_id).all() and (row[:n] < 24).all()
    assert torch.equal(batches(0)["idx"], b["idx"])  # a function of the step
    assert float(b["tau"]) == 0.5
    clean = GPTBatches(ds, 8, tau=0.0, seed=3)(0)
    assert torch.equal(clean["idx"], clean["target"][:, :-1])
    item = collate_gpt([ds[0], ds[3]])
    assert item["target"].tolist() == [[0, 24, 25, 25, 25], [6, 6, 6, 6, 24]]
    with pytest.raises(InputError, match="codes outside"):
        GPTTokenSet([np.array([30])], [np.zeros((1, 8))], TINY)


def test_train_config_follows_the_paper():
    recipe = get_profile("paper").gpt
    cfg = recipe.train
    assert (cfg.lr, cfg.betas, cfg.weight_decay, cfg.batch_size, cfg.steps) == (1e-4, (0.5, 0.9), 1e-6, 128, 300000)
    assert cfg.milestones == (150000,) and cfg.gamma == 0.05 and cfg.warmup_steps == 0
    assert cfg.weight_decay_on == "all" and cfg.amp is False and recipe.tau == 0.5  # the official code is fp32
    short = recipe.replace(steps=3000).train
    assert short.milestones == (1500,)


def test_checkpoint_round_trip(model, tmp_path):
    from motionlab.checkpoints import load_model, save_model

    save_model(model, tmp_path / "gpt")
    back = load_model(T2MGPT, tmp_path / "gpt")
    text, idx = torch.randn(2, 8), torch.randint(0, 24, (2, 5))
    assert torch.equal(model(text, idx)[0], back(text, idx)[0])
