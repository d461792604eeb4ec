"""Checkpoint I/O without pickles: safetensors for tensors, JSON for everything else.

Two kinds of folders are written here:

* a **model folder** (:func:`save_model` / :func:`load_model`): ``model.safetensors`` (the state dict),
  ``config.json`` (the fields of ``model.config``, a dataclass) and optionally ``extra.json`` +
  ``extra.safetensors`` (whatever else the model needs at load time: normaliser statistics, a vocabulary);
* a **training checkpoint** (:func:`save_training_state` / :func:`load_training_state`), used by
  :mod:`motionlab.training` to resume exactly: the model weights, the optimizer state flattened into
  ``optimizer.safetensors`` (+ its non-tensor parts in ``state.json``), the RNG states and the loop state.

Nothing is ever unpickled: a checkpoint from an untrusted source can at worst fail to load.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import typing
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from motionlab.errors import CheckpointError
from motionlab.runtime import to_jsonable

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
EXTRA_JSON = "extra.json"
EXTRA_TENSORS = "extra.safetensors"


# ------------------------------------------------------------------------------------- tensor files
def save_tensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write a flat ``name -> tensor`` dict as safetensors (CPU, contiguous, aliasing removed by copying)."""
    # safetensors refuses tensors that share storage; a detached contiguous CPU clone of each avoids that.
    plain = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(plain, str(path), metadata=metadata)


def load_tensors(path: str | Path, device: str | torch.device = "cpu", *, check_finite: bool = True
                 ) -> dict[str, torch.Tensor]:
    """Read a safetensors file; a missing or corrupt file raises :class:`CheckpointError` naming it, and so
    does a floating-point tensor holding NaN or infinite values (unless ``check_finite=False``): such weights
    would only fail much later, deep inside a forward pass."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read {path} as safetensors: {err}") from err
    if check_finite:
        check_finite_tensors(tensors, path)
    return tensors


def check_finite_tensors(tensors: dict[str, torch.Tensor], source: str | Path) -> None:
    """Raise :class:`CheckpointError` naming ``source`` and each tensor with NaN or infinite values."""
    bad = []
    for name, t in tensors.items():
        if (t.is_floating_point() or t.is_complex()) and t.numel():
            n_bad = int((~torch.isfinite(t)).sum())
            if n_bad:
                bad.append(f"'{name}' ({n_bad} of {t.numel()} values)")
    if bad:
        raise CheckpointError(f"{source}: {len(bad)} tensor(s) hold NaN or infinite values: {_few(bad, 3)}; "
                              "expected finite weights (the run that saved them probably diverged: retrain, or "
                              "use an earlier checkpoint)")


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a missing or malformed file raises :class:`CheckpointError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from err


def write_json(obj: Any, path: str | Path) -> None:
    """Write JSON (dataclasses, tuples, paths and numpy scalars converted) with a trailing newline."""
    Path(path).write_text(json.dumps(to_jsonable(obj), indent=2) + "\n")


# ------------------------------------------------------------------------------------ state dicts
def _alias_groups(module: torch.nn.Module) -> dict[str, list[str]]:
    """name -> all state-dict names sharing its storage (tied weights such as input/output embeddings)."""
    by_ptr: dict[tuple, list[str]] = {}
    for name, t in module.state_dict(keep_vars=True).items():
        by_ptr.setdefault(_identity(t, name), []).append(name)
    return {name: names for names in by_ptr.values() for name in names}


def _identity(t: torch.Tensor, name: str) -> tuple:
    """Two state-dict entries are the same tensor when they view the same memory the same way."""
    if t.numel() == 0:  # empty tensors may all report address 0
        return (name,)
    return (t.device, t.data_ptr(), t.dtype, tuple(t.shape), tuple(t.stride()))


def model_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with every tied tensor stored once (under its first name)."""
    state, seen = {}, set()
    for name, t in module.state_dict().items():
        key = _identity(t, name)
        if key in seen:
            continue
        seen.add(key)
        state[name] = t
    return state


