"""T2M-GPT's motion VQ-VAE: a 1-D convolutional encoder, a vector quantizer and a mirror-image decoder.

    features x (B, T, D) --encoder--> z (B, T/4, C) --quantizer--> ids (B, T/4), e (B, T/4, C)
                                      --decoder--> x_hat (B, T, D)

The encoder is a stack of 1-D convolutions over time: an input convolution, then ``down_t`` times
[stride-2 convolution (halves T) -> residual stack], then an output convolution to the code dimension.
Each residual stack (:class:`Resnet1D`) has ``depth`` pre-activation blocks with dilations 9, 3, 1 (growth
3, reversed), so one token sees a wide window of frames.  The decoder mirrors it with nearest-neighbour x2
upsampling.  With ``down_t = 2`` one token stands for 4 frames.

The official encoder and decoder hard-code ReLU after their outer convolutions (after the input convolution
and before the last one) whatever ``--vq-act`` says; only the residual blocks follow it.
``VQVAEConfig.outer_activation="relu"`` (default) does the same, ``"same"`` uses ``activation`` everywhere.

Official settings that differ from this package's defaults (the ``paper`` profile sets them):
``reset_rows="first"`` (codebook init and dead-code reset take the batch's first K rows) and, for the
plain quantizer, ``codebook_weight=0.02`` and ``codebook_init="uniform"`` (T2M-GPT's ``Quantizer`` weights
``||sg[z] - e||^2 + ||z - sg[e]||^2`` by ``--commit`` 0.02 and starts from U(-1/K, 1/K)).

MoMask's RVQ-VAE is the same network with ``dropout=0.2`` in the residual blocks and ``n_quantizers=6``: the
quantizer is then a :class:`~motionlab.tokenizers.residual.ResidualQuantizer`, ``encode`` gives ids
``(B, T/4, L)`` and ``decode`` takes them (MoMask's ``RVQVAE``: 19,436,807 parameters plus 6 codebook buffers).

Features are the normalised HumanML3D vectors (``Normalizer.from_folder(root, feat_bias=5)``); the model
keeps those statistics as buffers so a loaded tokenizer can normalise and de-normalise by itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from motionlab.errors import InputError
from motionlab.losses import RECON_KINDS, VEL_TARGETS, vqvae_loss
from motionlab.tokenizers.quantizers import MODES, RESET_ROWS, VectorQuantizer
from motionlab.tokenizers.residual import ResidualQuantizer

ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "gelu": nn.GELU}


@dataclass(frozen=True)
class VQVAEConfig:
    """Everything that defines a VQ-VAE tokenizer (architecture, quantizer and loss weights)."""

    input_dim: int = 263  # feature size D (263 HumanML3D, 251 KIT)
    width: int = 512  # channels of every hidden convolution
    code_dim: int = 512  # latent / code dimension C
    n_codes: int = 512  # codebook size K
    depth: int = 3  # residual blocks per stack
    dilation_growth: int = 3  # dilations growth**i, i < depth, used in reverse (9, 3, 1)
    down_t: int = 2  # stride-2 downsamplings: one token per 2**down_t frames
    activation: str = "relu"  # inside the residual blocks
    outer_activation: str = "relu"  # relu (official: hard-coded) | same (= activation)
    dropout: float = 0.0  # inside residual blocks (MoMask: 0.2)
    quantizer: str = "ema_reset"  # plain | ema | reset | ema_reset
    decay: float = 0.99  # EMA decay mu
    reset_threshold: float = 1.0
    reset_rows: str = "random"  # random | first (official): batch rows that seed and refill codes
    codebook_init: str = "data"  # data | uniform
    recon_loss: str = "l1_smooth"  # l1 | l2 | l1_smooth
    vel_weight: float = 0.5  # alpha
    vel_on: str = "ric"  # ric (official) | velocity | diff
    commit_weight: float = 0.02  # beta
    codebook_weight: float = 1.0  # plain / plain_reset modes only (official plain VQ: 0.02)
    # MoMask's residual VQ: a ResidualQuantizer when n_quantizers > 1.  sample_temperature > 0 draws codes by
    # Gumbel-max in training (either quantizer; 0 = argmin as T2M-GPT)
    n_quantizers: int = 1  # 1 base + V residual layers (MoMask: 6)
    quantize_dropout: float = 0.0  # no effect with one layer (MoMask: 0.2)
    sample_temperature: float = 0.0  # MoMask: 0.5

    def __post_init__(self):
        checks = [
            (self.quantizer in MODES, f"quantizer={self.quantizer!r}: expected one of {', '.join(MODES)}"),
            (self.recon_loss in RECON_KINDS, f"recon_loss={self.recon_loss!r}: expected one of {', '.join(RECON_KINDS)}"),
            (self.vel_on in VEL_TARGETS, f"vel_on={self.vel_on!r}: expected one of {', '.join(VEL_TARGETS)}"),
            (self.activation in ACTIVATIONS, f"activation={self.activation!r}: expected one of {', '.join(ACTIVATIONS)}"),
            (self.outer_activation in ("relu", "same"), f"outer_activation={self.outer_activation!r}: expected 'relu' or 'same'"),
            (self.reset_rows in RESET_ROWS, f"reset_rows={self.reset_rows!r}: expected one of {', '.join(RESET_ROWS)}"),
            (min(self.input_dim, self.width, self.code_dim, self.n_codes, self.depth) >= 1,
             "input_dim, width, code_dim, n_codes and depth must all be >= 1"),
            (self.down_t >= 0, f"down_t={self.down_t}: expected >= 0"),
            (0.0 <= self.dropout < 1.0, f"dropout={self.dropout}: expected 0 <= dropout < 1"),
            (self.n_quantizers >= 1, f"n_quantizers={self.n_quantizers}: expected >= 1"),
            (0.0 <= self.quantize_dropout <= 1.0, f"quantize_dropout={self.quantize_dropout}: expected 0 <= q <= 1"),
            (self.sample_temperature >= 0.0, f"sample_temperature={self.sample_temperature}: expected >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"VQVAEConfig: {message}")

    @property
    def unit(self) -> int:
        """Frames per token (4 for T2M-GPT)."""
        return 2 ** self.down_t

    @property
    def residual(self) -> bool:
        """Whether the quantizer is residual (ids ``(B, T', L)``) rather than one codebook (ids ``(B, T')``)."""
        return self.n_quantizers > 1

    @property
    def outer_act(self) -> str:
        """The activation after the encoder's input and the decoder's penultimate convolution."""
        return self.activation if self.outer_activation == "same" else "relu"


class ResBlock1D(nn.Module):
    """Pre-activation residual block: ``x + Conv1x1(act(Conv3_dilated(act(x))))`` (+ optional dropout)."""

    def __init__(self, width: int, dilation: int, activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        self.body = nn.Sequential(
            ACTIVATIONS[activation](),
            nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation),  # keeps T; sees +-dilation frames
            ACTIVATIONS[activation](),
            nn.Conv1d(width, width, 1),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, W, T) -> (B, W, T)
        return x + self.body(x)


class Resnet1D(nn.Sequential):
    """``depth`` residual blocks with dilations ``growth**i`` in reverse order (9, 3, 1 for depth 3)."""

    def __init__(self, width: int, depth: int = 3, growth: int = 3, activation: str = "relu",
                 dropout: float = 0.0):
        dilations = [growth ** i for i in range(depth)][::-1]
        super().__init__(*[ResBlock1D(width, d, activation, dropout) for d in dilations])


class Encoder(nn.Sequential):
    """(B, D, T) features -> (B, C, T / 2**down_t) latents."""

    def __init__(self, c: VQVAEConfig):
        layers = [nn.Conv1d(c.input_dim, c.width, 3, padding=1), ACTIVATIONS[c.outer_act]()]
        for _ in range(c.down_t):
            layers += [
                nn.Conv1d(c.width, c.width, 4, stride=2, padding=1),  # T -> T/2
                Resnet1D(c.width, c.depth, c.dilation_growth, c.activation, c.dropout),
            ]
        layers.append(nn.Conv1d(c.width, c.code_dim, 3, padding=1))
        super().__init__(*layers)


class Decoder(nn.Sequential):
    """(B, C, T') codes -> (B, D, T' * 2**down_t) features."""

    def __init__(self, c: VQVAEConfig):
        layers = [nn.Conv1d(c.code_dim, c.width, 3, padding=1), ACTIVATIONS[c.outer_act]()]
        for _ in range(c.down_t):
            layers += [
                Resnet1D(c.width, c.depth, c.dilation_growth, c.activation, c.dropout),
                nn.Upsample(scale_factor=2, mode="nearest"),  # T' -> 2T'
                nn.Conv1d(c.width, c.width, 3, padding=1),
            ]
        layers += [
            nn.Conv1d(c.width, c.width, 3, padding=1), ACTIVATIONS[c.outer_act](),
            nn.Conv1d(c.width, c.input_dim, 3, padding=1),
        ]
        super().__init__(*layers)


class VQVAE(nn.Module):
    """The motion tokenizer: ``forward(x) -> (recon, losses, info)``, ``encode(x) -> ids``, ``decode(ids)``.

    All methods take normalised features ``(B, T, D)`` with ``T`` a multiple of ``config.unit``;
    :meth:`normalize` / :meth:`denormalize` convert raw features with the statistics the model was trained on.
    """

    config_class = VQVAEConfig

    def __init__(self, config: VQVAEConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        options = dict(mode=config.quantizer, decay=config.decay, reset_threshold=config.reset_threshold,
                       init=config.codebook_init, reset_rows=config.reset_rows,
                       sample_temperature=config.sample_temperature)
        if config.residual:  # MoMask: one VectorQuantizer per layer, codes summed
            self.quantizer = ResidualQuantizer(config.n_quantizers, config.n_codes, config.code_dim,
                                               quantize_dropout=config.quantize_dropout, **options)
        else:
            self.quantizer = VectorQuantizer(config.n_codes, config.code_dim, **options)
        self.decoder = Decoder(config)
        self.register_buffer("feature_mean", torch.zeros(config.input_dim))
        self.register_buffer("feature_std", torch.ones(config.input_dim))

    @classmethod
    def from_config(cls, config: VQVAEConfig | dict) -> "VQVAE":
        return cls(config if isinstance(config, VQVAEConfig) else VQVAEConfig(**config))

    # ----------------------------------------------------------------------------------- bookkeeping
    def num_parameters(self, trainable_only: bool = False) -> int:
        """Parameter count (the codebook counts in plain/plain_reset modes, where it is a parameter)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def set_normalizer(self, mean, std) -> None:
        """Store the feature statistics (``Normalizer.mean/std``) the model is trained with."""
        mean_t = torch.as_tensor(np.asarray(mean, dtype=np.float32))
        std_t = torch.as_tensor(np.asarray(std, dtype=np.float32))
        if mean_t.shape != (self.config.input_dim,) or std_t.shape != (self.config.input_dim,):
            raise InputError(f"normaliser statistics must have shape ({self.config.input_dim},), got "
                             f"{tuple(mean_t.shape)} and {tuple(std_t.shape)}")
        self.feature_mean.copy_(mean_t)
        self.feature_std.copy_(std_t)

    def normalize(self, raw: torch.Tensor) -> torch.Tensor:
        return (raw - self.feature_mean) / self.feature_std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.feature_std + self.feature_mean

    def _check(self, x: torch.Tensor) -> None:
        c = self.config
        if x.dim() != 3 or x.shape[-1] != c.input_dim:
            raise InputError(f"VQVAE expects features of shape (B, T, {c.input_dim}), got {tuple(x.shape)}")
        if x.shape[1] == 0 or x.shape[1] % c.unit:
            raise InputError(f"VQVAE needs T to be a positive multiple of {c.unit} frames, got T={x.shape[1]} "
                             f"(crop with motionlab.tokenizers.crop_to_unit)")

    # ------------------------------------------------------------------------------------ the model
    def encode_latents(self, x: torch.Tensor) -> torch.Tensor:
        """Continuous encoder outputs ``(B, T, D) -> (B, T/unit, C)`` before quantisation."""
        self._check(x)
        return self.encoder(x.transpose(1, 2)).transpose(1, 2)  # convs run over time: (B, D, T)

    def decode_latents(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder on (quantised) latents ``(B, T', C) -> (B, T' * unit, D)``."""
        return self.decoder(z.transpose(1, 2)).transpose(1, 2)

    def forward(self, x: torch.Tensor):
        """Reconstruct ``x (B, T, D)``; returns ``(recon, losses, info)``.

        ``losses["loss"]`` is the training objective (see :func:`motionlab.losses.vqvae_loss`); ``info``
        holds the token ids ``(B, T/unit)`` (``(B, T/unit, L)`` when residual) and the quantizer statistics
        (perplexity, usage, dead codes; a residual quantizer adds each layer's own under ``"layers"``).
        """
        c = self.config
        z = self.encode_latents(x)  # (B, T/4, C)
        q = self.quantizer(z)  # quantized (B, T/4, C), ids (B, T/4) or (B, T/4, L)
        recon = self.decode_latents(q.quantized)  # (B, T, D)
        losses = vqvae_loss(recon, x, q.losses, recon_kind=c.recon_loss, vel_weight=c.vel_weight,
                            vel_on=c.vel_on, commit_weight=c.commit_weight, codebook_weight=c.codebook_weight)
        return recon, losses, {"ids": q.ids, **q.stats}

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, T/unit)`` -- ``(B, T/unit, L)`` when residual -- of normalised features ``(B, T, D)``
        (argmin at every layer; never updates a codebook)."""
        return self.quantizer.quantize(self.encode_latents(x))

    @torch.no_grad()
    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """Normalised features ``(B, T' * unit, D)`` of token ids ``(B, T')``, or ``(B, T', l)`` when residual
        (the first l <= L layers are summed: a coarse prefix decodes too)."""
        want, shape = (3, "(B, T', L)") if self.config.residual else (2, "(B, T')")
        if ids.dim() != want:
            raise InputError(f"VQVAE.decode expects ids of shape {shape}, got {tuple(ids.shape)}")
        return self.decode_latents(self.quantizer.lookup(ids))

    def describe(self) -> dict:
        """Config plus parameter count, as plain values (for tables and records)."""
        return {**asdict(self.config), "parameters": self.num_parameters(), "frames_per_token": self.config.unit}


def crop_to_unit(features, unit: int = 4, offset: int = 0):
    """Crop a ``(T, D)`` motion to the largest multiple of ``unit`` frames, starting at ``offset``.

    T2M-GPT tokenises each training motion once after cropping it this way at a random offset in
    ``[0, T mod unit]``.
    """
    t = features.shape[0]
    keep = (t // unit) * unit
    if keep == 0:
        raise InputError(f"a motion of {t} frames is shorter than one token ({unit} frames)")
    if not 0 <= offset <= t - keep:
        raise InputError(f"crop offset {offset} out of range [0, {t - keep}] for {t} frames")
    return features[offset:offset + keep]
