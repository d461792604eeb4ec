"""motionlab.viz.export: GIFs for slides, self-contained HTML for the CLI."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from motionlab.errors import InputError
from motionlab.viz import animate, save_gif, save_html

from test_viz_animate import walk  # tests/ is on sys.path under pytest (test modules outside a package)

pytest.importorskip("matplotlib", reason="the 'export' extra (matplotlib) is not installed")
Image = pytest.importorskip("PIL.Image")


def test_gif_has_one_image_per_frame(tmp_path):
    path = save_gif({"a": walk(12), "b": walk(7, seed=1)}, tmp_path / "out" / "walk.gif", caption="a person walks")
    assert path == tmp_path / "out" / "walk.gif"
    with Image.open(path) as im:
        assert im.format == "GIF"
        assert im.n_frames == 12  # the longer motion's length; the shorter holds its last pose
        assert im.info["duration"] == 50  # 20 fps
        assert im.size == (640, 350)  # two 3.2-inch panels at 100 dpi, plus the caption line
        first = np.asarray(im.convert("RGB"))
        im.seek(11)
        last = np.asarray(im.convert("RGB"))
    assert first.std() > 5 and (first != last).any()  # something is drawn, and it moves


def test_gif_stride_and_kit(tmp_path):
    path = save_gif(walk(30, joints=21, units=1000.0), tmp_path / "kit.gif", skeleton="kit", max_frames=10, fps=20)
    with Image.open(path) as im:
        assert im.n_frames == 10
        assert im.info["duration"] == 150  # every 3rd frame, played at the data's speed


def test_gif_errors(tmp_path):
    with pytest.raises(InputError, match="should end in .gif"):
        save_gif(walk(5), tmp_path / "x.mp4")
    with pytest.raises(InputError, match="21 joints but skeleton 't2m' has 22"):
        save_gif(np.zeros((5, 21, 3)) + 1, tmp_path / "x.gif")
    with pytest.raises(InputError, match="fps"):
        save_gif(walk(5), tmp_path / "x.gif", fps=-1)
    assert not (tmp_path / "x.gif").exists()


def test_gif_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.animation", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"motionlab\[export\]"):
        save_gif(walk(5), tmp_path / "x.gif")


def test_save_html_is_self_contained_and_deterministic(tmp_path):
    fig = animate(walk(10), caption="a person walks")
    a = save_html(fig, tmp_path / "a.html")
    b = save_html(fig, tmp_path / "sub" / "b.html")
    text = a.read_text()
    assert a.stat().st_size > 1_000_000  # plotly.js is inlined
    assert 'id="motionlab-figure"' in text and "a person walks" in text
    assert "<script src=" not in text  # no script fetched from the network
    assert a.read_bytes() == b.read_bytes()
    with pytest.raises(InputError, match="plotly Figure"):
        save_html({"data": []}, tmp_path / "c.html")
    with pytest.raises(InputError, match="should end in .html"):
        save_html(fig, tmp_path / "c.png")
