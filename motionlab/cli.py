"""The ``motionlab`` command.

    motionlab info                                   versions, device, resolved profile, cache location
    motionlab book run   [--profile P] [--chapters 01 03 ...]   execute chapters with papermill
    motionlab book build                             build the HTML book from executed chapters
    motionlab book freeze [--chapters ...]           store the reference output of '# NBVAL_CHECK_OUTPUT' cells
    motionlab data synth [--profile P] [--out DIR]   build MotionLab-Synth
    motionlab data check DIR                         validate a dataset folder and print its statistics
    motionlab data convert JOINTS_DIR OUT            turn (T, 22, 3) joint arrays + captions into a dataset
    motionlab generate "a person waves" --model t2m-gpt --out wave.html

Each sub-command is a thin layer over a library function; ``motionlab <cmd> --help`` documents it.
"""

from __future__ import annotations

import argparse
import sys


def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import torch

    import motionlab
    from motionlab.profiles import get_profile
    from motionlab.runtime import cache_dir, data_root, machine_description, resolve_device

    profile = get_profile(args.profile)
    rows = {
        "motionlab": motionlab.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": machine_description(),
        "device": str(resolve_device("auto")),
        "profile": f"{profile.name} ({profile.description})",
        "cache": str(cache_dir()),
        "data": str(data_root()),
    }
    for module in ("numpy", "scipy", "plotly", "sentence_transformers", "papermill", "jupyter_book"):
        try:
            rows[module] = __import__(module).__version__
        except Exception:  # optional extras may be missing
            rows[module] = "not installed"
    width = max(map(len, rows))
    for key, value in rows.items():
        print(f"{key:<{width}}  {value}")
    return 0


def _cmd_book_run(args: argparse.Namespace) -> int:
    from motionlab.book import run_chapters

    failures = run_chapters(
        profile=args.profile, chapters=args.chapters, out_dir=args.out, data=args.data, seed=args.seed,
        device=args.device, timeout=args.timeout, prepare_only=args.prepare_only,
    )
    return 1 if failures else 0


def _cmd_book_build(args: argparse.Namespace) -> int:
    from motionlab.book import build_book

    build_book(executed_dir=args.executed, out_dir=args.out)
    return 0


def _cmd_book_freeze(args: argparse.Namespace) -> int:
    from motionlab.checked_cells import freeze_checked_outputs

    freeze_checked_outputs(chapters=args.chapters, profile=args.profile, timeout=args.timeout)
    return 0


def _cmd_data_synth(args: argparse.Namespace) -> int:
    from motionlab.data.synth.cli import synth_command

    return synth_command(args)


def _cmd_data_check(args: argparse.Namespace) -> int:
    from motionlab.data.commands import check_command

    return check_command(args)


def _cmd_data_convert(args: argparse.Namespace) -> int:
    from motionlab.data.commands import convert_command

    return convert_command(args)


def _cmd_generate(args: argparse.Namespace) -> int:
    from motionlab.generators.commands import generate_command

    return generate_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motionlab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="versions, device, resolved profile and cache location")
    info.add_argument("--profile", default="auto")
    info.set_defaults(func=_cmd_info)

    book = sub.add_parser("book", help="execute chapters and build the HTML book")
    book_sub = book.add_subparsers(dest="book_command", required=True)
    run = book_sub.add_parser("run", help="execute chapters with papermill into a build folder")
    run.add_argument("--profile", default="auto", help="smoke, full, paper or auto (default)")
    run.add_argument("--chapters", nargs="*", default=None,
                     help="chapter names or number prefixes, e.g. 00 03 (default: every chapter in _toc.yml)")
    run.add_argument("--out", default="_build/executed", help="folder for executed notebooks")
    run.add_argument("--data", default="synth")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--device", default="auto")
    run.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    run.add_argument("--prepare-only", action="store_true",
                     help="only inject parameters (what CI feeds to nbval), do not execute")
    run.set_defaults(func=_cmd_book_run)
    build = book_sub.add_parser("build", help="build the HTML book (Jupyter Book 1.x) from executed chapters")
    build.add_argument("--executed", default="_build/executed")
    build.add_argument("--out", default="_build")
    build.set_defaults(func=_cmd_book_build)
    freeze = book_sub.add_parser("freeze", help="store the output of each '# NBVAL_CHECK_OUTPUT' cell as the "
                                                "reference nbval compares against (in the cell's metadata)")
    freeze.add_argument("--chapters", nargs="*", default=None, help="chapter names or number prefixes")
    freeze.add_argument("--profile", default="smoke")
    freeze.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    freeze.set_defaults(func=_cmd_book_freeze)

    data = sub.add_parser("data", help="build, check and convert datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    synth = data_sub.add_parser("synth", help="build the procedural MotionLab-Synth dataset")
    synth.add_argument("--profile", default="auto", help="size: smoke (~1.6k motions) or full (30k)")
    synth.add_argument("--out", default=None, help="output folder (default: the profile's data folder)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--motions", type=int, default=None, help="override the profile's motion count")
    synth.add_argument("--no-mirror", action="store_true", help="do not add mirrored copies")
    synth.add_argument("--force", action="store_true", help="rebuild even if the folder exists")
    synth.set_defaults(func=_cmd_data_synth)
    check = data_sub.add_parser("check", help="validate a HumanML3D / KIT-ML folder and print statistics")
    check.add_argument("folder")
    check.add_argument("--skeleton", default="auto", help="t2m, kit or auto (from the feature width)")
    check.set_defaults(func=_cmd_data_check)
    convert = data_sub.add_parser("convert", help="turn (T, 22, 3) joint arrays + captions into a dataset")
    convert.add_argument("joints_dir", help="folder of NAME.npy joint arrays (metres, y up, 20 fps)")
    convert.add_argument("out", help="output dataset folder (HumanML3D layout)")
    convert.add_argument("--texts", default=None, help="folder of NAME.txt captions (default: joints_dir)")
    convert.add_argument("--skeleton", default="t2m")
    convert.add_argument("--fps", type=float, default=20.0, help="frame rate of the input joints")
    convert.add_argument("--seed", type=int, default=0, help="seed for the train/val/test split")
    convert.add_argument("--mirror", action="store_true", help="also write left/right mirrored copies (M<NAME>)")
    convert.set_defaults(func=_cmd_data_convert)

    gen = sub.add_parser("generate", help="generate a motion from a sentence")
    gen.add_argument("text", help="the caption, e.g. \"a person waves with the left hand\"")
    gen.add_argument("--model", default="t2m-gpt")
    gen.add_argument("--out", default="motion.html", help=".html animation; .npy features and joints beside it")
    gen.add_argument("--profile", default="auto")
    gen.add_argument("--data", default="synth")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--device", default="auto")
    gen.add_argument("--samples", type=int, default=1)
    gen.set_defaults(func=_cmd_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    from motionlab.errors import MotionlabError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, MotionlabError) as err:  # user errors: one clear line, no traceback
        print(f"motionlab: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
