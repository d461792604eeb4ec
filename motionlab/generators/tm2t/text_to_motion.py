"""TM2T's text-to-motion model: a GRU that writes motion tokens while attending to the words (Guo et al. 2022).

The model of the paper's main table (official ``Seq2SeqText2MotModel`` with ``MotionEarlyAttDecoder``):

    text encoder   e_i = Linear(E_word[w_i]),  (h_1..h_n), (h→, h←) = biGRU(e),  f_i = [h→_i, h←_i]  (B, n, 2H)
    initial state  s_0 = Linear([h→_n, h←_1])                                            # (B, Hm)
    each step t    a_t = softmax_i( (W_k f_i) · (W_q s_{t-1}) / sqrt(Hm) ),  c_t = Σ_i a_ti W_v f_i
                   x_t = LeakyReLU(LayerNorm(Linear([c_t, E_mot[m_{t-1}]])))             # "early" attention
                   s_t = GRUCell(x_t, s_{t-1}),   p(m_t | m_<t, text) = softmax(s_t E_mot^T)  # tied head

The motion vocabulary is the codes plus start, end and pad (as the captioner's source).  Training is
teacher-forced with a ratio that decays from 0.9 to 0.1: one coin per batch decides whether the decoder reads
the true previous tokens or its own argmax predictions.  Generation (:meth:`TextToMotion.generate`) samples
from the top-k (official evaluation: 100) until the most likely token is end (at most 49 tokens) and returns
the attention weights for plotting; :meth:`TextToMotion.gumbel_sample` draws hard Gumbel-softmax one-hots for
inverse alignment (the gradient passes the straight-through one-hot into the captioner).

The attention is the official single-head ``AttLayer`` written with torch ops (its weights are an output).
Word embeddings are learned here (``word_dim`` 300, GloVe's width); pass GloVe vectors to
:meth:`TextToMotion.load_word_vectors` to use them frozen, as the official model does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import filter_top_k
from motionlab.generators.tm2t.vocab import PAD, MotionVocabulary

__all__ = [
    "OFFICIAL_MAX_TOKENS",
    "OFFICIAL_TOP_K",
    "GeneratedCodes",
    "TextToMotion",
    "TextToMotionConfig",
    "teacher_forcing_ratio",
]

OFFICIAL_TOP_K, OFFICIAL_MAX_TOKENS = 100, 49  # motion_loaders/t2m_seq2seq_model_dataset.py


@dataclass(frozen=True)
class TextToMotionConfig(MotionVocabulary):
    """Sizes of the GRU model.  Defaults: the official HumanML3D model (``T2M_Seq2Seq_NML1_Ear_SME0_N``);
    ``vocab_size`` and ``n_codes`` are set from the caption vocabulary and the tokenizer."""

    vocab_size: int = 4000  # caption words, the 4 specials included
    n_codes: int = 1024
    word_dim: int = 300  # word-vector size (GloVe)
    text_hidden: int = 512  # per direction of the bi-GRU
    motion_hidden: int = 1024
    n_layers: int = 1  # stacked GRU cells of the decoder
    max_tokens: int = 55  # training positions: start + codes + end (official max_motion_len)


    def __post_init__(self):
        for name in ("n_codes", "word_dim", "text_hidden", "motion_hidden", "n_layers"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"TextToMotionConfig.{name}={getattr(self, name)!r}: expected a positive integer")
        if self.vocab_size < 5:
            raise InputError(f"TextToMotionConfig.vocab_size={self.vocab_size}: expected the 4 specials + words")
        if self.max_tokens < 3:
            raise InputError(f"TextToMotionConfig.max_tokens={self.max_tokens}: expected >= 3 (start, code, end)")


def teacher_forcing_ratio(step: int, decay_steps: int, start: float = 0.9, end: float = 0.1) -> float:
    """Linear decay ``start -> end`` over ``decay_steps``, then constant (official ``schedule_tf``: 0.9 -> 0.1
    over the first 35 epochs)."""
    if decay_steps <= 0:
        return end
    return start - (start - end) * min(step, decay_steps) / decay_steps


@dataclass
class GeneratedCodes:
    """What :meth:`TextToMotion.generate` returns: ``codes[i]`` the code ids ``(n_i,)`` of caption i and
    ``attention[i]`` its attention over the words ``(n_i, L_i)`` (one row per written token; L_i words
    including sos/eos)."""

    codes: list[np.ndarray]
    attention: list[np.ndarray]


def _init(module: nn.Module) -> None:
    """Official ``init_weight``: Xavier-normal linear weights, zero biases (embeddings keep N(0, 1))."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_normal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class TextToMotion(nn.Module):
    """Words -> motion tokens.  ``forward(words, word_lengths, tokens, tf_ratio)`` -> ``(logits, losses)``."""

    Config = TextToMotionConfig
    config_class = TextToMotionConfig

    def __init__(self, config: TextToMotionConfig):
        super().__init__()
        self.config = cfg = config
        H, Hm = cfg.text_hidden, cfg.motion_hidden
        self.word_emb = nn.Embedding(cfg.vocab_size, cfg.word_dim, padding_idx=PAD)  # GloVe's role
        self.text_in = nn.Linear(cfg.word_dim, H)
        self.text_gru = nn.GRU(H, H, batch_first=True, bidirectional=True)
        self.h0 = nn.Parameter(torch.randn(2, 1, H))  # learned initial state of both directions
        self.z2init = nn.Linear(2 * H, Hm * cfg.n_layers)
        self.tok_emb = nn.Embedding(cfg.motion_vocab, Hm)
        self.att_q = nn.Linear(Hm, Hm)
        self.att_k = nn.Linear(2 * H, Hm, bias=False)
        self.att_v = nn.Linear(2 * H, Hm)
        self.att_in = nn.Sequential(nn.Linear(2 * Hm, Hm), nn.LayerNorm(Hm), nn.LeakyReLU(0.2))
        self.cells = nn.ModuleList(nn.GRUCell(Hm, Hm) for _ in range(cfg.n_layers))
        self.head = nn.Linear(Hm, cfg.motion_vocab, bias=False)
        self.apply(_init)
        self.head.weight = self.tok_emb.weight  # tied: p(m) = softmax(s E_mot^T)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def load_word_vectors(self, vectors: torch.Tensor, freeze: bool = True) -> None:
        """Use pre-trained word vectors ``(vocab_size, word_dim)`` (GloVe, as the official model), frozen."""
        if tuple(vectors.shape) != tuple(self.word_emb.weight.shape):
            raise InputError(f"word vectors of shape {tuple(vectors.shape)}: expected "
                             f"{tuple(self.word_emb.weight.shape)}")
        with torch.no_grad():
            self.word_emb.weight.copy_(vectors)
        self.word_emb.weight.requires_grad_(not freeze)

    # ---------------------------------------------------------------------------------------------- text
    def encode_text(self, words: torch.Tensor, word_lengths) -> tuple[torch.Tensor, torch.Tensor, list]:
        """``words (B, L)`` ids (``[sos .. eos, pad]``) -> word features ``(B, L, 2H)``, padding mask
        ``(B, L)`` and the decoder's initial states (``n_layers`` x ``(B, Hm)``)."""
        cfg = self.config
        if words.ndim != 2 or words.shape[1] < 1:
            raise InputError(f"words have shape {tuple(words.shape)}: expected (B, L)")
        if int(words.min()) < 0 or int(words.max()) >= cfg.vocab_size:
            bad = int(words.max()) if int(words.max()) >= cfg.vocab_size else int(words.min())
            raise InputError(f"word id {bad} is outside the caption vocabulary [0, {cfg.vocab_size})")
        B, L = words.shape
        n = torch.as_tensor(word_lengths).long().reshape(-1).cpu()
        if n.shape[0] != B or int(n.min()) < 1 or int(n.max()) > L:
            raise InputError(f"word_lengths must be {B} lengths in 1..{L}, got {n.tolist()}")
        e = self.text_in(self.word_emb(words))  # (B, L, H)
        packed = pack_padded_sequence(e, n, batch_first=True, enforce_sorted=False)
        out, last = self.text_gru(packed, self.h0.expand(-1, B, -1).contiguous())  # last: (2, B, H)
        feats, _ = pad_packed_sequence(out, batch_first=True, total_length=L)  # (B, L, 2H), aligned per word
        init = self.z2init(torch.cat([last[0], last[1]], dim=-1))  # (B, Hm·n_layers) from [h→_n, h←_1]
        pad = torch.arange(L, device=words.device) >= n.to(words.device)[:, None]  # (B, L)
        return feats, pad, list(init.split(cfg.motion_hidden, dim=-1))

    def step(self, feats: torch.Tensor, pad: torch.Tensor, prev: torch.Tensor, hidden: list
             ) -> tuple[torch.Tensor, list, torch.Tensor]:
        """One decoder step: previous token ids ``(B,)`` -> next-token logits ``(B, V)``, new states and the
        attention weights over the words ``(B, L)`` (early attention: the query is the previous state)."""
        q = self.att_q(hidden[-1])  # (B, Hm)
        k, v = self.att_k(feats), self.att_v(feats)  # (B, L, Hm)
        score = (k @ q[..., None]).squeeze(-1) / math.sqrt(self.config.motion_hidden)  # (B, L)  k_i·q / sqrt(Hm)
        a = score.masked_fill(pad, float("-inf")).softmax(-1)  # (B, L) over the real words only
        c = (a[..., None] * v).sum(1)  # (B, Hm)  c = Σ_i a_i v_i
        x = self.att_in(torch.cat([c, self.tok_emb(prev)], dim=-1))  # (B, Hm)
        new = []
        for cell, h in zip(self.cells, hidden):
            x = cell(x, h)  # (B, Hm)
            new.append(x)
        return self.head(x), new, a  # (B, V)

    # ------------------------------------------------------------------------------------------ training
    def forward(self, words: torch.Tensor, word_lengths, tokens: torch.Tensor, tf_ratio: float = 1.0,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits ``(B, T, V)`` for ``tokens (B, T+1)`` = ``[start, c_1 .. c_n, end, pad ...]`` (predicting
        ``tokens[:, 1:]``) and ``{"loss", "accuracy"}`` over the non-pad targets.

        With probability ``tf_ratio`` (one coin per batch, as the official code) the decoder reads the true
        previous tokens; otherwise it reads its own argmax predictions.
        """
        cfg = self.config
        if tokens.ndim != 2 or tokens.shape[0] != words.shape[0] or tokens.shape[1] < 2:
            raise InputError(f"motion tokens have shape {tuple(tokens.shape)}: expected (B={words.shape[0]}, T >= 2)")
        if int(tokens.min()) < 0 or int(tokens.max()) >= cfg.motion_vocab:
            raise InputError(f"motion token id {int(tokens.max())} is outside the motion vocabulary "
                             f"[0, {cfg.motion_vocab}) (codes + start, end, pad)")
        feats, pad, hidden = self.encode_text(words, word_lengths)
        coin = float(torch.rand((), generator=generator)) if generator is not None else float(torch.rand(()))
        teacher = coin < tf_ratio
        prev, logits = tokens[:, 0], []
        for t in range(tokens.shape[1] - 1):
            out, hidden, _ = self.step(feats, pad, prev, hidden)  # (B, V)
            logits.append(out)
            prev = tokens[:, t + 1] if teacher else out.argmax(-1).detach()
        logits = torch.stack(logits, dim=1)  # (B, T, V)
        target = tokens[:, 1:]  # (B, T)
        # L = -(1/N) sum_t log p(m_t | m_<t, text) over the N non-pad targets (end included)
        loss = F.cross_entropy(logits.transpose(1, 2).float(), target, ignore_index=cfg.pad_id)
        acc = (logits.argmax(-1) == target)[target != cfg.pad_id].float().mean().detach()
        return logits, {"loss": loss, "accuracy": acc}

    def gumbel_sample(self, words: torch.Tensor, word_lengths, *, max_tokens: int = 55, tau: float = 1.0,
                      top_k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable motion tokens for inverse alignment (official ``gumbel_sample``).

        Each step draws a hard Gumbel-softmax sample ``y = onehot(argmax(log π + g))`` whose gradient is
        that of ``softmax((log π + g) / τ)`` (straight-through), with start/end/pad excluded; the next input
        is its argmax.  A sequence ends where its most likely token is end (at most ``max_tokens``).  Returns
        one-hot rows ``(B, S, V)`` = ``[start, y_1 .. y_n, end]`` (pad rows after) and the lengths
        ``(B,)`` = n + 2: the captioner's source.  (The official source stops after y_n, without end; the end
        row here makes it look like the captioner's training input.)
        """
        cfg, V = self.config, self.config.motion_vocab
        feats, pad, hidden = self.encode_text(words, word_lengths)
        B, dev = words.shape[0], words.device
        prev = torch.full((B,), cfg.start_id, dtype=torch.long, device=dev)
        n = torch.full((B,), int(max_tokens), dtype=torch.long, device=dev)  # tokens before end
        rows = []
        for t in range(int(max_tokens)):
            logits, hidden, _ = self.step(feats, pad, prev, hidden)  # (B, V)
            ends = (logits.argmax(-1) == cfg.end_id) & (n == max_tokens)
            n = torch.where(ends, torch.full_like(n, t), n)
            if bool((n < max_tokens).all()):
                break
            logits = filter_top_k(logits, top_k).clone()
            logits[:, [cfg.start_id, cfg.end_id, cfg.pad_id]] = float("-inf")
            y = F.gumbel_softmax(logits, tau=tau, hard=True)  # (B, V) one-hot forward, soft gradient
            rows.append(y)
            prev = y.argmax(-1).detach()
        S = len(rows) + 2
        eye = torch.eye(V, device=dev, dtype=feats.dtype)
        start = eye[cfg.start_id].expand(B, 1, V)
        body = torch.stack(rows, 1) if rows else eye[cfg.pad_id].expand(B, 0, V)  # (B, S-2, V)
        seq = torch.cat([start, body, eye[cfg.pad_id].expand(B, 1, V)], dim=1)  # (B, S, V)
        is_end = torch.arange(S, device=dev) == (n + 1)[:, None]  # (B, S) the row after the last token
        seq = torch.where(is_end[..., None], eye[cfg.end_id].expand(B, S, V), seq)
        return seq, n + 2

    # ---------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(self, words: torch.Tensor, word_lengths, *, top_k: int | None = OFFICIAL_TOP_K,
                 max_tokens: int = OFFICIAL_MAX_TOKENS, lengths=None, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> GeneratedCodes:
        """Code sequences for captions, as the official ``sample_batch``: each step a motion ends when its
        most likely token is end (not before its first token), otherwise a code is drawn from the ``top_k``
        most likely ones (start/end/pad excluded) at ``temperature``.  ``lengths (B,)`` in tokens force each
        motion's length instead (the end rule is then ignored).  ``top_k=1`` is greedy."""
        cfg = self.config
        if temperature <= 0:
            raise InputError(f"temperature={temperature}: expected > 0")
        if int(max_tokens) < 1:
            raise InputError(f"max_tokens={max_tokens}: expected >= 1")
        was_training = self.training
        self.eval()
        try:
            feats, pad, hidden = self.encode_text(words, word_lengths)
            B, dev = words.shape[0], words.device
            forced = None
            if lengths is not None:
                forced = torch.as_tensor(lengths, device=dev).long().reshape(-1)
                if forced.shape[0] != B or int(forced.min()) < 1 or int(forced.max()) > int(max_tokens):
                    raise InputError(f"lengths must be {B} token counts in 1..{max_tokens}, got {forced.tolist()}")
                max_tokens = int(forced.max())
            n = forced if forced is not None else torch.full((B,), int(max_tokens), dtype=torch.long, device=dev)
            prev = torch.full((B,), cfg.start_id, dtype=torch.long, device=dev)
            codes, attn = [], []
            for t in range(int(max_tokens)):
                logits, hidden, a = self.step(feats, pad, prev, hidden)  # (B, V), (B, L)
                logits = logits.float() / temperature
                if forced is None and t > 0:
                    n = torch.where((logits.argmax(-1) == cfg.end_id) & (n == max_tokens), torch.full_like(n, t), n)
                if bool((n <= t).all()):
                    break
                logits[:, cfg.n_codes:] = float("-inf")  # codes only
                probs = filter_top_k(logits, top_k).softmax(-1)
                gen = generator if generator is not None and generator.device == probs.device else None
                prev = torch.multinomial(probs, 1, generator=gen).squeeze(1)  # (B,)
                codes.append(prev)
                attn.append(a)
            ids = torch.stack(codes, 1).cpu().numpy()  # (B, T)
            weights = torch.stack(attn, 1).float().cpu().numpy()  # (B, T, L)
            L = (~pad).sum(1).cpu().numpy()
            k = n.cpu().numpy()
            return GeneratedCodes([ids[i, :k[i]] for i in range(B)], [weights[i, :k[i], :L[i]] for i in range(B)])
        finally:
            self.train(was_training)
