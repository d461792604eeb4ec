"""The MotionGPT model: a language model whose vocabulary holds motion words, trained on ``(prompt, answer)``.

:class:`MotionGPT` wraps a Hugging Face model (decoder-only Llama, or an encoder-decoder T5) with

* the chat framing of the backbone (SmolLM2-Instruct's ``<|im_start|>user ... <|im_start|>assistant``; a plain
  ``prompt\\n`` for other decoder-only tokenizers; encoder input / decoder target for T5);
* the loss on the answer tokens only (the prompt is read, never scored);
* an optional **restricted output vocabulary** (``restrict_vocab``): the softmax runs over the words the
  training answers use (motion words, caption words, digits; plus any word a scored target needs, e.g. a
  validation caption's) instead of all 49k BPE tokens.  The output layer
  of a 135M LM costs as much as its transformer blocks; scoring ~1k words instead makes CPU training several
  times faster, and generation is masked to the same words, so training and sampling agree;
* batched generation with a KV cache: greedy or top-k sampling, optionally constrained to motion words
  (text->motion tasks) with an exact token count (given lengths).

``config`` (:class:`MotionGPTConfig`) says which backbone and how it trains (full fine-tuning or LoRA).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from motionlab.errors import InputError
from motionlab.generators.motiongpt.backbone import parse_backbone
from motionlab.generators.motiongpt.vocab import MotionVocabulary, motion_token

__all__ = ["IGNORE", "MotionGPT", "MotionGPTConfig", "apply_lora", "collate_examples"]

IGNORE = -100  # label of a token that is not scored (prompt, padding)


@dataclass(frozen=True)
class MotionGPTConfig:
    """Which language model and how it learns motion.

    ``backbone``: see :mod:`~motionlab.generators.motiongpt.backbone`.  ``lora``: train low-rank adapters on the
    attention projections (rank ``lora_r``, scale ``lora_alpha / lora_r``, dropout ``lora_dropout``; the
    official option: r 8, alpha 16, dropout 0.05) plus the motion words' embedding rows, instead of every
    weight.  ``max_length``: prompt + answer tokens (the official 256).  ``restrict_vocab``: softmax over the
    training answers' words only (decoder-only backbones).  ``n_codes``: the tokenizer's codebook, filled in
    at training time.
    """

    backbone: str = "smollm2"
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_length: int = 256
    restrict_vocab: bool = True
    n_codes: int = 0

    def __post_init__(self):
        spec = parse_backbone(self.backbone)  # a bad name fails when the profile is built
        if self.lora and spec.family == "t5":
            raise InputError("MotionGPTConfig: lora=True is supported for the decoder-only backbones only")
        if self.lora and (self.lora_r < 1 or self.lora_alpha <= 0 or not 0 <= self.lora_dropout < 1):
            raise InputError(f"MotionGPTConfig: lora_r={self.lora_r}, lora_alpha={self.lora_alpha}, "
                             f"lora_dropout={self.lora_dropout}: expected r >= 1, alpha > 0, dropout in [0, 1)")
        if self.max_length < 16:
            raise InputError(f"MotionGPTConfig.max_length={self.max_length}: expected >= 16 tokens")


def apply_lora(lm, config: MotionGPTConfig):
    """Freeze ``lm`` and add LoRA adapters to its attention projections (the motion words' rows train as
    :class:`MotionGPT`'s own small parameters).  Returns the peft-wrapped model."""
    from peft import LoraConfig, get_peft_model

    peft_config = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], bias="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # peft asks transformers about a renamed flag
        return get_peft_model(lm, peft_config)


