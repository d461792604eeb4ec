"""``motionlab data check`` and ``motionlab data convert``: library functions and their CLI wrappers.

* :func:`describe_folder` validates a dataset folder and gathers its statistics (motions and samples per
  split, captions, lengths, vocabulary, skipped files with reasons); :func:`check_command` prints them.
* :func:`convert_joints_folder` turns a folder of ``(T, J, 3)`` joint arrays plus captions into a dataset
  in the HumanML3D layout (features, joints, word/POS-tagged captions, splits, statistics);
  :func:`convert_command` is its CLI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from motionlab.data.features import joints_to_features
from motionlab.data.folders import (
    SPLITS, Caption, DatasetWarning, Motion, MotionFolder, holds_dataset, parse_caption_line, read_text,
    write_dataset,
)
from motionlab.data.mirror import mirror_caption, mirror_joints, mirror_tokens
from motionlab.data.skeleton import Skeleton, get_skeleton
from motionlab.data.tagging import tag_caption
from motionlab.errors import DatasetError, InputError

SPLIT_FRACTIONS = {"train": 0.80, "val": 0.05, "test": 0.15}  # HumanML3D's proportions


# ------------------------------------------------------------------------------------------------ check
def describe_folder(root: str | Path, skeleton: str = "auto", splits: tuple[str, ...] | None = None) -> dict:
    """Validate a folder and gather statistics; returns ``{"report": ValidationReport, "splits": {...}}``.

    For each split present: listed motions, samples kept by the loader (with sub-clips), captions, length
    summary (min, quartiles, max, mean) and a histogram in 20-frame bins, vocabulary size (distinct token
    words) and the skipped names per reason.
    """
    folder = MotionFolder(root, skeleton=skeleton)
    present = [s for s in (splits or SPLITS) if (folder.root / f"{s}.txt").is_file()]
    report = folder.validate(splits=list(splits or SPLITS))
    stats: dict[str, dict] = {}
    if not any(p.kind in ("missing_folder", "wrong_width") for p in report.problems):
        for split in present:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DatasetWarning)  # reported below, reason by reason
                    data = folder.load_split(split, strict=False, warn=False)
            except DatasetError:  # an unreadable split file: the report already names it
                continue
            lengths = data.lengths
            words = Counter(w for caps in data.captions for c in caps for w in c.words)
            bins = np.arange(0, 220, 20)
            hist = np.histogram(lengths, bins=bins)[0] if len(lengths) else np.zeros(len(bins) - 1, int)
            stats[split] = {
                "listed": len(folder.names(split)),
                "samples": len(data),
                "subclip_samples": sum(1 for n, s in zip(data.names, data.sources) if n != s),
                "captions": sum(len(c) for c in data.captions),
                "lengths": _quantiles(lengths),
                "histogram": {f"{a}-{b - 1}": int(h) for a, b, h in zip(bins[:-1], bins[1:], hist)},
                "vocabulary": len(words),
                "skipped": data.skipped,
            }
    return {"root": str(folder.root), "skeleton": report.skeleton, "report": report, "splits": stats}


def _quantiles(lengths: np.ndarray) -> dict:
    if not len(lengths):
        return {}
    q = np.percentile(lengths, [0, 25, 50, 75, 100])
    return {"min": int(q[0]), "q25": float(q[1]), "median": float(q[2]), "q75": float(q[3]), "max": int(q[4]),
            "mean": float(lengths.mean())}


def format_description(info: dict) -> str:
    """Human-readable text of :func:`describe_folder`'s result."""
    lines = [info["report"].summary(), f"skeleton: {info['skeleton']}"]
    for split, s in info["splits"].items():
        lines.append(f"\n[{split}] {s['listed']} motions listed -> {s['samples']} samples "
                     f"({s['subclip_samples']} sub-clips), {s['captions']} captions, vocabulary {s['vocabulary']} words")
        if s["lengths"]:
            L = s["lengths"]
            lines.append(f"  length (frames): min {L['min']}  q25 {L['q25']:.0f}  median {L['median']:.0f}  "
                         f"q75 {L['q75']:.0f}  max {L['max']}  mean {L['mean']:.1f}")
            top = max(s["histogram"].values()) or 1
            for label, count in s["histogram"].items():
                if count:
                    lines.append(f"  {label:>8} {'#' * max(1, round(30 * count / top))} {count}")
        for reason, names in sorted(s["skipped"].items()):
            shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
            lines.append(f"  skipped {len(names)} ({reason}): {shown}")
    return "\n".join(lines)


