"""Skeleton animations with plotly: one or more motions, side by side or overlaid, playable in a static page.

The figure is built for the book: it must play without a kernel, stay small (the budget is ~400 KB of
figure JSON for 196 frames of one skeleton) and be byte-for-byte reproducible.  The recipe:

* one ``Scatter3d`` trace per skeleton whose points walk the kinematic chains, with a ``None`` between
  chains so the five limbs are one trace (smaller frames, one legend entry);
* one plotly frame per shown time step carrying only the skeletons' coordinates, rounded to millimetres;
  the floor, the grid and the root trajectories sit in the base figure and never change;
* axes fixed to the global min/max over all frames and a manual aspect ratio (otherwise the camera rescales
  every frame); ``redraw=True`` on every animate call, which 3D traces need;
* the data are y-up (HumanML3D, KIT-ML) and plotly's camera is z-up.  Swapping y and z alone would be a
  reflection and show every skeleton as its mirror image (left and right exchanged), so the mapping is the
  cyclic permutation ``(x, y, z)_data -> (z, x, y)_plotly``, a proper rotation.
"""

from __future__ import annotations

import math
import re
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from motionlab.data.skeleton import Skeleton, get_skeleton
from motionlab.errors import InputError
from motionlab.viz.plots import PALETTE, TEMPLATE, shade

FLOOR_COLOR = "#d0d0d0"
GRID_COLOR = "#a8a8a8"
SIDE_GAP = 0.5  # metres between neighbouring motions in the side-by-side layout
PAD = 0.15  # metres of empty space around the motions
ZOOM_LIMIT = 1.6  # at most this enlargement of an elongated scene box (see the aspect ratio below)
MIN_EXTENT = 1.0  # metres: the floor is at least this wide so a motion on the spot still has a floor


def to_plotly(points: np.ndarray) -> np.ndarray:
    """Map y-up data coordinates ``(..., 3)`` to plotly's z-up scene: ``(x, y, z) -> (z, x, y)``.

    A cyclic permutation of the axes is a rotation (determinant +1), so handedness is kept: a skeleton's
    left hand stays its left hand.  Plain y/z swapping would mirror it.
    """
    return points[..., [2, 0, 1]]


@dataclass(frozen=True)
class PreparedMotions:
    """Validated motions in metres (data coordinates, y up), ready for a viewer."""

    titles: list[str]
    joints: list[np.ndarray]  # each (T_i, J, 3) float64, metres
    skeleton: Skeleton

    @property
    def n_frames(self) -> int:
        return max(j.shape[0] for j in self.joints)

    def at(self, i: int, t: int) -> np.ndarray:
        """Pose (J, 3) of motion ``i`` at frame ``t``; a motion that has ended holds its last pose."""
        joints = self.joints[i]
        return joints[min(t, joints.shape[0] - 1)]


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor (any float dtype, any device)
        value = value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"motion {name!r} could not be read as a numeric array: {err}") from None


