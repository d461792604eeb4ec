"""Small plotly helpers the chapters share, so every figure in the book looks alike and stays small.

All helpers return a ``plotly.graph_objects.Figure`` built from the same compact template, carry numbers as
float32 arrays (plotly serialises numpy arrays as base64 ``bdata``: ~5.3 characters a value instead of ~18
for a float64 in a list) and contain nothing random, so the same input gives byte-identical JSON.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from motionlab.data.features import feature_slices
from motionlab.data.skeleton import Skeleton, get_skeleton
from motionlab.errors import InputError

# Distinct hues, in the order motions/curves are given: blue, red, green, orange, purple, ...
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")

_AXIS = dict(gridcolor="#e8e8e8", linecolor="#888888", showline=True, zeroline=False, ticks="outside",
             tickcolor="#888888", automargin=True)
#: The book's figure template: white, light grid, the palette above.  ~0.5 KB of JSON instead of the ~7 KB
#: of plotly's default template, which every figure would otherwise embed.
TEMPLATE = go.layout.Template(layout=dict(
    font=dict(family="Arial, sans-serif", size=12, color="#222222"),
    colorway=list(PALETTE), paper_bgcolor="white", plot_bgcolor="white",
    xaxis=_AXIS, yaxis=_AXIS, hoverlabel=dict(namelength=-1),
    legend=dict(bgcolor="rgba(255,255,255,0.7)"),
    title=dict(x=0.5, xanchor="center", font=dict(size=14)),
))


def shade(color: str, factor: float) -> str:
    """A darker (``factor < 1``) or lighter (``factor > 1``, towards white) version of a ``"#rrggbb"`` colour."""
    rgb = np.array([int(color[k:k + 2], 16) for k in (1, 3, 5)], dtype=np.float64)
    rgb = rgb * factor if factor <= 1 else rgb + (255 - rgb) * min(factor - 1, 1.0)
    return "#%02x%02x%02x" % tuple(np.clip(np.round(rgb), 0, 255).astype(int))


def _array(values: Any, name: str, ndim: int | None = None) -> np.ndarray:
    """A float64 numpy copy of ``values`` (numpy, torch, list), checked for rank."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().double().numpy()
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} could not be read as numbers: {err}") from None
    if ndim is not None and a.ndim != ndim:
        raise InputError(f"{name} has shape {a.shape}: expected a {ndim}-d array")
    return a


def _f32(a: np.ndarray) -> np.ndarray:
    """float32 for the figure: compact base64 in the JSON, ~7 significant digits (plenty for a plot)."""
    return np.ascontiguousarray(a, dtype=np.float32)


def _base_layout(fig: go.Figure, title: str | None, xlabel: str | None, ylabel: str | None,
                 height: int | None) -> go.Figure:
    fig.update_layout(template=TEMPLATE, title=dict(text=title) if title else None,
                      margin=dict(l=60, r=20, t=50 if title else 20, b=50), height=height)
    if xlabel:
        fig.update_xaxes(title_text=xlabel)
    if ylabel:
        fig.update_yaxes(title_text=ylabel)
    return fig


def line_plot(
    curves: Mapping[str, Any], title: str | None = None, xlabel: str | None = None, ylabel: str | None = None,
    log_y: bool = False, log_x: bool = False, markers: bool = False,
    hlines: Mapping[str, float] | None = None, height: int | None = 380,
) -> go.Figure:
    """Curves sharing axes (training losses, metric vs. codebook size, ...).

    Args:
        curves: ``name -> (x, y)`` (a tuple of two 1-d arrays of equal length) or ``name -> y`` (x is
            then 0, 1, 2, ...).  Non-finite y values leave gaps.
        log_y / log_x: logarithmic axes (log axes need positive values; others are not drawn by plotly).
        markers: draw a marker at every point as well.
        hlines: ``label -> y`` horizontal dashed reference lines (e.g. the ground-truth value of a metric).
    """
    if not curves:
        raise InputError("line_plot needs at least one curve: got an empty dict")
    fig = go.Figure()
    for name, value in curves.items():
        if isinstance(value, tuple) and len(value) == 2:
            x, y = _array(value[0], f"curve {name!r} x", 1), _array(value[1], f"curve {name!r} y", 1)
        else:
            y = _array(value, f"curve {name!r}", 1)
            x = np.arange(len(y), dtype=np.float64)
        if len(x) != len(y):
            raise InputError(f"curve {name!r} has {len(x)} x values but {len(y)} y values")
        x_out = x.astype(np.int32) if np.all(x == np.round(x)) and np.abs(x).max(initial=0) < 2**31 else _f32(x)
        fig.add_trace(go.Scatter(x=x_out, y=_f32(y), name=str(name), mode="lines+markers" if markers else "lines",
                                 hovertemplate="%{x}, %{y:.4g}"))
    for label, value in (hlines or {}).items():
        value = float(value)
        if log_y and value <= 0:
            raise InputError(f"hline {label!r} = {value} cannot be drawn on a log y axis")
        fig.add_hline(y=value, line=dict(dash="dash", color="#555555", width=1))
        # label placed by hand: add_hline's own annotation lands at the wrong height on log axes
        fig.add_annotation(text=str(label), xref="paper", x=0.0, yref="y", y=math.log10(value) if log_y else value,
                           xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=11, color="#555555"))
    _base_layout(fig, title, xlabel, ylabel, height)
    if log_y:
        fig.update_yaxes(type="log")
    if log_x:
        fig.update_xaxes(type="log")
    fig.update_layout(showlegend=len(curves) > 1)
    return fig


