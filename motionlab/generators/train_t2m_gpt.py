"""Training T2M-GPT on pre-tokenised motions, and the cached, ready-to-use text-to-motion pipeline.

The recipe of the official code, step by step:

1. every training motion is tokenised once by the frozen VQ-VAE (``tokenizers.tokenize_split``);
2. every caption is embedded once by the frozen text encoder (``text.embed_captions``, cached on disk);
3. a training item is one caption of one motion and its codes, with the **head/tail token drop**
   (probability 1/3, one token removed from the start or the end, 50/50), then ``codes + End + Pad...``;
4. the batch inputs are **corrupted**: each input token is replaced by a uniformly random code with
   probability τ (fixed, or drawn per batch from U[0, 1]); the targets stay clean.  The model learns to
   continue sensibly after its own mistakes, which is what it meets when it generates;
5. cross-entropy over codes and End, Pad ignored.

:func:`get_t2m_gpt` runs this through ``runtime.load_or_train`` (every profile/data/τ/fraction/seed is
trained once and cached) and returns a :class:`T2MGPTPipeline`: captions in, raw motion features out.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import T2MGPT, T2MGPTConfig
from motionlab.generators.t2m_gpt_pipeline import GeneratedMotions, RandomTokens, T2MGPTPipeline

__all__ = [
    "DROP_PROB", "resolve_tau", "tau_label", "draw_tau", "corrupt_tokens", "drop_head_or_tail",
    "GPTTokenSet", "collate_gpt", "GPTBatches", "gpt_loss", "train_config_from_profile", "validation_loss",
    "GeneratedMotions", "T2MGPTPipeline", "RandomTokens", "fraction_indices", "get_t2m_gpt", "t2m_gpt_spec",
    "t2m_gpt_is_cached",
]

DROP_PROB = 1.0 / 3.0  # official: with probability 1/3 drop one token at the head or the tail


# ------------------------------------------------------------------------------------------- corruption
def resolve_tau(tau, profile=None) -> float | None:
    """Normalise a corruption setting: a float in [0, 1] (fixed τ) or None (τ ~ U[0, 1] per batch).

    Accepts floats, None, ``"uniform"`` / ``"U[0,1]"`` (both mean None) and ``"profile"`` (the profile's
    ``gpt.tau``).
    """
    if isinstance(tau, str):
        key = tau.strip().lower().replace(" ", "")
        if key == "profile":
            if profile is None:
                raise InputError("tau='profile' needs a profile")
            from motionlab.profiles import get_profile

            return resolve_tau(get_profile(profile).gpt.tau)
        if key in ("uniform", "u[0,1]", "u(0,1)"):
            return None
        try:
            tau = float(key)
        except ValueError:
            raise InputError(f"tau={tau!r}: expected a number in [0, 1], 'uniform' or 'profile'") from None
    if tau is None:
        return None
    tau = float(tau)
    if not 0.0 <= tau <= 1.0:
        raise InputError(f"tau={tau}: expected a corruption probability in [0, 1] (or 'uniform')")
    return tau


def tau_label(tau: float | None) -> str:
    """How a τ setting is written in tables: ``"0.5"`` or ``"U[0,1]"``."""
    return "U[0,1]" if tau is None else f"{tau:g}"


def draw_tau(tau: float | None, rng: np.random.Generator) -> float:
    """The corruption rate of one batch: τ itself, or a fresh draw from U[0, 1] when τ is None."""
    return float(rng.uniform(0.0, 1.0)) if tau is None else float(tau)


def corrupt_tokens(idx: np.ndarray, tau: float, n_codes: int, rng: np.random.Generator) -> np.ndarray:
    """Replace each token with probability ``tau`` by a code drawn uniformly from ``[0, n_codes)``.

    ``idx`` are model inputs (codes, End, Pad); replacements are always codes, never End or Pad, and they
    are applied at every position (End/Pad inputs included), as in the official code.  Returns a new array.
    """
    idx = np.asarray(idx)
    hit = rng.random(idx.shape) < tau  # Bernoulli(τ) per position
    noise = rng.integers(0, n_codes, size=idx.shape)  # uniform codes
    return np.where(hit, noise, idx).astype(idx.dtype, copy=False)


def drop_head_or_tail(codes: np.ndarray, rng: np.random.Generator, p: float = DROP_PROB) -> np.ndarray:
    """With probability ``p`` remove the first or the last code (50/50); sequences of one code are kept."""
    if len(codes) > 1 and rng.random() < p:
        return codes[1:] if rng.random() < 0.5 else codes[:-1]
    return codes


# ---------------------------------------------------------------------------------------- training set
class GPTTokenSet:
    """Motions as code sequences with their captions' sentence features.

    ``tokens[i]``: 1-D int array of motion ``i``'s codes; ``text_emb[i]``: ``(n_captions_i, dim)`` features of
    its captions.  :meth:`sample` draws one caption, applies the head/tail drop, crops to the block and
    returns ``{"text": (dim,), "target": (block_size,), "length": n}`` with target = codes, End, Pad...
    """

    def __init__(self, tokens: Sequence[np.ndarray], text_emb: Sequence[np.ndarray], config: T2MGPTConfig,
                 drop_prob: float = DROP_PROB):
        if len(tokens) != len(text_emb):
            raise InputError(f"GPTTokenSet: {len(tokens)} token sequences but {len(text_emb)} caption sets")
        if not len(tokens):
            raise InputError("GPTTokenSet: no motions to train on")
        self.tokens = [np.asarray(t, dtype=np.int64).reshape(-1) for t in tokens]
        self.text_emb = [np.asarray(e).reshape(-1, config.text_dim) for e in text_emb]
        self.config, self.drop_prob = config, float(drop_prob)
        for i, (t, e) in enumerate(zip(self.tokens, self.text_emb)):
            if len(t) == 0:
                raise InputError(f"GPTTokenSet: motion {i} has no tokens")
            if t.min() < 0 or t.max() >= config.n_codes:
                raise InputError(f"GPTTokenSet: motion {i} has codes outside [0, {config.n_codes}): "
                                 f"min {t.min()}, max {t.max()}")
            if len(e) == 0:
                raise InputError(f"GPTTokenSet: motion {i} has no caption features")

    def __len__(self) -> int:
        return len(self.tokens)

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        cfg = self.config
        codes = drop_head_or_tail(self.tokens[index], rng, self.drop_prob)
        if len(codes) > cfg.max_tokens:  # longer than the block (never for <= 196-frame motions): random window
            start = int(rng.integers(0, len(codes) - cfg.max_tokens + 1))
            codes = codes[start:start + cfg.max_tokens]
        caps = self.text_emb[index]
        text = caps[int(rng.integers(0, len(caps)))]
        target = np.full(cfg.block_size, cfg.pad_id, dtype=np.int64)
        target[: len(codes)] = codes
        target[len(codes)] = cfg.end_id
        return {"text": np.asarray(text, dtype=np.float32), "target": target, "length": len(codes)}

    def __getitem__(self, index: int) -> dict:
        """A deterministic item (no drop, first caption): what a validation pass reads."""
        cfg = self.config
        codes = self.tokens[index][: cfg.max_tokens]
        target = np.full(cfg.block_size, cfg.pad_id, dtype=np.int64)
        target[: len(codes)] = codes
        target[len(codes)] = cfg.end_id
        return {"text": self.text_emb[index][0].astype(np.float32), "target": target, "length": len(codes)}


def collate_gpt(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack items; trailing columns that are Pad in every row are cut (they carry no loss)."""
    target = np.stack([it["target"] for it in items])  # (B, block)
    length = np.array([it["length"] for it in items], dtype=np.int64)
    width = int(length.max()) + 1  # codes + End of the longest sequence
    return {"text": torch.from_numpy(np.stack([it["text"] for it in items])),  # (B, dim)
            "target": torch.from_numpy(target[:, :width].copy()),  # (B, W)
            "length": torch.from_numpy(length)}


