"""TM2T (Guo et al., ECCV 2022): motion and text translate into each other over motion tokens.

* :mod:`~motionlab.generators.tm2t.vocab` -- the caption vocabulary (raw or lemma words, GloVe's list when
  available) and padded id batches of both languages;
* :mod:`~motionlab.generators.tm2t.motion_to_text` -- the captioner: transformer encoder-decoder, beam search
  and top-k sampling;
* :mod:`~motionlab.generators.tm2t.text_to_motion` -- the GRU with attention over the words, its sampler and
  the Gumbel-softmax sampler of inverse alignment;
* :mod:`~motionlab.generators.tm2t.pairs` -- token/caption training pairs;
* :mod:`~motionlab.generators.tm2t.train_m2t` / :mod:`~motionlab.generators.tm2t.train_t2m` -- recipes,
  losses, the inverse-alignment step and the cached models;
* :mod:`~motionlab.generators.tm2t.pipeline` -- motions -> captions, captions -> motions, caption metrics.

Names are imported lazily, so importing one part does not load the others.
"""

from __future__ import annotations

from motionlab._lazy import lazy_exports

_LAZY = {
    "CaptionVocabulary": "vocab", "pack_motions": "vocab", "pack_words": "vocab",
    "MotionToText": "motion_to_text", "MotionToTextConfig": "motion_to_text", "beam_search": "motion_to_text",
    "TextToMotion": "text_to_motion", "TextToMotionConfig": "text_to_motion", "GeneratedCodes": "text_to_motion",
    "teacher_forcing_ratio": "text_to_motion",
    "TokenCaptionPairs": "pairs",
    "MotionToTextRecipe": "train_m2t", "MotionToTextRun": "train_m2t", "get_motion_to_text": "train_m2t",
    "TextToMotionRecipe": "train_t2m", "TextToMotionRun": "train_t2m", "get_text_to_motion": "train_t2m",
    "inverse_alignment_loss": "train_t2m", "train_text_to_motion": "train_t2m",
    "TM2TCaptioner": "pipeline", "TM2TPipeline": "pipeline", "evaluate_captioner": "pipeline",
    "get_tm2t": "pipeline", "get_tm2t_captioner": "pipeline", "tm2t_is_cached": "pipeline",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