def load_model_state(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Copy ``state`` into ``module``, raising :class:`CheckpointError` on any missing, unexpected or
    mis-shaped tensor (the message names the file ``source`` and the tensors)."""
    own = module.state_dict()
    aliases = _alias_groups(module)
    missing = [k for k in own if k not in state and not any(a in state for a in aliases.get(k, [k]))]
    unexpected = sorted(k for k in state if k not in own)
    shapes = [
        f"'{k}': file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    problems = []
    if shapes:
        problems.append(f"{len(shapes)} tensor(s) with mismatching shapes: " + "; ".join(shapes[:10]))
    if missing:
        problems.append(f"{len(missing)} missing tensor(s): {_few(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s): {_few(unexpected)}")
    if problems:
        raise CheckpointError(f"{source} does not fit {type(module).__name__}: " + "; ".join(problems))
    module.load_state_dict(state, strict=False)  # strict checks done above (tied names may be absent)


def _few(names: list[str], n: int = 10) -> str:
    return ", ".join(names[:n]) + (f", ... (+{len(names) - n} more)" if len(names) > n else "")


# -------------------------------------------------------------------------------------- configs
def config_from_dict(config_cls: type, values: dict, source: str | Path) -> Any:
    """Build ``config_cls(**values)``, turning JSON lists back into tuples (and nested dicts back into
    dataclasses) where the field's annotation says so.  Unknown or missing fields raise
    :class:`CheckpointError` naming ``source``."""
    if not isinstance(values, dict):
        raise CheckpointError(f"{source}: expected a JSON object of config fields, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(config_cls) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise CheckpointError(
            f"{source}: unknown field(s) {unknown} for {config_cls.__name__} (known: {sorted(fields)}); "
            "the checkpoint was written by a different version of the model"
        )
    required = [n for n, f in fields.items() if n not in values and _has_no_default(f)]
    if required:
        raise CheckpointError(f"{source}: missing required field(s) {required} for {config_cls.__name__}")
    try:
        hints = typing.get_type_hints(config_cls)
    except Exception:  # unresolvable annotations: fall back to "every list was a tuple"
        hints = {}
    kwargs = {name: _restore(value, hints.get(name, tuple), source) for name, value in values.items()}
    for name, value in kwargs.items():
        expected = _type_mismatch(value, hints.get(name, Any))
        if expected is not None:
            raise CheckpointError(f"{source}: field '{name}' of {config_cls.__name__} is {value!r} "
                                  f"({type(value).__name__}); expected {expected}")
    try:
        return config_cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{source}: cannot build {config_cls.__name__}: {err}") from err


def _type_mismatch(value: Any, hint: Any) -> str | None:
    """None when ``value`` (as JSON brought it back) fits the annotation ``hint``, else a description of
    what was expected.  Annotations this does not understand accept anything."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, (str, typing.TypeVar)):
        return None
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if all(_type_mismatch(value, a) is not None for a in args):
            return " or ".join(_type_name(a) for a in args)
        return None
    if origin is typing.Literal:
        return None if value in args else "one of " + ", ".join(repr(a) for a in args)
    if hint is type(None):
        return None if value is None else "null"
    if hint is bool:
        return None if isinstance(value, bool) else "true or false"
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else "a finite number"
    if hint is str:
        return None if isinstance(value, str) else "a string"
    if hint is tuple or origin is tuple:
        return _sequence_mismatch(value, tuple, args)
    if origin is list or hint is list:
        return _sequence_mismatch(value, list, args[:1] + (Ellipsis,) if args else ())
    if origin is dict or hint is dict:
        return None if isinstance(value, dict) else "a JSON object"
    if isinstance(hint, type):
        return None if isinstance(value, hint) else _type_name(hint)
    return None


def _sequence_mismatch(value: Any, kind: type, args: tuple) -> str | None:
    """``value`` against ``tuple[X, ...]`` / ``list[X]`` (each item an X) or ``tuple[X, Y]`` (fixed length)."""
    if not isinstance(value, kind):
        return "a list"
    if not args:
        return None
    if len(args) == 2 and args[1] is Ellipsis:
        if any(_type_mismatch(v, args[0]) is not None for v in value):
            return f"a list whose items are each {_type_name(args[0])}"
        return None
    if len(value) != len(args) or any(_type_mismatch(v, h) is not None for v, h in zip(value, args)):
        return f"a list of {len(args)} values: " + ", ".join(_type_name(h) for h in args)
    return None


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    return {int: "an integer", float: "a finite number", str: "a string", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint).replace("typing.", "")))


