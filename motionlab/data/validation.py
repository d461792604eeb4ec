"""Whole-folder validation: every fault of a HumanML3D-layout dataset, each naming its file.

:func:`validate_folder` never stops at the first problem: it walks the layout, the statistics, every split
entry, feature, joint and caption file, and returns a :class:`ValidationReport` listing each problem
with its kind, file and message.  Errors make a folder unusable as is; warnings are things the loaders
skip (and count) or that look suspicious.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from motionlab.data.folders import (
    CAPTION_FPS, FEATURES_DIR, JOINTS_DIR, SPLITS, TEXTS_DIR, _load_npy, check_features, read_captions, read_text,
    span_past_end, span_past_end_message, stats_shape_message,
)
from motionlab.errors import DatasetError

if TYPE_CHECKING:
    from motionlab.data.folders import MotionFolder

# kinds of problem -> "error" or "warning"
KINDS = {
    "missing_folder": "error",  # new_joint_vecs/ or texts/ absent
    "missing_joints_folder": "warning",  # new_joints/ absent (only visualisation needs it)
    "missing_split_file": "error",  # train.txt / val.txt / test.txt absent
    "unreadable_split_file": "error",  # not UTF-8 text, or not readable
    "split_overlap": "error",  # one motion in two of train/val/test: leakage
    "empty_split": "error",
    "duplicate_entry": "warning",  # a name listed twice in one split
    "missing_features": "error",  # a split entry without new_joint_vecs/NAME.npy
    "unreadable_file": "error",  # not a numeric .npy
    "wrong_rank": "error",
    "wrong_width": "error",  # not 263 / 251 (or not the folder's width)
    "empty_motion": "error",
    "nan_frames": "warning",  # NaN / inf: skipped by the loaders
    "missing_text": "error",
    "malformed_caption": "error",  # wrong number of '#' fields, bad tokens, bad times, empty text ...
    "empty_caption": "error",
    "bad_time": "error",
    "span_past_end": "error",  # a sub-clip caption ends after the motion does
    "no_captions": "error",
    "missing_joints": "warning",
    "joints_shape": "error",
    "length_mismatch": "error",  # new_joints and new_joint_vecs disagree on the frame count
    "missing_stats": "error",
    "bad_stats": "error",
    "out_of_range": "warning",  # length outside [min, max): skipped by the loaders
}


@dataclass(frozen=True)
class Problem:
    """One fault: its kind (a key of :data:`KINDS`), the file concerned and a sentence about it."""

    kind: str
    path: str
    message: str

    @property
    def severity(self) -> str:
        return KINDS.get(self.kind, "error")

    def __str__(self) -> str:
        return f"[{self.severity}] {self.kind}: {self.message}"


@dataclass
class ValidationReport:
    """What :func:`validate_folder` found, plus per-split counts for statistics."""

    root: Path
    skeleton: str | None
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # split -> entries checked

    def add(self, kind: str, path: Path | str, message: str) -> None:
        if kind not in KINDS:
            raise KeyError(f"unknown problem kind {kind!r}")
        self.problems.append(Problem(kind, str(path), message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def counts(self) -> dict[str, int]:
        """Problem kind -> how many."""
        return dict(Counter(p.kind for p in self.problems))

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}

    def summary(self, limit: int = 5) -> str:
        """A few lines: the verdict, then up to ``limit`` examples of each kind."""
        verdict = "OK" if self.ok else f"{len(self.errors)} error(s)"
        lines = [f"{self.root}: {verdict}, {len(self.warnings)} warning(s)"]
        by_kind: dict[str, list[Problem]] = {}
        for p in self.problems:
            by_kind.setdefault(p.kind, []).append(p)
        for kind, items in by_kind.items():
            lines.append(f"  {kind} ({KINDS[kind]}): {len(items)}")
            lines += [f"    {p.message}" for p in items[:limit]]
            if len(items) > limit:
                lines.append(f"    ... and {len(items) - limit} more")
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        """Raise a :class:`DatasetError` listing the first errors, if any."""
        if self.errors:
            first = "\n".join(f"  {p.message}" for p in self.errors[:10])
            raise DatasetError(f"{self.root}: {len(self.errors)} dataset error(s):\n{first}")


def _classify(message: str) -> str:
    """Map a DatasetError message from the readers to a problem kind."""
    m = message.lower()
    for needle, kind in (
        ("empty caption text", "empty_caption"), ("non-numeric", "bad_time"), ("invalid time span", "bad_time"),
        ("has no captions", "no_captions"), ("caption file is missing", "missing_text"),
        ("malformed", "malformed_caption"), ("rank", "wrong_rank"), ("wrong feature width", "wrong_width"),
        ("has no frames", "empty_motion"), ("cannot be read", "unreadable_file"), ("not numeric", "unreadable_file"),
        ("file is missing", "missing_features"),
    ):
        if needle in m:
            return kind
    return "malformed_caption"


def validate_folder(folder: "MotionFolder", splits: Sequence[str] | None = None, check_joints: bool = True
                    ) -> ValidationReport:
    """Check a dataset folder end to end (see the module docstring); never raises for data faults."""
    root = folder.root
    report = ValidationReport(root, None)
    for sub in (FEATURES_DIR, TEXTS_DIR):
        if not (root / sub).is_dir():
            report.add("missing_folder", root / sub, f"{root / sub}: folder is missing")
    joints_ok = (root / JOINTS_DIR).is_dir()
    if check_joints and not joints_ok:
        report.add("missing_joints_folder", root / JOINTS_DIR, f"{root / JOINTS_DIR}: folder is missing (joints are "
                   "only needed for visualisation; they can be recovered from the features)")
    if not report.ok:
        return report
    try:
        sk = folder.skeleton
    except DatasetError as err:
        report.add("wrong_width" if "neither" in str(err) else "empty_split", root, str(err))
        return report
    report.skeleton = sk.name
    for fname in ("Mean.npy", "Std.npy"):
        path = root / fname
        if not path.is_file():
            report.add("missing_stats", path, f"{path}: statistics file is missing")
            continue
        try:
            arr = _load_npy(path)
        except DatasetError as err:
            report.add("unreadable_file", path, str(err))
            continue
        if arr.shape != (sk.feature_dim,):
            report.add("bad_stats", path, stats_shape_message(path, arr.shape, sk))
        elif not np.isfinite(arr).all():
            report.add("bad_stats", path, f"{path}: contains NaN or infinite values")
        elif fname == "Std.npy" and (arr <= 0).any():
            report.add("bad_stats", path, f"{path}: {(arr <= 0).sum()} dims have std <= 0")

    wanted = list(splits) if splits is not None else list(SPLITS)
    seen: set[str] = set()
    for split in wanted:
        path = root / f"{split}.txt"
        if not path.is_file():
            report.add("missing_split_file", path, f"{path}: split file is missing")
            continue
        try:
            names = folder.names(split)
        except DatasetError as err:
            report.add("unreadable_split_file", path, str(err))
            continue
        report.checked[split] = len(names)
        if not names:
            report.add("empty_split", path, f"{path}: split lists no motions")
        for name, n in Counter(names).items():
            if n > 1:
                report.add("duplicate_entry", path, f"{path}: {name!r} is listed {n} times")
        for name in dict.fromkeys(names):
            if name in seen:
                continue
            seen.add(name)
            _check_motion(folder, sk, name, split, report, check_joints and joints_ok)
    for (a, b), shared in folder.split_overlaps().items():
        if a in wanted and b in wanted:
            report.add("split_overlap", root / f"{b}.txt", f"{root / b}.txt: {len(shared)} motion(s) also listed in "
                       f"{a}.txt (e.g. {shared[0]!r}); expected each motion in one split (train/test leakage)")
    return report


def _check_motion(folder: "MotionFolder", sk, name: str, split: str, report: ValidationReport, joints: bool) -> None:
    root = folder.root
    fpath = root / FEATURES_DIR / f"{name}.npy"
    feats = None
    if not fpath.is_file():
        report.add("missing_features", fpath, f"{fpath}: listed in {split}.txt but the features file is missing")
    else:
        try:
            feats = check_features(_load_npy(fpath), fpath, sk)
        except DatasetError as err:
            report.add(_classify(str(err)), fpath, str(err))
    if feats is not None:
        finite = np.isfinite(feats).all(axis=1)
        if not finite.all():
            report.add("nan_frames", fpath, f"{fpath}: {int((~finite).sum())} of {len(feats)} frames have NaN or "
                       f"infinite values (first at frame {int(np.argmin(finite))}); the loaders skip this motion")
        if not sk.min_frames <= len(feats) < sk.max_frames:
            report.add("out_of_range", fpath, f"{fpath}: {len(feats)} frames, outside [{sk.min_frames}, "
                       f"{sk.max_frames}); the loaders skip this motion")
    tpath = root / TEXTS_DIR / f"{name}.txt"
    try:
        captions = read_captions(tpath)
        if feats is not None:
            for cap in captions:
                if span_past_end(cap, len(feats), CAPTION_FPS):
                    report.add("span_past_end", tpath, span_past_end_message(tpath, cap, len(feats), CAPTION_FPS))
    except DatasetError as err:
        report.add(_classify(str(err)), tpath, str(err))
        if "malformed" in str(err) or "empty caption" in str(err) or "time" in str(err):
            _check_other_lines(tpath, report, str(err))
    if joints:
        jpath = root / JOINTS_DIR / f"{name}.npy"
        if not jpath.is_file():
            report.add("missing_joints", jpath, f"{jpath}: joints file is missing")
            return
        try:
            arr = _load_npy(jpath)
        except DatasetError as err:
            report.add("unreadable_file", jpath, str(err))
            return
        if arr.ndim != 3 or arr.shape[1:] != (sk.n_joints, 3):
            report.add("joints_shape", jpath, f"{jpath}: joints have shape {arr.shape}, expected (T, {sk.n_joints}, 3)")
        elif feats is not None and len(arr) != len(feats):
            report.add("length_mismatch", jpath, f"{jpath}: {len(arr)} frames but {fpath.name} in {FEATURES_DIR}/ has "
                       f"{len(feats)}")
        elif arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = ~np.isfinite(arr).reshape(len(arr), -1).all(axis=1)
            report.add("nan_frames", jpath, f"{jpath}: {int(bad.sum())} of {len(arr)} frames have NaN or infinite "
                       f"joint positions (first at frame {int(np.argmax(bad))}); the loaders skip this motion "
                       "when they read joints")


def _check_other_lines(path: Path, report: ValidationReport, first: str) -> None:
    """After the first bad line, report the file's other bad lines too (each with its line number)."""
    from motionlab.data.folders import parse_caption_line

    lines = read_text(path, "caption file").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            parse_caption_line(line, path, i + 1)
        except DatasetError as err:
            if str(err) != first:
                report.add(_classify(str(err)), path, str(err))
