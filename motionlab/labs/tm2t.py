"""Self-checks for the exercises of chapter 8 (TM2T), and the captioning lab.

* :func:`check_beam_step` -- ``fn(scores (K,), log_probs (K, V), k) -> (scores (k,), beams (k,), words (k,))``:
  one step of beam search: the k best continuations of K beams.
* :func:`check_hard_gumbel` -- ``fn(logits (B, V), gumbel (B, V), tau) -> y (B, V)``: a one-hot sample in the
  forward pass whose gradient is the soft sample's (straight-through Gumbel-softmax).
* :func:`caption_lab` -- an ipywidgets lab: pick a motion, choose beam search or sampling, read the captions.

Reference answers: :func:`motionlab.generators.tm2t.motion_to_text.beam_search` and
``torch.nn.functional.gumbel_softmax(hard=True)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from motionlab.labs import call_answer, expect_close, fail, passed

__all__ = ["check_beam_step", "check_hard_gumbel", "caption_lab"]


def _reference_beam_step(scores: torch.Tensor, log_probs: torch.Tensor, k: int):
    total = (scores[:, None] + log_probs).reshape(-1)  # (K * V,) score of every continuation
    best, flat = total.topk(k)
    return best, flat // log_probs.shape[1], flat % log_probs.shape[1]


def check_beam_step(fn: Callable) -> bool:
    """``fn(scores, log_probs, k)``: the k highest ``scores[b] + log_probs[b, w]`` over all beams b and words
    w, best first, as ``(new_scores, beam_index, word)``."""
    name = "beam search step"
    gen = torch.Generator().manual_seed(8)
    # first case by hand: beam 0 holds both of the best continuations
    cases = [(torch.tensor([0.0, -5.0]), torch.tensor([[0.5, 0.4, 0.1], [1 / 3, 1 / 3, 1 / 3]]).log(), 2)]
    for beams, vocab, k in ((1, 6, 2), (2, 5, 2), (3, 7, 3)):
        cases.append((-torch.rand(beams, generator=gen) * 3,
                      torch.log_softmax(torch.randn(beams, vocab, generator=gen) * 2, dim=-1), k))
    for scores, log_probs, k in cases:
        beams, vocab = log_probs.shape
        out = call_answer(name, fn, scores.clone(), log_probs.clone(), k)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            fail(name, "expected three results: (new scores, beam index, word)")
        got = [torch.as_tensor(np.asarray(v.detach() if isinstance(v, torch.Tensor) else v)) for v in out]
        want = _reference_beam_step(scores, log_probs, k)
        best_per_beam = (scores[:, None] + log_probs).max(dim=1).values
        if beams > 1 and torch.allclose(got[0].double(), best_per_beam.topk(min(k, beams)).values.double()) \
                and not torch.allclose(got[0].double(), want[0].double()):
            fail(name, "each beam contributes at most one continuation",
                 "rank all beams x words together: one beam may hold both of the best continuations")
        expect_close(name, f"the new scores (K={beams}, V={vocab}, k={k})", got[0], want[0],
                     hint="add each beam's score to its words' log-probabilities, flatten, take the top k")
        pairs = set(zip(got[1].long().tolist(), got[2].long().tolist()))
        if pairs != set(zip(want[1].tolist(), want[2].tolist())):
            fail(name, f"the (beam, word) pairs differ: got {sorted(pairs)}",
                 "recover beam = flat // V and word = flat % V from the flattened index")
    return passed(name)


def check_hard_gumbel(fn: Callable) -> bool:
    """``fn(logits, gumbel, tau)``: forward value ``onehot(argmax(logits + gumbel))``; gradient that of
    ``softmax((logits + gumbel) / tau)``."""
    name = "hard Gumbel-softmax"
    gen = torch.Generator().manual_seed(9)
    for tau in (1.0, 0.5):
        logits = torch.randn(4, 6, generator=gen, requires_grad=True)
        gumbel = -torch.log(-torch.log(torch.rand(4, 6, generator=gen).clamp(1e-9, 1 - 1e-9)))
        y = call_answer(name, fn, logits, gumbel.clone(), tau)
        if not isinstance(y, torch.Tensor) or y.shape != logits.shape:
            fail(name, f"the sample has shape {getattr(y, 'shape', None)}, expected {tuple(logits.shape)}")
        want = torch.nn.functional.one_hot((logits + gumbel).argmax(-1), 6).float()
        expect_close(name, "the forward value", y.detach(), want,
                     hint="the forward pass must be an exact one-hot of argmax(logits + gumbel)")
        if not y.requires_grad:
            fail(name, "no gradient flows back to the logits",
                 "a plain one_hot(argmax) has no gradient: add soft - soft.detach() to it (straight-through)")
        weights = torch.randn(4, 6, generator=gen)
        (y * weights).sum().backward()
        soft_logits = logits.detach().clone().requires_grad_(True)
        ((soft_logits + gumbel) / tau).softmax(-1).mul(weights).sum().backward()
        expect_close(name, f"the gradient (tau = {tau})", logits.grad, soft_logits.grad,
                     hint="the gradient is the soft sample's: softmax((logits + gumbel) / tau)")
    return passed(name)


def caption_lab(captioner, motions, references=None):
    """An ipywidgets lab (needs a running kernel): choose a motion by index and a decoding (beam width or
    top-k sampling); the captions print next to the reference captions.  Returns the widget box."""
    import ipywidgets as widgets

    from motionlab.errors import MotionlabError

    index = widgets.BoundedIntText(value=0, min=0, max=len(motions) - 1, description="motion")
    mode = widgets.Dropdown(options=["beam 2", "beam 4", "sample top-3"], value="beam 2", description="decoding")
    button = widgets.Button(description="caption", button_style="primary")
    output = widgets.Output()

    def run(_=None):
        with output:
            output.clear_output(wait=True)
            kind, arg = mode.value.split(" ")
            options = {"mode": "beam", "beam": int(arg)} if kind == "beam" else {"mode": "sample", "top_k": 3}
            try:
                captions = captioner.with_options(**options)([motions[index.value]] * (1 if kind == "beam" else 3))
            except MotionlabError as err:
                print(f"cannot caption: {err}")
                return
            for text in captions:
                print(f"TM2T:      {text}")
            for ref in (references[index.value] if references is not None else []):
                print(f"reference: {getattr(ref, 'text', ref)}")

    button.on_click(run)
    return widgets.VBox([widgets.HBox([index, mode, button]), output])
