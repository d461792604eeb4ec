"""``motionlab generate "a person waves with the left hand" --model t2m-gpt --out wave.html``.

Writes an animated skeleton page (``wave.html``, plotly.js inlined so it opens offline) and, beside it,
``wave.features.npy`` (raw features, frames x 263) and ``wave.joints.npy`` (joint positions, frames x 22 x 3);
with ``--samples N > 1`` one pair per sample (``wave.s2.features.npy`` ...) and all samples side by side in
the page.  The model is the profile's cached T2M-GPT; when it is missing it is trained first (with its
tokenizer), which the command says before it starts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from motionlab.errors import InputError

MODELS = ("t2m-gpt",)


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


def generate_command(args: argparse.Namespace) -> int:
    """Run ``motionlab generate``; user errors raise :class:`InputError` (printed as one line by the CLI)."""
    from motionlab.profiles import get_profile
    from motionlab.runtime import resolve_device
    from motionlab.text.encoders import check_prompts, get_text_encoder

    if args.model not in MODELS:
        raise InputError(f"--model {args.model!r}: expected one of {', '.join(MODELS)}")
    if args.samples < 1 or args.samples > 32:
        raise InputError(f"--samples {args.samples}: expected 1..32")
    page, arrays = output_paths(args.out, args.samples)
    # validate the prompt before any (possibly long) training: empty and overlong prompts are errors here
    (text,) = check_prompts([args.text], encoder=get_text_encoder("minilm"), overlong="error")
    profile = get_profile(args.profile)
    device = resolve_device(args.device)
    print(f"[motionlab] T2M-GPT, profile {profile.name}, data {args.data}, device {device}")
    from motionlab.generators.train_t2m_gpt import get_t2m_gpt, t2m_gpt_is_cached

    if not t2m_gpt_is_cached(args.data, profile):
        print(f"[motionlab] no trained T2M-GPT for this profile in the cache yet: training it now "
              f"({profile.gpt.steps} steps; the tokenizer, {profile.tokenizer.steps} steps, first if it is "
              f"missing too). Later calls reuse it.", flush=True)

    from motionlab.viz import animate, save_html

    pipeline = get_t2m_gpt(args.data, profile, device, seed=0)
    pipeline.reseed(args.seed)
    start = time.perf_counter()
    result = pipeline.generate([text] * args.samples)
    seconds = time.perf_counter() - start
    joints = result.joints()
    for (feat_path, joint_path), feats, pos in zip(arrays, result.features, joints):
        feat_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(feat_path, feats.astype(np.float32))
        np.save(joint_path, pos.astype(np.float32))
    titles = ["T2M-GPT"] if args.samples == 1 else [f"sample {i + 1}" for i in range(args.samples)]
    fig = animate(joints, skeleton=result.skeleton, titles=titles, caption=text)
    save_html(fig, page)
    for i, (tokens, feats) in enumerate(zip(result.tokens, result.features)):
        label = "" if args.samples == 1 else f"sample {i + 1}: "
        print(f"  {label}{len(tokens)} tokens -> {len(feats)} frames ({len(feats) / 20:.1f} s at 20 fps)")
    print(f"[motionlab] generated in {seconds:.2f} s; wrote {page}")
    for feat_path, joint_path in arrays:
        print(f"  {feat_path}\n  {joint_path}")
    return 0
