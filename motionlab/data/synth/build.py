"""Building MotionLab-Synth: many motions, their features and captions, written in the HumanML3D layout.

Motion ``i`` depends only on ``(seed, i)``: its generator is ``runtime.rng(seed, "synth", i)``, so the
dataset is the same whichever worker made which motion, and two builds with one seed are byte-identical.
Features come from :func:`motionlab.data.features.joints_to_features` with ``retarget=False`` -- the
motions are made on the template skeleton (template bone lengths, constant), so retargeting would only
re-measure the same bones -- and the mirrored copy ``M<name>`` from :func:`mirror_features`, which equals
the features of the mirrored joints when nothing is retargeted.  Everything is written by
:func:`motionlab.data.folders.write_dataset`.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionlab.data.features import features_to_joints, joints_to_features
from motionlab.data.folders import DatasetWarning, Motion, holds_dataset, write_dataset
from motionlab.data.mirror import mirror_features
from motionlab.data.synth.captions import caption_motion, mirror
from motionlab.data.synth.compose import render_plan, sample_plan
from motionlab.errors import DatasetError, InputError
from motionlab.progress import progress_enabled
from motionlab.runtime import rng as make_rng

GENERATOR_VERSION = 1
META_FILE = "synth_meta.json"
SPLIT_SHARES = {"train": 0.80, "val": 0.05, "test": 0.15}
MAX_WORKERS = 8  # default worker processes: one per core, at most this many (CI's 2 cores get 2)


@dataclass
class Made:
    """One generated motion and its mirror, with what the dataset card reports about it."""

    motion: Motion
    mirrored: Motion | None
    meta: dict


def motion_name(index: int) -> str:
    """File name of motion ``index`` ("000042"); its mirror is "M000042"."""
    return f"{index:06d}"


def make_motion(index: int, seed: int = 0, mirror_too: bool = True) -> Made:
    """Generate motion ``index`` of the dataset with this seed: plan, animation, features, captions."""
    gen = make_rng(seed, "synth", index)
    plan = sample_plan(gen)
    rendered = render_plan(plan)
    feats = joints_to_features(rendered.joints, "t2m", retarget=False)  # (T-1, 263)
    captions, specs = caption_motion(plan, gen)
    name = motion_name(index)
    motion = Motion(name, feats, captions, joints=features_to_joints(feats, "t2m"))
    mirrored = None
    if mirror_too:
        m_feats = mirror_features(feats, "t2m")
        mirrored = Motion("M" + name, m_feats, [mirror(c) for c in captions], joints=features_to_joints(m_feats, "t2m"))
    meta = {
        "name": name,
        "frames": int(len(feats)),
        "actions": [s.action for s in plan.segments],
        "params": [{k: v for k, v in s.params.items() if isinstance(v, (str, bool)) or (isinstance(v, int) and k == "reps")}
                   for s in plan.segments],
        "spans": [[int(a), int(b)] for a, b in plan.spans],
        "captions": [{"level": sp.level, "shape": sp.shape, "described": list(sp.described), "subclip": sp.subclip}
                     for sp in specs],
    }
    return Made(motion, mirrored, meta)


def _work(job: tuple[int, int, bool]) -> Made:
    return make_motion(*job)


def _worker_init() -> None:
    """Pool workers leave interrupts to the parent: Ctrl-C (sent to the whole process group) is ignored,
    SIGTERM (how the pool stops them) ends them quietly, and a write to a parent that is gone ends them
    instead of printing a BrokenPipeError traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)


class BuildTerminated(SystemExit):
    """SIGTERM arrived during a build: raised so that the half-written folder is removed on the way out."""


@contextlib.contextmanager
def _sigterm_cleans_up():
    """Turn SIGTERM into an exception while building, so the cleanup that SIGINT gets runs for it too.

    Only in the main thread, and only when nobody else installed a SIGTERM handler (a notebook kernel or
    a server keeps its own); the previous handler is restored afterwards."""
    in_main = threading.current_thread() is threading.main_thread()
    if not in_main or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def _raise(signum, frame):
        raise BuildTerminated(128 + signum)

    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_stale_builds(out: Path) -> list[Path]:
    """Remove the ``.<name>.building-<pid>`` folders that builds of ``out`` killed by SIGKILL (or a power
    cut) left behind; a folder whose process is still running is left alone.  Returns what was removed."""
    removed = []
    for work in out.parent.glob(f".{out.name}.building-*"):
        pid = work.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid() or _pid_alive(int(pid)):
            continue
        shutil.rmtree(work, ignore_errors=True)
        removed.append(work)
    if removed:
        warnings.warn(f"removed {len(removed)} unfinished MotionLab-Synth build folder(s) of stopped processes "
                      f"(e.g. {removed[0]})", DatasetWarning, stacklevel=3)
    return removed


def split_names(n_motions: int, seed: int) -> dict[str, list[str]]:
    """80/5/15 train/val/test of the base names, drawn with the seed (every split gets at least one)."""
    if n_motions < 3:
        raise InputError(f"n_motions={n_motions}: MotionLab-Synth needs at least 3 motions (one per split)")
    order = make_rng(seed, "synth-splits").permutation(n_motions)
    n_val = max(1, int(round(SPLIT_SHARES["val"] * n_motions)))
    n_test = max(1, int(round(SPLIT_SHARES["test"] * n_motions)))
    n_train = n_motions - n_val - n_test
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    return {k: [motion_name(int(i)) for i in sorted(v)] for k, v in parts.items()}