def prepare_motions(
    motions: Any, skeleton: str | Skeleton = "t2m", titles: Sequence[str] | None = None,
    scale: float | None = None,
) -> PreparedMotions:
    """Check and normalise the ``motions`` argument shared by :func:`animate` and ``export.save_gif``.

    ``motions``: a ``(T, J, 3)`` numpy array or torch tensor, a list/tuple of them, or a dict title ->
    array.  ``scale`` multiplies the positions to get metres (default ``1 / skeleton.units_per_metre``:
    1 for HumanML3D, 1/1000 for KIT-ML's millimetre-scale joints).
    Raises :class:`~motionlab.errors.InputError` for anything a viewer cannot draw.
    """
    try:
        sk = get_skeleton(skeleton)
    except ValueError as err:
        raise InputError(str(err)) from None
    if isinstance(motions, Mapping):
        if titles is not None:
            raise InputError("titles were given twice: as the keys of the motions dict and as titles=; pass one")
        titles = [str(k) for k in motions.keys()]
        items = list(motions.values())
    elif isinstance(motions, (list, tuple)):
        items = list(motions)
    else:
        items = [motions]
    if not items:
        raise InputError("no motions to draw: got an empty list/dict")
    if titles is None:
        titles = ["motion"] if len(items) == 1 else [f"motion {i + 1}" for i in range(len(items))]
    else:
        if isinstance(titles, str):
            titles = [titles]
        titles = list(titles)
        if len(titles) != len(items):
            raise InputError(f"got {len(titles)} titles for {len(items)} motions: give one title per motion")
        if not all(isinstance(t, str) for t in titles):
            raise InputError(f"titles must be strings, got {[type(t).__name__ for t in titles]}")
    factor = 1.0 / sk.units_per_metre if scale is None else float(scale)
    if not math.isfinite(factor) or factor <= 0:
        raise InputError(f"scale must be a positive number (metres per data unit), got {scale!r}")

    arrays = []
    for title, item in zip(titles, items):
        a = _to_numpy(item, title)
        if a.ndim == 2 and a.shape[-1] in (263, 251):
            raise InputError(
                f"motion {title!r} has shape {a.shape}: these look like HumanML3D/KIT features, not joint "
                "positions; convert them with motionlab.data.features.features_to_joints first"
            )
        if a.ndim == 4:
            raise InputError(f"motion {title!r} has shape {a.shape}: a batch; pass list(batch) to draw each motion")
        if a.ndim != 3 or a.shape[-1] != 3:
            raise InputError(f"motion {title!r} has shape {a.shape}: expected (T, J, 3) joint positions")
        if a.shape[0] == 0:
            raise InputError(f"motion {title!r} is empty: it has 0 frames")
        if a.shape[1] != sk.n_joints:
            other = [s for s in ("t2m", "kit") if get_skeleton(s).n_joints == a.shape[1]]
            hint = f"; pass skeleton={other[0]!r}" if other else ""
            raise InputError(
                f"motion {title!r} has {a.shape[1]} joints but skeleton {sk.name!r} has {sk.n_joints}{hint}"
            )
        bad = ~np.isfinite(a).all(axis=(1, 2))
        if bad.any():
            frames = np.flatnonzero(bad)
            shown = ", ".join(str(f) for f in frames[:8]) + (", ..." if len(frames) > 8 else "")
            raise InputError(
                f"motion {title!r} has NaN or infinite positions in {len(frames)} of {a.shape[0]} frames "
                f"(frames {shown})"
            )
        arrays.append(a * factor)

    bones = np.array(sk.bones)
    first = arrays[0][0]
    median_bone = float(np.median(np.linalg.norm(first[bones[:, 1]] - first[bones[:, 0]], axis=-1)))
    if not 0.02 <= median_bone <= 2.0:
        warnings.warn(
            f"after scaling by {factor:g} the median bone of {titles[0]!r} is {median_bone:.3g} m (a body's is "
            f"~0.15 m): the units look wrong; pass scale= (metres per data unit) to animate/save_gif",
            stacklevel=3,
        )
    return PreparedMotions(titles=titles, joints=arrays, skeleton=sk)


def chain_order(skeleton: str | Skeleton) -> np.ndarray:
    """Joint indices that draw every kinematic chain in one polyline, ``-1`` where the pen lifts."""
    sk = get_skeleton(skeleton)
    order: list[int] = []
    for chain in sk.kinematic_chain:
        if order:
            order.append(-1)
        order.extend(chain)
    return np.array(order)


def _side_shades(skeleton: Skeleton, order: np.ndarray, color: str) -> list[str]:
    """Marker colours along ``order``: left joints darker, right joints lighter, the trunk as is."""
    dark, light = shade(color, 0.55), shade(color, 1.5)
    shades = []
    for j in order:
        name = skeleton.joint_names[j] if j >= 0 else ""
        shades.append(dark if name.startswith("left") else light if name.startswith("right") else color)
    return shades


