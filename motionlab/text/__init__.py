"""motionlab.text: frozen sentence encoders (``encoders``) and caption vocabularies (``vocab``).

The names below are imported lazily, so ``import motionlab.text.vocab`` does not pull in torch or
sentence-transformers.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "TextEncoder": "encoders", "MiniLMEncoder": "encoders", "ClipEncoder": "encoders",
    "EncoderUnavailableError": "encoders", "PromptTruncationWarning": "encoders", "ENCODERS": "encoders",
    "get_text_encoder": "encoders", "embed_captions": "encoders", "check_prompts": "encoders",
    "embedding_cache_dir": "encoders", "text_key": "encoders",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
