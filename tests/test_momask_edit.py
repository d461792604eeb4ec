"""MoMask editing: frame ranges to token spans, tokens outside the edit bit-identical, decoded frames changing
only within the decoder's reach, the masked transformer's fill, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.generators.momask.edit import (
    EditedMotion,
    parse_frame_range,
    token_reach,
    token_spans,
)

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.mark.parametrize("ranges, spans", [
    ((0, 40), [(0, 10)]),                   # prefix on token boundaries
    ((80, -1), [(20, 25)]),                 # suffix to the end (100 frames)
    ((41, 79), [(10, 20)]),                 # in-between: every token whose 4 frames overlap 41..78
    ((3, 5), [(0, 2)]),                     # 2 frames across a token boundary -> both tokens
    ([(0, 8), (6, 20), (90, 100)], [(0, 5), (22, 25)]),  # overlapping ranges merge
])
def test_frame_ranges_become_the_overlapping_tokens(ranges, spans):
    assert token_spans(ranges, n_frames=100) == spans


@pytest.mark.parametrize("ranges, message", [
    ((40, 40), "is empty"), ((50, 10), "is empty"), ((0, 104), "outside the motion's frames 0:100"),
    ((-5, 10), "outside"), ([], "no frame range"),
])
def test_bad_frame_ranges_are_refused(ranges, message):
    with pytest.raises(InputError, match=message):
        token_spans(ranges, n_frames=100)


def test_frame_range_text():
    assert parse_frame_range("40:80") == (40, 80)
    assert parse_frame_range(":40") == (0, 40) and parse_frame_range("80:") == (80, -1)
    for bad in ("40-80", "a:b"):
        with pytest.raises(InputError, match="frame range"):
            parse_frame_range(bad)


def _motion(pipe, frames: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((frames, 263)).astype(np.float32)


@pytest.mark.parametrize("frames", [(0, 12), (32, -1), (13, 30), [(0, 4), (40, 48)]])
def test_tokens_outside_the_edit_stay_identical(momask_pipe, frames):
    motion = _motion(momask_pipe, 48)  # 12 tokens of 3 layers
    out = momask_pipe.edit(motion, "a person jumps", frames)
    edited = out.edited()
    assert out.tokens.shape == out.source_tokens.shape == (12, 3)
    np.testing.assert_array_equal(out.tokens[~edited], out.source_tokens[~edited])  # every layer, bit for bit
    assert out.tokens.min() >= 0 and out.tokens.max() < 16  # codes only
    assert not np.array_equal(out.tokens[edited], out.source_tokens[edited])  # the edit did redraw the span
    assert out.features.shape == out.source_features.shape == (48, 263)


def test_decoded_frames_change_only_within_the_decoders_reach(momask_pipe):
    reach = token_reach(momask_pipe.tokenizer, n_tokens=32)
    assert 0 < reach < 48  # a conv decoder: some frames beyond the token's four, far fewer than the motion
    out = momask_pipe.edit(_motion(momask_pipe, 48), "a person jumps", (0, 4))  # a one-token prefix
    assert 0 < out.reach() <= reach
    far = np.arange(4 + reach, 48)  # frames beyond the reach
    assert len(far) >= 16
    np.testing.assert_allclose(out.features[far], out.source_features[far], atol=1e-4)


def test_reach_measures_distance_to_the_span():
    a = np.zeros((16, 2))
    b = a.copy()
    b[3] = 1.0  # 1 frame before the span 4:8
    b[10] = 1.0  # 3 frames after it
    out = EditedMotion("", [(1, 2)], np.zeros(4), np.zeros(4), a, b)
    assert out.frame_spans == [(4, 8)] and out.reach() == 3
    assert EditedMotion("", [(1, 2)], np.zeros(4), np.zeros(4), a, a).reach() == 0


def test_fill_keeps_given_positions_and_fills_every_mask(momask_pipe):
    masked, cfg = momask_pipe.masked, momask_pipe.masked.config
    ids = torch.tensor([[3, cfg.mask_id, 5, cfg.mask_id, cfg.pad_id], [cfg.mask_id] * 5])
    text = torch.randn(2, cfg.text_dim)
    history: list = []
    out = masked.fill(text, ids, [4, 5], iterations=4, history=history)
    assert out[0, [0, 2]].tolist() == [3, 5] and out[0, 4].item() == cfg.pad_id
    assert (out[:, :4] < cfg.n_codes).all() and (out[1] < cfg.n_codes).all()
    assert len(history) == 4 and all((h[0, [0, 2]] == ids[0, [0, 2]]).all() for h in history)
    with pytest.raises(InputError, match=r"\[MASK\] past a sequence's length"):
        masked.fill(text, torch.full((2, 5), cfg.mask_id), [4, 5])


@pytest.mark.parametrize("motion, frames, message", [
    (np.zeros((48, 251), np.float32), (0, 8), r"shape \(48, 251\): expected raw features \(frames, 263\)"),
    (np.zeros((2, 263), np.float32), (0, 1), "2 frames: expected 4..48"),
    (np.zeros((60, 263), np.float32), (0, 8), "60 frames: expected 4..48"),
    (np.full((48, 263), np.nan, np.float32), (0, 8), "NaN/inf values in 48 frame"),
    (np.zeros((50, 263), np.float32), (40, 50), "outside the motion's frames 0:48"),  # the 2-frame tail has no token
    (np.zeros((48, 263), np.float32), (8, 8), "is empty"),
])
def test_bad_edits_get_a_clear_error(momask_pipe, motion, frames, message):
    with pytest.raises(InputError, match=message):
        momask_pipe.edit(motion, "a person jumps", frames)


def test_edit_refuses_an_empty_caption(momask_pipe):
    with pytest.raises(InputError):
        momask_pipe.edit(np.zeros((48, 263), np.float32), "   ", (0, 8))
