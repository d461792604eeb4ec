"""Vector quantisation: turning a continuous latent sequence into codebook indices.

One small module, :class:`VectorQuantizer`, with the four codebook-learning rules T2M-GPT compares, plus one
variant of ours:

* ``"plain"``     -- the original VQ-VAE (van den Oord et al. 2017): the codebook is a parameter learned by
  the codebook loss ``||sg[z] - e||^2``; the encoder is pulled towards its codes by the commitment loss
  ``||z - sg[e]||^2``.  (The official code weights both terms 0.02: ``VQVAEConfig.codebook_weight``.)
* ``"ema"``       -- the codebook is not learned by gradients: every code is the exponential moving average
  (decay ``mu``) of the encoder outputs assigned to it (counts ``N_k`` and sums ``m_k`` are averaged,
  ``e_k = m_k / N_k``).
* ``"reset"``     -- T2M-GPT's ``QuantizeReset``: the codebook gets no gradient and no codebook loss; it moves
  only by resets.  After every training batch each code that batch left unused (raw count ``n_k`` below
  ``reset_threshold``, i.e. 0 with the official threshold 1; no moving average) is replaced by an encoder
  output of the batch.
* ``"ema_reset"`` -- EMA updates plus reset of codes whose moving-average count ``N_k`` falls below
  ``reset_threshold`` (T2M-GPT's choice, decay 0.99, threshold 1).
* ``"plain_reset"`` -- ours, not the paper's: plain (codebook loss) plus the reset of ``"ema_reset"``, by the
  moving-average count.  It is what this package called "reset" before it followed the official code.

In every mode the codebook starts from the first training batch of encoder outputs (tiled with small noise
when the batch has fewer vectors than codes), assignment is to the nearest code, and gradients pass from the
quantised vectors to the encoder unchanged (the straight-through estimator).  Which batch rows seed the
codebook and refill dead codes is ``reset_rows``: ``"first"`` takes the first K rows of the (tiled) batch,
so dead code k gets row k (the official rule, which favours the first motions of a batch); ``"random"``
(default) takes K rows in random order.  Under DDP the EMA statistics are summed over ranks and
re-initialisations are broadcast from rank 0, so every rank keeps the same codebook.

The module takes ``(B, T, D)`` (or ``(N, D)``) latents so that a residual quantizer can stack several of
them: ``quantize(z)`` gives ids without touching the codebook and ``lookup(ids)`` gives vectors back.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from motionlab.errors import InputError

MODES = ("plain", "ema", "reset", "ema_reset", "plain_reset")
RESET_ROWS = ("random", "first")  # which batch rows seed / refill codes


class QuantizerOutput(NamedTuple):
    """What :meth:`VectorQuantizer.forward` returns."""

    quantized: torch.Tensor  # same shape as the input; straight-through: forward = e, backward = identity
    ids: torch.Tensor  # input shape without the last dim, int64 in [0, n_codes)
    losses: dict  # "commit" always; "codebook" in the gradient-learned modes ("plain", "plain_reset")
    stats: dict  # "perplexity", "usage", "dead_codes" (detached scalars)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def perplexity_from_counts(counts: torch.Tensor) -> torch.Tensor:
    """``exp(H(p))`` of the code histogram ``counts`` (K,): 1 when one code takes everything, K when uniform."""
    p = counts.float() / counts.sum().clamp(min=1)
    return torch.exp(-(p * torch.log(p.clamp(min=1e-12))).sum())  # H(p) = -sum_k p_k log p_k


def squared_distances(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """``||z_i - e_k||^2 = ||z_i||^2 - 2 z_i.e_k + ||e_k||^2`` for latents (N, D) and codes (K, D) -> (N, K)."""
    return z.pow(2).sum(1, keepdim=True) - 2.0 * z @ codebook.t() + codebook.pow(2).sum(1)[None, :]


def nearest_code(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest code for each latent: (N, D), (K, D) -> (N,) with ``k_i = argmin_k ||z_i - e_k||``."""
    return squared_distances(z, codebook).argmin(dim=1)


