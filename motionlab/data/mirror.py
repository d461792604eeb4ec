"""Left/right mirroring of joints, features and captions (how HumanML3D doubles its data: ``M000123``).

Mirroring reflects x (x -> -x) and swaps the left and right joints.  On features it acts slice by slice:
the reflection conjugates every rotation, ``R -> M R M`` with ``M = diag(-1, 1, 1)``, which for a unit
quaternion (w, x, y, z) is (w, x, -y, -z) and for a 6D rotation (the first two matrix columns c0, c1) is
(c0x, -c0y, -c0z, -c1x, c1y, c1z).  This works because the raw offset directions of both skeletons are
mirror-symmetric (``M raw[j] = raw[mirror(j)]``).  So ``mirror_features(joints_to_features(j))`` equals
``joints_to_features(mirror_joints(j))`` when no retargeting happens; with retargeting they differ by the
small left/right asymmetry of the template bones.
"""

from __future__ import annotations

import re

import numpy as np
import torch

from motionlab.data.features import feature_slices
from motionlab.data.skeleton import Skeleton, get_skeleton
from motionlab.errors import InputError

Array = np.ndarray | torch.Tensor

# word pairs swapped in captions (each maps to the other, so mirroring twice is the identity)
CAPTION_SWAPS = {
    "left": "right", "right": "left",
    "clockwise": "counterclockwise", "counterclockwise": "clockwise",
    "leftward": "rightward", "rightward": "leftward",
    "leftwards": "rightwards", "rightwards": "leftwards",
}
_WORD = re.compile(r"\b(" + "|".join(sorted(CAPTION_SWAPS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[0].isupper():
        return word[0].upper() + word[1:]
    return word


def mirror_caption(text: str) -> str:
    """'left' <-> 'right' and 'clockwise' <-> 'counterclockwise' (and -ward(s)), keeping capitalisation.

    Whole words only ("leftover" stays).  Like HumanML3D, it does not know that "right away" means
    "immediately": every "right" becomes "left".
    """
    return _WORD.sub(lambda m: _match_case(m.group(0), CAPTION_SWAPS[m.group(0).lower()]), text)


def mirror_tokens(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Mirror the words of ``word/POS`` tokens (``left/ADJ`` -> ``right/ADJ``), keeping the tags."""
    out = []
    for token in tokens:
        word, _, pos = token.rpartition("/")
        out.append(f"{mirror_caption(word)}/{pos}" if word else token)
    return tuple(out)


def mirror_joints(joints: Array, skeleton: str | Skeleton = "t2m") -> Array:
    """Mirror positions ``(..., J, 3)``: negate x and swap left/right joints (numpy or torch)."""
    sk = get_skeleton(skeleton)
    if joints.shape[-2:] != (sk.n_joints, 3):
        raise InputError(f"joints have shape {tuple(joints.shape)}; expected (..., {sk.n_joints}, 3)")
    index = sk.mirror_index
    out = joints[..., index, :] * _sign(joints, [-1.0, 1.0, 1.0])
    return out


def _sign(like: Array, values: list[float]) -> Array:
    if isinstance(like, torch.Tensor):
        return like.new_tensor(values)
    return np.asarray(values, dtype=like.dtype if like.dtype.kind == "f" else np.float64)


def mirror_features(features: Array, skeleton: str | Skeleton | None = "t2m") -> Array:
    """Mirror HumanML3D features ``(..., T, D)`` slice by slice (numpy or torch); an involution."""
    from motionlab.data.features import _skeleton_for

    if not isinstance(features, torch.Tensor):
        features = np.asarray(features)
    sk = _skeleton_for(features.shape[-1], skeleton)
    lay = feature_slices(sk)
    j = sk.n_joints
    index = sk.mirror_index
    rest = index[1:] - 1  # joints 1..J-1 (the root maps to itself)
    lead = features.shape[:-1]

    def joints_block(block: Array, n: int, width: int, order: np.ndarray, sign: list[float]) -> Array:
        per_joint = block.reshape(*lead, n, width)[..., order, :] * _sign(block, sign)
        return per_joint.reshape(*lead, n * width)

    parts = [
        -features[..., lay.root_rot_vel],  # yaw rate changes sign
        features[..., lay.root_lin_vel] * _sign(features, [-1.0, 1.0]),  # x velocity changes sign
        features[..., lay.root_y],
        joints_block(features[..., lay.ric], j - 1, 3, rest, [-1.0, 1.0, 1.0]),
        joints_block(features[..., lay.rot6d], j - 1, 6, rest, [1.0, -1.0, -1.0, -1.0, 1.0, 1.0]),
        joints_block(features[..., lay.local_vel], j, 3, index, [-1.0, 1.0, 1.0]),
        features[..., lay.contacts][..., [2, 3, 0, 1]],  # left foot <-> right foot
    ]
    if isinstance(features, torch.Tensor):
        return torch.cat(parts, dim=-1)
    return np.concatenate(parts, axis=-1)
