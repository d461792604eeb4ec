"""Chapter diagrams: boxes and arrows drawn from names, with errors for arrows to nowhere."""

from __future__ import annotations

import pytest

from motionlab.errors import InputError
from motionlab.viz.diagrams import Box, block_diagram, codebook_update_diagram, t2m_gpt_diagram, vqvae_diagram


def test_arrows_join_the_facing_sides_of_their_boxes():
    fig = block_diagram([Box("a", "A", 0, 0, w=2, h=1), Box("b", "B", 4, 0, w=2, h=1)], [("a", "b", "go")])
    arrow = next(a for a in fig.layout.annotations if a.showarrow)
    assert (arrow.ax, arrow.x) == (1.0, 3.0)  # right side of a -> left side of b
    assert any(a.text == "go" for a in fig.layout.annotations)
    assert len(fig.layout.shapes) == 2


def test_unknown_box_in_an_arrow_is_an_error():
    with pytest.raises(InputError, match="'a' -> 'c'"):
        block_diagram([Box("a", "A", 0, 0)], [("a", "c")])


@pytest.mark.parametrize("draw", [vqvae_diagram, codebook_update_diagram, t2m_gpt_diagram])
def test_chapter_diagrams_have_no_overlapping_boxes(draw):
    rects = [(s.x0, s.x1, min(s.y0, s.y1), max(s.y0, s.y1)) for s in draw().layout.shapes]
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            apart = a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]
            assert apart, f"boxes {a} and {b} overlap"
