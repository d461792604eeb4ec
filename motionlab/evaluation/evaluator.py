"""The text-motion matching evaluator of Guo et al. (2022), the yardstick behind every number in the book.

Three networks map a caption and a motion into one Euclidean space:

* **text encoder** -- word embedding + a linear map of the 15-way POS one-hot, added, then Linear -> bi-GRU;
  the two final GRU states go through an MLP to the co-embedding (``dim_coemb``).
* **movement encoder** -- two strided 1D convolutions turn the normalised features *without the 4 foot
  contacts* into one vector per 4-frame snippet.  It is pre-trained as a movement autoencoder and then frozen.
* **motion encoder** -- Linear -> bi-GRU over the snippets; final states -> MLP -> co-embedding.

Training (:mod:`motionlab.evaluation.train_evaluator`) pulls a caption and its motion together and pushes
mismatched pairs (the batch shifted by a random offset) beyond a margin of 10.  The official evaluator reads
GloVe vectors; GloVe is not available offline, so here word embeddings are learned (and a vocabulary is built
from the dataset's caption files).  Features are always normalised with the evaluator's *own* statistics:
:meth:`Evaluator.embed_motions` takes raw features.

``get_evaluator(data_dir, profile.evaluator, device)`` trains one per (dataset, recipe) once and caches it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from motionlab import checkpoints
from motionlab.errors import CheckpointError, InputError
from motionlab.text.vocab import POS_CATEGORIES, WordVocabulary

UNIT = 4  # frames per snippet (two stride-2 convolutions)
N_CONTACTS = 4  # foot-contact channels at the end of the feature vector, not seen by the evaluator


@dataclass(frozen=True)
class EvaluatorConfig:
    """Sizes of the three evaluator networks (the paper's: 300 / 512 / 512 / 1024 / 512)."""

    input_dim: int = 263  # feature width incl. contacts: 263 (HumanML3D), 251 (KIT); set from the data
    vocab_size: int = 0  # set from the training captions' vocabulary when the evaluator is trained
    dim_word: int = 300
    dim_text_hidden: int = 512
    dim_movement: int = 512  # movement encoder hidden width = snippet latent width
    dim_motion_hidden: int = 1024
    dim_coemb: int = 512
    max_motion_length: int = 196  # longer motions are cut to this many frames before embedding
    dropout: float = 0.2  # in the movement encoder (inactive once frozen)


def init_weights(module: nn.Module) -> None:
    """Xavier-normal weights and zero biases for convolutions and linear layers (as the official code)."""
    if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
        nn.init.xavier_normal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def co_embedding_head(hidden: int, out: int) -> nn.Sequential:
    """Concatenated bi-GRU states (2*hidden) -> hidden -> LayerNorm -> LeakyReLU -> out."""
    return nn.Sequential(nn.Linear(2 * hidden, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out))


class BiGRUEncoder(nn.Module):
    """Linear -> bi-GRU (learned initial state, packed by length) -> co-embedding head on the final states."""

    def __init__(self, input_size: int, hidden: int, out: int):
        super().__init__()
        self.input_emb = nn.Linear(input_size, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.output_net = co_embedding_head(hidden, out)
        self.hidden = nn.Parameter(torch.randn(2, 1, hidden))  # (directions, 1, H) learned h0
        self.input_emb.apply(init_weights)
        self.output_net.apply(init_weights)

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, L, input_size), lengths (B,) -> (B, out); steps beyond a row's length are ignored."""
        h = self.input_emb(x)  # (B, L, H)
        packed = pack_padded_sequence(h, lengths.detach().cpu().long(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.expand(-1, x.shape[0], -1).contiguous())  # last: (2, B, H)
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))  # (B, out)


