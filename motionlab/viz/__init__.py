"""motionlab.viz: skeleton animations, the chapters' shared plots, and exports.

* :func:`animate` -- plotly 3D skeleton animation (play/pause, frame slider, floor, root paths), one or
  several motions side by side or overlaid; small enough for a static book page.
* ``plots``: :func:`line_plot`, :func:`bar_with_error`, :func:`heatmap`, :func:`scatter_2d` (+ :func:`pca_2d`),
  :func:`table_figure`, :func:`feature_slices_plot`, :func:`step_heatmap` (a process step by step) -- one look for every figure (:data:`TEMPLATE`).
* ``export``: :func:`save_gif` (matplotlib, the ``export`` extra) and :func:`save_html` (offline page).

The notebook renderer lives in :mod:`motionlab.viz.render` (imported by ``motionlab.notebook``).
"""

from motionlab.viz.animate import animate, chain_order, prepare_motions, to_plotly
from motionlab.viz.export import save_gif, save_html
from motionlab.viz.plots import (
    PALETTE,
    TEMPLATE,
    bar_with_error,
    feature_slices_plot,
    heatmap,
    line_plot,
    pca_2d,
    scatter_2d,
    shade,
    step_heatmap,
    table_figure,
)

__all__ = [
    "animate", "chain_order", "prepare_motions", "to_plotly", "save_gif", "save_html", "PALETTE", "TEMPLATE",
    "bar_with_error", "feature_slices_plot", "heatmap", "line_plot", "pca_2d", "scatter_2d",
    "shade", "step_heatmap", "table_figure",
]
