"""Torch datasets: windows, text-motion pairs, token sequences, collation; determinism through sample(rng)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from motionlab.data.folders import Caption, DatasetWarning, MotionFolder, MotionSplit, Normalizer
from motionlab.data.skeleton import T2M
from motionlab.data.torch_datasets import (
    TextMotionDataset, TokenDataset, WindowDataset, caption_tokens, collate_motion, collate_tokens, crop_length,
    lengths_to_mask,
)
from motionlab.errors import InputError


@pytest.fixture(scope="module")
def split_and_norm(tiny_dataset):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        split = MotionFolder(tiny_dataset).load_split("train")
    return split, Normalizer.from_folder(tiny_dataset)


def _toy_split(lengths, dim=263):
    rng = np.random.default_rng(0)
    feats = [rng.normal(size=(n, dim)).astype(np.float32) for n in lengths]
    caps = [[Caption(f"motion {i}", ("motion/NOUN",)), Caption(f"other {i}", ("other/ADJ",))] for i in range(len(lengths))]
    return MotionSplit([f"m{i}" for i in range(len(lengths))], feats, caps, T2M)


def _identity_norm(dim=263):
    return Normalizer(np.zeros(dim), np.ones(dim))


# ---------------------------------------------------------------------------------------------- windows
def test_window_random_crops_are_deterministic_and_normalised(split_and_norm):
    split, norm = split_and_norm
    ds = WindowDataset(split, norm, window=32)
    assert len(ds) == len(split)
    a = ds.sample(3, np.random.default_rng(5))
    b = ds.sample(3, np.random.default_rng(5))
    assert a["motion"].shape == (32, 263) and a["motion"].dtype == torch.float32
    assert torch.equal(a["motion"], b["motion"]) and a["start"] == b["start"]
    starts = {ds.sample(3, np.random.default_rng(s))["start"] for s in range(30)}
    assert len(starts) > 5  # different generators give different crops
    src = split.features[3][a["start"]:a["start"] + 32]
    assert np.allclose(a["motion"].numpy(), norm.normalize(src), atol=1e-6)
    assert torch.equal(ds[3]["motion"], ds[3]["motion"])  # __getitem__ is deterministic


def test_window_sliding_covers_every_frame():
    split = _toy_split([50, 64, 100])
    ds = WindowDataset(split, _identity_norm(), window=32, mode="sliding", stride=16)
    starts = [(ds[i]["name"], ds[i]["start"]) for i in range(len(ds))]
    assert starts[:3] == [("m0", 0), ("m0", 16), ("m0", 18)]  # the last window is flush with the end
    assert ("m2", 68) in starts and len(ds) == 3 + 3 + 6
    assert all(ds[i]["motion"].shape == (32, 263) for i in range(len(ds)))


def test_window_short_clips_are_dropped_counted_and_warned():
    split = _toy_split([20, 70, 30, 90])
    with pytest.warns(DatasetWarning, match="2 of 4 motions are shorter than the 64-frame window"):
        ds = WindowDataset(split, _identity_norm(), window=64)
    assert ds.dropped == ["m0", "m2"] and len(ds) == 2
    with pytest.raises(InputError, match="no motion"), pytest.warns(DatasetWarning):
        WindowDataset(_toy_split([10]), _identity_norm(), window=64)
    with pytest.raises(InputError, match="mode"):
        WindowDataset(split, _identity_norm(), window=8, mode="shuffle")
    with pytest.raises(InputError, match="normaliser has 251 dims"):
        WindowDataset(split, _identity_norm(251), window=8)


# ------------------------------------------------------------------------------------ text-motion pairs
def test_crop_length_matches_the_official_rule():
    rng = np.random.default_rng(0)
    draws = [crop_length(103, 4, rng) for _ in range(3000)]
    assert set(draws) == {100, 96}
    assert abs(np.mean(np.array(draws) == 100) - 2 / 3) < 0.03  # "single" 2/3, "double" 1/3
    assert crop_length(4, 4, rng) == 4 and crop_length(3, 4, rng) == 3


def test_caption_tokens_pad_and_crop():
    tokens, n = caption_tokens(Caption("a man walks", ("a/DET", "man/NOUN", "walk/VERB")))
    assert n == 5 and len(tokens) == 22 and tokens[:2] == ["sos/OTHER", "a/DET"] and tokens[4:6] == ["eos/OTHER", "unk/OTHER"]
    long_caption = Caption("w " * 30, tuple(f"w{i}/NOUN" for i in range(30)))
    tokens, n = caption_tokens(long_caption)
    assert n == 22 and tokens[-1] == "eos/OTHER" and tokens[-2] == "w19/NOUN"


def test_text_motion_pairs(split_and_norm):
    split, norm = split_and_norm
    ds = TextMotionDataset(split, norm)
    items = [ds.sample(i % len(ds), np.random.default_rng(i)) for i in range(40)]
    for item in items:
        assert item["motion"].shape == (196, 263)
        assert item["length"] % 4 == 0 and 0 < item["length"] <= 196
        assert torch.count_nonzero(item["motion"][item["length"]:]) == 0  # zero padding after the crop
        assert item["caption"] in [c.text for c in split.captions[split.names.index(item["name"])]]
        assert len(item["tokens"]) == 22
    assert len({it["caption"] for it in items}) > len(ds)  # different captions drawn for the same motion
    x, y = ds.sample(2, np.random.default_rng(9)), ds.sample(2, np.random.default_rng(9))
    assert torch.equal(x["motion"], y["motion"]) and x["caption"] == y["caption"]


def test_text_motion_rejects_too_long():
    with pytest.raises(InputError, match="longer than max_len=196"):
        TextMotionDataset(_toy_split([250]), _identity_norm())


# ------------------------------------------------------------------------------------------- tokens
def test_token_dataset_and_collate():
    seqs = [np.array([3, 1, 4, 1, 5]), np.array([9, 2]), np.array([6, 5, 3, 5])]
    caps = [[Caption("walk", ("walk/VERB",))], ["jump", "hop"], ["run"]]
    ds = TokenDataset(seqs, caps)
    batch = collate_tokens([ds[i] for i in range(3)], pad_id=513)
    assert batch["tokens"].shape == (3, 5) and batch["tokens"][1].tolist() == [9, 2, 513, 513, 513]
    assert batch["lengths"].tolist() == [5, 2, 4]
    assert batch["mask"].tolist()[1] == [True, True, False, False, False]
    assert batch["caption"][0] == "walk" and batch["caption"][1] in ("jump", "hop")
    aug = TokenDataset(seqs, caps, drop_end_prob=1.0)
    out = aug.sample(0, np.random.default_rng(0))["tokens"].tolist()
    assert out in ([3, 1, 4, 1], [1, 4, 1, 5])
    with pytest.raises(InputError, match="1-D integer"):
        TokenDataset([np.zeros((2, 2), dtype=int)], [["x"]])
    with pytest.raises(InputError, match="2 token sequences but 1"):
        TokenDataset(seqs[:2], caps[:1])
    with pytest.raises(InputError, match="shorter than the longest"):
        collate_tokens([ds[0]], pad_id=0, pad_to=3)


def test_collate_motion_pads_and_masks(split_and_norm):
    split, norm = split_and_norm
    ds = TextMotionDataset(split, norm)
    items = [ds.sample(i, np.random.default_rng(i)) for i in range(4)]
    batch = collate_motion(items)
    assert batch["motion"].shape == (4, 196, 263)
    assert batch["lengths"].tolist() == [it["length"] for it in items]
    assert batch["mask"].sum(1).tolist() == batch["lengths"].tolist()
    assert batch["sent_len"].dtype == torch.long and isinstance(batch["caption"], list)
    windows = WindowDataset(split, norm, window=16)
    wb = collate_motion([windows[i] for i in range(3)])
    assert wb["motion"].shape == (3, 16, 263) and wb["mask"].all()
    assert lengths_to_mask(torch.tensor([1, 3]), 4).tolist() == [[True, False, False, False], [True, True, True, False]]
