"""Physical plausibility measures of joint motions ``(T, 22, 3)`` (metres, y up, 20 fps).

The tests hold MotionLab-Synth to these bounds and the dataset card reports them next to the same
numbers on a real HumanML3D motion:

* bone lengths are the template's (``bone_error``);
* a planted foot does not slide (``foot_sliding``: horizontal motion of ankle and toe joints while they
  are at floor level);
* nothing sinks into the floor (``floor_penetration`` below y = 0, the floor the generator stands on);
* knees and elbows bend within human limits, knees forward (``joint_angles``, ``knee_hyperextension``);
* motion is smooth (``jerk``: the third difference of positions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from motionlab.data.skeleton import T2M

FPS = 20.0
# a foot joint is at floor level when it is within this much of its height standing flat on the floor
CONTACT_MARGIN = 0.015
FLAT_HEIGHT = {7: 0.0445, 8: 0.0463, 10: 0.0, 11: 0.0}  # ankles and toes of a flat foot on the floor (m)
KNEE_LIMIT = 160.0  # degrees of flexion
ELBOW_LIMIT = 150.0
LIMBS = {"left_knee": (1, 4, 7), "right_knee": (2, 5, 8), "left_elbow": (16, 18, 20), "right_elbow": (17, 19, 21)}


def bone_error(joints: np.ndarray) -> float:
    """Largest deviation (m) of any bone from the template length over all frames."""
    err = 0.0
    for parent, child in T2M.bones:
        length = np.linalg.norm(joints[:, child] - joints[:, parent], axis=-1)
        err = max(err, float(np.abs(length - T2M.bone_lengths[child]).max()))
    return err


def foot_sliding(joints: np.ndarray, floor: float = 0.0) -> tuple[float, float]:
    """(mean, 95th percentile) horizontal displacement per frame (m) of ankle and toe joints in the frames
    where they are at floor level at both ends of the step (0, 0 if never)."""
    moves = []
    for j, flat in FLAT_HEIGHT.items():
        h = joints[:, j, 1] - floor
        low = h <= flat + CONTACT_MARGIN
        both = low[1:] & low[:-1]
        d = np.linalg.norm(np.diff(joints[:, j][:, [0, 2]], axis=0), axis=-1)
        moves.append(d[both])
    allm = np.concatenate(moves)
    if allm.size == 0:
        return 0.0, 0.0
    return float(allm.mean()), float(np.percentile(allm, 95))


def floor_penetration(joints: np.ndarray, floor: float = 0.0) -> float:
    """How far (m) the lowest joint ever goes below the floor (0 if never)."""
    return float(max(0.0, floor - joints[..., 1].min()))


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def joint_angles(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Flexion (degrees, 0 = straight) of both knees and elbows in every frame."""
    return {name: _angle(joints[:, b] - joints[:, a], joints[:, c] - joints[:, b]) for name, (a, b, c) in LIMBS.items()}


def knee_hyperextension(joints: np.ndarray, min_flexion: float = 30.0) -> float:
    """Share of frames with a knee bent more than ``min_flexion`` degrees the wrong way (backwards).

    A knee bends so that thigh x shin points to the body's left (it flexes about the left-right axis)."""
    left = joints[:, 1] - joints[:, 2]  # right hip -> left hip
    bad, total = 0, 0
    for name in ("left_knee", "right_knee"):
        a, b, c = LIMBS[name]
        thigh, shin = joints[:, b] - joints[:, a], joints[:, c] - joints[:, b]
        bent = _angle(thigh, shin) > min_flexion
        axis = np.cross(thigh, shin)
        bad += int(((axis * left).sum(-1) < 0)[bent].sum())
        total += int(bent.sum())
    return bad / total if total else 0.0


def jerk(joints: np.ndarray) -> tuple[float, float]:
    """(99th percentile, max) of joint jerk |d^3 p / dt^3| (m/s^3) from third differences."""
    if len(joints) < 4:
        return 0.0, 0.0
    j = np.linalg.norm(np.diff(joints, 3, axis=0), axis=-1) * FPS**3
    return float(np.percentile(j, 99)), float(j.max())


@dataclass
class Plausibility:
    """All measures of one motion (lengths m, angles degrees, jerk m/s^3)."""

    bone_error: float
    sliding_mean: float
    sliding_p95: float
    penetration: float
    knee_max: float
    elbow_max: float
    hyperextension: float
    jerk_p99: float
    jerk_max: float

    def as_dict(self) -> dict:
        """The measures as a plain dict."""
        return asdict(self)


def measure(joints: np.ndarray, floor: float = 0.0) -> Plausibility:
    """Every plausibility measure of one motion ``(T, 22, 3)``."""
    joints = np.asarray(joints, dtype=np.float64)
    angles = joint_angles(joints)
    slide_mean, slide_p95 = foot_sliding(joints, floor)
    j99, jmax = jerk(joints)
    return Plausibility(
        bone_error=bone_error(joints), sliding_mean=slide_mean, sliding_p95=slide_p95,
        penetration=floor_penetration(joints, floor),
        knee_max=float(max(angles["left_knee"].max(), angles["right_knee"].max())),
        elbow_max=float(max(angles["left_elbow"].max(), angles["right_elbow"].max())),
        hyperextension=knee_hyperextension(joints), jerk_p99=j99, jerk_max=jmax,
    )
