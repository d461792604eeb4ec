"""Where datasets live and how a chapter's ``data`` parameter turns into a folder.

``data`` is ``"synth"`` (MotionLab-Synth at the profile's size, built on first use), ``"humanml3d"`` or
``"kit"`` (the real datasets, which a user places under ``data_root()``), or a path to any folder in the
HumanML3D layout.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from motionlab.profiles import Profile, get_profile
from motionlab.runtime import data_root

REAL_DATASETS = {"humanml3d": "HumanML3D", "kit": "KIT-ML"}


def synth_dir(profile: str | Profile = "auto") -> Path:
    """The default folder of MotionLab-Synth for a profile (``paper`` uses the ``full`` size)."""
    name = get_profile(profile).name
    return data_root() / "synth" / ("full" if name == "paper" else name)


def resolve_dataset(data: str | Path = "synth", profile: str | Profile = "auto", *, build: bool = True) -> Path:
    """The dataset folder for a chapter's ``data`` parameter; builds MotionLab-Synth when it is missing.

    MotionLab-Synth is a fixed benchmark like HumanML3D: the default folder always holds the seed-0 build
    of the profile's size, whatever seed a chapter trains with (build other seeds with the CLI into another
    folder and pass that folder).
    """
    key = str(data)
    if key == "synth":
        folder = synth_dir(profile)
        if not build:
            if not (folder / "all.txt").exists():
                raise FileNotFoundError(f"MotionLab-Synth is not built at {folder}: run `motionlab data synth`")
            return folder
        from motionlab.data.synth import build_synth
        from motionlab.errors import DatasetError

        prof = get_profile(profile)
        settings = dict(n_motions=prof.data.synth_motions, seed=0, mirror=prof.data.synth_mirror)
        try:
            return build_synth(folder, **settings)  # returns at once when this exact build is there
        except DatasetError as err:  # a build from another generator version or seed: this folder is ours
            print(f"[motionlab] rebuilding {folder}: {err}")
            return build_synth(folder, force=True, **settings)
    if key.lower() in REAL_DATASETS:
        folder = data_root() / REAL_DATASETS[key.lower()]
        if not folder.is_dir():
            raise FileNotFoundError(
                f"{REAL_DATASETS[key.lower()]} was not found at {folder}. It cannot be downloaded here (AMASS "
                f"licence): build it with the official HumanML3D scripts and place it there, or pass its path."
            )
        return folder
    folder = Path(key).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"data={key!r} is neither 'synth', 'humanml3d', 'kit' nor an existing folder")
    return folder.resolve()


_FINGERPRINT_FILES = ("all.txt", "train.txt", "val.txt", "test.txt", "Mean.npy", "Std.npy", "synth_meta.json")


def dataset_fingerprint(folder: str | Path) -> str:
    """A short hash of what identifies a dataset's content: its split lists, statistics and synth metadata.

    Any change to the motions changes Mean.npy/Std.npy, so artifacts trained on an older build of a dataset
    are never mistaken for artifacts of the current one.
    """
    digest = hashlib.sha256()
    for name in _FINGERPRINT_FILES:
        path = Path(folder) / name
        if path.exists():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def dataset_label(folder: str | Path) -> str:
    """The ``data`` part of artifact-cache keys: the folder's name plus its content fingerprint."""
    return f"{Path(folder).resolve().name}-{dataset_fingerprint(folder)}"
