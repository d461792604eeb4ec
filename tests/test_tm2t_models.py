"""TM2T's two translators: vocabulary, the captioner (causality, tied weights, beam search, sampling), the
text->motion GRU (teacher forcing, attention, sampling) and inverse alignment through Gumbel-softmax."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.generators.tm2t.motion_to_text import (
    MotionToText,
    MotionToTextConfig,
    beam_search,
)
from motionlab.generators.tm2t.text_to_motion import (
    TextToMotion,
    TextToMotionConfig,
    teacher_forcing_ratio,
)
from motionlab.generators.tm2t.train_t2m import inverse_alignment_loss, t2m_loss
from motionlab.generators.tm2t.vocab import (
    EOS,
    PAD,
    SOS,
    UNK,
    CaptionVocabulary,
    pack_motions,
    pack_words,
)
from motionlab.training import TrainConfig, make_optimizer, training_step

pytestmark = pytest.mark.usefixtures("single_thread")

N_CODES, V = 16, 12
M2T = MotionToTextConfig(n_codes=N_CODES, vocab_size=V, width=32, n_enc_layers=2, n_dec_layers=2, n_heads=4, ff=64,
                         dropout=0.0, max_tokens=30, max_words=12)
T2M = TextToMotionConfig(vocab_size=V, n_codes=N_CODES, word_dim=8, text_hidden=16, motion_hidden=24, max_tokens=20)


def _m2t(seed: int = 0) -> MotionToText:
    torch.manual_seed(seed)
    return MotionToText(M2T).eval()


def _t2m(seed: int = 0) -> TextToMotion:
    torch.manual_seed(seed)
    return TextToMotion(T2M)


def _batch():
    src, src_len = pack_motions([np.array([1, 2, 3, 4]), np.array([5, 6])], N_CODES, M2T.max_tokens)
    words = pack_words([[SOS, 4, 5, 6, EOS], [SOS, 7, EOS]])
    return {"src": src, "src_len": src_len, "words": words, "word_len": torch.tensor([5, 3])}


# ----------------------------------------------------------------------------------------------- vocabulary
def test_vocabulary_raw_and_lemma_forms():
    class Cap:
        text, tokens = "A person walks forward.", ("a/DET", "person/NOUN", "walk/VERB", "forward/ADV")

    raw = CaptionVocabulary.from_captions([Cap(), "a person jumps"], form="raw")
    assert raw.words[:4] == ["<pad>", "<sos>", "<eos>", "<unk>"] and raw.words[4:6] == ["a", "person"]  # by count
    ids = raw.encode("A person walks backwards!")
    assert ids[0] == SOS and ids[-1] == EOS and ids[-2] == UNK  # "backwards" was never seen
    assert raw.decode(ids + [PAD, 5]) == "a person walks <unk>"  # stops at eos
    lemma = CaptionVocabulary.from_captions([Cap()], form="lemma")
    assert lemma.decode(lemma.encode(Cap())) == "a person walk forward"
    assert CaptionVocabulary.from_json(raw.to_json()).words == raw.words
    with pytest.raises(InputError, match="word/POS tokens"):
        lemma.encode("plain text has no lemmas")
    with pytest.raises(InputError, match="outside the vocabulary"):
        raw.decode([SOS, 999])


def test_motion_packing_frames_codes_with_start_end_pad():
    ids, n = pack_motions([[3, 4], [5]], N_CODES, 10)
    start, end, pad = N_CODES, N_CODES + 1, N_CODES + 2
    assert ids.tolist() == [[start, 3, 4, end], [start, 5, end, pad]] and n.tolist() == [4, 3]
    with pytest.raises(InputError, match="motion 1.*non-empty"):
        pack_motions([[1], []], N_CODES, 10)  # an empty motion
    with pytest.raises(InputError, match="token id 16 is outside the codebook"):
        pack_motions([[1, 16]], N_CODES, 10)  # a token id outside the vocabulary
    with pytest.raises(InputError, match="more than the model's 8"):
        pack_motions([list(range(9))], N_CODES, 10)


# ------------------------------------------------------------------------------------------------ captioner
def test_paper_captioner_has_the_official_parameter_count():
    """4 + 4 post-LN layers of width 512, FFN 2048, 1027 motion ids, target embedding tied to the output:
    29,951,488 + 512·V, as the official TransformerV2 (its hand-written layers have the same tensors)."""
    model = MotionToText(MotionToTextConfig(vocab_size=100))
    assert model.num_params() == 29_951_488 + 512 * 100
    assert model.head.weight is model.trg_emb.weight


def test_decoder_is_causal():
    model, b = _m2t(), _batch()
    logits, _ = model(b["src"], b["src_len"], b["words"])
    changed = b["words"].clone()
    changed[0, 3] = 9  # a later input word
    logits2, _ = model(b["src"], b["src_len"], changed)
    assert torch.allclose(logits[0, :3], logits2[0, :3], atol=1e-6)  # positions 0..2 never see word 3
    assert not torch.allclose(logits[0, 3], logits2[0, 3])


def test_loss_is_cross_entropy_on_real_words_and_one_hot_source_matches_ids():
    model, b = _m2t(), _batch()
    logits, losses = model(b["src"], b["src_len"], b["words"])
    target = b["words"][:, 1:]
    real = target != PAD
    expected = -logits.log_softmax(-1).gather(-1, target[..., None]).squeeze(-1)[real].mean()
    assert losses["loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    one_hot = torch.nn.functional.one_hot(b["src"], M2T.motion_vocab).float()  # (B, S, V_src)
    logits_oh, _ = model(one_hot, b["src_len"], b["words"])
    assert torch.allclose(logits, logits_oh, atol=1e-5)
    # padding past a motion's end is invisible
    longer = torch.cat([b["src"], torch.full((2, 3), 7)], dim=1)
    assert torch.allclose(model(longer, b["src_len"], b["words"])[0], logits, atol=1e-5)


def _table_step(table: dict):
    """A hand-built next-word model: ``table[prefix] = {word: p}``; unlisted prefixes end (eos = 1)."""
    def step(prefixes: torch.Tensor) -> torch.Tensor:
        out = torch.full((prefixes.shape[0], 6), math.log(1e-12))
        for r, row in enumerate(prefixes.tolist()):
            for w, p in table.get(tuple(row), {EOS: 1.0}).items():
                out[r, w] = math.log(p)
        return out
    return step


A, B = 4, 5  # the two ordinary words of the hand-built model
TABLE = {(SOS,): {A: 0.5, B: 0.4, EOS: 0.1}, (SOS, A): {A: 0.4, B: 0.3, EOS: 0.3}, (SOS, B): {EOS: 0.9, A: 0.1},
         (SOS, A, A): {EOS: 1.0}}


def test_beam_search_finds_the_best_sequence_that_greedy_misses():
    # p("b") = 0.4·0.9 = 0.36 beats greedy's p("a a") = 0.5·0.4·1 = 0.2 and p("a") = 0.15
    greedy = beam_search(_table_step(TABLE), 1, 6, beam=1, max_len=6, alpha=0.0)
    best = beam_search(_table_step(TABLE), 1, 6, beam=2, max_len=6, alpha=0.0)
    assert greedy == [[A, A]] and best == [[B]]
    assert beam_search(_table_step(TABLE), 1, 6, beam=2, max_len=6, alpha=0.7) == [[B]]
    # batched items are independent
    assert beam_search(_table_step(TABLE), 3, 6, beam=2, max_len=6, alpha=0.7) == [[B]] * 3


def test_length_penalty_is_applied_to_the_final_beams():
    # final beams: "b" (log 0.36, L = 3 with sos and eos) and "a a a" (log 0.5·0.8·0.75·1, L = 5)
    table = {(SOS,): {A: 0.5, B: 0.45, EOS: 0.05}, (SOS, A): {A: 0.8, EOS: 0.2}, (SOS, B): {EOS: 0.8, A: 0.2},
             (SOS, A, A): {A: 0.75, EOS: 0.25}}
    raw_long, raw_short = math.log(0.5 * 0.8 * 0.75), math.log(0.45 * 0.8)
    assert raw_short > raw_long and raw_long / 5 ** 0.7 > raw_short / 3 ** 0.7  # α flips the winner
    assert beam_search(_table_step(table), 1, 6, beam=2, max_len=8, alpha=0.0) == [[B]]
    assert beam_search(_table_step(table), 1, 6, beam=2, max_len=8, alpha=0.7) == [[A, A, A]]


def test_model_beam_search_and_sampling_are_consistent():
    model, b = _m2t(), _batch()
    greedy = model.beam_search(b["src"], b["src_len"], beam=1, max_len=8)
    sampled = model.sample(b["src"], b["src_len"], top_k=1, max_len=8)  # top-1 sampling is greedy too
    assert all(w not in (PAD, SOS, EOS) for row in greedy for w in row)
    # greedy sampling stops where eos is the top word; beam 1 may only differ by never writing pad/sos
    assert len(greedy) == len(sampled) == 2
    g = torch.Generator().manual_seed(3)
    s1 = model.sample(b["src"], b["src_len"], top_k=3, generator=g)
    s2 = model.sample(b["src"], b["src_len"], top_k=3, generator=torch.Generator().manual_seed(3))
    assert s1 == s2 and all(len(r) <= 29 for r in s1)


def test_captioner_bad_input_is_refused():
    model, b = _m2t(), _batch()
    with pytest.raises(InputError, match="outside the motion vocabulary"):
        model(torch.full((1, 3), 99), [3], b["words"][:1])
    with pytest.raises(InputError, match=r"one-hot rows \(B, S, 19\)"):
        model(torch.zeros(1, 3, 7), [3], b["words"][:1])  # wrong width
    with pytest.raises(InputError, match="word id 50 is outside the caption vocabulary"):
        model(b["src"], b["src_len"], torch.tensor([[SOS, 50, EOS]] * 2))
    with pytest.raises(InputError, match="src_lengths"):
        model(b["src"], [0, 3], b["words"])
    with pytest.raises(InputError, match="beam=20"):
        model.beam_search(b["src"], b["src_len"], beam=20)


# ---------------------------------------------------------------------------------------------- text->motion
def test_teacher_forcing_decays_from_0_9_to_0_1():
    assert teacher_forcing_ratio(0, 35) == pytest.approx(0.9)
    assert teacher_forcing_ratio(35, 35) == pytest.approx(0.1) == teacher_forcing_ratio(100, 35)
    assert teacher_forcing_ratio(7, 35) == pytest.approx(0.9 - 0.8 * 7 / 35)


def test_t2m_teacher_forcing_and_its_own_predictions():
    model, b = _t2m().eval(), _batch()
    tf_logits, losses = model(b["words"], b["word_len"], b["src"], tf_ratio=1.0)
    assert tf_logits.shape == (2, b["src"].shape[1] - 1, T2M.motion_vocab) and losses["loss"].ndim == 0
    free_logits, _ = model(b["words"], b["word_len"], b["src"], tf_ratio=0.0)
    assert torch.allclose(tf_logits[:, 0], free_logits[:, 0])  # the first step reads start either way
    assert not torch.allclose(tf_logits[:, 1:], free_logits[:, 1:])
    assert model.head.weight is model.tok_emb.weight  # tied


def test_t2m_generation_attention_and_lengths():
    model, b = _t2m(), _batch()
    out = model.generate(b["words"], b["word_len"], max_tokens=10, generator=torch.Generator().manual_seed(0))
    for codes, att, n_words in zip(out.codes, out.attention, b["word_len"].tolist()):
        assert 1 <= len(codes) <= 10 and codes.max() < N_CODES
        assert att.shape == (len(codes), n_words)  # one row per written token, over the real words
        assert np.allclose(att.sum(1), 1.0, atol=1e-5)
    forced = model.generate(b["words"], b["word_len"], lengths=[3, 7], generator=torch.Generator().manual_seed(0))
    assert [len(c) for c in forced.codes] == [3, 7]
    with pytest.raises(InputError, match="word id 40 is outside"):
        model.generate(torch.tensor([[SOS, 40, EOS]]), [3])
    with pytest.raises(InputError, match="word_lengths"):
        model.generate(b["words"], [6, 3])


# ---------------------------------------------------------------------------------------- inverse alignment
def test_gumbel_path_carries_gradient_and_the_frozen_captioner_stays_unchanged():
    torch.manual_seed(0)
    model, captioner, b = _t2m(), _m2t(1), _batch()
    captioner.requires_grad_(False)
    before = {k: v.clone() for k, v in captioner.state_dict().items()}
    one_hot, n = model.gumbel_sample(b["words"], b["word_len"], max_tokens=12)
    assert torch.equal(one_hot.sum(-1)[torch.arange(one_hot.shape[1]) < n[:, None]], torch.ones(int(n.sum())))
    assert (one_hot[:, 0].argmax(-1) == T2M.start_id).all()
    assert (one_hot[torch.arange(2), n - 1].argmax(-1) == T2M.end_id).all()
    assert one_hot.requires_grad  # straight-through: the hard one-hot has the soft sample's gradient

    cfg = TrainConfig(steps=1, lr=1e-2, batch_size=2, grad_clip=0.5)
    opt = make_optimizer(model, cfg)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    losses = training_step(lambda batch: inverse_alignment_loss(model, captioner, batch), b, opt, cfg, 0)
    assert torch.isfinite(losses["loss"])
    grads = {k: p.grad for k, p in model.named_parameters()}
    for name in ("tok_emb.weight", "cells.0.weight_hh", "att_q.weight", "text_in.weight", "word_emb.weight"):
        # the one-hots are the only link between this model and the caption loss
        assert grads[name] is not None and grads[name].abs().sum() > 0, name
    assert any(not torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    for k, v in captioner.state_dict().items():
        assert torch.equal(v, before[k]), k  # bit-identical
    assert all(p.grad is None for p in captioner.parameters())


def test_inverse_step_refuses_a_trainable_captioner():
    model, captioner, b = _t2m(), _m2t(), _batch()
    with pytest.raises(InputError, match="frozen captioner"):
        inverse_alignment_loss(model, captioner, b)


def test_token_step_trains_the_model():
    torch.manual_seed(0)
    model, b = _t2m(), _batch()
    cfg = TrainConfig(steps=1, lr=3e-3, batch_size=2)
    opt = make_optimizer(model, cfg)
    first = float(t2m_loss(model, b)["loss"].detach())
    for step in range(30):
        training_step(lambda batch: t2m_loss(model, batch, 1.0), b, opt, cfg, step)
    assert float(t2m_loss(model, b)["loss"].detach()) < 0.5 * first


def test_lab_checks_pass_references_and_catch_mistakes():
    import torch.nn.functional as F

    from motionlab.labs import LabCheckFailed
    from motionlab.labs import tm2t as lab

    def beam_step(scores, log_probs, k):
        best, flat = (scores[:, None] + log_probs).reshape(-1).topk(k)
        return best, flat // log_probs.shape[1], flat % log_probs.shape[1]

    def per_beam(scores, log_probs, k):  # one continuation per beam: a typical mistake
        best, word = (scores[:, None] + log_probs).max(dim=1)
        order = best.argsort(descending=True)[:k]
        return best[order], order, word[order]

    def hard(logits, gumbel, tau):
        soft = ((logits + gumbel) / tau).softmax(-1)
        return F.one_hot(soft.argmax(-1), soft.shape[-1]).float() + soft - soft.detach()

    assert lab.check_beam_step(beam_step) and lab.check_hard_gumbel(hard)
    with pytest.raises(LabCheckFailed, match="at most one continuation"):
        lab.check_beam_step(per_beam)
    with pytest.raises(LabCheckFailed, match="straight-through"):
        lab.check_hard_gumbel(lambda logits, g, tau: F.one_hot((logits + g).argmax(-1), logits.shape[-1]).float())


def test_weights_are_chosen_among_evaluations_made_after_the_inverse_step_started():
    from motionlab.generators.tm2t.train_t2m import TextToMotionRecipe, train_text_to_motion

    recipe = TextToMotionRecipe(model=T2M, train=TrainConfig(steps=6, lr=1e-3, batch_size=2, eval_every=2,
                                                             log_every=2, best_metric="val_loss"),
                                inverse_alignment=True, inverse_from_step=3, tf_decay_steps=4)
    fake_losses = {2: 0.5, 4: 2.0, 6: 1.0}  # the pre-inverse weights (step 2) look best by the token loss
    result = train_text_to_motion(_t2m(), lambda step: _batch(), recipe, captioner=_m2t(),
                                  eval_fn=lambda model, step: {"val_loss": fake_losses[step]})
    assert [e["step"] for e in result.evals] == [2, 4, 6] and result.best["step"] == 6
    without = train_text_to_motion(_t2m(), lambda step: _batch(), recipe.replace(inverse_alignment=False),
                                   eval_fn=lambda model, step: {"val_loss": fake_losses[step]})
    assert without.best["step"] == 2
