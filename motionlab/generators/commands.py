"""``motionlab generate "a person waves with the left hand" --model t2m-gpt --out wave.html``.

Writes an animated skeleton page (``wave.html``, plotly.js inlined so it opens offline) and, beside it,
``wave.features.npy`` (raw features, frames x 263) and ``wave.joints.npy`` (joint positions, frames x 22 x 3);
with ``--samples N > 1`` one pair per sample (``wave.s2.features.npy`` ...) and all samples side by side in
the page.  The model is the profile's cached T2M-GPT (``--model momask``: its MoMask, the four parts); when it is
missing it is trained first (with its tokenizer), which the command says before it starts.
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
    start = time.perf_counter()
    result = pipeline.generate([text] * args.samples)
    seconds = time.perf_counter() - start
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
    print(f"[motionlab] generated in {seconds:.2f} s; wrote {page}")
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
