"""``motionlab generate "a person waves with the left hand" --model t2m-gpt --out wave.html`` and
``motionlab edit MOTION.npy "a person jumps" --frames 40:80 --out edited.html``.

Writes an animated skeleton page (``wave.html``, plotly.js inlined so it opens offline) and, beside it,
``wave.features.npy`` (raw features, frames x 263) and ``wave.joints.npy`` (joint positions, frames x 22 x 3);
with ``--samples N > 1`` one pair per sample (``wave.s2.features.npy`` ...) and all samples side by side in
the page.  The model is the profile's cached T2M-GPT (``--model momask``: its MoMask, the four parts; ``--model tm2t``:
its TM2T text->motion GRU); when it is
missing it is trained first (with its tokenizer), which the command says before it starts.  ``--seconds S``
fixes the length (S x the dataset's frame rate), which is otherwise the model's own choice.

``edit`` regenerates frame ranges of a motion file (features or joints) with the profile's MoMask
(``MoMaskPipeline.edit``): the page shows the decoded source and the edit side by side, and
``edited.features.npy`` / ``edited.joints.npy`` hold the result.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from motionlab.errors import InputError
from motionlab.generators.registry import TEXT_TO_MOTION, load_text_to_motion

FPS = {"t2m": 20.0, "kit": 12.5}  # frame rate per skeleton (HumanML3D, KIT-ML)


def output_paths(out: str | Path, n_samples: int, tags: list[str] | None = None
                 ) -> tuple[Path, list[tuple[Path, Path]]]:
    """The HTML page and the (features, joints) ``.npy`` paths of each sample (or of each tagged model)."""
    page = Path(out).expanduser()
    if page.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {str(out)!r}: expected a file name ending in .html (the .npy files go beside it)")
    stem = page.with_suffix("")
    if tags is None:
        tags = [""] if n_samples == 1 else [f".s{i + 1}" for i in range(n_samples)]
    else:
        tags = [f".{t}" for t in tags]
    return page, [(Path(f"{stem}{t}.features.npy"), Path(f"{stem}{t}.joints.npy")) for t in tags]


def check_writable(page: Path, arrays: list[tuple[Path, Path]]) -> None:
    """Fail now, not after minutes of loading and generating, when the outputs cannot be written: the
    folder is created (it would be anyway) and a scratch file is written into it and removed."""
    for path in (page, *(p for pair in arrays for p in pair)):
        if path.is_dir():
            raise InputError(f"--out {str(page)!r}: {path} is a folder; expected a file name")
        if path.exists() and not os.access(path, os.W_OK):
            raise InputError(f"--out {str(page)!r}: {path} exists and is read-only")
    folder = page.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--out {str(page)!r}: {existing} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".motionlab-write-test-"):
            pass
    except OSError as err:
        raise InputError(f"--out {str(page)!r}: cannot write into {folder} ({err.strerror or err})") from None


def profile_and_device(args: argparse.Namespace):
    """The command's profile and device, and a check that a real dataset named by ``--data`` is there before
    anything says it will train on it (MotionLab-Synth is built on first use instead)."""
    from motionlab.data.paths import resolve_dataset
    from motionlab.profiles import get_profile
    from motionlab.runtime import resolve_device

    profile, device = get_profile(args.profile), resolve_device(args.device)
    if args.data != "synth":
        resolve_dataset(args.data, profile, build=False)
    return profile, device


def generate_command(args: argparse.Namespace) -> int:
    """Run ``motionlab generate``; user errors raise :class:`InputError` (printed as one line by the CLI)."""
    from motionlab.data.paths import resolve_dataset
    from motionlab.text.encoders import check_prompts, get_text_encoder

    names = list(TEXT_TO_MOTION) if args.model == "all" else [args.model]
    if args.model != "all" and args.model not in TEXT_TO_MOTION:
        raise InputError(f"--model {args.model!r}: expected one of {', '.join(TEXT_TO_MOTION)} or all")
    if args.samples < 1 or args.samples > 32:
        raise InputError(f"--samples {args.samples}: expected 1..32")
    if len(names) > 1 and args.samples != 1:
        raise InputError("--model all draws one motion per model: leave --samples at 1")
    page, arrays = output_paths(args.out, args.samples, tags=names if len(names) > 1 else None)
    check_writable(page, arrays)
    seconds = getattr(args, "seconds", None)
    if seconds is not None and not (np.isfinite(seconds) and seconds > 0):
        raise InputError(f"--seconds {seconds}: expected a positive duration")
    profile, device = profile_and_device(args)
    # validate the prompt before any (possibly long) training: empty, unknown-only and overlong prompts fail here
    (text,) = check_prompts([args.text], encoder=get_text_encoder("minilm"), overlong="error")
    data_dir = resolve_dataset(args.data, profile)
    labels, motions, skeleton = [], [], "t2m"
    for name in names:
        label = TEXT_TO_MOTION[name].label
        print(f"[motionlab] {label}, profile {profile.name}, data {args.data}, device {device}")
        pipeline = load_text_to_motion(name, data_dir, profile, device)
        pipeline.reseed(args.seed)
        lengths = None
        if seconds is not None:  # frames at the dataset's rate; the pipeline refuses what its positions cannot hold
            lengths = [max(1, round(seconds * FPS.get(pipeline.skeleton, 20.0)))] * args.samples
        start = time.perf_counter()
        result = pipeline.generate([text] * args.samples, lengths)
        took = time.perf_counter() - start
        skeleton = result.skeleton
        for i, (tokens, feats, pos) in enumerate(zip(result.tokens, result.features, result.joints())):
            labels.append(label if args.samples == 1 else f"sample {i + 1}")
            motions.append((feats, pos))
            fps = FPS.get(skeleton, 20.0)
            print(f"  {labels[-1]}: {len(tokens)} tokens -> {len(feats)} frames ({len(feats) / fps:.1f} s)")
        print(f"[motionlab] generated in {took:.2f} s")

    from motionlab.viz import animate, save_html

    for (feat_path, joint_path), (feats, pos) in zip(arrays, motions):
        feat_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(feat_path, feats.astype(np.float32))
        np.save(joint_path, pos.astype(np.float32))
    save_html(animate([pos for _, pos in motions], skeleton=skeleton, titles=labels, caption=text), page)
    print(f"[motionlab] wrote {page}")
    for feat_path, joint_path in arrays:
        print(f"  {feat_path}\n  {joint_path}")
    if getattr(args, "format", "html") in ("bvh", "gltf"):  # --format bvh|gltf: one file per motion, beside the .npy
        from motionlab.io.export import FORMATS, export_motion

        for (feat_path, _), (_, pos) in zip(arrays, motions):
            out = feat_path.with_name(feat_path.name.replace(".features.npy", FORMATS[args.format]))
            print(f"  {export_motion(pos, out, format=args.format, skeleton=skeleton).summary()}")
    return 0


def edit_command(args: argparse.Namespace) -> int:
    """Run ``motionlab edit``: regenerate frame ranges of a motion file with the profile's MoMask."""
    from motionlab.data.paths import resolve_dataset
    from motionlab.generators.momask.edit import parse_frame_range
    from motionlab.io.motion_file import motion_features
    from motionlab.text.encoders import check_prompts, get_text_encoder

    ranges = [parse_frame_range(r) for r in args.frames]
    motion, skeleton = motion_features(args.motion)
    page, arrays = output_paths(args.out, 1)
    check_writable(page, arrays)
    profile, device = profile_and_device(args)
    (text,) = check_prompts([args.text], encoder=get_text_encoder("minilm"), overlong="error")
    print(f"[motionlab] MoMask edit, profile {profile.name}, data {args.data}, device {device}")
    pipeline = load_text_to_motion("momask", resolve_dataset(args.data, profile), profile, device)
    pipeline.reseed(args.seed)
    tail = len(motion) % pipeline.unit
    if tail:
        print(f"[motionlab] note: the motion has {len(motion)} frames; tokens cover {pipeline.unit} frames each, so "
              f"the result holds the first {len(motion) - tail} (the last {tail} have no token)")
    start = time.perf_counter()
    out = pipeline.edit(motion, text, ranges)
    took = time.perf_counter() - start
    (feat_path, joint_path), = arrays
    feat_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(feat_path, out.features.astype(np.float32))
    np.save(joint_path, out.joints().astype(np.float32))
    from motionlab.viz import animate, save_html

    spans = ", ".join(f"{a}:{b}" for a, b in out.frame_spans)
    fig = animate([out.joints("source"), out.joints()], skeleton=skeleton.name,
                  titles=["source (decoded)", f"edited: frames {spans}"], caption=text,
                  fps=FPS.get(skeleton.name, 20.0))
    save_html(fig, page)
    kept = int((~out.edited()).sum())
    print(f"  regenerated frames {spans} (tokens {', '.join(f'{a}:{b}' for a, b in out.spans)}); {kept} of "
          f"{len(out.tokens)} tokens kept bit for bit; decoded frames changed up to {out.reach()} frame(s) beyond "
          "the span (the decoder's reach)")
    print(f"[motionlab] edited in {took:.2f} s; wrote {page}\n  {feat_path}\n  {joint_path}")
    return 0