class _Stream(Sequence):
    """The motions as ``write_dataset`` reads them: produced while it writes (the first pass pulls from the
    workers, later passes read the cache)."""

    def __init__(self, made: Iterator[Made], total: int, mirror_too: bool, progress) -> None:
        self._made, self._total, self._mirror, self._progress = made, total, mirror_too, progress
        self._cache: list[Motion] = []
        self.meta: list[dict] = []

    def __len__(self) -> int:
        return self._total * (2 if self._mirror else 1)

    def __getitem__(self, i):
        self._fill()
        return self._cache[i]

    def _fill(self) -> None:
        for _ in self:
            pass

    def __iter__(self):
        yield from list(self._cache)
        for item in self._made:
            new = [item.motion] + ([item.mirrored] if item.mirrored is not None else [])
            self._cache.extend(new)
            self.meta.append(item.meta)
            if self._progress is not None:
                self._progress.update(1)
            yield from new


def _existing(out: Path, n_motions: int, seed: int, mirror_too: bool) -> Path | None:
    """``out`` if it already holds this exact build; an error if it holds something else."""
    meta_path = out / META_FILE
    if not (out / "all.txt").exists() or not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError covers bad JSON and bad UTF-8
        raise DatasetError(f"{meta_path}: cannot be read as MotionLab-Synth metadata ({err}); pass force=True "
                           "(CLI: --force) to rebuild the folder") from None
    if not isinstance(meta, dict):
        raise DatasetError(f"{meta_path}: expected a JSON object of build settings, got {type(meta).__name__}")
    want = {"version": GENERATOR_VERSION, "seed": seed, "n_motions": n_motions, "mirror": mirror_too}
    have = {k: meta.get(k) for k in want}
    if have != want:
        raise DatasetError(f"{out} holds a different MotionLab-Synth build ({have}; asked for {want}): pass "
                           f"force=True (CLI: --force) to rebuild it, or choose another folder")
    return out


def build_synth(out_dir: str | Path, n_motions: int, seed: int = 0, mirror: bool = True,
                progress: bool | None = None, *, workers: int | None = None, force: bool = False) -> Path:
    """Write MotionLab-Synth (``n_motions`` motions, plus their mirrors ``M<name>`` when ``mirror``) into
    ``out_dir`` in the HumanML3D layout and return the folder.

    An existing complete build with the same settings is kept (``force`` rebuilds it); the folder appears
    only when the build finished.  ``workers`` processes generate motions (default: one per core, at most
    8); the result does not depend on it.  ``progress``: a bar in a terminal (None: auto, quiet under CI and
    papermill; ``$MOTIONLAB_PROGRESS`` overrides).  Besides the standard files, ``synth_meta.json`` records each motion's actions,
    labelled parameters and caption levels for the dataset card.
    """
    if not isinstance(n_motions, (int, np.integer)) or isinstance(n_motions, bool):
        raise InputError(f"n_motions must be an integer, got {n_motions!r}")
    n_motions = int(n_motions)
    out = Path(out_dir)
    splits = split_names(n_motions, seed)  # validates n_motions
    if out.exists() and not force:
        done = _existing(out, n_motions, seed, mirror)
        if done is not None:
            return done
        if any(out.iterdir()) and not (out / META_FILE).exists():
            raise DatasetError(f"{out} exists and is not a MotionLab-Synth folder; refusing to overwrite it "
                               f"(choose an empty or new folder)")
    elif out.exists():
        _check_replaceable(out)
    remove_stale_builds(out)
    work = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    n_workers = min(MAX_WORKERS, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    jobs = [(i, seed, mirror) for i in range(n_motions)]
    bar = None
    if progress_enabled(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=n_motions, desc="MotionLab-Synth", unit="motion")
    start = time.perf_counter()
    with _sigterm_cleans_up():  # SIGTERM, like Ctrl-C, removes the half-written folder
        try:
            if n_workers > 1 and n_motions >= 64:
                ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
                with ctx.Pool(n_workers, initializer=_worker_init) as pool:
                    stream = _Stream(pool.imap(_work, jobs, chunksize=32), n_motions, mirror, bar)
                    _write(work, stream, splits, mirror)
            else:
                stream = _Stream(map(_work, jobs), n_motions, mirror, bar)
                _write(work, stream, splits, mirror)
            meta = {"version": GENERATOR_VERSION, "seed": seed, "n_motions": n_motions, "mirror": mirror,
                    "fps": 20, "motions": stream.meta}
            (work / META_FILE).write_text(json.dumps(meta, sort_keys=True, separators=(",", ":")) + "\n")
            if out.exists():
                shutil.rmtree(out)
            work.rename(out)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        finally:
            if bar is not None:
                bar.close()
    if bar is not None:
        print(f"MotionLab-Synth: {n_motions * (2 if mirror else 1)} motions in {time.perf_counter() - start:.1f} s "
              f"-> {out}", file=sys.stderr)
    return out


def _check_replaceable(out: Path) -> None:
    """``force`` replaces a dataset (or an empty folder), never a folder of anything else."""
    if not out.is_dir():
        raise DatasetError(f"{out} exists and is not a folder; expected a dataset folder to rebuild")
    if any(out.iterdir()) and not holds_dataset(out) and not (out / META_FILE).exists():
        raise DatasetError(f"{out} is not a dataset folder; refusing to delete it even with force=True (--force) "
                           "(choose an empty or new folder)")


def _write(root: Path, stream: _Stream, splits: dict[str, list[str]], mirror_too: bool) -> None:
    if mirror_too:
        splits = {k: [*v, *("M" + n for n in v)] for k, v in splits.items()}  # a mirror stays in its split
    write_dataset(root, stream, splits, "t2m")
