"""``motionlab generate "a person waves with the left hand" --model t2m-gpt --out wave.html`` and
``motionlab edit MOTION.npy "a person jumps" --frames 40:80 --out edited.html``.

Writes an animated skeleton page (``wave.html``, plotly.js inlined so it opens offline) and, beside it,
``wave.features.npy`` (raw features, frames x 263) and ``wave.joints.npy`` (joint positions, frames x 22 x 3);
with ``--samples N > 1`` one pair per sample (``wave.s2.features.npy`` ...) and all samples side by side in
the page.  The model is the profile's cached T2M-GPT (``--model momask``: its MoMask, the four parts); when it is
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

MODELS = ("t2m-gpt", "momask")
LABELS = {"t2m-gpt": "T2M-GPT", "momask": "MoMask"}  # how pages and logs name each model
FPS = {"t2m": 20.0, "kit": 12.5}  # frame rate per skeleton (HumanML3D, KIT-ML)


def output_paths(out: str | Path, n_samples: int) -> tuple[Path, list[tuple[Path, Path]]]:
    """The HTML page and the (features, joints) ``.npy`` paths of each sample."""
    page = Path(out).expanduser()
    if page.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {str(out)!r}: expected a file name ending in .html (the .npy files go beside it)")
    stem = page.with_suffix("")
    arrays = []
    for i in range(n_samples):
        tag = "" if n_samples == 1 else f".s{i + 1}"
        arrays.append((Path(f"{stem}{tag}.features.npy"), Path(f"{stem}{tag}.joints.npy")))
    return page, arrays


def check_writable(page: Path, arrays: list[tuple[Path, Path]]) -> None:
    """Fail now, not after minutes of loading and generating, when the outputs cannot be written: the
    folder is created (it would be anyway) and a scratch file is written into it and removed."""
    for path in (page, *(p for pair in arrays for p in pair)):
        if path.is_dir():
            raise InputError(f"--out {str(page)!r}: {path} is a folder; expected a file name ending in .html")
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


def generate_command(args: argparse.Namespace) -> int:
    """Run ``motionlab generate``; user errors raise :class:`InputError` (printed as one line by the CLI)."""
    from motionlab.data.paths import resolve_dataset
    from motionlab.profiles import get_profile
    from motionlab.runtime import resolve_device
    from motionlab.text.encoders import check_prompts, get_text_encoder

    if args.model not in MODELS:
        raise InputError(f"--model {args.model!r}: expected one of {', '.join(MODELS)}")
    if args.samples < 1 or args.samples > 32:
        raise InputError(f"--samples {args.samples}: expected 1..32")
    page, arrays = output_paths(args.out, args.samples)
    check_writable(page, arrays)
    profile = get_profile(args.profile)
    seconds = getattr(args, "seconds", None)
    if seconds is not None and not (np.isfinite(seconds) and seconds > 0):
        raise InputError(f"--seconds {seconds}: expected a positive duration")
    device = resolve_device(args.device)
    if args.data != "synth":  # a real dataset must be there before anything says it will train on it
        resolve_dataset(args.data, profile, build=False)
    # validate the prompt before any (possibly long) training: empty, unknown-only and overlong prompts fail here
    (text,) = check_prompts([args.text], encoder=get_text_encoder("minilm"), overlong="error")
    print(f"[motionlab] {LABELS[args.model]}, profile {profile.name}, data {args.data}, device {device}")
    data_dir = resolve_dataset(args.data, profile)
    if args.model == "momask":
        pipeline = _momask(data_dir, profile, device)
    else:
        from motionlab.generators.train_t2m_gpt import get_t2m_gpt, t2m_gpt_is_cached

        if not t2m_gpt_is_cached(data_dir, profile.gpt, profile.tokenizer):
            print(f"[motionlab] no trained T2M-GPT for this profile in the cache yet: training it now "
                  f"({profile.gpt.train.steps} steps; the tokenizer, {profile.tokenizer.train.steps} steps, first "
                  f"if it is missing too). Later calls reuse it.", flush=True)
        pipeline = get_t2m_gpt(data_dir, profile.gpt, profile.tokenizer, device)

    from motionlab.viz import animate, save_html

    pipeline.reseed(args.seed)
    lengths = None
    if seconds is not None:  # frames at the dataset's rate; the pipeline refuses what its positions cannot hold
        lengths = [max(1, round(seconds * FPS.get(pipeline.skeleton, 20.0)))] * args.samples
    start = time.perf_counter()
    result = pipeline.generate([text] * args.samples, lengths)
    took = time.perf_counter() - start
    joints = result.joints()
    for (feat_path, joint_path), feats, pos in zip(arrays, result.features, joints):
        feat_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(feat_path, feats.astype(np.float32))
        np.save(joint_path, pos.astype(np.float32))
    titles = [LABELS[args.model]] if args.samples == 1 else [f"sample {i + 1}" for i in range(args.samples)]
    fig = animate(joints, skeleton=result.skeleton, titles=titles, caption=text)
    save_html(fig, page)
    for i, (tokens, feats) in enumerate(zip(result.tokens, result.features)):
        label = "" if args.samples == 1 else f"sample {i + 1}: "
        print(f"  {label}{len(tokens)} tokens -> {len(feats)} frames ({len(feats) / 20:.1f} s at 20 fps)")
    print(f"[motionlab] generated in {took:.2f} s; wrote {page}")
    for feat_path, joint_path in arrays:
        print(f"  {feat_path}\n  {joint_path}")
    if getattr(args, "format", "html") in ("bvh", "gltf"):  # --format bvh|gltf: one file per sample, beside the .npy
        from motionlab.io.export import FORMATS, export_motion

        for (feat_path, _), pos in zip(arrays, joints):
            out = feat_path.with_name(feat_path.name.replace(".features.npy", FORMATS[args.format]))
            print(f"  {export_motion(pos, out, format=args.format, skeleton=result.skeleton).summary()}")
    return 0


def _momask(data_dir: Path, profile, device):
    """The profile's MoMask pipeline (its four cached parts), saying first when any of them must be trained."""
    from motionlab.generators.momask.pipeline import get_momask, momask_is_cached

    parts = (profile.momask_tokenizer, profile.momask_masked, profile.momask_residual, profile.momask_length)
    if not momask_is_cached(data_dir, *parts):
        print(f"[motionlab] no trained MoMask for this profile in the cache yet: training the missing parts now "
              f"(RVQ-VAE {parts[0].train.steps}, masked transformer {parts[1].train.steps}, residual transformer "
              f"{parts[2].train.steps}, length estimator {parts[3].train.steps} steps). Later calls reuse them.",
              flush=True)
    return get_momask(data_dir, *parts, device)


def edit_command(args: argparse.Namespace) -> int:
    """Run ``motionlab edit``: regenerate frame ranges of a motion file with the profile's MoMask."""
    from motionlab.data.paths import resolve_dataset
    from motionlab.generators.momask.edit import parse_frame_range
    from motionlab.io.motion_file import motion_features
    from motionlab.profiles import get_profile
    from motionlab.runtime import resolve_device
    from motionlab.text.encoders import check_prompts, get_text_encoder

    ranges = [parse_frame_range(r) for r in args.frames]
    motion, skeleton = motion_features(args.motion)
    page, arrays = output_paths(args.out, 1)
    check_writable(page, arrays)
    profile = get_profile(args.profile)
    device = resolve_device(args.device)
    if args.data != "synth":
        resolve_dataset(args.data, profile, build=False)
    (text,) = check_prompts([args.text], encoder=get_text_encoder("minilm"), overlong="error")
    print(f"[motionlab] MoMask edit, profile {profile.name}, data {args.data}, device {device}")
    pipeline = _momask(resolve_dataset(args.data, profile), profile, device)
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
