"""BVH files: write a motion on its t2m/KIT rig, read any BVH file, with clear errors for bad files.

The text format itself is read and written by upc-pymotion (:class:`pymotion.io.bvh.BVH`).  This module
adds what that library does not do: the rig and its rotations solved from joint positions
(:mod:`motionlab.io.rig`), Euler angles in an order chosen per joint so that gimbal lock stays away
(the middle axis is the bone's own axis, about which the solved rotations never twist), and a check of
every file before it is parsed, so that a file that is not BVH, a wrong frame time, a short or long frame
line or a NaN channel is reported with the file, the line and the channel.

Written files: joint names are the skeleton's (``pelvis``, ``left_hip``, ...), the root has six channels,
every other joint three, lengths are in metres (``units="cm"`` or ``"mm"`` for tools that expect those),
and the frame time is the skeleton's (20 fps for HumanML3D, 12.5 for KIT-ML).
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motionlab.data.skeleton import Skeleton, check_joints, get_skeleton
from motionlab.errors import DatasetError, InputError
from motionlab.io.rig import Rig, fit_rig, rig_error, solve_rotations

UNITS_PER_METRE = {"m": 1.0, "cm": 100.0, "mm": 1000.0}
_ROT = {"Xrotation": "x", "Yrotation": "y", "Zrotation": "z"}
_POS = ("Xposition", "Yposition", "Zposition")
# Euler order per bone axis: the middle axis is the bone's (zero twist, so never near +-90 degrees)
_ORDER_FOR_AXIS = {0: "zxy", 1: "zyx", 2: "yzx"}
_BRANCH_ORDER = "yzx"  # root and spine branches: heading (y) first, roll (z) in the middle, pitch last


class BvhError(DatasetError):
    """A BVH file is not BVH, or breaks the format: the message names the file, the line and the fault."""


# ---------------------------------------------------------------------------------------------- write
@dataclass(frozen=True)
class BvhExport:
    """What :func:`write_bvh` wrote, and how closely the file's skeleton reproduces the input joints."""

    path: Path
    frames: int
    fps: float
    units: str
    rig: Rig
    max_error: float  # metres: largest joint distance between the input and the BVH's forward kinematics
    mean_error: float  # metres


def euler_orders(rig: Rig) -> list[str]:
    """The rotation order of every joint of ``rig`` (lower-case axis letters, e.g. ``"zyx"``)."""
    orders = []
    for kids in rig.children:
        if len(kids) == 1:
            orders.append(_ORDER_FOR_AXIS[int(np.argmax(np.abs(rig.offsets[kids[0]])))])
        else:
            orders.append(_BRANCH_ORDER)
    return orders


def _to_euler_degrees(local: np.ndarray, orders: list[str]) -> np.ndarray:
    """Intrinsic Euler angles ``(T, J, 3)`` in each joint's order, unwrapped over time (no 360-degree jumps)."""
    out = np.zeros(local.shape[:-1] + (3,))
    for j, order in enumerate(orders):
        with warnings.catch_warnings():  # near gimbal lock scipy warns, yet the angles still give the rotation
            warnings.simplefilter("ignore", UserWarning)
            angles = Rotation.from_quat(local[:, j, [1, 2, 3, 0]]).as_euler(order.upper(), degrees=True)
        out[:, j] = np.unwrap(angles, period=360.0, axis=0)
    return out


def write_bvh(path: str | Path, joints: np.ndarray, skeleton: str | Skeleton = "t2m", *, fps: float | None = None,
              units: str = "m", rig: Rig | None = None) -> BvhExport:
    """Write joint positions ``(T, J, 3)`` (skeleton units: metres for t2m, millimetres for KIT) as BVH.

    The rig (rest offsets) is fitted to the motion unless given; rotations are solved from the positions
    (:mod:`motionlab.io.rig`).  ``fps`` defaults to the skeleton's.  Returns a :class:`BvhExport` with the
    largest distance between the input joints and the file's own forward kinematics.
    """
    from pymotion.io.bvh import BVH

    sk = get_skeleton(skeleton)
    pos = check_joints(joints, sk, what="motion", min_frames=1)
    if units not in UNITS_PER_METRE:
        raise InputError(f"units {units!r}: expected one of {', '.join(UNITS_PER_METRE)}")
    rate = float(fps or sk.fps)
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"fps {fps!r}: expected a positive frame rate")
    rig = rig or fit_rig(pos, sk)
    local, root = solve_rotations(pos, rig)  # (T, J, 4), (T, 3)
    error = rig_error(pos, local, root, rig) / sk.units_per_metre  # (T, J) metres
    scale = UNITS_PER_METRE[units] / sk.units_per_metre  # skeleton units -> file units
    orders = euler_orders(rig)
    n_frames, n_joints = local.shape[:2]
    positions = np.broadcast_to(rig.offsets * scale, (n_frames, n_joints, 3)).copy()
    positions[:, 0] = root * scale
    leaves = [j for j, kids in enumerate(rig.children) if not kids]
    bvh = BVH()
    bvh.data = {
        "filename": Path(path).stem,
        "names": np.array(rig.names),
        "offsets": rig.offsets * scale,
        "end_sites": rig.end_sites[leaves] * scale,
        "end_sites_parents": np.array(leaves),
        "parents": np.array([0] + list(rig.parents[1:])),  # pymotion marks the root as its own parent
        "rot_order": np.array([list(o) for o in orders]),
        "channels": np.array([6] + [3] * (n_joints - 1)),
        "positions": positions,
        "rotations": _to_euler_degrees(local, orders),
        "frame_time": 1.0 / rate,
    }
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    bvh.save(str(out))
    return BvhExport(out, n_frames, rate, units, rig, float(error.max()), float(error.mean()))


