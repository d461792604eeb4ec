"""motionlab.viz.plots: the chapters' shared figure helpers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from motionlab.data.skeleton import get_skeleton
from motionlab.errors import InputError
from motionlab.viz import (
    TEMPLATE,
    bar_with_error,
    feature_slices_plot,
    heatmap,
    line_plot,
    pca_2d,
    scatter_2d,
    shade,
    table_figure,
)


def test_template_is_compact():
    assert len(json.dumps(TEMPLATE.to_plotly_json())) < 1500  # plotly's default template is ~7 KB


def test_shade_darkens_and_lightens():
    assert shade("#204080", 0.5) == "#102040"
    assert shade("#204080", 2.0) == "#ffffff"
    assert shade("#000000", 1.5) == "#808080"


def test_line_plot_curves_axes_and_reference_lines():
    steps = np.arange(0, 100, 10)
    fig = line_plot({"train": (steps, np.exp(-steps / 50)), "val": torch.linspace(1, 0.5, 10)},
                    title="loss", xlabel="step", ylabel="loss", log_y=True, hlines={"target": 0.4})
    assert [t.name for t in fig.data] == ["train", "val"]
    assert fig.data[0].x.dtype == np.int32 and fig.data[0].y.dtype == np.float32
    np.testing.assert_allclose(fig.data[0].y, np.exp(-steps / 50), rtol=1e-6)
    np.testing.assert_array_equal(fig.data[1].x, np.arange(10))  # y alone -> x = 0..n-1
    assert fig.layout.yaxis.type == "log" and fig.layout.xaxis.title.text == "step"
    assert fig.layout.shapes[0].y0 == 0.4 and fig.layout.annotations[0].text == "target"
    assert fig.layout.annotations[0].y == pytest.approx(np.log10(0.4))  # log axes place labels in log10 units
    assert line_plot({"a": [1.0, 2.0]}, hlines={"b": 0.4}).layout.annotations[0].y == 0.4
    assert fig.layout.showlegend is True
    assert line_plot({"only": [1.0, 2.0]}).layout.showlegend is False


def test_line_plot_errors():
    with pytest.raises(InputError, match="at least one curve"):
        line_plot({})
    with pytest.raises(InputError, match="'a' has 3 x values but 2 y values"):
        line_plot({"a": ([0, 1, 2], [1.0, 2.0])})
    with pytest.raises(InputError, match="expected a 1-d array"):
        line_plot({"a": np.zeros((3, 2))})
    with pytest.raises(InputError, match="cannot be drawn on a log y axis"):
        line_plot({"a": [1.0, 2.0]}, log_y=True, hlines={"zero": 0.0})


def test_bar_with_error_from_dict_and_dataframe_agree():
    data = {"GT": (0.002, 0.0001), "VQ": (0.11, 0.004), "plain": (0.31, None)}
    fig = bar_with_error(data, title="FID")
    bar = fig.data[0]
    assert list(bar.x) == ["GT", "VQ", "plain"]
    np.testing.assert_allclose(bar.y, [0.002, 0.11, 0.31], rtol=1e-6)
    np.testing.assert_allclose(bar.error_y.array, [0.0001, 0.004, 0.0], rtol=1e-6)
    assert list(bar.text) == ["0.002 ± 0.0001", "0.11 ± 0.004", "0.31"]
    df = pd.DataFrame({"mean": [0.002, 0.11, 0.31], "ci": [0.0001, 0.004, np.nan]}, index=["GT", "VQ", "plain"])
    assert bar_with_error(df, title="FID").to_json() == fig.to_json()


def test_bar_with_error_grouped():
    fig = bar_with_error({"ema": {"512": (1.0, 0.1), "1024": (0.8, 0.1)},
                          "plain": {"512": (2.0, 0.2), "1024": (2.5, 0.3)}})
    assert [t.name for t in fig.data] == ["ema", "plain"] and fig.layout.barmode == "group"
    assert fig.layout.xaxis.type == "category"  # "512", "1024" are names, not positions
    df = pd.DataFrame({"mean": [1.0, 2.0], "ci": [0.1, 0.2], "series": ["ema", "plain"]}, index=["512", "512"])
    grouped = bar_with_error(df)
    assert [t.name for t in grouped.data] == ["ema", "plain"]


def test_bar_with_error_errors():
    with pytest.raises(InputError, match=r"columns 'mean' and 'ci' \(missing \['ci'\]\)"):
        bar_with_error(pd.DataFrame({"mean": [1.0]}))
    with pytest.raises(InputError, match="must be a \\(mean, ci\\) pair"):
        bar_with_error({"a": 3.0})
    with pytest.raises(InputError, match="finite"):
        bar_with_error({"a": (float("nan"), 0.1)})
    with pytest.raises(InputError, match="got list"):
        bar_with_error([1, 2])


def test_heatmap_labels_orientation_and_annotation():
    m = np.arange(6, dtype=float).reshape(2, 3)
    fig = heatmap(m, x_labels=["a", "b", "c"], y_labels=[0, 1], title="m")
    hm = fig.data[0]
    np.testing.assert_array_equal(hm.z, m)
    assert list(hm.x) == ["a", "b", "c"] and list(hm.y) == ["0", "1"]
    assert fig.layout.yaxis.autorange == "reversed"  # row 0 on top, as a matrix reads
    assert fig.layout.yaxis.type == "category" and fig.layout.xaxis.type == "category"
    assert hm.texttemplate == "%{z:.2f}"
    assert heatmap(np.zeros((30, 30))).data[0].texttemplate is None  # too many cells to annotate
    with pytest.raises(InputError, match="2 x_labels for a matrix with 3 columns"):
        heatmap(m, x_labels=["a", "b"])
    with pytest.raises(InputError, match="2-d array"):
        heatmap(np.zeros(4))


def test_pca_2d_is_deterministic_and_orders_by_variance():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 5)) * np.array([5.0, 0.1, 2.0, 0.1, 0.1])
    p = pca_2d(x)
    assert p.shape == (200, 2)
    assert p[:, 0].var() > p[:, 1].var() > 3.0  # first two principal axes: dims 0 and 2
    np.testing.assert_allclose(np.abs(np.corrcoef(p[:, 0], x[:, 0])[0, 1]), 1.0, atol=1e-2)
    np.testing.assert_array_equal(pca_2d(x), p)
    np.testing.assert_allclose(pca_2d(-x), -p, atol=1e-9)  # same axes (sign rule), so the projection flips
    with pytest.raises(InputError, match="at least 2 points"):
        pca_2d(np.zeros((1, 3)))


def test_pca_2d_sign_convention():
    x = np.array([[0.0, 0.0], [2.0, 0.1], [4.0, -0.1], [6.0, 0.0]])
    p1 = pca_2d(x)
    assert np.corrcoef(p1[:, 0], x[:, 0])[0, 1] > 0.99  # largest loading positive -> follows +x


def test_scatter_2d_categorical_and_numeric_labels():
    pts = np.array([[0, 0], [1, 1], [2, 0], [3, 1]], dtype=float)
    cat = scatter_2d(pts, labels=["dead", "used", "used", "dead"], hover=[f"code {i}" for i in range(4)])
    assert [t.name for t in cat.data] == ["dead", "used"]
    assert list(cat.data[0].text) == ["code 0", "code 3"]
    num = scatter_2d(pts, labels=np.array([0, 5, 9, 2]), color_title="uses")
    assert len(num.data) == 1 and num.data[0].marker.showscale is True
    assert num.data[0].marker.colorbar.title.text == "uses"
    with pytest.raises(InputError, match=r"\(N, 2\); project higher dims with pca_2d"):
        scatter_2d(np.zeros((4, 3)))
    with pytest.raises(InputError, match="one label per point"):
        scatter_2d(pts, labels=[1, 2])


def test_table_figure_formats_numbers_and_shows_named_index():
    df = pd.DataFrame({"FID": [0.123456, np.nan], "runs": [3, 4]}, index=pd.Index(["GT", "VQ"], name="model"))
    fig = table_figure(df, title="results")
    table = fig.data[0]
    assert list(table.header.values) == ["<b>model</b>", "<b>FID</b>", "<b>runs</b>"]
    assert [list(c) for c in table.cells.values] == [["GT", "VQ"], ["0.1235", ""], ["3", "4"]]
    plain = table_figure(pd.DataFrame({"a": [1.5]}))
    assert list(plain.data[0].header.values) == ["<b>a</b>"]  # default RangeIndex is not shown
    with pytest.raises(InputError, match="empty"):
        table_figure(pd.DataFrame())
    with pytest.raises(InputError, match="pandas DataFrame"):
        table_figure({"a": [1]})


@pytest.mark.parametrize("name, dim", [("t2m", 263), ("kit", 251)])
def test_feature_slices_plot_rows_tile_the_feature_vector(name, dim):
    fig = feature_slices_plot(np.zeros((6, dim)), skeleton=name)
    titles = [a.text for a in fig.layout.annotations]
    ranges = [tuple(int(v) for v in t.split("[")[1].rstrip("]").split(":")) for t in titles]
    assert [t.split(" ")[0] for t in titles] == ["root_rot_vel", "root_lin_vel", "root_y", "ric", "rot6d",
                                                 "local_vel", "contacts"]
    assert ranges[0][0] == 0 and ranges[-1][1] == dim == get_skeleton(name).feature_dim
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_feature_slices_plot_on_real_features(hml3d_sample):
    feats = np.load(hml3d_sample / "new_joint_vecs" / "012314.npy")  # (170, 263)
    fig = feature_slices_plot(feats, title="012314")
    heat = [t for t in fig.data if t.type == "heatmap"]
    lines = [t for t in fig.data if t.type == "scatter"]
    assert [t.name for t in heat] == ["ric", "rot6d", "local_vel"]
    assert len(lines) == 1 + 2 + 1 + 4
    assert [t.name for t in lines][-4:] == ["contact left_ankle", "contact left_foot", "contact right_ankle",
                                            "contact right_foot"]
    ric = heat[0]
    np.testing.assert_array_equal(ric.y, np.arange(4, 67))
    np.testing.assert_allclose(ric.z, feats[:, 4:67].T, rtol=1e-6)
    assert ric.zmin == -ric.zmax
    np.testing.assert_allclose(lines[-1].y, feats[:, 262])
    assert len(fig.to_json()) < 400_000
    mean, std = np.load(hml3d_sample / "Mean.npy"), np.load(hml3d_sample / "Std.npy")
    z = feature_slices_plot(feats, mean=mean, std=std)
    np.testing.assert_allclose(z.data[3].y, (feats[:, 3] - mean[3]) / std[3], rtol=1e-5)


def test_feature_slices_plot_kit_and_errors():
    fig = feature_slices_plot(np.zeros((10, 251)), skeleton="kit")
    assert len(fig.data) == 11
    with pytest.raises(InputError, match="263 dims but skeleton 'kit' has 251-d features"):
        feature_slices_plot(np.zeros((10, 263)), skeleton="kit")
    with pytest.raises(InputError, match="both mean and std"):
        feature_slices_plot(np.zeros((10, 263)), mean=np.zeros(263))


def test_helpers_are_deterministic():
    rng = np.random.default_rng(1)
    m, pts = rng.standard_normal((5, 5)), rng.standard_normal((50, 8))

    def build():
        return [heatmap(m).to_json(), scatter_2d(pca_2d(pts), labels=np.arange(50)).to_json(),
                line_plot({"a": m[0]}).to_json(), feature_slices_plot(rng_feats()).to_json()]

    def rng_feats():
        return np.random.default_rng(2).standard_normal((20, 263))

    assert build() == build()


def test_step_heatmap_has_one_frame_per_step_and_a_shared_colour_range():
    from motionlab.viz.plots import step_heatmap

    steps = [np.full((2, 5), float(i)) for i in range(4)]
    fig = step_heatmap(steps, title="decoding")
    assert [f.name for f in fig.frames] == ["step 1", "step 2", "step 3", "step 4"]
    assert all((f.data[0].zmin, f.data[0].zmax) == (0.0, 3.0) for f in fig.frames)
    assert np.array_equal(np.asarray(fig.frames[2].data[0].z), steps[2])
    assert len(fig.layout.sliders[0].steps) == 4
    with pytest.raises(InputError, match="one shape"):
        step_heatmap([np.zeros((2, 5)), np.zeros((3, 5))])
    with pytest.raises(InputError, match="step_labels"):
        step_heatmap(steps, step_labels=["a"])
