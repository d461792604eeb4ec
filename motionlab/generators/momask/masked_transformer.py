"""MoMask's masked transformer: base-layer motion tokens written by iterative unmasking (Guo et al., CVPR 2024).

Where T2M-GPT writes tokens left to right, this model sees the whole sequence at once (bidirectional
attention) and fills in blanks.  The vocabulary is the ``n_codes`` codes of the RVQ's base layer plus two
special ids: [MASK] (= ``n_codes``, "predict me") and [PAD] (= ``n_codes + 1``, past the motion's end; also
hidden from attention by a key-padding mask).  The input is ``[c, e(t_1), ..., e(t_n)]``: the projected
sentence feature ``c`` as a prepended token (no position, no cross-attention), then the token embeddings plus
fixed sinusoidal positions.  The output head predicts codes only, never [MASK] or [PAD].

Training (:func:`mask_for_training`) hides a random share of each sequence and scores the guesses there only:

    τ ~ U(0, 1),  γ(τ) = cos(πτ/2),  m = ⌈γ(τ)·n⌉ positions chosen uniformly among the n real tokens
    of the m: 10 % get a random code, 88 % of the rest get [MASK], the others keep their true code
    L = mean over the m positions of -log p(t_k | masked sequence, c)

and zeroes the sentence feature of 10 % of the samples (``cond_drop``), so the same network also learns the
unconditional distribution that classifier-free guidance needs.

Generation (:meth:`MaskedTransformer.generate`) starts from all [MASK] and runs L iterations (10): predict
every masked position, sample it (top 10 % of the codes, Gumbel-max: the same distribution as the official
default categorical draw), keep the most confident samples and re-mask the round(γ(l/(L-1))·n) least
confident ones; with guidance ``ω = (1+s)·ω_c − s·ω_u``.

Architecture as the official ``MaskTransformer`` (momask-codes ``models/mask_transformer/transformer.py``):
``nn.Embedding(n_codes + 2, code_dim)`` then ``Linear(code_dim, width)``, ``Linear(text_dim, width)`` for the
text, post-LN ``nn.TransformerEncoder`` (GELU), and the BERT head ``Linear -> GELU -> LayerNorm -> Linear``.
The ``paper`` size (8 layers, 6 heads, width 384, FFN 1024, 512-d code embedding, 512-d CLIP feature) has
12,048,768 parameters, the official count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import init_weights, sinusoidal_table

__all__ = [
    "IGNORE",
    "OFFICIAL_COND_SCALE",
    "LengthEstimator",
    "LengthEstimatorConfig",
    "MaskedBatch",
    "MaskedTransformer",
    "MaskedTransformerConfig",
    "cosine_schedule",
    "drop_condition",
    "filter_top_fraction",
    "guided_logits",
    "gumbel_max",
    "mask_for_training",
]

IGNORE = -100  # target id of positions that carry no loss (torch's cross-entropy default ignore_index)
# The official code mixes logits as u + s_code·(c − u) with s_code = 4 (HumanML3D); in the paper's form used
# here, (1 + s)·c − s·u, that is s = s_code − 1 = 3.
OFFICIAL_COND_SCALE = 3.0


@dataclass(frozen=True)
class MaskedTransformerConfig:
    """Sizes of the masked transformer.  Defaults are the official HumanML3D model (``paper`` profile) with
    CLIP's 512-d text feature; ``n_codes``, ``code_dim`` and ``text_dim`` are set from the tokenizer and the
    text encoder where the data is known."""

    n_codes: int = 512  # base-layer codebook size K
    text_dim: int = 512  # sentence feature size (CLIP ViT-B/32 512, MiniLM 384)
    code_dim: int = 512  # token embedding width before the projection to `width` (official: the RVQ's code_dim)
    width: int = 384  # model width (official latent_dim)
    n_layers: int = 8
    n_heads: int = 6
    ff: int = 1024  # feed-forward width of each layer
    dropout: float = 0.2  # inside the layers and on token + position embeddings
    cond_drop: float = 0.1  # probability that a training sample's sentence feature is zeroed (for CFG)
    max_tokens: int = 49  # longest sequence: 196 frames / 4
    random_replace: float = 0.1  # share of the masked positions given a random code (BERT)
    mask_replace: float = 0.88  # share of the remaining masked positions given [MASK]; the rest keep their code

    @property
    def mask_id(self) -> int:
        return self.n_codes

    @property
    def pad_id(self) -> int:
        return self.n_codes + 1

    @property
    def vocab_size(self) -> int:
        """Rows of the token embedding: codes + [MASK] + [PAD]."""
        return self.n_codes + 2

    def __post_init__(self):
        def need(ok: bool, name: str, expected: str):
            if not ok:
                raise InputError(f"MaskedTransformerConfig.{name}={getattr(self, name)!r}: expected {expected}")

        for name in ("n_codes", "text_dim", "code_dim", "width", "n_layers", "n_heads", "ff", "max_tokens"):
            need(int(getattr(self, name)) >= 1, name, "a positive integer")
        need(self.width % self.n_heads == 0, "width", f"a multiple of n_heads={self.n_heads}")
        for name in ("dropout", "cond_drop", "random_replace", "mask_replace"):
            need(0.0 <= getattr(self, name) <= 1.0, name, "a probability in [0, 1]")


# ------------------------------------------------------------------------------------------ training masks
def cosine_schedule(tau: torch.Tensor) -> torch.Tensor:
    """The masking ratio γ(τ) = cos(πτ/2): 1 (all masked) at τ = 0, 0 at τ = 1."""
    return torch.cos(tau * math.pi / 2)


@dataclass
class MaskedBatch:
    """One masked training batch: ``inputs (B, T)`` what the model reads (codes / [MASK] / [PAD]),
    ``targets (B, T)`` the true codes at the masked positions and :data:`IGNORE` elsewhere, ``masked (B, T)``
    the positions chosen by the schedule, ``replaced`` / ``remasked`` / ``kept`` (B, T) the BERT split of
    them, ``tau (B,)`` the schedule time of each sample."""

    inputs: torch.Tensor
    targets: torch.Tensor
    masked: torch.Tensor
    replaced: torch.Tensor
    remasked: torch.Tensor
    kept: torch.Tensor
    tau: torch.Tensor


def _lengths(lengths, batch: int, width: int, device, name: str = "lengths") -> torch.Tensor:
    """``lengths`` as a (B,) long tensor of token counts in 1..width, or a clear error."""
    n = torch.as_tensor(lengths, dtype=torch.long, device=device).reshape(-1)
    if n.shape[0] != batch or int(n.min()) < 1 or int(n.max()) > width:
        raise InputError(f"{name} must be {batch} token counts in 1..{width}, got {n.tolist()}")
    return n


def _rand(shape, generator: torch.Generator | None, device) -> torch.Tensor:
    """Uniforms in [0, 1) from ``generator`` (on its own device), moved to ``device``."""
    gen_device = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=gen_device).to(device)


def mask_for_training(codes: torch.Tensor, lengths, config: MaskedTransformerConfig,
                      generator: torch.Generator | None = None) -> MaskedBatch:
    """Mask a batch of base-layer code sequences ``(B, T)`` (positions past ``lengths (B,)`` are padding).

    Per sample: τ ~ U(0, 1), m = ⌈γ(τ)·n⌉ (at least 1) of its n real positions chosen uniformly; of those,
    ``random_replace`` (10 %) get a uniformly random code, ``mask_replace`` (88 %) of the rest get [MASK] and
    the others keep their code (overall ≈ 79.2 % [MASK], 10 % random, 10.8 % unchanged, as the official code;
    the paper says 80/10/10).  Every random number comes from ``generator``.
    """
    if codes.ndim != 2:
        raise InputError(f"codes have shape {tuple(codes.shape)}: expected (B, T)")
    B, T = codes.shape
    device = codes.device
    n = _lengths(lengths, B, T, device)  # (B,)
    valid = torch.arange(T, device=device) < n[:, None]  # (B, T) real tokens
    tau = _rand(B, generator, device)  # τ ~ U(0, 1)
    n_mask = torch.ceil(cosine_schedule(tau) * n).long().clamp(1, None)  # m = ⌈γ(τ)·n⌉ >= 1, <= n since γ <= 1
    # m positions uniformly among the real ones: the m smallest of iid uniforms, padding sorted last
    scores = _rand((B, T), generator, device).masked_fill(~valid, 2.0)  # (B, T)
    ranks = scores.argsort(dim=1).argsort(dim=1)  # rank of each position's score within its row
    masked = ranks < n_mask[:, None]  # (B, T)
    # BERT split of the masked positions
    replaced = masked & (_rand((B, T), generator, device) < config.random_replace)  # 10 %: a random code
    remasked = masked & ~replaced & (_rand((B, T), generator, device) < config.mask_replace)  # 88 % of the rest
    kept = masked & ~replaced & ~remasked  # the rest: the true code, still scored
    noise = (_rand((B, T), generator, device) * config.n_codes).long().clamp_max(config.n_codes - 1)  # U{0..K-1}
    inputs = codes.masked_fill(~valid, config.pad_id)
    inputs = torch.where(replaced, noise, inputs).masked_fill(remasked, config.mask_id)  # (B, T)
    targets = codes.masked_fill(~masked, IGNORE)  # loss on the masked positions only
    return MaskedBatch(inputs, targets, masked, replaced, remasked, kept, tau)


def drop_condition(text_emb: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero each row of ``text_emb (B, D)`` with probability ``p``: the "no text" samples guidance needs."""
    if p <= 0:
        return text_emb
    keep = _rand(text_emb.shape[0], generator, text_emb.device) >= p  # (B,)
    return text_emb * keep[:, None].to(text_emb.dtype)


