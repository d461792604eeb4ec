"""One entry point for exports: a motion (features or joints, an array or a ``.npy`` file) -> BVH or glTF."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionlab.data.features import features_to_joints
from motionlab.data.skeleton import Skeleton
from motionlab.errors import InputError
from motionlab.io.motion_file import motion_skeleton, read_motion

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
    arr, what = read_motion(motion, what)
    sk = motion_skeleton(arr, skeleton, what)
    if arr.ndim == 2:  # features
        return np.asarray(features_to_joints(arr.astype(np.float64), sk)), sk
    return arr.astype(np.float64), sk


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
