"""Reconstruction, "velocity" and commitment losses of the VQ-VAE (motionlab.losses)."""

from __future__ import annotations

import pytest
import torch

from motionlab.errors import InputError
from motionlab.losses import (
    joints_from_dim,
    motion_slices,
    reconstruction_loss,
    vel_loss,
    vqvae_loss,
)


def test_reconstruction_kinds_on_hand_made_errors():
    pred = torch.tensor([0.0, 0.5, 3.0])
    target = torch.zeros(3)
    assert float(reconstruction_loss(pred, target, "l1")) == pytest.approx((0 + 0.5 + 3) / 3)
    assert float(reconstruction_loss(pred, target, "l2")) == pytest.approx((0 + 0.25 + 9) / 3)
    # smooth L1: 0.5 d^2 below 1, |d| - 0.5 above
    assert float(reconstruction_loss(pred, target, "l1_smooth")) == pytest.approx((0 + 0.125 + 2.5) / 3)
    with pytest.raises(InputError, match="l1_smooth"):
        reconstruction_loss(pred, target, "huber")
    with pytest.raises(InputError, match="shape"):
        reconstruction_loss(pred, torch.zeros(4))


def test_feature_slices_match_the_humanml3d_layout():
    assert joints_from_dim(263) == 22 and joints_from_dim(251) == 21
    s = motion_slices(263)
    assert (s["ric"].start, s["ric"].stop) == (4, 67)
    assert (s["rot6d"].start, s["rot6d"].stop) == (67, 193)
    assert (s["local_vel"].start, s["local_vel"].stop) == (193, 259)
    assert (s["contacts"].start, s["contacts"].stop) == (259, 263)
    k = motion_slices(251)
    assert (k["ric"].stop, k["local_vel"].start, k["contacts"].stop) == (64, 184, 251)
    with pytest.raises(InputError, match="12\\*J - 1"):
        joints_from_dim(100)


def test_feature_slices_agree_with_the_data_layer():
    features = pytest.importorskip("motionlab.data.features")
    for skeleton, dim in (("t2m", 263), ("kit", 251)):
        theirs = features.feature_slices(skeleton)
        ours = motion_slices(dim)
        for name in ("ric", "local_vel", "contacts"):
            got = theirs[name] if isinstance(theirs, dict) else getattr(theirs, name)
            assert (got.start, got.stop) == (ours[name].start, ours[name].stop), (skeleton, name)


def test_vel_loss_targets_only_their_slice():
    target = torch.zeros(2, 8, 263)
    only_ric = target.clone()
    only_ric[..., 4:67] = 1.0  # error on joint positions only
    only_vel = target.clone()
    only_vel[..., 193:259] = 1.0  # error on the velocity channels only
    assert float(vel_loss(only_ric, target, "l1", on="ric")) == pytest.approx(1.0)
    assert float(vel_loss(only_vel, target, "l1", on="ric")) == 0.0
    assert float(vel_loss(only_vel, target, "l1", on="velocity")) == pytest.approx(1.0)
    assert float(vel_loss(only_ric, target, "l1", on="velocity")) == 0.0
    # "diff": a constant offset has the right frame-to-frame differences -> no loss; a ramp does not
    assert float(vel_loss(target + 3.0, target, "l1", on="diff")) == 0.0
    ramp = torch.arange(8.0)[None, :, None].expand(2, 8, 263)
    assert float(vel_loss(ramp, target, "l1", on="diff")) == pytest.approx(1.0)
    with pytest.raises(InputError, match="ric"):
        vel_loss(target, target, on="contacts")


def test_vqvae_loss_total_is_the_weighted_sum():
    gen = torch.Generator().manual_seed(0)
    recon, target = torch.randn(2, 8, 263, generator=gen), torch.randn(2, 8, 263, generator=gen)
    q = {"commit": torch.tensor(2.0), "codebook": torch.tensor(4.0)}
    out = vqvae_loss(recon, target, q, recon_kind="l2", vel_weight=0.5, commit_weight=0.02, codebook_weight=1.0)
    want = out["recon"] + 0.5 * out["vel"] + 0.02 * 2.0 + 4.0
    assert torch.isclose(out["loss"], want)
    no_vel = vqvae_loss(recon, target, {"commit": torch.tensor(0.0)}, vel_weight=0.0)
    assert "vel" not in no_vel and "codebook" not in no_vel
    assert torch.isclose(no_vel["loss"], no_vel["recon"])
