"""Motion tokenizers: vector quantizers, T2M-GPT's conv VQ-VAE and MoMask's residual VQ (chapters 3, 4, 6).

* :mod:`~motionlab.tokenizers.quantizers` -- :class:`VectorQuantizer` (plain / EMA / reset / EMA + reset,
  plus plain + running-count reset).
* :mod:`~motionlab.tokenizers.residual` -- :class:`ResidualQuantizer`, MoMask's stack of them (chapter 6).
* :mod:`~motionlab.tokenizers.vqvae` -- :class:`VQVAEConfig`, :class:`VQVAE` (encode / decode / forward;
  residual when ``n_quantizers > 1``).
* :mod:`~motionlab.tokenizers.train` -- training, and the cached :func:`get_tokenizer` later chapters use.
* :mod:`~motionlab.tokenizers.artifacts` -- token ids of whole splits (:func:`tokenize_split`),
  reconstructions and reconstruction metrics.
* :mod:`~motionlab.tokenizers.experiments` -- the ablation sweeps of chapters 3 and 4.
"""

from motionlab.tokenizers.artifacts import (
    TokenizedSplit,
    decode_tokens,
    evaluate_reconstruction,
    evaluate_reconstruction_official,
    reconstruct_motions,
    tokenize_motions,
    tokenize_split,
)
from motionlab.tokenizers.quantizers import QuantizerOutput, VectorQuantizer
from motionlab.tokenizers.residual import ResidualQuantizer
from motionlab.tokenizers.train import TokenizerRecipe, TokenizerRun, get_tokenizer, get_tokenizer_run
from motionlab.tokenizers.vqvae import VQVAE, VQVAEConfig, crop_to_unit

__all__ = [
    "VQVAE", "VQVAEConfig", "VectorQuantizer", "QuantizerOutput", "ResidualQuantizer", "TokenizerRecipe",
    "TokenizerRun", "TokenizedSplit",
    "crop_to_unit", "decode_tokens", "evaluate_reconstruction",
    "evaluate_reconstruction_official", "get_tokenizer", "get_tokenizer_run",
    "reconstruct_motions", "tokenize_motions", "tokenize_split",
]
