"""Chapter 1 self-checks: the reference answers pass, wrong answers fail with helpful messages."""

from __future__ import annotations

import numpy as np
import pytest

from motionlab.data.features import foot_contacts, joints_to_features
from motionlab.labs import LabCheckFailed
from motionlab.labs.motion_data import (
    _variants, check_evaluator_std, check_foot_contacts, check_root_trajectory, demo_motion,
    reference_evaluator_std, reference_root_trajectory,
)


def _contacts(p, sk):
    feet = [*sk.foot_left, *sk.foot_right]
    step = p[1:, feet] - p[:-1, feet]
    return ((step ** 2).sum(-1) < sk.contact_threshold).astype(np.float32)


def _root(f):
    angle = np.concatenate([[0.0], np.cumsum(f[:-1, 0])])
    vel = np.zeros((len(f), 3))
    vel[1:, [0, 2]] = f[:-1, 1:3]
    c, s = np.cos(2 * angle), np.sin(2 * angle)
    world = np.stack([c * vel[:, 0] - s * vel[:, 2], 0 * c, s * vel[:, 0] + c * vel[:, 2]], -1)
    root = np.cumsum(world, axis=0)
    root[:, 1] = f[:, 3]
    return root


def test_reference_answers_pass(capsys):
    assert check_foot_contacts(foot_contacts)
    assert check_foot_contacts(_contacts)
    assert check_root_trajectory(reference_root_trajectory)
    assert check_root_trajectory(_root)  # an independent, hand-written solution
    assert check_evaluator_std(reference_evaluator_std)
    assert capsys.readouterr().out.count("passed") == 5


def test_variants_are_really_wrong_and_the_hand_solution_right():
    f = joints_to_features(demo_motion("turn", 60, 1)).astype(np.float64)
    want = reference_root_trajectory(f)
    assert np.allclose(_root(f), want, atol=1e-6)
    for variant, _ in _variants(f):
        assert np.abs(variant - want).max() > 1e-3


@pytest.mark.parametrize("answer, message", [
    (lambda p, sk: _contacts(np.concatenate([p, p[-1:]]), sk), r"shape \(60, 4\).*\nHint: a displacement needs two frames"),
    (lambda p, sk: _contacts(p, sk)[:, [2, 3, 0, 1]], "Hint: the columns are swapped"),
    (lambda p, sk: (np.linalg.norm(p[1:, [7, 10, 8, 11]] - p[:-1, [7, 10, 8, 11]], axis=-1) < 0.002).astype(float),
     r"Hint: the threshold applies to the \*squared\* displacement"),
    (lambda p, sk: 1.0 - _contacts(p, sk), "Hint: 1 means 'in contact'"),
    (lambda p, sk: 1 / 0, "your function raised ZeroDivisionError"),
])
def test_wrong_contacts_get_helpful_messages(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        check_foot_contacts(answer)


def _wrong_root(kind):
    def answer(f):
        f = f.astype(np.float64)
        for variant, hint in _variants(f):
            if kind in hint:
                return variant
        raise AssertionError(kind)
    return answer


@pytest.mark.parametrize("answer, message", [
    (_wrong_root("half"), r"Hint: the stored angular velocity is \*half\* the yaw rate"),
    (_wrong_root("shift before"), "Hint: the heading at frame t sums the angular velocities of frames 0..t-1"),
    (_wrong_root("one frame later"), "Hint: the xz velocity of frame t-1 moves the root to frame t"),
    (_wrong_root("own heading frame"), "Hint: the velocities are in the root's own heading frame"),
    (lambda f: _root(f)[:, [0, 2]], r"shape \(69, 2\).*\nHint: return x, y and z"),
    (lambda f: _root(f) * [1, 0, 1], "Hint: y is stored directly in channel 3"),
    (lambda f: _root(f) + [0.01, 0, 0], "trajectory differs: at index"),
])
def test_wrong_root_trajectories_get_helpful_messages(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        check_root_trajectory(answer)


@pytest.mark.parametrize("answer, message", [
    (lambda std, sk, b: np.concatenate([std[:4] / b, std[4:]]), "Hint: the last four dims"),
    (lambda std, sk, b: np.concatenate([std[:4] * b, std[4:-4], std[-4:] * b]), "Hint: divide the std"),
    (lambda std, sk, b: std / b, "only those 8 dims are rescaled"),
])
def test_wrong_evaluator_std_gets_helpful_messages(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        check_evaluator_std(answer)


def test_demo_motions_are_varied():
    walk, stand = demo_motion("walk"), demo_motion("stand")
    assert walk.shape == (80, 22, 3)
    assert np.abs(walk[-1, 0] - walk[0, 0]).max() > 0.5 and np.abs(stand[-1, 0] - stand[0, 0]).max() < 1e-9
    assert demo_motion("walk", skeleton="kit").shape == (80, 21, 3)