# ------------------------------------------------------------------------------------------- sampling
def filter_top_fraction(logits: torch.Tensor, fraction: float) -> torch.Tensor:
    """Keep the ``k = ⌈fraction·K⌉`` largest logits of each row (official ``topkr 0.9``: fraction 0.1,
    52 of 512 codes), set the rest to ``-inf``."""
    if not 0.0 < fraction <= 1.0:
        raise InputError(f"top_fraction={fraction}: expected a fraction of the codes in (0, 1]")
    k = max(1, math.ceil(fraction * logits.shape[-1] - 1e-9))  # -1e-9: 0.1 * 520 is 52, not 53
    if k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1) the k-th largest
    return logits.masked_fill(logits < kth, float("-inf"))


def gumbel_max(logits: torch.Tensor, temperature: float = 1.0, generator: torch.Generator | None = None
               ) -> torch.Tensor:
    """A categorical draw from ``softmax(logits / temperature)`` per row: ``argmax(logits / T + g)``,
    ``g = -log(-log u)``, u ~ U(0, 1) (the Gumbel-max trick; one uniform per logit)."""
    if temperature <= 0:
        raise InputError(f"temperature={temperature}: expected > 0")
    u = _rand(logits.shape, generator, logits.device).clamp_min(1e-20)
    g = -torch.log(-torch.log(u))  # standard Gumbel noise
    return (logits.float() / temperature + g).argmax(dim=-1)