def _bar_series(data: Any) -> dict[str, dict[str, tuple[float, float]]]:
    """Normalise the accepted inputs of :func:`bar_with_error` to ``series -> category -> (mean, ci)``."""
    if isinstance(data, pd.DataFrame):
        missing = {"mean", "ci"} - set(data.columns)
        if missing:
            raise InputError(f"the table needs columns 'mean' and 'ci' (missing {sorted(missing)}); "
                             f"it has {list(data.columns)}")
        if "series" in data.columns:
            out: dict[str, dict[str, tuple[float, float]]] = {}
            for _, row in data.iterrows():
                out.setdefault(str(row["series"]), {})[str(row.name)] = (row["mean"], row["ci"])
            return out
        return {"": {str(k): (row["mean"], row["ci"]) for k, row in data.iterrows()}}
    if isinstance(data, Mapping) and data:
        first = next(iter(data.values()))
        if isinstance(first, Mapping):
            return {str(s): {str(k): v for k, v in cats.items()} for s, cats in data.items()}
        return {"": {str(k): v for k, v in data.items()}}
    raise InputError("bar_with_error takes a DataFrame with 'mean' and 'ci' columns, a dict name -> (mean, ci), "
                     f"or a dict series -> {{name -> (mean, ci)}}; got {type(data).__name__}")


def bar_with_error(
    data: Any, title: str | None = None, xlabel: str | None = None, ylabel: str | None = None,
    show_values: bool = True, fmt: str = ".3g", height: int | None = 380,
) -> go.Figure:
    """Bars with error bars: a metric per model/setting with its confidence interval.

    Args:
        data: a ``DataFrame`` indexed by name with columns ``mean`` and ``ci`` (and optionally ``series``
            for grouped bars); or a dict ``name -> (mean, ci)``; or a dict ``series -> {name -> (mean, ci)}``
            for grouped bars.  ``ci`` is the half-width of the interval (the bar spans mean ± ci); ``None``
            or NaN draws no error bar.
        show_values: write "mean ± ci" on each bar, formatted with ``fmt``.
    """
    series = _bar_series(data)
    fig = go.Figure()
    for name, cats in series.items():
        if not cats:
            raise InputError(f"series {name!r} has no bars")
        means, cis = [], []
        for cat, pair in cats.items():
            try:
                mean, ci = pair
            except (TypeError, ValueError):
                raise InputError(f"bar {cat!r} must be a (mean, ci) pair, got {pair!r}") from None
            means.append(float(mean))
            cis.append(float("nan") if ci is None else float(ci))
        means_a, cis_a = np.array(means), np.array(cis)
        if not np.isfinite(means_a).all():
            raise InputError(f"bar means must be finite numbers: got {dict(zip(cats, means))}")
        text = [format(m, fmt) + ("" if not math.isfinite(c) else " ± " + format(c, fmt)) for m, c in zip(means, cis)]
        fig.add_trace(go.Bar(
            x=list(cats.keys()), y=_f32(means_a), name=name or None,
            error_y=dict(type="data", array=_f32(np.nan_to_num(cis_a, nan=0.0)), visible=bool(np.isfinite(cis_a).any()),
                         thickness=1.2, width=4),
            # inside at the bar's base when it fits (clear of the error bar), above the bar otherwise
            text=text if show_values else None, textposition="auto" if show_values else None,
            insidetextanchor="start" if show_values else None,
            hovertemplate="%{x}: %{text}<extra></extra>" if show_values else None,
        ))
    _base_layout(fig, title, xlabel, ylabel, height)
    fig.update_layout(barmode="group", showlegend=len(series) > 1, uniformtext=dict(minsize=9, mode="hide"))
    fig.update_xaxes(type="category")  # names such as "512" stay labels, not positions on a number line
    return fig


