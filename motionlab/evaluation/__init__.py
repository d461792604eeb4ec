"""motionlab.evaluation: the text-motion evaluator, the standard metrics, caption metrics and the protocol.

* :mod:`~motionlab.evaluation.metrics` -- FID, R-precision, MM-Dist, Diversity, MultiModality, MPJPE,
  codebook usage / perplexity, foot sliding.
* :mod:`~motionlab.evaluation.captions` -- BLEU@1/4, ROUGE-L, CIDEr (coco-caption) and a MiniLM BERTScore.
* :mod:`~motionlab.evaluation.evaluator` -- the Guo et al. (2022) matcher: ``Evaluator``, ``get_evaluator``.
* :mod:`~motionlab.evaluation.protocol` -- ``evaluate(generators, evaluator, split, spec)`` with the
  ground-truth row and mean ± 95 % intervals over replications; presets for each official repository;
  :mod:`~motionlab.evaluation.baselines` -- random-feature and retrieval baselines;
* :mod:`~motionlab.evaluation.speed` -- generation latency and throughput, measured one way for every model;
* :mod:`~motionlab.evaluation.compare` -- every model side by side: quality, speed and size, per action family.

Names are imported lazily (``from motionlab.evaluation import fid`` loads only the metrics module).
"""

from __future__ import annotations

from motionlab._lazy import lazy_exports

_LAZY = {
    **{name: "metrics" for name in (
        "fid", "frechet_distance", "activation_statistics", "r_precision", "matching_score", "diversity",
        "multimodality", "mpjpe", "codebook_usage", "perplexity", "code_histogram", "foot_sliding",
        "euclidean_distance_matrix")},
    **{name: "captions" for name in ("bleu", "rouge_l", "cider", "bert_score", "caption_metrics",
                                      "tokenize_caption")},
    **{name: "evaluator" for name in ("Evaluator", "EvaluatorConfig", "TextMotionMatcher", "get_evaluator")},
    **{name: "protocol" for name in ("evaluate", "ProtocolOptions", "ProtocolResult", "PRESETS")},
    **{name: "baselines" for name in ("random_generator", "retrieval_generator")},
    "load_official_evaluator": "official",
    "train_evaluator": "train_evaluator",
    "generation_speed": "speed", "timed": "speed",
    **{name: "compare" for name in ("quality_values", "quality_table", "speed_table", "motion_families", "per_motion_matching",
                                    "generator_parameters")},
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
