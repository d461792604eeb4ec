"""The rig MotionLab-Synth animates: a natural rest pose on the template skeleton, rotation helpers and
two-bone inverse kinematics, all vectorised over time.

Frames and signs (the character's *heading frame*): x = the character's left, y = up, z = forward, as in
HumanML3D after canonicalisation (the first frame faces +Z).  Joint ``j``'s local rotation turns the bones
from ``j`` to its children (see :func:`motionlab.data.skeleton.forward_kinematics`).  The template's raw
offsets are unit axes (shoulders straight below the collars, the head in front of the neck), so the rig
uses its own rest directions, measured on a standing frame of the real HumanML3D sample and made
left/right symmetric, scaled by the template bone lengths: bone lengths are the template's by construction.

Rest frames of the limbs: thigh, shin, upper arm and forearm point down (-y) with their hinge axis along
+x, so a knee flexes by ``+angle`` about x (the shin swings back) and an elbow by ``-angle`` (the forearm
swings forward).
"""

from __future__ import annotations

import numpy as np

from motionlab.data.quaternion import qinv, qmul, qrot
from motionlab.data.skeleton import T2M, forward_kinematics

FPS = 20.0
N_JOINTS = 22

# joint indices (SMPL order)
PELVIS, L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2, L_ANKLE, R_ANKLE, SPINE3 = range(10)
L_TOE, R_TOE, NECK, L_COLLAR, R_COLLAR, HEAD, L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW = range(10, 20)
L_WRIST, R_WRIST = 20, 21

LEGS = ((L_HIP, L_KNEE, L_ANKLE, L_TOE), (R_HIP, R_KNEE, R_ANKLE, R_TOE))  # foot 0 = left, 1 = right
ARMS = ((L_COLLAR, L_SHOULDER, L_ELBOW, L_WRIST), (R_COLLAR, R_SHOULDER, R_ELBOW, R_WRIST))

# rest direction of the bone ending at each joint, left side (the right side mirrors x)
_LEFT_DIRS = {
    L_HIP: (0.59, -0.80, -0.05), SPINE1: (0.0, 0.98, -0.18), L_KNEE: (0.0, -1.0, 0.0),
    SPINE2: (0.0, 0.985, 0.17), L_ANKLE: (0.0, -1.0, 0.0), SPINE3: (0.0, 0.75, 0.66),
    L_TOE: (0.0, -0.31, 0.95), NECK: (0.0, 1.0, 0.03), L_COLLAR: (0.50, 0.86, -0.06),
    HEAD: (0.0, 0.59, 0.80), L_SHOULDER: (1.0, 0.03, 0.05), L_ELBOW: (0.0, -1.0, 0.0),
    L_WRIST: (0.0, -1.0, 0.0),
}


def _rest_offsets() -> np.ndarray:
    dirs = np.zeros((N_JOINTS, 3))
    for joint, d in _LEFT_DIRS.items():
        dirs[joint] = d
    for left, right in T2M.left_right:
        dirs[right] = dirs[left] * (-1.0, 1.0, 1.0)
    norms = np.linalg.norm(dirs, axis=1, keepdims=True)
    dirs = np.divide(dirs, norms, out=np.zeros_like(dirs), where=norms > 0)
    return dirs * T2M.bone_lengths[:, None]


REST_OFFSETS = _rest_offsets()  # (22, 3) rest bone vectors: natural directions x template lengths
THIGH = float(T2M.bone_lengths[L_KNEE])
SHIN = float(T2M.bone_lengths[L_ANKLE])
UPPER_ARM = float(T2M.bone_lengths[L_ELBOW])
FOREARM = float(T2M.bone_lengths[L_WRIST])
FOOT = REST_OFFSETS[L_TOE].copy()  # ankle -> toe in a flat foot's frame
ANKLE_HEIGHT = float(-FOOT[1])  # ankle height above the floor when the foot is flat (the toe on the floor)
HIP_OFFSETS = REST_OFFSETS[[L_HIP, R_HIP]]  # (2, 3) pelvis -> hips
# pelvis height of a relaxed stand: legs 3 degrees short of straight, toes on the floor
STAND_HEIGHT = float(-HIP_OFFSETS[0, 1] + np.sqrt(THIGH**2 + SHIN**2 + 2 * THIGH * SHIN * np.cos(np.radians(3)))
                     + ANKLE_HEIGHT)
