"""Chapter 1b self-checks: the reference answers pass, wrong answers fail with helpful messages."""

from __future__ import annotations

import numpy as np
import pytest

from motionlab.labs import LabCheckFailed
from motionlab.labs.synth_dataset import (
    check_flight_height, check_sliding, reference_flight_height, reference_sliding,
)


def _flight(n, t0, t1):  # an independent, hand-written answer
    t = np.arange(n) / 20
    return np.where((t > t0) & (t < t1), 4.905 * (t - t0) * (t1 - t), 0.0)


def _sliding(joints):
    floor = {7: 0.0445, 8: 0.0463, 10: 0.0, 11: 0.0}
    total, count = 0.0, 0
    for j, h in floor.items():
        low = joints[:, j, 1] <= h + 0.015
        for t in range(len(joints) - 1):
            if low[t] and low[t + 1]:
                total += np.hypot(*(joints[t + 1, j, [0, 2]] - joints[t, j, [0, 2]]))
                count += 1
    return total / count if count else 0.0


def test_reference_answers_pass(capsys):
    assert check_flight_height(reference_flight_height)
    assert check_flight_height(_flight)
    assert check_sliding(reference_sliding)
    assert check_sliding(_sliding)
    assert capsys.readouterr().out.count("passed") == 4


@pytest.mark.parametrize("answer, message", [
    (lambda n, a, b: 2 * _flight(n, a, b), "g t^2 / 2"),
    (lambda n, a, b: -_flight(n, a, b), "heights are >= 0"),
    (lambda n, a, b: np.where(np.arange(n) / 20 > a, 4.905 * (np.arange(n) / 20 - a) * (b - np.arange(n) / 20), 0.0),
     "not 0"),
    (lambda n, a, b: np.where((np.arange(n) / 20 > a) & (np.arange(n) / 20 < b),
                              4.905 * (np.arange(n) - a) * (b - np.arange(n)), 0.0), "frame t is at t / 20"),
    (lambda n, a, b: _flight(n, a, b)[:-1], "one height per frame"),
    (lambda n, a, b: 0.9 * _flight(n, a, b), "g tau^2 / 8"),
    (lambda n, a, b: 1 / 0, "ZeroDivisionError"),
])
def test_wrong_flights_get_hints(answer, message):
    with pytest.raises(LabCheckFailed, match=message.replace("^", r"\^").replace("(", r"\(").replace(")", r"\)")):
        check_flight_height(answer)


def _sliding_with(three_d=False, one_end=False, everywhere=False):
    def answer(joints):
        floor = {7: 0.0445, 8: 0.0463, 10: 0.0, 11: 0.0}
        moves = []
        for j, h in floor.items():
            low = joints[:, j, 1] <= h + 0.015
            keep = np.ones(len(joints) - 1, bool) if everywhere else (low[:-1] if one_end else low[1:] & low[:-1])
            cols = [0, 1, 2] if three_d else [0, 2]
            moves.append(np.linalg.norm(np.diff(joints[:, j][:, cols], axis=0), axis=-1)[keep])
        return float(np.concatenate(moves).mean())
    return answer


@pytest.mark.parametrize("answer, message", [
    (_sliding_with(three_d=True), "horizontal"),
    (_sliding_with(one_end=True), "both frames"),
    (_sliding_with(everywhere=True), "floor level count"),
    (lambda j: 100 * _sliding(j), "centimetres"),
    (lambda j: [1, 2], "one number"),
    (lambda j: 0.5 * _sliding(j) + 0.001, "x-z lengths"),
])
def test_wrong_sliding_gets_hints(answer, message):
    with pytest.raises(LabCheckFailed, match=message):
        check_sliding(answer)
