"""Runtime services every stage shares: device, seeding, determinism, CPU threads and the artifact cache.

The artifact cache is what lets chapter 5 reuse the tokenizer that chapter 3 trained while each chapter
still runs alone: ``load_or_train(name, data, config, train_fn, load_fn)`` looks for a finished artifact
under ``cache_dir()/name/<data>-<hash>``, where the hash covers the config (:func:`artifact_key`: the
config without the fields that only change reporting); if none is there it trains into a temporary folder
and moves it into place only when training finished.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import fcntl
import hashlib
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
import torch

from motionlab.errors import InputError

T = TypeVar("T")

CACHE_ENV = "MOTIONLAB_CACHE"
DATA_ENV = "MOTIONLAB_DATA"
_COMPLETE = "COMPLETE.json"


# --------------------------------------------------------------------------------------------- device
def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` -> CUDA if present, else CPU.  An explicit device that is not available is an error."""
    if isinstance(device, torch.device):
        return device
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} was asked for but CUDA is not available on this machine")
    return dev


def set_cpu_threads(n: int | None) -> None:
    """Fix torch's intra-op thread count (CPU runs are then repeatable and do not oversubscribe CI)."""
    if n:
        torch.set_num_threads(int(n))


# -------------------------------------------------------------------------------------------- seeding
def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def set_deterministic(enabled: bool = True) -> None:
    """Ask torch for deterministic kernels (slower on GPU; CPU kernels are already deterministic)."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled


def rng(seed: int, *salt: int | str) -> np.random.Generator:
    """A numpy generator derived from a seed and any salts (step, epoch, name) -- no global state."""
    return np.random.default_rng([seed % 2**32, *(_salt_int(s) for s in salt)])


def torch_generator(seed: int, *salt: int | str, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator derived from a seed and salts, like :func:`rng`."""
    g = torch.Generator(device=device)
    g.manual_seed(int(rng(seed, *salt).integers(2**62)))
    return g


def _salt_int(s: int | str) -> int:
    if isinstance(s, int):
        return s % 2**32
    return int.from_bytes(hashlib.sha256(str(s).encode()).digest()[:4], "little")


# ------------------------------------------------------------------------------------- config hashing
def to_jsonable(obj: Any, where: str = "value") -> Any:
    """Plain JSON values for configs and records: dataclasses, dicts, lists/tuples, paths, numpy/torch arrays
    and scalars, pandas frames (one dict per row).  NaN and infinities become ``None`` so that records stay
    strict JSON (a std over one seed is NaN).  Anything else is an :class:`InputError` naming ``where``."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name), f"{where}.{f.name}") for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        return to_jsonable(obj.tolist() if isinstance(obj, np.ndarray) else obj.detach().cpu().tolist(), where)
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item(), where)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if hasattr(obj, "to_dict") and hasattr(obj, "columns"):  # a pandas DataFrame
        return to_jsonable(obj.to_dict(orient="records"), where)
    raise InputError(f"{where}: a {type(obj).__name__} is not JSON-like "
                     "(expected dict, list, number, string, numpy/torch array or dataclass)")


# Settings that change how a run reports, not what it learns: never part of an artifact's identity.
COSMETIC_FIELDS = frozenset({"progress", "log_every", "checkpoint_every", "ablation", "cpu_threads"})


def artifact_key(config: Any) -> Any:
    """The cache identity of a config: its JSON values without :data:`COSMETIC_FIELDS` (at any depth).

    ``eval_every`` counts only when evaluations choose the weights (``best_metric`` set); otherwise it is
    cosmetic too.
    """
    def strip(value):
        if isinstance(value, dict):
            cosmetic = COSMETIC_FIELDS | ({"eval_every"} if value.get("best_metric", 0) is None else set())
            return {k: strip(v) for k, v in value.items() if k not in cosmetic}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(to_jsonable(config))


def config_hash(config: Any, length: int = 12) -> str:
    """A short, stable hash of a config (dataclass, dict or plain values)."""
    blob = json.dumps(to_jsonable(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


# --------------------------------------------------------------------------------------------- cache
def source_checkout() -> Path | None:
    """The repository motionlab runs from, when it is an editable install of a checkout (else None)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").exists() and (root / "book").is_dir() else None


