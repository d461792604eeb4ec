"""The ``motionlab`` command.

    motionlab info                                   versions, device, resolved profile, cache location
    motionlab book run   [--profile P] [--chapters 01 03 ...]   execute chapters with papermill
    motionlab book build                             build the HTML book from executed chapters
    motionlab book freeze [--chapters ...]           store the reference output of nbval-check-output cells
    motionlab data synth [--profile P] [--out DIR]   build MotionLab-Synth
    motionlab data check DIR                         validate a dataset folder and print its statistics
    motionlab data convert JOINTS_DIR OUT [--force]  turn (T, 22, 3) joint arrays + captions into a dataset
    motionlab data import-bvh FOLDER OUT [--mapping cmu]   BVH motion capture -> a dataset folder
    motionlab generate "a person waves" --model t2m-gpt --out wave.html [--seconds S] [--format bvh]
                     (--model momask | tm2t | motiongpt | all: every model side by side)
    motionlab edit MOTION.npy "a person jumps" --frames 40:80 --out edited.html   MoMask inpainting
    motionlab caption MOTION.npy [--model tm2t|motiongpt] [--beam 2 | --sample]   captions for a motion
    motionlab compare --models t2m-gpt momask tm2t motiongpt [--out cmp.json]   every model side by side
    motionlab ask "Generate a motion of about 3 seconds: a person jumps" [--motion M.npy]   MotionGPT
    motionlab export MOTION.npy --format bvh|gltf --out walk.bvh   a motion as BVH or glTF (.glb)

Each sub-command is a thin layer over a library function; ``motionlab <cmd> --help`` documents it.
"""

from __future__ import annotations

import argparse
import os
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

    freeze_checked_outputs(chapters=args.chapters, profile=args.profile, timeout=args.timeout,
                           executed_dir=args.executed)
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


def _cmd_data_import_bvh(args: argparse.Namespace) -> int:
    from motionlab.io.commands import import_bvh_command

    return import_bvh_command(args)


def _cmd_export(args: argparse.Namespace) -> int:
    from motionlab.io.commands import export_command

    return export_command(args)


def _cmd_generate(args: argparse.Namespace) -> int:
    from motionlab.generators.commands import generate_command

    return generate_command(args)


def _cmd_caption(args: argparse.Namespace) -> int:
    from motionlab.generators.commands import caption_command

    return caption_command(args)


def _cmd_ask(args: argparse.Namespace) -> int:
    from motionlab.generators.motiongpt.commands import ask_command

    return ask_command(args)


def _cmd_compare(args: argparse.Namespace) -> int:
    from motionlab.generators.commands import compare_command

    return compare_command(args)


