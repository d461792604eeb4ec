"""Self-checks for the exercises of chapters 6 and 7 (MoMask), and the editing lab.

* :func:`check_residual_ids` -- ``fn(z (N, C), codebooks [(K, C)] * L) -> ids (N, L)``: residual
  quantisation by nearest codes, layer after layer.
* :func:`check_mask_count` -- ``fn(tau, n) -> int``: how many of n tokens the cosine schedule masks.
* :func:`check_guidance` -- ``fn(cond, uncond, s) -> logits``: classifier-free guidance in the paper's form.
* :func:`check_token_span` -- ``fn(start, stop, unit) -> (t0, t1)``: the tokens a frame range touches.
* :func:`edit_lab` -- an ipywidgets lab: pick frames of a motion, type a caption, watch the edit.

Reference answers live in the package (:class:`~motionlab.tokenizers.residual.ResidualQuantizer`,
:func:`~motionlab.generators.momask.masked_transformer.cosine_schedule`,
:func:`~motionlab.generators.momask.masked_transformer.guided_logits`,
:func:`~motionlab.generators.momask.edit.token_spans`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from motionlab.labs import call_answer, expect_close, fail, passed

__all__ = ["check_residual_ids", "check_mask_count", "check_guidance", "check_token_span", "edit_lab"]


def check_residual_ids(fn: Callable) -> bool:
    """``fn(z, codebooks)`` must return ``(N, L)`` integer ids: layer v takes the nearest code of
    ``codebooks[v]`` to the residual ``r^v = z - sum_{u<v} codebooks[u][id_u]``."""
    from motionlab.tokenizers.quantizers import nearest_code

    name = "residual quantisation"
    gen = torch.Generator().manual_seed(6)
    z = torch.randn(40, 3, generator=gen) * 2
    books = [torch.randn(8, 3, generator=gen) * s for s in (2.0, 0.7, 0.25)]
    out = call_answer(name, fn, z.clone(), [b.clone() for b in books])
    ids = torch.as_tensor(np.asarray(out.detach() if isinstance(out, torch.Tensor) else out))
    if ids.shape != (40, 3):
        fail(name, f"the ids have shape {tuple(ids.shape)}, expected (N, L) = (40, 3)",
             "one column per layer: stack each layer's ids along dim 1")
    want, residual = [], z.clone()
    for book in books:
        k = nearest_code(residual, book)  # (N,)
        want.append(k)
        residual = residual - book[k]  # r^{v+1} = r^v - b^v
    want = torch.stack(want, 1)
    if torch.equal(ids[:, 0], want[:, 0]) and torch.equal(ids[:, 1:], torch.stack(
            [nearest_code(z, b) for b in books[1:]], 1)) and not torch.equal(ids, want):
        fail(name, "layers 1.. quantise z itself, not the residual",
             "the residual: subtract each layer's chosen code vector before the next layer looks for its nearest "
             "code")
    if not torch.equal(ids.long(), want):
        row, col = (ids.long() != want).nonzero()[0].tolist()
        fail(name, f"point {row}, layer {col}: got code {int(ids[row, col])}, expected {int(want[row, col])}",
             "nearest = smallest squared Euclidean distance to the current residual")
    return passed(name)


def check_mask_count(fn: Callable) -> bool:
    """``fn(tau, n)`` must return ``max(1, round(cos(pi * tau / 2) * n))`` masked tokens."""
    name = "cosine mask count"
    for n in (1, 7, 49):
        for tau in (0.0, 0.2, 0.5, 0.77, 1.0):
            got = call_answer(name, fn, tau, n)
            want = max(1, round(math.cos(math.pi * tau / 2) * n))
            if int(got) != want:
                hint = ("rounding gave 0 masked tokens: keep at least one" if int(got) == 0 else
                        "gamma(tau) = cos(pi tau / 2) is the masked share; multiply by n and round")
                fail(name, f"tau = {tau}, n = {n}: got {got}, expected {want}", hint)
    return passed(name)


def check_guidance(fn: Callable) -> bool:
    """``fn(cond, uncond, s)`` must return ``(1 + s) * cond - s * uncond``."""
    from motionlab.generators.momask.masked_transformer import guided_logits

    name = "classifier-free guidance"
    gen = torch.Generator().manual_seed(7)
    cond, uncond = torch.randn(2, 5, 9, generator=gen), torch.randn(2, 5, 9, generator=gen)
    for s in (0.0, 1.0, 3.0):
        got = call_answer(name, fn, cond.clone(), uncond.clone(), s)
        if s == 0.0:
            expect_close(name, "s = 0", got, cond, hint="with s = 0 guidance is off: the conditional logits")
        expect_close(name, f"s = {s}", got, guided_logits(cond, uncond, s),
                     hint="move away from the unconditional logits: (1 + s) c - s u")
    return passed(name)


def check_token_span(fn: Callable) -> bool:
    """``fn(start, stop, unit)`` must return the tokens ``(t0, t1)`` whose frames overlap ``start:stop``."""
    name = "frame range to tokens"
    for start, stop, unit in ((0, 40, 4), (41, 79, 4), (3, 5, 4), (8, 9, 4), (10, 30, 8)):
        got = tuple(int(v) for v in call_answer(name, fn, start, stop, unit))
        want = (start // unit, -(-stop // unit))
        if got != want:
            hint = ("a token covers frames unit*t .. unit*t + unit - 1: the last token must include frame stop-1"
                    if got[1] < want[1] else "start at the token that holds frame start (floor division)")
            fail(name, f"frames {start}:{stop} (unit {unit}): got tokens {got[0]}:{got[1]}, expected "
                       f"{want[0]}:{want[1]}", hint)
    return passed(name)


def edit_lab(pipeline, motion: np.ndarray, caption: str = "a person jumps"):
    """An ipywidgets lab (needs a running kernel): choose a frame range of ``motion`` (raw features), type a
    caption, press *edit*; the decoded source and the edit play side by side.  Returns the widget box."""
    import ipywidgets as widgets

    from motionlab.errors import MotionlabError
    from motionlab.viz import animate

    n = len(motion) // pipeline.unit * pipeline.unit
    prompt = widgets.Text(value=caption, description="caption", layout=widgets.Layout(width="50%"))
    frames = widgets.IntRangeSlider(value=(n // 3, 2 * n // 3), min=0, max=n, step=1, description="frames")
    button = widgets.Button(description="edit", button_style="primary")
    output = widgets.Output()

    def run(_=None):
        with output:
            output.clear_output(wait=True)
            try:
                out = pipeline.edit(motion, prompt.value, tuple(frames.value), overlong="error")
            except MotionlabError as err:
                print(f"cannot edit: {err}")
                return
            (a, b), = out.frame_spans[:1]
            animate({"source (decoded)": out.joints("source"), f"edited {a}:{b}": out.joints()},
                    skeleton=out.skeleton, caption=f"{out.caption} (changed up to {out.reach()} frames outside)"
                    ).show()

    button.on_click(run)
    return widgets.VBox([widgets.HBox([prompt, frames, button]), output])