def _home_subdir(env: str, checkout_sub: str, home_sub: str) -> Path:
    if os.environ.get(env):
        path = Path(os.environ[env]).expanduser()
    elif (checkout := source_checkout()) is not None:
        path = checkout / checkout_sub  # each clone keeps its own cache: a fresh clone starts clean
    else:
        path = Path.home() / ".cache" / "motionlab" / home_sub
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def cache_dir() -> Path:
    """Root of the artifact cache: ``$MOTIONLAB_CACHE``, else ``<checkout>/.cache/artifacts``, else
    ``~/.cache/motionlab/artifacts``."""
    return _home_subdir(CACHE_ENV, ".cache/artifacts", "artifacts")


def data_root() -> Path:
    """Where datasets live: ``$MOTIONLAB_DATA``, else ``<checkout>/data``, else ``~/.cache/motionlab/data``."""
    return _home_subdir(DATA_ENV, "data", "data")


def artifact_dir(name: str, data: str, config: Any) -> Path:
    """Where :func:`load_or_train` keeps the artifact for this (name, data, config): the config alone says
    what was trained, so two profiles that hold the same config share the artifact."""
    safe_data = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(data))[-48:]
    return cache_dir() / name / f"{safe_data}-{config_hash(config)}"


def is_cached(name: str, data: str, config: Any) -> bool:
    """Whether :func:`load_or_train` with these arguments would load (a finished artifact is there)."""
    return (artifact_dir(name, data, config) / _COMPLETE).exists()


@contextlib.contextmanager
def _file_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # two chapters training the same artifact wait for each other
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_or_train(
    name: str,
    data: str,
    config: Any,
    train_fn: Callable[[Path], T],
    load_fn: Callable[[Path], T],
    *,
    retrain: bool = False,
    verbose: bool = True,
) -> T:
    """Return a cached artifact, training it first if it is not in the cache.

    ``train_fn(workdir)`` trains, writes everything it needs into ``workdir`` and returns the artifact;
    ``load_fn(folder)`` rebuilds it from such a folder.  The folder only becomes visible once training
    returned, so an interrupted run never leaves a half-written artifact behind; the work folder of an
    interrupted run is kept and handed to the next attempt, so a ``train_fn`` that checkpoints resumes.
    """
    final = artifact_dir(name, data, config)
    with _file_lock(final.parent / f".{final.name}.lock"):
        if (final / _COMPLETE).exists() and not retrain:
            if verbose:
                print(f"[motionlab] loaded cached {name} ({final.name})")
            return load_fn(final)
        # An interrupted earlier attempt leaves its work folder (and any periodic checkpoint in it) behind:
        # keep it, so that a train_fn that checkpoints resumes where it stopped.
        work = final.parent / f".{final.name}.tmp"
        resuming = work.is_dir()
        work.mkdir(parents=True, exist_ok=True)
        if verbose:
            print(f"[motionlab] {'resuming' if resuming else 'training'} {name} ({final.name}) ...")
        start = time.perf_counter()
        with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
            artifact = train_fn(work)  # verbose=False also hides the training log
        record = {
            "name": name,
            "data": str(data),
            "config": to_jsonable(config),
            "seconds": round(time.perf_counter() - start, 2),
            **provenance(),
        }
        (work / _COMPLETE).write_text(json.dumps(record, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        work.rename(final)
        return artifact


def artifact_record(folder: Path) -> dict:
    """The provenance record written next to a cached artifact."""
    return json.loads((Path(folder) / _COMPLETE).read_text())


def write_json(path: str | Path, record: Any) -> Path:
    """Write a JSON record atomically (a reader never sees half a file), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(record), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


# --------------------------------------------------------------------------------------- provenance
def git_commit(cwd: Path | None = None) -> str | None:
    """The current git commit of the checkout motionlab runs from, if any."""
    here = cwd or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def machine_description() -> str:
    """One line naming the machine: CPU model and cores, or the GPU."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}), {os.cpu_count()} CPU cores"
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, no GPU"


def provenance() -> dict:
    """Who/where/when for results files: machine, versions, commit and date."""
    return {
        "machine": machine_description(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