def caption_command(args: argparse.Namespace) -> int:
    """Run ``motionlab caption MOTION.npy [--model tm2t] [--beam 2 | --sample]``: captions of a motion file."""
    from motionlab.data.paths import resolve_dataset
    from motionlab.generators.registry import MOTION_TO_TEXT, load_motion_to_text
    from motionlab.io.motion_file import motion_features

    if args.model not in MOTION_TO_TEXT:
        raise InputError(f"--model {args.model!r}: expected one of {', '.join(MOTION_TO_TEXT)}")
    if args.beam < 1 or args.beam > 16:
        raise InputError(f"--beam {args.beam}: expected 1..16")
    if args.samples < 1 or args.samples > 32:
        raise InputError(f"--samples {args.samples}: expected 1..32")
    features, skeleton = motion_features(args.motion)  # validate the input before any training
    profile, device = profile_and_device(args)
    data_dir = resolve_dataset(args.data, profile)
    mode = "sample" if args.sample else "beam"
    captioner = load_motion_to_text(args.model, data_dir, profile, device, mode=mode, beam=args.beam,
                                    top_k=args.top_k, seed=args.seed)
    dim = int(captioner.tokenizer.config.input_dim)
    if features.shape[1] != dim:
        raise InputError(f"{args.motion}: {features.shape[1]}-d {skeleton.name} features, but the captioner's "
                         f"dataset has {dim}-d features")
    how = f"beam {args.beam}" if mode == "beam" else f"top-{args.top_k} sampling"
    print(f"[motionlab] {MOTION_TO_TEXT[args.model].label} captioner, profile {profile.name}, data {args.data}, "
          f"device {device}, {how}")
    captions = captioner([features] * (args.samples if args.sample else 1))
    for i, text in enumerate(captions):
        print(f"  {i + 1}. {text}" if len(captions) > 1 else f"  {text}")
    return 0


