"""BVH import: any mapped BVH skeleton -> the 22 HumanML3D joints (metres, y up, 20 fps) -> a dataset folder.

:func:`bvh_to_joints` reads one file (:func:`~motionlab.io.bvh.read_bvh`), runs its forward kinematics,
picks the t2m joints with a mapping (:mod:`motionlab.io.mapping`), converts the length unit to metres,
turns the up axis to +Y and resamples to 20 fps.  None of this is silent: each decision (the mapping
chosen, the unit and why, the up axis, the resampling) is issued as an :class:`ImportNotice` warning and
kept in ``ImportedBvh.notes``.  :func:`import_bvh_folder` does this for a folder and hands the joints to
the ``data convert`` path (:func:`~motionlab.data.commands.convert_joints_folder`), which retargets them
to the template skeleton, computes features and writes the HumanML3D layout.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motionlab.data.commands import convert_joints_folder, resample
from motionlab.data.skeleton import T2M, forward_direction
from motionlab.errors import DatasetError, InputError, MotionlabError
from motionlab.io.bvh import read_bvh
from motionlab.io.mapping import METRES_PER_UNIT, Mapping, apply_mapping, detect_mapping, load_mapping, no_mapping_message
from motionlab.io.rig import shortest_arc
from motionlab.data.quaternion import qrot

TEMPLATE_LEG = float(np.mean([T2M.bone_lengths[[4, 7]].sum(), T2M.bone_lengths[[5, 8]].sum()]))  # hip-knee-ankle, m
_UNIT_NAMES = {"m": "metres", "cm": "centimetres", "mm": "millimetres", "in": "inches", "cmu": "CMU units (1/0.45 inch)"}
UNIT_TOLERANCE = 1.6  # a detected scale this far (x or /) from every known unit is refused


class ImportNotice(UserWarning):
    """A decision the BVH importer took for you (unit, up axis, resampling, mapping): stated, never silent."""


@dataclass
class ImportedBvh:
    """One imported file: t2m joints ``(T, 22, 3)`` in metres, y up, at ``fps``, and what was decided."""

    path: Path
    joints: np.ndarray  # (T, 22, 3)
    fps: float
    source_fps: float
    source_frames: int
    mapping: str
    units: str
    notes: list[str] = field(default_factory=list)
    frames: int = 0  # len(joints) at import (the folder import drops the joints once they are written)

    def __post_init__(self):
        self.frames = self.frames or len(self.joints)


def leg_length(joints: np.ndarray) -> float:
    """Median hip-knee-ankle length of both legs of t2m joints ``(T, 22, 3)`` (their units)."""
    bones = [(1, 4), (4, 7), (2, 5), (5, 8)]
    lengths = [np.linalg.norm(joints[:, a] - joints[:, b], axis=-1) for a, b in bones]  # 4 x (T,)
    return float(np.median((lengths[0] + lengths[1] + lengths[2] + lengths[3]) / 2))


def detect_units(joints: np.ndarray) -> tuple[str, str]:
    """The unit of t2m joints in file units, from the leg length; returns (unit, reason)."""
    leg = leg_length(joints)
    if not (leg > 0 and math.isfinite(leg)):
        raise InputError("the legs have zero length; cannot tell the unit")
    scale = TEMPLATE_LEG / leg  # metres per file unit, if this were an average adult
    unit = min(METRES_PER_UNIT, key=lambda u: abs(math.log(METRES_PER_UNIT[u] / scale)))
    reason = (f"the legs are {leg:.4g} units long and an adult leg about {TEMPLATE_LEG:.2f} m, so 1 unit is "
              f"about {scale:.3g} m")
    if abs(math.log(METRES_PER_UNIT[unit] / scale)) > math.log(UNIT_TOLERANCE):
        raise InputError(f"cannot tell the length unit: {reason}, which is none of "
                         f"{', '.join(METRES_PER_UNIT)}; pass --units")
    return unit, reason


def up_axis_rotation(joints: np.ndarray) -> tuple[np.ndarray, str]:
    """The rotation (w, x, y, z) turning the body's up axis (pelvis -> neck, nearest axis) onto +Y, and its name."""
    up = (joints[:, 12] - joints[:, 0]).mean(0)  # (3,)
    axis = int(np.argmax(np.abs(up)))
    signed = np.zeros(3)
    signed[axis] = np.sign(up[axis]) or 1.0
    name = ("+" if signed[axis] > 0 else "-") + "XYZ"[axis]
    return shortest_arc(signed, np.array([0.0, 1.0, 0.0])), name


def feet_point_backwards(joints: np.ndarray) -> bool:
    """True when the toes point behind the facing that hips and shoulders give (left/right swapped or mirrored)."""
    facing = forward_direction(joints, T2M)  # (T, 3)
    toes = (joints[:, [10, 11]] - joints[:, [7, 8]]).mean(1)  # (T, 3)
    return float((facing * toes).sum(-1).mean()) < 0