class TextEncoder(BiGRUEncoder):
    """Caption tokens -> co-embedding.  The input of a token is word_emb(word) + pos_emb(one_hot(POS))."""

    def __init__(self, vocab_size: int, dim_word: int, hidden: int, out: int):
        super().__init__(dim_word, hidden, out)
        self.word_emb = nn.Embedding(vocab_size, dim_word)  # GloVe's role, learned here
        self.pos_emb = nn.Linear(len(POS_CATEGORIES), dim_word)
        self.pos_emb.apply(init_weights)

    def forward(self, word_ids: torch.Tensor, pos_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """word_ids, pos_ids (B, L) int64; lengths (B,) -> (B, dim_coemb)."""
        pos = F.one_hot(pos_ids, len(POS_CATEGORIES)).to(self.pos_emb.weight.dtype)  # (B, L, 15)
        x = self.word_emb(word_ids) + self.pos_emb(pos)  # (B, L, dim_word)
        return self.encode(x, lengths)


class MovementEncoder(nn.Module):
    """(B, T, D-4) normalised features -> (B, T/4, dim_movement) snippet codes (two stride-2 convs)."""

    def __init__(self, input_size: int, hidden: int, out: int, dropout: float = 0.2):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden, 4, 2, 1), nn.Dropout(dropout), nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, out, 4, 2, 1), nn.Dropout(dropout), nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(out, out)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, D-4), T a multiple of 4 -> (B, T/4, out)."""
        return self.out_net(self.main(x.transpose(1, 2)).transpose(1, 2))  # (B, T/4, out)


class MovementDecoder(nn.Module):
    """(B, T/4, dim_movement) -> (B, T, D): the decoder half of the movement autoencoder (pre-training only)."""

    def __init__(self, input_size: int, hidden: int, out: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose1d(input_size, hidden, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.ConvTranspose1d(hidden, out, 4, 2, 1), nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(out, out)
        self.apply(init_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, T/4, M) -> (B, T, out)."""
        return self.out_net(self.main(z.transpose(1, 2)).transpose(1, 2))  # (B, T, out)


