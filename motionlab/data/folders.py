"""Dataset folders in the HumanML3D layout: captions, reading, writing, statistics and normalisation.

A dataset folder holds::

    new_joint_vecs/NAME.npy   (T-1, 263) float32 features (KIT-ML: 251)
    new_joints/NAME.npy       (T-1, 22, 3) joints recovered from the features (KIT-ML: 21 joints)
    texts/NAME.txt            one caption per line: ``caption#word/POS word/POS ...#start#end``
    Mean.npy, Std.npy         (D,) statistics, the std averaged within each slice group
    train.txt val.txt test.txt train_val.txt all.txt   one NAME per line

A caption with ``start``/``end`` other than ``0.0#0.0`` describes the sub-clip from frame ``int(start*20)``
to ``int(end*20)``; the loader turns it into a sample of its own (kept if its length is in range), as the
official loaders do.  Captions are parsed in :mod:`motionlab.data.captions`, statistics and the
:class:`Normalizer` live in :mod:`motionlab.data.normalization` (both re-exported here), and validation
of whole folders in :mod:`motionlab.data.validation`.
"""

from __future__ import annotations

import re
import string
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from motionlab.data.captions import Caption, format_caption_line, parse_caption_line, read_captions
from motionlab.data.features import features_to_joints
from motionlab.data.normalization import Normalizer, RunningStats, compute_stats
from motionlab.data.skeleton import Skeleton, get_skeleton, skeleton_for_dim
from motionlab.errors import DatasetError, DatasetWarning, InputError

__all__ = [
    "Caption", "DatasetWarning", "Motion", "MotionFolder", "MotionSplit", "Normalizer", "compute_stats",
    "format_caption_line", "parse_caption_line", "read_captions", "write_dataset",
]

FEATURES_DIR, JOINTS_DIR, TEXTS_DIR = "new_joint_vecs", "new_joints", "texts"
SPLITS = ("train", "val", "test")
CAPTION_FPS = 20.0  # the official loaders cut sub-clips at int(t * 20) for both datasets
# what marks a folder as holding a dataset already (writers refuse to overwrite one unless told to)
DATASET_MARKERS = ("all.txt", "train.txt", "Mean.npy", FEATURES_DIR)


# ---------------------------------------------------------------------------------------------- motions
@dataclass
class Motion:
    """One motion to write: its features ``(T-1, D)``, captions and, optionally, joints ``(T-1, J, 3)``."""

    name: str
    features: np.ndarray
    captions: list[Caption]
    joints: np.ndarray | None = None