def _cmd_edit(args: argparse.Namespace) -> int:
    from motionlab.generators.commands import edit_command

    return edit_command(args)


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
    run.add_argument("--profile", default="auto", help="smoke, laptop, full, paper or auto (default)")
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
    freeze = book_sub.add_parser("freeze", help="store the output of each cell tagged nbval-check-output as the "
                                                "reference nbval compares against (in the cell's metadata)")
    freeze.add_argument("--chapters", nargs="*", default=None, help="chapter names or number prefixes")
    freeze.add_argument("--profile", default="smoke")
    freeze.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    freeze.add_argument("--executed", default=None,
                        help="take the outputs from chapters already executed into this folder (book run --out)")
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
    convert.add_argument("--force", action="store_true", help="replace OUT if it already holds a dataset")
    convert.set_defaults(func=_cmd_data_convert)
    bvh = data_sub.add_parser("import-bvh", help="turn BVH motion capture into a dataset (t2m joints, 20 fps)")
    bvh.add_argument("source", help="a folder of .bvh files (searched recursively) or one .bvh file")
    bvh.add_argument("out", help="output dataset folder (HumanML3D layout)")
    bvh.add_argument("--mapping", default=None, help="t2m, smpl, cmu, mixamo or a mapping .json file "
                                                     "(default: detected from the joint names)")
    bvh.add_argument("--units", default="auto", help="auto (from the leg length), m, cm, mm, in or cmu")
    bvh.add_argument("--texts", default=None, help="folder of NAME.txt captions (default: beside each .bvh)")
    bvh.add_argument("--caption", default=None, help="caption for motions without a caption file")
    bvh.add_argument("--seed", type=int, default=0, help="seed for the train/val/test split")
    bvh.add_argument("--mirror", action="store_true", help="also write left/right mirrored copies (M<NAME>)")
    bvh.add_argument("--force", action="store_true", help="replace OUT if it already holds a dataset")
    bvh.set_defaults(func=_cmd_data_import_bvh)

    gen = sub.add_parser("generate", help="generate a motion from a sentence")
    gen.add_argument("text", help="the caption, e.g. \"a person waves with the left hand\"")
    gen.add_argument("--model", default="t2m-gpt", help="t2m-gpt, momask, tm2t, motiongpt, or all (side by side)")
    gen.add_argument("--out", default="motion.html", help=".html animation; .npy features and joints beside it")
    gen.add_argument("--profile", default="auto")
    gen.add_argument("--data", default="synth")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--device", default="auto")
    gen.add_argument("--samples", type=int, default=1)
    gen.add_argument("--seconds", type=float, default=None,
                     help="length of the motion (default: the model's own choice)")
    gen.add_argument("--format", choices=("html", "bvh", "gltf"), default="html",
                     help="bvh / gltf: also write each sample as a .bvh / .glb file beside the page")
    gen.set_defaults(func=_cmd_generate)

    edit = sub.add_parser("edit", help="regenerate frame ranges of a motion from a caption (MoMask inpainting)")
    edit.add_argument("motion", help="MOTION.npy: features (T, 263|251) or joints (T, 22|21, 3)")
    edit.add_argument("text", help="the caption for the regenerated frames")
    edit.add_argument("--frames", action="append", required=True,
                      help="START:STOP frames to regenerate (40:80, :40 prefix, 80: suffix); repeat for several")
    edit.add_argument("--out", default="edited.html", help=".html: source and edit side by side; .npy beside it")
    edit.add_argument("--profile", default="auto")
    edit.add_argument("--data", default="synth")
    edit.add_argument("--seed", type=int, default=0)
    edit.add_argument("--device", default="auto")
    edit.set_defaults(func=_cmd_edit)

    cap = sub.add_parser("caption", help="caption a motion with TM2T (features or joints .npy)")
    cap.add_argument("motion", help="MOTION.npy: features (T, 263|251) or joints (T, 22|21, 3)")
    cap.add_argument("--model", default="tm2t", help="the captioner: tm2t or motiongpt")
    cap.add_argument("--beam", type=int, default=2, help="beam width (default 2, the paper's)")
    cap.add_argument("--sample", action="store_true", help="sample from the top-k words instead of beam search")
    cap.add_argument("--top-k", dest="top_k", type=int, default=3, help="words kept when sampling (default 3)")
    cap.add_argument("--samples", type=int, default=1, help="captions to draw with --sample")
    cap.add_argument("--profile", default="auto")
    cap.add_argument("--data", default="synth")
    cap.add_argument("--device", default="auto")
    cap.add_argument("--seed", type=int, default=0)
    cap.set_defaults(func=_cmd_caption)

    ask = sub.add_parser("ask", help="give MotionGPT any instruction; it answers with text or a motion")
    ask.add_argument("instruction", help="e.g. \"Generate a motion of about 3 seconds: a person jumps\"")
    ask.add_argument("--motion", default=None,
                     help="MOTION.npy written into the instruction (at {motion}, else at the end)")
    ask.add_argument("--out", default="answer.html", help=".html animation when the answer is a motion; .npy beside it")
    ask.add_argument("--greedy", action="store_true", help="greedy decoding instead of top-k sampling")
    ask.add_argument("--top-k", dest="top_k", type=int, default=50)
    ask.add_argument("--max-tokens", dest="max_tokens", type=int, default=64, help="longest text answer (tokens)")
    ask.add_argument("--profile", default="auto")
    ask.add_argument("--data", default="synth")
    ask.add_argument("--seed", type=int, default=0)
    ask.add_argument("--device", default="auto")
    ask.set_defaults(func=_cmd_ask)

    compare = sub.add_parser("compare", help="every text->motion model side by side: quality, size and speed")
    compare.add_argument("--models", nargs="+", default=["t2m-gpt", "momask", "tm2t", "motiongpt"],
                         help="models to compare (default: all four)")
    compare.add_argument("--out", default=None, help="also write the table: .json or .csv")
    compare.add_argument("--profile", default="auto")
    compare.add_argument("--data", default="synth")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--device", default="auto")
    compare.set_defaults(func=_cmd_compare)

    export = sub.add_parser("export", help="write a motion (.npy features or joints) as BVH or glTF")
    export.add_argument("motion", help="NAME.npy: features (T, 263|251) or joints (T, 22|21, 3)")
    export.add_argument("--format", choices=("bvh", "gltf"), default=None,
                        help="default: from --out's suffix (.bvh, .glb, .gltf), else bvh")
    export.add_argument("--out", default=None, help="output file (default: beside MOTION, .bvh or .glb)")
    export.add_argument("--skeleton", default="auto", help="t2m, kit or auto (from the array's shape)")
    export.add_argument("--fps", type=float, default=None, help="frame rate (default: 20; KIT-ML 12.5)")
    export.add_argument("--units", choices=("m", "cm", "mm"), default="m", help="BVH length unit")
    export.set_defaults(func=_cmd_export)
    return parser


def _check_common_options(args: argparse.Namespace) -> None:
    """Check ``--profile`` and ``--device`` before any work starts, as one-line input errors."""
    from motionlab.errors import InputError

    profile = getattr(args, "profile", None)
    if profile is not None:
        from motionlab.profiles import get_profile

        try:
            get_profile(profile)
        except (ValueError, KeyError) as err:  # unknown name given, or in $MOTIONLAB_PROFILE
            given = "--profile" if str(profile).lower() not in ("", "auto") else "$MOTIONLAB_PROFILE"
            raise InputError(f"{given}: {err.args[0] if err.args else err}") from None
    device = getattr(args, "device", None)
    if device not in (None, "", "auto"):
        import torch

        from motionlab.runtime import resolve_device

        try:
            dev = resolve_device(device)
        except (RuntimeError, ValueError) as err:  # no CUDA here, or not a device name torch knows
            if "CUDA is not available" in str(err):
                raise InputError(f"--device {device!r}: CUDA is not available on this machine; use --device cpu "
                                 "(or auto)") from None
            raise InputError(f"--device {device!r}: not a device torch knows; expected auto, cpu or cuda[:N]") from None
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")


def main(argv: list[str] | None = None) -> int:
    """Run the command; expected user errors print one line on stderr and exit with code 2."""
    from motionlab.errors import MotionlabError

    args = build_parser().parse_args(argv)
    try:
        _check_common_options(args)
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and cut short: not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (MotionlabError, OSError) as err:  # bad input, missing or unwritable files: one clear line
        return _fail(str(err))
    except ImportError as err:  # an optional extra is not installed
        return _fail(f"{err}; install motionlab with its extras (pip install -e '.[book,dev,export]')")
    except KeyboardInterrupt:
        print("motionlab: interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    """One line saying what went wrong (a message's own indented detail lines, if any, follow it)."""
    print(f"motionlab: error: {message.strip() or 'failed'}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
