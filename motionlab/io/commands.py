"""``motionlab export`` and ``motionlab data import-bvh``: thin CLI wrappers over :mod:`motionlab.io`."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from motionlab.errors import InputError


def export_command(args: argparse.Namespace) -> int:
    """``motionlab export MOTION.npy --format bvh|gltf --out walk.bvh``: write one motion, say how well it fits."""
    from motionlab.io.export import FORMATS, SUFFIX_FORMATS, export_motion

    source = Path(args.motion)
    fmt = args.format or (SUFFIX_FORMATS.get(Path(args.out).suffix.lower()) if args.out else None) or "bvh"
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    stem = source.name[: -len(".npy")] if source.name.endswith(".npy") else source.name
    out = Path(args.out) if args.out else source.with_name(stem + FORMATS[fmt])
    result = export_motion(source, out, format=fmt, skeleton=args.skeleton, fps=args.fps, units=args.units)
    print(result.summary())
    return 0


def import_bvh_command(args: argparse.Namespace) -> int:
    """``motionlab data import-bvh FOLDER OUT [--mapping cmu]``: import, state every decision, check the result."""
    from motionlab.data.commands import describe_folder, format_description
    from motionlab.io.bvh_import import ImportNotice, import_bvh_folder

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = import_bvh_folder(args.source, args.out, args.mapping, texts=args.texts, units=args.units,
                                   caption=args.caption, seed=args.seed, mirror=args.mirror,
                                   force=getattr(args, "force", False))
    for item in result["imported"]:
        print(f"{item.path.name}: {item.source_frames} frames at {item.source_fps:.4g} fps -> "
              f"{item.frames} frames at {item.fps:g} fps")
        for text in item.notes:
            print(f"  note: {text}")
    for w in caught:  # everything else (skipped files, motions without captions) is a counted warning
        if not issubclass(w.category, ImportNotice):
            print(f"warning: {w.message}")
    print(f"wrote {result['motions']} motions to {result['root']} (train {result['splits']['train']}, "
          f"val {result['splits']['val']}, test {result['splits']['test']})")
    info = describe_folder(result["root"])
    print(format_description(info))
    return 0 if info["report"].ok else 1
