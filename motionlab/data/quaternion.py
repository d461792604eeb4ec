"""Quaternion helpers, (w, x, y, z) order, for numpy arrays and torch tensors alike.

Every function takes arrays with the quaternion (or vector) in the last axis and broadcasts over the rest.
"""

from __future__ import annotations

import numpy as np
import torch

Array = np.ndarray | torch.Tensor


def _stack(parts: list, like: Array) -> Array:
    return torch.stack(parts, dim=-1) if isinstance(like, torch.Tensor) else np.stack(parts, axis=-1)


def _sqrt(x: Array) -> Array:
    return torch.sqrt(x) if isinstance(x, torch.Tensor) else np.sqrt(x)


def qmul(q: Array, r: Array) -> Array:
    """Hamilton product q * r."""
    w1, x1, y1, z1 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    w2, x2, y2, z2 = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
    return _stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        q,
    )


def qinv(q: Array) -> Array:
    """Inverse of a unit quaternion (its conjugate)."""
    sign = q.new_tensor([1.0, -1.0, -1.0, -1.0]) if isinstance(q, torch.Tensor) else np.array([1.0, -1, -1, -1])
    return q * sign


def qnormalize(q: Array, eps: float = 1e-12) -> Array:
    """q / |q| (norms below ``eps`` are floored, so a zero quaternion stays zero instead of NaN)."""
    if isinstance(q, torch.Tensor):
        return q / torch.sqrt((q * q).sum(-1, keepdim=True)).clamp_min(eps)
    return q / np.maximum(np.sqrt((q * q).sum(-1, keepdims=True)), eps)


def qrot(q: Array, v: Array) -> Array:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): v' = q v q^-1."""
    w = q[..., :1]
    u = q[..., 1:]
    cross = torch.cross if isinstance(v, torch.Tensor) else np.cross
    uv = cross(u, v, dim=-1) if isinstance(v, torch.Tensor) else cross(u, v)
    uuv = cross(u, uv, dim=-1) if isinstance(v, torch.Tensor) else cross(u, uv)
    return v + 2 * (w * uv + uuv)


def qbetween(a: Array, b: Array) -> Array:
    """The shortest-arc unit quaternion rotating direction a onto direction b (both (..., 3))."""
    cross = torch.cross(a, b, dim=-1) if isinstance(a, torch.Tensor) else np.cross(a, b)
    na = _sqrt((a * a).sum(-1))
    nb = _sqrt((b * b).sum(-1))
    w = na * nb + (a * b).sum(-1)
    q = _stack([w, cross[..., 0], cross[..., 1], cross[..., 2]], a)
    return qnormalize(q)


def qfrom_axis_angle(axis: Array, angle: Array) -> Array:
    """Quaternion for a rotation by ``angle`` (radians, (...)) about unit ``axis`` (..., 3)."""
    if isinstance(angle, torch.Tensor):
        half = angle / 2
        s, c = torch.sin(half), torch.cos(half)
    else:
        half = np.asarray(angle) / 2
        s, c = np.sin(half), np.cos(half)
    return _stack([c, axis[..., 0] * s, axis[..., 1] * s, axis[..., 2] * s], axis)


def qfrom_yaw(angle: Array) -> Array:
    """Rotation about +Y (the up axis) by ``angle`` radians."""
    if isinstance(angle, torch.Tensor):
        half = angle / 2
        zeros = torch.zeros_like(half)
        return torch.stack([torch.cos(half), zeros, torch.sin(half), zeros], dim=-1)
    half = np.asarray(angle, dtype=np.float64) / 2
    zeros = np.zeros_like(half)
    return np.stack([np.cos(half), zeros, np.sin(half), zeros], axis=-1)


def qto_matrix(q: Array) -> Array:
    """Unit quaternions (..., 4) -> rotation matrices (..., 3, 3)."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ]
    m = _stack(rows, q)
    return m.reshape(*m.shape[:-1], 3, 3)


def qto_cont6d(q: Array) -> Array:
    """Continuous 6D rotation representation (Zhou et al. 2019): the first two matrix columns, (..., 6)."""
    m = qto_matrix(q)
    cols = m[..., :, :2]  # (..., 3, 2)
    # HumanML3D stacks column 0 then column 1
    if isinstance(cols, torch.Tensor):
        return torch.cat([cols[..., :, 0], cols[..., :, 1]], dim=-1)
    return np.concatenate([cols[..., :, 0], cols[..., :, 1]], axis=-1)