def bvh_to_joints(path: str | Path, mapping: str | Path | Mapping | None = None, *, units: str = "auto",
                  fps: float = T2M.fps) -> ImportedBvh:
    """Read a BVH file as t2m joints ``(T, 22, 3)``: metres, y up, ``fps`` (20) frames per second.

    ``mapping``: a shipped mapping name, a mapping file, or None to detect one from the joint names (a file
    no shipped mapping fits is an error that lists its joints).  ``units``: ``"auto"`` (from the leg
    length; a mapping file may fix it) or one of m, cm, mm, in, cmu.  Every decision is issued as an
    :class:`ImportNotice` and listed in the result's ``notes``.
    """
    motion = read_bvh(path)
    where = str(motion.path)
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        warnings.warn(f"{motion.path.name}: {text}", ImportNotice, stacklevel=3)

    if mapping is None:
        chosen = detect_mapping(motion.names)
        if chosen is None:
            raise InputError(f"{where}: {no_mapping_message(motion.names)}")
        note(f"mapping {chosen.name!r} (detected from the joint names)")
    else:
        chosen = load_mapping(mapping)
    joints = apply_mapping(motion.global_positions(), motion.names, chosen, what=where)  # (T, 22, 3) file units

    if units == "auto" and chosen.units is None:
        unit, reason = detect_units(joints)
        note(f"units: {_UNIT_NAMES[unit]} ({reason})")
    else:
        unit = chosen.units if units == "auto" else units
        if unit not in METRES_PER_UNIT:
            raise InputError(f"units {unit!r}: expected auto or one of {', '.join(METRES_PER_UNIT)}")
        note(f"units: {_UNIT_NAMES[unit]} ({'given' if units != 'auto' else f'from mapping {chosen.name!r}'})")
    joints = joints * METRES_PER_UNIT[unit]

    turn, up = up_axis_rotation(joints)
    if up != "+Y":
        joints = qrot(np.broadcast_to(turn, joints.shape[:-1] + (4,)), joints)
        note(f"up axis: {up} in the file, turned to +Y")
    if feet_point_backwards(joints):
        note("the toes point backwards relative to the facing of hips and shoulders: left and right look "
             "swapped (check the mapping) or the file is mirrored")

    # frame times are written rounded (0.0083333 for 120 fps): use the whole rate they stand for
    source_fps = round(motion.fps) if abs(motion.fps - round(motion.fps)) < 1e-4 * motion.fps else motion.fps
    if not math.isclose(source_fps, fps, rel_tol=1e-6):
        before = len(joints)
        joints = resample(joints, source_fps, fps)
        note(f"resampled {source_fps:.4g} fps -> {fps:.4g} fps ({before} -> {len(joints)} frames, linear)")
    return ImportedBvh(motion.path, joints, fps, source_fps, motion.n_frames, chosen.name, unit, notes)


def _find_bvh_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise DatasetError(f"{source}: no such file or folder")
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() == ".bvh" and p.is_file())
    if not files:
        raise DatasetError(f"{source}: no .bvh files found (searched its subfolders too)")
    seen: dict[str, Path] = {}
    for p in files:
        if p.stem in seen:
            raise DatasetError(f"{p} and {seen[p.stem]}: two files named {p.stem}; motion names must be unique")
        seen[p.stem] = p
    return files


def import_bvh_folder(source: str | Path, out: str | Path, mapping: str | Path | Mapping | None = None, *,
                      texts: str | Path | None = None, units: str = "auto", caption: str | None = None,
                      seed: int = 0, mirror: bool = False, force: bool = False) -> dict:
    """Import every ``.bvh`` under ``source`` (a folder, searched recursively, or one file) into a dataset.

    Captions: ``NAME.txt`` beside each file or in ``texts`` (plain sentences or HumanML3D lines); ``caption``
    is used for motions without one.  A file that cannot be imported is skipped with its reason (counted
    in a :class:`~motionlab.data.folders.DatasetWarning` and in the result's ``"failed"``); if none can be,
    the first error is raised.  The joints then go through ``data convert`` (retarget to the template,
    features, splits with ``seed``, statistics; an existing dataset at ``out`` is replaced only with
    ``force``).  Returns convert's summary plus ``"imported"`` (one
    :class:`ImportedBvh` per file, joints dropped) and ``"failed"`` ({file: reason}).
    """
    from motionlab.data.folders import DatasetWarning

    src = Path(source).expanduser()
    files = _find_bvh_files(src)
    text_dir = Path(texts).expanduser() if texts is not None else None
    if text_dir is not None and not text_dir.is_dir():
        raise DatasetError(f"{text_dir}: texts folder does not exist")
    imported: list[ImportedBvh] = []
    failed: dict[str, str] = {}
    first_error: MotionlabError | None = None
    with tempfile.TemporaryDirectory(prefix="motionlab-bvh-") as tmp:
        stage = Path(tmp)
        for path in files:
            try:
                result = bvh_to_joints(path, mapping, units=units)
            except MotionlabError as err:
                failed[str(path)] = str(err)
                first_error = first_error or err
                continue
            np.save(stage / f"{path.stem}.npy", result.joints.astype(np.float32))
            caption_file = (text_dir or path.parent) / f"{path.stem}.txt"
            if caption_file.is_file():
                (stage / caption_file.name).write_text(caption_file.read_text(encoding="utf-8"), encoding="utf-8")
            elif caption:
                (stage / caption_file.name).write_text(caption.strip() + "\n", encoding="utf-8")
            result.joints = result.joints[:0]  # the dataset keeps them; do not hold every motion twice
            imported.append(result)
        if not imported:
            raise first_error  # type: ignore[misc]  # files is never empty, so something failed
        if failed:
            shown = "; ".join(f"{Path(k).name}: {v.split(': ', 1)[-1]}" for k, v in list(failed.items())[:3])
            warnings.warn(f"import-bvh: skipped {len(failed)} of {len(files)} file(s) ({shown})", DatasetWarning,
                          stacklevel=2)
        summary = convert_joints_folder(stage, out, skeleton="t2m", fps=T2M.fps, seed=seed, mirror=mirror,
                                         force=force)
    summary.update(imported=imported, failed=failed)
    return summary