# ----------------------------------------------------------------------------------------------- read
@dataclass(frozen=True)
class BvhMotion:
    """A parsed BVH file: hierarchy, local rotations and translations, frame time (lengths in file units)."""

    path: Path
    names: tuple[str, ...]
    parents: tuple[int, ...]  # root: -1; parents precede children
    offsets: np.ndarray  # (J, 3) rest offsets
    rotations: np.ndarray  # (T, J, 4) local rotations (w, x, y, z)
    translations: np.ndarray  # (T, J, 3) local translations: offsets, or position channels (root: absolute)
    frame_time: float  # seconds

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def n_frames(self) -> int:
        return self.rotations.shape[0]

    def global_positions(self) -> np.ndarray:
        """(T, J, 3) joint positions by forward kinematics (upc-pymotion's ``fk``), in file units."""
        from pymotion.ops.skeleton import fk

        parents = np.array([0] + list(self.parents[1:]))
        positions, _ = fk(self.rotations, self.translations[:, 0], self.translations, parents)
        return positions


@dataclass
class _Hierarchy:
    names: list[str]
    channels: list[list[str]]


def _fail(path: Path, problem: str) -> BvhError:
    return BvhError(f"{path}: {problem}")


def _scan_hierarchy(path: Path, lines: list[str]) -> _Hierarchy:
    """Joint names and channel names, in file order, with the layouts pymotion reads (else a BvhError)."""
    names: list[str] = []
    channels: list[list[str]] = []
    roots = 0
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words:
            continue
        if words[0] in ("ROOT", "JOINT"):
            if len(words) != 2:
                raise _fail(path, f"line {number}: {words[0]} needs one joint name, got {line.strip()!r}")
            roots += words[0] == "ROOT"
            if words[1] in names:
                raise _fail(path, f"line {number}: joint name {words[1]!r} appears twice")
            names.append(words[1])
            channels.append([])
        elif words[0] == "CHANNELS":
            if not names:
                raise _fail(path, f"line {number}: CHANNELS before any joint")
            try:
                count = int(words[1])
            except (IndexError, ValueError):
                raise _fail(path, f"line {number}: CHANNELS needs a count, got {line.strip()!r}") from None
            kinds = words[2:]
            if count != len(kinds):
                raise _fail(path, f"line {number}: CHANNELS says {count} but names {len(kinds)} channels")
            rot = [k for k in kinds if k in _ROT]
            pos = [k for k in kinds if k in _POS]
            if len(rot) + len(pos) != count or len(rot) != 3 or len(pos) not in (0, 3) or kinds[: len(pos)] != pos:
                raise _fail(path, f"line {number}: joint {names[-1]!r} has channels {' '.join(kinds)}; supported: "
                                  "three rotations, optionally after Xposition Yposition Zposition")
            channels[-1] = kinds
    if roots != 1:
        raise _fail(path, f"the hierarchy has {roots} ROOT joints; expected exactly one")
    for name, kinds in zip(names, channels):
        if not kinds:
            raise _fail(path, f"joint {name!r} has no CHANNELS line")
    return _Hierarchy(names, channels)


