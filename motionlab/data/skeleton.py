"""Skeletons of HumanML3D (22-joint SMPL body, ``"t2m"``) and KIT-ML (21-joint MMM body, ``"kit"``).

Sources.  Kinematic chains, raw offset directions, the face joints, foot joints and leg joints are those of
the HumanML3D / text-to-motion processing code (``paramUtil.py``, ``motion_representation``), checked
against the official repository.  The HumanML3D template bone lengths are measured on the shipped sample
motion ``new_joints/012314.npy`` (its bones are constant to 1e-6 m because every HumanML3D motion is
retargeted onto the template).  KIT-ML joint names are the MMM names of the KIT source files.

Two kinematics live here:

* :func:`forward_kinematics` -- the textbook hierarchical FK (joint ``j``'s rotation turns the bones from
  ``j`` to its children; global rotations compose parent to child).  MotionLab-Synth animates with it.
* :func:`chain_inverse_kinematics` / :func:`chain_forward_kinematics` -- the *naive* chain IK/FK of the
  HumanML3D representation, quirks included (see :func:`chain_inverse_kinematics`), used for retargeting
  and for the 6D-rotation slice of the features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from motionlab.data.quaternion import qbetween, qinv, qmul, qrot
from motionlab.errors import InputError

UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class Skeleton:
    """Everything the representation, the datasets and the viewers need to know about one skeleton."""

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    kinematic_chain: tuple[tuple[int, ...], ...]  # chains drawn and walked by HumanML3D's FK/IK
    raw_offsets: np.ndarray  # (J, 3) unit rest-pose direction of the bone ending at each joint (paramUtil)
    bone_lengths: np.ndarray  # (J,) template bone lengths (root: 0), in the skeleton's units
    foot_left: tuple[int, int]  # (ankle, toe): contact slots 0-1 of the features
    foot_right: tuple[int, int]  # (ankle, toe): contact slots 2-3
    face_joints: tuple[int, int, int, int]  # as the pipeline passes them: (r_hip, l_hip, r_shoulder, l_shoulder)
    leg_joints: tuple[int, int]  # l_idx1, l_idx2: their bone lengths sum to the leg length used for retargeting
    left_right: tuple[tuple[int, int], ...]  # joint pairs swapped by mirroring
    units_per_metre: float = 1.0  # KIT-ML joints are in millimetre-scale units
    contact_threshold: float = 0.002  # squared per-frame displacement (skeleton units^2) below which a foot is planted
    fps: float = 20.0
    min_frames: int = 40  # the loaders keep motions with min_frames <= length < max_frames
    max_frames: int = 200

    @property
    def n_joints(self) -> int:
        return len(self.parents)

    @property
    def feature_dim(self) -> int:
        """4 root + 3(J-1) ric + 6(J-1) rot6d + 3J local velocity + 4 contacts."""
        j = self.n_joints
        return 4 + 9 * (j - 1) + 3 * j + 4

    @property
    def template_offsets(self) -> np.ndarray:
        """(J, 3) rest-pose bone vectors of the template skeleton (direction x length)."""
        return self.raw_offsets * self.bone_lengths[:, None]

    @property
    def mirror_index(self) -> np.ndarray:
        """(J,) permutation that swaps left and right joints (an involution)."""
        index = np.arange(self.n_joints)
        for left, right in self.left_right:
            index[left], index[right] = right, left
        return index

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(parent, child) pairs, one per non-root joint."""
        return [(p, c) for c, p in enumerate(self.parents) if p >= 0]

    @property
    def chain_links(self) -> list[tuple[int, int]]:
        """(chain parent, joint) pairs in the order the chain IK/FK visits them."""
        return [(chain[i - 1], chain[i]) for chain in self.kinematic_chain for i in range(1, len(chain))]

    @property
    def leg_length(self) -> float:
        """Template leg length (the sum of the ``leg_joints`` bones) that retargeting scales the root by."""
        return float(self.bone_lengths[list(self.leg_joints)].sum())


_T2M_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)

