"""Loading the official evaluator of Guo et al. (2022), for numbers comparable with the papers.

The ``paper`` profile on real HumanML3D / KIT-ML uses the evaluator every paper used, if you have its files
(they cannot be downloaded here).  Put them under ``<data root>/official_evaluator/`` (``data_root()`` is
``$MOTIONLAB_DATA``, else ``<checkout>/data``), laid out as the official download scripts unpack them::

    official_evaluator/
      glove/our_vab_data.npy  our_vab_words.pkl  our_vab_idx.pkl      # download_glove.sh
      t2m/text_mot_match/model/finest.tar                            # download_evaluator(s).sh, t2m.zip
      t2m/Comp_v6_KLD01/meta/mean.npy  std.npy                        # (or Comp_v6_KLD005/meta,
      kit/text_mot_match/model/finest.tar                             #  VQVAEV3_CB1024_CMT_H1024_NRES3/meta
      kit/Comp_v6_KLD005/meta/mean.npy  std.npy                       #  or meta/: the same statistics)

Nothing is unpickled freely: ``finest.tar`` is read with ``torch.load(weights_only=True)`` and the two GloVe
``.pkl`` files (a list of words and a word -> index dict) with an unpickler that accepts plain Python values
only.  The official text encoder reads fixed GloVe vectors; here they become a frozen embedding table.  It
also expects spaCy ``word/POS`` tokens: pass ``Caption`` objects to :meth:`Evaluator.embed_texts` (plain
strings would all be tagged OTHER).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import torch

from motionlab import checkpoints
from motionlab.errors import CheckpointError
from motionlab.evaluation.evaluator import N_CONTACTS, Evaluator, EvaluatorConfig, TextMotionMatcher
from motionlab.text.vocab import SPECIAL_WORDS, WordVocabulary

META_FOLDERS = ("Comp_v6_KLD01", "Comp_v6_KLD005", "VQVAEV3_CB1024_CMT_H1024_NRES3", "text_mot_match")
_SAFE_BUILTINS = {"list", "dict", "tuple", "set", "frozenset", "str", "int", "float", "bool", "bytes", "complex"}


def official_dir() -> Path:
    """``<data root>/official_evaluator``: where the official evaluator files go."""
    from motionlab.runtime import data_root

    return data_root() / "official_evaluator"


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles builtin containers and scalars only; any other class is refused (no code runs)."""

    def find_class(self, module: str, name: str):
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain Python values are allowed")


def load_plain_pickle(path: str | Path):
    """Read a pickle that holds only lists/dicts/strings/numbers (raises :class:`CheckpointError` otherwise)."""
    path = Path(path)
    try:
        return _PlainUnpickler(io.BytesIO(path.read_bytes())).load()
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise CheckpointError(f"{path}: not a plain-value pickle ({err})") from None


def _find_files(root: Path, dataset: str) -> dict[str, Path]:
    files = {
        "weights": root / dataset / "text_mot_match" / "model" / "finest.tar",
        "glove_data": root / "glove" / "our_vab_data.npy",
        "glove_words": root / "glove" / "our_vab_words.pkl",
        "glove_idx": root / "glove" / "our_vab_idx.pkl",
    }
    for sub in (*META_FOLDERS, ""):
        meta = root / dataset / sub / "meta" if sub else root / dataset / "meta"
        if (meta / "mean.npy").is_file() and (meta / "std.npy").is_file():
            files["mean"], files["std"] = meta / "mean.npy", meta / "std.npy"
            break
    else:
        files["mean"] = root / dataset / META_FOLDERS[0] / "meta" / "mean.npy"
        files["std"] = root / dataset / META_FOLDERS[0] / "meta" / "std.npy"
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise CheckpointError(
            "the official evaluator files were not found:\n  " + "\n  ".join(missing)
            + f"\nPlace them under {root} as described in motionlab.evaluation.official (they come from the "
              "T2M-GPT / MoMask download_evaluator and download_glove scripts), or train an evaluator on the data "
              "with get_evaluator(..., official=False)."
        )
    return files