class GPTBatches:
    """``batch_fn(step)`` for :func:`motionlab.training.train`: sampled items + corrupted inputs.

    Returns ``{"text" (B, dim), "idx" (B, W-1) corrupted inputs, "target" (B, W), "length" (B,), "tau" ()}``;
    every random choice is a function of ``(seed, step)``, so a resumed run sees the same batches.
    """

    def __init__(self, dataset: GPTTokenSet, batch_size: int, tau: float | None, seed: int = 0):
        from motionlab.training import RandomBatches

        self.dataset, self.tau, self.seed = dataset, tau, int(seed)
        self.sampler = RandomBatches(dataset, batch_size, seed=seed, collate=collate_gpt)

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        from motionlab.runtime import rng

        batch = self.sampler(step)
        g = rng(self.seed, "corrupt", step)
        tau = draw_tau(self.tau, g)
        inputs = batch["target"][:, :-1].numpy()  # (B, W-1): the text slot predicts target[0]
        batch["idx"] = torch.from_numpy(corrupt_tokens(inputs, tau, self.dataset.config.n_codes, g))
        batch["tau"] = torch.tensor(tau)
        return batch


def gpt_loss(model: T2MGPT, batch: dict) -> dict[str, torch.Tensor]:
    """``loss_fn`` for the training loop: the model's cross-entropy on (corrupted inputs, clean targets)."""
    _, losses = model(batch["text"], batch["idx"], batch["target"])
    return {**losses, "tau": batch["tau"]}