# shoulder joint in the chest (spine3) frame, at rest
SHOULDER_IN_CHEST = np.stack([REST_OFFSETS[L_COLLAR] + REST_OFFSETS[L_SHOULDER],
                              REST_OFFSETS[R_COLLAR] + REST_OFFSETS[R_SHOULDER]])  # (2, 3)
IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])


# ------------------------------------------------------------------------------------- rotation helpers
def axis_angle(axis: int, angle: np.ndarray) -> np.ndarray:
    """Quaternions ``(..., 4)`` for rotations by ``angle`` (radians, ``(...)``) about the x/y/z axis (0/1/2)."""
    half = np.asarray(angle, dtype=np.float64) * 0.5
    q = np.zeros(half.shape + (4,))
    q[..., 0] = np.cos(half)
    q[..., 1 + axis] = np.sin(half)
    return q


def euler_yxz(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """``R_y(yaw) R_x(pitch) R_z(roll)`` as quaternions: turn, then bend forward (+pitch), then lean.

    For an upward bone, +pitch tilts it forward (+z) and +roll tilts it towards the right (-x).
    """
    return qmul(axis_angle(1, yaw), qmul(axis_angle(0, pitch), axis_angle(2, roll)))


def rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` by ``angle`` (radians) about the x/y/z axis (0/1/2)."""
    angle = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]  # the plane the rotation turns: x: y->z, y: z->x, z: x->y
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., j, i] = s
    m[..., i, j] = -s
    return m


def euler_matrix(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Matrix form of :func:`euler_yxz`: ``R_y(yaw) R_x(pitch) R_z(roll)``, ``(..., 3, 3)``."""
    return rot(1, yaw) @ rot(0, pitch) @ rot(2, roll)


def apply(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors: ``m (..., 3, 3)`` times ``v (..., 3)`` or a constant ``(3,)``."""
    return (m @ np.asarray(v)[..., None])[..., 0] if np.ndim(v) > 1 else m @ np.asarray(v)


def quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` -> unit quaternions ``(..., 4)`` (w >= 0), branch-free per case."""
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    # four candidate magnitudes; the largest gives a well-conditioned division (Shepperd's method)
    cand = np.stack([1 + trace, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], axis=-1)
    best = np.argmax(cand, axis=-1)
    s = np.sqrt(np.maximum(np.take_along_axis(cand, best[..., None], -1)[..., 0], 1e-12)) * 2  # = 4 |q_best|
    q = np.empty(m.shape[:-2] + (4,))
    w = np.stack([s / 4, (m[..., 2, 1] - m[..., 1, 2]) / s, (m[..., 0, 2] - m[..., 2, 0]) / s,
                  (m[..., 1, 0] - m[..., 0, 1]) / s], axis=-1)
    x = np.stack([(m[..., 2, 1] - m[..., 1, 2]) / s, s / 4, (m[..., 0, 1] + m[..., 1, 0]) / s,
                  (m[..., 0, 2] + m[..., 2, 0]) / s], axis=-1)
    y = np.stack([(m[..., 0, 2] - m[..., 2, 0]) / s, (m[..., 0, 1] + m[..., 1, 0]) / s, s / 4,
                  (m[..., 1, 2] + m[..., 2, 1]) / s], axis=-1)
    z = np.stack([(m[..., 1, 0] - m[..., 0, 1]) / s, (m[..., 0, 2] + m[..., 2, 0]) / s,
                  (m[..., 1, 2] + m[..., 2, 1]) / s, s / 4], axis=-1)
    q = np.where((best == 0)[..., None], w, np.where((best == 1)[..., None], x, np.where((best == 2)[..., None], y, z)))
    q = q * np.where(q[..., :1] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a x b`` over the last axis (``np.cross`` is several times slower on small arrays)."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a1 * b2 - a2 * b1
    out[..., 1] = a2 * b0 - a0 * b2
    out[..., 2] = a0 * b1 - a1 * b0
    return out


def frame_matrix(y_axis: np.ndarray, z_hint: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` whose y column is ``y_axis`` and z column is ``z_hint`` made
    orthogonal to it (x = y cross z).  Both ``(..., 3)``; ``y_axis`` must be unit length."""
    z = z_hint - (z_hint * y_axis).sum(-1, keepdims=True) * y_axis
    z = z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-9)
    x = cross(y_axis, z)
    m = np.empty(x.shape[:-1] + (3, 3))
    m[..., 0], m[..., 1], m[..., 2] = x, y_axis, z  # the columns
    return m