def _config_from_state(text: dict, movement: dict, motion: dict, vocab_size: int, source: Path) -> EvaluatorConfig:
    """Read the network sizes off the tensor shapes (the paper's: 300 / 512 / 512 / 1024 / 512)."""
    try:
        return EvaluatorConfig(
            input_dim=int(movement["main.0.weight"].shape[1]) + N_CONTACTS, vocab_size=vocab_size,
            dim_word=int(text["pos_emb.weight"].shape[0]), dim_text_hidden=int(text["input_emb.weight"].shape[0]),
            dim_movement=int(movement["out_net.weight"].shape[0]),
            dim_motion_hidden=int(motion["input_emb.weight"].shape[0]),
            dim_coemb=int(text["output_net.3.weight"].shape[0]),
        )
    except KeyError as err:
        raise CheckpointError(f"{source}: tensor {err} is missing; this is not a text_mot_match checkpoint") from None


def load_official_evaluator(dataset: str = "t2m", root: str | Path | None = None,
                            device: str | torch.device = "cpu") -> Evaluator:
    """The official evaluator for ``dataset`` (``"t2m"`` = HumanML3D or ``"kit"``) from ``root``
    (default :func:`official_dir`).  Raises :class:`CheckpointError` listing any missing file."""
    if dataset not in ("t2m", "kit"):
        raise CheckpointError(f"dataset={dataset!r}: the official evaluators exist for 't2m' and 'kit'")
    root = Path(root) if root is not None else official_dir()
    files = _find_files(root, dataset)
    try:
        state = torch.load(files["weights"], map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt file or one that holds more than weights
        raise CheckpointError(f"{files['weights']}: cannot be read as a weights-only checkpoint ({err})") from None
    for key in ("text_encoder", "movement_encoder", "motion_encoder"):
        if key not in state:
            raise CheckpointError(f"{files['weights']}: no {key!r} entry (found {sorted(state)})")

    vectors = np.load(files["glove_data"], allow_pickle=False)
    words = load_plain_pickle(files["glove_words"])
    word2idx = load_plain_pickle(files["glove_idx"])
    if not isinstance(words, list) or not isinstance(word2idx, dict):
        raise CheckpointError(f"{files['glove_words']} / {files['glove_idx']}: expected a word list and a word -> "
                              f"index dict")
    missing = [w for w in SPECIAL_WORDS if w not in word2idx]
    if missing:
        raise CheckpointError(f"{files['glove_idx']}: the GloVe vocabulary lacks {missing}")
    words = list(dict.fromkeys(str(w) for w in words))
    vocab = WordVocabulary(words=words)
    table = torch.from_numpy(np.stack([vectors[word2idx[w]] for w in words]).astype(np.float32))

    config = _config_from_state(state["text_encoder"], state["movement_encoder"], state["motion_encoder"],
                                len(words), files["weights"])
    if table.shape[1] != config.dim_word:
        raise CheckpointError(f"{files['glove_data']}: vectors have {table.shape[1]} dims, the text encoder "
                              f"expects {config.dim_word}")
    model = TextMotionMatcher(config)
    checkpoints.load_model_state(model.text_encoder, {**state["text_encoder"], "word_emb.weight": table},
                                 f"{files['weights']}['text_encoder']")
    checkpoints.load_model_state(model.movement_encoder, state["movement_encoder"],
                                 f"{files['weights']}['movement_encoder']")
    checkpoints.load_model_state(model.motion_encoder, state["motion_encoder"], f"{files['weights']}['motion_encoder']")
    model.freeze_movement()
    model.requires_grad_(False)
    mean = np.load(files["mean"], allow_pickle=False)
    std = np.load(files["std"], allow_pickle=False)
    info = {"source": "official", "dataset": dataset, "epoch": int(state.get("epoch", -1)),
            "files": {k: str(v) for k, v in files.items()}}
    return Evaluator(model, vocab, mean, std, device, info)
