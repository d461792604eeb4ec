"""Helpers of the chapter 3-4 sweeps: summaries, curves, code/action statistics."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from motionlab.data.folders import Caption
from motionlab.tokenizers.artifacts import TokenizedSplit
from motionlab.tokenizers.experiments import (
    bars,
    code_action_counts,
    history_curves,
    mutual_information,
    pretty,
    summarize,
    token_labels,
)


def test_summarize_gives_mean_and_spread_per_variant():
    table = pd.DataFrame({"variant": ["a", "a", "b"], "seed": [0, 1, 0], "fid": [1.0, 3.0, 5.0]})
    out = summarize(table, ["fid"], order=["b", "a"])
    assert list(out.index) == ["b", "a"]
    assert out.loc["a", "fid"] == 2.0 and out.loc["a", "fid_std"] == pytest.approx(math.sqrt(2.0))
    assert math.isnan(out.loc["b", "fid_std"]) and out.loc["b", "seeds"] == 1
    assert list(bars(out, "fid").columns) == ["mean", "ci"]
    shown = pretty(out, ["fid"])
    assert shown.loc["a", "fid"] == "2 ± 1.4" and shown.loc["b", "fid"] == "5"


def test_history_curves_average_over_seeds():
    class Run:
        def __init__(self, values):
            self.history = [{"step": s, "usage": v} for s, v in zip((10, 20), values)]
            self.evals = []

    curves = history_curves({("x", 0): Run([0.2, 0.4]), ("x", 1): Run([0.4, 0.6])}, "usage")
    steps, values = curves["x"]
    assert steps.tolist() == [10, 20] and np.allclose(values, [0.3, 0.5])


def test_mutual_information():
    assert mutual_information([[5, 0], [0, 5]]) == pytest.approx(math.log(2))  # one bit, in nats
    assert mutual_information([[2, 2], [3, 3]]) == pytest.approx(0.0, abs=1e-12)  # independent


def test_token_labels_from_synth_meta_and_from_verbs(tmp_path):
    meta = {"motions": [{"name": "000001", "actions": ["walk", "wave"], "spans": [[0, 20], [20, 40]]}]}
    (tmp_path / "synth_meta.json").write_text(json.dumps(meta))
    split = TokenizedSplit(
        names=["000001", "M000001", "A_000001", "000009"],
        tokens=[np.arange(10), np.arange(10), np.arange(2), np.arange(3)],
        offsets=np.array([0, 0, 1, 0]),
        captions=[[Caption("x")], [Caption("x")], [Caption("x")],
                  [Caption("a man jumps high", ("a/DET", "man/NOUN", "jump/VERB", "high/ADV"))]],
        n_codes=16, sources=["000001", "M000001", "000001", "000009"],
        spans=[(0, 40), (0, 40), (16, 25), (0, 12)],
    )
    labels = token_labels(split, tmp_path)
    assert labels[0].tolist() == ["walk"] * 5 + ["wave"] * 5  # token centres 2, 6, ..., 38
    assert labels[1].tolist() == labels[0].tolist()  # a mirror has the same actions
    assert labels[2].tolist() == ["walk", "wave"]  # sub-clip frames 17..24: centres 19 and 23
    assert labels[3].tolist() == ["jump"] * 3  # no record: the caption's first verb
    counts = code_action_counts(split, labels)
    assert counts.loc["walk"].sum() == 5 + 5 + 1 and counts.loc["jump", 2] == 1
