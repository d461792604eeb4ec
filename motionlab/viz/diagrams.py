"""Schematic diagrams of the book's models, drawn as plotly figures (so they render offline and in the HTML).

:func:`block_diagram` lays out labelled boxes on a grid and joins them with arrows; the functions below it
are the chapters' diagrams: :func:`vqvae_diagram` (chapter 3), :func:`codebook_update_diagram` (chapter 4)
and :func:`t2m_gpt_diagram` (chapter 5).  Coordinates are in grid units: a box at ``(col, row)`` is centred
there, ``row`` grows downwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import plotly.graph_objects as go

from motionlab.errors import InputError
from motionlab.viz.plots import PALETTE, TEMPLATE, shade


@dataclass(frozen=True)
class Box:
    """A labelled box centred at ``(x, y)`` in grid units; ``w``/``h`` its size; ``color`` its fill."""

    name: str
    label: str
    x: float
    y: float
    w: float = 1.6
    h: float = 0.7
    color: str = PALETTE[0]


def block_diagram(boxes: Sequence[Box], arrows: Sequence[tuple[str, str] | tuple[str, str, str]],
                  title: str | None = None, height: int = 260) -> go.Figure:
    """Boxes and arrows: ``arrows`` are ``(from, to)`` or ``(from, to, label)`` pairs of box names; an arrow
    leaves the side of its source box that faces the target and ends on the facing side of the target."""
    by_name = {b.name: b for b in boxes}
    fig = go.Figure()
    for b in boxes:
        fig.add_shape(type="rect", x0=b.x - b.w / 2, x1=b.x + b.w / 2, y0=-(b.y - b.h / 2), y1=-(b.y + b.h / 2),
                      line=dict(color=shade(b.color, 0.7), width=1.5), fillcolor=shade(b.color, 1.75))
        fig.add_annotation(x=b.x, y=-b.y, text=b.label, showarrow=False, font=dict(size=12))
    for arrow in arrows:
        src, dst, label = (*arrow, "")[:3]
        if src not in by_name or dst not in by_name:
            raise InputError(f"arrow {src!r} -> {dst!r} names a box that does not exist ({', '.join(by_name)})")
        a, b = by_name[src], by_name[dst]
        (x0, y0), (x1, y1) = _port(a, b), _port(b, a)
        fig.add_annotation(x=x1, y=-y1, ax=x0, ay=-y0, xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.3, arrowcolor="#555555")
        if label:
            fig.add_annotation(x=(x0 + x1) / 2, y=-(y0 + y1) / 2, text=label, showarrow=False, yshift=10,
                               font=dict(size=11, color="#444444"))
    xs = [v for b in boxes for v in (b.x - b.w / 2, b.x + b.w / 2)]
    ys = [v for b in boxes for v in (-(b.y - b.h / 2), -(b.y + b.h / 2))]
    axis = dict(visible=False, showgrid=False, zeroline=False)
    fig.update_layout(template=TEMPLATE, height=height, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      title=title, showlegend=False,
                      xaxis=dict(range=[min(xs) - 0.2, max(xs) + 0.2], **axis),
                      yaxis=dict(range=[min(ys) - 0.3, max(ys) + 0.3], scaleanchor="x", **axis))
    return fig


def _port(a: Box, b: Box) -> tuple[float, float]:
    """Where an arrow between ``a`` and ``b`` touches ``a``: the middle of the side that faces ``b``."""
    dx, dy = b.x - a.x, b.y - a.y
    if abs(dx) * a.h >= abs(dy) * a.w:  # mostly horizontal
        return a.x + (a.w / 2 if dx > 0 else -a.w / 2), a.y
    return a.x, a.y + (a.h / 2 if dy > 0 else -a.h / 2)


def vqvae_diagram() -> go.Figure:
    """Chapter 3: features -> encoder -> quantizer (codebook) -> decoder -> reconstruction, and the losses."""
    blue, red, green = PALETTE[0], PALETTE[1], PALETTE[2]
    boxes = [
        Box("x", "motion X<br>(T, 263)", 0, 0, color="#888888"),
        Box("enc", "encoder<br>conv ↓4", 2.3, 0, color=blue),
        Box("q", "quantizer<br>k = argmin ‖z − e_k‖", 5.2, 0, w=2.2, color=green),
        Box("book", "codebook<br>(K, C)", 5.2, 1.3, w=2.2, color=green),
        Box("dec", "decoder<br>conv ↑4", 8.0, 0, color=blue),
        Box("xhat", "reconstruction<br>X̂ (T, 263)", 10.3, 0, color="#888888"),
        Box("loss", "L_rec + α L_ric + β ‖z − sg[e]‖²", 9.0, 1.3, w=3.2, color=red),
    ]
    arrows = [("x", "enc"), ("enc", "q", "z (T/4, C)"), ("book", "q"), ("q", "dec", "e_k"), ("dec", "xhat"),
              ("xhat", "loss")]
    return block_diagram(boxes, arrows, title="The VQ-VAE: 4 frames -> one token k", height=250)


def codebook_update_diagram() -> go.Figure:
    """Chapter 4: how EMA + reset move the codebook (no gradient reaches it)."""
    green, orange, purple = PALETTE[2], PALETTE[3], PALETTE[4]
    boxes = [
        Box("z", "encoder outputs z<br>of the batch", 0, 0, w=2.0, color=PALETTE[0]),
        Box("assign", "assign each z<br>to its nearest code", 2.7, 0, w=2.2, color=green),
        Box("ema", "EMA: N_k ← μN_k + (1−μ)n_k<br>e_k ← μ-average of the mean of its z", 6.4, 0, w=3.6,
            color=purple),
        Box("dead", "N_k < 1 ?<br>(dead code)", 6.4, 1.3, w=2.2, color=orange),
        Box("reset", "reset e_k to a<br>batch vector z", 9.7, 1.3, w=2.2, color=orange),
        Box("book", "codebook<br>e_1 … e_K", 9.7, 0, w=2.0, color=green),
    ]
    arrows = [("z", "assign"), ("assign", "ema", "n_k, sums"), ("ema", "book"), ("ema", "dead"),
              ("dead", "reset", "yes"), ("reset", "book")]
    return block_diagram(boxes, arrows, title="EMA + reset, without gradients", height=260)


def t2m_gpt_diagram() -> go.Figure:
    """Chapter 5: the sentence feature as a prefix token of a causal transformer over motion tokens."""
    blue, green, red = PALETTE[0], PALETTE[2], PALETTE[1]
    boxes = [
        Box("text", "caption<br>“a person waves”", 0, 0, w=2.0, color="#888888"),
        Box("clip", "frozen sentence<br>encoder", 0, 1.3, w=2.0, color=blue),
        Box("seq", "[ c | s₁ s₂ … s_{T−1} ]<br>(corrupted with prob. τ)", 3.2, 1.3, w=3.0, color=green),
        Box("gpt", "causal transformer<br>n_layer pre-LN blocks", 6.6, 1.3, w=2.6, color=blue),
        Box("out", "p(s_t | c, s_&lt;t)<br>over codes + End", 9.6, 1.3, w=2.4, color=red),
        Box("tok", "VQ-VAE tokens<br>s₁ … s_T, End", 3.2, 0, w=2.4, color=green),
    ]
    arrows = [("text", "clip"), ("clip", "seq", "c"), ("tok", "seq"), ("seq", "gpt"), ("gpt", "out")]
    return block_diagram(boxes, arrows, title="T2M-GPT: the sentence is token 0", height=250)