def heatmap(
    matrix: Any, x_labels: Sequence[Any] | None = None, y_labels: Sequence[Any] | None = None,
    title: str | None = None, xlabel: str | None = None, ylabel: str | None = None,
    colorscale: str = "Viridis", zmin: float | None = None, zmax: float | None = None,
    annotate: bool | None = None, fmt: str = ".2f", height: int | None = None,
) -> go.Figure:
    """A matrix as a heatmap (similarity matrices, token co-occurrence, per-code statistics).

    Row 0 is drawn at the top, as a matrix is read.  ``annotate`` writes each value in its cell
    (default: when the matrix has at most 400 cells), formatted with ``fmt``.
    """
    m = _array(matrix, "matrix", 2)
    rows, cols = m.shape
    if x_labels is not None and len(x_labels) != cols:
        raise InputError(f"got {len(x_labels)} x_labels for a matrix with {cols} columns")
    if y_labels is not None and len(y_labels) != rows:
        raise InputError(f"got {len(y_labels)} y_labels for a matrix with {rows} rows")
    if annotate is None:
        annotate = rows * cols <= 400
    fig = go.Figure(go.Heatmap(
        z=_f32(m), x=[str(v) for v in x_labels] if x_labels is not None else None,
        y=[str(v) for v in y_labels] if y_labels is not None else None,
        colorscale=colorscale, zmin=zmin, zmax=zmax,
        texttemplate="%{z:" + fmt + "}" if annotate else None, hovertemplate="%{y}, %{x}: %{z:.4g}<extra></extra>",
    ))
    _base_layout(fig, title, xlabel, ylabel, height or max(300, min(700, 120 + 22 * rows)))
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category" if y_labels is not None else None)
    fig.update_xaxes(showgrid=False, type="category" if x_labels is not None else None)
    return fig