def train_config_from_profile(profile, steps: int | None = None, seed: int = 0, **overrides):
    """The GPT's :class:`~motionlab.training.TrainConfig` from ``profile.gpt`` (``paper``: AdamW lr 1e-4,
    β (0.5, 0.9), weight decay 1e-6 on every parameter, batch 128, 300k steps, lr x0.05 at 150k, no warm-up).
    ``steps`` shortens a run (ablations); milestones are scaled with it."""
    from motionlab.profiles import get_profile
    from motionlab.training import TrainConfig

    g = get_profile(profile).gpt
    n = int(steps or g.steps)
    milestones = tuple(int(round(m * n / g.steps)) for m in g.milestones if round(m * n / g.steps) < n)
    values = dict(steps=n, lr=g.lr, batch_size=g.batch_size, betas=tuple(g.betas), weight_decay=g.weight_decay,
                  weight_decay_on="all", schedule="step" if milestones else "constant", milestones=milestones,
                  gamma=g.gamma, seed=seed, log_every=max(1, n // 20))
    values.update(overrides)
    return TrainConfig(**values)


# ------------------------------------------------------------------------------------ validation
def validation_loss(model: T2MGPT, dataset: GPTTokenSet, batch_size: int = 128, limit: int = 1024
                    ) -> dict[str, float]:
    """Teacher-forced cross-entropy and next-token accuracy on clean (uncorrupted) validation items."""
    device = model.lm_head.weight.device
    n = min(len(dataset), limit)
    total = acc = 0.0
    for start in range(0, n, batch_size):
        batch = collate_gpt([dataset[i] for i in range(start, min(n, start + batch_size))])
        target = batch["target"].to(device)
        _, losses = model(batch["text"].to(device), target[:, :-1], target)
        total += float(losses["loss"]) * len(target)
        acc += float(losses["accuracy"]) * len(target)
    return {"val_loss": total / n, "val_accuracy": acc / n}


# ------------------------------------------------------------------------------------ cached model
def _caption_features(split, encoder: str, device, progress=None) -> list[np.ndarray]:
    """Per motion of a tokenised split: ``(n_captions, dim)`` fp16 sentence features (cached on disk)."""
    from motionlab.text.encoders import embed_captions

    texts = [[c.text if hasattr(c, "text") else str(c) for c in caps] for caps in split.captions]
    flat = [t for caps in texts for t in caps]
    emb = embed_captions(flat, encoder, device=device, progress=progress)
    out, pos = [], 0
    for caps in texts:
        out.append(emb[pos:pos + len(caps)])
        pos += len(caps)
    return out


def fraction_indices(n: int, fraction: float, seed: int) -> np.ndarray:
    """The training motions a run with ``fraction`` of the data uses: a prefix of one seeded permutation,
    so the 25 % subset is inside the 50 % subset, which is inside the full set."""
    from motionlab.runtime import rng

    if not 0.0 < fraction <= 1.0:
        raise InputError(f"train_fraction={fraction}: expected a fraction in (0, 1]")
    keep = max(1, int(round(fraction * n)))
    return np.sort(rng(seed, "train-fraction").permutation(n)[:keep])


def t2m_gpt_spec(data: str = "synth", profile="auto", seed: int = 0, *, tau="profile", train_fraction: float = 1.0,
                 ablation: bool = False, steps: int | None = None, encoder: str = "minilm", tokenizer_seed: int = 0,
                 progress: bool | None = None, build_data: bool = True) -> dict:
    """Everything that identifies one T2M-GPT run, computed without training anything.

    Returns ``{"profile", "data_dir", "model", "train", "tau", "key"}``; ``key`` is the artifact-cache key
    (model and optimiser settings, τ, data fraction, seed, text encoder, and the tokenizer's own key).
    """
    from motionlab.data.paths import dataset_label, resolve_dataset
    from motionlab.profiles import get_profile
    from motionlab.text.encoders import get_text_encoder
    from motionlab.tokenizers.train import cache_key, tokenizer_configs

    prof = get_profile(profile)
    tau_v = resolve_tau(tau, prof)
    if not 0.0 < float(train_fraction) <= 1.0:
        raise InputError(f"train_fraction={train_fraction}: expected a fraction in (0, 1]")
    n_steps = steps or (prof.gpt.ablation_steps if ablation else None) or prof.gpt.steps
    data_dir = resolve_dataset(data, prof, build=build_data)
    input_dim = int(np.load(data_dir / "Mean.npy", allow_pickle=False).shape[-1])
    vq_cfg, vq_train, window = tokenizer_configs(prof, input_dim, seed=tokenizer_seed)
    text_enc = get_text_encoder(encoder)
    model_cfg = T2MGPTConfig.from_profile(prof, n_codes=vq_cfg.n_codes, text_dim=text_enc.dim)
    train_cfg = train_config_from_profile(prof, steps=n_steps, seed=seed, progress=progress)
    cosmetic = {"progress", "log_every", "eval_every", "checkpoint_every"}
    key = {
        "gpt": model_cfg, "train": {k: v for k, v in vars(train_cfg).items() if k not in cosmetic},
        "tau": tau_label(tau_v), "train_fraction": float(train_fraction), "seed": int(seed),
        "encoder": text_enc.name, "drop_prob": DROP_PROB,
        "tokenizer": cache_key(vq_cfg, vq_train, window), "tokenizer_seed": int(tokenizer_seed),
    }
    return {"profile": prof, "data_dir": data_dir, "data_label": dataset_label(data, data_dir), "model": model_cfg,
            "train": train_cfg, "tau": tau_v, "key": key}


def t2m_gpt_is_cached(data: str = "synth", profile="auto", seed: int = 0, **options) -> bool:
    """Whether :func:`get_t2m_gpt` with these arguments would load instead of train."""
    from motionlab.runtime import artifact_dir

    try:
        spec = t2m_gpt_spec(data, profile, seed, build_data=False, **options)
    except FileNotFoundError:
        return False
    folder = artifact_dir("t2m_gpt", spec["profile"].name, spec["data_label"], spec["key"])
    return (folder / "COMPLETE.json").exists()


def get_t2m_gpt(
    data: str = "synth",
    profile="auto",
    device="auto",
    seed: int = 0,
    *,
    tau="profile",
    train_fraction: float = 1.0,
    ablation: bool = False,
    steps: int | None = None,
    encoder: str = "minilm",
    tokenizer_seed: int = 0,
    retrain: bool = False,
    verbose: bool = True,
    progress: bool | None = None,
) -> T2MGPTPipeline:
    """The trained T2M-GPT of a profile on a dataset, as a ready :class:`T2MGPTPipeline` (cached).

    ``tau``: corruption (float, ``"uniform"`` for U[0, 1] per batch, or ``"profile"``); ``train_fraction``:
    share of the training motions (nested subsets per ``seed``); ``ablation=True`` trains
    ``profile.gpt.ablation_steps`` steps (the chapter's sweeps), ``steps`` any other count.  The tokenizer
    (``tokenizer_seed``) comes from its own cache (trained first if missing).  Each distinct setting is
    trained once (``runtime.load_or_train``) and then loaded.
    """
    from motionlab import checkpoints
    from motionlab.runtime import load_or_train, resolve_device
    from motionlab.tokenizers.artifacts import tokenize_split
    from motionlab.tokenizers.train import cache_key, get_tokenizer_run
    from motionlab.training import train

    spec = t2m_gpt_spec(data, profile, seed, tau=tau, train_fraction=train_fraction, ablation=ablation,
                        steps=steps, encoder=encoder, tokenizer_seed=tokenizer_seed, progress=progress)
    prof, model_cfg, train_cfg, tau_v, key = (spec[k] for k in ("profile", "model", "train", "tau", "key"))
    dev = resolve_device(device)
    run = get_tokenizer_run(data, prof, dev, tokenizer_seed)
    vq = run.model
    if _to_json(cache_key(run.config, run.train_config, run.window)) != _to_json(key["tokenizer"]):
        raise InputError("the cached tokenizer does not match the profile's tokenizer settings")

    def build(work):
        say = print if verbose else (lambda *_: None)
        train_split = tokenize_split(data, prof, dev, "train", seed=tokenizer_seed)
        val_split = tokenize_split(data, prof, dev, "val", seed=tokenizer_seed)
        train_emb = _caption_features(train_split, encoder, dev, progress=say)
        val_emb = _caption_features(val_split, encoder, dev, progress=say)
        keep = fraction_indices(len(train_split), train_fraction, seed)
        train_set = GPTTokenSet([train_split.tokens[i] for i in keep], [train_emb[i] for i in keep], model_cfg)
        val_set = GPTTokenSet(val_split.tokens, val_emb, model_cfg)
        say(f"[t2m-gpt] {len(train_set)} training motions ({train_fraction:.0%}), tau={tau_label(tau_v)}, "
            f"{train_cfg.steps} steps, seed {seed}")
        torch.manual_seed(seed)
        model = T2MGPT(model_cfg)
        cfg = train_cfg if train_cfg.eval_every else _with_eval(train_cfg)
        result = train(model, GPTBatches(train_set, cfg.batch_size, tau_v, seed=seed), gpt_loss, cfg, device=dev,
                       eval_fn=lambda m, step: validation_loss(m, val_set))
        info = {"tau": tau_label(tau_v), "train_fraction": float(train_fraction), "n_train": len(train_set),
                "steps": train_cfg.steps, "seed": seed, "seconds": round(result.seconds, 2),
                "history": result.history, "evals": result.evals, "encoder": encoder, "data": str(data),
                "profile": prof.name}
        checkpoints.save_model(model, work, info)
        return _pipeline(model.eval(), vq, encoder, seed, info)

    def load(folder):
        model = checkpoints.load_model(T2MGPT, folder, dev)
        return _pipeline(model, vq, encoder, seed, checkpoints.load_extra(folder))

    return load_or_train("t2m_gpt", prof.name, spec["data_label"], key, build, load, retrain=retrain,
                         verbose=verbose)


def _to_json(value):
    """Plain JSON values of a (nested) config, for comparisons."""
    from motionlab.runtime import to_jsonable

    return to_jsonable(value)


def _with_eval(cfg):
    from dataclasses import replace

    return replace(cfg, eval_every=max(1, cfg.steps // 10))


def _pipeline(model: T2MGPT, vq, encoder: str, seed: int, info: dict) -> T2MGPTPipeline:
    return T2MGPTPipeline(model, vq, encoder=encoder, seed=seed, info=info)
