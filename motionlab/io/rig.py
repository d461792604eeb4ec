"""A rig for a motion: rest offsets and per-joint rotations solved from joint positions.

BVH and glTF store a skeleton as *rest offsets* (each joint's position in its parent's frame, rest rotations
being the identity) plus, per frame, a *local rotation* for every joint and the root position.  Our motions
are joint positions, so exporting them needs an inverse kinematics.  This one is analytic and exact on any
motion whose skeleton is rigid:

* **Rest offsets** (:func:`fit_rig`).  Directions are the template's axis-aligned rest directions
  (``Skeleton.raw_offsets``), with the arms turned sideways and the head up so that the rest pose is the
  T-pose that Blender, Maya or Unity retarget from.  Lengths are the motion's mean bone lengths (for
  HumanML3D motions these are the template's, to 1e-6 m).  A joint with several children (the pelvis and
  the upper spine) cannot bend between them, so the angles between its child bones are measured on the
  motion itself: every frame's branch is rotated onto the template branch (Kabsch) and the aligned branches
  are averaged.
* **Rotations** (:func:`solve_rotations`).  Walking from the root, a joint with one child takes the
  shortest-arc rotation that points its child bone at the observed child (measured from where the joint
  itself landed, so errors do not accumulate down a chain); its twist relative to the parent is zero, which
  positions cannot tell anyway.  A joint with several children takes the rotation that best fits all of
  them (Kabsch: exact when the branch is rigid).  Leaves keep their parent's rotation.

On rigid input (HumanML3D data, MotionLab-Synth) forward kinematics of the result reproduces the joints to
float precision.  Generated motions are recovered from the RIC slice of the features, which does not keep
bone lengths constant, so a rig (constant bones) can only approximate them: :func:`rig_error` says by how
much, and the exporters report it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from motionlab.data.quaternion import qinv, qmul, qnormalize, qrot
from motionlab.data.skeleton import Skeleton, check_joints, forward_kinematics, get_skeleton
from motionlab.errors import InputError

_X, _Y = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])

# T-pose overrides of the template's rest directions.  The template hangs the arms down and (t2m) points the
# head bone forward: fine for the features' IK, but DCC tools expect arms out sideways and the head up.
_TPOSE = {
    "t2m": {15: _Y, 16: _X, 18: _X, 20: _X, 17: -_X, 19: -_X, 21: -_X},
    "kit": {6: _X, 7: _X, 9: -_X, 10: -_X},
}


@dataclass(frozen=True)
class Rig:
    """A skeleton ready for BVH/glTF: rest offsets ``(J, 3)`` in the skeleton's units, rest rotations identity.

    ``offsets[j]`` is joint j's position in its parent's frame (root: zeros); ``end_sites[j]`` is the
    end-site offset of a leaf joint j (zeros for other joints), only drawn by viewers.
    """

    skeleton: Skeleton
    offsets: np.ndarray  # (J, 3)
    end_sites: np.ndarray  # (J, 3)

    @property
    def names(self) -> tuple[str, ...]:
        return self.skeleton.joint_names

    @property
    def parents(self) -> tuple[int, ...]:
        return self.skeleton.parents

    @property
    def children(self) -> list[list[int]]:
        """Children of every joint, in index order."""
        kids: list[list[int]] = [[] for _ in self.parents]
        for child, parent in enumerate(self.parents):
            if parent >= 0:
                kids[parent].append(child)
        return kids

    def rest_positions(self) -> np.ndarray:
        """(J, 3) joint positions of the rest pose, root at the origin."""
        pos = np.zeros_like(self.offsets)
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + self.offsets[j]
        return pos


def rest_directions(skeleton: str | Skeleton = "t2m") -> np.ndarray:
    """(J, 3) unit rest direction of the bone ending at each joint: the template's, arms and head T-posed."""
    sk = get_skeleton(skeleton)
    dirs = sk.raw_offsets.copy()
    for joint, direction in _TPOSE.get(sk.name, {}).items():
        dirs[joint] = direction
    return dirs


