"""MotionGPT on the command line.

* ``motionlab generate --model motiongpt "a person jumps"`` (and ``compare``) -- :func:`load_motiongpt`, the
  registry's loader (``motionlab.generators.registry``): the pipeline the command drives (``--seconds``
  becomes a length stated in the instruction);
* ``motionlab caption --model motiongpt MOTION.npy`` -- :func:`load_motiongpt_captioner` (greedy, as the
  official motion->text; ``--sample`` draws ``--samples`` captions from the top-k words);
* ``motionlab ask "Generate a motion of about 3 seconds: a person jumps"`` -- :func:`ask_command`: any
  instruction, answered with text or with a motion (written as an animated page plus ``.npy`` files, as
  ``generate`` does).  ``--motion MOTION.npy`` puts a motion into the instruction (at ``{motion}``, or at the
  end): ``motionlab ask "Describe this motion:" --motion walk.npy``.

The model is the profile's cached MotionGPT (``profile.motiongpt`` over ``profile.tokenizer``), trained first
when missing, which the command says before it starts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from motionlab.errors import InputError

__all__ = ["ask_command", "load_motiongpt", "load_motiongpt_captioner"]


def _announce(data_dir: Path, profile) -> None:
    from motionlab.generators.motiongpt.train import motiongpt_is_cached

    recipe = profile.motiongpt
    if not motiongpt_is_cached(data_dir, recipe, profile.tokenizer):
        lora = " + LoRA" if recipe.model.lora else ""
        print(f"[motionlab] no trained MotionGPT for this profile in the cache yet: training it now (backbone "
              f"{recipe.model.backbone}{lora}, {recipe.pretrain_steps} pre-training + {recipe.train.steps} instruction "
              f"steps; the tokenizer, {profile.tokenizer.train.steps} steps, first if it is missing too). Later calls "
              "reuse it.", flush=True)


def load_motiongpt(data_dir: Path, profile, device, evaluator=None, **options):
    """The profile's MotionGPT pipeline (``motionlab generate --model motiongpt``), saying first when it must be
    trained.  ``evaluator`` is unused (MotionGPT selects its weights by validation loss); the registry passes
    it to every loader."""
    from motionlab.generators.motiongpt.pipeline import get_motiongpt_pipeline

    _announce(data_dir, profile)
    return get_motiongpt_pipeline(data_dir, profile.motiongpt, profile.tokenizer, device, **options)


def load_motiongpt_captioner(data_dir: Path, profile, device, evaluator=None, *, mode: str = "greedy", beam: int = 1,
                             top_k: int | None = 3, seed: int = 0):
    """The profile's MotionGPT captioner (``motionlab caption --model motiongpt``).  The caption command's
    options: ``mode="sample"`` samples from the top-k words; ``"greedy"`` or ``"beam"`` decode greedily (the
    official motion->text; beam search is TM2T's, so a beam width above 1 is said to be unused)."""
    from motionlab.generators.motiongpt.pipeline import get_motiongpt_captioner

    if mode not in ("greedy", "beam", "sample"):
        raise InputError(f"mode={mode!r}: expected 'greedy', 'beam' or 'sample'")
    if mode == "beam" and beam > 1:
        print(f"[motionlab] MotionGPT captions greedily, as the official motion->text; beam {beam} is TM2T's option "
              "and is not used", flush=True)
    _announce(data_dir, profile)
    return get_motiongpt_captioner(data_dir, profile.motiongpt, profile.tokenizer, device, sample=mode == "sample",
                                   top_k=top_k, seed=seed)


def ask_command(args: argparse.Namespace) -> int:
    """Run ``motionlab ask``; user errors raise :class:`InputError` (printed as one line by the CLI)."""
    from motionlab.data.paths import resolve_dataset
    from motionlab.generators.commands import check_writable, output_paths, profile_and_device
    from motionlab.generators.motiongpt.pipeline import check_instruction
    from motionlab.io.motion_file import motion_features

    instruction = check_instruction(args.instruction)  # validate everything before any training
    motion = None
    if args.motion is not None:
        motion, _ = motion_features(args.motion)
    if args.max_tokens < 1 or args.max_tokens > 256:
        raise InputError(f"--max-tokens {args.max_tokens}: expected 1..256")
    if args.top_k is not None and args.top_k < 1:
        raise InputError(f"--top-k {args.top_k}: expected >= 1")
    page, arrays = output_paths(args.out, 1)
    check_writable(page, arrays)
    profile, device = profile_and_device(args)
    data_dir = resolve_dataset(args.data, profile)
    print(f"[motionlab] MotionGPT, profile {profile.name}, data {args.data}, device {device}")
    pipeline = load_motiongpt(data_dir, profile, device, sample=not args.greedy, top_k=args.top_k, seed=args.seed)
    dim = int(pipeline.tokenizer.config.input_dim)
    if motion is not None and motion.shape[1] != dim:
        raise InputError(f"{args.motion}: {motion.shape[1]}-d features, but the model's dataset has {dim}-d features")
    start = time.perf_counter()
    answer = pipeline.ask(instruction, motion, max_new_tokens=args.max_tokens)
    took = time.perf_counter() - start
    if not answer.is_motion:
        print(f"  {answer.text}")
        print(f"[motionlab] answered in {took:.2f} s")
        return 0
    from motionlab.viz import animate, save_html

    (feat_path, joint_path), = arrays
    joints = answer.joints()
    feat_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(feat_path, answer.motion.astype(np.float32))
    np.save(joint_path, joints.astype(np.float32))
    save_html(animate([joints], skeleton=answer.skeleton, titles=["MotionGPT"], caption=instruction), page)
    frames = len(answer.motion)
    print(f"  a motion: {len(answer.codes)} tokens -> {frames} frames ({frames / pipeline.fps:.1f} s)")
    for repair in answer.repairs:
        print(f"  repaired: {repair}")
    print(f"[motionlab] answered in {took:.2f} s; wrote {page}\n  {feat_path}\n  {joint_path}")
    return 0