def guided_logits(cond: torch.Tensor, uncond: torch.Tensor | None, scale: float) -> torch.Tensor:
    """Classifier-free guidance ``ω = (1 + s)·ω_c − s·ω_u``; at ``s = 0`` the conditional logits themselves."""
    if scale == 0:
        return cond
    return (1.0 + scale) * cond - scale * uncond


# ------------------------------------------------------------------------------------------------ model
class MaskedTransformer(nn.Module):
    """Bidirectional transformer over base-layer tokens; ``forward(text_emb, ids, lengths, targets)``."""

    Config = MaskedTransformerConfig
    config_class = MaskedTransformerConfig

    def __init__(self, config: MaskedTransformerConfig):
        super().__init__()
        self.config = cfg = config
        self.tok = nn.Embedding(cfg.vocab_size, cfg.code_dim)  # codes + [MASK] + [PAD]
        self.tok_proj = nn.Linear(cfg.code_dim, cfg.width)  # official InputProcess
        self.cond = nn.Linear(cfg.text_dim, cfg.width)  # sentence feature -> prepended token
        self.register_buffer("pos", sinusoidal_table(cfg.max_tokens, cfg.width), persistent=False)  # fixed
        self.drop = nn.Dropout(cfg.dropout)  # on token + position (official PositionalEncoding's dropout)
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.n_heads, cfg.ff, cfg.dropout, activation="gelu",
                                           batch_first=True)  # post-LN, as the official (norm_first=False)
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.head = nn.Sequential(  # BERT's prediction head; codes only, never [MASK] / [PAD]
            nn.Linear(cfg.width, cfg.width), nn.GELU(), nn.LayerNorm(cfg.width, eps=1e-12),
            nn.Linear(cfg.width, cfg.n_codes))
        self.apply(init_weights)

    def num_params(self) -> int:
        """Trainable parameters (the sinusoidal table is a buffer, not counted)."""
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return self.cond.weight.device

    # ------------------------------------------------------------------------------------------ forward
    def _check_text(self, text_emb: torch.Tensor) -> None:
        if text_emb.ndim != 2 or text_emb.shape[1] != self.config.text_dim:
            raise InputError(f"text_emb has shape {tuple(text_emb.shape)}: expected (B, {self.config.text_dim})")

    def _check(self, text_emb: torch.Tensor, ids: torch.Tensor) -> None:
        cfg = self.config
        self._check_text(text_emb)
        if ids.ndim != 2 or ids.shape[0] != text_emb.shape[0] or not 1 <= ids.shape[1] <= cfg.max_tokens:
            raise InputError(f"ids have shape {tuple(ids.shape)}: expected (B={text_emb.shape[0]}, T) with "
                             f"1 <= T <= max_tokens={cfg.max_tokens}")

    def logits(self, text_emb: torch.Tensor, ids: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """The network: ``[c, e(ids) + pos]`` through the encoder, head on the token positions.

        ``text_emb (B, text_dim)``, ``ids (B, T)``, ``padding (B, T)`` True past each sequence's end.
        Returns ``(B, T, n_codes)``.
        """
        c = self.cond(text_emb.to(self.cond.weight.dtype)).unsqueeze(1)  # (B, 1, W)
        x = self.drop(self.tok_proj(self.tok(ids)) + self.pos[: ids.shape[1]])  # (B, T, W)
        x = torch.cat([c, x], dim=1)  # (B, 1 + T, W): the text is token 0
        pad = torch.cat([padding.new_zeros(padding.shape[0], 1), padding], dim=1)  # (B, 1 + T) never hide c
        h = self.encoder(x, src_key_padding_mask=pad)  # (B, 1 + T, W)
        return self.head(h[:, 1:])  # (B, T, n_codes)

    def forward(self, text_emb: torch.Tensor, ids: torch.Tensor, lengths, targets: torch.Tensor | None = None,
                *, uncond: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits for every token position and, with ``targets``, the masked-token loss.

        ``text_emb (B, text_dim)``; ``ids (B, T)`` inputs (codes, [MASK]; positions past ``lengths (B,)`` are
        read as [PAD] whatever they hold); ``targets (B, T)`` true codes where scored, :data:`IGNORE`
        elsewhere.  In training mode each sample's text is zeroed with probability ``cond_drop``;
        ``uncond=True`` zeroes all of them (the unconditional logits of guidance).  Returns
        ``logits (B, T, n_codes)`` and ``losses`` (``loss``, ``accuracy``; empty without targets).
        """
        cfg = self.config
        self._check(text_emb, ids)
        n = _lengths(lengths, ids.shape[0], ids.shape[1], ids.device)  # (B,)
        padding = torch.arange(ids.shape[1], device=ids.device) >= n[:, None]  # (B, T)
        ids = ids.masked_fill(padding, cfg.pad_id)
        if ids.min() < 0 or ids.max() > cfg.pad_id:
            raise InputError(f"ids must lie in 0..{cfg.pad_id} (codes, [MASK]={cfg.mask_id}, [PAD]={cfg.pad_id})")
        if uncond:
            text_emb = torch.zeros_like(text_emb)
        elif self.training:
            text_emb = drop_condition(text_emb, cfg.cond_drop)  # c = 0 with probability 0.1
        logits = self.logits(text_emb, ids, padding)  # (B, T, K)
        return logits, (self.loss(logits, targets) if targets is not None else {})

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cross-entropy over the scored positions (``targets != IGNORE``), averaged over all of them in the
        batch (official: ``F.cross_entropy(..., ignore_index=mask_id)``), and accuracy there."""
        if targets.shape != logits.shape[:2]:
            raise InputError(f"targets have shape {tuple(targets.shape)}, expected {tuple(logits.shape[:2])}")
        scored = targets != IGNORE  # (B, T)
        if not bool(scored.any()):
            raise InputError("targets score no position: every entry is IGNORE")
        # L = (1/M) sum_{k masked} -log p(t_k | masked sequence, c)
        loss = F.cross_entropy(logits[scored].float(), targets[scored])
        with torch.no_grad():
            acc = (logits[scored].argmax(-1) == targets[scored]).float().mean()
        return {"loss": loss, "accuracy": acc}

    def guided(self, text_emb: torch.Tensor, ids: torch.Tensor, lengths, cond_scale: float) -> torch.Tensor:
        """Guided logits ``(1 + s)·ω_c − s·ω_u`` (``s = cond_scale``), two passes; ``s = 0``: one pass, exactly
        the conditional logits."""
        cond, _ = self(text_emb, ids, lengths)
        uncond = self(text_emb, ids, lengths, uncond=True)[0] if cond_scale != 0 else None
        return guided_logits(cond, uncond, cond_scale)  # (B, T, K)

    # --------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(self, text_emb: torch.Tensor, lengths, *, iterations: int = 10,
                 cond_scale: float = OFFICIAL_COND_SCALE, top_fraction: float = 0.1, temperature: float = 1.0,
                 generator: torch.Generator | None = None, history: list | None = None) -> torch.Tensor:
        """Base-layer codes ``(B, max(lengths))`` for sentence features ``(B, text_dim)`` and ``lengths (B,)``
        in tokens, [PAD] after each sequence's end: :meth:`fill` started from all [MASK]."""
        cfg = self.config
        self._check_text(text_emb)
        n = _lengths(lengths, text_emb.shape[0], cfg.max_tokens, self.device)  # (B,)
        padding = torch.arange(int(n.max()), device=self.device) >= n[:, None]  # (B, T)
        ids = torch.full(padding.shape, cfg.mask_id, dtype=torch.long, device=self.device)
        return self.fill(text_emb, ids.masked_fill(padding, cfg.pad_id), n, iterations=iterations,
                         cond_scale=cond_scale, top_fraction=top_fraction, temperature=temperature,
                         generator=generator, history=history)

    @torch.no_grad()
    def fill(self, text_emb: torch.Tensor, ids: torch.Tensor, lengths, *, iterations: int = 10,
             cond_scale: float = OFFICIAL_COND_SCALE, top_fraction: float = 0.1, temperature: float = 1.0,
             generator: torch.Generator | None = None, history: list | None = None) -> torch.Tensor:
        """Replace the [MASK] positions of ``ids (B, T)`` by codes; every other position is kept as it is.

        Generation starts from all [MASK]; editing (chapter 7) masks only the tokens of the frames to redo.
        MaskGIT decoding as the official ``MaskTransformer.generate`` / ``edit``: with ``m`` the number of
        [MASK] positions of a row, at iteration l = 0..L-1 (τ_l = l / (L-1), ``torch.linspace(0, 1, L)``)
        re-mask the ``max(1, round(γ(τ_l)·m))`` positions of lowest confidence (only positions sampled in the
        previous iteration can be chosen: the given ones never are), predict them with guidance ``cond_scale``
        (paper form (1 + s)·ω_c − s·ω_u; the default 3 is the official code's 4), keep the top
        ``top_fraction`` of the codes (10 %), draw one by Gumbel-max at ``temperature``, and score each draw by
        its softmax probability under the unfiltered guided logits at temperature 1.  No [MASK] is left: the
        last iteration fills what it re-masked.  ``history``: a list that receives the ids after each
        iteration (for the chapter's animation).
        """
        cfg = self.config
        if int(iterations) < 1:
            raise InputError(f"iterations={iterations}: expected >= 1")
        if not math.isfinite(cond_scale):
            raise InputError(f"cond_scale={cond_scale}: expected a finite guidance scale")
        device, B = self.device, text_emb.shape[0]
        text_emb, ids = text_emb.to(device), ids.to(device)
        self._check(text_emb, ids)
        n = _lengths(lengths, B, cfg.max_tokens, device)  # (B,)
        if ids.shape[1] != int(n.max()):
            raise InputError(f"ids has {ids.shape[1]} positions: expected max(lengths) = {int(n.max())}")
        to_fill = ids == cfg.mask_id  # (B, T)
        if (to_fill & (torch.arange(ids.shape[1], device=device) >= n[:, None])).any():
            raise InputError("ids has [MASK] past a sequence's length: expected [PAD] there")
        n_fill = to_fill.sum(1)  # (B,) m per row
        fixed = torch.tensor(float("inf"), device=device)
        scores = torch.zeros(ids.shape, device=device).masked_fill(~to_fill, fixed)  # inf = never re-mask
        was_training = self.training
        self.eval()
        try:
            for tau in torch.linspace(0, 1, int(iterations)).tolist():
                n_mask = torch.round(cosine_schedule(torch.tensor(tau)) * n_fill).long().clamp_min(1)  # (B,)
                ranks = scores.argsort(dim=1, stable=True).argsort(dim=1)  # 0 = least confident
                remask = (ranks < torch.minimum(n_mask, n_fill)[:, None]) & to_fill  # (B, T)
                ids = ids.masked_fill(remask, cfg.mask_id)
                logits = self.guided(text_emb, ids, n, cond_scale).float()  # (B, T, K)
                draw = gumbel_max(filter_top_fraction(logits, top_fraction), temperature, generator)  # (B, T)
                ids = torch.where(remask, draw, ids)
                conf = logits.softmax(-1).gather(-1, draw.unsqueeze(-1)).squeeze(-1)  # p(draw), no temperature
                scores = torch.where(remask, conf, fixed)  # only this iteration's draws may be re-masked
                if history is not None:
                    history.append(ids.clone())
        finally:
            self.train(was_training)
        return ids  # (B, T)


# ------------------------------------------------------------------------------------- length estimator
@dataclass(frozen=True)
class LengthEstimatorConfig:
    """The official length estimator (``models/vq/model.py::LengthEstimator``): an MLP on the sentence
    feature, ``text_dim -> 512 -> 256 -> 128 -> n_classes`` with LayerNorm, LeakyReLU(0.2) and dropout 0.2;
    class k means k tokens (4k frames)."""

    text_dim: int = 512
    hidden: int = 512
    n_classes: int = 50  # token lengths 0..49 (196 frames = 49 tokens)
    dropout: float = 0.2

    def __post_init__(self):
        if self.n_classes < 2 or self.hidden < 4 or self.text_dim < 1:
            raise InputError(f"LengthEstimatorConfig: n_classes={self.n_classes} (>= 2), hidden={self.hidden} "
                             f"(>= 4), text_dim={self.text_dim} (>= 1)")


class LengthEstimator(nn.Module):
    """Sentence feature -> logits over token lengths; ``sample`` draws a length when none is given."""

    Config = LengthEstimatorConfig
    config_class = LengthEstimatorConfig

    def __init__(self, config: LengthEstimatorConfig):
        super().__init__()
        self.config = cfg = config
        h, act = cfg.hidden, lambda: nn.LeakyReLU(0.2)
        self.net = nn.Sequential(
            nn.Linear(cfg.text_dim, h), nn.LayerNorm(h), act(), nn.Dropout(cfg.dropout),
            nn.Linear(h, h // 2), nn.LayerNorm(h // 2), act(), nn.Dropout(cfg.dropout),
            nn.Linear(h // 2, h // 4), nn.LayerNorm(h // 4), act(),
            nn.Linear(h // 4, cfg.n_classes))
        self.apply(init_weights)

    def forward(self, text_emb: torch.Tensor, lengths=None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``logits (B, n_classes)``; with ``lengths (B,)`` in tokens (clamped to the last class), the
        cross-entropy ``loss`` and ``accuracy``."""
        if text_emb.ndim != 2 or text_emb.shape[1] != self.config.text_dim:
            raise InputError(f"text_emb has shape {tuple(text_emb.shape)}: expected (B, {self.config.text_dim})")
        logits = self.net(text_emb.to(self.net[0].weight.dtype))  # (B, C)
        if lengths is None:
            return logits, {}
        target = torch.as_tensor(lengths, dtype=torch.long, device=logits.device).reshape(-1)
        if target.shape[0] != logits.shape[0] or int(target.min()) < 0:
            raise InputError(f"lengths must be {logits.shape[0]} token counts >= 0, got {target.tolist()}")
        target = target.clamp_max(self.config.n_classes - 1)
        loss = F.cross_entropy(logits.float(), target)  # -log p(n | c)
        acc = (logits.argmax(-1) == target).float().mean().detach()
        return logits, {"loss": loss, "accuracy": acc}

    @torch.no_grad()
    def sample(self, text_emb: torch.Tensor, *, min_tokens: int = 1, max_tokens: int | None = None,
               temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Token lengths ``(B,)`` drawn from ``softmax(logits / temperature)`` restricted to
        ``min_tokens..max_tokens`` (official: a Categorical draw; class 0 is excluded here, since a motion needs
        at least one token)."""
        hi = self.config.n_classes - 1 if max_tokens is None else int(max_tokens)
        if not 1 <= int(min_tokens) <= hi <= self.config.n_classes - 1:
            raise InputError(f"min_tokens={min_tokens}, max_tokens={max_tokens}: expected "
                             f"1 <= min_tokens <= max_tokens <= {self.config.n_classes - 1}")
        was_training = self.training
        self.eval()
        try:
            logits, _ = self(text_emb)  # (B, C)
        finally:
            self.train(was_training)
        k = torch.arange(logits.shape[1], device=logits.device)
        allowed = (k >= int(min_tokens)) & (k <= hi)
        return gumbel_max(logits.masked_fill(~allowed, float("-inf")), temperature, generator)  # (B,)