def check_bvh_text(path: Path, text: str) -> tuple[_Hierarchy, np.ndarray, float]:
    """Check a BVH file's text; returns its hierarchy, the channel values ``(T, C)`` and the frame time.

    Raises :class:`BvhError` naming the file and the fault: not BVH at all, no MOTION section, a missing or
    impossible frame count or frame time, frame lines that do not match the declared channels or frame
    count, values that are not numbers, NaN or infinite channels.
    """
    lines = text.splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.split()[:1] != ["HIERARCHY"]:
        shown = first[:40] + ("..." if len(first) > 40 else "")
        raise _fail(path, f"not a BVH file: it starts with {shown!r}; a BVH file starts with HIERARCHY")
    motion_at = next((i for i, line in enumerate(lines) if line.strip() == "MOTION"), None)
    if motion_at is None:
        raise _fail(path, "no MOTION line: the file ends before its motion section")
    hierarchy = _scan_hierarchy(path, lines[:motion_at])
    header = [(i, line.strip()) for i, line in enumerate(lines[motion_at + 1:], motion_at + 1) if line.strip()]
    if len(header) < 2:
        raise _fail(path, "the MOTION section needs 'Frames: N' and 'Frame Time: SECONDS' lines")
    (frames_at, frames_line), (time_at, time_line) = header[0], header[1]
    match = re.fullmatch(r"Frames:\s*(\S+)", frames_line)
    if not match or not match.group(1).isdigit():
        raise _fail(path, f"line {frames_at + 1}: expected 'Frames: N' with a whole number, got {frames_line!r}")
    n_frames = int(match.group(1))
    match = re.fullmatch(r"Frame Time:\s*(\S+)", time_line)
    try:
        frame_time = float(match.group(1)) if match else float("nan")
    except ValueError:
        frame_time = float("nan")
    if not (math.isfinite(frame_time) and 0 < frame_time <= 1):
        raise _fail(path, f"line {time_at + 1}: wrong frame time {time_line!r}: expected seconds per frame, "
                          "more than 0 and at most 1 (e.g. 0.0083333 for 120 fps, 0.05 for 20 fps)")
    rows = [(i + 1, line) for i, line in enumerate(lines[time_at + 1:], time_at + 1) if line.strip()]
    if len(rows) != n_frames:
        raise _fail(path, f"declares {n_frames} frames (line {frames_at + 1}) but holds {len(rows)} frame lines")
    if n_frames < 1:
        raise _fail(path, "holds no frames")
    n_channels = sum(len(c) for c in hierarchy.channels)
    for number, line in rows:
        if len(line.split()) != n_channels:
            raise _fail(path, f"line {number}: {len(line.split())} values, but the hierarchy declares {n_channels} "
                              "channels per frame")
    try:
        values = np.array(" ".join(line for _, line in rows).split(), dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError:
        for number, line in rows:  # find the culprit for the message
            for word in line.split():
                try:
                    float(word)
                except ValueError:
                    raise _fail(path, f"line {number}: {word!r} is not a number") from None
        raise
    bad = ~np.isfinite(values)
    if bad.any():
        frame, column = (int(k[0]) for k in np.nonzero(bad))
        labels = [f"{n}.{c}" for n, kinds in zip(hierarchy.names, hierarchy.channels) for c in kinds]
        raise _fail(path, f"NaN or infinite values in {int(bad.sum())} channel value(s), first in channel "
                          f"{labels[column]} of frame {frame} (line {rows[frame][0]})")
    return hierarchy, values, frame_time


def read_bvh(path: str | Path) -> BvhMotion:
    """Read a BVH file (checked by :func:`check_bvh_text` first; any fault is a :class:`BvhError`)."""
    from pymotion.io.bvh import BVH

    path = Path(path).expanduser()
    if not path.is_file():
        raise BvhError(f"{path}: no such file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "not a BVH file: it is not text (a BVH file is plain text starting with HIERARCHY)") from None
    if "\x00" in text:
        raise _fail(path, "not a BVH file: it holds binary data")
    hierarchy, values, frame_time = check_bvh_text(path, text)
    lines = text.splitlines()
    motion_at = next(i for i, line in enumerate(lines) if line.strip() == "MOTION")
    bvh = BVH()
    try:  # pymotion parses the hierarchy; the frames, already checked and parsed above, are filled in below
        with tempfile.TemporaryDirectory() as tmp:
            skeleton_only = Path(tmp) / "hierarchy.bvh"
            skeleton_only.write_text("\n".join(lines[:motion_at] + ["MOTION", "Frames: 0", "Frame Time: 1"]) + "\n")
            bvh.load(str(skeleton_only))
    except Exception as err:  # the checks above should leave nothing for the parser to trip on
        raise _fail(path, f"cannot be parsed as BVH ({type(err).__name__}: {err})") from None
    if list(bvh.data["names"]) != hierarchy.names:
        raise _fail(path, "the hierarchy could not be read consistently (check its braces and End Site blocks)")
    offsets = np.asarray(bvh.data["offsets"], dtype=np.float64)  # (J, 3)
    n_frames, n_joints = len(values), len(hierarchy.names)
    translations = np.broadcast_to(offsets, (n_frames, n_joints, 3)).copy()
    eulers = np.zeros((n_frames, n_joints, 3))
    column = 0
    for j, kinds in enumerate(hierarchy.channels):
        for kind in kinds:
            if kind in _POS:
                translations[:, j, _POS.index(kind)] = values[:, column]
            column += 1
        rot_columns = [column - len(kinds) + k for k, kind in enumerate(kinds) if kind in _ROT]
        eulers[:, j] = values[:, rot_columns]
    bvh.data["positions"], bvh.data["rotations"], bvh.data["frame_time"] = translations, eulers, frame_time
    rotations, _, parents, _, _, _ = bvh.get_data()
    parents = tuple(-1 if j == 0 else int(p) for j, p in enumerate(parents))
    return BvhMotion(path, tuple(hierarchy.names), parents, offsets, np.asarray(rotations, dtype=np.float64),
                     translations, float(frame_time))
