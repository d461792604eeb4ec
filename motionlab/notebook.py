"""What every chapter calls first: ``env = setup(profile=profile, data=data, seed=seed, device=device)``.

:func:`setup` turns the four values of a chapter's ``parameters`` cell into a :class:`Session`: it
resolves the profile (``auto``: papermill parameter > env ``MOTIONLAB_PROFILE`` > ``full`` when CUDA is
present > ``smoke``), picks the device, seeds python/numpy/torch, fixes the CPU thread count, installs the
book's plotly renderer and prints a short summary that is the same on every run (no paths, no times).

The session then gives a chapter its dataset folder (built on first use), a way to record results with
provenance, and a way to show the package's own source code.
"""

from __future__ import annotations

import inspect
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.profiles import Profile, get_profile
from motionlab.runtime import (
    cache_dir,
    provenance,
    resolve_device,
    seed_everything,
    set_cpu_threads,
    source_checkout,
    to_jsonable,
    write_json,
)

RESULTS_ENV = "MOTIONLAB_RESULTS"
PUBLISHED_PROFILES = ("laptop", "full", "paper")  # only these write into the repository's results/<profile>/
GPU_PROFILES = ("full", "paper")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def results_dir(profile: str | Profile) -> Path:
    """Where :meth:`Session.record` writes for a profile.

    ``laptop``, ``full`` and ``paper`` runs are results worth keeping: ``<root>/<profile>/`` with ``<root>``
    ``$MOTIONLAB_RESULTS``, else the checkout's ``results/``, else ``./results``.  ``smoke`` runs (CI) go to
    ``<cache>/results`` so that running the book never dirties the repository.
    """
    name = get_profile(profile).name
    if name not in PUBLISHED_PROFILES:
        return cache_dir() / "results"
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV]).expanduser().resolve() / name
    checkout = source_checkout()
    return ((checkout / "results") if checkout is not None else Path.cwd().resolve() / "results") / name


def published_record(name: str, profile: str = "laptop") -> dict | None:
    """The committed record ``results/<profile>/<name>.<profile>.json`` of a longer run (None if there is
    none): what a chapter run with ``smoke`` shows next to its own numbers, labelled with its provenance."""
    import json

    checkout = source_checkout()
    path = (checkout or Path.cwd()) / "results" / profile / f"{name}.{profile}.json"
    return json.loads(path.read_text()) if path.is_file() else None


@dataclass
class Session:
    """The resolved settings of one chapter run (what :func:`setup` returns).

    ``profile`` is the frozen :class:`~motionlab.profiles.Profile` with every model's training seed set to
    ``seed`` (so ``get_tokenizer_run(env.data_dir, env.profile.tokenizer)`` trains with it), ``device`` a ``torch.device``,
    ``seed`` the seed everything was seeded with and ``data`` the chapter's ``data`` parameter
    (``"synth"``, ``"humanml3d"``, ``"kit"`` or a folder path).
    """

    profile: Profile
    device: torch.device
    seed: int
    data: str
    _data_dir: Path | None = field(default=None, repr=False)

    @property
    def is_smoke(self) -> bool:
        """True for the CPU/CI profile (chapters use it to pick small figures and loose assertions)."""
        return self.profile.name == "smoke"

    @property
    def data_dir(self) -> Path:
        """The dataset folder; MotionLab-Synth is built on first use (then cached on disk)."""
        if self._data_dir is None:
            from motionlab.data.paths import resolve_dataset

            self._data_dir = resolve_dataset(self.data, self.profile)
        return self._data_dir

    def record(self, name: str, payload: dict) -> Path:
        """Write ``payload`` as ``<name>.<profile>.json`` with provenance; returns the file.

        ``laptop``/``full``/``paper`` runs write into ``results/<profile>/`` (see :func:`results_dir`);
        ``smoke`` runs write into the cache so CI never changes the repository.
        """
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise InputError(f"record name {name!r} must be a plain file stem (letters, digits, '_', '-', '.')")
        if not isinstance(payload, dict):
            raise InputError(f"record payload must be a dict, got {type(payload).__name__}")
        record = {
            "name": name,
            "profile": self.profile.name,
            "data": self.data,
            "seed": self.seed,
            "device": self.device.type,
            "results": to_jsonable(payload, "payload"),
            "provenance": provenance(),
        }
        path = write_json(results_dir(self.profile) / f"{name}.{self.profile.name}.json", record)
        where = (f"results/{self.profile.name}/" if self.profile.name in PUBLISHED_PROFILES
                 else "the cache (smoke runs keep results/ clean)")
        print(f"[motionlab] recorded {path.name} in {where}")
        return path

    def show_source(self, obj: Any) -> None:
        """Display the source code of a function, class or module as a highlighted block.

        The code is read from the installed package (``inspect.getsource``), so a chapter always shows
        exactly what it runs.  In a notebook it renders as a Markdown code block (which the book
        highlights); elsewhere it is printed.
        """
        display_source(obj)


