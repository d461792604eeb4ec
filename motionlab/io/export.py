"""One entry point for exports: a motion (features or joints, an array or a ``.npy`` file) -> BVH or glTF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionlab.data.features import features_to_joints
from motionlab.data.skeleton import Skeleton, get_skeleton, skeleton_for_dim
from motionlab.errors import InputError

FORMATS = {"bvh": ".bvh", "gltf": ".glb"}  # format -> default suffix (glTF: binary .glb)
SUFFIX_FORMATS = {".bvh": "bvh", ".glb": "gltf", ".gltf": "gltf"}


@dataclass(frozen=True)
class Exported:
    """What :func:`export_motion` wrote."""

    path: Path
    format: str
    skeleton: str
    frames: int
    fps: float
    max_error: float  # metres between the input joints and the file's skeleton (see motionlab.io.rig)
    bytes: int

    def summary(self) -> str:
        return (f"wrote {self.path} ({self.format}, {self.skeleton}, {self.frames} frames at {self.fps:g} fps, "
                f"{self.bytes / 1024:.0f} KiB); its skeleton reproduces the joints to {self.max_error * 1000:.3f} mm")


def motion_joints(motion: np.ndarray | str | Path, skeleton: str | Skeleton = "auto", what: str = "motion"
                  ) -> tuple[np.ndarray, Skeleton]:
    """Joint positions ``(T, J, 3)`` and the skeleton of features ``(T, 263|251)`` or joints ``(T, 22|21, 3)``.

    ``motion`` may be a path to a ``.npy`` file (read without pickles).  ``skeleton="auto"`` picks it from the
    feature width or the joint count.
    """
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
    auto = isinstance(skeleton, str) and skeleton == "auto"
    if arr.ndim == 2:  # features
        if auto and arr.shape[1] not in (263, 251):
            raise InputError(f"{what}: shape {arr.shape}; expected features (T, 263) (HumanML3D) or (T, 251) "
                             "(KIT-ML), or joints (T, 22, 3) / (T, 21, 3)")
        sk = skeleton_for_dim(arr.shape[1]) if auto else get_skeleton(skeleton)
        if arr.shape[1] != sk.feature_dim:
            raise InputError(f"{what}: features have {arr.shape[1]} dims; the {sk.name} skeleton needs {sk.feature_dim}")
        if not np.isfinite(arr).all():
            raise InputError(f"{what}: features contain NaN or infinite values")
        return np.asarray(features_to_joints(arr.astype(np.float64), sk)), sk
    if arr.ndim == 3 and arr.shape[-1] == 3:  # joints
        if auto:
            matches = [sk for sk in (get_skeleton("t2m"), get_skeleton("kit")) if sk.n_joints == arr.shape[1]]
            if not matches:
                raise InputError(f"{what}: joints have shape {arr.shape}; expected (T, 22, 3) (t2m) or (T, 21, 3) (kit)")
            sk = matches[0]
        else:
            sk = get_skeleton(skeleton)
        return arr.astype(np.float64), sk
    raise InputError(f"{what}: shape {arr.shape}; expected features (T, 263) / (T, 251) or joints (T, 22, 3) / (T, 21, 3)")


def export_motion(motion: np.ndarray | str | Path, out: str | Path, *, format: str | None = None,
                  skeleton: str | Skeleton = "auto", fps: float | None = None, units: str = "m") -> Exported:
    """Write a motion as BVH or glTF (``format`` from ``out``'s suffix when None).

    Features are turned into joints through the RIC slice first (:func:`features_to_joints`).  ``fps``
    defaults to the skeleton's (20; KIT-ML 12.5); ``units`` (BVH only): m, cm or mm.
    """
    from motionlab.io.bvh import write_bvh
    from motionlab.io.gltf import write_gltf

    out = Path(out).expanduser()
    fmt = format or SUFFIX_FORMATS.get(out.suffix.lower())
    if fmt not in FORMATS:
        raise InputError(f"{out}: cannot tell the format; pass format 'bvh' or 'gltf' (or name the file "
                         f"{', '.join(SUFFIX_FORMATS)})")
    if out.suffix.lower() not in [s for s, f in SUFFIX_FORMATS.items() if f == fmt]:
        raise InputError(f"{out}: a {fmt} file name ends in "
                         f"{' or '.join(s for s, f in SUFFIX_FORMATS.items() if f == fmt)}")
    joints, sk = motion_joints(motion, skeleton)
    if fmt == "bvh":
        result = write_bvh(out, joints, sk, fps=fps, units=units)
    else:
        if units != "m":
            raise InputError(f"units {units!r}: glTF lengths are always metres")
        result = write_gltf(out, joints, sk, fps=fps)
    return Exported(result.path, fmt, sk.name, result.frames, result.fps, result.max_error,
                    result.path.stat().st_size)
