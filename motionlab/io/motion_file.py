"""Motion files the commands read: a ``.npy`` array of features ``(T, 263|251)`` or joints ``(T, 22|21, 3)``.

:func:`read_motion` loads and checks one (no pickles, numbers only, finite); :func:`motion_features` returns
features either way, converting joints with the dataset's feature pipeline (``data.features``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionlab.data.skeleton import Skeleton, get_skeleton, skeleton_for_dim
from motionlab.errors import InputError

SHAPES = "features (T, 263) / (T, 251) or joints (T, 22, 3) / (T, 21, 3)"


def read_motion(motion: np.ndarray | str | Path, what: str = "motion") -> tuple[np.ndarray, str]:
    """The array of ``motion`` (a ``.npy`` path or an array) and the name errors use for it."""
    if isinstance(motion, (str, Path)):
        path = Path(motion).expanduser()
        what = str(path)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        try:
            motion = np.load(path, allow_pickle=False)
        except Exception as err:
            raise InputError(f"{path}: cannot be read as a numeric .npy array ({err})") from None
    arr = np.asarray(motion)
    if arr.dtype.kind not in "fiu":
        raise InputError(f"{what}: holds {arr.dtype} values; expected numbers")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise InputError(f"{what}: shape {arr.shape}; expected {SHAPES}")
    if arr.size == 0:
        raise InputError(f"{what}: an empty array of shape {arr.shape}; expected at least one frame")
    if not np.isfinite(arr).all():
        raise InputError(f"{what}: contains NaN or infinite values")
    return arr, what


def motion_skeleton(arr: np.ndarray, skeleton: str | Skeleton, what: str) -> Skeleton:
    """The skeleton of features or joints: the given one (checked against the shape) or, for ``"auto"``,
    the one whose feature width or joint count matches."""
    auto = isinstance(skeleton, str) and skeleton == "auto"
    if arr.ndim == 2:  # features
        if auto and arr.shape[1] not in (263, 251):
            raise InputError(f"{what}: shape {arr.shape}; expected {SHAPES}")
        sk = skeleton_for_dim(arr.shape[1]) if auto else get_skeleton(skeleton)
        if arr.shape[1] != sk.feature_dim:
            raise InputError(f"{what}: features have {arr.shape[1]} dims; the {sk.name} skeleton needs {sk.feature_dim}")
        return sk
    if not auto:
        return get_skeleton(skeleton)
    matches = [sk for sk in (get_skeleton("t2m"), get_skeleton("kit")) if sk.n_joints == arr.shape[1]]
    if not matches:
        raise InputError(f"{what}: joints have shape {arr.shape}; expected (T, 22, 3) (t2m) or (T, 21, 3) (kit)")
    return matches[0]


def motion_features(motion: np.ndarray | str | Path, skeleton: str | Skeleton = "auto", what: str = "motion"
                    ) -> tuple[np.ndarray, Skeleton]:
    """Features ``(T, D)`` float32 of a features or joints motion; joints ``(T, J, 3)`` become ``T - 1``
    feature frames (velocities need two frames), exactly as the datasets are built."""
    from motionlab.data.features import joints_to_features

    arr, what = read_motion(motion, what)
    sk = motion_skeleton(arr, skeleton, what)
    if arr.ndim == 2:
        return arr.astype(np.float32), sk
    if arr.shape[0] < 2:
        raise InputError(f"{what}: {arr.shape[0]} joint frame(s); features need at least 2")
    return joints_to_features(arr.astype(np.float64), sk), sk