def straight_through(z: torch.Tensor, quantized: torch.Tensor) -> torch.Tensor:
    """Forward value ``quantized``, gradient ``d/dz = identity``: ``z + sg[quantized - z]``."""
    return z + (quantized - z).detach()


def ema_update(avg: torch.Tensor, new: torch.Tensor, decay: float) -> torch.Tensor:
    """One exponential-moving-average step ``avg <- decay * avg + (1 - decay) * new`` (in place, returned)."""
    return avg.mul_(decay).add_(new, alpha=1.0 - decay)


def assignment_statistics(flat: torch.Tensor, ids: torch.Tensor, n_codes: int):
    """Per-code count ``n_k`` (K,) and sum ``sum_{i: k_i = k} z_i`` (K, D) of a batch ``flat`` (N, D)."""
    onehot = F.one_hot(ids, n_codes).type(flat.dtype)  # (N, K)
    return onehot.sum(0), onehot.t() @ flat


def ema_codebook_step(cluster_size: torch.Tensor, embed_sum: torch.Tensor, z: torch.Tensor, ids: torch.Tensor,
                      decay: float = 0.99, eps: float = 1e-5):
    """The EMA codebook update of one batch, as a pure function (the reference for the chapter-4 exercise).

    ``N_k <- mu N_k + (1 - mu) n_k``, ``m_k <- mu m_k + (1 - mu) sum_{i: k_i = k} z_i``, ``e_k = m_k / N_k``.
    Takes ``cluster_size`` (K,), ``embed_sum`` (K, D), latents ``z`` (N, D) and their ids (N,); returns new
    ``(cluster_size, embed_sum, codebook)`` without modifying the inputs.
    """
    counts, sums = assignment_statistics(z, ids, cluster_size.shape[0])
    size = ema_update(cluster_size.clone(), counts, decay)
    total = ema_update(embed_sum.clone(), sums, decay)
    return size, total, total / size.clamp(min=eps)[:, None]


