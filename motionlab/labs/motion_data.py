"""Self-checks for chapter 1 (*Motion data*).

Exercise 1 -- foot contacts.  Write ``contacts(positions, skeleton) -> (T-1, 4)``: for the left ankle, left
toe, right ankle and right toe, 1.0 when the joint's squared displacement between frames t and t+1 is
below ``skeleton.contact_threshold`` (0.002 m^2 for HumanML3D), else 0.0.  :func:`check_foot_contacts`.

Exercise 2 -- the root trajectory.  Write ``root_trajectory(features) -> (T, 3)``: recover the root
positions from the first four feature channels (angular velocity, xz velocity in the heading frame,
height).  :func:`check_root_trajectory`.

Exercise 3 -- the evaluator's normalisation.  Write ``evaluator_std(std, skeleton, feat_bias) -> (D,)``:
the dataset std with the root dims and the contact dims divided by ``feat_bias``.
:func:`check_evaluator_std`.

Each check runs the answer on hidden cases, compares it with the package's reference and, when it
differs, recognises the usual mistakes to give a hint.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from motionlab.data.features import feature_slices, foot_contacts, joints_to_features, recover_root
from motionlab.data.folders import Normalizer
from motionlab.data.quaternion import qfrom_axis_angle, qfrom_yaw
from motionlab.data.skeleton import T2M, Skeleton, forward_kinematics, get_skeleton
from motionlab.labs import call_answer, expect_close, fail, passed
from motionlab.runtime import source_checkout

_CONTACTS = "foot contacts"
_ROOT = "root trajectory"
_NORM = "evaluator std"


def sample_motion_dir() -> Path | None:
    """The real HumanML3D sample motion shipped beside the repository (``../shared/fixtures/humanml3d_sample``
    next to the checkout, or ``$MOTIONLAB_SAMPLE``); None when it is not there."""
    candidates = []
    if os.environ.get("MOTIONLAB_SAMPLE"):
        candidates.append(Path(os.environ["MOTIONLAB_SAMPLE"]).expanduser())
    if (checkout := source_checkout()) is not None:
        candidates.append(checkout.parent / "shared" / "fixtures" / "humanml3d_sample")
    for path in candidates:
        if (path / "new_joints" / "012314.npy").is_file() and (path / "new_joint_vecs" / "012314.npy").is_file():
            return path
    return None


def demo_motion(kind: str = "walk", n_frames: int = 80, seed: int = 0, skeleton: str | Skeleton = "t2m"
                ) -> np.ndarray:
    """A small procedural motion ``(T, J, 3)`` for the checks: limbs swing, the root walks/turns/jumps.

    ``kind``: ``"walk"`` (forward with a slight sway), ``"turn"`` (a turn and a half while walking),
    ``"jump"`` (hops on the spot), ``"stand"`` (swinging in place, feet mostly planted).
    """
    sk = get_skeleton(skeleton)
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames) / sk.fps
    n = sk.n_joints
    axes = rng.normal(size=(n, 3)) + np.array([3.0, 0.0, 0.0])
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    amp = rng.uniform(0.05, 0.5, n) * (0.2 if kind == "stand" else 1.0)
    angles = amp * np.sin(2 * np.pi * rng.uniform(0.5, 1.5, n) * t[:, None] + rng.uniform(0, 6.3, n))
    local = qfrom_axis_angle(np.broadcast_to(axes, (n_frames, n, 3)), angles)
    yaw = {"walk": 0.3 * np.sin(t), "turn": 3 * np.pi * t / t[-1], "jump": 0.2 * t, "stand": 0.0 * t}[kind]
    local[:, 0] = qfrom_yaw(yaw + rng.uniform(-np.pi, np.pi))
    speed = {"walk": 1.2, "turn": 0.7, "jump": 0.1, "stand": 0.0}[kind] * sk.units_per_metre
    heading = np.stack([np.sin(yaw), 0 * yaw, np.cos(yaw)], -1)
    root = np.cumsum(heading * speed / sk.fps, axis=0)
    hop = 0.3 * np.maximum(0, np.sin(2 * np.pi * t)) if kind == "jump" else 0.0 * t
    root[:, 1] = (0.95 + hop) * sk.units_per_metre
    return forward_kinematics(local, root, sk)


# -------------------------------------------------------------------------------------- exercise 1
def check_foot_contacts(contacts: Callable[[np.ndarray, Skeleton], np.ndarray]) -> bool:
    """Exercise 1: ``contacts(positions (T, J, 3), skeleton)`` must equal :func:`foot_contacts`."""
    cases = [(demo_motion(kind, 60, seed), T2M) for seed, kind in enumerate(["stand", "walk", "jump"])]
    planted = np.zeros((12, T2M.n_joints, 3))  # every joint still except the right toe, which slides
    planted[:, T2M.foot_right[1], 0] = np.arange(12) * 0.06
    cases.append((planted, T2M))
    for positions, sk in cases:
        got = call_answer(_CONTACTS, contacts, positions.copy(), sk)
        got = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got)
        want = foot_contacts(positions, sk)
        n = len(positions)
        if got.shape != want.shape:
            hint = None
            if got.shape[:1] == (n,):
                hint = "a displacement needs two frames: T frames give T-1 rows (use p[1:] - p[:-1])"
            elif got.shape[-1:] != (4,):
                hint = "one column per foot joint, in the order left ankle, left toe, right ankle, right toe"
            fail(_CONTACTS, f"the result has shape {got.shape}, expected {want.shape}", hint)
        got = got.astype(np.float64)
        if np.array_equal(got, want):
            continue
        feet = [*sk.foot_left, *sk.foot_right]
        p = positions[:, feet]
        step = p[1:] - p[:-1]
        hints = [
            (want[:, [2, 3, 0, 1]], "the columns are swapped: the left foot comes first "
                                    "(skeleton.foot_left, then skeleton.foot_right)"),
            ((np.linalg.norm(step, axis=-1) < sk.contact_threshold).astype(float),
             "the threshold applies to the *squared* displacement (dx^2 + dy^2 + dz^2), not its length"),
            (((step[..., [0, 2]] ** 2).sum(-1) < sk.contact_threshold).astype(float),
             "use all three coordinates: a foot that lifts straight up is moving too"),
            (1.0 - want, "1 means 'in contact' (the foot barely moves), 0 means moving"),
        ]
        for variant, hint in hints:
            if variant.shape == got.shape and np.array_equal(got, variant):
                fail(_CONTACTS, "the contacts differ from the reference", hint)
        expect_close(_CONTACTS, "contacts", got, want, atol=0, rtol=0,
                     hint="a joint is in contact when |p[t+1] - p[t]|^2 < skeleton.contact_threshold")
    return passed(_CONTACTS)


def reference_root_trajectory(features: np.ndarray) -> np.ndarray:
    """The package's answer to exercise 2 (``recover_root(...)[1]``)."""
    return recover_root(np.asarray(features, dtype=np.float64))[1]