def source_markdown(obj: Any) -> str:
    """Markdown for :meth:`Session.show_source`: a caption naming the object and its file, then the code."""
    try:
        lines, start = inspect.getsourcelines(obj)
        filename = inspect.getsourcefile(obj)
    except (TypeError, OSError) as err:
        raise InputError(f"cannot show the source of {obj!r}: {err} "
                         "(expected a Python function, class, method or module)") from None
    code = textwrap.dedent("".join(lines)).rstrip("\n")
    module = inspect.getmodule(obj)
    module_name = module.__name__ if module is not None else "?"
    qualname = getattr(obj, "__qualname__", None)
    full_name = module_name if inspect.ismodule(obj) or not qualname else f"{module_name}.{qualname}"
    rel = _package_relative(Path(filename)) if filename else "?"
    fence = "`" * max(3, _longest_backtick_run(code) + 1)  # longer than any run inside docstrings
    end = start + len(lines) - 1
    where = f"`{rel}`" + (f", lines {max(start, 1)}-{end}" if not inspect.ismodule(obj) else "")
    return f"**`{full_name}`** ({where})\n\n{fence}python\n{code}\n{fence}\n"


def display_source(obj: Any) -> None:
    """Show ``obj``'s source: rich Markdown inside IPython, plain text otherwise."""
    text = source_markdown(obj)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # plain python without IPython
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(text))


def _package_relative(path: Path) -> str:
    """``motionlab/runtime.py`` rather than an absolute path (outputs must not contain machine paths)."""
    parts = path.resolve().parts
    for anchor in ("motionlab",):
        if anchor in parts:
            idx = len(parts) - 1 - parts[::-1].index(anchor)
            return "/".join(parts[idx:])
    return path.name


def _longest_backtick_run(text: str) -> int:
    runs = re.findall(r"`+", text)
    return max((len(r) for r in runs), default=0)


def _data_label(data: str | Path) -> str:
    """How the summary names the data: the keyword, or only the folder name of a path."""
    key = str(data)
    if key in ("synth",) or key.lower() in ("humanml3d", "kit"):
        return key
    return Path(key).name or key


def setup(profile: str = "auto", data: str = "synth", seed: int = 0, device: str = "auto",
          *, quiet: bool = False) -> Session:
    """Resolve a chapter's parameters, seed everything and install the book's plotly renderer.

    Parameters are the chapter's ``parameters`` cell: ``profile`` (``smoke``/``full``/``paper``/``auto``),
    ``data`` (``synth``/``humanml3d``/``kit``/a folder), ``seed`` (int) and ``device`` (``auto``/``cpu``/
    ``cuda``/``cuda:1``...).  Prints a short summary (unless ``quiet``) and returns a :class:`Session`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"seed must be an integer, got {seed!r}")
    prof = get_profile(profile).with_seed(int(seed))  # the one place a chapter's profile is resolved
    dev = resolve_device(device)
    # Offline by design: sentence encoders ship inside packages, nothing comes from a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_cpu_threads(prof.cpu_threads)
    seed_everything(int(seed))

    from motionlab.viz.render import install

    install()
    session = Session(profile=prof, device=dev, seed=int(seed), data=str(data))
    if not quiet:
        print(summary(session))
    return session


def summary(session: Session) -> str:
    """The deterministic block :func:`setup` prints: profile, device type, seed and data name."""
    lines = [
        "motionlab session",
        f"  profile : {session.profile.name} -- {session.profile.description}",
        f"  device  : {session.device.type}",
        f"  seed    : {session.seed}",
        f"  data    : {_data_label(session.data)}",
    ]
    if session.profile.name in GPU_PROFILES and session.device.type == "cpu":
        lines.append(f"  note    : the {session.profile.name} profile is sized for a GPU; on a CPU it will be slow")
    return "\n".join(lines)
