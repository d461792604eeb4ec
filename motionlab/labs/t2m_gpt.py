"""Self-checks for the exercises of chapter 5 (T2M-GPT).

* :func:`check_corruption` -- ``fn(idx, tau, n_codes, rng) -> corrupted``: replace each input token with
  probability τ by a uniformly random code.
* :func:`check_top_k` -- ``fn(logits (B, V), k) -> filtered``: keep each row's k largest logits, the rest
  ``-inf``.
* :func:`check_causal_mask` -- ``fn(T) -> allowed (T, T)`` bool: position i may attend to position j iff
  j <= i.

Reference answers live in the package (:func:`motionlab.generators.train_t2m_gpt.corrupt_tokens`,
:func:`motionlab.generators.t2m_gpt.filter_top_k`, and the ``is_causal`` mask of scaled-dot-product
attention); the checks compare a reader's function with them on hidden cases.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from motionlab.labs import call_answer, fail, passed

END, PAD = 16, 17  # the hidden cases use a 16-code vocabulary: End = 16, Pad = 17


def _as_int_array(exercise: str, what: str, value, shape) -> np.ndarray:
    arr = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value)
    if arr.shape != tuple(shape):
        fail(exercise, f"{what} has shape {arr.shape}, expected {tuple(shape)}",
             "corrupt token by token: the output has the shape of the input")
    if not np.issubdtype(arr.dtype, np.integer):
        fail(exercise, f"{what} has dtype {arr.dtype}, expected integer token ids")
    return arr


def check_corruption(fn: Callable) -> bool:
    """``fn(idx, tau, n_codes, rng)`` (numpy int array, float, int, ``np.random.Generator``) must return a new
    array where each token was replaced, independently with probability ``tau``, by a code drawn uniformly
    from ``[0, n_codes)`` -- never End or Pad -- and left unchanged otherwise."""
    name = "token corruption"
    n_codes = END
    base = np.random.default_rng(11).integers(0, n_codes, size=(300, 40))
    base[:, 30:] = PAD
    base[:, 29] = END

    def run(idx, tau, seed):
        original = idx.copy()
        out = _as_int_array(name, "the corrupted tokens",
                            call_answer(name, fn, idx, tau, n_codes, np.random.default_rng(seed)), idx.shape)
        if not np.array_equal(idx, original):
            fail(name, "your function changed its input array in place",
                 "the clean tokens are still the targets: build a new array (np.where) instead of writing into idx")
        return out

    same = run(base.copy(), 0.0, 0)
    if not np.array_equal(same, base):
        fail(name, f"with tau = 0 {int((same != base).sum())} tokens changed; none should",
             "tau is the probability of REPLACING a token (the official pkeep is 1 - tau)")
    pads = np.full((400, 50), PAD)
    full = run(pads.copy(), 1.0, 1)
    if (full == PAD).any() or (full == END).any() or full.min() < 0 or full.max() >= n_codes:
        bad = sorted(set(np.unique(full).tolist()) - set(range(n_codes)))
        fail(name, f"with tau = 1 the output contains ids outside the codebook [0, {n_codes}): {bad[:5]}",
             "replacements are codes only: draw from rng.integers(0, n_codes), which excludes End and Pad")
    counts = np.bincount(full.ravel(), minlength=n_codes)
    if counts.min() < 0.7 * full.size / n_codes:
        fail(name, f"the replacement codes are not uniform: code counts range from {counts.min()} to {counts.max()}",
             "draw every replacement independently and uniformly from the whole codebook")
    for tau in (0.25, 0.6):
        out = run(pads.copy(), tau, 2)
        frac = float((out != PAD).mean())
        if abs(frac - tau) > 0.02:
            hint = ("it looks like 1 - tau: tau is the probability of replacing, not of keeping"
                    if abs(frac - (1 - tau)) < 0.02 else "each token is replaced with probability tau")
            fail(name, f"with tau = {tau} a fraction {frac:.3f} of the tokens was replaced", hint)
        per_row = (out != PAD).mean(axis=1)
        if per_row.std() > 0.2:
            fail(name, "whole sequences are either corrupted or kept",
                 "draw the Bernoulli(tau) decision for every position, not once per sequence")
    return passed(name)


def check_top_k(fn: Callable) -> bool:
    """``fn(logits, k)`` on a ``(B, V)`` tensor must keep each row's ``k`` largest logits unchanged and set the
    others to ``-inf`` (so that softmax gives them probability 0)."""
    from motionlab.generators.t2m_gpt import filter_top_k

    name = "top-k filtering"
    gen = torch.Generator().manual_seed(4)
    logits = torch.randn(6, 20, generator=gen) * 3
    logits[1] += 10.0  # one row far above the others: the filter must work per row
    for k in (1, 3, 7):
        out = call_answer(name, fn, logits.clone(), k)
        if not isinstance(out, torch.Tensor) or out.shape != logits.shape:
            fail(name, f"for k = {k} the result has shape {getattr(out, 'shape', None)}, expected "
                       f"{tuple(logits.shape)}", "return the filtered logits, same shape as the input")
        want = filter_top_k(logits, k)
        top = torch.isfinite(want)  # the k largest of each row
        if bool((top & torch.isfinite(out) & (out != logits)).any()):
            fail(name, f"for k = {k} some kept logits changed value",
                 "return logits, not probabilities: keep the surviving logits as they are, the others -inf")
        if bool((~top & torch.isfinite(out) & (out != logits)).any()):
            fail(name, f"for k = {k} the dropped entries are not -inf",
                 "a dropped logit must be -inf (0 or a small number still gets probability after the softmax)")
        kept = torch.isfinite(out)
        n_kept = kept.sum(dim=1)
        if bool((n_kept != k).any()):
            row = int((n_kept != k).nonzero()[0])
            fail(name, f"for k = {k} row {row} keeps {int(n_kept[row])} logits",
                 "take the k-th largest value of each row (torch.topk(logits, k, dim=-1)) and keep the logits "
                 ">= it; a threshold over the whole batch keeps different counts per row")
        if not torch.equal(kept, torch.isfinite(want)):
            fail(name, f"for k = {k} the kept logits are not the k largest of their row",
                 "sort descending: topk returns the largest values")
    return passed(name)


def check_causal_mask(fn: Callable) -> bool:
    """``fn(T)`` must return a ``(T, T)`` boolean tensor, True where query i may attend to key j (j <= i)."""
    name = "causal mask"
    for t in (1, 4, 9):
        out = call_answer(name, fn, t)
        if not isinstance(out, torch.Tensor) or out.shape != (t, t):
            fail(name, f"for T = {t} the mask has shape {getattr(out, 'shape', None)}, expected ({t}, {t})")
        if out.dtype != torch.bool:
            fail(name, f"the mask has dtype {out.dtype}, expected torch.bool (True = may attend)",
                 "scaled_dot_product_attention reads a boolean attn_mask as 'allowed'")
        want = torch.ones(t, t, dtype=torch.bool).tril()
        if torch.equal(out, want.T) and t > 1:
            fail(name, "the mask lets each position see the future and not the past (it is transposed)",
                 "rows are queries, columns are keys: query i may see keys 0..i (lower triangle)")
        if torch.equal(out, ~want) or (t > 1 and not bool(out.diagonal().all())):
            fail(name, "a position cannot attend to itself",
                 "the diagonal must be allowed: token i sees itself and everything before it")
        if not torch.equal(out, want):
            fail(name, f"for T = {t} the mask differs from the causal one at "
                       f"{(out != want).nonzero()[0].tolist()}", "allowed[i, j] = (j <= i)")
    return passed(name)


def reference_causal_mask(t: int) -> torch.Tensor:
    """The mask ``F.scaled_dot_product_attention(..., is_causal=True)`` applies: ``allowed[i, j] = j <= i``."""
    return torch.ones(t, t, dtype=torch.bool).tril()


__all__ = ["check_corruption", "check_top_k", "check_causal_mask", "reference_causal_mask", "live_lab"]


def live_lab(pipeline, default: str = "a person waves with the left hand"):
    """An ipywidgets lab: type a sentence, press *generate*, watch the motion (needs a running kernel).

    ``pipeline`` is a :class:`~motionlab.generators.train_t2m_gpt.T2MGPTPipeline`.  Empty and overlong
    prompts are reported in the output area instead of raising.  Returns the widget box to display.
    """
    import ipywidgets as widgets

    from motionlab.errors import MotionlabError
    from motionlab.viz import animate

    prompt = widgets.Text(value=default, description="prompt", layout=widgets.Layout(width="60%"))
    sampling = widgets.Dropdown(options=["categorical", "argmax"], value="categorical", description="sampling")
    button = widgets.Button(description="generate", button_style="primary")
    output = widgets.Output()

    def run(_=None):
        with output:
            output.clear_output(wait=True)
            try:
                motion = pipeline.with_options(sample=sampling.value).generate(prompt.value, overlong="error")
            except MotionlabError as err:
                print(f"cannot generate: {err}")
                return
            n = int(motion.lengths[0])
            animate(motion.joints()[0], skeleton=motion.skeleton, titles=["T2M-GPT"],
                    caption=f"{motion.texts[0]} ({len(motion.tokens[0])} tokens, {n} frames)").show()

    button.on_click(run)
    return widgets.VBox([widgets.HBox([prompt, sampling, button]), output])