# -------------------------------------------------------------------------------------- exercise 2
def _variants(f: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Root trajectories computed with the usual mistakes, each with the hint that fixes it."""
    def integrate(angle: np.ndarray, shift: bool) -> np.ndarray:
        vel = np.zeros((len(f), 3))
        if shift:
            vel[1:, [0, 2]] = f[:-1, 1:3]
        else:
            vel[:, [0, 2]] = f[:, 1:3]
        c, s = np.cos(angle), np.sin(angle)
        # inverse of the heading yaw by `angle`: rotate (x, z) by -angle about +Y
        world = np.stack([c * vel[:, 0] - s * vel[:, 2], np.zeros(len(f)), s * vel[:, 0] + c * vel[:, 2]], -1)
        root = np.cumsum(world, axis=0)
        root[:, 1] = f[:, 3]
        return root

    ang = np.concatenate([[0.0], np.cumsum(f[:-1, 0])])
    no_shift_ang = np.cumsum(f[:, 0])
    plain = np.cumsum(np.concatenate([np.zeros((1, 2)), f[:-1, 1:3]]), axis=0)
    unrotated = np.stack([plain[:, 0], f[:, 3], plain[:, 1]], -1)
    return [
        (integrate(ang, True), "the stored angular velocity is *half* the yaw rate: the heading quaternion is "
                               "(cos a, 0, sin a, 0), a rotation by 2a"),
        (integrate(2 * no_shift_ang, True), "the heading at frame t sums the angular velocities of frames "
                                            "0..t-1 (frame 0 has heading 0): shift before the cumulative sum"),
        (integrate(2 * ang, False), "the xz velocity of frame t-1 moves the root to frame t: place it one "
                                    "frame later, starting from the origin"),
        (unrotated, "the velocities are in the root's own heading frame: rotate them back to the world "
                    "with the inverse heading before summing"),
    ]


def check_root_trajectory(root_trajectory: Callable[[np.ndarray], np.ndarray]) -> bool:
    """Exercise 2: ``root_trajectory(features (T, D))`` must return the root positions ``(T, 3)``."""
    for seed, kind in enumerate(["walk", "turn", "jump"]):
        feats = joints_to_features(demo_motion(kind, 70, seed))
        got = call_answer(_ROOT, root_trajectory, feats.copy())
        got = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got, dtype=np.float64)
        want = reference_root_trajectory(feats)
        if got.shape != want.shape:
            hint = ("one root position per feature row" if got.shape[:1] != want.shape[:1]
                    else "return x, y and z for each frame")
            fail(_ROOT, f"the result has shape {got.shape}, expected {want.shape}", hint)
        if np.allclose(got, want, atol=1e-4):
            continue
        if not np.allclose(got[:, 1], feats[:, 3], atol=1e-5):
            fail(_ROOT, "the root height (y) differs", "y is stored directly in channel 3 of each frame")
        for variant, hint in _variants(feats.astype(np.float64)):
            if np.allclose(got, variant, atol=1e-4):
                fail(_ROOT, f"the {kind} trajectory differs from the reference", hint)
        expect_close(_ROOT, f"the {kind} trajectory", got, want, atol=1e-4,
                     hint="heading a_t = sum of channel 0 over frames < t; the root moves by the channel 1-2 "
                          "velocity of frame t-1 rotated by the inverse heading (a rotation by -2 a_t about y)")
    return passed(_ROOT)


# -------------------------------------------------------------------------------------- exercise 3
def reference_evaluator_std(std: np.ndarray, skeleton: str | Skeleton = "t2m", feat_bias: float = 5.0) -> np.ndarray:
    """The package's answer to exercise 3."""
    return Normalizer.from_stats(np.zeros_like(std), std, skeleton, feat_bias).std


def check_evaluator_std(evaluator_std: Callable[[np.ndarray, Skeleton, float], np.ndarray]) -> bool:
    """Exercise 3: ``evaluator_std(std, skeleton, feat_bias)`` must divide the root and contact std."""
    rng = np.random.default_rng(0)
    for sk, bias in ((T2M, 5.0), (get_skeleton("kit"), 2.0)):
        std = rng.uniform(0.1, 1.0, sk.feature_dim).astype(np.float32)
        got = call_answer(_NORM, evaluator_std, std.copy(), sk, bias)
        want = reference_evaluator_std(std, sk, bias)
        got = np.asarray(got, dtype=np.float64)
        if got.shape != want.shape:
            fail(_NORM, f"the result has shape {got.shape}, expected {want.shape}")
        lay = feature_slices(sk)
        if np.allclose(got[lay.contacts], std[lay.contacts]) and not np.allclose(got[lay.root], std[lay.root]):
            fail(_NORM, "the contact dims were left unchanged", "the last four dims (foot contacts) are divided too")
        if np.allclose(got[lay.root], std[lay.root] * bias):
            fail(_NORM, "the root dims were multiplied", "divide the std: a smaller std weights a dim more")
        if not np.allclose(got[4:lay.contacts.start], std[4:lay.contacts.start]):
            fail(_NORM, "dims other than the root [0:4] and the contacts changed", "only those 8 dims are rescaled")
        expect_close(_NORM, f"std ({sk.name}, feat_bias={bias})", got, want, atol=1e-7,
                     hint="root dims [0:4] and the contact dims (the last four) are divided by feat_bias")
    return passed(_NORM)