@dataclass
class MotionSplit:
    """The samples of one split after length filtering and sub-clip expansion.

    ``names[i]`` is the motion name, or ``"<letter>_<name>"`` for a sub-clip sample (as the official
    loaders name them); ``sources[i]`` is always the file name and ``spans[i]`` the frame range taken.
    ``skipped`` maps a reason to the names skipped for it.
    """

    names: list[str]
    features: list[np.ndarray]
    captions: list[list[Caption]]
    skeleton: Skeleton
    skipped: dict[str, list[str]] = field(default_factory=dict)
    joints: list[np.ndarray] | None = None
    sources: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) frame counts."""
        return np.array([len(f) for f in self.features], dtype=np.int64)

    @property
    def dim(self) -> int:
        return self.skeleton.feature_dim

    @property
    def n_skipped(self) -> int:
        return sum(len(v) for v in self.skipped.values())

    def texts(self) -> list[list[str]]:
        """The caption texts of every sample."""
        return [[c.text for c in caps] for caps in self.captions]

    def subset(self, indices: Iterable[int]) -> "MotionSplit":
        """A split with only the samples at ``indices`` (same skeleton, skipped records kept)."""
        idx = list(indices)
        return MotionSplit(
            [self.names[i] for i in idx], [self.features[i] for i in idx], [self.captions[i] for i in idx],
            self.skeleton, dict(self.skipped), None if self.joints is None else [self.joints[i] for i in idx],
            [self.sources[i] for i in idx] if self.sources else [], [self.spans[i] for i in idx] if self.spans else [],
        )


# ---------------------------------------------------------------------------------------------- writing
def holds_dataset(root: str | Path) -> bool:
    """True when ``root`` already holds (part of) a dataset in the HumanML3D layout."""
    return any((Path(root) / marker).exists() for marker in DATASET_MARKERS)


def write_dataset(root: str | Path, motions: Iterable[Motion], splits: dict[str, Sequence[str]],
                  skeleton: str | Skeleton = "t2m", *, stats_from: str | None = None,
                  overwrite: bool = False) -> Path:
    """Write motions into ``root`` in the HumanML3D layout and return ``root``.

    Features are written as float32; joints are the motion's own or, as in the official pipeline, those
    recovered from the features.  ``splits`` maps split names (train/val/test, ...) to motion names;
    ``all.txt`` lists every motion, ``train_val.txt`` is written when both exist.  Mean/Std are computed over
    all motions (as ``cal_mean_variance`` does) or over one split with ``stats_from="train"``.  ``motions``
    is read once, in order, so it may be a generator; only the names are kept in memory.  A folder that
    already holds a dataset is refused unless ``overwrite=True`` (its splits and statistics would be
    replaced and its other motions listed nowhere).
    """
    sk = get_skeleton(skeleton)
    root = Path(root)
    if not overwrite and holds_dataset(root):
        raise DatasetError(f"{root} already holds a dataset; refusing to overwrite it (write into a new folder, "
                           "or pass overwrite=True to replace its splits and statistics)")
    for sub in (FEATURES_DIR, JOINTS_DIR, TEXTS_DIR):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if stats_from is not None and stats_from not in splits:
        raise InputError(f"stats_from={stats_from!r} is not one of the splits {sorted(splits)}")
    counted = None if stats_from is None else set(splits[stats_from])
    stats = RunningStats(sk)
    written: list[str] = []
    seen: set[str] = set()
    for m in motions:  # one pass: motions may be produced while this writes (only names are kept)
        if not m.name or any(c in m.name for c in "/\\#\n") or m.name.strip() != m.name:
            raise InputError(f"motion name {m.name!r} is not a valid file name")
        if m.name in seen:
            raise InputError(f"motion name {m.name!r} appears twice")
        feats = np.asarray(m.features)
        if feats.ndim != 2 or feats.shape[1] != sk.feature_dim:
            raise InputError(f"motion {m.name}: features have shape {feats.shape}; expected (T, {sk.feature_dim})")
        if not np.isfinite(feats).all():
            raise InputError(f"motion {m.name}: features contain NaN or infinite values")
        if not m.captions:
            raise InputError(f"motion {m.name}: no captions")
        joints = features_to_joints(feats.astype(np.float32), sk) if m.joints is None else np.asarray(m.joints)
        if joints.shape != (len(feats), sk.n_joints, 3):
            raise InputError(f"motion {m.name}: joints have shape {joints.shape}; expected {(len(feats), sk.n_joints, 3)} "
                             "(new_joints hold one pose per feature row)")
        lines = [format_caption_line(c) for c in m.captions]
        np.save(root / FEATURES_DIR / f"{m.name}.npy", feats.astype(np.float32))
        np.save(root / JOINTS_DIR / f"{m.name}.npy", joints.astype(np.float32))
        (root / TEXTS_DIR / f"{m.name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if counted is None or m.name in counted:
            stats.update(feats)
        seen.add(m.name)
        written.append(m.name)
    if not written:
        raise InputError("write_dataset: no motions were given")
    for split, names in splits.items():
        missing = [n for n in names if n not in seen]
        if missing:
            raise InputError(f"split {split!r} names {len(missing)} motion(s) that were not given, e.g. {missing[0]!r}")
        (root / f"{split}.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    if "train" in splits and "val" in splits and "train_val" not in splits:
        (root / "train_val.txt").write_text("".join(f"{n}\n" for n in [*splits["train"], *splits["val"]]), encoding="utf-8")
    if "all" not in splits:
        (root / "all.txt").write_text("".join(f"{n}\n" for n in written), encoding="utf-8")
    mean, std = stats.result()
    np.save(root / "Mean.npy", mean)
    np.save(root / "Std.npy", std)
    return root


# ---------------------------------------------------------------------------------------------- reading
class MotionFolder:
    """A dataset folder in the HumanML3D layout (HumanML3D, KIT-ML, MotionLab-Synth or your own)."""

    def __init__(self, root: str | Path, skeleton: str | Skeleton = "auto") -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder does not exist")
        self._skeleton = None if (isinstance(skeleton, str) and skeleton == "auto") else get_skeleton(skeleton)
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"MotionFolder({str(self.root)!r})"

    # ---- layout
    def _dir(self, sub: str) -> Path:
        path = self.root / sub
        if not path.is_dir():
            raise DatasetError(f"{path}: folder is missing (a HumanML3D-layout dataset has {FEATURES_DIR}/, "
                               f"{JOINTS_DIR}/ and {TEXTS_DIR}/)")
        return path

    @property
    def skeleton(self) -> Skeleton:
        """Given, or inferred from the width of the feature files (else of Mean.npy, when there are none).

        The motions decide, not the statistics: a Mean.npy of the wrong width is then reported as a fault
        of that one file instead of making every feature file look wrong.
        """
        if self._skeleton is None:
            probe = self._width_probe()
            arr = _load_npy(probe)
            try:
                self._skeleton = skeleton_for_dim(arr.shape[-1])
            except InputError:
                raise DatasetError(f"{probe}: last dimension {arr.shape[-1]} is neither 263 (HumanML3D) nor 251 (KIT-ML)") from None
        return self._skeleton

    def _width_probe(self, n_files: int = 5) -> Path:
        """The file whose width names the skeleton: the most common width among a few feature files spread
        over the folder (one odd file does not decide), else Mean.npy."""
        feat_dir = self.root / FEATURES_DIR
        files = sorted(feat_dir.glob("*.npy")) if feat_dir.is_dir() else []
        if not files:
            probe = self.root / "Mean.npy"
            if probe.is_file():
                return probe
            self._dir(FEATURES_DIR)  # names the missing folder
            raise DatasetError(f"{feat_dir}: no feature files to infer the skeleton from")
        picks = [files[i * (len(files) - 1) // max(1, n_files - 1)] for i in range(min(n_files, len(files)))]
        widths: dict[int, Path] = {}
        votes: Counter = Counter()
        for path in dict.fromkeys(picks):
            try:
                width = _load_npy(path).shape[-1]
            except (DatasetError, IndexError):
                continue  # an unreadable file is reported when it is loaded
            widths.setdefault(width, path)
            votes[width] += 1
        if not votes:
            return picks[0]  # let the caller name the unreadable file
        return widths[votes.most_common(1)[0][0]]

    def split_names(self) -> list[str]:
        """Split files present (``train``, ``val``, ...)."""
        return sorted(p.stem for p in self.root.glob("*.txt"))

    def names(self, split: str) -> list[str]:
        """Motion names listed in ``<split>.txt`` (blank lines ignored, order kept)."""
        path = self.root / f"{split}.txt"
        if not path.is_file():
            raise DatasetError(f"{path}: split file is missing (found: {', '.join(self.split_names()) or 'none'})")
        return [line.strip() for line in read_text(path, "split file").splitlines() if line.strip()]

    def split_overlaps(self) -> dict[tuple[str, str], list[str]]:
        """Motion names listed in two of train/val/test (``(split_a, split_b) -> names``): leakage that
        makes every number measured on the later split optimistic.  Unreadable split files are left to
        :meth:`names` to report."""
        listed = {}
        for split in SPLITS:
            try:
                listed[split] = set(self.names(split))
            except DatasetError:
                continue
        out = {}
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1:]:
                shared = sorted(listed.get(a, set()) & listed.get(b, set()))
                if shared:
                    out[(a, b)] = shared
        return out

    # ---- statistics
    def _load_stats(self) -> tuple[np.ndarray, np.ndarray]:
        if self._stats is None:
            out = []
            for fname in ("Mean.npy", "Std.npy"):
                path = self.root / fname
                if not path.is_file():
                    raise DatasetError(f"{path}: statistics file is missing (write it with compute_stats)")
                arr = _load_npy(path)
                if arr.shape != (self.skeleton.feature_dim,):
                    raise DatasetError(stats_shape_message(path, arr.shape, self.skeleton))
                if not np.isfinite(arr).all():
                    raise DatasetError(f"{path}: contains NaN or infinite values")
                out.append(arr.astype(np.float32))
            if (out[1] <= 0).any():
                raise DatasetError(f"{self.root / 'Std.npy'}: {(out[1] <= 0).sum()} dims have std <= 0")
            self._stats = (out[0], out[1])
        return self._stats

    @property
    def mean(self) -> np.ndarray:
        """Mean.npy as written with the dataset (raw; see :meth:`Normalizer.from_folder`)."""
        return self._load_stats()[0]

    @property
    def std(self) -> np.ndarray:
        """Std.npy as written with the dataset (raw)."""
        return self._load_stats()[1]

    # ---- one motion
    def load_features(self, name: str) -> np.ndarray:
        """``(T-1, D)`` features of one motion; a :class:`DatasetError` names the file and fault."""
        path = self._dir(FEATURES_DIR) / f"{name}.npy"
        return check_features(_load_npy(path), path, self.skeleton)

    def load_joints(self, name: str) -> np.ndarray:
        """``(T-1, J, 3)`` joints of one motion from ``new_joints/``."""
        path = self._dir(JOINTS_DIR) / f"{name}.npy"
        arr = _load_npy(path)
        sk = self.skeleton
        if arr.ndim != 3 or arr.shape[1:] != (sk.n_joints, 3):
            raise DatasetError(f"{path}: joints have shape {arr.shape}, expected (T, {sk.n_joints}, 3)")
        return arr

    def load_captions(self, name: str) -> list[Caption]:
        return read_captions(self._dir(TEXTS_DIR) / f"{name}.txt")

    def load_motion(self, name: str, with_joints: bool = False) -> Motion:
        """Features, captions and (optionally) joints of one motion file."""
        feats = self.load_features(name)
        joints = self.load_joints(name) if with_joints else None
        if joints is not None and len(joints) != len(feats):
            raise DatasetError(f"{self.root / JOINTS_DIR / (name + '.npy')}: {len(joints)} frames but the features "
                               f"have {len(feats)}")
        return Motion(name, feats, self.load_captions(name), joints)

    # ---- one split
    def load_split(self, split: str, min_len: int | None = None, max_len: int | None = 200, subclips: bool = True,
                   with_joints: bool = False, strict: bool = True, fps: float = CAPTION_FPS,
                   warn: bool = True) -> MotionSplit:
        """Load a split as the official loaders do, but with every skip counted.

        Motions with ``min_len <= length < max_len`` (defaults: the skeleton's, [40, 200) HumanML3D and
        [24, 200) KIT-ML) are kept with their whole-motion captions; each sub-clip caption becomes a sample
        ``<letter>_<name>`` of frames ``int(start*fps):int(end*fps)`` if its length is in range too
        (``subclips=False`` ignores them).  Missing files and NaN/inf features are skipped and counted; format
        faults (wrong width or rank, malformed caption lines) raise a :class:`DatasetError` naming the file,
        or are skipped and counted with ``strict=False``.  One :class:`DatasetWarning` summarises the skips.
        """
        sk = self.skeleton
        lo = sk.min_frames if min_len is None else int(min_len)
        hi = sk.max_frames if max_len is None else int(max_len)
        feat_dir, text_dir = self._dir(FEATURES_DIR), self._dir(TEXTS_DIR)
        joint_dir = self._dir(JOINTS_DIR) if with_joints else None
        out = MotionSplit([], [], [], sk, defaultdict(list), [] if with_joints else None, [], [])
        names = self.names(split)
        for name, n in Counter(names).items():  # each motion is loaded once; the extra listings are counted
            if n > 1:
                out.skipped["listed more than once in the split"].extend([name] * (n - 1))
        for name in dict.fromkeys(names):
            fpath, tpath = feat_dir / f"{name}.npy", text_dir / f"{name}.txt"
            try:
                raw = _load_npy(fpath)
            except DatasetError as err:
                if "file is missing" in str(err):
                    out.skipped["features file missing"].append(name)
                    continue
                if strict:
                    raise
                out.skipped[f"format error: {_fault_kind(str(err))}"].append(name)
                continue
            try:
                feats = check_features(raw, fpath, sk)
                captions = read_captions(tpath)
                joints = None
                if joint_dir is not None:
                    joints = _load_npy(joint_dir / f"{name}.npy")
                    if joints.shape != (len(feats), sk.n_joints, 3):
                        raise DatasetError(f"{joint_dir / (name + '.npy')}: joints have shape {joints.shape}, expected "
                                           f"{(len(feats), sk.n_joints, 3)} to match the features")
            except DatasetError as err:
                if strict:
                    raise
                out.skipped[f"format error: {_fault_kind(str(err))}"].append(name)
                continue
            if not np.isfinite(feats).all() or (joints is not None and not np.isfinite(joints).all()):
                out.skipped["NaN or infinite values"].append(name)
                continue
            if not lo <= len(feats) < hi:
                out.skipped[f"too short (< {lo} frames)" if len(feats) < lo else f"too long (>= {hi} frames)"].append(name)
                continue
            whole = [c for c in captions if c.whole]
            if whole:
                _append(out, name, name, feats, whole, joints, (0, len(feats)))
            elif not subclips:
                out.skipped["no whole-motion caption"].append(name)
            letters = iter(string.ascii_uppercase)
            for cap in (c for c in captions if not c.whole and subclips):
                a, b = span_frames(cap, fps)
                if span_past_end(cap, len(feats), fps):  # the sample would silently cover less than it says
                    if strict:
                        raise DatasetError(span_past_end_message(tpath, cap, len(feats), fps))
                    out.skipped["sub-clip runs past the motion's end"].append(f"{name}[{a}:{b}]")
                    continue
                sub = feats[a:b]
                tag = next(letters, None) or f"Z{a}"
                if not lo <= len(sub) < hi:
                    out.skipped["sub-clip length out of range"].append(f"{name}[{a}:{b}]")
                    continue
                _append(out, f"{tag}_{name}", name, sub, [cap], None if joints is None else joints[a:b], (a, min(b, len(feats))))
        out.skipped = dict(out.skipped)
        if warn and out.skipped:
            detail = "; ".join(f"{len(v)} {k} (e.g. {v[0]})" for k, v in sorted(out.skipped.items()))
            warnings.warn(f"{self.root.name}/{split}: kept {len(out)} samples from {len(names)} listed motions; "
                          f"skipped {detail}", DatasetWarning, stacklevel=2)
        if warn and split in SPLITS:
            for (a, b), shared in self.split_overlaps().items():
                if split in (a, b):
                    warnings.warn(f"{self.root.name}: {len(shared)} motion(s) are listed in both {a}.txt and {b}.txt "
                                  f"(e.g. {shared[0]!r}): train/test leakage makes every number measured on them "
                                  "optimistic; list each motion in one split", DatasetWarning, stacklevel=2)
        return out

    def validate(self, splits: Sequence[str] | None = None, check_joints: bool = True):
        """Check the whole folder; returns a :class:`~motionlab.data.validation.ValidationReport`."""
        from motionlab.data.validation import validate_folder

        return validate_folder(self, splits=splits, check_joints=check_joints)


def span_frames(caption: Caption, fps: float = CAPTION_FPS) -> tuple[int, int]:
    """The frame range ``[a, b)`` a sub-clip caption describes, cut as the official loaders cut it."""
    return int(caption.start * fps), int(caption.end * fps)


def span_past_end(caption: Caption, n_frames: int, fps: float = CAPTION_FPS) -> bool:
    """True when a sub-clip caption ends after the motion does.  One frame of slack: the features have one
    row fewer than the poses the caption times refer to."""
    return not caption.whole and span_frames(caption, fps)[1] > n_frames + 1


def span_past_end_message(path: Path | str, caption: Caption, n_frames: int, fps: float = CAPTION_FPS) -> str:
    a, b = span_frames(caption, fps)
    return (f"{path}: caption {caption.text[:40]!r} spans {caption.start:g}-{caption.end:g} s (frames {a}-{b}) but "
            f"the motion has {n_frames} frames ({n_frames / fps:.2f} s at {fps:g} fps); expected an end time "
            f"<= {(n_frames + 1) / fps:.2f} s")


def _append(out: MotionSplit, key: str, source: str, feats: np.ndarray, caps: list[Caption],
            joints: np.ndarray | None, span: tuple[int, int]) -> None:
    out.names.append(key)
    out.features.append(feats)
    out.captions.append(caps)
    out.sources.append(source)
    out.spans.append(span)
    if out.joints is not None:
        out.joints.append(joints)


def _fault_kind(message: str) -> str:
    """A short label for a DatasetError message (used as a skip reason)."""
    text = message.split(": ", 1)[-1]
    return text.split(" (")[0].split(":")[0][:60]


# the header np.save writes for plain little-endian C-order numeric arrays
_NPY_HEADER = re.compile(r"\{'descr': '(<[fiu][248]|\|[iu]1)', 'fortran_order': False, 'shape': \(([\d, ]*)\), \}\s*$")


def _read_npy_fast(path: Path) -> np.ndarray | None:
    """Read a plain .npy file with one header parse and one ``readinto`` (about 5x faster than ``np.load``
    per small file, which matters for 30k-motion folders); None when the file needs ``np.load``."""
    with open(path, "rb") as fh:
        head = fh.read(10)
        if len(head) < 10 or head[:6] != b"\x93NUMPY" or head[6] != 1:
            return None
        header = fh.read(int.from_bytes(head[8:10], "little")).decode("latin1")
        match = _NPY_HEADER.match(header)
        if match is None:
            return None
        shape = tuple(int(x) for x in match.group(2).split(",") if x.strip())
        arr = np.empty(shape, dtype=np.dtype(match.group(1)))
        if arr.size == 0 or arr.ndim == 0:
            return None
        if fh.readinto(memoryview(arr.reshape(-1)).cast("B")) != arr.nbytes or fh.read(1):
            return None  # truncated or trailing bytes: let np.load produce its error
    return arr


def stats_shape_message(path: Path, shape: tuple, skeleton: Skeleton) -> str:
    return (f"{path}: statistics file has shape {shape}; expected ({skeleton.feature_dim},), the width of the "
            f"{skeleton.name} features in {FEATURES_DIR}/ (recompute it with compute_stats)")


def read_text(path: Path, what: str = "text file") -> str:
    """A UTF-8 text file; a missing, unreadable or non-UTF-8 file raises a :class:`DatasetError` naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DatasetError(f"{path}: {what} is missing") from None
    except UnicodeDecodeError as err:
        raise DatasetError(f"{path}: {what} is not UTF-8 text (byte {err.start}: {err.reason}); save it as "
                           "UTF-8") from None
    except OSError as err:
        raise DatasetError(f"{path}: {what} cannot be read ({err.strerror or err})") from None


