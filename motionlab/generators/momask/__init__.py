"""MoMask (Guo et al., CVPR 2024): masked and residual transformers over RVQ tokens.

* :mod:`~motionlab.generators.momask.masked_transformer` -- the base-layer masked transformer (mask schedule,
  BERT-style replace/remask, classifier-free guidance, MaskGIT decoding) and the length estimator;
* :mod:`~motionlab.generators.momask.train_masked` -- its recipe, training batches and the cached model
  (:func:`get_masked_transformer`);
* :mod:`~motionlab.generators.momask.residual_transformer` -- the residual transformer (RVQ layers 1..L-1,
  one pass per layer, tied prediction/embedding tables);
* :mod:`~motionlab.generators.momask.train_residual` -- its recipe, batches over ``(T', L)`` ids, loss and the
  cached model (:func:`get_residual_transformer`);
* :mod:`~motionlab.generators.momask.train_length` -- the length estimator's recipe and cached model
  (:func:`get_length_estimator`);
* :mod:`~motionlab.generators.momask.pipeline` -- captions in, motions out (:class:`MoMaskPipeline`,
  :func:`get_momask`);
* :mod:`~motionlab.generators.momask.edit` -- frame ranges to token spans, the edit result, the decoder's
  reach (temporal inpainting through ``MoMaskPipeline.edit``).

Names are imported lazily, so importing one part does not load the others.
"""

from __future__ import annotations

from motionlab._lazy import lazy_exports

_LAZY = {
    "MaskedTransformer": "masked_transformer", "MaskedTransformerConfig": "masked_transformer",
    "LengthEstimator": "masked_transformer", "LengthEstimatorConfig": "masked_transformer",
    "mask_for_training": "masked_transformer", "cosine_schedule": "masked_transformer",
    "MaskedTransformerRecipe": "train_masked", "MaskedTransformerRun": "train_masked",
    "get_masked_transformer": "train_masked",
    "ResidualTransformer": "residual_transformer", "ResidualTransformerConfig": "residual_transformer",
    "ResidualTransformerRecipe": "train_residual", "ResidualTokenSet": "train_residual",
    "ResidualBatches": "train_residual", "ResidualRun": "train_residual", "residual_loss": "train_residual",
    "get_residual_transformer": "train_residual",
    "LengthEstimatorRecipe": "train_length", "LengthEstimatorRun": "train_length",
    "get_length_estimator": "train_length",
    "EditedMotion": "edit", "parse_frame_range": "edit", "token_spans": "edit", "token_reach": "edit",
    "MoMaskPipeline": "pipeline", "get_momask": "pipeline", "momask_is_cached": "pipeline",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
