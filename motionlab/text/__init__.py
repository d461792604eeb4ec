"""motionlab.text: frozen sentence encoders (``encoders``) and caption vocabularies (``vocab``).

The names below are imported lazily, so ``import motionlab.text.vocab`` does not pull in torch or
sentence-transformers.
"""

from __future__ import annotations

from motionlab._lazy import lazy_exports

_LAZY = {
    "TextEncoder": "encoders", "MiniLMEncoder": "encoders", "ClipEncoder": "encoders",
    "EncoderUnavailableError": "encoders", "PromptTruncationWarning": "encoders", "ENCODERS": "encoders",
    "get_text_encoder": "encoders", "embed_captions": "encoders", "check_prompts": "encoders",
    "embedding_cache_dir": "encoders", "text_key": "encoders", "embed_caption_sets": "encoders",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