class VectorQuantizer(nn.Module):
    """Nearest-code quantisation with a learned codebook of ``n_codes`` vectors of size ``dim``.

    Args:
        n_codes: codebook size K.
        dim: code (latent channel) dimension D.
        mode: ``"plain" | "ema" | "reset" | "ema_reset" | "plain_reset"`` (see the module docstring).
        decay: EMA decay ``mu`` for counts and sums (0.99 in T2M-GPT).
        reset_threshold: a code whose count is below this is dead: the moving-average count (assignments per
            step) in ``"ema_reset"``/``"plain_reset"``, this batch's raw count in ``"reset"``.
        init: ``"data"`` (first batch, as T2M-GPT) or ``"uniform"`` (U(-1/K, 1/K), the original VQ-VAE's).
        sample_temperature: > 0 draws the code by Gumbel-max over ``-distance / temperature`` while training
            (MoMask uses 0.5); 0 is the plain argmin.
        reset_rows: ``"random"`` or ``"first"`` (official): which rows of the batch seed and refill codes.
        eps: guards divisions by tiny EMA counts.
    """

    def __init__(self, n_codes: int, dim: int, mode: str = "ema_reset", decay: float = 0.99,
                 reset_threshold: float = 1.0, init: str = "data", sample_temperature: float = 0.0,
                 reset_rows: str = "random", eps: float = 1e-5):
        super().__init__()
        if mode not in MODES:
            raise InputError(f"VectorQuantizer mode={mode!r}: expected one of {', '.join(MODES)}")
        if init not in ("data", "uniform"):
            raise InputError(f"VectorQuantizer init={init!r}: expected 'data' or 'uniform'")
        if reset_rows not in RESET_ROWS:
            raise InputError(f"VectorQuantizer reset_rows={reset_rows!r}: expected one of {', '.join(RESET_ROWS)}")
        if n_codes < 1 or dim < 1:
            raise InputError(f"VectorQuantizer needs n_codes >= 1 and dim >= 1, got {n_codes} and {dim}")
        if not 0.0 <= decay < 1.0:
            raise InputError(f"VectorQuantizer decay={decay}: expected 0 <= decay < 1")
        self.n_codes, self.dim, self.mode = int(n_codes), int(dim), mode
        self.decay, self.reset_threshold, self.eps = float(decay), float(reset_threshold), float(eps)
        self.init, self.sample_temperature, self.reset_rows = init, float(sample_temperature), reset_rows

        codebook = torch.empty(n_codes, dim).uniform_(-1.0 / n_codes, 1.0 / n_codes)
        if self.learns_codebook:
            self.codebook = nn.Parameter(codebook)  # moved by the codebook loss
        else:
            self.register_buffer("codebook", codebook)  # moved by EMA / resets, not by the optimiser
        if self.uses_ema:
            self.register_buffer("embed_sum", codebook.clone())  # m_k: EMA of the sum of assigned vectors
        # N_k: EMA of how many vectors each code receives per step (drives the reset and the dead-code count);
        # in "reset" mode the raw count of the last batch
        self.register_buffer("cluster_size", torch.ones(n_codes))
        self.register_buffer("initialized", torch.tensor(init == "uniform"))
        self._ready = False  # python-side copy of `initialized`: no device sync per step once it is True

    # ------------------------------------------------------------------------------------- properties
    @property
    def uses_ema(self) -> bool:
        return self.mode in ("ema", "ema_reset")

    @property
    def uses_reset(self) -> bool:
        return self.mode in ("reset", "ema_reset", "plain_reset")

    @property
    def learns_codebook(self) -> bool:
        """Whether the codebook is a parameter trained by the codebook loss."""
        return self.mode in ("plain", "plain_reset")

    def extra_repr(self) -> str:
        return f"n_codes={self.n_codes}, dim={self.dim}, mode={self.mode!r}, decay={self.decay}"

    # -------------------------------------------------------------------------------------- look-ups
    def _flatten(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.dim:
            raise InputError(f"VectorQuantizer expected latents with last dim {self.dim}, got shape {tuple(z.shape)}")
        return z.reshape(-1, self.dim).float()  # (N, D); distances in fp32 even under autocast

    def distances(self, flat: torch.Tensor) -> torch.Tensor:
        """Squared distances ``||z||^2 - 2 z.e + ||e||^2`` between (N, D) latents and all codes -> (N, K)."""
        return squared_distances(flat, self.codebook.float())

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest-code ids for latents ``(..., D)`` -> ``(...)``; never changes the codebook."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            ids = self.distances(self._flatten(z)).argmin(dim=1)  # (N,)
        return ids.view(z.shape[:-1])

    def lookup(self, ids: torch.Tensor) -> torch.Tensor:
        """Code vectors for ids ``(...)`` -> ``(..., D)``."""
        if ids.dtype not in (torch.int64, torch.int32):
            raise InputError(f"code ids must be an integer tensor, got dtype {ids.dtype}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= self.n_codes):
            raise InputError(f"code ids must lie in [0, {self.n_codes}), got range "
                             f"[{int(ids.min())}, {int(ids.max())}]")
        return F.embedding(ids.long(), self.codebook)

    # ------------------------------------------------------------------------------- codebook updates
    def _tile(self, flat: torch.Tensor) -> torch.Tensor:
        """At least K candidate vectors: repeat a small batch and jitter the copies (std 0.01 / sqrt(D))."""
        n = flat.shape[0]
        if n >= self.n_codes:
            return flat
        repeats = math.ceil(self.n_codes / n)
        out = flat.repeat(repeats, 1)  # (repeats * N, D)
        return out + torch.randn_like(out) * (0.01 / math.sqrt(self.dim))

    def _batch_codes(self, flat: torch.Tensor) -> torch.Tensor:
        """K encoder outputs of this batch, by ``reset_rows`` (identical on every rank: broadcast from rank 0)."""
        pool = self._tile(flat)
        if self.reset_rows == "first":  # official: code k gets row k
            out = pool[: self.n_codes].contiguous()  # (K, D)
        else:
            pick = torch.randperm(pool.shape[0], device=pool.device)[: self.n_codes]
            out = pool[pick].contiguous()  # (K, D)
        if _distributed():
            dist.broadcast(out, src=0)
        return out

    @torch.no_grad()
    def _init_from(self, flat: torch.Tensor) -> None:
        codes = self._batch_codes(flat)
        self.codebook.data.copy_(codes)
        if self.uses_ema:
            self.embed_sum.copy_(codes)  # with N_k = 1, e_k = m_k / N_k starts at the data
        self.cluster_size.fill_(1.0)
        self.initialized.fill_(True)
        self._ready = True

    @torch.no_grad()
    def _update(self, flat: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Move the EMA statistics (and, by mode, the codebook) after one training batch; return counts."""
        counts, sums = assignment_statistics(flat, ids, self.n_codes)  # n_k (K,), sum of z_i with k_i = k (K, D)
        if _distributed():  # one codebook for all ranks: statistics of the global batch
            dist.all_reduce(counts)
            if self.uses_ema:
                dist.all_reduce(sums)
        if self.mode == "reset":
            self.cluster_size.copy_(counts)  # official QuantizeReset: this batch's raw count, no average
        else:
            ema_update(self.cluster_size, counts, self.decay)  # N_k <- mu N_k + (1 - mu) n_k
        if self.uses_ema:
            ema_update(self.embed_sum, sums, self.decay)  # m_k <- mu m_k + (1 - mu) sum_{i: k_i = k} z_i
            alive = self.cluster_size > self.eps  # keep a code unchanged once its count underflows
            means = self.embed_sum / self.cluster_size.clamp(min=self.eps)[:, None]  # e_k = m_k / N_k
            self.codebook.copy_(torch.where(alive[:, None], means, self.codebook))
        if self.uses_reset:  # (computed every step rather than asking `dead.any()`: no device sync)
            dead = self.cluster_size < self.reset_threshold  # (K,)
            fresh = self._batch_codes(flat)  # (K, D)
            self.codebook.data.copy_(torch.where(dead[:, None], fresh, self.codebook.data))
        return counts

    # ---------------------------------------------------------------------------------------- forward
    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        """Quantise latents ``(B, T, D)`` (or any ``(..., D)``).

        Training mode initialises the codebook on the first call and applies the mode's update rule; eval
        mode only assigns.  Returns :class:`QuantizerOutput` ``(quantized, ids, losses, stats)``.
        """
        with torch.autocast(device_type=z.device.type, enabled=False):
            flat = self._flatten(z)  # (N, D)
            if self.training and not self._ready:
                if bool(self.initialized):  # loaded from a checkpoint
                    self._ready = True
                else:
                    self._init_from(flat.detach())
            d = self.distances(flat.detach())  # (N, K)
            if self.training and self.sample_temperature > 0:  # Gumbel-max: stochastic assignment
                gumbel = -torch.log(-torch.log(torch.rand_like(d).clamp(1e-9, 1 - 1e-9)))
                ids = (-d / self.sample_temperature + gumbel).argmax(dim=1)
            else:
                ids = d.argmin(dim=1)  # (N,) k_i = argmin_k ||z_i - e_k||
            codes = F.embedding(ids, self.codebook.float())  # (N, D) e_{k_i}; carries grad if learned
            if self.training:  # update after the look-up: this batch is decoded with the codes it was assigned
                counts = self._update(flat.detach(), ids)
            else:
                counts = torch.bincount(ids, minlength=self.n_codes).float()
            losses = {"commit": F.mse_loss(flat, codes.detach())}  # ||z - sg[e]||^2 pulls z to its code
            if self.learns_codebook:
                losses["codebook"] = F.mse_loss(codes, flat.detach())  # ||sg[z] - e||^2 pulls e to z
            quantized = straight_through(flat, codes.detach())  # value e, gradient to z unchanged
        stats = {
            "perplexity": perplexity_from_counts(counts),
            "usage": (counts > 0).float().mean(),  # fraction of codes used by this batch
            "dead_codes": (self.cluster_size < self.reset_threshold).sum().float(),
        }
        return QuantizerOutput(quantized.view(z.shape), ids.view(z.shape[:-1]), losses, stats)