def step_heatmap(
    matrices: Sequence[Any], step_labels: Sequence[str] | None = None, title: str | None = None,
    xlabel: str | None = None, ylabel: str | None = None, colorscale: str = "Viridis",
    zmin: float | None = None, zmax: float | None = None, height: int | None = None,
) -> go.Figure:
    """A process step by step: one heatmap per step (same shape), with play / pause and a slider.

    The chapters animate iterative decoders with it (chapter 7: which tokens are masked, drawn or fixed at
    each of MaskGIT's iterations).  The colour range is shared by all steps (default: their min and max).
    """
    mats = [_array(m, f"matrices[{i}]", 2) for i, m in enumerate(matrices)]
    if not mats:
        raise InputError("step_heatmap needs at least one matrix")
    if any(m.shape != mats[0].shape for m in mats):
        raise InputError(f"step_heatmap: matrices have shapes {sorted({m.shape for m in mats})}; expected one shape")
    labels = [f"step {i + 1}" for i in range(len(mats))] if step_labels is None else [str(v) for v in step_labels]
    if len(labels) != len(mats):
        raise InputError(f"got {len(labels)} step_labels for {len(mats)} matrices")
    lo = float(np.nanmin([np.nanmin(m) for m in mats])) if zmin is None else zmin
    hi = float(np.nanmax([np.nanmax(m) for m in mats])) if zmax is None else zmax

    def trace(m):
        return go.Heatmap(z=_f32(m), colorscale=colorscale, zmin=lo, zmax=hi,
                          hovertemplate="row %{y}, column %{x}: %{z:.4g}<extra></extra>")

    fig = go.Figure(trace(mats[0]), frames=[go.Frame(data=[trace(m)], name=n) for m, n in zip(mats, labels)])
    _base_layout(fig, title, xlabel, ylabel, height or max(260, min(600, 160 + 22 * mats[0].shape[0])))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False)
    play = {"frame": {"duration": 700, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    fig.update_layout(
        updatemenus=[{"type": "buttons", "x": 0, "y": -0.25, "xanchor": "left", "showactive": False,
                      "buttons": [{"label": "play", "method": "animate", "args": [None, play]},
                                  {"label": "pause", "method": "animate",
                                   "args": [[None], {"frame": {"duration": 0}, "mode": "immediate"}]}]}],
        sliders=[{"active": 0, "x": 0.15, "y": -0.2, "len": 0.85, "currentvalue": {"prefix": ""},
                  "steps": [{"label": n, "method": "animate",
                             "args": [[n], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
                            for n in labels]}],
        margin={"b": 110},
    )
    return fig


def pca_2d(points: Any) -> np.ndarray:
    """Project ``(N, D)`` points on their two main principal axes -> ``(N, 2)``, deterministically.

    Each axis' sign is fixed so that its largest loading is positive (SVD alone leaves signs arbitrary).
    """
    x = _array(points, "points", 2)
    if x.shape[0] < 2:
        raise InputError(f"pca_2d needs at least 2 points, got {x.shape[0]}")
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)  # rows of vt: principal directions
    axes = vt[:2]
    if axes.shape[0] < 2:  # D == 1: the second coordinate is zero
        axes = np.vstack([axes, np.zeros_like(axes)])
    signs = np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])
    signs[signs == 0] = 1.0
    return x @ (axes * signs[:, None]).T  # (N, 2)


def scatter_2d(
    points: Any, labels: Sequence[Any] | np.ndarray | None = None, title: str | None = None,
    xlabel: str | None = None, ylabel: str | None = None, hover: Sequence[str] | None = None,
    color_title: str | None = None, size: float = 6, height: int | None = 450,
) -> go.Figure:
    """2-d points (e.g. a codebook projected with :func:`pca_2d`), coloured by label.

    ``labels``: strings/bools are categories (one legend entry each, in sorted order); numbers are
    drawn on a colour scale (e.g. how often each code is used) titled ``color_title``.  ``hover``: one
    text per point (e.g. ``"code 17"``).
    """
    p = _array(points, "points", 2)
    if p.shape[1] != 2:
        raise InputError(f"points has shape {p.shape}: expected (N, 2); project higher dims with pca_2d first")
    n = p.shape[0]
    if hover is not None and len(hover) != n:
        raise InputError(f"got {len(hover)} hover texts for {n} points")
    hover_list = [str(h) for h in hover] if hover is not None else None
    fig = go.Figure()
    if labels is None:
        fig.add_trace(go.Scatter(x=_f32(p[:, 0]), y=_f32(p[:, 1]), mode="markers", marker=dict(size=size),
                                 text=hover_list, showlegend=False))
    else:
        labels_a = np.asarray(labels)
        if labels_a.shape != (n,):
            raise InputError(f"got labels of shape {labels_a.shape} for {n} points: give one label per point")
        if labels_a.dtype.kind in "iuf":
            fig.add_trace(go.Scatter(
                x=_f32(p[:, 0]), y=_f32(p[:, 1]), mode="markers", text=hover_list, showlegend=False,
                marker=dict(size=size, color=_f32(labels_a), colorscale="Viridis", showscale=True,
                            colorbar=dict(title=dict(text=color_title or ""))),
            ))
        else:
            for cat in sorted(set(labels_a.tolist()), key=str):
                sel = labels_a == cat
                fig.add_trace(go.Scatter(
                    x=_f32(p[sel, 0]), y=_f32(p[sel, 1]), mode="markers", name=str(cat), marker=dict(size=size),
                    text=[h for h, s in zip(hover_list, sel) if s] if hover_list else None,
                ))
    _base_layout(fig, title, xlabel, ylabel, height)
    return fig


def table_figure(df: pd.DataFrame, title: str | None = None, fmt: str = ".4g", height: int | None = None) -> go.Figure:
    """A DataFrame as a plotly table (numbers formatted with ``fmt``; a named or non-default index is shown)."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"table_figure takes a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise InputError("table_figure got an empty DataFrame")
    show_index = df.index.name is not None or not isinstance(df.index, pd.RangeIndex)
    frame = df.reset_index() if show_index else df

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "" if math.isnan(v) else format(float(v), fmt)
        return str(v)

    columns = [[cell(v) for v in frame[c]] for c in frame.columns]
    fig = go.Figure(go.Table(
        header=dict(values=[f"<b>{c}</b>" for c in frame.columns], fill_color="#e8eef6", align="left"),
        cells=dict(values=columns, fill_color="white", align="left", line_color="#e0e0e0"),
    ))
    rows = len(frame)
    _base_layout(fig, title, None, None, height or 60 + (40 if title else 0) + 28 * (rows + 1))
    fig.update_layout(margin=dict(l=10, r=10, t=40 if title else 10, b=10))
    return fig


def _slice_dim_names(sk: Skeleton, name: str, width: int) -> list[str]:
    if name == "root_rot_vel":
        return ["angular velocity (y)"]
    if name == "root_lin_vel":
        return ["velocity x", "velocity z"]
    if name == "root_y":
        return ["root height"]
    if name == "contacts":
        feet = [*sk.foot_left, *sk.foot_right]
        return [f"contact {sk.joint_names[j]}" for j in feet][:width]
    return [f"{name} {k}" for k in range(width)]


def feature_slices_plot(
    features: Any, skeleton: str | Skeleton = "t2m", title: str | None = None,
    mean: Any = None, std: Any = None, height: int = 900,
) -> go.Figure:
    """The feature vector of one motion over time, one row per named slice (HumanML3D 263-d, KIT 251-d).

    Slices of at most four dimensions (root angular velocity, root linear velocity, root height, foot
    contacts) are drawn as curves; the wide ones (RIC positions, 6D rotations, local velocities) as
    heatmaps with frames along x and the absolute feature index along y, each on its own symmetric colour
    range.  With ``mean`` and ``std`` the features are standardised first ((f - mean) / std).
    """
    sk = get_skeleton(skeleton)
    f = _array(features, "features", 2)
    if f.shape[1] != sk.feature_dim:
        raise InputError(f"features have {f.shape[1]} dims but skeleton {sk.name!r} has {sk.feature_dim}-d features"
                         " (HumanML3D: 263, KIT-ML: 251)")
    if f.shape[0] == 0:
        raise InputError("features have 0 frames")
    if (mean is None) != (std is None):
        raise InputError("give both mean and std to standardise the features, or neither")
    if mean is not None:
        mu, sd = _array(mean, "mean", 1), _array(std, "std", 1)
        if mu.shape != (sk.feature_dim,) or sd.shape != (sk.feature_dim,):
            raise InputError(f"mean/std have shapes {mu.shape}/{sd.shape}: expected ({sk.feature_dim},)")
        f = (f - mu) / np.where(sd > 0, sd, 1.0)
    slices = feature_slices(sk).groups  # [(name, slice)] in order, from the data layer
    weights = [1.0 if s.stop - s.start <= 4 else math.sqrt(s.stop - s.start) / 2.5 for _, s in slices]
    fig = make_subplots(
        rows=len(slices), cols=1, shared_xaxes=True, vertical_spacing=0.025,
        row_heights=[w / sum(weights) for w in weights],
        subplot_titles=[f"{name} [{s.start}:{s.stop}]" for name, s in slices],
    )
    frames = np.arange(f.shape[0], dtype=np.int32)
    color = 0
    for row, (name, s) in enumerate(slices, start=1):
        block = f[:, s]  # (T, width)
        width = block.shape[1]
        if width <= 4:
            for k, label in enumerate(_slice_dim_names(sk, name, width)):
                fig.add_trace(go.Scatter(x=frames, y=_f32(block[:, k]), mode="lines", name=label,
                                         line=dict(width=1.5, color=PALETTE[color % len(PALETTE)]),
                                         hovertemplate="frame %{x}: %{y:.4g}"), row=row, col=1)
                color += 1
        else:
            limit = float(np.abs(block).max()) or 1.0
            fig.add_trace(go.Heatmap(
                x=frames, y=np.arange(s.start, s.stop, dtype=np.int32), z=_f32(block.T), colorscale="RdBu",
                reversescale=True, zmin=-limit, zmax=limit, showscale=False, name=name,
                hovertemplate="frame %{x}, dim %{y}: %{z:.4g}<extra>" + name + "</extra>",
            ), row=row, col=1)
    _base_layout(fig, title, None, None, height)
    fig.update_xaxes(title_text="frame", row=len(slices), col=1)
    fig.update_layout(legend=dict(x=1.01, y=1.0), margin=dict(r=10))
    fig.update_annotations(font=dict(size=11))
    return fig
