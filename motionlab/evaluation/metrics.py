"""The standard text-to-motion metrics, computed on embeddings, joints or token ids.

Embedding metrics follow the protocol of Guo et al. (2022), which every paper in this book reports:

* :func:`fid` -- Fréchet distance between two Gaussians fitted to motion embeddings (scipy ``sqrtm``).
* :func:`r_precision` -- text->motion retrieval among 32 candidates, top-1/2/3 hit rates.
* :func:`matching_score` -- "MM-Dist": mean distance between a text and its own motion.
* :func:`diversity` -- mean distance between randomly paired motions (300 pairs).
* :func:`multimodality` -- mean distance between motions generated for the same text.

Joint and token metrics: :func:`mpjpe` (pelvis-aligned), :func:`codebook_usage`, :func:`perplexity` and
:func:`foot_sliding`.  Every function accepts numpy arrays or torch tensors and returns python floats or
numpy arrays; randomness comes in through an explicit ``numpy.random.Generator``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import linalg

from motionlab.errors import InputError


# ------------------------------------------------------------------------------------------ helpers
def _as_array(x: Any, name: str, ndim: int | None = None, dtype=np.float64) -> np.ndarray:
    """Tensor/array -> numpy array of ``dtype``, checked for rank and finiteness."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise InputError(f"{name} contains {bad} non-finite values (NaN or inf)")
    return arr


def _default_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def euclidean_distance_matrix(a: Any, b: Any) -> np.ndarray:
    """(N, d), (M, d) -> (N, M) Euclidean distances, ``||a_i - b_j||``.

    Uses ``|a|^2 - 2 a.b + |b|^2`` (clipped at 0 against round-off), as the official evaluation code does.
    """
    a = _as_array(a, "a", ndim=2)
    b = _as_array(b, "b", ndim=2)
    if a.shape[1] != b.shape[1]:
        raise InputError(f"embedding widths differ: a has {a.shape[1]} columns, b has {b.shape[1]}")
    sq = (a ** 2).sum(1)[:, None] - 2.0 * a @ b.T + (b ** 2).sum(1)[None, :]  # (N, M)
    return np.sqrt(np.maximum(sq, 0.0))


