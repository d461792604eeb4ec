"""The book's plotly renderer: figures that survive papermill, JupyterLab and the static HTML book.

Why this exists.  From plotly 6.1 on, a figure displayed inside an ipykernel (which is how papermill,
nbclient and nbval run chapters) is stored *only* under plotly's own mime type
``application/vnd.plotly.v1+json``.  JupyterLab draws that, but MyST-NB (Jupyter Book 1.x) does not know
it and drops the figure with an ``unknown_mime_type`` warning.  The ``motionlab`` renderer registered
here stores both:

* ``application/vnd.plotly.v1+json`` -- the figure JSON, which JupyterLab and VS Code draw natively;
* ``text/html`` -- a ``<div>`` plus a ``Plotly.newPlot`` call, which the book renders.  The div id comes
  from a counter (``motionlab-fig-1``, ``motionlab-fig-2``, ...) so re-running a chapter gives the same
  bytes, and plotly.js is *not* embedded: the book loads it once from its own ``_static/plotly.min.js``
  (see ``_config.yml``), so pages stay small and work offline.

:func:`install` registers the renderer and makes it the default unless the user chose one with the
``PLOTLY_RENDERER`` environment variable; :func:`motionlab.notebook.setup` calls it.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

RENDERER_NAME = "motionlab"
DIV_PREFIX = "motionlab-fig-"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
HTML_MIME = "text/html"
DEFAULT_HEIGHT = 500  # px


def _mimetype_base():
    from plotly.io._base_renderers import MimetypeRenderer

    return MimetypeRenderer


class _Counter:
    """Hands out 1, 2, 3, ... ; :meth:`reset` starts again (``setup()`` resets it once per chapter)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._it = itertools.count(1)

    def next(self) -> int:
        return next(self._it)


FIGURE_COUNTER = _Counter()


def _make_renderer_class():
    MimetypeRenderer = _mimetype_base()

    class MotionlabRenderer(MimetypeRenderer):
        """Mime bundle with the plotly JSON (JupyterLab) and deterministic HTML (the book).

        ``auto_play`` stays off so animations wait for their Play button; ``config`` is passed to
        ``Plotly.newPlot`` (responsive by default).
        """

        def __init__(self, config: dict | None = None, auto_play: bool = False):
            self.config = dict(config) if config else {}
            self.auto_play = auto_play

        def to_mimebundle(self, fig_dict: dict) -> dict:
            return figure_mimebundle(fig_dict, config=self.config, auto_play=self.auto_play)

    return MotionlabRenderer


def figure_mimebundle(fig, *, div_id: str | None = None, config: dict | None = None,
                      auto_play: bool = False) -> dict:
    """The two-part mime bundle for a figure (a ``go.Figure`` or a figure dict).

    ``div_id`` defaults to the next ``motionlab-fig-N``.  The HTML part references the global ``Plotly``
    object and never embeds or fetches plotly.js.
    """
    import plotly.io as pio

    fig_json = json.loads(pio.to_json(fig, validate=False, remove_uids=True))
    html = pio.to_html(
        fig_json,
        config={"responsive": True, **(config or {})},
        auto_play=auto_play,
        include_plotlyjs=False,  # the book loads _static/plotly.min.js once per page
        include_mathjax=False,  # no CDN; the book's own MathJax typesets the page
        full_html=False,
        div_id=div_id or f"{DIV_PREFIX}{FIGURE_COUNTER.next()}",
        default_width="100%",
        default_height=DEFAULT_HEIGHT,  # used when the figure sets no height (100% would collapse in a page)
        validate=False,
    )
    return {PLOTLY_MIME: fig_json, HTML_MIME: html}


def install(default: bool | None = None, reset_counter: bool = True) -> str:
    """Register the ``motionlab`` renderer and return the name of the active default renderer.

    ``default=None`` (the usual call) makes ``motionlab`` the default unless ``PLOTLY_RENDERER`` is set in
    the environment, in which case the user's choice stands.  ``default=True``/``False`` forces either way.
    The div counter restarts at 1 so a chapter's figure ids do not depend on what ran before it.
    """
    import plotly.io as pio

    if RENDERER_NAME not in pio.renderers:
        pio.renderers[RENDERER_NAME] = _make_renderer_class()()
    if default is None:
        default = not os.environ.get("PLOTLY_RENDERER", "").strip()
    if default:
        pio.renderers.default = RENDERER_NAME
    if reset_counter:
        FIGURE_COUNTER.reset()
    return pio.renderers.default


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` shipped inside the installed plotly package (copied into the book's _static)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}; reinstall plotly")
    return path
