"""T2M-GPT: a causal transformer that writes motion tokens after a sentence feature (Zhang et al., CVPR 2023).

The model reads ``[c, s_1, ..., s_{t-1}]`` and predicts ``s_t``, where ``c`` is the frozen text encoder's
sentence feature projected to the model width (a *prefix token*: no cross-attention) and ``s_i`` are the
VQ-VAE's code indices.  The vocabulary is ``n_codes`` codes plus ``End`` (= ``n_codes``) and ``Pad``
(= ``n_codes + 1``); the output head predicts codes and End only, so generation stops by itself and the
motion's length comes from the model.

One stack of ``n_layer`` pre-LN blocks (``x + Attn(LN(x))``, ``x + MLP(LN(x))``), fixed sinusoidal
positions, dropout 0.1 inside the blocks; the paper's model is 18 blocks of width 1024 with 16 heads and a
block of 51 positions (1 text + 50 tokens).  The official code splits the stack into a "base" and a "head"
module of 9 blocks each; that split is code organisation only (the same blocks run in the same order), so
here the stack is one list and "head" means the output projection alone.  The official model creates a
dropout for the token + position embeddings but never calls it: ``embed_dropout`` defaults to 0 for that
reason (set it to ``dropout`` for the usual GPT-2 layout).

Generation (:meth:`T2MGPT.generate`) decodes a batch at once with a key/value cache, so each step costs
one position instead of the whole prefix; it samples (categorical, with optional temperature and top-k) or
takes the argmax, and gives exactly the tokens the uncached loop gives for the same random stream.  As the
official sampler it writes at most ``block_size - 1`` (50) tokens.  When End comes first, the official
evaluation falls back to the single code 1 (``end_at_start="fallback"``); this package's default blocks End
at the first step instead (``"block"``), so every motion is the model's own choice of codes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from motionlab.errors import InputError

__all__ = ["T2MGPTConfig", "T2MGPT", "KVCache", "GeneratedTokens", "sinusoidal_table", "filter_top_k",
           "init_weights", "sample_from_logits", "FALLBACK_CODE"]

FALLBACK_CODE = 1  # what the official evaluation decodes when the sampler emits End first


@dataclass(frozen=True)
class T2MGPTConfig:
    """Sizes of the GPT.  Defaults are the paper's (``paper`` profile) with MiniLM's 384-d text feature."""

    n_codes: int = 512  # VQ-VAE codebook size
    text_dim: int = 384  # sentence feature size (MiniLM 384, CLIP ViT-B/32 512)
    n_embd: int = 1024
    n_head: int = 16
    n_layer: int = 18  # official: 9 "base" + 9 "head" blocks, one stack
    block_size: int = 51  # 1 text slot + up to 50 token slots
    dropout: float = 0.1  # attention, residual and MLP dropout inside the blocks
    embed_dropout: float = 0.0  # on token + position embeddings: 0 as the official model (created, never called)
    ff_mult: int = 4

    @property
    def end_id(self) -> int:
        return self.n_codes

    @property
    def pad_id(self) -> int:
        return self.n_codes + 1

    @property
    def vocab_size(self) -> int:
        """Rows of the token embedding: codes + End + Pad."""
        return self.n_codes + 2

    @property
    def max_tokens(self) -> int:
        """The most codes one sequence can hold (the text takes one slot of the block)."""
        return self.block_size - 1

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise InputError(f"T2MGPTConfig: n_embd={self.n_embd} must be divisible by n_head={self.n_head}")
        if self.block_size < 2:
            raise InputError(f"T2MGPTConfig: block_size={self.block_size} must leave room for text + 1 token")


def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """Fixed positions (Vaswani et al.): ``PE[p, 2i] = sin(p / 10000^(2i/d))``, ``PE[p, 2i+1] = cos(...)``."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]  # (L, 1)
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (ceil(d/2),)
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table  # (L, D)