# -------------------------------------------------------------------------------------- rotations
def kabsch(rest: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(T, 4)`` of the rotations taking ``rest`` ``(C, 3)`` closest onto ``observed`` ``(T, C, 3)``."""
    cov = np.einsum("ci,tcj->tij", rest, observed)  # (T, 3, 3) sum_c rest_c observed_c^T
    u, _, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(np.einsum("tji,tkj->tik", vt, u)))  # no reflections
    fix = np.ones(u.shape[:-2] + (3,))
    fix[..., 2] = d
    mats = np.einsum("tji,tj,tkj->tik", vt, fix, u)  # (T, 3, 3) V diag(1, 1, d) U^T
    xyzw = Rotation.from_matrix(mats).as_quat()
    return xyzw[..., [3, 0, 1, 2]]  # (w, x, y, z) like motionlab.data.quaternion


def shortest_arc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` turning directions a onto b ``(..., 3)``, half-turns included.

    (:func:`motionlab.data.quaternion.qbetween` returns a zero quaternion for opposite vectors.)
    """
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    w = 1.0 + (a * b).sum(-1, keepdims=True)  # (..., 1)
    q = np.concatenate([w, np.cross(a, b)], axis=-1)
    opposite = w[..., 0] < 1e-9
    if opposite.any():  # turn half-way round any axis perpendicular to a
        helper = np.where(np.abs(a[opposite, :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        axis = np.cross(a[opposite], helper)
        q[opposite] = np.concatenate([np.zeros((len(axis), 1)), axis], axis=-1)
    return qnormalize(q)


def make_continuous(quats: np.ndarray) -> np.ndarray:
    """Flip signs along time (axis 0) so that consecutive quaternions ``(T, ..., 4)`` have dot >= 0."""
    out = quats.copy()
    dots = (out[1:] * out[:-1]).sum(-1)  # (T-1, ...)
    flips = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
    out[1:] *= flips[..., None]
    return out


# ------------------------------------------------------------------------------------------ fit / IK
def fit_rig(joints: np.ndarray, skeleton: str | Skeleton = "t2m") -> Rig:
    """Rest offsets for a motion ``(T, J, 3)`` (see the module docstring): template directions, measured lengths."""
    sk = get_skeleton(skeleton)
    pos = check_joints(joints, sk, what="motion")
    parents = np.array(sk.parents)
    dirs = rest_directions(sk)
    bones = pos[:, 1:] - pos[:, parents[1:]]  # (T, J-1, 3)
    lengths = np.concatenate([[0.0], np.linalg.norm(bones, axis=-1).mean(0)])  # (J,)
    if (lengths[1:] <= 0).any():
        zero = sk.joint_names[1 + int(np.argmin(lengths[1:]))]
        raise InputError(f"motion: the bone ending at {zero!r} has zero length in every frame; cannot build a rig")
    offsets = dirs * lengths[:, None]  # (J, 3)
    rig = Rig(sk, offsets, np.zeros_like(offsets))
    for joint, kids in enumerate(rig.children):
        if len(kids) > 1:  # a branch: measure the angles between its bones (Procrustes onto the template)
            observed = pos[:, kids] - pos[:, joint : joint + 1]  # (T, C, 3)
            turn = kabsch(offsets[kids], observed)  # (T, 4)
            aligned = qrot(np.broadcast_to(qinv(turn)[:, None], observed.shape[:-1] + (4,)), observed)
            offsets[kids] = aligned.mean(0)
    end_sites = np.zeros_like(offsets)
    for joint, kids in enumerate(rig.children):
        if not kids:  # viewers draw the last bone up to the end site: continue the leaf's bone by half
            end_sites[joint] = 0.5 * offsets[joint]
    return Rig(sk, offsets, end_sites)


def solve_rotations(joints: np.ndarray, rig: Rig) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations ``(T, J, 4)`` (w, x, y, z; relative to the parent) and root positions ``(T, 3)``.

    Forward kinematics with ``rig.offsets`` (:func:`rig_forward_kinematics`) gives the joints back exactly
    when their skeleton is rigid and matches the rig; otherwise it gives the closest pose the rig can take,
    one joint at a time from the root.
    """
    pos = check_joints(joints, rig.skeleton, what="motion")
    n_frames, n_joints = pos.shape[:2]
    glob = np.zeros((n_frames, n_joints, 4))  # global rotations
    glob[..., 0] = 1.0
    placed = np.zeros_like(pos)  # where each joint lands under the solved rotations
    placed[:, 0] = pos[:, 0]
    identity = glob[:, 0].copy()
    for joint, kids in enumerate(rig.children):  # parents precede children in both skeletons
        parent = rig.parents[joint]
        above = glob[:, parent] if parent >= 0 else identity  # (T, 4)
        if not kids:
            glob[:, joint] = above
            continue
        observed = pos[:, kids] - placed[:, joint : joint + 1]  # (T, C, 3)
        if len(kids) == 1:
            rest_now = qrot(above, np.broadcast_to(rig.offsets[kids[0]], (n_frames, 3)))
            glob[:, joint] = qmul(shortest_arc(rest_now, observed[:, 0]), above)
        else:
            glob[:, joint] = kabsch(rig.offsets[kids], observed)
        for kid in kids:
            placed[:, kid] = placed[:, joint] + qrot(glob[:, joint], np.broadcast_to(rig.offsets[kid], (n_frames, 3)))
    local = glob.copy()
    for joint, parent in enumerate(rig.parents):
        if parent >= 0:
            local[:, joint] = qmul(qinv(glob[:, parent]), glob[:, joint])
    return make_continuous(qnormalize(local)), pos[:, 0].copy()


def rig_forward_kinematics(local: np.ndarray, root: np.ndarray, rig: Rig) -> np.ndarray:
    """Joint positions ``(T, J, 3)`` of local rotations ``(T, J, 4)`` and root positions ``(T, 3)`` on ``rig``."""
    return forward_kinematics(local, root, rig.skeleton, offsets=rig.offsets)


def rig_error(joints: np.ndarray, local: np.ndarray, root: np.ndarray, rig: Rig) -> np.ndarray:
    """Per-frame, per-joint distance ``(T, J)`` between ``joints`` and the rig's pose (skeleton units)."""
    return np.linalg.norm(rig_forward_kinematics(local, root, rig) - joints, axis=-1)


def rotation_features_to_joints(features: np.ndarray, skeleton: str | Skeleton | None = "t2m") -> np.ndarray:
    """Joints ``(T, J, 3)`` from the *rotation* slice of features ``(T, D)``, for comparison with the RIC joints.

    The 6D rotations are HumanML3D's chain rotations (shortest arc, no twist, every chain accumulating from
    the root heading), so they are put back with :func:`~motionlab.data.skeleton.chain_forward_kinematics`
    on the template bones, from the root trajectory of the first four channels.  On the official sample the
    result matches the RIC joints to about 2e-6 m; on generated features the two slices are predicted
    separately and can disagree, which is why the exporters solve rotations from the RIC joints instead.
    """
    from motionlab.data.features import _skeleton_for, feature_slices, recover_root
    from motionlab.data.skeleton import chain_forward_kinematics

    feats = np.asarray(features, dtype=np.float64)
    sk = _skeleton_for(feats.shape[-1], skeleton)
    six = feats[:, feature_slices(sk).rot6d].reshape(len(feats), sk.n_joints - 1, 6)  # (T, J-1, 6)
    # 6D -> matrix (Gram-Schmidt on the two stored columns), as Zhou et al. (2019)
    c0 = six[..., :3] / np.linalg.norm(six[..., :3], axis=-1, keepdims=True)
    c1 = six[..., 3:] - (c0 * six[..., 3:]).sum(-1, keepdims=True) * c0
    c1 = c1 / np.linalg.norm(c1, axis=-1, keepdims=True)
    mats = np.stack([c0, c1, np.cross(c0, c1)], axis=-1)  # (T, J-1, 3, 3), columns c0 c1 c2
    quats = Rotation.from_matrix(mats.reshape(-1, 3, 3)).as_quat()[:, [3, 0, 1, 2]].reshape(*six.shape[:-1], 4)
    heading, root = recover_root(feats)  # (T, 4), (T, 3)
    return chain_forward_kinematics(np.concatenate([heading[:, None], quats], axis=1), root, sk)
