"""``motionlab data synth``: build MotionLab-Synth from the command line."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from motionlab.data.paths import synth_dir
from motionlab.data.synth.build import build_synth
from motionlab.errors import InputError
from motionlab.profiles import get_profile


def synth_command(args: argparse.Namespace) -> int:
    """Build the dataset for ``--profile`` (size) into ``--out`` (default: the profile's data folder).

    ``--motions`` overrides the profile's count, ``--no-mirror`` leaves out the mirrored copies, ``--force``
    rebuilds an existing folder.  Prints where it went and how long it took.
    """
    profile = get_profile(getattr(args, "profile", "auto"))
    n = profile.data.synth_motions if getattr(args, "motions", None) is None else int(args.motions)
    if n < 3:
        raise InputError(f"--motions {n}: at least 3 motions are needed (one per split)")
    mirror = profile.data.synth_mirror and not getattr(args, "no_mirror", False)
    out = Path(args.out) if getattr(args, "out", None) else synth_dir(profile)
    force = bool(getattr(args, "force", False))
    existed = (out / "all.txt").exists() and not force
    start = time.perf_counter()
    folder = build_synth(out, n_motions=n, seed=int(getattr(args, "seed", 0)), mirror=mirror, force=force)
    total = n * (2 if mirror else 1)
    what = "kept the existing build" if existed else f"built in {time.perf_counter() - start:.1f} s"
    print(f"MotionLab-Synth ({profile.name}): {total} motions ({n} + {'mirrors' if mirror else 'no mirrors'}) "
          f"in {folder} ({what})")
    return 0