def _rounded(values: np.ndarray, mask: np.ndarray | None = None) -> list:
    """Round to millimetres (3 decimals) as a JSON-friendly list; ``None`` where ``mask`` is set."""
    out = (np.round(values, 3) + 0.0).astype(object)  # + 0.0 turns -0.0 into 0.0 (shorter, canonical)
    if mask is not None:
        out[..., mask] = None
    return out.tolist()


def _wrap(text: str, width: int = 90) -> str:
    return "<br>".join(textwrap.wrap(text, width)) or text


def _title_text(caption: str | Sequence[str] | None, titles: list[str]) -> tuple[str | None, int]:
    """Figure title and its number of lines from the caption(s)."""
    if caption is None:
        return None, 0
    if isinstance(caption, str):
        text = _wrap(caption)
    else:
        caption = list(caption)
        if len(caption) != len(titles):
            raise InputError(
                f"got {len(caption)} captions for {len(titles)} motions: give one caption, or one per motion"
            )
        if not all(isinstance(c, str) for c in caption):
            raise InputError("captions must be strings")
        text = "<br>".join(_wrap(f"<b>{t}</b>: {c}") for t, c in zip(titles, caption))
    return text, text.count("<br>") + 1


def animate(
    motions: Any,
    skeleton: str | Skeleton = "t2m",
    titles: Sequence[str] | None = None,
    caption: str | Sequence[str] | None = None,
    layout: str = "side",
    fps: float = 20,
    trajectory: bool = True,
    floor: bool = True,
    colors: Sequence[str] | None = None,
    height: int = 520,
    max_frames: int = 196,
    scale: float | None = None,
) -> go.Figure:
    """Animate one or more skeletons as a plotly 3D figure with play/pause buttons and a frame slider.

    Args:
        motions: joint positions ``(T, J, 3)`` (numpy array or torch tensor, y up, ``fps`` frames per
            second), a list of them, or a dict ``title -> array``.  Motions may differ in length: shorter
            ones hold their last pose.
        skeleton: ``"t2m"`` (HumanML3D, 22 joints) or ``"kit"`` (KIT-ML, 21 joints, mm-scale units).
        titles: one legend name per motion (default: the dict keys, or "motion 1", "motion 2", ...).
        caption: the figure title: one string, or one caption per motion (shown as "title: caption").
        layout: ``"side"`` places the motions next to each other along x in one scene (shared camera);
            ``"overlay"`` draws them on top of each other (ground truth vs reconstruction vs generated).
        fps: frame rate of the data; the play button shows ``1000 / fps`` ms per frame (50 ms at 20 fps).
        trajectory: draw each root's path projected on the floor.
        floor: draw the floor plane (at ``min(0, lowest joint)``) and a grid on it.
        colors: one hex colour ``"#rrggbb"`` per motion (default: blue, red, green, ...).  Left-side
            joints are drawn darker and right-side joints lighter than that colour.
        height: figure height in pixels.
        max_frames: at most this many frames are stored; longer motions are shown at a stride (every k-th
            frame, played at the same real speed) so the figure stays within its size budget.
        scale: metres per data unit (default ``1 / skeleton.units_per_metre``: 1 for t2m, 1/1000 for kit).

    Returns:
        A ``plotly.graph_objects.Figure`` whose first traces are the skeletons (one per motion, in order),
        followed by the trajectories, the floor grid and the floor.  Its frames update only the skeletons.
    """
    if layout not in ("side", "overlay"):
        raise InputError(f"layout must be 'side' or 'overlay', got {layout!r}")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be a positive number, got {fps!r}")
    if not (isinstance(max_frames, int) and max_frames >= 1):
        raise InputError(f"max_frames must be a positive integer, got {max_frames!r}")
    prepared = prepare_motions(motions, skeleton, titles, scale)
    sk, names, n = prepared.skeleton, prepared.titles, len(prepared.joints)
    if colors is None:
        colors = [PALETTE[i % len(PALETTE)] for i in range(n)]
    else:
        colors = list(colors)
        if len(colors) != n:
            raise InputError(f"got {len(colors)} colors for {n} motions: give one '#rrggbb' colour per motion")
        for c in colors:
            if not (isinstance(c, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", c)):
                raise InputError(f"colors must be hex strings like '#1f77b4', got {c!r}")
    title_text, title_lines = _title_text(caption, names)

    stride = math.ceil(prepared.n_frames / max_frames)
    times = list(range(0, prepared.n_frames, stride))
    # (n, F, J, 3) poses at the shown times, holding the last pose of motions that have ended
    poses = np.stack([np.stack([prepared.at(i, t) for t in times]) for i in range(n)])
    if layout == "side":  # shift along x so that no two motions' swept volumes overlap
        right_edge = None
        for i in range(n):
            if right_edge is not None:
                poses[i, ..., 0] += right_edge + SIDE_GAP - poses[i, ..., 0].min()
            right_edge = poses[i, ..., 0].max()
    floor_y = min(0.0, float(poses[..., 1].min()))
    scene_pts = to_plotly(poses)  # (n, F, J, 3) in plotly axes, z up

    # fixed axes: global min/max over all frames and motions, padded; horizontal extent >= MIN_EXTENT
    lo = scene_pts.reshape(-1, 3).min(axis=0)
    hi = scene_pts.reshape(-1, 3).max(axis=0)
    lo[2] = floor_y
    ranges = []
    for a in range(3):
        a_lo, a_hi = lo[a] - PAD * (a < 2), hi[a] + PAD
        if a < 2 and a_hi - a_lo < MIN_EXTENT:
            mid = 0.5 * (a_lo + a_hi)
            a_lo, a_hi = mid - MIN_EXTENT / 2, mid + MIN_EXTENT / 2
        ranges.append([round(float(a_lo), 3), round(float(a_hi), 3)])
    # true proportions; an elongated box (diagonal shorter than the unit cube's sqrt(3)) is enlarged by the
    # square root of the shortfall, so a long walk or a row of skeletons does not shrink to a thin strip
    # (the full shortfall pushes the near corner of deep scenes out of view)
    extents = np.array([r[1] - r[0] for r in ranges])
    extents = extents / extents.max()
    extents *= min(ZOOM_LIMIT, math.sqrt(math.sqrt(3) / float(np.linalg.norm(extents))))
    aspect = {k: round(float(e), 4) for k, e in zip("xyz", extents)}

    order = chain_order(sk)
    gaps = order < 0
    idx = np.where(gaps, 0, order)
    coords = scene_pts[:, :, idx, :]  # (n, F, P, 3) points along the chains
    hover = [sk.joint_names[j] if j >= 0 else "" for j in order]

    traces: list[go.BaseTraceType] = []
    for i in range(n):
        traces.append(go.Scatter3d(
            x=_rounded(coords[i, 0, :, 0], gaps), y=_rounded(coords[i, 0, :, 1], gaps),
            z=_rounded(coords[i, 0, :, 2], gaps),
            mode="lines+markers", name=names[i], legendgroup=f"m{i}",
            line=dict(color=colors[i], width=6), marker=dict(size=2.5, color=_side_shades(sk, order, colors[i])),
            text=hover, hovertemplate="%{text}<extra>" + names[i] + "</extra>",
        ))
    if trajectory:
        for i in range(n):
            root = scene_pts[i, :, 0, :]  # (F, 3)
            traces.append(go.Scatter3d(
                x=_rounded(root[:, 0]), y=_rounded(root[:, 1]), z=[round(floor_y, 3)] * len(times),
                mode="lines", line=dict(color=colors[i], width=3, dash="dot"), name=f"{names[i]} root path",
                legendgroup=f"m{i}", showlegend=False, hoverinfo="skip",
            ))
    if floor:
        (x0, x1), (y0, y1) = ranges[0], ranges[1]
        step = 0.5 if max(x1 - x0, y1 - y0) <= 6 else 1.0
        gx, gy, gz = [], [], []
        for v in np.arange(math.ceil(x0 / step) * step, x1, step):
            gx += [round(float(v), 3)] * 2 + [None]; gy += [y0, y1, None]; gz += [round(floor_y, 3)] * 2 + [None]
        for v in np.arange(math.ceil(y0 / step) * step, y1, step):
            gx += [x0, x1, None]; gy += [round(float(v), 3)] * 2 + [None]; gz += [round(floor_y, 3)] * 2 + [None]
        traces.append(go.Scatter3d(x=gx, y=gy, z=gz, mode="lines", line=dict(color=GRID_COLOR, width=1),
                                   showlegend=False, hoverinfo="skip", name="grid"))
        traces.append(go.Mesh3d(
            x=[x0, x1, x1, x0], y=[y0, y0, y1, y1], z=[round(floor_y, 3)] * 4, i=[0, 0], j=[1, 2], k=[2, 3],
            color=FLOOR_COLOR, opacity=0.6, flatshading=True, lighting=dict(ambient=1.0, diffuse=0.0, specular=0.0),
            hoverinfo="skip", showlegend=False, name="floor",
        ))

    frame_ms = round(1000.0 * stride / fps, 3)
    frames = [
        go.Frame(
            name=str(t),
            data=[go.Scatter3d(x=_rounded(coords[i, k, :, 0], gaps), y=_rounded(coords[i, k, :, 1], gaps),
                               z=_rounded(coords[i, k, :, 2], gaps)) for i in range(n)],
            traces=list(range(n)),
        )
        for k, t in enumerate(times)
    ]
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0},
            "mode": "immediate"}
    pause = {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}
    axis = dict(autorange=False, showbackground=False, gridcolor="#e5e5e5", zeroline=False, showspikes=False)
    top = 30 + 20 * title_lines
    fig = go.Figure(data=traces, frames=frames)
    fig.update_layout(
        template=TEMPLATE, height=height, margin=dict(l=0, r=0, t=top, b=0),
        title=dict(text=title_text) if title_text else None,
        showlegend=n > 1 or titles is not None or isinstance(motions, Mapping),
        legend=dict(x=0.0, y=1.0),
        scene=dict(
            # data axes after the (x, y, z) -> (z, x, y) rotation: plotly x = data z (forward), y = data x
            xaxis=dict(range=ranges[0], title=dict(text="z (m)"), **axis),
            yaxis=dict(range=ranges[1], title=dict(text="x (m)"), **axis),
            zaxis=dict(range=ranges[2], title=dict(text="y (m)"), **axis),
            aspectmode="manual", aspectratio=aspect, domain=dict(x=[0, 1], y=[0.1, 1]),  # slider below
            camera=dict(up=dict(x=0, y=0, z=1), eye=dict(x=1.4, y=0.6, z=0.5), center=dict(x=0, y=0, z=-0.12)),
        ),
        updatemenus=[dict(
            type="buttons", direction="left", showactive=False, x=0.0, y=0.0, xanchor="left", yanchor="top",
            pad=dict(t=0, r=10),
            buttons=[dict(label="Play", method="animate", args=[None, play]),
                     dict(label="Pause", method="animate", args=[[None], pause])],
        )],
        sliders=[dict(
            active=0, x=0.14, len=0.86, y=0.0, xanchor="left", yanchor="top", pad=dict(t=0, b=0),
            currentvalue=dict(prefix="frame ", font=dict(size=12)), ticklen=0, minorticklen=0,
            font=dict(color="rgba(0,0,0,0)"),  # 196 tick labels would overlap; the current value shows the frame
            steps=[dict(label=str(t), method="animate", args=[[str(t)], still]) for t in times],
        )],
    )
    return fig
