"""Run profiles: how big every stage of the book is, in one place.

Three profiles, each a frozen dataclass that chapters and the CLI read:

* ``smoke`` -- CPU, CI and laptops: the whole book in minutes on 2 cores.
* ``full``  -- one GPU: the whole book in <= 30 min on one H100, each chapter <= 6 min.
* ``paper`` -- the papers' own hyperparameters on real HumanML3D / KIT-ML (days of GPU time).

``"auto"`` resolves as: explicit argument > env ``MOTIONLAB_PROFILE`` > ``full`` when CUDA is present >
``smoke``.  Each stage's section holds plain numbers; the model modules turn them into their own config
dataclasses (``VQVAEConfig.from_profile(profile)`` and so on), so this module imports nothing from the
rest of the package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

PROFILE_NAMES = ("smoke", "full", "paper")
ENV_VAR = "MOTIONLAB_PROFILE"


@dataclass(frozen=True)
class DataSpec:
    """Which data a profile uses and how much of it."""

    synth_motions: int  # procedural MotionLab-Synth motions before mirroring
    synth_mirror: bool = True  # add a left/right mirrored copy of each motion (HumanML3D does)
    max_frames: int = 196
    window: int = 64  # tokenizer training window (frames)


@dataclass(frozen=True)
class EvaluatorSpec:
    """The Guo et al. (2022) text-motion matching evaluator."""

    dim_word: int  # learned word embedding (GloVe's 300 in the paper)
    dim_text_hidden: int  # bi-GRU hidden size of the text encoder
    dim_movement: int  # movement (snippet) encoder width
    dim_motion_hidden: int  # bi-GRU hidden size of the motion encoder
    dim_coemb: int  # shared text/motion embedding size
    movement_steps: int  # movement autoencoder pre-training steps
    movement_window: int
    matching_steps: int  # contrastive matching steps
    batch_size: int
    lr: float
    negative_margin: float = 10.0
    eval_every: int = 200  # validate this often; keep the best checkpoint


@dataclass(frozen=True)
class ProtocolSpec:
    """The evaluation protocol (replications and MultiModality sizes)."""

    replications: int
    batch_size: int = 32
    diversity_pairs: int = 300
    mm_texts: int = 100
    mm_samples: int = 30
    mm_pairs: int = 10


@dataclass(frozen=True)
class TokenizerSpec:
    """The T2M-GPT convolutional VQ-VAE and its training budget."""

    width: int
    code_dim: int
    n_codes: int
    depth: int
    window: int
    batch_size: int
    steps: int
    lr: float
    warmup_steps: int
    milestones: tuple[int, ...]
    gamma: float
    commit_weight: float = 0.02
    vel_weight: float = 0.5
    recon_loss: str = "l1_smooth"
    quantizer: str = "ema_reset"
    # ablations (chapters 3 and 4) run a cheaper copy of the model
    ablation_steps: int = 0
    ablation_width: int = 0
    ablation_seeds: int = 1
    codebook_sizes: tuple[int, ...] = (256, 512, 1024)
    # torch threads while training on the CPU (None: the profile's): small convolutions run faster on one
    # thread than on two whose OpenMP workers sleep between ops (OMP_WAIT_POLICY=PASSIVE, as in CI)
    cpu_threads: int | None = None


@dataclass(frozen=True)
class GPTSpec:
    """The T2M-GPT transformer over motion tokens and its training budget."""

    n_embd: int
    n_head: int
    n_base_layers: int
    n_head_layers: int
    block_size: int
    dropout: float
    batch_size: int
    steps: int
    lr: float
    betas: tuple[float, float]
    weight_decay: float
    milestones: tuple[int, ...]
    gamma: float
    tau: float | None = 0.5  # corruption rate; None = drawn per batch from U[0, 1]
    # ablations (chapter 5: tau and training-set size) train shorter runs, several seeds each
    ablation_steps: int = 0
    ablation_seeds: int = 1
    ablation_replications: int = 0  # protocol replications per ablation run (0: the protocol's own)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    data: DataSpec
    evaluator: EvaluatorSpec
    protocol: ProtocolSpec
    tokenizer: TokenizerSpec
    gpt: GPTSpec
    cpu_threads: int | None = None  # torch threads on CPU (None = leave torch's default)
    chapter_budget_s: int = 360  # target per chapter, checked by benchmarks, never by tests
    notes: dict = field(default_factory=dict)

    def with_overrides(self, **sections) -> "Profile":
        """A copy with some sections replaced, e.g. ``p.with_overrides(gpt=replace(p.gpt, steps=10))``."""
        return replace(self, **sections)


SMOKE = Profile(
    name="smoke",
    description="CPU / CI: tiny models and a small synthetic set; the whole book in minutes on 2 cores.",
    data=DataSpec(synth_motions=800),
    evaluator=EvaluatorSpec(
        dim_word=64, dim_text_hidden=64, dim_movement=64, dim_motion_hidden=64, dim_coemb=64,
        movement_steps=200, movement_window=24, matching_steps=800, batch_size=32, lr=2e-3,
        eval_every=100,
    ),
    protocol=ProtocolSpec(replications=2, mm_texts=16, mm_samples=6, mm_pairs=5, diversity_pairs=100),
    tokenizer=TokenizerSpec(
        width=64, code_dim=64, n_codes=128, depth=3, window=64, batch_size=32, steps=600, lr=1e-3,
        warmup_steps=50, milestones=(450,), gamma=0.05, ablation_steps=200, ablation_width=32,
        ablation_seeds=1, codebook_sizes=(32, 64, 128), cpu_threads=1,
    ),
    # T2M-GPT on 2 CPU cores: 1 + 1 blocks of width 96 (~0.29 M parameters); a higher lr than the
    # paper's because the run is 600x shorter.  Main run + 5 ablation runs fit the chapter's 150 s.
    gpt=GPTSpec(
        n_embd=96, n_head=4, n_base_layers=1, n_head_layers=1, block_size=51, dropout=0.1,
        batch_size=32, steps=500, lr=1e-3, betas=(0.9, 0.99), weight_decay=1e-6, milestones=(400,),
        gamma=0.1, ablation_steps=100, ablation_seeds=1, ablation_replications=2,
    ),
    cpu_threads=2,
    chapter_budget_s=120,
)

FULL = Profile(
    name="full",
    description="One GPU: full-size synthetic set, book-sized models; the whole book in <= 30 min on an H100.",
    data=DataSpec(synth_motions=15000),
    evaluator=EvaluatorSpec(
        dim_word=300, dim_text_hidden=512, dim_movement=512, dim_motion_hidden=1024, dim_coemb=512,
        movement_steps=3000, movement_window=24, matching_steps=6000, batch_size=128, lr=2e-4,
        eval_every=500,
    ),
    protocol=ProtocolSpec(replications=20),
    tokenizer=TokenizerSpec(
        width=512, code_dim=512, n_codes=512, depth=3, window=64, batch_size=256, steps=12000, lr=2e-4,
        warmup_steps=1000, milestones=(9000,), gamma=0.05, ablation_steps=2000, ablation_width=256,
        ablation_seeds=3, codebook_sizes=(256, 512, 1024),
    ),
    # T2M-GPT at half the paper's width: 4 + 4 blocks of 512 (~26 M parameters, ~1 TFLOP per step of
    # 128 x 50 tokens).  Estimated (no GPU measurement yet) ~10 ms/step on an H100 with bf16: ~50 s for the
    # main run, ~120 s for the 15 ablation runs (5 settings x 3 seeds x 800 steps), ~140 s of protocol
    # evaluation: chapter 5 within its 6 minutes.  Official optimiser (AdamW, beta (0.5, 0.9), wd 1e-6,
    # step decay x0.05) with a higher lr for the 60x shorter run.
    gpt=GPTSpec(
        n_embd=512, n_head=8, n_base_layers=4, n_head_layers=4, block_size=51, dropout=0.1,
        batch_size=128, steps=5000, lr=3e-4, betas=(0.5, 0.9), weight_decay=1e-6, milestones=(3750,),
        gamma=0.05, ablation_steps=800, ablation_seeds=3, ablation_replications=3,
    ),
    chapter_budget_s=360,
)

PAPER = Profile(
    name="paper",
    description="The papers' hyperparameters on real HumanML3D / KIT-ML (multi-day GPU runs).",
    data=DataSpec(synth_motions=15000),
    evaluator=EvaluatorSpec(
        dim_word=300, dim_text_hidden=512, dim_movement=512, dim_motion_hidden=1024, dim_coemb=512,
        movement_steps=100000, movement_window=24, matching_steps=300000, batch_size=8, lr=1e-4,
        eval_every=5000,
    ),
    protocol=ProtocolSpec(replications=20),
    # T2M-GPT official VQ-VAE: width 512, 512 x 512 codebook, window 64, batch 256, AdamW 2e-4
    # beta (0.9, 0.99), 1k warm-up, 300k iterations, lr x0.05 at 200k.
    tokenizer=TokenizerSpec(
        width=512, code_dim=512, n_codes=512, depth=3, window=64, batch_size=256, steps=300000, lr=2e-4,
        warmup_steps=1000, milestones=(200000,), gamma=0.05, ablation_steps=300000, ablation_width=512,
        ablation_seeds=1, codebook_sizes=(256, 512, 1024),
    ),
    # T2M-GPT official GPT: 2 x 9 blocks of width 1024, 16 heads, block size 51, AdamW 1e-4 beta (0.5, 0.9),
    # wd 1e-6, batch 128, 300k iterations, lr x0.05 at 150k, tau = 0.5.
    gpt=GPTSpec(
        n_embd=1024, n_head=16, n_base_layers=9, n_head_layers=9, block_size=51, dropout=0.1,
        batch_size=128, steps=300000, lr=1e-4, betas=(0.5, 0.9), weight_decay=1e-6,
        milestones=(150000,), gamma=0.05, ablation_steps=300000, ablation_seeds=1, ablation_replications=20,
    ),
    chapter_budget_s=0,  # no budget: days
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SMOKE, FULL, PAPER)}


def resolve_profile_name(profile: str | None = "auto") -> str:
    """Turn ``"auto"`` (or None) into a concrete profile name.

    Order: explicit name > env ``MOTIONLAB_PROFILE`` > ``full`` when CUDA is present > ``smoke``.
    """
    if profile not in (None, "", "auto"):
        name = str(profile).lower()
    elif os.environ.get(ENV_VAR, "").strip() not in ("", "auto"):
        name = os.environ[ENV_VAR].strip().lower()
    else:
        import torch  # local import: profiles stay importable without torch's start-up cost

        name = "full" if torch.cuda.is_available() else "smoke"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {', '.join(PROFILE_NAMES)} or 'auto'")
    return name


def get_profile(profile: str | Profile | None = "auto") -> Profile:
    """The frozen :class:`Profile` for a name (``"auto"`` resolves as documented above)."""
    if isinstance(profile, Profile):
        return profile
    return PROFILES[resolve_profile_name(profile)]
