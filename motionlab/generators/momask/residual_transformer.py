"""MoMask's residual transformer: the tokens of RVQ layers 1..L-1, one layer per pass (Guo et al., CVPR 2024).

The RVQ-VAE writes a motion as ``L`` id sequences (layer 0 = the base, layers 1..L-1 = residuals).  The
masked transformer generates layer 0; this model fills in the rest, each layer from the ones below it::

    h_t^j  = sum_{v<j} E_v[k_t^v]                        # summed embeddings of layers 0..j-1 at token t
    x      = [W_c c,  W_q onehot(j),  W_in h_1^j + PE_1, ..., W_in h_T^j + PE_T]    # (T + 2, D)
    p(k_t^j | k_t^{<j}, c, j) = softmax(W_j^T f(Encoder(x))_{t+2})                   # one pass, all t

``c`` is the frozen sentence feature, ``E_v`` the embedding table of layer ``v``'s codes (``code_dim``
wide, plus one row for Pad), ``W_in`` a Linear to the model width ``D``, ``PE`` fixed sinusoidal positions
on the token slots only (the text and layer slots have none, as the official code), ``f`` the official
output head ``Dense -> GELU -> LayerNorm -> Linear(D -> code_dim)`` and ``W_j`` the layer-j projection to
code logits.  The encoder is a bidirectional ``torch.nn.TransformerEncoder`` (post-LN, GELU), pads hidden
by a key-padding mask.

**Weight sharing** (official ``--share_weight``).  The prediction of layer ``j`` and the embedding of layer
``j``'s codes are the same matrix: ``W_j is E_j`` for ``j = 1..L-2``.  In the paper's words the ``j``-th
prediction layer is tied to the ``(j+1)``-th embedding layer, because embedding layer ``j+1`` (1-based)
embeds layer-``j`` codes, the input for predicting layer ``j+1``.  What a code *is* when predicted is what it
means when read back.  Two tables stay untied: ``E_0`` (the base layer is never predicted here) and
``W_{L-1}`` (the last layer is never read).  So ``L - 2`` shared + 2 own tables of ``(n_codes + 1) x
code_dim``; ``model.heads[j - 1].weight is model.embeds[j].weight``.

**Training** (:meth:`ResidualTransformer.forward`).  Each sample gets its own target layer from the
official schedule :func:`layer_schedule`, ``j = round((1 - cos(pi u / 2)) (L - 2)) + 1``, ``u ~ U(0, 1)``,
which favours low layers (for L = 6: P(j) = .32, .25, .19, .16, .08); cross-entropy on layer ``j``'s ids at
the valid (non-pad) positions, averaged over all valid tokens of the batch; the sentence feature is zeroed
with probability ``cond_drop`` (0.2) per sample, so the same network also gives unconditional logits.

**Generation** (:meth:`ResidualTransformer.generate`).  Layers 1..L-1 one after another, one pass each,
each from the sum of the layers so far; classifier-free guidance ``w = (1 + s) w_c - s w_u``; top-k
filtering (keep 10 % of the codes, the official ``topk_filter_thres=0.9``) and Gumbel-max sampling.

Deviations from momask-codes ``ResidualTransformer``, all on purpose and none changing the parameter count:

* logits cover the ``n_codes`` codes only: the official projection also scores the Pad id, which is never a
  target (ignored in the loss) and would be a wrong sample;
* guidance is written with the paper's ``s``; the official code's ``cond_scale`` is ``1 + s``;
* the sentence feature comes in as a vector (any frozen encoder), not from a CLIP model inside the module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import filter_top_k, init_weights, sinusoidal_table

__all__ = [
    "ResidualTransformer",
    "ResidualTransformerConfig",
    "gumbel_argmax",
    "layer_probabilities",
    "layer_schedule",
    "official_top_k",
]


@dataclass(frozen=True)
class ResidualTransformerConfig:
    """Sizes of the residual transformer.  Defaults are the paper's (``tres_nlayer8_ld384_ff1024_rvq6ns_cdp0.2_sw``)
    with MiniLM's 384-d text feature; ``n_codes``, ``n_quantizers`` and ``code_dim`` come from the RVQ-VAE."""

    n_codes: int = 512  # codes per RVQ layer (K)
    n_quantizers: int = 6  # RVQ layers L = 1 base + V residual
    code_dim: int = 512  # width of the token embedding tables (the RVQ code dimension, as official)
    text_dim: int = 384  # sentence feature size (MiniLM 384, CLIP ViT-B/32 512)
    width: int = 384  # transformer latent D
    n_layers: int = 8
    n_heads: int = 6
    ff: int = 1024  # feed-forward width
    dropout: float = 0.2  # inside the encoder and on the positional encoding
    cond_drop: float = 0.2  # P(sentence feature zeroed) per training sample, for guidance
    share_weights: bool = True  # prediction of layer j tied to the embedding of layer j (official --share_weight)
    max_tokens: int = 49  # longest token sequence (positions table): 196 frames / 4, as the masked transformer

    @property
    def pad_id(self) -> int:
        """The id written at positions past a motion's length (one row of every embedding table)."""
        return self.n_codes

    def __post_init__(self):
        def need(ok: bool, field: str, expected: str):
            if not ok:
                raise InputError(f"ResidualTransformerConfig.{field}={getattr(self, field)!r}: expected {expected}")

        need(self.n_quantizers >= 2, "n_quantizers", ">= 2 (a base layer and at least one residual layer)")
        for name in ("n_codes", "code_dim", "text_dim", "width", "n_layers", "n_heads", "ff", "max_tokens"):
            need(int(getattr(self, name)) >= 1, name, "an integer >= 1")
        need(self.width % self.n_heads == 0, "width", f"a multiple of n_heads={self.n_heads}")
        need(0.0 <= self.dropout < 1.0, "dropout", "in [0, 1)")
        need(0.0 <= self.cond_drop <= 1.0, "cond_drop", "a probability in [0, 1]")