def check_command(args: argparse.Namespace) -> int:
    """``motionlab data check DIR``: print validation and statistics; exit 1 if the folder has errors."""
    info = describe_folder(args.folder, skeleton=getattr(args, "skeleton", "auto"))
    print(format_description(info))
    return 0 if info["report"].ok else 1


# ---------------------------------------------------------------------------------------------- convert
def resample(joints: np.ndarray, fps: float, target_fps: float) -> np.ndarray:
    """Linear resampling of ``(T, J, 3)`` from ``fps`` to ``target_fps`` (same start, no extrapolation)."""
    if fps <= 0 or target_fps <= 0:
        raise InputError(f"frame rates must be positive, got {fps} -> {target_fps}")
    if fps == target_fps:
        return joints
    duration = (len(joints) - 1) / fps
    t_new = np.arange(0.0, duration + 1e-9, 1.0 / target_fps)
    t_old = np.arange(len(joints)) / fps
    flat = joints.reshape(len(joints), -1)
    out = np.stack([np.interp(t_new, t_old, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape(len(t_new), *joints.shape[1:])


def read_caption_source(path: Path) -> list[Caption]:
    """Captions of a user text file: full HumanML3D lines are parsed, plain sentences are tagged."""
    captions = []
    for i, line in enumerate(read_text(path, "caption file").splitlines()):
        if not line.strip():
            continue
        if "#" in line:
            captions.append(parse_caption_line(line, path, i + 1))
        else:
            text = " ".join(line.strip().split())
            captions.append(Caption(text, tag_caption(text)))
    return captions


def _split_names(names: list[str], seed: int) -> dict[str, list[str]]:
    order = list(np.random.default_rng(seed).permutation(len(names)))
    n = len(names)
    n_val = max(1, round(n * SPLIT_FRACTIONS["val"])) if n >= 3 else 0
    n_test = max(1, round(n * SPLIT_FRACTIONS["test"])) if n >= 3 else 0
    test = sorted(names[i] for i in order[:n_test])
    val = sorted(names[i] for i in order[n_test:n_test + n_val])
    train = sorted(names[i] for i in order[n_test + n_val:])
    return {"train": train, "val": val, "test": test}


def convert_joints_folder(joints_dir: str | Path, out: str | Path, texts_dir: str | Path | None = None,
                          skeleton: str | Skeleton = "t2m", fps: float | None = None, seed: int = 0,
                          mirror: bool = False, force: bool = False) -> dict:
    """Turn ``NAME.npy`` joint arrays + ``NAME.txt`` captions into a HumanML3D-layout dataset at ``out``.

    Arrays are ``(T, J', 3)`` positions (metres for HumanML3D, y up) with ``J' >= J``: the first J joints
    are used (as the pipeline takes the first 22 of AMASS's 52).  ``fps`` is the input frame rate
    (default: the skeleton's, 20 for HumanML3D); other rates are linearly resampled.  Text lines are either
    full ``caption#tokens#start#end`` lines or plain sentences, which get word/POS tokens from the rule-based
    :func:`~motionlab.data.tagging.tag_caption`.  Motions without captions, with NaN/inf values or too
    short are skipped, counted and reported (warning).  Splits are drawn with ``seed`` in HumanML3D's
    80/5/15 proportions; ``mirror=True`` adds ``M<NAME>`` mirrored copies next to their originals.
    ``out`` must be new or empty; a folder that already holds a dataset is replaced only with ``force=True``
    (the old one stays intact until the new one is complete).  Returns ``{"root", "motions", "splits",
    "skipped"}``.
    """
    sk = get_skeleton(skeleton)
    out = Path(out).expanduser()
    _check_output_folder(out, force)  # before any work
    src = Path(joints_dir).expanduser()
    if not src.is_dir():
        raise DatasetError(f"{src}: joints folder does not exist")
    text_src = Path(texts_dir).expanduser() if texts_dir is not None else src
    if not text_src.is_dir():
        raise DatasetError(f"{text_src}: texts folder does not exist")
    files = sorted(src.glob("*.npy"))
    if not files:
        raise DatasetError(f"{src}: no .npy joint files found")
    rate = sk.fps if fps is None else float(fps)
    motions: list[Motion] = []
    converted: list[str] = []
    skipped: dict[str, list[str]] = {}
    for path in files:
        name = path.stem
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as err:
            raise DatasetError(f"{path}: cannot be read as a numeric .npy array ({err})") from None
        if arr.ndim == 2 and arr.shape[1] % 3 == 0:
            arr = arr.reshape(len(arr), -1, 3)  # (T, 3J) flattened positions
        if arr.ndim != 3 or arr.shape[-1] != 3 or arr.shape[1] < sk.n_joints:
            raise DatasetError(f"{path}: joints have shape {arr.shape}; expected (T, >= {sk.n_joints}, 3)")
        arr = arr[:, : sk.n_joints].astype(np.float64)
        text_path = text_src / f"{name}.txt"
        if not text_path.is_file():
            skipped.setdefault("no caption file", []).append(name)
            continue
        captions = read_caption_source(text_path)
        if not captions:
            skipped.setdefault("caption file is empty", []).append(name)
            continue
        if not np.isfinite(arr).all():
            skipped.setdefault("NaN or infinite values", []).append(name)
            continue
        arr = resample(arr, rate, sk.fps)
        if len(arr) < 2:
            skipped.setdefault("fewer than 2 frames", []).append(name)
            continue
        motions.append(Motion(name, joints_to_features(arr, sk), captions))
        converted.append(name)
        if mirror:
            mirrored = [Caption(mirror_caption(c.text), mirror_tokens(c.tokens), c.start, c.end) for c in captions]
            motions.append(Motion("M" + name, joints_to_features(mirror_joints(arr, sk), sk), mirrored))
    if not motions:
        raise DatasetError(f"{src}: no motion could be converted ({'; '.join(f'{len(v)} {k}' for k, v in skipped.items())})")
    if skipped:
        detail = "; ".join(f"{len(v)} {k} (e.g. {v[0]})" for k, v in skipped.items())
        warnings.warn(f"convert: skipped {detail}", DatasetWarning, stacklevel=2)
    splits = _split_names(converted, seed)
    if mirror:  # a motion and its mirror always share a split, as in HumanML3D
        splits = {k: sorted(v + ["M" + n for n in v]) for k, v in splits.items()}
    root = _write_replacing(out, motions, splits, sk)
    return {"root": str(root), "motions": len(motions), "splits": {k: len(v) for k, v in splits.items()},
            "skipped": skipped}


def _check_output_folder(out: Path, force: bool) -> None:
    """Refuse an output folder whose contents converting would destroy or mix with."""
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a folder; expected a new or empty output folder")
    if holds_dataset(out):
        if not force:
            raise DatasetError(
                f"{out} already holds a dataset; refusing to overwrite it (its motions would be listed nowhere). "
                "Convert into a new folder, or pass --force (force=True) to replace it; to add motions, convert "
                "the old and new joint files together into a new folder")
    elif out.is_dir() and any(out.iterdir()):
        raise DatasetError(f"{out} is not empty and holds no dataset; refusing to write into it "
                           "(expected a new or empty output folder)")


def _write_replacing(out: Path, motions: list[Motion], splits: dict[str, list[str]], sk: Skeleton) -> Path:
    """Write the dataset; an existing one (``force``) is swapped out only once the new one is complete."""
    if not holds_dataset(out):
        return write_dataset(out, motions, splits, sk)
    work = out.parent / f".{out.name}.converting-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        write_dataset(work, motions, splits, sk)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(out)
    work.rename(out)
    return out


def convert_command(args: argparse.Namespace) -> int:
    """``motionlab data convert JOINTS_DIR OUT``: convert, then print the check of the new folder."""
    result = convert_joints_folder(args.joints_dir, args.out, texts_dir=args.texts, skeleton=args.skeleton,
                                   fps=args.fps, seed=args.seed, mirror=getattr(args, "mirror", False),
                                   force=getattr(args, "force", False))
    print(f"wrote {result['motions']} motions to {result['root']} "
          f"(train {result['splits']['train']}, val {result['splits']['val']}, test {result['splits']['test']}); "
          "captions without tokens were tagged by motionlab's rule-based tagger")
    for reason, names in result["skipped"].items():
        print(f"  skipped {len(names)} ({reason}): {', '.join(names[:5])}")
    info = describe_folder(result["root"])
    print(format_description(info))
    return 0 if info["report"].ok else 1
