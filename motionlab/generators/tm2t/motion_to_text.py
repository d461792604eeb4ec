"""TM2T's captioner: a transformer that translates motion tokens into words (Guo et al., ECCV 2022).

Motion tokens are treated as a foreign language.  The source vocabulary is the tokenizer's codes plus start,
end and pad; the target vocabulary is the caption words (:class:`~motionlab.generators.tm2t.vocab.
CaptionVocabulary`).  As the official ``TransformerV2`` (``networks/transformer.py``):

    x = sqrt(d)·E_src[m] + PE,   encoder: post-LN layers (ReLU FFN), keys past the motion's end hidden
    y = sqrt(d)·E_trg[w] + PE,   decoder: causal self-attention + cross-attention to the encoder output
    p(w_t | w_<t, m) = softmax(h_t E_trg^T)           # the output projection IS the target embedding

trained with teacher forcing: L = mean over real words of -log p(w_t | w_<t, m).  The layers are torch's
``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer`` (same parameters as the official hand-written
ones); the source may also be one-hot rows (``(B, S, V_src)``, embedded as ``one_hot @ E_src``), which is how
inverse alignment feeds Gumbel-softmax samples through the frozen captioner.

Generation lives beside the model: :func:`beam_search` (beam 2, at most 30 positions, length penalty 0.7, as
the official ``Translator``) and :meth:`MotionToText.sample` (top-k sampling, the README's ``top_k 3``).

Paper size (HumanML3D): 4 + 4 layers, width 512, 8 heads, FFN 2048, dropout 0.1, 100 source and 50 target
positions: 1027·512 + V·512 + 4·3,152,384 + 4·4,204,032 = 29,951,488 + 512·V parameters for V caption words
(the official GloVe list + pad), the same count as the official model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from motionlab.errors import InputError
from motionlab.generators.t2m_gpt import filter_top_k, sinusoidal_table
from motionlab.generators.tm2t.vocab import EOS, PAD, SOS, MotionVocabulary

__all__ = [
    "OFFICIAL_ALPHA",
    "OFFICIAL_BEAM",
    "OFFICIAL_MAX_LEN",
    "MotionToText",
    "MotionToTextConfig",
    "beam_search",
]

OFFICIAL_BEAM, OFFICIAL_MAX_LEN, OFFICIAL_ALPHA = 2, 30, 0.7  # final_evaluations_m2t.py / Translator


@dataclass(frozen=True)
class MotionToTextConfig(MotionVocabulary):
    """Sizes of the captioner.  Defaults: the official HumanML3D model (``M2T_EL4_DL4_NH8_PS``, TM2T's
    1024-code tokenizer); ``n_codes`` and ``vocab_size`` are set from the tokenizer and the vocabulary."""

    n_codes: int = 1024
    vocab_size: int = 4000  # caption words, the 4 specials included
    width: int = 512  # d_model = word-vector size
    n_enc_layers: int = 4  # KIT: 3
    n_dec_layers: int = 4  # KIT: 3
    n_heads: int = 8
    ff: int = 2048  # d_inner
    dropout: float = 0.1
    max_tokens: int = 100  # source positions: start + codes + end
    max_words: int = 50  # target positions: sos + words + eos


    def __post_init__(self):
        for name in ("n_codes", "width", "n_enc_layers", "n_dec_layers", "n_heads", "ff", "max_tokens",
                     "max_words"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"MotionToTextConfig.{name}={getattr(self, name)!r}: expected a positive integer")
        if self.vocab_size < 5:
            raise InputError(f"MotionToTextConfig.vocab_size={self.vocab_size}: expected the 4 special words + words")
        if self.width % self.n_heads:
            raise InputError(f"MotionToTextConfig.width={self.width}: expected a multiple of n_heads={self.n_heads}")
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(f"MotionToTextConfig.dropout={self.dropout}: expected a probability in [0, 1)")


class MotionToText(nn.Module):
    """Motion tokens -> caption words.  ``forward(src, src_lengths, words)`` -> ``(logits, losses)``."""

    Config = MotionToTextConfig
    config_class = MotionToTextConfig

    def __init__(self, config: MotionToTextConfig):
        super().__init__()
        self.config = cfg = config
        self.src_emb = nn.Embedding(cfg.motion_vocab, cfg.width, padding_idx=cfg.pad_id)
        self.trg_emb = nn.Embedding(cfg.vocab_size, cfg.width, padding_idx=PAD)
        self.register_buffer("pos", sinusoidal_table(max(cfg.max_tokens, cfg.max_words), cfg.width), persistent=False)
        kw = dict(d_model=cfg.width, nhead=cfg.n_heads, dim_feedforward=cfg.ff, dropout=cfg.dropout,
                  activation="relu", layer_norm_eps=1e-6, batch_first=True, norm_first=False)  # post-LN
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**kw), cfg.n_enc_layers,
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**kw), cfg.n_dec_layers)
        self.head = nn.Linear(cfg.width, cfg.vocab_size, bias=False)
        for p in self.parameters():  # official init: Xavier-uniform on every matrix
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        self.head.weight = self.trg_emb.weight  # tied: p(w) = softmax(h E_trg^T)

    def num_params(self) -> int:
        """Parameters, the tied table counted once."""
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return self.trg_emb.weight.device

    # ------------------------------------------------------------------------------------------ network
    def _check_source(self, src: torch.Tensor, src_lengths) -> torch.Tensor:
        cfg = self.config
        if src.ndim not in (2, 3) or (src.ndim == 3 and src.shape[-1] != cfg.motion_vocab):
            raise InputError(f"motion tokens have shape {tuple(src.shape)}: expected ids (B, S) or one-hot rows "
                             f"(B, S, {cfg.motion_vocab})")
        B, S = src.shape[:2]
        if not 1 <= S <= cfg.max_tokens:
            raise InputError(f"motion tokens: {S} positions, expected 1..{cfg.max_tokens} (start + codes + end)")
        if src.ndim == 2 and (int(src.min()) < 0 or int(src.max()) >= cfg.motion_vocab):
            raise InputError(f"motion token id {int(src.max()) if int(src.max()) >= 0 else int(src.min())} is "
                             f"outside the motion vocabulary [0, {cfg.motion_vocab}) (codes + start, end, pad)")
        n = torch.as_tensor(src_lengths, device=src.device).long().reshape(-1)
        if n.shape[0] != B or int(n.min()) < 1 or int(n.max()) > S:
            raise InputError(f"src_lengths must be {B} lengths in 1..{S}, got {n.tolist()}")
        return n

    def encode(self, src: torch.Tensor, src_lengths) -> tuple[torch.Tensor, torch.Tensor]:
        """``src``: ids ``(B, S)`` or one-hot rows ``(B, S, V_src)``; returns the encoder output ``(B, S, W)``
        and the source padding mask ``(B, S)`` (True past each motion's ``src_lengths``)."""
        n = self._check_source(src, src_lengths)
        S = src.shape[1]
        pad = torch.arange(S, device=src.device) >= n[:, None]  # (B, S)
        if src.ndim == 3:  # one-hot rows: e = one_hot @ E, so gradients reach the one-hots
            x = (src.to(self.src_emb.weight.dtype) @ self.src_emb.weight) * (~pad)[..., None]  # (B, S, W)
        else:
            x = self.src_emb(src)  # (B, S, W)
        x = x * math.sqrt(self.config.width) + self.pos[:S]  # x = sqrt(d)·E[m] + PE
        return self.encoder(x, src_key_padding_mask=pad), pad

    def decode(self, memory: torch.Tensor, src_pad: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """Next-word logits ``(B, T, V)`` for word inputs ``(B, T)`` (causal: position t sees words <= t)."""
        T = words.shape[1]
        if T > self.config.max_words:
            raise InputError(f"{T} word positions, more than the model's max_words={self.config.max_words}")
        y = self.trg_emb(words) * math.sqrt(self.config.width) + self.pos[:T]  # (B, T, W)
        causal = nn.Transformer.generate_square_subsequent_mask(T, device=words.device, dtype=y.dtype)  # (T, T)
        h = self.decoder(y, memory, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=src_pad)
        return self.head(h)  # (B, T, V)

    def forward(self, src: torch.Tensor, src_lengths, words: torch.Tensor, *, label_smoothing: float = 0.0
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Teacher-forced logits and loss.  ``words (B, L)`` = ``[sos, w_1 .. w_n, eos, pad ...]``: the
        decoder reads ``words[:, :-1]`` and predicts ``words[:, 1:]``; pad targets carry no loss.

        Returns ``logits (B, L-1, V)`` and ``{"loss", "accuracy"}`` over the real target words.
        """
        if words.ndim != 2 or words.shape[0] != src.shape[0] or words.shape[1] < 2:
            raise InputError(f"words have shape {tuple(words.shape)}: expected (B={src.shape[0]}, L >= 2)")
        if int(words.min()) < 0 or int(words.max()) >= self.config.vocab_size:
            raise InputError(f"word id {int(words.max())} is outside the caption vocabulary "
                             f"[0, {self.config.vocab_size})")
        memory, src_pad = self.encode(src, src_lengths)
        logits = self.decode(memory, src_pad, words[:, :-1])  # (B, L-1, V)
        target = words[:, 1:]  # (B, L-1)
        # L = -(1/N) sum_t log p(w_t | w_<t, m) over the N real (non-pad) target words
        loss = F.cross_entropy(logits.transpose(1, 2).float(), target, ignore_index=PAD,
                               label_smoothing=label_smoothing)
        real = target != PAD
        acc = (logits.argmax(-1) == target)[real].float().mean().detach()
        return logits, {"loss": loss, "accuracy": acc}

    # --------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def beam_search(self, src: torch.Tensor, src_lengths, *, beam: int = OFFICIAL_BEAM,
                    max_len: int = OFFICIAL_MAX_LEN, alpha: float = OFFICIAL_ALPHA) -> list[list[int]]:
        """Word ids (no sos/eos) of the best caption of each motion by beam search; see :func:`beam_search`."""
        was_training = self.training
        self.eval()
        try:
            memory, src_pad = self.encode(src, src_lengths)  # (B, S, W), (B, S)
            K = int(beam)
            memory, src_pad = memory.repeat_interleave(K, 0), src_pad.repeat_interleave(K, 0)  # (B·K, S, ...)
            step = lambda prefix: self.decode(memory, src_pad, prefix)[:, -1].float().log_softmax(-1)
            return beam_search(step, src.shape[0], self.config.vocab_size, beam=K,
                               max_len=min(int(max_len), self.config.max_words), alpha=alpha, device=self.device)
        finally:
            self.train(was_training)

    @torch.no_grad()
    def sample(self, src: torch.Tensor, src_lengths, *, top_k: int | None = 3, max_len: int = OFFICIAL_MAX_LEN,
               temperature: float = 1.0, generator: torch.Generator | None = None) -> list[list[int]]:
        """Word ids (no sos/eos) drawn word by word, as the official ``sample_batch(sample=True)``.

        At step t a caption ends when its most likely next word is eos; otherwise a word is drawn from the
        ``top_k`` most likely ones (sos, eos and pad excluded) at ``temperature``.  ``top_k=1`` is greedy.
        """
        if temperature <= 0:
            raise InputError(f"temperature={temperature}: expected > 0")
        was_training = self.training
        self.eval()
        try:
            memory, src_pad = self.encode(src, src_lengths)
            B, dev = src.shape[0], self.device
            words = torch.full((B, 1), SOS, dtype=torch.long, device=dev)  # (B, 1)
            done = torch.zeros(B, dtype=torch.bool, device=dev)
            for _ in range(min(int(max_len), self.config.max_words) - 1):
                logits = self.decode(memory, src_pad, words)[:, -1].float() / temperature  # (B, V)
                done |= logits.argmax(-1) == EOS  # the official stop rule: eos is the top word
                if bool(done.all()):
                    break
                logits[:, [PAD, SOS, EOS]] = float("-inf")
                probs = filter_top_k(logits, top_k).softmax(-1)
                gen = generator if generator is not None and generator.device == probs.device else None
                nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)  # (B,)
                words = torch.cat([words, nxt.masked_fill(done, EOS)[:, None]], dim=1)
            return [[int(w) for w in row[1:] if w not in (EOS, PAD)] for row in words.cpu()]
        finally:
            self.train(was_training)


# --------------------------------------------------------------------------------------------- beam search
def beam_search(step, batch: int, vocab_size: int, *, beam: int = OFFICIAL_BEAM, max_len: int = OFFICIAL_MAX_LEN,
                alpha: float = OFFICIAL_ALPHA, device=None) -> list[list[int]]:
    """Beam search over any next-word model; returns each item's best word ids (no sos/eos).

    ``step(prefix)`` maps prefixes ``(batch·beam, t)`` (row ``b·beam + k`` is beam k of item b, every prefix
    starts with sos) to next-word log-probabilities ``(batch·beam, V)``.  At each step every live beam is
    extended by every word and the ``beam`` best partial captions by total log-probability
    ``s = Σ log p(w_t | w_<t)`` are kept.  A beam that wrote eos is finished: its score is frozen (it may only
    be extended by pad at log-prob 0).  The search stops when every beam is finished or ``max_len`` positions
    (sos and eos included) are written.  Among the final beams the winner maximises

        s / L^alpha,   L = positions up to and including eos (sos counted; L = max_len if there is no eos)

    which is the official ``Translator``'s penalty (α = 0.7): applied once, to choose among the final beams,
    not while pruning.  One difference: the official code keeps extending beams after their eos (adding the
    log-probs of words past the end to their score); here a finished caption keeps the score it ended with.
    sos and pad are never generated.
    """
    K, V = int(beam), int(vocab_size)
    if not 1 <= K <= V - 3:
        raise InputError(f"beam={beam}: expected 1 <= beam <= {V - 3} (the vocabulary's ordinary words + eos)")
    if int(max_len) < 2:
        raise InputError(f"max_len={max_len}: expected >= 2 (sos + eos)")
    seqs = torch.full((batch, K, 1), SOS, dtype=torch.long, device=device)  # (B, K, t)
    scores = torch.full((batch, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live beam at the start: the other K-1 copies would only duplicate it
    done = torch.zeros(batch, K, dtype=torch.bool, device=device)
    ended = torch.full((batch, K), int(max_len), dtype=torch.long, device=device)  # L of each beam
    for t in range(1, int(max_len)):
        logp = step(seqs.reshape(batch * K, t)).reshape(batch, K, V).float()  # (B, K, V)
        logp[..., [PAD, SOS]] = float("-inf")  # never written
        frozen = torch.full_like(logp, float("-inf"))
        frozen[..., PAD] = 0.0  # a finished beam continues with pad, score unchanged
        logp = torch.where(done[..., None], frozen, logp)
        total = (scores[..., None] + logp).reshape(batch, K * V)  # (B, K·V) s + log p(w)
        scores, flat = total.topk(K, dim=-1)  # (B, K)
        origin, word = flat // V, flat % V  # which beam each survivor extends, with which word
        seqs = torch.cat([seqs.gather(1, origin[..., None].expand(-1, -1, t)), word[..., None]], dim=2)
        done, ended = done.gather(1, origin), ended.gather(1, origin)
        new = ~done & (word == EOS)
        ended = torch.where(new, torch.full_like(ended, t + 1), ended)  # L = t + 1 positions incl. sos and eos
        done = done | new
        if bool(done.all()):
            break
    best = (scores / ended.float() ** alpha).argmax(-1)  # (B,) s / L^α
    rows = seqs[torch.arange(batch, device=seqs.device), best].cpu()  # (B, t): sos, words, eos, pad ...
    return [[int(w) for w in row[1:] if int(w) not in (EOS, PAD)] for row in rows]