def unit(v: np.ndarray) -> np.ndarray:
    """``v / |v|`` along the last axis (zero vectors stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def mirror_quat(q: np.ndarray) -> np.ndarray:
    """The rotation reflected through the x = 0 plane (left <-> right): (w, x, y, z) -> (w, x, -y, -z)."""
    return q * np.array([1.0, 1.0, -1.0, -1.0])


# ------------------------------------------------------------------------------------------- two-bone IK
def two_bone_ik(base: np.ndarray, target: np.ndarray, pole: np.ndarray, upper: float, lower: float,
                reach: float = 0.999) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve a hinge limb (hip-knee-ankle, shoulder-elbow-wrist) for every frame.

    base, target, pole: ``(T, 3)``; the middle joint bends towards ``pole`` (the direction the knee or
    elbow points).  A target beyond ``reach`` x the limb length is pulled in along the line.
    Returns the upper bone direction ``u``, the bend angle ``kappa`` in [0, pi) (0 = straight) and the unit
    direction ``e`` the middle joint points to (perpendicular to ``u``), all per frame.

    Law of cosines: with D = |target - base|, the middle joint sits at base + a n + h e, where
    a = (upper^2 - lower^2 + D^2) / 2D and h = sqrt(upper^2 - a^2).
    """
    d = target - base  # (T, 3)
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    n = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(upper - lower) + 1e-4, (upper + lower) * reach)
    e = pole - (pole * n).sum(-1, keepdims=True) * n
    e = unit(e)
    a = (upper**2 - lower**2 + dist**2) / (2 * dist)
    h = np.sqrt(np.maximum(upper**2 - a**2, 0.0))
    mid = n * a + e * h  # relative to base
    u = mid / upper
    s = (n * dist - mid) / lower
    kappa = np.arccos(np.clip((u * s).sum(-1), -1.0, 1.0))
    e_perp = unit(e - (e * u).sum(-1, keepdims=True) * u)
    return u, kappa, e_perp


def limb_rotations(parent_global: np.ndarray, u: np.ndarray, kappa: np.ndarray, point: np.ndarray,
                   knee: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local quaternions of a limb's root joint and hinge, and the global rotation of the lower bone.

    ``u``: upper-bone direction (world), ``point``: where the middle joint points (world), both ``(T, 3)``.
    Knees point forward and flex by +kappa about x; elbows point back and flex by -kappa.
    """
    z_axis = point if knee else -point  # rest frame: z is where the knee points / where a forearm bends to
    upper_global = quat_from_matrix(frame_matrix(-u, z_axis))  # (T, 4)
    local_upper = qmul(qinv(parent_global), upper_global)
    hinge = axis_angle(0, kappa if knee else -kappa)
    return local_upper, hinge, qmul(upper_global, hinge)


def fk(local: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Joint positions ``(..., 22, 3)`` of local rotations ``(..., 22, 4)`` and root positions ``(..., 3)``."""
    return forward_kinematics(local, root, T2M, offsets=REST_OFFSETS)


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``qrot`` with broadcasting of a constant vector over frames."""
    return qrot(q, np.broadcast_to(v, q.shape[:-1] + (3,)))
