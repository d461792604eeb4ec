"""Files for outside the book: animated GIFs for slides and self-contained HTML pages for the CLI.

``save_gif`` draws with matplotlib (an optional extra: ``pip install motionlab[export]``) and writes with
Pillow, so it needs no ffmpeg.  ``save_html`` inlines plotly.js so the page works offline.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from motionlab.data.skeleton import Skeleton
from motionlab.errors import InputError
from motionlab.viz.animate import PAD, MIN_EXTENT, prepare_motions, to_plotly
from motionlab.viz.plots import PALETTE, shade


def _require_matplotlib():
    try:
        # Figure + the Agg canvas directly: no pyplot, so the user's backend and open figures are untouched
        from matplotlib.animation import FuncAnimation, PillowWriter  # noqa: PLC0415
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError as err:
        raise ImportError(
            "save_gif needs matplotlib (and Pillow), which motionlab installs only with the 'export' extra: "
            "pip install 'motionlab[export]'  (or: pip install matplotlib)"
        ) from err
    return Figure, FigureCanvasAgg, FuncAnimation, PillowWriter


def save_gif(
    joints_or_motions: Any, path: str | Path, skeleton: str | Skeleton = "t2m", fps: float = 20,
    titles: Sequence[str] | None = None, caption: str | None = None, max_frames: int | None = None,
    panel_size: float = 3.2, dpi: int = 100, scale: float | None = None,
) -> Path:
    """Write an animated GIF of one or more skeletons side by side (one 3D panel each), for slides.

    Args:
        joints_or_motions: as for :func:`motionlab.viz.animate`: a ``(T, J, 3)`` array/tensor, a list of
            them or a dict title -> array.  Shorter motions hold their last pose.
        path: the ``.gif`` file to write (parent folders are created).
        fps: frame rate of the data and of the GIF.
        titles: one panel title per motion (default: the dict keys or "motion 1", ...).
        caption: a line of text above the panels.
        max_frames: keep at most this many frames by showing every k-th one (played at the same speed).
        panel_size: inches per panel (the GIF is ``panel_size * dpi`` pixels high).
        scale: metres per data unit (default: 1 for t2m, 1/1000 for KIT-ML).

    Returns the path written.  Every GIF frame is labelled with its time, so consecutive frames always
    differ and the GIF holds exactly one image per shown frame.
    """
    Figure, FigureCanvasAgg, FuncAnimation, PillowWriter = _require_matplotlib()
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be a positive number, got {fps!r}")
    if max_frames is not None and not (isinstance(max_frames, int) and max_frames >= 1):
        raise InputError(f"max_frames must be a positive integer or None, got {max_frames!r}")
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise InputError(f"save_gif writes GIF files: the path should end in .gif, got {path.name!r}")
    prepared = prepare_motions(joints_or_motions, skeleton, titles, scale)
    sk, n = prepared.skeleton, len(prepared.joints)
    stride = 1 if max_frames is None else math.ceil(prepared.n_frames / max_frames)
    times = list(range(0, prepared.n_frames, stride))
    # (n, F, J, 3) in the z-up scene axes shared with the plotly viewer (a rotation: handedness kept)
    poses = to_plotly(np.stack([np.stack([prepared.at(i, t) for t in times]) for i in range(n)]))
    floor = min(0.0, float(poses[..., 2].min()))
    # one common half-width so every panel has the same scale; each panel is centred on its own motion
    centres = [(p.reshape(-1, 3).min(0) + p.reshape(-1, 3).max(0)) / 2 for p in poses]
    half = max(MIN_EXTENT / 2, max(float((p.reshape(-1, 3).max(0) - p.reshape(-1, 3).min(0))[:2].max()) / 2 + PAD
                                   for p in poses))
    top = float(poses[..., 2].max()) + PAD

    fig = Figure(figsize=(panel_size * n, panel_size + (0.3 if caption else 0.0)), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.0, top=0.86 if caption else 0.93, wspace=0.0)
    if caption:
        fig.suptitle(caption, fontsize=9)
    clock = fig.text(0.01, 0.01, "", fontsize=8, color="#444444")
    sides = ["left" if name.startswith("left") else "right" if name.startswith("right") else "mid"
             for name in (sk.joint_names[c[-1]] for c in sk.kinematic_chain)]
    artists = []  # per panel: one Line3D per kinematic chain
    for i in range(n):
        ax = fig.add_subplot(1, n, i + 1, projection="3d")
        cx, cy = centres[i][0], centres[i][1]
        ax.set_xlim(cx - half, cx + half)
        ax.set_ylim(cy - half, cy + half)
        ax.set_zlim(floor, top)
        ax.set_box_aspect((2 * half, 2 * half, top - floor), zoom=1.1)
        ax.view_init(elev=15, azim=25)  # from the front (+x of the scene = the data's +z), slightly left
        ax.set_axis_off()
        ax.set_title(prepared.titles[i], fontsize=9)
        gx = np.array([cx - half, cx + half, cx + half, cx - half, cx - half])
        gy = np.array([cy - half, cy - half, cy + half, cy + half, cy - half])
        ax.plot(gx, gy, np.full(5, floor), color="#999999", linewidth=0.8)
        ax.plot_trisurf([cx - half, cx + half, cx + half, cx - half], [cy - half, cy - half, cy + half, cy + half],
                        [floor] * 4, color="#dddddd", alpha=0.5, linewidth=0)
        root = poses[i, :, 0]
        color = PALETTE[i % len(PALETTE)]
        ax.plot(root[:, 0], root[:, 1], np.full(len(times), floor), color=color, linewidth=1, linestyle=":")
        by_side = {"left": shade(color, 0.55), "right": shade(color, 1.5), "mid": color}
        lines = []
        for chain, side in zip(sk.kinematic_chain, sides):
            pts = poses[i, 0, list(chain)]
            (line,) = ax.plot(pts[:, 0], pts[:, 1], pts[:, 2], color=by_side[side], linewidth=2.5,
                              marker="o", markersize=2)
            lines.append(line)
        artists.append(lines)

    def draw(k: int):
        for i in range(n):
            for line, chain in zip(artists[i], sk.kinematic_chain):
                pts = poses[i, k, list(chain)]
                line.set_data_3d(pts[:, 0], pts[:, 1], pts[:, 2])
        clock.set_text(f"frame {times[k]}  ({times[k] / fps:.2f} s)")
        return [line for lines in artists for line in lines] + [clock]

    path.parent.mkdir(parents=True, exist_ok=True)
    animation = FuncAnimation(fig, draw, frames=len(times), blit=False)
    animation.save(str(path), writer=PillowWriter(fps=fps / stride), dpi=dpi)
    return path


def save_html(fig: go.Figure, path: str | Path, auto_play: bool = False, div_id: str = "motionlab-figure") -> Path:
    """Write ``fig`` as a self-contained HTML page (plotly.js inlined: ~4.7 MB, works offline).

    The div id is fixed, so the same figure always gives the same file.  ``auto_play`` starts an
    animation when the page opens.  Returns the path written.
    """
    if not isinstance(fig, go.Figure):
        raise InputError(f"save_html takes a plotly Figure, got {type(fig).__name__}")
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"save_html writes HTML: the path should end in .html, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True, auto_play=auto_play, div_id=div_id,
                   config={"displaylogo": False})
    return path