T2M = Skeleton(
    name="t2m",
    joint_names=_T2M_NAMES,
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19),
    kinematic_chain=((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21), (9, 13, 16, 18, 20)),
    raw_offsets=np.array(
        [
            [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
            [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
            [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
        ],
        dtype=np.float64,
    ),
    # mean bone lengths of HumanML3D new_joints/012314.npy (constant to 1.3e-6 m over its 170 frames)
    bone_lengths=np.array(
        [
            0.0, 0.1030740, 0.1098834, 0.1315682, 0.3936232, 0.3901882, 0.1431902, 0.4324330, 0.4256434,
            0.0573647, 0.1433818, 0.1494191, 0.2193600, 0.1374868, 0.1433828, 0.1030392, 0.1316140, 0.1229844,
            0.2568399, 0.2630919, 0.2660118, 0.2698763,
        ]
    ),
    foot_left=(7, 10),
    foot_right=(8, 11),
    face_joints=(2, 1, 17, 16),
    leg_joints=(5, 8),
    left_right=((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21)),
)

# MMM joint names as in the KIT source files.  Note: the HumanML3D pipeline's KIT constants call joint 11
# "r_hip" and feet [14, 15] "fid_r", which MMM names the *left* hip and foot.  The features keep the
# pipeline's indices (face_joints, contact order) so they match the benchmark; the names follow MMM.
_KIT_NAMES = (
    "root", "pelvis", "thorax", "lower_neck", "upper_neck", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist", "left_hip", "left_knee", "left_ankle", "left_heel",
    "left_toe", "right_hip", "right_knee", "right_ankle", "right_heel", "right_toe",
)

# KIT-ML's template (the first frame of 03950_gt) is not public outside the raw KIT data.  These lengths
# (millimetres) follow standard anthropometric segment fractions (Winter, *Biomechanics and Motor Control
# of Human Movement*: thigh 0.245 H, shank 0.246 H, upper arm 0.186 H, forearm 0.146 H, shoulder width
# 0.259 H, hip width 0.191 H, foot 0.152 H) for a 1.75 m body, with the trunk split evenly.  Real KIT-ML
# data arrives already retargeted; pass ``template=`` to :func:`retarget` to use its own bones instead.
_H = 1750.0
KIT = Skeleton(
    name="kit",
    joint_names=_KIT_NAMES,
    parents=(-1, 0, 1, 2, 3, 3, 5, 6, 3, 8, 9, 0, 11, 12, 13, 14, 0, 16, 17, 18, 19),
    kinematic_chain=((0, 11, 12, 13, 14, 15), (0, 16, 17, 18, 19, 20), (0, 1, 2, 3, 4), (3, 5, 6, 7), (3, 8, 9, 10)),
    raw_offsets=np.array(
        [
            [0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0],
            [-1, 0, 0], [0, -1, 0], [0, -1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
            [-1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
        ],
        dtype=np.float64,
    ),
    bone_lengths=np.round(
        _H * np.array(
            [
                0.0, 0.096, 0.096, 0.096, 0.052,  # trunk: hip (0.530 H) to shoulder (0.818 H), neck to chin
                0.1295, 0.186, 0.146,  # shoulder half-width, upper arm, forearm
                0.1295, 0.186, 0.146,
                0.0955, 0.245, 0.246, 0.039, 0.113,  # hip half-width, thigh, shank, heel drop, rest of the foot
                0.0955, 0.245, 0.246, 0.039, 0.113,
            ]
        ),
        1,
    ),
    foot_left=(19, 20),
    foot_right=(14, 15),
    face_joints=(11, 16, 5, 8),
    leg_joints=(17, 18),
    left_right=((5, 8), (6, 9), (7, 10), (11, 16), (12, 17), (13, 18), (14, 19), (15, 20)),
    units_per_metre=1000.0,
    contact_threshold=0.05,  # the official KIT pipeline calls process_file(..., 0.05)
    fps=12.5,
    min_frames=24,
)

SKELETONS: dict[str, Skeleton] = {"t2m": T2M, "humanml3d": T2M, "kit": KIT, "kit-ml": KIT}


def get_skeleton(skeleton: str | Skeleton = "t2m") -> Skeleton:
    """Look a skeleton up by name (``"t2m"``/``"humanml3d"`` or ``"kit"``)."""
    if isinstance(skeleton, Skeleton):
        return skeleton
    try:
        return SKELETONS[str(skeleton).lower()]
    except KeyError:
        raise InputError(f"unknown skeleton {skeleton!r}: expected 't2m' (HumanML3D) or 'kit' (KIT-ML)") from None


def skeleton_for_dim(feature_dim: int) -> Skeleton:
    """The skeleton whose feature vector has this width (263 -> t2m, 251 -> kit)."""
    for sk in (T2M, KIT):
        if sk.feature_dim == feature_dim:
            return sk
    raise InputError(f"no skeleton has {feature_dim}-d features (HumanML3D: 263, KIT-ML: 251)")


def check_joints(joints: np.ndarray, skeleton: Skeleton, what: str = "joints", min_frames: int = 1) -> np.ndarray:
    """``joints`` as a float64 ``(T, J, 3)`` array, or an :class:`InputError` saying what is wrong."""
    arr = np.asarray(joints)
    if arr.ndim != 3 or arr.shape[1:] != (skeleton.n_joints, 3):
        raise InputError(
            f"{what} has shape {arr.shape}; expected (T, {skeleton.n_joints}, 3) for the {skeleton.name} skeleton"
        )
    if arr.shape[0] < min_frames:
        raise InputError(f"{what} has {arr.shape[0]} frames; at least {min_frames} are needed")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        bad = np.unique(np.nonzero(~np.isfinite(arr))[0])
        raise InputError(f"{what} has NaN or infinite values in {len(bad)} frame(s), first at frame {bad[0]}")
    return arr


# ------------------------------------------------------------------------------------------------- FK
def forward_kinematics(
    local_rotations: np.ndarray, root_positions: np.ndarray, skeleton: str | Skeleton = "t2m",
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """Joint positions from hierarchical joint rotations.

    local_rotations: (..., J, 4) unit quaternions; joint j's rotation is relative to its parent's frame
    and turns the bones from j to its children.  root_positions: (..., 3).  Returns (..., J, 3).
    Bone lengths come from ``offsets`` (default: the template), so they are constant by construction.
    """
    sk = get_skeleton(skeleton)
    offsets = sk.template_offsets if offsets is None else offsets
    n = sk.n_joints
    global_rot = [None] * n
    positions = [None] * n
    global_rot[0] = local_rotations[..., 0, :]
    positions[0] = root_positions
    for j in range(1, n):  # parents always precede children in both skeletons
        p = sk.parents[j]
        positions[j] = positions[p] + qrot(global_rot[p], np.broadcast_to(offsets[j], root_positions.shape))
        global_rot[j] = qmul(global_rot[p], local_rotations[..., j, :])
    return np.stack(positions, axis=-2)


# ------------------------------------------------------------------------- HumanML3D chain IK / FK
def bone_offsets(frame: np.ndarray, skeleton: str | Skeleton = "t2m") -> np.ndarray:
    """(J, 3) bone vectors of the skeleton in ``frame`` ``(J, 3)``: raw directions scaled by its bone lengths.

    This is how the pipeline reads a skeleton off a pose: the template offsets are those of the first
    frame of the template motion, and retargeting measures the source skeleton on its own first frame.
    """
    sk = get_skeleton(skeleton)
    frame = np.asarray(frame, dtype=np.float64)
    lengths = np.zeros(sk.n_joints)
    for parent, child in sk.bones:
        lengths[child] = np.linalg.norm(frame[child] - frame[parent])
    return sk.raw_offsets * lengths[:, None]


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def forward_direction(joints: np.ndarray, skeleton: str | Skeleton = "t2m", *, ik_order: bool = False,
                      smooth_sigma: float = 0.0) -> np.ndarray:
    """Unit horizontal facing direction ``(..., 3)`` of poses ``(..., J, 3)``.

    facing = normalize(cross(up, across)), across = (r_hip - l_hip) + (r_shoulder - l_shoulder), with the
    joints taken from ``skeleton.face_joints``.  ``ik_order=True`` reproduces the face-joint-order quirk of
    HumanML3D's IK (``common/skeleton.py`` unpacks the list as (l_hip, r_hip, ...)): the hip term flips sign,
    so ``across`` becomes (l_hip - r_hip) + (r_shoulder - l_shoulder), a difference of two nearly opposite
    vectors.  ``smooth_sigma`` > 0 (only for a ``(T, J, 3)`` motion) smooths the direction over frames with a
    Gaussian, as the pipeline does (sigma 20 frames) before computing the 6D rotations.
    """
    sk = get_skeleton(skeleton)
    r_hip, l_hip, r_sdr, l_sdr = sk.face_joints
    hips = joints[..., r_hip, :] - joints[..., l_hip, :]
    if ik_order:
        hips = -hips
    across = _normalize(hips + joints[..., r_sdr, :] - joints[..., l_sdr, :])
    forward = np.cross(np.broadcast_to(UP, across.shape), across)  # (..., 3), y = 0
    if smooth_sigma > 0:
        forward = gaussian_filter1d(forward, smooth_sigma, axis=0, mode="nearest")
    return _normalize(forward)


def chain_inverse_kinematics(joints: np.ndarray, skeleton: str | Skeleton = "t2m", *,
                             smooth_forward: bool = False) -> np.ndarray:
    """The naive IK of HumanML3D: joint positions ``(T, J, 3)`` -> chain-local quaternions ``(T, J, 4)``.

    Index 0 holds the root (heading) rotation: the yaw turning the facing direction onto +Z.  Index ``j`` > 0
    holds the rotation of the bone that *ends* at ``j``, relative to the rotation accumulated along its
    chain, such that the accumulated rotation maps the raw direction ``raw_offsets[j]`` onto the observed
    bone direction (shortest arc, no twist).  Quirks kept for benchmark compatibility:

    * the facing direction uses the swapped face-joint order (:func:`forward_direction` ``ik_order=True``);
    * the first frame's root rotation is replaced by the identity;
    * every chain, the arm chains that start at the spine (joint 9 / joint 3) included, starts accumulating
      from the *root* rotation, not from the rotation of the joint the chain hangs from.

    ``smooth_forward`` smooths the facing direction over time (sigma 20 frames), as the pipeline does when it
    computes the 6D rotation features (not when it retargets).
    """
    sk = get_skeleton(skeleton)
    joints = np.asarray(joints, dtype=np.float64)
    forward = forward_direction(joints, sk, ik_order=True, smooth_sigma=20.0 if smooth_forward else 0.0)
    root = qbetween(forward, np.broadcast_to(FORWARD, forward.shape))  # (T, 4)
    root[0] = (1.0, 0.0, 0.0, 0.0)
    quats = np.zeros(joints.shape[:-1] + (4,))
    quats[:, 0] = root
    for chain in sk.kinematic_chain:
        acc = root  # quirk: the root rotation, whatever joint the chain starts from
        for parent, child in zip(chain[:-1], chain[1:]):
            u = np.broadcast_to(sk.raw_offsets[child], (len(joints), 3))
            v = _normalize(joints[:, child] - joints[:, parent])
            arc = qbetween(u, v)  # global rotation of this bone: raw direction -> observed direction
            local = qmul(qinv(acc), arc)
            quats[:, child] = local
            acc = qmul(acc, local)
    return quats


def chain_forward_kinematics(quats: np.ndarray, root_positions: np.ndarray, skeleton: str | Skeleton = "t2m",
                             offsets: np.ndarray | None = None) -> np.ndarray:
    """Inverse of :func:`chain_inverse_kinematics`: chain-local quaternions ``(..., J, 4)`` -> ``(..., J, 3)``.

    Each chain starts from the root rotation (the same quirk), and joint ``j`` sits at its chain parent plus
    the accumulated rotation applied to ``offsets[j]`` (default: the template bones).
    """
    sk = get_skeleton(skeleton)
    offsets = sk.template_offsets if offsets is None else np.asarray(offsets, dtype=np.float64)
    positions = np.zeros(quats.shape[:-1] + (3,))
    positions[..., 0, :] = root_positions
    for chain in sk.kinematic_chain:
        acc = quats[..., 0, :]
        for parent, child in zip(chain[:-1], chain[1:]):
            acc = qmul(acc, quats[..., child, :])
            bone = np.broadcast_to(offsets[child], acc.shape[:-1] + (3,))
            positions[..., child, :] = positions[..., parent, :] + qrot(acc, bone)
    return positions


def retarget(joints: np.ndarray, skeleton: str | Skeleton = "t2m", template: np.ndarray | None = None) -> np.ndarray:
    """Put a motion ``(T, J, 3)`` on the template skeleton, as the pipeline's ``uniform_skeleton`` does.

    IK on the source (bone lengths of its first frame), FK with the template bone offsets, and the root
    trajectory scaled by template leg length / source leg length.  Every bone keeps its direction and takes
    the template's length.  ``template``: ``(J, 3)`` bone offsets, e.g. ``bone_offsets(frame)`` of a real
    retargeted motion (default: the skeleton's template).
    """
    sk = get_skeleton(skeleton)
    joints = np.asarray(joints, dtype=np.float64)
    target = sk.template_offsets if template is None else np.asarray(template, dtype=np.float64)
    if target.shape != (sk.n_joints, 3):
        raise InputError(f"template offsets have shape {target.shape}; expected ({sk.n_joints}, 3)")
    source = bone_offsets(joints[0], sk)
    leg = list(sk.leg_joints)
    # offsets are length x axis-aligned unit direction, so max |component| is the bone length
    src_leg = np.abs(source[leg]).max(axis=1).sum()
    tgt_leg = np.abs(target[leg]).max(axis=1).sum()
    if src_leg <= 0:
        raise InputError("the source skeleton has zero leg length in its first frame; cannot retarget")
    quats = chain_inverse_kinematics(joints, sk, smooth_forward=False)
    return chain_forward_kinematics(quats, joints[:, 0] * (tgt_leg / src_leg), sk, target)
