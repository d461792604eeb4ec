"""Residual vector quantisation (MoMask's RVQ): a stack of :class:`VectorQuantizer` layers, each coding
what the layers before it missed.

One codebook loses detail: every latent becomes one of K vectors.  Residual quantisation spends
``L = V + 1`` codebooks on the same latent, layer ``v`` quantising the error left by layers ``0..v-1``::

    r^0 = z                          # the encoder output (B, T, C)
    b^v = Q_v(r^v)                   # nearest code of layer v (its own codebook, EMA + reset)
    r^{v+1} = r^v - sg[b^v]          # what is still missing
    z_q = sum_v b^v                  # the decoder's input, straight-through: z + sg[z_q - z]

so a latent is the tuple of ids ``(k^0, ..., k^V)`` (B, T, L), the base layer carrying most of it and each
later layer less.  Training adds, as the official code (momask-codes ``residual_vq.py``):

* **commitment** ``mean_v ||r^v - sg[b^v]||^2`` over the layers that ran (each pulls z through its r^v);
* **quantisation dropout**: per training batch, with probability ``q``, draw k uniformly from ``0..V`` and run
  only layers ``0..k`` (layer 0 is always kept), so that every prefix of layers decodes on its own; the ids of
  the dropped layers are :data:`DROPPED` (-1);
* **stochastic assignment**: with ``sample_temperature`` > 0 each layer draws its code by Gumbel-max over
  ``-distance / temperature`` in training (MoMask: 0.5) and takes the argmin in evaluation.

One difference from the official code, on purpose: there every layer's output is straight-through to its own
residual, so the reconstruction gradient reaches z once per active layer (x L); here it passes once, through
the sum.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from motionlab.errors import InputError
from motionlab.tokenizers.quantizers import (
    QuantizerOutput,
    VectorQuantizer,
    _distributed,
    straight_through,
)

DROPPED = -1  # the id of a layer that quantisation dropout skipped for this batch


class ResidualQuantizer(nn.Module):
    """``n_layers`` :class:`VectorQuantizer` layers (1 base + V residual), each with its own codebook.

    Args:
        n_layers: L = V + 1 (MoMask: 6).
        n_codes, dim: codebook size K and code dimension C of every layer.
        quantize_dropout: probability q that a training batch keeps only layers ``0..k``, k ~ U{0..V}.
        **quantizer: the :class:`VectorQuantizer` options of every layer (``mode``, ``decay``,
            ``reset_threshold``, ``init``, ``sample_temperature``, ``reset_rows``).
    """

    def __init__(self, n_layers: int, n_codes: int, dim: int, quantize_dropout: float = 0.0, **quantizer):
        super().__init__()
        if n_layers < 1:
            raise InputError(f"ResidualQuantizer n_layers={n_layers}: expected >= 1")
        if not 0.0 <= quantize_dropout <= 1.0:
            raise InputError(f"ResidualQuantizer quantize_dropout={quantize_dropout}: expected 0 <= q <= 1")
        self.n_codes, self.dim, self.quantize_dropout = int(n_codes), int(dim), float(quantize_dropout)
        self.layers = nn.ModuleList(VectorQuantizer(n_codes, dim, **quantizer) for _ in range(n_layers))

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def extra_repr(self) -> str:
        return f"quantize_dropout={self.quantize_dropout}"

    def layers_kept(self, device: torch.device | None = None) -> int:
        """How many leading layers this batch runs: L, or in training with probability q, k + 1 with
        k ~ U{0..V}.  Drawn from torch's CPU generator (no device sync; ``seed_everything`` fixes it), and the
        same on every DDP rank (broadcast from rank 0), since each layer's EMA update is a collective."""
        if not (self.training and self.quantize_dropout > 0):
            return self.n_layers  # evaluation draws nothing: it never moves the RNG
        u, k = torch.rand(()), torch.randint(self.n_layers, ())  # always both: the stream never branches
        kept = int(k) + 1 if float(u) < self.quantize_dropout else self.n_layers
        if _distributed():
            shared = torch.tensor([kept], device=device)
            dist.broadcast(shared, src=0)
            kept = int(shared)
        return kept

    # ---------------------------------------------------------------------------------------- forward
    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        """Quantise latents ``(B, T, C)`` layer by layer.

        Returns :class:`QuantizerOutput`: ``quantized`` (B, T, C) = sum of the kept layers' codes (gradient
        to z unchanged), ``ids`` (B, T, L) with :data:`DROPPED` for skipped layers, ``losses`` (each
        layer's losses averaged over the kept layers), ``stats`` (perplexity and usage averaged over the kept
        layers, dead codes summed over all layers, and ``"layers"``: each kept layer's own stats).
        """
        kept = self.layers_kept(z.device)
        residual = z.float()  # r^0 = z (B, T, C); quantizers work in fp32
        total = torch.zeros_like(residual)  # sum_v b^v (B, T, C)
        outs = []
        for layer in self.layers[:kept]:
            out = layer(residual)  # commitment ||r^v - sg[b^v]||^2 reaches z through r^v
            b = out.quantized.detach()  # b^v (B, T, C): the code values
            residual = residual - b  # r^{v+1} = r^v - sg[b^v]
            total = total + b
            outs.append(out)
        dropped = torch.full_like(outs[0].ids, DROPPED)  # (B, T)
        ids = torch.stack([o.ids for o in outs] + [dropped] * (self.n_layers - kept), dim=-1)  # (B, T, L)
        losses = {name: torch.stack([o.losses[name] for o in outs]).mean() for name in outs[0].losses}
        stats = {
            "perplexity": torch.stack([o.stats["perplexity"] for o in outs]).mean(),
            "usage": torch.stack([o.stats["usage"] for o in outs]).mean(),
            "dead_codes": sum((q.cluster_size < q.reset_threshold).sum().float() for q in self.layers),
            "layers": [o.stats for o in outs],
        }
        return QuantizerOutput(straight_through(z.float(), total), ids, losses, stats)

    # -------------------------------------------------------------------------------------- look-ups
    @torch.no_grad()
    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Ids ``(B, T, L)`` of latents ``(B, T, C)`` by argmin at every layer; never changes a codebook."""
        residual, ids = z.float(), []
        for layer in self.layers:
            k = layer.quantize(residual)  # (B, T)
            residual = residual - layer.lookup(k)  # r^{v+1} = r^v - b^v
            ids.append(k)
        return torch.stack(ids, dim=-1)  # (B, T, L)

    def lookup(self, ids: torch.Tensor, layers: int | None = None) -> torch.Tensor:
        """Summed code vectors ``sum_{v < layers} e^v[ids[..., v]]``: ids ``(B, T, l)`` -> ``(B, T, C)``.

        ``ids`` may hold fewer than L layers (a coarse prefix); ``layers`` (default: all given) sums only
        the first ones; a :data:`DROPPED` id adds nothing.
        """
        if ids.dim() < 1 or not 1 <= ids.shape[-1] <= self.n_layers:
            raise InputError(f"residual code ids must have shape (..., l) with 1 <= l <= {self.n_layers} layers, "
                             f"got {tuple(ids.shape)}")
        n = ids.shape[-1] if layers is None else int(layers)
        if not 1 <= n <= ids.shape[-1]:
            raise InputError(f"lookup layers={layers}: expected 1 <= layers <= {ids.shape[-1]} (the layers given)")
        total = 0
        for v in range(n):
            k = ids[..., v]  # (B, T)
            dropped = k == DROPPED
            codes = self.layers[v].lookup(k.masked_fill(dropped, 0))  # (B, T, C); other bad ids raise there
            total = total + codes * (~dropped).unsqueeze(-1)
        return total
