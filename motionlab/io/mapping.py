"""Joint mappings: which joints of a BVH skeleton stand for the 22 HumanML3D (``t2m``) joints.

A mapping is a small JSON file (``motionlab/io/mappings/*.json`` ships ``t2m``, ``smpl``, ``cmu`` and
``mixamo``; ``mappings/README.md`` says how to write one): ``{"name", "units", "joints": {t2m joint:
BVH joint name or list of names to average}}``.  :func:`load_mapping` reads and checks one,
:func:`detect_mapping` finds the shipped mapping that fits a file's joint names, :func:`apply_mapping`
turns BVH joint positions into t2m joints.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionlab.data.skeleton import T2M
from motionlab.errors import InputError

MAPPINGS_DIR = Path(__file__).with_name("mappings")
SHIPPED = ("t2m", "smpl", "mixamo", "cmu")  # the order detection tries them in
METRES_PER_UNIT = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "cmu": 0.0254 / 0.45}


@dataclass(frozen=True)
class Mapping:
    """A checked mapping: for each t2m joint (in skeleton order) the BVH joint names averaged for it."""

    name: str
    sources: tuple[tuple[str, ...], ...]  # (22,) tuples of BVH joint names
    units: str | None = None  # None: detect
    path: Path | None = None

    @property
    def bvh_names(self) -> set[str]:
        return {n for names in self.sources for n in names}


def _strip(name: str) -> str:
    return name.rsplit(":", 1)[-1]  # "mixamorig:Hips" -> "Hips"


def load_mapping(mapping: str | Path | Mapping) -> Mapping:
    """A shipped mapping by name (``"cmu"``) or a mapping file by path, checked (else an :class:`InputError`)."""
    if isinstance(mapping, Mapping):
        return mapping
    path = Path(mapping).expanduser()
    if str(mapping) in SHIPPED or (MAPPINGS_DIR / f"{mapping}.json").is_file():
        path = MAPPINGS_DIR / f"{mapping}.json"
    elif not path.is_file():
        raise InputError(f"mapping {str(mapping)!r}: neither a shipped mapping ({', '.join(SHIPPED)}) nor a file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a readable JSON mapping ({err})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("joints"), dict):
        raise InputError(f"{path}: a mapping needs a \"joints\" object (t2m joint -> BVH joint name)")
    joints = doc["joints"]
    unknown = sorted(set(joints) - set(T2M.joint_names))
    if unknown:
        raise InputError(f"{path}: \"joints\" has keys that are not t2m joints: {', '.join(unknown)} "
                         f"(expected: {', '.join(T2M.joint_names)})")
    missing = [n for n in T2M.joint_names if n not in joints]
    if missing:
        raise InputError(f"{path}: \"joints\" lacks {len(missing)} of the 22 t2m joints: {', '.join(missing)}")
    sources = []
    for joint in T2M.joint_names:
        value = joints[joint]
        names = (value,) if isinstance(value, str) else tuple(value) if isinstance(value, list) else ()
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise InputError(f"{path}: joints.{joint} is {value!r}; expected a BVH joint name or a list of names")
        sources.append(names)
    units = doc.get("units")
    if units is not None and units not in METRES_PER_UNIT:
        raise InputError(f"{path}: units {units!r}; expected null (detect) or one of {', '.join(METRES_PER_UNIT)}")
    return Mapping(str(doc.get("name") or path.stem), tuple(sources), units, path)


def _resolve(names: tuple[str, ...], wanted: str) -> int | None:
    """Index of ``wanted`` among a file's joint names: exact, then without namespace, then ignoring case."""
    for key in (lambda n: n, _strip, lambda n: _strip(n).lower()):
        matches = [i for i, n in enumerate(names) if key(n) == key(wanted)]
        if len(matches) == 1:
            return matches[0]
    return None


def missing_joints(mapping: Mapping, names: tuple[str, ...]) -> list[str]:
    """The BVH joint names ``mapping`` needs that a file with joints ``names`` lacks."""
    return sorted(n for n in mapping.bvh_names if _resolve(names, n) is None)


def detect_mapping(names: tuple[str, ...]) -> Mapping | None:
    """The first shipped mapping whose joints are all among ``names`` (None when none fits)."""
    for name in SHIPPED:
        mapping = load_mapping(name)
        if not missing_joints(mapping, names):
            return mapping
    return None


def no_mapping_message(names: tuple[str, ...]) -> str:
    """Why no shipped mapping fits, and how to write one (for the error of an unknown skeleton)."""
    closest = min(SHIPPED, key=lambda m: len(missing_joints(load_mapping(m), names)))
    lacks = missing_joints(load_mapping(closest), names)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return (f"unknown skeleton: its {len(names)} joints ({shown}) fit none of the shipped mappings "
            f"({', '.join(SHIPPED)}; the closest, {closest}, lacks {', '.join(lacks[:6])}"
            f"{', ...' if len(lacks) > 6 else ''}). Write a mapping file (see {MAPPINGS_DIR / 'README.md'}) "
            "and pass it with --mapping FILE.json")


def apply_mapping(positions: np.ndarray, names: tuple[str, ...], mapping: Mapping, what: str = "BVH") -> np.ndarray:
    """t2m joints ``(T, 22, 3)`` from BVH joint positions ``(T, Jb, 3)`` named ``names``."""
    lacking = missing_joints(mapping, names)
    if lacking:
        hints = []
        for n in lacking[:4]:
            close = difflib.get_close_matches(n, names, n=1)
            hints.append(f"{n}" + (f" (did you mean {close[0]}?)" if close else ""))
        raise InputError(f"{what}: mapping {mapping.name!r} needs joints the file lacks: {', '.join(hints)}"
                         f"{' ...' if len(lacking) > 4 else ''}")
    out = np.stack([positions[:, [_resolve(names, n) for n in src]].mean(axis=1) for src in mapping.sources], axis=1)
    bones = np.linalg.norm(out[:, 1:] - out[:, list(T2M.parents[1:])], axis=-1)  # (T, 21)
    if (bones < 1e-9).any():
        frame, bone = (int(k[0]) for k in np.nonzero(bones < 1e-9))
        child = T2M.joint_names[bone + 1]
        parent = T2M.joint_names[T2M.parents[bone + 1]]
        raise InputError(f"{what}: mapping {mapping.name!r} puts {parent} and {child} at the same point (frame "
                         f"{frame}): a bone of length zero has no direction; map them to different BVH joints")
    return out  # (T, 22, 3)
