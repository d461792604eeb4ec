"""Metric functions against closed-form cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionlab.errors import InputError
from motionlab.evaluation import metrics as M


def _spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# ---------------------------------------------------------------------------------------------- FID
def test_fid_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    mu, s = rng.normal(size=16), _spd(rng, 16)
    assert M.frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)
    x = rng.normal(size=(500, 16))
    assert M.fid(x, x.copy()) == pytest.approx(0.0, abs=1e-8)


def test_fid_shifted_means_is_squared_distance():
    rng = np.random.default_rng(1)
    mu, s, shift = rng.normal(size=8), _spd(rng, 8), rng.normal(size=8)
    assert M.frechet_distance(mu, s, mu + shift, s) == pytest.approx(float(shift @ shift), rel=1e-7)
    x = rng.normal(size=(300, 8))
    assert M.fid(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-7)  # a shifted copy


def test_fid_diagonal_closed_form():
    # commuting covariances: Tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(s1) - sqrt(s2))^2
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 2.0])
    d = np.array([1.0, -2.0, 0.5])
    want = d @ d + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert M.frechet_distance(np.zeros(3), np.diag(v1), d, np.diag(v2)) == pytest.approx(want, rel=1e-9)


def test_fid_singular_covariances_stay_finite():
    rng = np.random.default_rng(2)
    few = rng.normal(size=(5, 32))  # 5 samples in 32 dims: rank-4 covariances
    other = rng.normal(size=(5, 32))
    value = M.fid(few, other)
    assert np.isfinite(value) and value > 0


def test_fid_rejects_non_psd_covariance():
    with pytest.raises(ValueError, match="imaginary"):
        M.frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


def test_fid_input_errors():
    with pytest.raises(InputError, match="at least 2"):
        M.fid(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(InputError, match="widths differ"):
        M.fid(np.zeros((5, 4)), np.zeros((5, 3)))
    with pytest.raises(InputError, match="non-finite"):
        M.fid(np.full((5, 4), np.nan), np.zeros((5, 4)))


def test_fid_accepts_torch():
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    assert M.fid(x, x + 1.0) == pytest.approx(4.0, rel=1e-5)


# -------------------------------------------------------------------------------------- R-precision
def test_r_precision_perfect_retrieval():
    x = np.random.default_rng(3).normal(size=(64, 16))
    np.testing.assert_allclose(M.r_precision(x, x), [1.0, 1.0, 1.0])


def test_r_precision_random_is_chance():
    rng = np.random.default_rng(4)
    t, m = rng.normal(size=(32 * 250, 16)), rng.normal(size=(32 * 250, 16))
    np.testing.assert_allclose(M.r_precision(t, m), [1 / 32, 2 / 32, 3 / 32], atol=0.01)


def test_r_precision_ties_count_as_chance():
    # a generator that outputs one motion for every text must not get a perfect score
    t = np.random.default_rng(5).normal(size=(64, 8))
    np.testing.assert_allclose(M.r_precision(t, np.ones((64, 8))), [1 / 32, 2 / 32, 3 / 32], atol=1e-12)


def test_retrieval_hits_hand_case():
    d = np.array([[1.0, 0.5, 2.0, 1.0],   # 1 nearer, 1 tied: rank uniform over {2, 3}
                  [0.1, 0.2, 0.3, 0.4],   # 1 nearer: rank 2
                  [9.0, 9.0, 0.0, 9.0],   # nearest
                  [0.0, 0.0, 0.0, 5.0]])  # 3 nearer: rank 4
    np.testing.assert_allclose(M.retrieval_hits(d, 3), [[0.0, 0.5, 1.0], [0, 1, 1], [1, 1, 1], [0, 0, 0]])


def test_r_precision_uses_batches_and_drops_the_rest():
    rng = np.random.default_rng(6)
    t = rng.normal(size=(40, 4))
    m = t + 0.8 * rng.normal(size=(40, 4))
    # only the first full batch of 32 counts (official drop_last)
    np.testing.assert_allclose(M.r_precision(t, m), M.r_precision(t[:32], m[:32]))
    assert M.r_precision(t, m, batch_size=None)[0] <= M.r_precision(t, m, batch_size=8)[0]  # more distractors
    with pytest.raises(InputError, match="full batch"):
        M.r_precision(t[:20], m[:20])
    with pytest.raises(InputError, match="pair up"):
        M.r_precision(t, m[:39])


def test_matching_score_is_mean_pair_distance():
    t = np.zeros((4, 2))
    m = np.array([[3.0, 4.0], [0, 1], [0, 0], [6, 8]])
    assert M.matching_score(t, m) == pytest.approx((5 + 1 + 0 + 10) / 4)


# --------------------------------------------------------------------------------- diversity / MM
def test_diversity_of_constant_set_is_zero():
    assert M.diversity(np.ones((400, 8)), 300, rng=0) == 0.0


def test_diversity_two_clusters():
    # half the points at 0, half at distance 10: each pair is 0 or 10 apart, so diversity is 10 * P(cross)
    emb = np.concatenate([np.zeros((500, 3)), np.full((500, 3), 10 / np.sqrt(3))])
    assert M.diversity(emb, 300, rng=1) == pytest.approx(5.0, abs=0.6)


def test_diversity_errors_and_determinism():
    emb = np.random.default_rng(7).normal(size=(50, 4))
    assert M.diversity(emb, 40, rng=3) == M.diversity(emb, 40, rng=3)
    with pytest.raises(InputError, match="n_pairs"):
        M.diversity(emb, 300)


def test_multimodality_identical_samples_is_zero_and_scales():
    assert M.multimodality(np.ones((10, 30, 4)), 10, rng=0) == 0.0
    emb = np.random.default_rng(8).normal(size=(10, 30, 4))
    assert M.multimodality(3 * emb, 10, rng=5) == pytest.approx(3 * M.multimodality(emb, 10, rng=5))
    with pytest.raises(InputError, match="samples per text"):
        M.multimodality(emb, 31)
    with pytest.raises(InputError, match="3 dimensions"):
        M.multimodality(emb[0], 5)


# ------------------------------------------------------------------------------------------ joints
def test_mpjpe_translation_is_free_after_pelvis_alignment():
    gt = np.random.default_rng(9).normal(size=(20, 22, 3))
    moved = gt + np.array([0.5, 0.1, -3.0])
    assert M.mpjpe(moved, gt) == pytest.approx(0.0, abs=1e-12)
    assert M.mpjpe(moved, gt, root=None) == pytest.approx(np.linalg.norm([0.5, 0.1, -3.0]))


def test_mpjpe_one_joint_off():
    gt = np.zeros((5, 22, 3))
    pred = gt.copy()
    pred[:, 7] += [0.0, 0.22, 0.0]  # one of 22 joints 0.22 m off in every frame
    assert M.mpjpe(pred, gt) == pytest.approx(0.01)
    np.testing.assert_allclose(M.mpjpe(pred, gt, reduce=False), np.full(5, 0.01))
    with pytest.raises(InputError, match="equal shapes"):
        M.mpjpe(pred[:4], gt)


def test_foot_sliding():
    joints = np.zeros((21, 22, 3))
    joints[:, :, 1] = 1.0  # everything up in the air ...
    feet = [7, 10, 8, 11]
    joints[:, feet, 1] = 0.02  # ... except the feet, on the floor
    assert M.foot_sliding(joints) == 0.0  # planted feet do not slide
    sliding = joints.copy()
    sliding[:, feet, 0] = np.arange(21)[:, None] * 0.01  # 1 cm per frame along x
    assert M.foot_sliding(sliding) == pytest.approx(0.01 * 20)  # m/s at 20 fps
    lifted = sliding.copy()
    lifted[:, feet, 1] = 0.3  # the same motion in the air is not sliding
    assert M.foot_sliding(lifted) == 0.0
    assert M.foot_sliding([joints, sliding]) == pytest.approx(0.1)  # half the contacts slide
    with pytest.raises(InputError, match="joints"):
        M.foot_sliding(np.zeros((5, 21, 3)))


# -------------------------------------------------------------------------------------------- codes
def test_codebook_usage_and_perplexity():
    assert M.perplexity(np.arange(64) % 16, 16) == pytest.approx(16.0)  # uniform usage = n_codes
    assert M.perplexity(np.full(10, 3), 16) == pytest.approx(1.0)  # one code
    assert M.perplexity(counts=[1, 1, 2, 0]) == pytest.approx(np.exp(1.5 * np.log(2)))
    assert M.codebook_usage(torch.tensor([[0, 1], [1, 5]]), 8) == pytest.approx(3 / 8)
    np.testing.assert_array_equal(M.code_histogram([0, 0, 2], 4), [2, 0, 1, 0])
    with pytest.raises(InputError, match=r"\[0, 4\)"):
        M.code_histogram([0, 4], 4)


def test_r_precision_top_k_bounds():
    x = np.random.default_rng(10).normal(size=(8, 3))
    assert M.r_precision(x, x, top_k=8, batch_size=8)[-1] == 1.0
    with pytest.raises(InputError, match="top_k=9"):
        M.r_precision(x, x, top_k=9, batch_size=8)


@pytest.mark.parametrize("n, d", [(400, 16), (300, 64), (20, 64)])  # the last: singular covariances
def test_fid_eigh_route_equals_sqrtm(n, d):
    rng = np.random.default_rng(n + d)
    a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    b = rng.normal(size=(n, d)) * rng.uniform(0.5, 2, size=d) + 0.3
    assert M.fid(a, b, method="eigh") == pytest.approx(M.fid(a, b, method="sqrtm"), rel=1e-6, abs=1e-6)
    scale = np.trace(np.cov(a, rowvar=False))  # round-off is relative to the size of the covariances
    assert abs(M.fid(a, a.copy(), method="eigh")) < 1e-6 * scale
    with pytest.raises(InputError, match="method"):
        M.fid(a, b, method="svd")