def init_weights(module: nn.Module) -> None:
    """GPT-2 initialisation, as the official T2M-GPT and MoMask code: N(0, 0.02) weights of linear and
    embedding layers, zero biases, unit LayerNorm gains (``model.apply(init_weights)``)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class KVCache:
    """Keys and values of every layer for the positions decoded so far: ``(layers, B, H, block, head_dim)``.

    Preallocated once; :meth:`update` writes a layer's new keys/values at ``length`` and returns the filled
    prefix.  The model advances ``length`` after a whole forward pass.
    """

    def __init__(self, n_layers: int, batch: int, n_head: int, block_size: int, head_dim: int,
                 device: torch.device, dtype: torch.dtype):
        shape = (n_layers, batch, n_head, block_size, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = k.shape[2]
        end = self.length + t
        if end > self.k.shape[3]:
            raise InputError(f"KV cache overflow: {end} positions > block size {self.k.shape[3]}")
        self.k[layer, :, :, self.length:end] = k
        self.v[layer, :, :, self.length:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]  # (B, H, end, hd)


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position ``t`` attends to positions ``<= t`` only."""

    def __init__(self, n_embd: int, n_head: int, dropout: float):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, H, T, hd)
        past = 0
        if cache is not None:
            past = cache.length
            k, v = cache.update(layer, k, v)  # (B, H, past + T, hd)
        if past and T > 1:
            # queries sit at positions past..past+T-1; query i may see keys j <= past + i
            allowed = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(diagonal=past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                               dropout_p=self.dropout if self.training else 0.0)
        else:
            # no past: the usual causal mask; one new query after a cached past: it may see everything
            y = F.scaled_dot_product_attention(q, k, v, is_causal=(past == 0 and T > 1),
                                               dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.resid_drop(self.proj(y))


class MLP(nn.Module):
    """``Linear(d, 4d) -> GELU -> Linear(4d, d) -> Dropout``."""

    def __init__(self, n_embd: int, mult: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, mult * n_embd), nn.GELU(), nn.Linear(mult * n_embd, n_embd),
                                 nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Block(nn.Module):
    """Pre-LN transformer block: ``x = x + Attn(LN(x))``; ``x = x + MLP(LN(x))``."""

    def __init__(self, cfg: T2MGPTConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.n_embd), nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg.n_embd, cfg.n_head, cfg.dropout)
        self.mlp = MLP(cfg.n_embd, cfg.ff_mult, cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


@dataclass
class GeneratedTokens:
    """Generated code sequences: ``codes (B, L)`` padded with Pad after each sequence's ``lengths (B,)``."""

    codes: torch.Tensor
    lengths: torch.Tensor

    def to_list(self) -> list[torch.Tensor]:
        """One 1-D tensor of codes per sequence (End and Pad removed)."""
        return [self.codes[i, : int(n)] for i, n in enumerate(self.lengths)]


def filter_top_k(logits: torch.Tensor, k: int | None) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row, set the rest to ``-inf`` (``k=None`` keeps all)."""
    if k is None or k >= logits.shape[-1]:
        return logits
    if k < 1:
        raise InputError(f"top_k={k}: expected a positive integer or None")
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1) the k-th largest value
    return logits.masked_fill(logits < kth, float("-inf"))


def sample_from_logits(logits: torch.Tensor, u: torch.Tensor | None, *, temperature: float = 1.0,
                       top_k: int | None = None) -> torch.Tensor:
    """One token per row.  ``u=None``: argmax.  Otherwise categorical by inverse CDF with uniforms ``u (B,)``:
    the first token whose cumulative probability exceeds ``u * total`` (never a token of probability 0)."""
    if u is None:
        return logits.argmax(dim=-1)  # (B,)
    if temperature <= 0:
        raise InputError(f"temperature={temperature}: expected > 0 (use sample='argmax' for greedy decoding)")
    probs = F.softmax(filter_top_k(logits.float() / temperature, top_k), dim=-1)  # (B, V)
    cdf = probs.cumsum(dim=-1)  # (B, V)
    x = (u.to(cdf) * cdf[:, -1]).unsqueeze(-1)  # (B, 1) in [0, total)
    return torch.searchsorted(cdf, x, right=True).squeeze(-1).clamp_max(logits.shape[-1] - 1)  # (B,)


class T2MGPT(nn.Module):
    """Text-prefix GPT over motion tokens; ``forward(text_emb, idx, targets) -> (logits, losses)``."""

    Config = T2MGPTConfig
    config_class = T2MGPTConfig

    def __init__(self, config: T2MGPTConfig):
        super().__init__()
        self.config = cfg = config
        self.cond = nn.Linear(cfg.text_dim, cfg.n_embd)  # sentence feature -> prefix token
        self.tok = nn.Embedding(cfg.vocab_size, cfg.n_embd)  # codes + End + Pad
        self.register_buffer("pos", sinusoidal_table(cfg.block_size, cfg.n_embd), persistent=False)  # fixed
        self.drop = nn.Dropout(cfg.embed_dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.n_codes + 1, bias=False)  # codes + End (never Pad)
        self.apply(init_weights)

    def num_params(self) -> int:
        """Trainable parameters (the sinusoidal table is a buffer, not counted)."""
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self, seq_len: int | None = None) -> float:
        """Training FLOPs per token (forward + backward ~ 6 x matmul parameters + attention), for budgets."""
        cfg = self.config
        t = seq_len or cfg.block_size
        n_layers = cfg.n_layer
        matmul = n_layers * (4 + 2 * cfg.ff_mult) * cfg.n_embd**2 + cfg.n_embd * (cfg.n_codes + 1)
        return 6.0 * matmul + 6.0 * n_layers * t * cfg.n_embd  # attention scores and values: 2*2*t*d fwd

    # ------------------------------------------------------------------------------------------ forward
    def embed(self, text_emb: torch.Tensor | None, idx: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """The input sequence ``[c, e(s_1), ..., e(s_T)] + positions``: the sentence feature ``text_emb
        (B, text_dim)`` projected to the model width is the first token (the *prefix*; no cross-attention),
        then the token embeddings of ``idx (B, T)``.  ``text_emb=None`` embeds tokens only, starting at
        position ``offset`` (cached generation)."""
        parts = []
        if text_emb is not None:
            parts.append(self.cond(text_emb.to(self.cond.weight.dtype)).unsqueeze(1))  # (B, 1, D)
        if idx.shape[1]:
            parts.append(self.tok(idx))  # (B, T, D)
        x = torch.cat(parts, dim=1)  # (B, T', D)
        if offset + x.shape[1] > self.config.block_size:
            raise InputError(f"sequence of {offset + x.shape[1]} positions exceeds block_size "
                             f"{self.config.block_size} (1 text slot + {self.config.max_tokens} tokens)")
        return self.drop(x + self.pos[offset: offset + x.shape[1]])  # (B, T', D)

    def transformer(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Causal blocks, final LayerNorm and output head: ``(B, T', D) -> (B, T', n_codes + 1)`` logits."""
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += x.shape[1]
        return self.lm_head(self.ln_f(x))  # (B, T', n_codes + 1)

    def forward(self, text_emb: torch.Tensor, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits for ``[text, idx]``: position 0 (the text) predicts the first code, position t predicts
        token t+1.

        ``text_emb (B, text_dim)``, ``idx (B, T)`` input tokens (codes / End / Pad, T <= block_size - 1);
        ``targets (B, T + 1)`` = codes, End, then Pad.  Returns ``logits (B, T + 1, n_codes + 1)`` and
        ``losses``: ``loss`` = cross-entropy over codes and End (Pad ignored), averaged per sequence and then
        over the batch as in the official code; ``accuracy`` = next-token accuracy on the same positions.
        """
        if text_emb.ndim != 2 or text_emb.shape[1] != self.config.text_dim:
            raise InputError(f"text_emb has shape {tuple(text_emb.shape)}: expected (B, {self.config.text_dim})")
        if idx.ndim != 2 or idx.shape[0] != text_emb.shape[0]:
            raise InputError(f"idx has shape {tuple(idx.shape)}: expected (B={text_emb.shape[0]}, T)")
        logits = self.transformer(self.embed(text_emb, idx))  # (B, T + 1, V-1)
        losses: dict[str, torch.Tensor] = {}
        if targets is not None:
            losses = self.loss(logits, targets)
        return logits, losses

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cross-entropy over codes + End; Pad positions ignored; mean per sequence, then over the batch."""
        if targets.shape != logits.shape[:2]:
            raise InputError(f"targets have shape {tuple(targets.shape)}, expected {tuple(logits.shape[:2])}")
        valid = targets != self.config.pad_id  # (B, T+1)
        safe = targets.masked_fill(~valid, 0)
        ce = F.cross_entropy(logits.float().transpose(1, 2), safe, reduction="none")  # (B, T+1)
        n = valid.sum(1).clamp_min(1)  # (B,)
        loss = ((ce * valid).sum(1) / n).mean()  # L = mean_b (1/n_b) sum_t -log p(s_t | c, s_<t)
        with torch.no_grad():
            acc = ((logits.argmax(-1) == targets) & valid).sum() / valid.sum().clamp_min(1)
        return {"loss": loss, "accuracy": acc}

    # --------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def generate(
        self,
        text_emb: torch.Tensor,
        *,
        sample: str = "categorical",
        temperature: float = 1.0,
        top_k: int | None = None,
        max_tokens: int | None = None,
        min_tokens: int = 1,
        lengths: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
        end_at_start: str = "block",
    ) -> GeneratedTokens:
        """Write code sequences for a batch of sentence features ``(B, text_dim)``.

        ``sample``: "categorical" (softmax sampling, the official choice for reported numbers; with
        ``temperature`` and ``top_k``) or "argmax".  A sequence ends when the model emits End (its length is
        the model's own), or at ``max_tokens`` (default ``block_size - 1``: 50 tokens = 200 frames, as the
        official sampler; the evaluator reads at most 196).  End is not allowed before ``min_tokens`` codes
        (default 1: a motion has at least one token).  ``end_at_start`` says what End as the very first token
        does: ``"block"`` (default) masks it, so the first token is drawn among the codes; ``"fallback"`` (the
        official rule) lets the model choose End and then writes the single code :data:`FALLBACK_CODE` (1):
        the official sampler has no sequence to return, raises, and the evaluation's ``except`` branch
        decodes ``ones(1, 1)``.  ``lengths (B,)`` in tokens forces exact lengths instead (End is blocked
        before and forced at that length; ``end_at_start`` does not apply).  ``use_cache=False`` recomputes the
        whole prefix every step (the slow reference); both paths consume the random stream identically and
        give the same tokens.
        """
        cfg = self.config
        if sample not in ("categorical", "argmax"):
            raise InputError(f"sample={sample!r}: expected 'categorical' or 'argmax'")
        if end_at_start not in ("block", "fallback"):
            raise InputError(f"end_at_start={end_at_start!r}: expected 'block' or 'fallback'")
        if text_emb.ndim != 2 or text_emb.shape[1] != cfg.text_dim:
            raise InputError(f"text_emb has shape {tuple(text_emb.shape)}: expected (B, {cfg.text_dim})")
        max_tokens = cfg.max_tokens if max_tokens is None else int(max_tokens)
        if not 1 <= max_tokens <= cfg.max_tokens:
            raise InputError(f"max_tokens={max_tokens}: expected 1..{cfg.max_tokens} (block_size - 1)")
        device = self.lm_head.weight.device
        B = text_emb.shape[0]
        text_emb = text_emb.to(device)
        lo = torch.full((B,), max(1, min(int(min_tokens), max_tokens)), dtype=torch.long, device=device)
        hi = torch.full((B,), max_tokens, dtype=torch.long, device=device)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, dtype=torch.long, device=device).reshape(-1)
            if lengths.shape[0] != B or int(lengths.min()) < 1 or int(lengths.max()) > max_tokens:
                raise InputError(f"lengths must be {B} token counts in 1..{max_tokens}, got {lengths.tolist()}")
            lo, hi = lengths, lengths
        fallback = end_at_start == "fallback" and lengths is None
        was_training = self.training
        self.eval()
        try:
            out = torch.full((B, max_tokens), cfg.pad_id, dtype=torch.long, device=device)
            n_out = torch.zeros(B, dtype=torch.long, device=device)
            done = torch.zeros(B, dtype=torch.bool, device=device)
            cache = None
            if use_cache:
                hd = cfg.n_embd // cfg.n_head
                cache = KVCache(len(self.blocks), B, cfg.n_head, cfg.block_size, hd, device,
                                self.lm_head.weight.dtype)
            for step in range(max_tokens + 1):
                if cache is not None:  # feed only the newest position; the past lives in the cache
                    if step == 0:
                        logits = self.transformer(self.embed(text_emb, out[:, :0]), cache)
                    else:
                        logits = self.transformer(self.embed(None, out[:, step - 1: step], offset=step), cache)
                else:  # reference: the whole prefix again
                    logits = self.transformer(self.embed(text_emb, out[:, :step]))
                logits = logits[:, -1].float()  # (B, n_codes + 1)
                # length control: End is blocked below `lo` codes (but free at step 0 under the official
                # fallback) and is the only choice at `hi`
                blocked = (step < lo) & (step > 0 or not fallback)  # (B,)
                logits[:, cfg.end_id] = logits[:, cfg.end_id].masked_fill(blocked, float("-inf"))
                force = step >= hi  # (B,)
                logits[force] = torch.where(
                    torch.arange(logits.shape[1], device=device) == cfg.end_id, 0.0, float("-inf"))
                u = None
                if sample == "categorical":  # one uniform per row per step, drawn for every row
                    gen_device = generator.device if generator is not None else device
                    u = torch.rand(B, generator=generator, device=gen_device).to(device)
                nxt = sample_from_logits(logits, u, temperature=temperature, top_k=top_k)  # (B,)
                if fallback and step == 0:  # End first: the official evaluation writes one code 1 instead
                    fell_back = nxt == cfg.end_id  # (B,)
                    nxt = nxt.masked_fill(fell_back, FALLBACK_CODE)
                ended = (nxt == cfg.end_id) & ~done
                n_out = torch.where(ended, torch.full_like(n_out, step), n_out)
                done |= ended
                if step < max_tokens:
                    out[:, step] = torch.where(done, torch.full_like(nxt, cfg.pad_id), nxt)
                if fallback and step == 0:  # those rows are finished: one token
                    n_out = n_out.masked_fill(fell_back, 1)
                    done |= fell_back
                if bool(done.all()):
                    break
        finally:
            self.train(was_training)
        width = int(n_out.max())
        return GeneratedTokens(codes=out[:, :width].clone(), lengths=n_out)