# ------------------------------------------------------------------------------------------ layer schedule
def layer_schedule(u: torch.Tensor, n_quantizers: int) -> torch.Tensor:
    """The official target-layer draw (momask-codes ``q_schedule``) from uniforms ``u`` in [0, 1):
    ``j = round((1 - cos(pi u / 2)) (L - 2)) + 1``, a layer in ``1..L-1`` that favours the low ones."""
    s = 1.0 - torch.cos(u.double() * math.pi / 2)  # in [0, 1): grows slowly at first
    return torch.round(s * (n_quantizers - 2)).long() + 1  # (B,) in 1..L-1


def layer_probabilities(n_quantizers: int) -> torch.Tensor:
    """Exact P(j) of :func:`layer_schedule` for ``j = 1..L-1``, shape ``(L - 1,)`` (index 0 is layer 1).

    ``j - 1 = round(m s)``, ``m = L - 2``, with ``s = 1 - cos(pi u / 2)``, so ``P(s <= x) = (2 / pi)
    arccos(1 - x)`` and layer ``j`` takes ``s`` in ``[(j - 1.5) / m, (j - 0.5) / m)`` clipped to [0, 1]."""
    m = n_quantizers - 2
    if m == 0:
        return torch.ones(1, dtype=torch.float64)
    edges = torch.tensor([(k - 0.5) / m for k in range(m + 2)], dtype=torch.float64).clamp(0.0, 1.0)
    cdf = (2 / math.pi) * torch.arccos(1.0 - edges)  # P(s <= edge)
    return cdf[1:] - cdf[:-1]  # (L - 1,)


# ------------------------------------------------------------------------------------------ sampling
def official_top_k(n_codes: int) -> int:
    """Codes kept by the official filter ``topk_filter_thres=0.9``: ``ceil(0.1 * n_codes)`` (52 of 512)."""
    return max(1, math.ceil(0.1 * n_codes))