def _load_npy(path: Path) -> np.ndarray:
    try:
        arr = _read_npy_fast(path)
        return arr if arr is not None else np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file is missing") from None
    except Exception as err:  # corrupt or not an .npy file, or an object array (never unpickled)
        raise DatasetError(f"{path}: cannot be read as a numeric .npy array ({type(err).__name__}: {err})") from None


def check_features(arr: np.ndarray, path: Path | str, skeleton: Skeleton) -> np.ndarray:
    """``arr`` as float32 ``(T, D)`` or a :class:`DatasetError` naming ``path`` (NaN is checked by callers)."""
    if arr.ndim != 2:
        raise DatasetError(f"{path}: array has rank {arr.ndim} (shape {arr.shape}); expected features of rank 2 "
                           f"(T, {skeleton.feature_dim})")
    if arr.shape[1] != skeleton.feature_dim:
        raise DatasetError(f"{path}: wrong feature width {arr.shape[1]}; expected {skeleton.feature_dim} "
                           f"({skeleton.name} skeleton)")
    if arr.dtype.kind not in "fiu":
        raise DatasetError(f"{path}: dtype {arr.dtype} is not numeric")
    if len(arr) == 0:
        raise DatasetError(f"{path}: has no frames")
    return arr.astype(np.float32, copy=False)