def compare_command(args: argparse.Namespace) -> int:
    """Run ``motionlab compare --models t2m-gpt momask tm2t``: the protocol (ground-truth lengths and each model's
    own), parameters and speed of every model on one dataset and machine; prints the table, writes JSON/CSV."""
    from motionlab.data.folders import MotionFolder
    from motionlab.data.paths import resolve_dataset
    from motionlab.evaluation.compare import quality_table, quality_values, speed_table
    from motionlab.evaluation.evaluator import get_evaluator
    from motionlab.runtime import provenance, write_json

    unknown = [m for m in args.models if m not in TEXT_TO_MOTION]
    if unknown or not args.models:
        raise InputError(f"--models {' '.join(args.models)}: expected some of {', '.join(TEXT_TO_MOTION)}")
    out = Path(args.out).expanduser() if args.out else None
    if out is not None and out.suffix.lower() not in (".json", ".csv"):
        raise InputError(f"--out {args.out!r}: expected a .json or .csv file name")
    if out is not None:
        check_writable(out, [])
    profile, device = profile_and_device(args)
    data_dir = resolve_dataset(args.data, profile)
    evaluator = get_evaluator(data_dir, profile.evaluator, device)
    models = {TEXT_TO_MOTION[m].label: load_text_to_motion(m, data_dir, profile, device, evaluator)
              for m in dict.fromkeys(args.models)}
    test = MotionFolder(data_dir).load_split("test", warn=False)
    print(f"[motionlab] comparing {', '.join(models)} on {len(test)} test motions, profile {profile.name}, "
          f"device {device}")
    quality = quality_table(quality_values(models, evaluator, test, profile.protocol, seed=args.seed))
    prompts = [caps[0].text for caps in test.captions if caps][:32]
    speed = speed_table(models, prompts, device)
    wide = quality.assign(value=[f"{m:.3f} ± {c:.3f}" if np.isfinite(c) else f"{m:.3f}"
                                 for m, c in zip(quality["mean"], quality["ci"])])
    wide = wide.pivot_table(index=["lengths", "model"], columns="metric", values="value", aggfunc="first", sort=False)
    print(wide.to_string())
    print(speed.drop(columns=[c for c in speed if c.startswith("times_")]).round(4).to_string())
    if out is not None:
        if out.suffix.lower() == ".csv":
            quality.merge(speed.reset_index(), on="model", how="left").to_csv(out, index=False)
        else:
            write_json(out, {"quality": quality.to_dict("records"), "speed": speed.reset_index().to_dict("records"),
                             "profile": profile.name, "data": str(args.data), **provenance()})
        print(f"[motionlab] wrote {out}")
    return 0