def gumbel_argmax(logits: torch.Tensor, temperature: float = 1.0,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """One code per row by Gumbel-max: ``argmax(logits / T + g)``, ``g = -log(-log u)``, ``u ~ U(0, 1)``; the
    same law as sampling ``softmax(logits / T)`` (official ``gumbel_sample``).  Uniforms come from
    ``generator`` (drawn on its device, then moved), so a seeded generator gives the same codes."""
    if temperature <= 0:
        raise InputError(f"temperature={temperature}: expected > 0")
    gen_device = generator.device if generator is not None else logits.device
    u = torch.rand(logits.shape, generator=generator, device=gen_device).to(logits.device)
    g = -torch.log((-torch.log(u.clamp_min(1e-20))).clamp_min(1e-20))  # standard Gumbel noise
    return (logits.float() / temperature + g).argmax(dim=-1)


# ------------------------------------------------------------------------------------------ the model
class ResidualTransformer(nn.Module):
    """``forward(text_emb, ids, lengths, layer=None) -> (logits, losses)``; ``generate(text_emb, base_ids,
    lengths) -> ids (B, T, L)``.  See the module docstring for the equations and the weight sharing."""

    Config = ResidualTransformerConfig
    config_class = ResidualTransformerConfig

    def __init__(self, config: ResidualTransformerConfig):
        super().__init__()
        self.config = cfg = config
        L, rows = cfg.n_quantizers, cfg.n_codes + 1  # every table has a Pad row
        # E_v embeds layer-v codes, v = 0..L-2 (layer L-1 is never an input)
        self.embeds = nn.ModuleList(nn.Embedding(rows, cfg.code_dim) for _ in range(L - 1))
        self.token_in = nn.Linear(cfg.code_dim, cfg.width)  # W_in: summed embedding -> model width
        self.layer_in = nn.Linear(L, cfg.width)  # W_q on onehot(j): a table of L rows plus one bias
        self.text_in = nn.Linear(cfg.text_dim, cfg.width)  # W_c: sentence feature -> one token
        self.register_buffer("pos", sinusoidal_table(cfg.max_tokens, cfg.width), persistent=False)  # fixed
        self.pos_drop = nn.Dropout(cfg.dropout)
        block = nn.TransformerEncoderLayer(cfg.width, cfg.n_heads, dim_feedforward=cfg.ff, dropout=cfg.dropout,
                                           activation="gelu", batch_first=True)  # post-LN, as official
        self.encoder = nn.TransformerEncoder(block, cfg.n_layers, enable_nested_tensor=False)
        # f: the official output head, back to code_dim so that it can meet the embedding tables
        self.out = nn.Sequential(nn.Linear(cfg.width, cfg.width), nn.GELU(), nn.LayerNorm(cfg.width, eps=1e-12),
                                 nn.Linear(cfg.width, cfg.code_dim))
        # W_j predicts layer j = 1..L-1 (heads[j-1]); a bias only when nothing is tied
        self.heads = nn.ModuleList(nn.Linear(cfg.code_dim, rows, bias=not cfg.share_weights) for _ in range(L - 1))
        self.apply(init_weights)
        if cfg.share_weights:
            for j in range(1, L - 1):  # W_j is E_j: one Parameter, two names; W_{L-1} and E_0 stay own
                self.heads[j - 1].weight = self.embeds[j].weight

    def num_params(self) -> int:
        """Trainable parameters, each tied tensor once (the positions table is a buffer)."""
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return self.token_in.weight.device

    # ------------------------------------------------------------------------------------- checks
    def _check(self, text_emb: torch.Tensor, ids: torch.Tensor, lengths, n_layers: int, name: str
               ) -> torch.Tensor:
        """Validate shapes and codes; return ``lengths`` as a (B,) long tensor on the model's device."""
        cfg = self.config
        if text_emb.ndim != 2 or text_emb.shape[1] != cfg.text_dim:
            raise InputError(f"text_emb has shape {tuple(text_emb.shape)}: expected (B, {cfg.text_dim})")
        B = text_emb.shape[0]
        want = f"(B={B}, T, L={cfg.n_quantizers})" if n_layers > 1 else f"(B={B}, T)"
        if ids.ndim != (3 if n_layers > 1 else 2) or ids.shape[0] != B or (n_layers > 1 and ids.shape[2] != n_layers):
            raise InputError(f"{name} has shape {tuple(ids.shape)}: expected {want}")
        if ids.dtype.is_floating_point or ids.dtype == torch.bool:
            raise InputError(f"{name} has dtype {ids.dtype}: expected integer code ids")
        T = ids.shape[1]
        if not 1 <= T <= cfg.max_tokens:
            raise InputError(f"{name} has {T} tokens per sequence: expected 1..{cfg.max_tokens} (max_tokens)")
        lengths = torch.as_tensor(lengths, dtype=torch.long, device=self.device).reshape(-1)
        if lengths.shape[0] != B or int(lengths.min()) < 1 or int(lengths.max()) > T:
            raise InputError(f"lengths must be {B} token counts in 1..{T}, got {lengths.tolist()}")
        valid = self.valid_mask(lengths, T)  # (B, T)
        codes = ids.to(self.device)[valid]  # (N,) or (N, L): the ids that must be codes
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= cfg.n_codes):
            raise InputError(f"{name} holds ids outside [0, {cfg.n_codes}) inside the lengths: "
                             f"min {int(codes.min())}, max {int(codes.max())}")
        return lengths

    @staticmethod
    def valid_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
        """``(B, T)`` True at positions ``t < length`` (tokens), False at pads."""
        return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]

    def sample_layers(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """One target layer per sample by the official schedule (:func:`layer_schedule`), shape (B,)."""
        gen_device = generator.device if generator is not None else torch.device("cpu")
        u = torch.rand(batch, generator=generator, device=gen_device)
        return layer_schedule(u, self.config.n_quantizers).to(self.device)

    # ------------------------------------------------------------------------------------- forward
    def history(self, ids: torch.Tensor, layer: torch.Tensor) -> torch.Tensor:
        """``h^j = sum_{v<j} E_v[ids[..., v]]`` per sample: ``ids (B, T, >= max j)`` (pads = Pad id),
        ``layer (B,)`` -> ``(B, T, code_dim)``."""
        B, T = ids.shape[:2]
        h = torch.zeros(B, T, self.config.code_dim, device=ids.device, dtype=self.token_in.weight.dtype)
        for v in range(int(layer.max())):  # layers 0..max(j)-1; a sample adds layer v only when v < j
            take = (v < layer).to(h.dtype)[:, None, None]  # (B, 1, 1)
            h = h + take * self.embeds[v](ids[:, :, v])  # (B, T, code_dim)
        return h

    def logits_from_history(self, text_emb: torch.Tensor, history: torch.Tensor, layer: torch.Tensor,
                            valid: torch.Tensor, *, drop_text: bool | torch.Tensor = False) -> torch.Tensor:
        """One pass: ``history (B, T, code_dim)``, ``layer (B,)`` in 1..L-1, ``valid (B, T)`` -> logits of
        layer ``j``'s codes ``(B, T, n_codes)``.  ``drop_text``: True zeroes every sentence feature (the
        unconditional logits), a (B,) bool tensor zeroes some (condition dropout)."""
        cfg = self.config
        B, T = valid.shape
        c = text_emb.to(self.text_in.weight.dtype)
        if isinstance(drop_text, torch.Tensor):
            c = c * (~drop_text).to(c.dtype)[:, None]  # zeroed features: the text slot is the bias only
        elif drop_text:
            c = torch.zeros_like(c)
        text_tok = self.text_in(c)[:, None]  # (B, 1, D)
        onehot = F.one_hot(layer, cfg.n_quantizers).to(c.dtype)  # (B, L)
        layer_tok = self.layer_in(onehot)[:, None]  # (B, 1, D)
        x = self.pos_drop(self.token_in(history) + self.pos[:T])  # (B, T, D): positions on tokens only
        x = torch.cat([text_tok, layer_tok, x], dim=1)  # (B, T + 2, D)
        pad = torch.cat([torch.zeros(B, 2, dtype=torch.bool, device=valid.device), ~valid], dim=1)  # (B, T + 2)
        y = self.encoder(x, src_key_padding_mask=pad)[:, 2:]  # (B, T, D): the token slots
        f = self.out(y)  # (B, T, code_dim)
        # W_j per sample: stack the L-1 heads and pick row j-1 of each sample
        W = torch.stack([h.weight[: cfg.n_codes] for h in self.heads])  # (L-1, n_codes, code_dim)
        logits = torch.einsum("btc,bkc->btk", f, W[layer - 1])  # (B, T, n_codes): f . W_j[k]
        if not cfg.share_weights:
            b = torch.stack([h.bias[: cfg.n_codes] for h in self.heads])  # (L-1, n_codes)
            logits = logits + b[layer - 1][:, None]
        return logits

    def forward(self, text_emb: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor,
                layer: int | torch.Tensor | None = None, *, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits of one residual layer per sample, and its cross-entropy.

        ``text_emb (B, text_dim)``; ``ids (B, T, L)`` all layers' ids (anything at positions ``>= lengths``);
        ``lengths (B,)`` tokens per sequence; ``layer``: None draws one per sample by the official schedule
        (from ``generator``, else torch's global generator), an int or a (B,) tensor fixes it.  Condition
        dropout (``cond_drop``) applies in training mode only.  Returns ``logits (B, T, n_codes)`` for layer
        ``j`` and ``losses``: ``loss`` = mean cross-entropy over the valid tokens of the batch (pads ignored,
        as the official ``ignore_index``), ``accuracy`` on the same tokens, ``layer`` the mean ``j``.
        """
        cfg = self.config
        lengths = self._check(text_emb, ids, lengths, cfg.n_quantizers, "ids")
        B, T, L = ids.shape
        if layer is None:
            layer = self.sample_layers(B, generator)
        layer = torch.as_tensor(layer, dtype=torch.long, device=self.device)
        if layer.ndim > 1 or (layer.ndim == 1 and layer.shape[0] != B):
            raise InputError(f"layer has shape {tuple(layer.shape)}: expected an int or ({B},)")
        layer = layer.expand(B).clone()  # (B,)
        if int(layer.min()) < 1 or int(layer.max()) > L - 1:
            raise InputError(f"layer={sorted(set(layer.tolist()))}: expected residual layers in 1..{L - 1} "
                             "(layer 0 is the masked transformer's)")
        valid = self.valid_mask(lengths, T)  # (B, T)
        ids = ids.to(self.device).masked_fill(~valid[:, :, None], cfg.pad_id)  # pads read the Pad row
        drop = False
        if self.training and cfg.cond_drop > 0:
            gen_device = generator.device if generator is not None else torch.device("cpu")
            drop = (torch.rand(B, generator=generator, device=gen_device) < cfg.cond_drop).to(self.device)  # (B,)
        logits = self.logits_from_history(text_emb.to(self.device), self.history(ids, layer), layer, valid,
                                          drop_text=drop)  # (B, T, n_codes)
        target = ids[torch.arange(B, device=self.device), :, layer]  # (B, T): layer j's ids (Pad at pads)
        ce = F.cross_entropy(logits.float().transpose(1, 2), target.masked_fill(~valid, 0), reduction="none")
        n = valid.sum()
        loss = (ce * valid).sum() / n  # L = mean over valid (b, t) of -log p(k_t^j | k_t^{<j}, c, j)
        with torch.no_grad():
            acc = ((logits.argmax(-1) == target) & valid).sum() / n
        return logits, {"loss": loss, "accuracy": acc, "layer": layer.float().mean()}

    # --------------------------------------------------------------------------------- generation
    def guided_logits(self, text_emb: torch.Tensor, history: torch.Tensor, layer: int, valid: torch.Tensor,
                      cond_scale: float) -> torch.Tensor:
        """Classifier-free guidance: ``w = (1 + s) w_c - s w_u`` with ``w_u`` the logits of a zeroed
        sentence feature; ``s = 0`` is exactly the conditional pass (no second pass is run)."""
        j = torch.full((history.shape[0],), int(layer), dtype=torch.long, device=history.device)
        cond = self.logits_from_history(text_emb, history, j, valid)  # (B, T, n_codes) w_c
        if cond_scale == 0:
            return cond
        uncond = self.logits_from_history(text_emb, history, j, valid, drop_text=True)  # (B, T, n_codes) w_u
        return (1.0 + cond_scale) * cond - cond_scale * uncond

    @torch.no_grad()
    def generate(self, text_emb: torch.Tensor, base_ids: torch.Tensor, lengths: torch.Tensor, *,
                 cond_scale: float = 4.0, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None, n_layers: int | None = None,
                 source: torch.Tensor | None = None, edit: torch.Tensor | None = None) -> torch.Tensor:
        """Residual ids for given base-layer ids: ``text_emb (B, text_dim)``, ``base_ids (B, T)`` layer 0
        (from the masked transformer), ``lengths (B,)`` -> ``ids (B, T, L)``.

        One pass per layer ``j = 1..L-1`` (or ``1..n_layers-1``; the rest stay Pad), each conditioned on the
        sum of the embeddings of layers ``0..j-1``; guided logits (``cond_scale`` = the paper's ``s``; default
        4, which is the official code's residual scale 5), filtered to the ``top_k``
        best codes (None: the official 10 %, :func:`official_top_k`) and sampled by Gumbel-max at
        ``temperature``.  Layer 0 at valid positions is ``base_ids`` unchanged; every position past a length
        holds the Pad id (``config.pad_id``) in every layer.  The same ``generator`` state gives the same ids.

        Editing: ``source (B, T, L)`` ids of a motion and ``edit (B, T)`` True where tokens are regenerated;
        elsewhere every layer keeps the source's ids (the official ``edit`` regenerates the residual layers
        everywhere, which changes frames outside the edit: momask-codes issue #31).
        """
        cfg = self.config
        lengths = self._check(text_emb, base_ids, lengths, 1, "base_ids")
        n_layers = cfg.n_quantizers if n_layers is None else int(n_layers)
        if not 1 <= n_layers <= cfg.n_quantizers:
            raise InputError(f"n_layers={n_layers}: expected 1..{cfg.n_quantizers}")
        if cond_scale < 0:
            raise InputError(f"cond_scale={cond_scale}: expected s >= 0 (0 = conditional logits only)")
        k = official_top_k(cfg.n_codes) if top_k is None else int(top_k)
        B, T = base_ids.shape
        valid = self.valid_mask(lengths, T)  # (B, T)
        text_emb = text_emb.to(self.device)
        out = torch.full((B, T, cfg.n_quantizers), cfg.pad_id, dtype=torch.long, device=self.device)
        out[:, :, 0] = base_ids.to(self.device).masked_fill(~valid, cfg.pad_id)  # (B, T)
        if (source is None) != (edit is None):
            raise InputError("source and edit go together: the motion's ids (B, T, L) and the positions to redo")
        if source is not None and (source.shape != out.shape or edit.shape != (B, T)):
            raise InputError(f"source {tuple(source.shape)} / edit {tuple(edit.shape)}: expected {tuple(out.shape)}"
                             f" / {(B, T)}")
        was_training = self.training
        self.eval()
        try:
            h = torch.zeros(B, T, cfg.code_dim, device=self.device, dtype=self.token_in.weight.dtype)
            for j in range(1, n_layers):
                h = h + self.embeds[j - 1](out[:, :, j - 1])  # (B, T, code_dim): h^j = h^{j-1} + E_{j-1}[k^{j-1}]
                logits = self.guided_logits(text_emb, h, j, valid, cond_scale)  # (B, T, n_codes)
                logits = filter_top_k(logits.float(), k)  # the k best codes per position, others -inf
                codes = gumbel_argmax(logits, temperature, generator)  # (B, T)
                if source is not None:  # keep the motion's own ids outside the edit
                    codes = torch.where(edit.to(self.device), codes, source[:, :, j].to(self.device))
                out[:, :, j] = codes.masked_fill(~valid, cfg.pad_id)
        finally:
            self.train(was_training)
        return out