# --------------------------------------------------------------------------------------------- FID
def activation_statistics(embeddings: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(d,)`` and covariance ``(d, d)`` of a set of embeddings ``(N, d)`` (``np.cov``, ddof=1)."""
    emb = _as_array(embeddings, "embeddings", ndim=2)
    if emb.shape[0] < 2:
        raise InputError(f"need at least 2 embeddings to estimate a covariance, got {emb.shape[0]}")
    return emb.mean(axis=0), np.cov(emb, rowvar=False)


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, eps: float = 1e-6, method: str = "sqrtm"
                     ) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = |mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))

    ``method="sqrtm"`` (default) is the official computation: scipy's matrix square root; if it is not
    finite (a singular product), ``eps`` is added to both diagonals and it is taken again; a complex result
    whose diagonal has an imaginary part above 1e-3 is an error, a smaller imaginary part (round-off) is
    dropped.  ``method="eigh"`` computes the same trace from eigenvalues (see :func:`trace_sqrt_product`),
    some 50 times faster for 512-d embeddings; the protocol uses it.
    """
    mu1, mu2 = _as_array(mu1, "mu1", ndim=1), _as_array(mu2, "mu2", ndim=1)
    sigma1, sigma2 = np.atleast_2d(_as_array(sigma1, "sigma1")), np.atleast_2d(_as_array(sigma2, "sigma2"))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise InputError(
            f"mismatched statistics: mu1 {mu1.shape}, mu2 {mu2.shape}, sigma1 {sigma1.shape}, sigma2 {sigma2.shape}"
        )
    diff = mu1 - mu2
    if method == "eigh":
        return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2))
    if method != "sqrtm":
        raise InputError(f"method={method!r}: expected 'sqrtm' or 'eigh'")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on near-singular input; we check below
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            worst = float(np.max(np.abs(covmean.imag)))
            raise ValueError(f"sqrtm(sigma1 @ sigma2) has an imaginary component of {worst:.3g}: the covariances "
                             f"are too ill-conditioned for a Fréchet distance")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((sigma1 sigma2)^(1/2)) for symmetric PSD matrices, from eigenvalues instead of ``sqrtm``.

    With A = sigma1^(1/2), sigma1 sigma2 = A (A sigma2) has the eigenvalues of (A sigma2) A = A sigma2 A,
    a symmetric PSD matrix; the trace of the principal square root is the sum of the square roots of those
    eigenvalues (negative round-off clipped to 0).
    """
    import torch  # torch's LAPACK eigh is many times faster than numpy's OpenBLAS one at 512 x 512

    s1 = torch.as_tensor(np.asarray(sigma1, dtype=np.float64))
    s2 = torch.as_tensor(np.asarray(sigma2, dtype=np.float64))
    w, v = torch.linalg.eigh((s1 + s1.T) / 2)
    root = (v * w.clamp(min=0.0).sqrt()) @ v.T  # sigma1^(1/2)
    inner = root @ s2 @ root
    lam = torch.linalg.eigvalsh((inner + inner.T) / 2)
    return float(lam.clamp(min=0.0).sqrt().sum())


def fid(embeddings_a: Any, embeddings_b: Any, method: str = "sqrtm") -> float:
    """FID between two sets of motion embeddings ``(N, d)`` and ``(M, d)``: fit a Gaussian to each, then
    :func:`frechet_distance` (``method``: ``"sqrtm"``, official, or ``"eigh"``, the same value faster).
    0 for identical sets; grows as the distributions drift apart."""
    mu1, s1 = activation_statistics(embeddings_a)
    mu2, s2 = activation_statistics(embeddings_b)
    if mu1.shape != mu2.shape:
        raise InputError(f"embedding widths differ: {mu1.shape[0]} vs {mu2.shape[0]}")
    return frechet_distance(mu1, s1, mu2, s2, method=method)


# ------------------------------------------------------------------------------------ R-precision
def retrieval_hits(distances: Any, top_k: int = 3) -> np.ndarray:
    """(B, B) text->motion distances (row i = text i; its own motion is column i) -> (B, top_k) hit rates.

    ``hits[i, k-1]`` is the probability that motion i is among the k nearest motions to text i.  Ties are
    broken uniformly at random *in expectation* (so a constant embedding scores chance, never 1.0): with s
    motions strictly nearer than the true one and t others at exactly its distance, the true motion's rank is
    uniform over s+1 ... s+t+1, so P(hit@k) = clip((k - s) / (t + 1), 0, 1).
    """
    d = _as_array(distances, "distances", ndim=2)
    if d.shape[0] != d.shape[1]:
        raise InputError(f"distances must be square (texts x their motions), got {d.shape}")
    own = np.diag(d)[:, None]  # (B, 1)
    off = ~np.eye(d.shape[0], dtype=bool)
    nearer = ((d < own) & off).sum(1)  # (B,) strictly nearer other motions
    tied = ((d == own) & off).sum(1)  # (B,) other motions at exactly the same distance
    k = np.arange(1, top_k + 1)[None, :]  # (1, K)
    return np.clip((k - nearer[:, None]) / (tied[:, None] + 1.0), 0.0, 1.0)  # (B, K)


def r_precision(text_embeddings: Any, motion_embeddings: Any, top_k: int = 3, batch_size: int | None = 32,
                drop_last: bool = True) -> np.ndarray:
    """R-precision top-1..top-k: for each text, is its own motion among the k nearest of its batch?

    Pairs ``(text_i, motion_i)`` are taken in consecutive batches of ``batch_size`` (the official protocol
    uses 32, so each text has 1 true motion and 31 distractors; chance top-1 is 1/32).  With ``drop_last``
    an incomplete final batch is ignored, as the official data loader does.  ``batch_size=None`` ranks
    against the whole set.  Returns an array ``(top_k,)`` of hit rates over all ranked texts.
    """
    t = _as_array(text_embeddings, "text_embeddings", ndim=2)
    m = _as_array(motion_embeddings, "motion_embeddings", ndim=2)
    if t.shape != m.shape:
        raise InputError(f"text and motion embeddings must pair up: {t.shape} vs {m.shape}")
    n = t.shape[0]
    bs = n if batch_size is None else int(batch_size)
    if bs < 1:
        raise InputError(f"batch_size must be positive, got {batch_size}")
    n_used = (n // bs) * bs if drop_last else n
    if n_used == 0:
        raise InputError(f"r_precision needs at least one full batch of {bs} pairs, got {n} (pass a smaller "
                         f"batch_size or drop_last=False)")
    if not 1 <= top_k <= min(bs, n_used):
        raise InputError(f"top_k={top_k} must lie in [1, batch size {min(bs, n_used)}]")
    hits = []
    for start in range(0, n_used, bs):
        sl = slice(start, min(start + bs, n_used))
        hits.append(retrieval_hits(euclidean_distance_matrix(t[sl], m[sl]), top_k))
    return np.concatenate(hits).mean(axis=0)


def matching_score(text_embeddings: Any, motion_embeddings: Any) -> float:
    """MM-Dist ("matching score" in the official code): mean ``||text_i - motion_i||`` over the pairs."""
    t = _as_array(text_embeddings, "text_embeddings", ndim=2)
    m = _as_array(motion_embeddings, "motion_embeddings", ndim=2)
    if t.shape != m.shape:
        raise InputError(f"text and motion embeddings must pair up: {t.shape} vs {m.shape}")
    return float(np.linalg.norm(t - m, axis=1).mean())


# ------------------------------------------------------------------------ diversity / multimodality
def diversity(embeddings: Any, n_pairs: int = 300, rng: np.random.Generator | int | None = None) -> float:
    """Mean distance between ``n_pairs`` random pairs of motions.

    Two independent draws of ``n_pairs`` indices, each without replacement (as the official code does);
    pair j is ``(first[j], second[j])``.  A set of identical motions has diversity 0.
    """
    emb = _as_array(embeddings, "embeddings", ndim=2)
    n = emb.shape[0]
    if n_pairs < 1 or n_pairs > n:
        raise InputError(f"diversity draws n_pairs={n_pairs} distinct indices twice: needs 1 <= n_pairs <= "
                         f"number of motions ({n})")
    gen = _default_rng(rng)
    first = gen.choice(n, n_pairs, replace=False)
    second = gen.choice(n, n_pairs, replace=False)
    return float(np.linalg.norm(emb[first] - emb[second], axis=1).mean())


def multimodality(embeddings: Any, n_pairs: int = 10, rng: np.random.Generator | int | None = None) -> float:
    """Mean distance between motions generated for the same text.

    ``embeddings``: ``(n_texts, n_samples, d)`` -- ``n_samples`` generations per text.  For each text two
    independent draws of ``n_pairs`` sample indices (each without replacement) are paired up, as the
    official code does; distances are averaged over pairs and texts.  Identical samples give 0.
    """
    emb = _as_array(embeddings, "embeddings", ndim=3)
    n_texts, n_samples, _ = emb.shape
    if n_pairs < 1 or n_pairs > n_samples:
        raise InputError(f"multimodality draws n_pairs={n_pairs} distinct samples per text twice: needs "
                         f"1 <= n_pairs <= samples per text ({n_samples})")
    gen = _default_rng(rng)
    first = gen.choice(n_samples, n_pairs, replace=False)
    second = gen.choice(n_samples, n_pairs, replace=False)
    return float(np.linalg.norm(emb[:, first] - emb[:, second], axis=2).mean())


# ------------------------------------------------------------------------------------------ joints
def mpjpe(pred_joints: Any, gt_joints: Any, root: int | None = 0, reduce: bool = True) -> float | np.ndarray:
    """Mean per-joint position error between ``(..., T, J, 3)`` joint arrays.

    With ``root=0`` both sequences are first pelvis-aligned (the root joint subtracted per frame), as MoMask's
    reconstruction evaluation does, so a global translation costs nothing; ``root=None`` compares raw
    positions.  The result is in the joints' units (metres for HumanML3D).  ``reduce=False`` returns the
    per-pose errors ``(..., T)``.
    """
    p = _as_array(pred_joints, "pred_joints")
    g = _as_array(gt_joints, "gt_joints")
    if p.shape != g.shape or p.ndim < 3 or p.shape[-1] != 3:
        raise InputError(f"joint arrays must both be (..., T, J, 3) with equal shapes, got {p.shape} and {g.shape}")
    if root is not None:
        p = p - p[..., root:root + 1, :]
        g = g - g[..., root:root + 1, :]
    per_pose = np.linalg.norm(p - g, axis=-1).mean(axis=-1)  # (..., T)
    return float(per_pose.mean()) if reduce else per_pose


def foot_sliding(joints: Any, skeleton: str = "t2m", fps: float | None = None, height_threshold: float = 0.05
                 ) -> float:
    """Foot sliding: mean horizontal speed of the feet while they touch the ground.

    For each foot joint (ankle and toe of both feet, from the skeleton), a frame pair counts as *in contact*
    when the joint is below ``height_threshold`` metres (y up, floor at y = 0) in both frames; its horizontal
    (x, z) displacement there should be zero for a planted foot.  Returns the mean of those displacements
    times ``fps`` -- metres per second (KIT's millimetre-scale units are converted).  Motions that never touch
    the floor contribute nothing (0.0 if no frame is in contact).  ``joints``: ``(T, J, 3)`` or a list of them.
    """
    from motionlab.data.skeleton import get_skeleton

    sk = get_skeleton(skeleton)
    rate = float(fps) if fps is not None else (12.5 if sk.name == "kit" else 20.0)
    feet = list(sk.foot_left) + list(sk.foot_right)
    seqs = joints if isinstance(joints, (list, tuple)) else [joints]
    total, count = 0.0, 0
    for i, seq in enumerate(seqs):
        j = _as_array(seq, f"joints[{i}]", ndim=3) / sk.units_per_metre  # (T, J, 3) in metres
        if j.shape[1] != sk.n_joints:
            raise InputError(f"joints[{i}] has {j.shape[1]} joints, the {sk.name} skeleton has {sk.n_joints}")
        f = j[:, feet]  # (T, 4, 3)
        low = f[..., 1] < height_threshold  # (T, 4)
        contact = low[1:] & low[:-1]  # (T-1, 4)
        step = np.linalg.norm(f[1:, :, [0, 2]] - f[:-1, :, [0, 2]], axis=-1)  # (T-1, 4) horizontal displacement
        total += float(step[contact].sum())
        count += int(contact.sum())
    return total / count * rate if count else 0.0


# -------------------------------------------------------------------------------------------- codes
def code_histogram(ids: Any, n_codes: int) -> np.ndarray:
    """Counts ``(n_codes,)`` of each code index in ``ids`` (any shape of integer ids)."""
    arr = _as_array(ids, "ids", dtype=np.int64).ravel()
    if n_codes < 1:
        raise InputError(f"n_codes must be positive, got {n_codes}")
    if arr.size and (arr.min() < 0 or arr.max() >= n_codes):
        raise InputError(f"code ids must lie in [0, {n_codes}), got values in [{arr.min()}, {arr.max()}]")
    return np.bincount(arr, minlength=n_codes)


def codebook_usage(ids: Any, n_codes: int) -> float:
    """Fraction of the codebook used at least once by ``ids`` (1.0 = every code used)."""
    return float((code_histogram(ids, n_codes) > 0).mean())


def perplexity(ids: Any = None, n_codes: int | None = None, *, counts: Any = None) -> float:
    """Codebook perplexity ``exp(H(p))`` of the empirical code distribution ``p``.

    Equals ``n_codes`` for perfectly uniform usage and 1 when a single code is used.  Pass token ``ids`` with
    ``n_codes``, or ``counts`` (a histogram) directly.
    """
    if counts is None:
        if ids is None or n_codes is None:
            raise InputError("perplexity needs ids and n_codes, or counts=")
        counts = code_histogram(ids, n_codes)
    c = _as_array(counts, "counts", ndim=1)
    if (c < 0).any() or c.sum() <= 0:
        raise InputError("counts must be non-negative with a positive total")
    p = c / c.sum()
    nz = p[p > 0]
    return float(np.exp(-(nz * np.log(nz)).sum()))  # exp(H), H = -sum p log p
