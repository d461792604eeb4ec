"""motionlab.generators: text-to-motion models over motion tokens (one model family per module).

* :mod:`~motionlab.generators.t2m_gpt` -- the T2M-GPT transformer, KV-cache sampling;
* :mod:`~motionlab.generators.train_t2m_gpt` -- corruption, training, the cached model (:func:`get_t2m_gpt`);
* :mod:`~motionlab.generators.t2m_gpt_pipeline` -- captions to motions, baselines, evaluating runs;
* :mod:`~motionlab.generators.momask` -- MoMask's masked and residual transformers over RVQ tokens;
* :mod:`~motionlab.generators.commands` -- ``motionlab generate``.

Names are imported lazily, so importing one generator does not load the others.
"""

from __future__ import annotations

from motionlab._lazy import lazy_exports

_LAZY = {
    "T2MGPT": "t2m_gpt", "T2MGPTConfig": "t2m_gpt", "GeneratedTokens": "t2m_gpt", "KVCache": "t2m_gpt",
    "get_t2m_gpt": "train_t2m_gpt", "corrupt_tokens": "train_t2m_gpt", "T2MGPTPipeline": "t2m_gpt_pipeline",
    "GeneratedMotions": "t2m_gpt_pipeline", "RandomTokens": "t2m_gpt_pipeline", "evaluate_runs": "t2m_gpt_pipeline",
    "summarize_runs": "t2m_gpt_pipeline",
}
GENERATORS = ("t2m-gpt",)  # names `motionlab generate --model` accepts

__all__ = sorted([*_LAZY, "GENERATORS"])

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
