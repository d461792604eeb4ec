"""The HumanML3D motion representation: joint positions <-> 263-d feature vectors (KIT-ML: 251-d).

:func:`joints_to_features` follows the official ``process_file`` step by step (retarget, floor, origin,
face +Z, contacts, root velocities, RIC, 6D rotations, local velocities) and keeps its quirks so that the
numbers are the benchmark's; :func:`features_to_joints` is ``recover_from_ric`` for numpy arrays and torch
tensors with any leading batch dimensions.  Layout of one frame (J joints, 263 = J 22, 251 = J 21)::

    [0:1]            root angular velocity about y   (half-angle, radians per frame)
    [1:3]            root linear velocity on xz       (in the root's heading frame)
    [3:4]            root height y
    [4:4+3(J-1)]     ric: joints 1..J-1 relative to the root (xz) and heading, absolute height (y)
    next 6(J-1)      6D rotations of joints 1..J-1 from the naive chain IK
    next 3J          local velocities of all joints (global deltas in the heading frame)
    last 4           foot contacts: left ankle, left toe, right ankle, right toe
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motionlab.data.quaternion import qbetween, qinv, qmul, qrot, qto_cont6d
from motionlab.data.skeleton import (
    FORWARD, Skeleton, chain_inverse_kinematics, check_joints, forward_direction, get_skeleton, retarget as _retarget,
    skeleton_for_dim,
)
from motionlab.errors import InputError

Array = np.ndarray | torch.Tensor


# --------------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class FeatureLayout:
    """Named slices of the feature vector of one skeleton (see the module docstring)."""

    n_joints: int
    root_rot_vel: slice
    root_lin_vel: slice
    root_y: slice
    ric: slice
    rot6d: slice
    local_vel: slice
    contacts: slice

    @property
    def dim(self) -> int:
        return self.contacts.stop

    @property
    def groups(self) -> list[tuple[str, slice]]:
        """The seven slice groups in order (the groups ``compute_stats`` averages the std over)."""
        names = ("root_rot_vel", "root_lin_vel", "root_y", "ric", "rot6d", "local_vel", "contacts")
        return [(n, getattr(self, n)) for n in names]

    @property
    def root(self) -> slice:
        """The four root dims [0:4] (angular velocity, xz velocity, height)."""
        return slice(0, 4)


def feature_slices(skeleton: str | Skeleton = "t2m") -> FeatureLayout:
    """The :class:`FeatureLayout` of a skeleton (``"t2m"`` -> 263 dims, ``"kit"`` -> 251 dims)."""
    j = get_skeleton(skeleton).n_joints
    ric = 4 + 3 * (j - 1)
    rot = ric + 6 * (j - 1)
    vel = rot + 3 * j
    return FeatureLayout(j, slice(0, 1), slice(1, 3), slice(3, 4), slice(4, ric), slice(ric, rot),
                         slice(rot, vel), slice(vel, vel + 4))


def _skeleton_for(features_dim: int, skeleton: str | Skeleton | None) -> Skeleton:
    if skeleton is None or (isinstance(skeleton, str) and skeleton == "auto"):
        return skeleton_for_dim(features_dim)
    sk = get_skeleton(skeleton)
    if sk.feature_dim != features_dim:
        raise InputError(
            f"features have {features_dim} dims in the last axis; the {sk.name} skeleton needs {sk.feature_dim}"
        )
    return sk


# ------------------------------------------------------------------------------------ canonicalise
def canonicalize(joints: np.ndarray, skeleton: str | Skeleton = "t2m", retarget: bool = True,
                 template: np.ndarray | None = None) -> np.ndarray:
    """The positions the features describe: ``(T, J, 3)`` -> canonical ``(T, J, 3)`` float64.

    In the pipeline's order: (1) retarget to the template skeleton (optional), (2) floor at y = 0 (lowest
    joint over the clip), (3) first-frame root xz to the origin, (4) rotate about y so that the first frame
    faces +Z (facing from hips and shoulders, in the correct joint order here).
    ``features_to_joints(joints_to_features(j))`` equals ``canonicalize(j)[:-1]``.
    """
    sk = get_skeleton(skeleton)
    pos = check_joints(joints, sk, min_frames=2)
    if retarget:
        pos = _retarget(pos, sk, template)
    pos = pos.copy()
    pos[..., 1] -= pos[..., 1].min()
    pos -= pos[0, 0] * np.array([1.0, 0.0, 1.0])
    facing = forward_direction(pos[0], sk)  # (3,)
    turn = qbetween(facing, FORWARD)  # (4,) yaw taking the first facing direction onto +Z
    return qrot(np.broadcast_to(turn, pos.shape[:-1] + (4,)), pos)


def foot_contacts(positions: np.ndarray, skeleton: str | Skeleton = "t2m", threshold: float | None = None
                  ) -> np.ndarray:
    """Binary foot contacts ``(T-1, 4)`` [left ankle, left toe, right ankle, right toe] of ``(T, J, 3)``.

    A foot joint is in contact between frames t and t+1 when its squared displacement
    ``|p[t+1] - p[t]|^2`` (x, y and z) is below ``threshold`` (default: the skeleton's, 0.002 m^2 for
    HumanML3D; 0.05 in KIT's units, as the official KIT processing used).
    """
    sk = get_skeleton(skeleton)
    thr = sk.contact_threshold if threshold is None else threshold
    feet = list(sk.foot_left) + list(sk.foot_right)
    p = np.asarray(positions, dtype=np.float64)[:, feet]  # (T, 4, 3)
    moved = ((p[1:] - p[:-1]) ** 2).sum(-1)  # (T-1, 4)
    return (moved < thr).astype(np.float32)


def joints_to_features(joints: np.ndarray, skeleton: str | Skeleton = "t2m", retarget: bool = True,
                       template: np.ndarray | None = None, *, official_heading_bug: bool = False) -> np.ndarray:
    """HumanML3D features ``(T-1, D)`` float32 of joint positions ``(T, J, 3)`` (metres, y up, 20 fps).

    D = 263 for ``"t2m"`` and 251 for ``"kit"``.  ``retarget=False`` skips the retargeting step (use it for
    joints that are already on the template skeleton, or to keep the source bone lengths); ``template``
    overrides the template bone offsets (see :func:`motionlab.data.skeleton.retarget`).

    One deliberate difference from the official code: the frame-to-frame heading quaternion is flipped to
    w >= 0 before taking asin of its y component.  Officially it is not, so when the heading crosses 180
    degrees relative to the first frame (a person turning around) that frame's angular velocity has the
    wrong sign and the recovered trajectory drifts from then on.  Elsewhere the two agree exactly;
    ``official_heading_bug=True`` reproduces the official numbers.
    """
    sk = get_skeleton(skeleton)
    pos = canonicalize(joints, sk, retarget=retarget, template=template)  # (T, J, 3)
    n_frames = pos.shape[0]
    contacts = foot_contacts(pos, sk)  # (T-1, 4)

    # heading rotation r_t of every frame from the (smoothed, quirky) chain IK; r_0 = identity
    quats = chain_inverse_kinematics(pos, sk, smooth_forward=True)  # (T, J, 4)
    heading = quats[:, 0]  # (T, 4)
    rot6d = qto_cont6d(quats[:, 1:]).reshape(n_frames, -1)  # (T, 6(J-1))

    # root velocities: v_t = r_{t+1} (p_{t+1} - p_t);  omega_t = asin(y of r_{t+1} r_t^-1)
    lin_vel = qrot(heading[1:], pos[1:, 0] - pos[:-1, 0])[:, [0, 2]]  # (T-1, 2)
    rel = qmul(heading[1:], qinv(heading[:-1]))  # (T-1, 4) pure yaw
    if not official_heading_bug:
        # q and -q are the same rotation; asin(y) needs the w >= 0 one.  The official code skips this, so a
        # heading that crosses 180 degrees (turning around) gets one wrong-signed velocity and drifts after.
        rel = rel * np.where(rel[:, :1] < 0, -1.0, 1.0)
    rot_vel = np.arcsin(np.clip(rel[:, 2:3], -1.0, 1.0))  # (T-1, 1)

    # rotation-invariant coordinates: subtract root xz, rotate into the heading frame
    ric = pos.copy()
    ric[..., [0, 2]] -= pos[:, :1, [0, 2]]
    ric = qrot(np.broadcast_to(heading[:, None], ric.shape[:-1] + (4,)), ric)  # (T, J, 3)
    root_y = ric[:, 0, 1:2]  # (T, 1)

    # local velocities: global deltas rotated by the heading of the earlier frame
    deltas = pos[1:] - pos[:-1]  # (T-1, J, 3)
    local_vel = qrot(np.broadcast_to(heading[:-1, None], deltas.shape[:-1] + (4,)), deltas)

    feats = np.concatenate(
        [rot_vel, lin_vel, root_y[:-1], ric[:-1, 1:].reshape(n_frames - 1, -1), rot6d[:-1],
         local_vel.reshape(n_frames - 1, -1), contacts],
        axis=-1,
    )
    return feats.astype(np.float32)


# ----------------------------------------------------------------------------------------- recover
def _cat(parts: list, axis: int, like: Array) -> Array:
    return torch.cat(parts, dim=axis) if isinstance(like, torch.Tensor) else np.concatenate(parts, axis=axis)


def _yaw_quat(angle: Array) -> Array:
    """(..., 4) quaternions (cos a, 0, sin a, 0) -- a rotation by 2a about +Y (the stored angles are halves)."""
    zeros = angle * 0
    if isinstance(angle, torch.Tensor):
        return torch.stack([torch.cos(angle), zeros, torch.sin(angle), zeros], dim=-1)
    return np.stack([np.cos(angle), zeros, np.sin(angle), zeros], axis=-1)


def recover_root(features: Array) -> tuple[Array, Array]:
    """Heading quaternions ``(..., T, 4)`` and root positions ``(..., T, 3)`` from features ``(..., T, D)``.

    Heading: the angle at frame t is the sum of the angular velocities of frames 0..t-1 (frame 0: 0).
    Position: the xz velocity of frame t-1 is rotated back to the world by the inverse heading of frame t
    and summed over time (frame 0 at the origin); y is the stored root height.
    """
    rot_vel = features[..., 0]  # (..., T)
    shifted = _cat([rot_vel[..., :1] * 0, rot_vel[..., :-1]], -1, rot_vel)
    angle = torch.cumsum(shifted, -1) if isinstance(features, torch.Tensor) else np.cumsum(shifted, -1)
    heading = _yaw_quat(angle)  # (..., T, 4)

    zero = features[..., :1, 0:1] * 0  # (..., 1, 1)
    vx = _cat([zero, features[..., :-1, 1:2]], -2, features)  # (..., T, 1)
    vz = _cat([zero, features[..., :-1, 2:3]], -2, features)
    vel = _cat([vx, vx * 0, vz], -1, features)  # (..., T, 3)
    vel = qrot(qinv(heading), vel)
    root = torch.cumsum(vel, -2) if isinstance(vel, torch.Tensor) else np.cumsum(vel, -2)
    root = _cat([root[..., 0:1], features[..., 3:4], root[..., 2:3]], -1, features)
    return heading, root


def features_to_joints(features: Array, skeleton: str | Skeleton | None = "t2m") -> Array:
    """Joint positions ``(..., T, J, 3)`` from features ``(..., T, D)`` through the RIC slice.

    Works on numpy arrays and torch tensors (any device, gradients flow) with leading batch dimensions.
    ``skeleton=None`` or ``"auto"`` picks it from the width D.  The result has the features' dtype.
    """
    out_dtype = None
    if not isinstance(features, torch.Tensor):
        features = np.asarray(features)
        out_dtype = features.dtype if features.dtype.kind == "f" else np.dtype(np.float32)
        features = features.astype(np.float64)  # numpy: recover in float64, return the input's precision
    if features.ndim < 2:
        raise InputError(f"features have shape {tuple(features.shape)}; expected (..., T, D)")
    sk = _skeleton_for(features.shape[-1], skeleton)
    layout = feature_slices(sk)
    heading, root = recover_root(features)
    ric = features[..., layout.ric]
    ric = ric.reshape(*ric.shape[:-1], sk.n_joints - 1, 3)  # (..., T, J-1, 3)
    inv = qinv(heading)[..., None, :]  # (..., T, 1, 4)
    inv = inv.expand(*ric.shape[:-1], 4) if isinstance(inv, torch.Tensor) else np.broadcast_to(inv, ric.shape[:-1] + (4,))
    world = qrot(inv, ric)
    offset = _cat([root[..., 0:1], root[..., 1:2] * 0, root[..., 2:3]], -1, root)[..., None, :]  # (..., T, 1, 3)
    joints = _cat([root[..., None, :], world + offset], -2, world)
    return joints if out_dtype is None else joints.astype(out_dtype)


# mirroring lives in motionlab.data.mirror (it needs feature_slices above); re-exported here for convenience
from motionlab.data.mirror import mirror_caption, mirror_features, mirror_joints  # noqa: E402,F401
