"""Losses of the motion tokenizer (T2M-GPT's VQ-VAE).

The training objective of T2M-GPT's VQ-VAE is

    L = L_rec(x_hat, x) + alpha * L_rec(S(x_hat), S(x)) + beta * ||z - sg[e]||^2   (+ ||sg[z] - e||^2 for plain VQ)

with ``L_rec`` one of L1 / L2 / smooth L1 (``"l1" | "l2" | "l1_smooth"``), alpha = 0.5, beta = 0.02.  The
paper calls the alpha term a *velocity* loss, but the official code applies it to the RIC joint-position
slice ``S(x) = x[..., 4 : 4 + 3 (J - 1)]`` -- an extra weight on joint positions, not a velocity at all
(MoMask's trainer says as much: "not necessarily velocity").  :func:`vel_loss` offers that official
target (``"ric"``, the default) and two true velocity targets: the local joint-velocity channels of the
feature vector (``"velocity"``) and frame-to-frame differences of the whole feature vector (``"diff"``,
the paper's equation ``v_t = x_t - x_{t-1}``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from motionlab.errors import InputError

RECON_KINDS = ("l1", "l2", "l1_smooth")
VEL_TARGETS = ("ric", "velocity", "diff")


def joints_from_dim(input_dim: int) -> int:
    """Number of joints J of a HumanML3D-style feature vector: D = 4 + 3(J-1) + 6(J-1) + 3J + 4 = 12J - 1."""
    if (input_dim + 1) % 12 or input_dim < 23:
        raise InputError(f"feature dimension {input_dim} is not a HumanML3D-style layout (expected 12*J - 1, "
                         f"e.g. 263 for 22 joints or 251 for 21)")
    return (input_dim + 1) // 12


def motion_slices(input_dim: int) -> dict[str, slice]:
    """Named slices of the feature vector (root velocities, height, RIC, 6-D rotations, velocities, contacts)."""
    j = joints_from_dim(input_dim)
    ric, rot, vel = 4 + 3 * (j - 1), 4 + 9 * (j - 1), 4 + 9 * (j - 1) + 3 * j
    return {
        "root_rot_vel": slice(0, 1), "root_lin_vel": slice(1, 3), "root_y": slice(3, 4),
        "ric": slice(4, ric), "rot6d": slice(ric, rot), "local_vel": slice(rot, vel),
        "contacts": slice(vel, vel + 4),
    }


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, kind: str = "l1_smooth") -> torch.Tensor:
    """Mean elementwise L1, L2 or smooth L1 (Huber, beta = 1) between two tensors of the same shape."""
    if pred.shape != target.shape:
        raise InputError(f"reconstruction_loss: prediction shape {tuple(pred.shape)} != target "
                         f"shape {tuple(target.shape)}")
    if kind == "l1":
        return F.l1_loss(pred, target)  # mean |x_hat - x|
    if kind == "l2":
        return F.mse_loss(pred, target)  # mean (x_hat - x)^2
    if kind == "l1_smooth":
        return F.smooth_l1_loss(pred, target, beta=1.0)  # 0.5 d^2 if |d| < 1 else |d| - 0.5
    raise InputError(f"reconstruction loss kind={kind!r}: expected one of {', '.join(RECON_KINDS)}")


def vel_loss(pred: torch.Tensor, target: torch.Tensor, kind: str = "l1_smooth",
                   on: str = "ric") -> torch.Tensor:
    """T2M-GPT's alpha term on features ``(B, T, D)``.

    ``on="ric"`` (official code): the loss on the joint-position slice ``[4 : 4 + 3(J-1)]``.
    ``on="velocity"``: the loss on the local joint-velocity channels ``[4 + 9(J-1) : 4 + 9(J-1) + 3J]``.
    ``on="diff"``: the loss on frame differences ``x[t] - x[t-1]`` of the whole vector (the paper's equation).
    """
    if on == "diff":
        return reconstruction_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1], kind)
    if on not in ("ric", "velocity"):
        raise InputError(f"velocity-loss target on={on!r}: expected one of {', '.join(VEL_TARGETS)}")
    part = motion_slices(pred.shape[-1])["ric" if on == "ric" else "local_vel"]
    return reconstruction_loss(pred[..., part], target[..., part], kind)


def vqvae_loss(recon: torch.Tensor, target: torch.Tensor, quantizer_losses: dict, *,
               recon_kind: str = "l1_smooth", vel_weight: float = 0.5, vel_on: str = "ric",
               commit_weight: float = 0.02, codebook_weight: float = 1.0) -> dict[str, torch.Tensor]:
    """The total VQ-VAE objective and its parts (``"loss"`` is what the optimiser minimises)."""
    losses = {"recon": reconstruction_loss(recon, target, recon_kind)}
    total = losses["recon"]
    if vel_weight:
        losses["vel"] = vel_loss(recon, target, recon_kind, vel_on)
        total = total + vel_weight * losses["vel"]  # + alpha L_rec(S(x_hat), S(x))
    losses["commit"] = quantizer_losses["commit"]
    total = total + commit_weight * losses["commit"]  # + beta ||z - sg[e]||^2
    if "codebook" in quantizer_losses:
        losses["codebook"] = quantizer_losses["codebook"]
        total = total + codebook_weight * losses["codebook"]  # + ||sg[z] - e||^2 (plain VQ only)
    losses["loss"] = total
    return losses