class MotionGPT(nn.Module):
    """A language model with motion words; see the module docstring.  ``allowed``: token ids the output
    softmax covers (None: the whole vocabulary)."""

    def __init__(self, lm, tokenizer, vocab: MotionVocabulary, config: MotionGPTConfig,
                 allowed: Sequence[int] | None = None):
        super().__init__()
        self.lm, self.tokenizer, self.vocab, self.config = lm, tokenizer, vocab, config
        self.decoder_only = not getattr(self._base().config, "is_encoder_decoder", False)
        n_rows = self._base().get_input_embeddings().weight.shape[0]
        allowed = None if allowed is None or not self.decoder_only else sorted({int(i) for i in allowed})
        if allowed is not None and (allowed[0] < 0 or allowed[-1] >= n_rows):
            raise InputError(f"allowed token ids must lie in [0, {n_rows})")
        self.register_buffer("allowed", torch.as_tensor(allowed if allowed else [], dtype=torch.long),
                             persistent=False)
        self.n_rows = n_rows
        # LoRA: the 49k-row table stays frozen and only the motion words' rows train, as parameters of their own
        # (an optimiser over the whole table would cost more than the truncated model's blocks)
        self.motion_rows = self.motion_head_rows = None
        if config.lora and self.decoder_only:
            base, first, size = self._base(), vocab.first_id, vocab.size
            inp, out = base.get_input_embeddings().weight, base.get_output_embeddings().weight  # (V, C) each
            self.motion_rows = nn.Parameter(inp.detach()[first:first + size].clone())  # (K + 3, C)
            if out is not inp:
                self.motion_head_rows = nn.Parameter(out.detach()[first:first + size].clone())
        self.user, self.assistant, self.stop = self._framing()

    # ---------------------------------------------------------------------------------------- structure
    def _base(self):
        return self.lm.get_base_model() if hasattr(self.lm, "get_base_model") else self.lm

    def _framing(self) -> tuple[str, str, str]:
        """``(user prefix, assistant prefix, stop word)`` around a prompt and after an answer."""
        tok = self.tokenizer
        if not self.decoder_only:
            return "", "", ""  # T5: the prompt is the encoder input, the tokenizer appends </s>
        if "<|im_start|>" in tok.get_vocab():  # SmolLM2-Instruct's chat format, without the system turn
            return "<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>"
        if tok.eos_token is None:
            raise InputError("the backbone's tokenizer has no end-of-sequence token")
        return "", "\n", tok.eos_token

    @property
    def device(self) -> torch.device:
        return self._base().get_input_embeddings().weight.device

    @property
    def restricted(self) -> bool:
        return self.allowed.numel() > 0

    def num_params(self, trainable: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable)

    @property
    def stop_ids(self) -> list[int]:
        """Token ids that end an answer: the framing's stop word and the tokenizer's eos."""
        ids = {self.tokenizer.eos_token_id}
        if self.stop:
            ids.add(self.tokenizer.convert_tokens_to_ids(self.stop))
        return sorted(i for i in ids if i is not None)

    # ------------------------------------------------------------------------------------------ encoding
    def encode(self, prompt: str, answer: str | None = None) -> tuple[list[int], list[int]]:
        """Token ids of a framed prompt and (when given) of its answer + stop word.  Motion words are whole
        tokens; the ids of prompt and answer are computed apart, so an answer's ids never depend on its prompt."""
        tok = self.tokenizer
        if not self.decoder_only:  # encoder input / decoder target, each ending with </s>
            p = _closed(tok(prompt).input_ids, tok.eos_token_id)
            return p, ([] if answer is None else _closed(tok(answer).input_ids, tok.eos_token_id))
        p = tok(self.user + prompt + self.assistant, add_special_tokens=False).input_ids
        if answer is None:
            return p, []
        return p, tok(answer + self.stop, add_special_tokens=False).input_ids

    def check_length(self, prompt_ids: Sequence[int], answer_ids: Sequence[int] = ()) -> None:
        n = len(prompt_ids) + len(answer_ids)
        if n > self.config.max_length:
            raise InputError(f"the prompt and answer take {n} tokens, more than max_length={self.config.max_length}: "
                             "shorten the instruction (or the motion)")

    # ------------------------------------------------------------------------------------------- training
    def forward(self, batch: dict) -> tuple[None, dict[str, torch.Tensor]]:
        """Answer-token cross-entropy (and accuracy) of a collated batch (:func:`collate_examples`)."""
        ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]  # (B, T) each
        if not self.decoder_only:
            out = self.lm(input_ids=ids, attention_mask=mask, labels=batch["decoder_labels"])
            logits, target = out.logits, batch["decoder_labels"]  # (B, L, V), (B, L)
            scored = target != IGNORE
            logits, target = logits[scored], target[scored]  # (N, V), (N,)
        else:
            hidden = self._hidden(ids, mask)  # (B, T, C)
            target = labels[:, 1:]  # position t predicts token t + 1
            scored = target != IGNORE  # (B, T-1)
            h = hidden[:, :-1][scored]  # (N, C): only answer positions reach the output layer
            target = target[scored]  # (N,)
            columns = None
            if self.restricted:  # the allowed words, plus any other word a target needs (a validation caption's)
                columns = torch.unique(torch.cat([self.allowed, target]))  # (A,) sorted token ids
                target = torch.searchsorted(columns, target)  # (N,) column of each target
            weight = self._head_rows(columns)  # (A or V, C)
            logits = h @ weight.T  # (N, A or V)
        loss = F.cross_entropy(logits.float(), target)
        accuracy = (logits.argmax(-1) == target).float().mean()
        return None, {"loss": loss, "accuracy": accuracy.detach()}

    def _hidden(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Last hidden states ``(B, T, C)``; with LoRA the motion words are embedded from ``motion_rows``."""
        base = self._base()
        if self.motion_rows is None:
            return base.model(input_ids=ids, attention_mask=mask).last_hidden_state
        first = self.vocab.first_id
        table = base.get_input_embeddings().weight  # (V, C), frozen
        emb = F.embedding(ids.clamp(max=first - 1), table)  # (B, T, C); motion positions replaced below
        motion = self.motion_rows[(ids - first).clamp(min=0)]  # (B, T, C)
        emb = torch.where((ids >= first)[..., None], motion, emb)
        return base.model(inputs_embeds=emb, attention_mask=mask).last_hidden_state

    def _head_rows(self, columns: torch.Tensor | None) -> torch.Tensor:
        """Output-layer rows of the token ids ``columns`` (sorted; None: every id), ``(A, C)``."""
        weight = self._base().get_output_embeddings().weight  # (V, C)
        rows = self.motion_head_rows if self.motion_head_rows is not None else self.motion_rows
        if rows is None:
            return weight if columns is None else weight[columns]
        first = self.vocab.first_id
        if columns is None:
            columns = torch.arange(weight.shape[0], device=weight.device)
        text, motion = columns[columns < first], columns[columns >= first]  # motion ids are the last ones
        return torch.cat([weight[text], rows[motion - first]])

    @torch.no_grad()
    def sync_motion_rows(self) -> None:
        """Write the trained motion rows (LoRA) into the model's own tables: generation and saving use those."""
        base, first, size = self._base(), self.vocab.first_id, self.vocab.size
        if self.motion_rows is not None:
            base.get_input_embeddings().weight[first:first + size] = self.motion_rows
        if self.motion_head_rows is not None:
            base.get_output_embeddings().weight[first:first + size] = self.motion_head_rows

    # ----------------------------------------------------------------------------------------- generation
    def _output_mask(self, motion: bool, text_only: bool = False) -> torch.Tensor:
        """(V,) additive mask: 0 for the words that may be written, -inf elsewhere."""
        mask = torch.full((self.n_rows,), float("-inf"), device=self.device)
        if motion:  # codes and the end-of-motion word only
            mask[self.vocab.first_id: self.vocab.first_id + self.vocab.n_codes] = 0.0
            mask[self.vocab.token_id(self.vocab.end)] = 0.0
        elif self.restricted:
            mask[self.allowed] = 0.0
        else:
            mask.zero_()
        if text_only:  # a caption: no motion words
            mask[self.vocab.first_id: self.vocab.first_id + self.vocab.size] = float("-inf")
        return mask

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], *, motion: bool = False, text_only: bool = False,
                 n_codes: Sequence[int] | None = None,
                 max_new_tokens: int = 64, sample: bool = False, top_k: int | None = None,
                 temperature: float = 1.0, generator: torch.Generator | None = None) -> list[str]:
        """Answers (text) to framed ``prompts``, one batch with a KV cache.

        ``motion=True`` starts each answer with the start-of-motion word and lets only codes and the end word
        be written, at least one code (the answer then always parses); ``n_codes`` (with ``motion``) forces
        exactly that many codes per prompt.  ``text_only=True`` forbids motion words (captions).  A text answer
        is never empty (no stop word first).  ``sample=False`` is greedy; else top-``k`` sampling at
        ``temperature`` from ``generator``.  The returned text starts with the start word when ``motion`` is set.
        """
        if not prompts:
            return []
        self.sync_motion_rows()
        if motion and text_only:
            raise InputError("motion=True and text_only=True exclude each other")
        if n_codes is not None and (not motion or len(n_codes) != len(prompts)):
            raise InputError("n_codes needs motion=True and one count per prompt")
        if temperature <= 0 or (top_k is not None and top_k < 1):
            raise InputError(f"temperature={temperature}, top_k={top_k}: expected temperature > 0 and top_k >= 1")
        start_word = motion_token(self.vocab.start) if motion else ""
        rows = []
        for p in prompts:
            ids, _ = self.encode(p)
            if motion and self.decoder_only:
                ids = ids + [self.vocab.token_id(self.vocab.start)]
            self.check_length(ids)
            rows.append(ids)
        if n_codes is not None:
            max_new_tokens = max(int(max(n_codes)) + 1, 1)
        out_mask = self._output_mask(motion, text_only)  # (V,)
        end_id, stop = self.vocab.token_id(self.vocab.end), torch.as_tensor(self.stop_ids, device=self.device)
        # a motion answer may write ~500 of ~50k ids: score and sample among those only (the rest are -inf)
        writable = torch.nonzero(out_mask == 0).flatten() if motion else None  # (A,)
        if self.decoder_only:
            step = self._decoder_only_steps(rows, writable)
        else:
            step = self._seq2seq_steps(rows, motion)
        B = len(rows)
        written = torch.zeros(B, dtype=torch.long, device=self.device)  # codes written per row
        done = torch.zeros(B, dtype=torch.bool, device=self.device)
        forced = None if n_codes is None else torch.as_tensor(list(n_codes), device=self.device)
        out: list[list[int]] = [[] for _ in range(B)]
        logits = next(step)  # (B, V) scores of the first answer token
        for t in range(max_new_tokens):
            logits = logits.float() + out_mask[: logits.shape[-1]]
            if motion:  # at least one code: an empty motion has nothing to decode
                logits[:, end_id] = torch.where(written == 0, float("-inf"), logits[:, end_id])
            elif t == 0:  # first token of a text answer: no empty answers
                logits[:, stop] = float("-inf")
            if forced is not None:  # end exactly after n codes: no end before, nothing but end after
                logits[:, end_id] = torch.where(written < forced, float("-inf"), logits[:, end_id])
                full = written >= forced
                logits[full] = float("-inf")
                logits[full, end_id] = 0.0
            if writable is None:
                nxt = self._pick(logits, sample, top_k, temperature, generator)  # (B,)
            else:
                nxt = writable[self._pick(logits[:, writable], sample, top_k, temperature, generator)]
            for i in torch.nonzero(~done).flatten().tolist():
                out[i].append(int(nxt[i]))
            written += (~done & (nxt != end_id)).long()
            done |= (nxt == end_id) | torch.isin(nxt, stop)
            if bool(done.all()):
                break
            logits = step.send(nxt)
        step.close()
        texts = [self.tokenizer.decode([i for i in ids if i not in self.stop_ids], skip_special_tokens=False)
                 for ids in out]
        return [start_word + text.strip() if motion else text.strip() for text in texts]

    @staticmethod
    def _pick(logits, sample, top_k, temperature, generator) -> torch.Tensor:
        """Next token per row: argmax, or top-k sampling at ``temperature``."""
        if not sample:
            return logits.argmax(-1)
        logits = logits / temperature
        if top_k is not None and top_k < logits.shape[-1]:
            kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1)
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = logits.softmax(-1)  # (B, V)
        return torch.multinomial(probs.cpu(), 1, generator=generator).flatten().to(logits.device)

    def _decoder_only_steps(self, rows: list[list[int]], columns: torch.Tensor | None = None):
        """Coroutine: yields next-token logits ``(B, V)``, receives the chosen tokens ``(B,)``.  Prompts are
        left-padded; positions count real tokens only.  With ``columns`` (the ids that may be written) only
        those rows of the output layer are computed and the rest score -inf (a motion answer needs ~500 of
        SmolLM2's ~50k rows)."""
        dev = self.device
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=dev)  # (B, T)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=dev)  # (B, T)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)  # (B, T)
        if columns is None:
            lm, first = self.lm, {"logits_to_keep": 1}
        else:
            lm, first = self._base().model, {}  # the transformer without its output layer
            head = self._head_rows(columns)  # (A, C)
            n_vocab = self._base().get_output_embeddings().weight.shape[0]

        def scores(out) -> torch.Tensor:  # (B, V)
            if columns is None:
                return out.logits[:, -1]
            logits = torch.full((len(rows), n_vocab), float("-inf"), device=dev)
            logits[:, columns] = out.last_hidden_state[:, -1] @ head.T  # (B, A)
            return logits
        out = lm(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, **first)
        while True:
            nxt = yield scores(out)  # (B, V)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)  # (B, T + 1)
            pos = pos[:, -1:] + 1  # (B, 1)
            out = lm(input_ids=nxt[:, None], attention_mask=mask, position_ids=pos, use_cache=True,
                     **_cache_arg(lm, out))

    def _seq2seq_steps(self, rows: list[list[int]], motion: bool):
        """The same coroutine for an encoder-decoder: encode once, decode with the cache."""
        lm, dev = self.lm, self.device
        pad = self.tokenizer.pad_token_id
        width = max(len(r) for r in rows)
        ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], device=dev)  # (B, S)
        mask = (torch.arange(width, device=dev)[None] < torch.tensor([len(r) for r in rows], device=dev)[:, None])
        enc = lm.get_encoder()(input_ids=ids, attention_mask=mask.long())
        first = [lm.config.decoder_start_token_id] + ([self.vocab.token_id(self.vocab.start)] if motion else [])
        dec = torch.tensor([first] * len(rows), device=dev)  # (B, 1 or 2)
        out = lm(encoder_outputs=enc, attention_mask=mask.long(), decoder_input_ids=dec, use_cache=True)
        while True:
            nxt = yield out.logits[:, -1]
            out = lm(encoder_outputs=enc, attention_mask=mask.long(), decoder_input_ids=nxt[:, None],
                     use_cache=True, **_cache_arg(lm, out))

    # ------------------------------------------------------------------------------------------- saving
    def save(self, folder: str | Path) -> Path:
        """Weights (safetensors, LoRA merged in), tokenizer and ``motiongpt.json`` into ``folder``."""
        from motionlab.generators.motiongpt.backbone import quiet_transformers

        folder = Path(folder)
        self.sync_motion_rows()
        lm = self.lm.merge_and_unload() if hasattr(self.lm, "merge_and_unload") else self.lm
        with quiet_transformers():
            lm.save_pretrained(folder / "lm")
            self.tokenizer.save_pretrained(folder / "lm")
        info = {"config": asdict(self.config), "vocab": self.vocab.to_json(), "allowed": self.allowed.tolist()}
        (folder / "motiongpt.json").write_text(json.dumps(info))
        self.lm = lm
        return folder

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu") -> MotionGPT:
        """A model written by :meth:`save`."""
        from transformers import (
            AutoModelForCausalLM,
            AutoModelForSeq2SeqLM,
            AutoTokenizer,
        )

        from motionlab.generators.motiongpt.backbone import quiet_transformers

        folder = Path(folder)
        info = json.loads((folder / "motiongpt.json").read_text())
        config = MotionGPTConfig(**info["config"])
        auto = AutoModelForCausalLM if parse_backbone(config.backbone).decoder_only else AutoModelForSeq2SeqLM
        with quiet_transformers():
            lm = auto.from_pretrained(folder / "lm", dtype=torch.float32, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(folder / "lm", local_files_only=True)
        vocab = MotionVocabulary(**info["vocab"])
        return cls(lm, tokenizer, vocab, config, info["allowed"] or None).to(device).eval()


def _closed(ids: list[int], eos: int) -> list[int]:
    """``ids`` ending with ``eos`` (T5's tokenizer appends it; others may not)."""
    return ids if ids and ids[-1] == eos else ids + [eos]


def _cache_arg(lm, out) -> dict:
    """The KV cache of ``out`` as the keyword ``lm.forward`` takes: ``cache`` (transformers >= 5.2x) or
    ``past_key_values`` (older releases)."""
    import inspect

    name = "cache" if "cache" in inspect.signature(type(lm).forward).parameters else "past_key_values"
    value = getattr(out, "cache", None)
    return {name: value if value is not None else out.past_key_values}


def collate_examples(items: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Encoded examples (``prompt``, ``answer`` id lists) -> padded tensors.

    Decoder-only: ``input_ids`` = prompt + answer (right-padded), ``labels`` = the answer ids at their
    positions, :data:`IGNORE` elsewhere.  Encoder-decoder items (``seq2seq``): ``input_ids`` = the prompt,
    ``decoder_labels`` = the answer.
    """
    B = len(items)
    if items[0].get("seq2seq"):
        width = max(len(it["prompt"]) for it in items)
        out_w = max(len(it["answer"]) for it in items)
        ids = torch.full((B, width), pad_id, dtype=torch.long)
        mask = torch.zeros(B, width, dtype=torch.long)
        dec = torch.full((B, out_w), IGNORE, dtype=torch.long)
        for i, it in enumerate(items):
            ids[i, :len(it["prompt"])] = torch.as_tensor(it["prompt"])
            mask[i, :len(it["prompt"])] = 1
            dec[i, :len(it["answer"])] = torch.as_tensor(it["answer"])
        return {"input_ids": ids, "attention_mask": mask, "labels": dec, "decoder_labels": dec}
    width = max(len(it["prompt"]) + len(it["answer"]) for it in items)
    ids = torch.full((B, width), pad_id, dtype=torch.long)
    mask = torch.zeros(B, width, dtype=torch.long)
    labels = torch.full((B, width), IGNORE, dtype=torch.long)
    for i, it in enumerate(items):
        p, a = it["prompt"], it["answer"]
        ids[i, :len(p) + len(a)] = torch.as_tensor(p + a)
        mask[i, :len(p) + len(a)] = 1
        labels[i, len(p):len(p) + len(a)] = torch.as_tensor(a)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
