"""Run profiles: how big every model of the book is, in one place.

Four profiles, each a frozen :class:`Profile`:

* ``smoke``  -- CPU, CI: the whole book in minutes on 2 cores.
* ``laptop`` -- CPU, classrooms: every chapter <= 20 min on 2 cores, sized so the book's ablations are
  measured with >= 3 seeds and 95 % intervals.
* ``full``   -- one GPU: the whole book in <= 30 min on one H100, each chapter <= 6 min.
* ``paper``  -- the papers' own hyperparameters on real HumanML3D / KIT-ML (days of GPU time).

The pattern every model family follows
--------------------------------------
A profile **holds each model's own config objects**.  For every model there is one *recipe*
(a subclass of :class:`motionlab.training.Recipe`, defined beside the model's training code): the model's
config dataclass (``VQVAEConfig``, ``T2MGPTConfig`` ...), its :class:`~motionlab.training.TrainConfig`,
the knobs of its training data, and ``ablation``, the overrides that make the cheaper copy a chapter's sweeps
train.  So:

1. a chapter (``motionlab.notebook.setup``) or the CLI resolves the profile **once**
   (:func:`get_profile`: ``"auto"`` = explicit name > env ``MOTIONLAB_PROFILE`` > ``full`` when CUDA is
   present > ``smoke``);
2. it passes the objects down: ``get_tokenizer_run(data_dir, profile.tokenizer)``,
   ``get_t2m_gpt(data_dir, profile.gpt, profile.tokenizer)``; a variant is
   ``profile.tokenizer.for_ablation().replace(recon_loss="l2", seed=1)``;
3. model modules never see a profile name: they take a recipe (or a bare config) and nothing else;
4. an artifact's cache key is its recipe (:meth:`Recipe.key` -> :func:`motionlab.runtime.artifact_key`,
   which drops the fields that only change reporting), plus the dataset's fingerprint.

Sizes that depend on the data (``input_dim`` 263 / 251, the tokenizer's ``n_codes`` inside the GPT, the text
encoder's width, the evaluator's vocabulary) keep their defaults here and are set where the data is known.
A new model family adds its recipe class beside its training code and one field here per profile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace

from motionlab.evaluation.evaluator import EvaluatorConfig
from motionlab.evaluation.protocol import ProtocolOptions
from motionlab.evaluation.train_evaluator import SELECT_BY, EvaluatorRecipe
from motionlab.generators.momask.masked_transformer import LengthEstimatorConfig, MaskedTransformerConfig
from motionlab.generators.momask.residual_transformer import ResidualTransformerConfig
from motionlab.generators.momask.train_length import LengthEstimatorRecipe
from motionlab.generators.momask.train_masked import MaskedTransformerRecipe
from motionlab.generators.momask.train_residual import ResidualTransformerRecipe
from motionlab.generators.motiongpt.model import MotionGPTConfig
from motionlab.generators.motiongpt.train import MotionGPTRecipe
from motionlab.generators.tm2t.motion_to_text import MotionToTextConfig
from motionlab.generators.tm2t.text_to_motion import TextToMotionConfig
from motionlab.generators.tm2t.train_m2t import MotionToTextRecipe
from motionlab.generators.tm2t.train_t2m import TextToMotionRecipe
from motionlab.generators.t2m_gpt import T2MGPTConfig
from motionlab.generators.train_t2m_gpt import T2MGPTRecipe
from motionlab.tokenizers.train import TokenizerRecipe
from motionlab.tokenizers.vqvae import VQVAEConfig
from motionlab.training import Recipe, TrainConfig

PROFILE_NAMES = ("smoke", "laptop", "full", "paper")
ENV_VAR = "MOTIONLAB_PROFILE"


@dataclass(frozen=True)
class DataSpec:
    """Which data a profile uses and how much of it."""

    synth_motions: int  # procedural MotionLab-Synth motions before mirroring
    synth_mirror: bool = True  # add a left/right mirrored copy of each motion (HumanML3D does)
    max_frames: int = 196


@dataclass(frozen=True)
class Sweeps:
    """How many runs the chapters' ablations train: seeds per setting, protocol replications per run, the
    codebook sizes of chapter 4.  (What each run *is* comes from the recipes' ``ablation`` overrides.)"""

    tokenizer_seeds: int = 1
    codebook_sizes: tuple[int, ...] = (256, 512, 1024)
    gpt_seeds: int = 1
    gpt_replications: int = 0  # protocol replications per ablation run (0: the profile's protocol's own)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    data: DataSpec
    evaluator: EvaluatorRecipe
    protocol: ProtocolOptions
    tokenizer: TokenizerRecipe
    gpt: T2MGPTRecipe
    momask_tokenizer: TokenizerRecipe  # MoMask's RVQ-VAE: the tokenizer with n_quantizers > 1 (chapters 6-7)
    momask_residual: ResidualTransformerRecipe  # MoMask's residual transformer: RVQ layers 1..L-1 (chapter 7)
    momask_masked: MaskedTransformerRecipe  # MoMask's masked transformer: the RVQ's base layer (chapter 7)
    momask_length: LengthEstimatorRecipe  # MoMask's length estimator: caption -> token count, when none is given
    tm2t_m2t: MotionToTextRecipe  # TM2T's captioner: motion tokens -> words (chapter 8)
    tm2t_t2m: TextToMotionRecipe  # TM2T's text->motion GRU, with or without inverse alignment (chapter 8)
    motiongpt: MotionGPTRecipe  # MotionGPT: a pretrained language model with motion words (chapter 9)
    tm2t_tokenizer: TokenizerRecipe | None = None  # TM2T's tokenizer; None: the profile's `tokenizer` (chapter 3)
    sweeps: Sweeps = field(default_factory=Sweeps)
    cpu_threads: int | None = None  # torch threads on CPU (None = leave torch's default)
    chapter_budget_s: int = 360  # target per chapter, checked by benchmarks, never by tests

    def __post_init__(self):
        if self.tm2t_tokenizer is None:  # TM2T reads chapter 3's tokens unless the profile says otherwise
            object.__setattr__(self, "tm2t_tokenizer", self.tokenizer)

    def with_overrides(self, **sections) -> "Profile":
        """A copy with some sections replaced, e.g. ``p.with_overrides(gpt=p.gpt.replace(steps=10))``."""
        return replace(self, **sections)

    def recipes(self) -> dict[str, Recipe]:
        """Every model's recipe in this profile, by section name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Recipe)}

    def with_seed(self, seed: int) -> "Profile":
        """A copy in which every model trains with ``seed`` (what a chapter's ``seed`` parameter means)."""
        return replace(self, **{name: recipe.replace(seed=int(seed)) for name, recipe in self.recipes().items()})


def _evaluator(dims: tuple[int, int, int, int, int], steps: int, movement_steps: int, batch_size: int, lr: float,
               eval_every: int, official: bool = False) -> EvaluatorRecipe:
    """An evaluator recipe: sizes (word, text hidden, movement, motion hidden, co-embedding) and budgets."""
    word, text_hidden, movement, motion_hidden, coemb = dims
    return EvaluatorRecipe(
        model=EvaluatorConfig(dim_word=word, dim_text_hidden=text_hidden, dim_movement=movement,
                              dim_motion_hidden=motion_hidden, dim_coemb=coemb),
        train=TrainConfig(steps=steps, lr=lr, batch_size=batch_size, grad_clip=0.5, amp=False,
                          log_every=max(1, steps // 40), eval_every=eval_every, best_metric=SELECT_BY,
                          best_mode="max"),
        movement=TrainConfig(steps=movement_steps, lr=lr, batch_size=batch_size, amp=False,
                             log_every=max(1, movement_steps // 20)),
        official=official,
    )


def _rvq(width: int, n_codes: int, n_quantizers: int, **official) -> VQVAEConfig:
    """MoMask's RVQ-VAE: the T2M-GPT network (code_dim = width) with dropout 0.2 in the residual blocks,
    ``n_quantizers`` layers of ``n_codes`` codes, quantisation dropout 0.2 and Gumbel assignment at 0.5."""
    return VQVAEConfig(width=width, code_dim=width, n_codes=n_codes, depth=3, dropout=0.2, n_quantizers=n_quantizers,
                       quantize_dropout=0.2, sample_temperature=0.5, **official)


SMOKE = Profile(
    name="smoke",
    description="CPU / CI: tiny models and a small synthetic set; the whole book in minutes on 2 cores.",
    data=DataSpec(synth_motions=800),
    evaluator=_evaluator((64, 64, 64, 64, 64), steps=800, movement_steps=200, batch_size=32, lr=2e-3,
                         eval_every=100),
    protocol=ProtocolOptions(replications=2, mm_texts=16, mm_samples=6, mm_pairs=5, diversity_pairs=100),
    tokenizer=TokenizerRecipe(
        model=VQVAEConfig(width=64, code_dim=64, n_codes=128, depth=3),
        train=TrainConfig(steps=600, lr=1e-3, batch_size=32, betas=(0.9, 0.99), warmup_steps=50, schedule="step",
                          milestones=(450,), gamma=0.05, log_every=15, eval_every=60),
        cpu_threads=1, ablation={"steps": 200, "width": 32, "code_dim": 32},
    ),
    # T2M-GPT on 2 CPU cores: 2 blocks of width 96 (~0.29 M parameters); a higher lr than the paper's
    # because the run is 600x shorter.  Main run + 5 ablation runs fit the chapter's 150 s.
    gpt=T2MGPTRecipe(
        model=T2MGPTConfig(n_embd=96, n_head=4, n_layer=2, block_size=51, dropout=0.1),
        train=TrainConfig(steps=500, lr=1e-3, batch_size=32, betas=(0.9, 0.99), weight_decay=1e-6,
                          weight_decay_on="all", schedule="step", milestones=(400,), gamma=0.1, log_every=25),
        tau=0.5, ablation={"steps": 100},
    ),
    # MoMask's RVQ-VAE at the smoke tokenizer's size with 3 layers: ~0.042 s per step on one thread (the single
    # codebook: ~0.034 s), ~17 s for the 400 steps
    momask_tokenizer=TokenizerRecipe(
        model=_rvq(width=64, n_codes=128, n_quantizers=3),
        train=TrainConfig(steps=400, lr=1e-3, batch_size=32, betas=(0.9, 0.99), warmup_steps=40, schedule="step",
                          milestones=(300,), gamma=0.05, log_every=20, eval_every=50),
        cpu_threads=1, ablation={"steps": 200, "width": 32, "code_dim": 32},
    ),
    # MoMask's residual transformer on 2 CPU cores: 2 post-LN layers of width 64 over the smoke RVQ's 3 layers
    # (~0.13 M parameters), ~0.04 s per step of batch 32 on one thread: ~11 s for the 300 steps
    momask_residual=ResidualTransformerRecipe(
        model=ResidualTransformerConfig(n_codes=128, n_quantizers=3, code_dim=64, width=64, n_layers=2, n_heads=4,
                                        ff=128, dropout=0.1),
        train=TrainConfig(steps=300, lr=1e-3, batch_size=32, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=30, schedule="step", milestones=(240,), gamma=0.1,
                          log_every=25),
        ablation={"steps": 100},
    ),
    # MoMask's masked transformer on 2 CPU cores: 2 post-LN layers of width 64 over the smoke RVQ's base layer
    momask_masked=MaskedTransformerRecipe(
        model=MaskedTransformerConfig(n_codes=128, code_dim=64, width=64, n_layers=2, n_heads=4, ff=128,
                                      dropout=0.1),
        train=TrainConfig(steps=300, lr=1e-3, batch_size=32, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=30, schedule="step", milestones=(240,), gamma=0.1,
                          log_every=25),
        ablation={"steps": 100},
    ),
    # MoMask's length estimator (our recipe: the official training code is not released): hidden 128
    # (~0.07 M parameters), a few ms per step of batch 64 on one thread
    momask_length=LengthEstimatorRecipe(
        model=LengthEstimatorConfig(hidden=128),
        train=TrainConfig(steps=300, lr=1e-3, batch_size=64, betas=(0.9, 0.99), weight_decay=1e-5, amp=False,
                          log_every=50, eval_every=50, best_metric="val_loss"),
    ),
    # TM2T on 2 CPU cores: a 2+2-layer captioner of width 64 and a small GRU text->motion model
    tm2t_m2t=MotionToTextRecipe(
        model=MotionToTextConfig(width=64, n_enc_layers=2, n_dec_layers=2, n_heads=4, ff=128, dropout=0.1),
        train=TrainConfig(steps=300, lr=1e-3, batch_size=32, grad_clip=0.5, amp=False, log_every=25,
                          eval_every=100, best_metric="val_loss"),
        ablation={"steps": 150},
    ),
    tm2t_t2m=TextToMotionRecipe(
        model=TextToMotionConfig(word_dim=32, text_hidden=32, motion_hidden=64),
        train=TrainConfig(steps=200, lr=1e-3, batch_size=32, grad_clip=0.5, amp=False, log_every=20,
                          eval_every=100, best_metric="val_loss"),
        tf_decay_steps=100, inverse_alignment=True, inverse_from_step=100,
        ablation={"steps": 120, "tf_decay_steps": 60, "inverse_from_step": 40},
    ),
    # MotionGPT: SmolLM2-135M cut to its first 2 blocks (35.6 M parameters, 28 M of them the token table) with
    # LoRA, 137k trainable: ~0.28 s per step of batch 8 on 2 busy cores, ~30 s for 20 + 60 steps.  Ablation
    # copy: full fine-tuning, to set beside its scratch twin (`.replace(backbone="scratch-truncated-2")`)
    motiongpt=MotionGPTRecipe(
        model=MotionGPTConfig(backbone="smollm2-truncated-2", lora=True),
        train=TrainConfig(steps=60, lr=3e-3, batch_size=8, warmup_steps=5, log_every=10, best_metric="val_loss"),
        pretrain_steps=20, pretrain_lr=3e-3, templates=3, val_items=64,
        ablation={"lora": False, "lr": 1e-3, "pretrain_lr": 1e-3, "steps": 30, "pretrain_steps": 10},
    ),
    sweeps=Sweeps(tokenizer_seeds=1, codebook_sizes=(32, 64, 128), gpt_seeds=1, gpt_replications=2),
    cpu_threads=2,
    chapter_budget_s=120,
)

LAPTOP = Profile(
    name="laptop",
    description="CPU / classrooms: every claim of the book measured with 3 seeds; each chapter <= 20 min on 2 cores.",
    data=DataSpec(synth_motions=2000),
    # sizes measured on the 2-core CI CPU (results/laptop/README.md): evaluator 0.085 s per matching step
    # (width 128, batch 32), tokenizer 0.075 s per step (width 128, 1 thread) and 0.026 s for the width-48
    # ablation copy, GPT 0.084 s per step (4 x 128) and 0.034 s for the 2 x 96 ablation copy.
    evaluator=_evaluator((128, 128, 128, 128, 128), steps=2500, movement_steps=500, batch_size=32, lr=1e-3,
                         eval_every=250),
    protocol=ProtocolOptions(replications=10, mm_texts=32, mm_samples=10, mm_pairs=5, diversity_pairs=200),
    tokenizer=TokenizerRecipe(
        model=VQVAEConfig(width=128, code_dim=128, n_codes=256, depth=3),
        train=TrainConfig(steps=2000, lr=1e-3, batch_size=32, betas=(0.9, 0.99), warmup_steps=100,
                          schedule="step", milestones=(1500,), gamma=0.05, log_every=50, eval_every=200),
        cpu_threads=1, ablation={"steps": 600, "width": 48, "code_dim": 48},
    ),
    gpt=T2MGPTRecipe(
        model=T2MGPTConfig(n_embd=128, n_head=4, n_layer=4, block_size=51, dropout=0.1),
        train=TrainConfig(steps=2000, lr=6e-4, batch_size=32, betas=(0.9, 0.99), weight_decay=1e-6,
                          weight_decay_on="all", schedule="step", milestones=(1600,), gamma=0.1, log_every=50),
        tau=0.5, ablation={"steps": 800, "n_embd": 96, "n_layer": 2},
    ),
    # the laptop tokenizer's size with MoMask's 6 layers (so chapter 6 can sweep V up to the paper's 5)
    momask_tokenizer=TokenizerRecipe(
        model=_rvq(width=128, n_codes=256, n_quantizers=6),
        train=TrainConfig(steps=2000, lr=1e-3, batch_size=32, betas=(0.9, 0.99), warmup_steps=100,
                          schedule="step", milestones=(1500,), gamma=0.05, log_every=50, eval_every=200),
        cpu_threads=1, ablation={"steps": 600, "width": 48, "code_dim": 48},
    ),
    # residual transformer over the laptop RVQ's 6 layers: 3 x 128 (~0.7 M parameters), ~0.1 s per step of
    # batch 32 on one busy CPU thread, ~100 s per seed
    momask_residual=ResidualTransformerRecipe(
        model=ResidualTransformerConfig(n_codes=256, n_quantizers=6, code_dim=128, width=128, n_layers=3, n_heads=4,
                                        ff=256, dropout=0.1),
        train=TrainConfig(steps=1000, lr=6e-4, batch_size=32, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=100, schedule="step", milestones=(800,), gamma=0.1,
                          log_every=50),
        ablation={"steps": 400, "width": 96, "n_layers": 2},
    ),
    momask_masked=MaskedTransformerRecipe(
        model=MaskedTransformerConfig(n_codes=256, code_dim=128, width=128, n_layers=4, n_heads=4, ff=256,
                                      dropout=0.1),
        train=TrainConfig(steps=1500, lr=6e-4, batch_size=32, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=100, schedule="step", milestones=(1200,), gamma=0.1,
                          log_every=50),
        ablation={"steps": 500, "width": 96, "n_layers": 2},
    ),
    momask_length=LengthEstimatorRecipe(
        model=LengthEstimatorConfig(hidden=256),
        train=TrainConfig(steps=1000, lr=1e-3, batch_size=64, betas=(0.9, 0.99), weight_decay=1e-5, amp=False,
                          log_every=100, eval_every=100, best_metric="val_loss"),
    ),
    tm2t_m2t=MotionToTextRecipe(
        model=MotionToTextConfig(width=128, n_enc_layers=3, n_dec_layers=3, n_heads=4, ff=256, dropout=0.1),
        train=TrainConfig(steps=1500, lr=6e-4, batch_size=32, grad_clip=0.5, amp=False, log_every=50,
                          eval_every=250, best_metric="val_loss"),
    ),
    # the text->motion GRU: ~0.25 s per teacher-forced step and ~0.66 s with the inverse step (2 cores, busy);
    # the with/without-inverse ablation (3 seeds x 2) on the 200-step copy: ~8 min
    tm2t_t2m=TextToMotionRecipe(
        model=TextToMotionConfig(word_dim=128, text_hidden=128, motion_hidden=256),
        train=TrainConfig(steps=400, lr=6e-4, batch_size=32, grad_clip=0.5, amp=False, log_every=50,
                          eval_every=100, best_metric="val_loss"),
        tf_decay_steps=200, inverse_alignment=True, inverse_from_step=150,
        ablation={"steps": 200, "tf_decay_steps": 100, "inverse_from_step": 60},
    ),
    # MotionGPT: the first 6 blocks of SmolLM2 with LoRA (260k trainable), ~1 s per step (busy 2 cores): ~8 min
    # for 150 + 300 steps.  The pretrained-vs-scratch ablation: 2 blocks, full fine-tuning, 40 + 80 steps,
    # ~80 s per run, 3 seeds x 2 backbones ~8 min (the whole 135M model: ~7 s per step, out of reach on CPU)
    motiongpt=MotionGPTRecipe(
        model=MotionGPTConfig(backbone="smollm2-truncated-6", lora=True),
        train=TrainConfig(steps=300, lr=2e-3, batch_size=8, warmup_steps=20, schedule="cosine", min_lr=2e-4,
                          log_every=25, eval_every=100, best_metric="val_loss"),
        pretrain_steps=150, pretrain_lr=2e-3, templates=3,
        ablation={"backbone": "smollm2-truncated-2", "lora": False, "steps": 80, "pretrain_steps": 40, "lr": 1e-3,
                  "pretrain_lr": 1e-3, "eval_every": 40},
    ),
    sweeps=Sweeps(tokenizer_seeds=3, codebook_sizes=(128, 256, 512), gpt_seeds=3, gpt_replications=5),
    cpu_threads=2,
    chapter_budget_s=1200,
)

FULL = Profile(
    name="full",
    description="One GPU: full-size synthetic set, book-sized models; the whole book in <= 30 min on an H100.",
    data=DataSpec(synth_motions=15000),
    evaluator=_evaluator((300, 512, 512, 1024, 512), steps=6000, movement_steps=3000, batch_size=128, lr=2e-4,
                         eval_every=500),
    protocol=ProtocolOptions(replications=20),
    tokenizer=TokenizerRecipe(
        model=VQVAEConfig(width=512, code_dim=512, n_codes=512, depth=3),
        train=TrainConfig(steps=12000, lr=2e-4, batch_size=256, betas=(0.9, 0.99), warmup_steps=1000,
                          schedule="step", milestones=(9000,), gamma=0.05, log_every=300, eval_every=1200,
                          best_metric="val_fid"),
        ablation={"steps": 2000, "width": 256, "code_dim": 256, "best_metric": None},
    ),
    # T2M-GPT at half the paper's width: 8 blocks of 512 (~26 M parameters, ~1 TFLOP per step of
    # 128 x 50 tokens).  Estimated (no GPU measurement yet) ~10 ms/step on an H100 with bf16: ~50 s for the
    # main run, ~120 s for the 15 ablation runs (5 settings x 3 seeds x 800 steps), ~140 s of protocol
    # evaluation: chapter 5 within its 6 minutes.  Official optimiser (AdamW, beta (0.5, 0.9), wd 1e-6,
    # step decay x0.05) with a higher lr for the 60x shorter run.
    gpt=T2MGPTRecipe(
        model=T2MGPTConfig(n_embd=512, n_head=8, n_layer=8, block_size=51, dropout=0.1),
        train=TrainConfig(steps=5000, lr=3e-4, batch_size=128, betas=(0.5, 0.9), weight_decay=1e-6,
                          weight_decay_on="all", schedule="step", milestones=(3750,), gamma=0.05, log_every=250,
                          eval_every=500, best_metric="val_fid"),
        tau=0.5, ablation={"steps": 800, "best_metric": None},
    ),
    # MoMask's RVQ-VAE at the paper's size (6 x 512 x 512, width 512) on the full tokenizer's budget
    momask_tokenizer=TokenizerRecipe(
        model=_rvq(width=512, n_codes=512, n_quantizers=6),
        train=TrainConfig(steps=12000, lr=2e-4, batch_size=256, betas=(0.9, 0.99), warmup_steps=1000,
                          schedule="step", milestones=(9000,), gamma=0.05, log_every=300, eval_every=1200,
                          best_metric="val_fid"),
        ablation={"steps": 2000, "width": 256, "code_dim": 256, "best_metric": None},
    ),
    # the paper's residual transformer (8 x 384, 13 M parameters with CLIP's 512-d feature) on a short GPU budget
    momask_residual=ResidualTransformerRecipe(
        model=ResidualTransformerConfig(n_codes=512, n_quantizers=6, code_dim=512, width=384, n_layers=8, n_heads=6,
                                        ff=1024, dropout=0.2, cond_drop=0.2),
        train=TrainConfig(steps=6000, lr=2e-4, batch_size=128, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=500, schedule="step", milestones=(4500,), gamma=0.1,
                          log_every=300, eval_every=1000),
        ablation={"steps": 1500},
    ),
    # the paper's masked transformer (8 x 384, 12 M parameters with CLIP's 512-d feature) on a short GPU budget,
    # weights chosen by validation FID of base-layer motions as the official net_best_fid
    momask_masked=MaskedTransformerRecipe(
        model=MaskedTransformerConfig(n_codes=512, code_dim=512, width=384, n_layers=8, n_heads=6, ff=1024,
                                      dropout=0.2, cond_drop=0.1),
        train=TrainConfig(steps=6000, lr=2e-4, batch_size=128, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=500, schedule="step", milestones=(4500,), gamma=0.1,
                          log_every=300, eval_every=1000, best_metric="val_fid"),
        ablation={"steps": 1500, "best_metric": None},
    ),
    # the official length estimator's size (512 -> 512 -> 256 -> 128 -> 50) on a short GPU budget
    momask_length=LengthEstimatorRecipe(
        model=LengthEstimatorConfig(),
        train=TrainConfig(steps=3000, lr=5e-4, batch_size=256, betas=(0.9, 0.99), weight_decay=1e-5,
                          amp=False, log_every=300, eval_every=300, best_metric="val_loss"),
    ),
    # TM2T's captioner (4 + 4 layers of 512, 8 heads) and GRU text->motion model at the paper's sizes, on a
    # GPU budget of minutes; inverse alignment from the start, as the official README
    tm2t_m2t=MotionToTextRecipe(
        model=MotionToTextConfig(),
        train=TrainConfig(steps=6000, lr=2e-4, batch_size=128, grad_clip=0.5, log_every=300, eval_every=1000,
                          best_metric="val_loss"),
    ),
    tm2t_t2m=TextToMotionRecipe(
        model=TextToMotionConfig(),
        train=TrainConfig(steps=6000, lr=2e-4, batch_size=128, grad_clip=0.5, log_every=300, eval_every=1000,
                          best_metric="val_loss"),
        tf_decay_steps=2000, inverse_alignment=True, inverse_from_step=0, ablation={"steps": 2000},
    ),
    # MotionGPT: the whole SmolLM2-135M, full fine-tuning (not yet measured on a GPU)
    motiongpt=MotionGPTRecipe(
        model=MotionGPTConfig(backbone="smollm2"),
        train=TrainConfig(steps=3000, lr=1e-4, batch_size=32, warmup_steps=100, schedule="cosine", min_lr=1e-5,
                          log_every=100, eval_every=500, best_metric="val_loss"),
        pretrain_steps=1500, pretrain_lr=2e-4, ablation={"steps": 750, "pretrain_steps": 375},
    ),
    sweeps=Sweeps(tokenizer_seeds=3, codebook_sizes=(256, 512, 1024), gpt_seeds=3, gpt_replications=3),
    chapter_budget_s=360,
)

PAPER = Profile(
    name="paper",
    description="The papers' hyperparameters on real HumanML3D / KIT-ML (multi-day GPU runs).",
    data=DataSpec(synth_motions=15000),
    evaluator=_evaluator((300, 512, 512, 1024, 512), steps=300000, movement_steps=100000, batch_size=8, lr=1e-4,
                         eval_every=5000, official=True),
    protocol=ProtocolOptions(replications=20),
    # T2M-GPT official VQ-VAE: width 512, 512 x 512 codebook, window 64, batch 256, AdamW 2e-4
    # beta (0.9, 0.99), 1k warm-up, 300k iterations, lr x0.05 at 200k; fp32 as the official code; dead code k
    # refilled from batch row k; outer activations ReLU.
    tokenizer=TokenizerRecipe(
        model=VQVAEConfig(width=512, code_dim=512, n_codes=512, depth=3, reset_rows="first", outer_activation="relu"),
        train=TrainConfig(steps=300000, lr=2e-4, batch_size=256, betas=(0.9, 0.99), warmup_steps=1000,
                          schedule="step", milestones=(200000,), gamma=0.05, amp=False, log_every=7500,
                          eval_every=5000, best_metric="val_fid"),
        ablation={"best_metric": None},
    ),
    # T2M-GPT official GPT: 18 blocks (9 "base" + 9 "head") of width 1024, 16 heads, block size 51, AdamW 1e-4
    # beta (0.5, 0.9), wd 1e-6, batch 128, 300k iterations, lr x0.05 at 150k, tau = 0.5, fp32; sub-clip
    # captions take slices of the whole motion's tokens.
    gpt=T2MGPTRecipe(
        model=T2MGPTConfig(n_embd=1024, n_head=16, n_layer=18, block_size=51, dropout=0.1),
        train=TrainConfig(steps=300000, lr=1e-4, batch_size=128, betas=(0.5, 0.9), weight_decay=1e-6,
                          weight_decay_on="all", schedule="step", milestones=(150000,), gamma=0.05, amp=False,
                          log_every=7500, eval_every=5000, best_metric="val_fid"),
        tau=0.5, subclips="slice", ablation={"best_metric": None},
    ),
    # MoMask official RVQ-VAE (rvq_nq6_dc512_nc512_noshare_qdp0.2): 6 unshared layers of 512 x 512, dropout 0.2
    # in the residual blocks, q = 0.2, Gumbel assignment at 0.5; window 64, batch 256, AdamW 2e-4 beta
    # (0.9, 0.99) wd 0, 2k warm-up, lr x0.05 at 150k and 250k (README --gamma 0.05), fp32, best val FID.
    # The official run is 50 epochs of every 64-frame window (T - 64 per clip), about 50 x 7k iterations on
    # HumanML3D's train split (dataset-dependent); 350k is that estimate.  Batches here are random windows of
    # motions visited once per epoch (WindowBatches), which weights long clips less than the official loader.
    momask_tokenizer=TokenizerRecipe(
        model=_rvq(width=512, n_codes=512, n_quantizers=6, reset_rows="first", outer_activation="relu"),
        train=TrainConfig(steps=350000, lr=2e-4, batch_size=256, betas=(0.9, 0.99), weight_decay=0.0,
                          warmup_steps=2000, schedule="step", milestones=(150000, 250000), gamma=0.05, amp=False,
                          log_every=7500, eval_every=7000, best_metric="val_fid"),
        ablation={"best_metric": None},
    ),
    # MoMask official residual transformer (tres_nlayer8_ld384_ff1024_rvq6ns_cdp0.2_sw): 8 post-LN layers of
    # width 384, 6 heads, FFN 1024, GELU, dropout 0.2, cond_drop 0.2, --share_weight; batch 64, AdamW 2e-4
    # beta (0.9, 0.99) wd 1e-5, 2k warm-up, lr x0.1 at 50k, fp32.  500 epochs ~ 183k iterations on
    # HumanML3D's 23,384 training motions (an estimate: the official run counts epochs).
    momask_residual=ResidualTransformerRecipe(
        model=ResidualTransformerConfig(n_codes=512, n_quantizers=6, code_dim=512, width=384, n_layers=8, n_heads=6,
                                        ff=1024, dropout=0.2, cond_drop=0.2, share_weights=True),
        train=TrainConfig(steps=183000, lr=2e-4, batch_size=64, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=2000, schedule="step", milestones=(50000,), gamma=0.1,
                          amp=False, log_every=7500, eval_every=7000),
    ),
    # MoMask official masked transformer (t2m_nlayer8_nhead6_ld384_ff1024_cdp0.1_rvq6ns): 8 post-LN layers of
    # width 384, 6 heads, FFN 1024, GELU, dropout 0.2, cond_drop 0.1; batch 64, AdamW 2e-4 beta (0.9, 0.99)
    # wd 1e-5 (all parameters), 2k warm-up, lr x0.1 at 50k, fp32, best val FID (evaluated every 10 epochs).
    # 500 epochs ~ 183k iterations on HumanML3D's 23,384 training motions (an estimate, as momask_residual).
    momask_masked=MaskedTransformerRecipe(
        model=MaskedTransformerConfig(n_codes=512, code_dim=512, width=384, n_layers=8, n_heads=6, ff=1024,
                                      dropout=0.2, cond_drop=0.1),
        train=TrainConfig(steps=183000, lr=2e-4, batch_size=64, betas=(0.9, 0.99), weight_decay=1e-5,
                          weight_decay_on="all", warmup_steps=2000, schedule="step", milestones=(50000,), gamma=0.1,
                          amp=False, log_every=7500, eval_every=3650, best_metric="val_fid"),
        ablation={"best_metric": None},
    ),
    # MoMask's length estimator at the official size (models/vq/model.py::LengthEstimator: 512 -> 512 -> 256 ->
    # 128 -> 50 classes); its training code is not released, so the schedule is ours (LengthEstimatorRecipe's
    # defaults: AdamW 1e-4, batch 64, 20k steps, lowest validation cross-entropy).  The official evaluation
    # never uses it (GT lengths).
    momask_length=LengthEstimatorRecipe(),
    # TM2T official (M2T_EL4_DL4_NH8_PS; T2M_Seq2Seq_NML1_Ear_SME0_N): the recipes' defaults are the official
    # models and optimisers (Adam 2e-4, batch 64, clip 0.5) on the lemmatised text; inverse alignment from
    # epoch 0 (README).  Its tokenizer as far as this VQ-VAE expresses it: a plain learned 1024 x 1024 codebook,
    # beta = 1, L1 reconstruction without the joint-position term, Adam 1e-4, batch 128.  Not expressed (say so
    # when comparing): the foot contacts left out of the encoder input (259-d), TM2T's LeakyReLU encoder with
    # 1024 channels and nearest-neighbour upsampling, the hinge discriminator from epoch 10 (weight 0.5) and
    # the 5-epoch early stop (here: the weights of the lowest validation L1).
    tm2t_tokenizer=TokenizerRecipe(
        model=VQVAEConfig(width=1024, code_dim=1024, n_codes=1024, depth=3, quantizer="plain",
                          codebook_init="uniform", recon_loss="l1", vel_weight=0.0, commit_weight=1.0,
                          codebook_weight=1.0),
        train=TrainConfig(steps=100000, lr=1e-4, batch_size=128, betas=(0.9, 0.999), amp=False, log_every=5000,
                          eval_every=5000, best_metric="val_l1", best_mode="min"),
    ),
    tm2t_m2t=MotionToTextRecipe(vocab_form="lemma"),
    tm2t_t2m=TextToMotionRecipe(vocab_form="lemma", inverse_alignment=True, inverse_from_step=0),
    # MotionGPT official backbone, flan-t5-base, from weights the user has (a folder; $MOTIONLAB_T5_PATH), with
    # the recipe's official defaults (AdamW 2e-4 pre-training, 1e-4 instructions, batch 16, 256 tokens)
    motiongpt=MotionGPTRecipe(model=MotionGPTConfig(
        backbone="t5:" + os.environ.get("MOTIONLAB_T5_PATH", "deps/flan-t5-base"), restrict_vocab=False)),
    sweeps=Sweeps(tokenizer_seeds=1, codebook_sizes=(256, 512, 1024), gpt_seeds=1, gpt_replications=20),
    chapter_budget_s=0,  # no budget: days
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SMOKE, LAPTOP, FULL, PAPER)}


def resolve_profile_name(profile: str | None = "auto") -> str:
    """Turn ``"auto"`` (or None) into a concrete profile name.

    Order: explicit name > env ``MOTIONLAB_PROFILE`` > ``full`` when CUDA is present > ``smoke``.
    """
    if profile not in (None, "", "auto"):
        name = str(profile).lower()
    elif os.environ.get(ENV_VAR, "").strip() not in ("", "auto"):
        name = os.environ[ENV_VAR].strip().lower()
    else:
        import torch

        name = "full" if torch.cuda.is_available() else "smoke"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: expected one of {', '.join(PROFILES)} or 'auto'")
    return name


def get_profile(profile: str | Profile | None = "auto") -> Profile:
    """The frozen :class:`Profile` for a name (``"auto"`` resolves as documented above)."""
    if isinstance(profile, Profile):
        return profile
    return PROFILES[resolve_profile_name(profile)]
