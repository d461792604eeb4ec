"""Dataset statistics and the z-normalisation every model in the book uses.

:func:`compute_stats` computes Mean/Std as HumanML3D's ``cal_mean_variance`` does (the std averaged within
each slice group); :class:`Normalizer` applies ``(x - mean) / std`` to numpy arrays and torch tensors, and
:meth:`Normalizer.from_folder` gives the evaluator-style variant (root and contact std divided by 5).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from motionlab.data.features import feature_slices
from motionlab.data.skeleton import Skeleton, get_skeleton, skeleton_for_dim
from motionlab.errors import DatasetWarning, InputError


class RunningStats:
    """Mean and variance accumulated one motion at a time (Chan et al.'s pairwise update, float64), so a
    dataset's statistics never need all its features in memory at once."""

    def __init__(self, skeleton: str | Skeleton) -> None:
        self.skeleton = get_skeleton(skeleton)
        dim = self.skeleton.feature_dim
        self.count, self.mean, self.m2, self.skipped = 0, np.zeros(dim), np.zeros(dim), 0

    def update(self, features: np.ndarray) -> bool:
        """Add the frames of one ``(T, D)`` array; returns False (and counts it) when it has NaN/inf."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.skeleton.feature_dim:
            raise InputError(f"statistics: an array has shape {f.shape}; expected (T, {self.skeleton.feature_dim})")
        if not np.isfinite(f).all():
            self.skipped += 1
            return False
        n = len(f)
        if n == 0:
            return True
        mean_b = f.mean(0)
        m2_b = ((f - mean_b) ** 2).sum(0)
        total = self.count + n
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2_b + delta ** 2 * (self.count * n / total)
        self.count = total
        return True

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` float32 ``(D,)``, the std averaged within each slice group (see :func:`compute_stats`)."""
        if self.skipped:
            warnings.warn(f"compute_stats skipped {self.skipped} array(s) with NaN or infinite values", DatasetWarning,
                          stacklevel=3)
        if self.count == 0:
            raise InputError("compute_stats: no finite frames to compute statistics from")
        std = np.sqrt(self.m2 / self.count)  # population std, as numpy's default
        for name, sl in feature_slices(self.skeleton).groups:
            value = std[sl].mean()
            if value <= 0:
                warnings.warn(f"feature group {name} is constant in these data; its std is set to 1", DatasetWarning,
                              stacklevel=3)
                value = 1.0
            std[sl] = value
        return self.mean.astype(np.float32), std.astype(np.float32)


def compute_stats(features_list: Sequence[np.ndarray], skeleton: str | Skeleton | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std ``(D,)`` over all frames, the std then averaged within each slice group.

    As HumanML3D's ``cal_mean_variance``: the per-dimension std is replaced by the mean std of its group
    (root angular velocity, root xz velocity, root height, ric, rot6d, local velocity, contacts) so that no
    single coordinate gets amplified.  Arrays with NaN/inf are skipped (counted, with a warning).  A group
    that is constant (std 0) gets std 1 (with a warning) so that normalising stays finite.
    """
    if not len(features_list):
        raise InputError("compute_stats needs at least one feature array")
    dim = np.asarray(features_list[0]).shape[-1]
    sk = skeleton_for_dim(dim) if skeleton is None else get_skeleton(skeleton)
    if sk.feature_dim != dim:
        raise InputError(f"features have {dim} dims; the {sk.name} skeleton needs {sk.feature_dim}")
    stats = RunningStats(sk)
    for f in features_list:
        stats.update(f)
    return stats.result()


class Normalizer:
    """z-normalisation ``(x - mean) / std`` for numpy arrays and torch tensors (any leading dims).

    :meth:`from_folder` gives the evaluator-style normalisation the official T2M-GPT, MoMask and evaluator
    code use: the dataset's Mean/Std with the std of the root dims [0:4] and of the 4 contact dims divided
    by ``feat_bias`` (5), which weights those dims 5x more in any loss on normalised features.
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        mean = np.asarray(mean, dtype=np.float32)
        std = np.asarray(std, dtype=np.float32)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise InputError(f"mean and std must be equal-length vectors, got {mean.shape} and {std.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std <= 0).any():
            raise InputError("mean/std must be finite and std strictly positive")
        self.mean, self.std = mean, std
        self._torch: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @classmethod
    def from_folder(cls, root: str | Path, feat_bias: float = 5.0) -> "Normalizer":
        """Mean.npy / Std.npy of a dataset folder, root and contact std divided by ``feat_bias``."""
        from motionlab.data.folders import MotionFolder

        folder = MotionFolder(root)
        return cls.from_stats(folder.mean, folder.std, folder.skeleton, feat_bias)

    @classmethod
    def from_stats(cls, mean: np.ndarray, std: np.ndarray, skeleton: str | Skeleton | None = None,
                   feat_bias: float = 5.0) -> "Normalizer":
        """Evaluator-style normaliser from raw dataset statistics (``feat_bias=1`` keeps them as they are)."""
        std = np.array(std, dtype=np.float32)
        sk = skeleton_for_dim(std.shape[-1]) if skeleton is None else get_skeleton(skeleton)
        lay = feature_slices(sk)
        if std.shape != (lay.dim,):
            raise InputError(f"std has shape {std.shape}; the {sk.name} skeleton needs ({lay.dim},)")
        if feat_bias <= 0:
            raise InputError(f"feat_bias must be positive, got {feat_bias}")
        std[lay.root] /= feat_bias
        std[lay.contacts] /= feat_bias
        return cls(mean, std)

    def _pair(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key = (x.device, x.dtype)
        if key not in self._torch:
            self._torch[key] = (torch.as_tensor(self.mean, device=x.device, dtype=x.dtype),
                                torch.as_tensor(self.std, device=x.device, dtype=x.dtype))
        return self._torch[key]

    def _check(self, x) -> None:
        if x.shape[-1] != self.dim:
            raise InputError(f"features have {x.shape[-1]} dims in the last axis; this normaliser has {self.dim}")

    def normalize(self, x):
        """``(x - mean) / std``, same type, device and dtype as ``x``."""
        self._check(x)
        if isinstance(x, torch.Tensor):
            mean, std = self._pair(x)
            return (x - mean) / std
        return ((np.asarray(x) - self.mean) / self.std).astype(np.result_type(x, np.float32))

    def denormalize(self, x):
        """``x * std + mean``, the inverse of :meth:`normalize`."""
        self._check(x)
        if isinstance(x, torch.Tensor):
            mean, std = self._pair(x)
            return x * std + mean
        return (np.asarray(x) * self.std + self.mean).astype(np.result_type(x, np.float32))

    def __repr__(self) -> str:
        return f"Normalizer(dim={self.dim})"