class MovementAutoencoder(nn.Module):
    """Stage 1: learn snippet codes by reconstructing all D features from the contact-free D-4.

    loss = L1(recon, x) + 0.001 * mean|z| (sparsity) + 0.001 * L1(z[1:], z[:-1]) (smoothness), as the official
    ``Decomp_SP001_SM001`` run.
    """

    config_class = EvaluatorConfig

    def __init__(self, config: EvaluatorConfig):
        super().__init__()
        self.config = config
        self.encoder = MovementEncoder(config.input_dim - N_CONTACTS, config.dim_movement, config.dim_movement,
                                       config.dropout)
        self.decoder = MovementDecoder(config.dim_movement, config.dim_movement, config.input_dim)

    def forward(self, x: torch.Tensor, lambda_sparsity: float = 1e-3, lambda_smooth: float = 1e-3
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x (B, T, D) normalised, T a multiple of 4 -> (reconstruction (B, T, D), losses)."""
        z = self.encoder(x[..., :-N_CONTACTS])  # (B, T/4, M)
        recon = self.decoder(z)  # (B, T, D)
        rec = F.l1_loss(recon, x)
        sparsity = z.abs().mean()
        smooth = F.l1_loss(z[:, 1:], z[:, :-1])
        loss = rec + lambda_sparsity * sparsity + lambda_smooth * smooth
        return recon, {"loss": loss, "recon": rec.detach(), "sparsity": sparsity.detach(), "smooth": smooth.detach()}


class TextMotionMatcher(nn.Module):
    """The three evaluator networks together; ``forward`` returns both embeddings and the matching losses."""

    config_class = EvaluatorConfig

    def __init__(self, config: EvaluatorConfig):
        super().__init__()
        self.config = config
        c = config
        self.text_encoder = TextEncoder(c.vocab_size, c.dim_word, c.dim_text_hidden, c.dim_coemb)
        self.movement_encoder = MovementEncoder(c.input_dim - N_CONTACTS, c.dim_movement, c.dim_movement, c.dropout)
        self.motion_encoder = BiGRUEncoder(c.dim_movement, c.dim_motion_hidden, c.dim_coemb)
        self.movement_frozen = False

    def freeze_movement(self) -> None:
        """Freeze the pre-trained movement encoder (no gradients, always in eval mode: no dropout)."""
        self.movement_frozen = True
        self.movement_encoder.requires_grad_(False)
        self.movement_encoder.eval()

    def train(self, mode: bool = True) -> "TextMotionMatcher":
        """Like ``nn.Module.train``, but a frozen movement encoder stays in eval mode (no dropout)."""
        super().train(mode)
        if self.movement_frozen:
            self.movement_encoder.eval()
        return self

    def encode_text(self, word_ids: torch.Tensor, pos_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids and categories, (B,) lengths -> (B, dim_coemb)."""
        return self.text_encoder(word_ids, pos_ids, lengths)

    def encode_motion(self, motion: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """motion (B, T, D) normalised, zero-padded, T a multiple of 4; lengths (B,) frames -> (B, dim_coemb)."""
        movements = self.movement_encoder(motion[..., :-N_CONTACTS])  # (B, T/4, M)
        if self.movement_frozen:
            movements = movements.detach()
        return self.motion_encoder.encode(movements, torch.div(lengths, UNIT, rounding_mode="floor"))

    def forward(self, batch: dict[str, torch.Tensor], margin: float = 10.0
                ) -> tuple[tuple[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]:
        """``batch``: word_ids, pos_ids, text_lengths, motion, lengths, shift (int in [1, B-1]).

        Hinge-squared contrastive loss with shifted negatives (Hadsell et al. 2006):
        pos = mean ||t_i - m_i||^2,  neg = mean max(0, margin - ||t_i - m_(i+shift)||)^2,  loss = pos + neg.
        """
        t = self.encode_text(batch["word_ids"], batch["pos_ids"], batch["text_lengths"])  # (B, E)
        m = self.encode_motion(batch["motion"], batch["lengths"])  # (B, E)
        shift = int(batch["shift"])
        d_pos = F.pairwise_distance(t, m)  # (B,)
        d_neg = F.pairwise_distance(t, torch.roll(m, -shift, dims=0))  # text i vs motion i + shift
        pos = (d_pos ** 2).mean()
        neg = (torch.clamp(margin - d_neg, min=0.0) ** 2).mean()
        return (t, m), {"loss": pos + neg, "loss_pos": pos.detach(), "loss_neg": neg.detach()}


# ----------------------------------------------------------------------------------------- crops
def official_crop(length: int, rng: np.random.Generator, unit: int = UNIT) -> tuple[int, int]:
    """The evaluation loader's crop of a ``length``-frame motion: ``(start, crop_length)``.

    With probability 2/3 keep ``(length // 4) * 4`` frames ("single"), else ``(length // 4 - 1) * 4``
    ("double", never below one snippet); the start is uniform over the frames left over.  The crop length
    comes from :func:`motionlab.data.torch_datasets.crop_length`, the same rule the training pairs use.
    """
    from motionlab.data.torch_datasets import crop_length

    if length < unit:
        raise InputError(f"a motion of {length} frames is shorter than one {unit}-frame snippet")
    crop = crop_length(length, unit, rng)
    start = int(rng.integers(0, length - crop + 1))
    return start, crop


def padded_width(longest: int, max_len: int = 196) -> int:
    """Frames to zero-pad a batch to so that every motion's embedding is what the official loader gives.

    The official loader pads every motion to 196 frames.  The movement encoder's last snippet of an
    ``L``-frame motion looks 2 frames past its end, so zeros there matter; one extra snippet of padding
    (``L + 4``, capped at 196) reproduces the 196-frame padding exactly, whatever else is in the batch.
    """
    return min(longest + UNIT, max(longest, max_len))


def crop_variants(length: int, unit: int = UNIT) -> list[tuple[int, int, float]]:
    """Every crop :func:`official_crop` can return for ``length`` frames, with its probability:
    ``[(start, crop_length, p), ...]`` (used to embed all crops of a test motion once)."""
    single = (length // unit) * unit
    out = [(s, single, (2 / 3 if length // unit > 1 else 1.0) / (length - single + 1))
           for s in range(length - single + 1)]
    if length // unit > 1:
        double = single - unit
        out += [(s, double, (1 / 3) / (length - double + 1)) for s in range(length - double + 1)]
    return out


# ------------------------------------------------------------------------------------- evaluator
class Evaluator:
    """A trained matcher plus what it needs at inference: vocabulary and normalisation statistics.

    ``embed_texts(captions)`` and ``embed_motions(features_list)`` return ``(N, dim_coemb)`` float32 arrays;
    distances between them are what R-precision, MM-Dist, FID, Diversity and MultiModality measure.
    """

    def __init__(self, model: TextMotionMatcher, vocabulary: WordVocabulary, mean: np.ndarray, std: np.ndarray,
                 device: str | torch.device = "cpu", info: dict | None = None):
        self.model = model.to(device).eval()
        self.vocabulary = vocabulary
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if self.mean.shape != (model.config.input_dim,) or self.std.shape != (model.config.input_dim,):
            raise CheckpointError(f"evaluator statistics have shapes {self.mean.shape} / {self.std.shape}, "
                                  f"expected ({model.config.input_dim},)")
        if (self.std <= 0).any():
            raise CheckpointError(f"evaluator std has {int((self.std <= 0).sum())} non-positive entries")
        self.device = torch.device(device)
        self.info = dict(info or {})  # training history, provenance, source ("trained" / "official")

    @property
    def config(self) -> EvaluatorConfig:
        """The network sizes (:class:`EvaluatorConfig`)."""
        return self.model.config

    @property
    def dim(self) -> int:
        """Width of the co-embedding."""
        return self.config.dim_coemb

    def to(self, device: str | torch.device) -> "Evaluator":
        """Move the networks to ``device`` (embeddings still come back as numpy arrays)."""
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    # ------------------------------------------------------------------------------------- texts
    @torch.no_grad()
    def embed_texts(self, captions: Sequence[Any], batch_size: int = 1024) -> np.ndarray:
        """Captions -> ``(N, dim_coemb)``.  Each caption is a ``Caption`` (its ``word/POS`` tokens are used),
        a sequence of ``word/POS`` tokens, or a plain string (tagged through the vocabulary's surface map)."""
        if isinstance(captions, str):
            raise InputError("embed_texts expects a list of captions, not a single string")
        out = np.zeros((len(captions), self.dim), dtype=np.float32)
        for start in range(0, len(captions), batch_size):
            enc = self.vocabulary.encode(list(captions[start:start + batch_size]))
            emb = self.model.encode_text(torch.from_numpy(enc.word_ids).to(self.device),
                                         torch.from_numpy(enc.pos_ids).to(self.device),
                                         torch.from_numpy(enc.lengths))
            out[start:start + len(emb)] = emb.float().cpu().numpy()
        return out

    # ----------------------------------------------------------------------------------- motions
    def normalize(self, features: np.ndarray) -> np.ndarray:
        """Raw features -> the evaluator's normalisation, ``(x - mean) / std``."""
        return (np.asarray(features, dtype=np.float32) - self.mean) / self.std

    def _check_features(self, features_list: Sequence[Any]) -> list[np.ndarray]:
        if isinstance(features_list, np.ndarray) and features_list.ndim == 2:
            raise InputError("embed_motions expects a list of (T, D) arrays (or a (N, T, D) array), got one (T, D)")
        out = []
        for i, f in enumerate(features_list):
            a = f.detach().float().cpu().numpy() if isinstance(f, torch.Tensor) else np.asarray(f, dtype=np.float32)
            if a.ndim != 2 or a.shape[1] != self.config.input_dim:
                raise InputError(f"motion {i} has shape {a.shape}: expected (frames, {self.config.input_dim}) raw "
                                 f"features")
            if not np.isfinite(a).all():
                raise InputError(f"motion {i} contains NaN or inf values")
            if a.shape[0] < UNIT:
                raise InputError(f"motion {i} has {a.shape[0]} frames: the evaluator needs at least {UNIT}")
            out.append(a)
        return out

    @torch.no_grad()
    def embed_motions(self, features_list: Sequence[Any], *, crop: str = "start",
                      rng: np.random.Generator | None = None, starts: Sequence[int] | None = None,
                      lengths: Sequence[int] | None = None, batch_size: int = 512) -> np.ndarray:
        """Raw feature arrays ``(T_i, D)`` (any lengths) -> ``(N, dim_coemb)``.

        Each motion is cut to at most ``max_motion_length`` (196) frames and cropped to a multiple of 4:
        ``crop="start"`` keeps the first ``(T // 4) * 4`` frames (how generated motions are evaluated),
        ``crop="random"`` draws the official loader's random single/double crop from ``rng`` (how real motions
        are evaluated).  Explicit ``starts``/``lengths`` override both.  Normalisation happens inside.
        """
        feats = self._check_features(features_list)
        n = len(feats)
        if crop not in ("start", "random"):
            raise InputError(f"crop={crop!r}: expected 'start' or 'random'")
        if (starts is None) != (lengths is None):
            raise InputError("pass starts= and lengths= together (one window per motion)")
        if crop == "random" and rng is None and lengths is None:
            raise InputError("crop='random' needs rng= (a numpy Generator)")
        max_len = self.config.max_motion_length
        windows = []
        for i, f in enumerate(feats):
            total = min(f.shape[0], max_len)
            if lengths is not None:
                s, length = int(starts[i]), int(lengths[i])
                if length < UNIT or length % UNIT or s < 0 or s + length > f.shape[0] or length > max_len:
                    raise InputError(f"motion {i}: window start={s}, length={length} is not a multiple of {UNIT} "
                                     f"frames within its {f.shape[0]} frames (max {max_len})")
            elif crop == "random":
                s, length = official_crop(total, rng)
            else:
                s, length = 0, (total // UNIT) * UNIT
            windows.append((s, length))
        out = np.zeros((n, self.dim), dtype=np.float32)
        order = np.argsort([-w[1] for w in windows], kind="stable")  # similar lengths together: less padding
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            width = padded_width(max(windows[i][1] for i in idx), max_len)
            batch = np.zeros((len(idx), width, self.config.input_dim), dtype=np.float32)  # zero = mean after norm
            for row, i in enumerate(idx):
                s, length = windows[i]
                batch[row, :length] = self.normalize(feats[i][s:s + length])
            lens = torch.tensor([windows[i][1] for i in idx])
            emb = self.model.encode_motion(torch.from_numpy(batch).to(self.device), lens.to(self.device))
            out[idx] = emb.float().cpu().numpy()
        return out

    # -------------------------------------------------------------------------------- save/load
    def save(self, folder: str | Path) -> Path:
        """``model.safetensors`` + ``config.json`` + ``extra.json`` (vocabulary, info) + ``extra.safetensors``
        (mean, std)."""
        extra = {"vocabulary": self.vocabulary.to_json(), "info": self.info,
                 "mean": torch.from_numpy(self.mean), "std": torch.from_numpy(self.std)}
        return checkpoints.save_model(self.model, folder, extra=extra)

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu") -> "Evaluator":
        """Inverse of :meth:`save`; raises :class:`CheckpointError` for a missing or mismatched folder."""
        folder = Path(folder)
        model = checkpoints.load_model(TextMotionMatcher, folder, device)
        model.freeze_movement()
        extra = checkpoints.load_extra(folder)
        for key in ("vocabulary", "mean", "std"):
            if key not in extra:
                raise CheckpointError(f"{folder}: the evaluator's extra files lack {key!r}")
        vocab = WordVocabulary.from_json(extra["vocabulary"])
        if len(vocab) != model.config.vocab_size:
            raise CheckpointError(f"{folder}: vocabulary has {len(vocab)} words but the model was built for "
                                  f"{model.config.vocab_size}")
        return cls(model, vocab, extra["mean"].numpy(), extra["std"].numpy(), device, extra.get("info"))

    def describe(self) -> dict:
        """Sizes and origin, for records: config, vocabulary size, parameter count, source."""
        return {"config": asdict(self.config), "vocabulary": len(self.vocabulary),
                "parameters": sum(p.numel() for p in self.model.parameters()),
                "source": self.info.get("source", "trained")}


# ------------------------------------------------------------------------------------- factory
def get_evaluator(data_dir: str | Path, recipe, device: str | torch.device = "auto", *,
                  official: bool | None = None, retrain: bool = False, progress: bool | None = None) -> Evaluator:
    """The evaluator for a dataset folder, trained once per (data, recipe) and then loaded from cache.

    ``recipe`` is a profile's ``evaluator`` (:class:`~motionlab.evaluation.train_evaluator.EvaluatorRecipe`;
    its training seed is ``recipe.train.seed``).  ``official``: use the official checkpoint + GloVe files
    instead of training (see :mod:`motionlab.evaluation.official` for where to put them).  Default: the
    recipe's ``official`` flag (the ``paper`` profile's) on a real dataset -- any folder that is not
    MotionLab-Synth -- so that numbers are comparable with the papers.
    """
    from motionlab.data.paths import dataset_label
    from motionlab.evaluation.train_evaluator import train_evaluator
    from motionlab.runtime import load_or_train, resolve_device

    root, dev = Path(data_dir), resolve_device(device)
    if official is None:
        official = recipe.official and not (root / "synth_meta.json").exists()
    if official:
        from motionlab.evaluation.official import load_official_evaluator

        dim = int(np.load(root / "Mean.npy", allow_pickle=False).shape[-1])
        return load_official_evaluator("kit" if dim == 251 else "t2m", device=dev)
    return load_or_train(
        "evaluator", dataset_label(root), {"recipe": recipe.key(), "version": 3},  # bump when training changes
        train_fn=lambda workdir: train_evaluator(root, recipe, device=dev, workdir=workdir, progress=progress),
        load_fn=lambda folder: Evaluator.load(folder, dev),
        retrain=retrain,
    )