def _has_no_default(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _restore(value: Any, hint: Any, source: str | Path) -> Any:
    """Undo JSON's flattening: list -> tuple for tuple-typed fields, dict -> dataclass for nested configs."""
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and len(args) == 1:
        return _restore(value, args[0], source)  # Optional[X]
    if isinstance(value, dict) and dataclasses.is_dataclass(hint):
        return config_from_dict(hint, value, source)
    if isinstance(value, list):
        if hint is tuple or origin is tuple:
            inner = typing.get_args(hint)
            item_hint = inner[0] if inner and (len(inner) == 2 and inner[1] is Ellipsis or len(set(inner)) == 1) else tuple
            return tuple(_restore(v, item_hint, source) for v in value)
        if origin is list:
            inner = typing.get_args(hint)
            return [_restore(v, inner[0] if inner else Any, source) for v in value]
    return value


def _config_class(cls: type) -> type:
    for attr in ("config_class", "Config"):
        candidate = getattr(cls, attr, None)
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    raise CheckpointError(
        f"{cls.__name__} has no `config_class` class attribute naming its config dataclass; "
        "load_model needs it to rebuild the model"
    )


# ---------------------------------------------------------------------------------- model folders
def save_model(model: torch.nn.Module, folder: str | Path, extra: dict | None = None, *, config: Any = None) -> Path:
    """Save ``model`` into ``folder`` as ``model.safetensors`` + ``config.json`` (+ ``extra.json`` and
    ``extra.safetensors`` when ``extra`` is given).

    The config is ``config`` if given, else ``model.config``; it must be a dataclass.  ``extra`` is a dict of
    JSON values; tensors / numpy arrays among its top-level values are stored in ``extra.safetensors`` and come
    back from :func:`load_extra` as tensors.  The older call form ``save_model(model, config, folder, extra)``
    is accepted too.  Returns the folder.
    """
    if dataclasses.is_dataclass(folder) and not isinstance(folder, type):  # save_model(model, config, folder, extra)
        config, folder, extra = folder, extra, None
    config = model.config if config is None else config
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        raise CheckpointError(f"{type(model).__name__}.config must be a dataclass instance, got {type(config).__name__}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"class": f"{type(model).__module__}.{type(model).__qualname__}",
            "config_class": f"{type(config).__module__}.{type(config).__qualname__}"}
    save_tensors(model_state(model), folder / WEIGHTS, metadata=meta)
    try:
        write_json(config, folder / CONFIG)
    except TypeError as err:
        raise CheckpointError(f"{type(config).__name__} cannot be written as JSON ({folder / CONFIG}): {err}") from err
    if extra:
        tensors = {k: torch.as_tensor(v) for k, v in extra.items() if isinstance(v, (torch.Tensor, np.ndarray))}
        plain = {k: v for k, v in extra.items() if k not in tensors}
        write_json(plain, folder / EXTRA_JSON)
        if tensors:
            save_tensors(tensors, folder / EXTRA_TENSORS)
    return folder


def read_config(cls: type, folder: str | Path) -> Any:
    """The config dataclass stored in a model folder, built as ``cls.config_class(**config.json)``."""
    path = Path(folder) / CONFIG
    return config_from_dict(_config_class(cls), read_json(path), path)


def load_model(cls: type, folder: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a model saved by :func:`save_model` and load its weights (in eval mode, on ``device``).

    Contract for model classes: ``cls.config_class`` (or ``cls.Config``) is a class attribute naming the
    config dataclass; the model is built as ``cls.from_config(config)`` when that classmethod exists, else
    ``cls(config)``.  Raises :class:`CheckpointError` for a missing folder/file, a config with unknown or
    missing fields, and any missing, unexpected or mis-shaped tensor (named in the message).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"model folder {folder} does not exist")
    config = read_config(cls, folder)
    state = load_tensors(folder / WEIGHTS)
    model = cls.from_config(config) if hasattr(cls, "from_config") else cls(config)
    load_model_state(model, state, folder / WEIGHTS)
    return model.to(device).eval()


def load_extra(folder: str | Path) -> dict:
    """The ``extra`` dict saved with a model (JSON values, plus tensors from ``extra.safetensors``)."""
    folder = Path(folder)
    out = read_json(folder / EXTRA_JSON) if (folder / EXTRA_JSON).exists() else {}
    if (folder / EXTRA_TENSORS).exists():
        out.update(load_tensors(folder / EXTRA_TENSORS))
    return out


# ------------------------------------------------------------------------------- optimizer state
def flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``optimizer.state_dict()`` into tensors (``state.<param index>.<name>``) and a JSON part."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, slots in sd["state"].items():
        for name, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{name}"] = value
            else:
                scalars[f"{idx}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unflatten_optimizer(tensors: dict[str, torch.Tensor], info: dict) -> dict:
    """Inverse of :func:`flatten_optimizer`: a state dict ``optimizer.load_state_dict`` accepts."""
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    for key, value in info.get("scalars", {}).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in info["param_groups"]]
    return {"state": state, "param_groups": groups}


# -------------------------------------------------------------------------------------- RNG state
def rng_state() -> dict:
    """Python, numpy and torch (CPU + every CUDA device) RNG states, as JSON values and uint8 tensors."""
    import random

    py = random.getstate()
    np_state = np.random.get_state()
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    info = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
    }
    return {"json": info, "tensors": tensors}


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    import random

    py = state["json"]["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["json"]["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["tensors"]["rng.torch"].to(torch.uint8))
    cuda = [state["tensors"][k] for k in sorted(state["tensors"]) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([c.to(torch.uint8) for c in cuda[: torch.cuda.device_count()]])


# ---------------------------------------------------------------------------- training checkpoint
def save_training_state(
    folder: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict,
    rng: list[dict],
    best_weights: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write a resumable training checkpoint into ``folder`` atomically.

    Files: ``model.safetensors``, ``optimizer.safetensors`` (optimizer tensors + per-rank RNG tensors as
    ``rank<r>.rng.*``), ``best.safetensors`` (best weights so far, if any) and ``state.json`` (``state``,
    optimizer param groups, RNG states).  Written to ``<folder>.tmp`` and then renamed into place, so a crash
    while writing leaves the previous checkpoint intact.
    """
    folder = Path(folder)
    tmp, old = folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_tensors(model_state(model), tmp / WEIGHTS)
    opt_tensors, opt_info = flatten_optimizer(optimizer)
    rng_tensors = {f"rank{r}.{k}": v for r, s in enumerate(rng) for k, v in s["tensors"].items()}
    save_tensors({**opt_tensors, **rng_tensors}, tmp / "optimizer.safetensors")
    if best_weights is not None:
        save_tensors(best_weights, tmp / "best.safetensors")
    write_json({**state, "optimizer": opt_info, "rng": [s["json"] for s in rng]}, tmp / "state.json")
    with open(tmp / "state.json", "rb+") as handle:  # make sure the bytes are on disk before the rename
        os.fsync(handle.fileno())
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def find_training_state(folder: str | Path) -> Path | None:
    """The complete checkpoint at ``folder`` (or its ``.old`` twin after a crash mid-swap), else None."""
    folder = Path(folder)
    for candidate in (folder, folder.with_name(folder.name + ".old")):
        if (candidate / "state.json").is_file():
            return candidate
    return None


def load_training_state(folder: str | Path, rank: int = 0) -> dict:
    """Read a checkpoint written by :func:`save_training_state`.

    Returns ``{"state", "model", "optimizer" (a loadable state dict), "rng" (this rank's, or None when the
    checkpoint was written by fewer ranks), "best" (tensors or None)}``.
    """
    folder = Path(folder)
    info = read_json(folder / "state.json")
    tensors = load_tensors(folder / "optimizer.safetensors")
    opt_tensors = {k: v for k, v in tensors.items() if k.startswith("state.")}
    rng = None
    if rank < len(info.get("rng", [])):
        prefix = f"rank{rank}."
        rng = {"json": info["rng"][rank],
               "tensors": {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}}
    state = {k: v for k, v in info.items() if k not in ("optimizer", "rng")}
    best = load_tensors(folder / "best.safetensors") if (folder / "best.safetensors").exists() else None
    return {"state": state, "model": load_tensors(folder / WEIGHTS),
            "optimizer": unflatten_optimizer(opt_tensors, info["optimizer"]), "rng": rng, "best": best}
