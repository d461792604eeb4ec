"""motionlab.viz.animate: frames, slider, fixed axes, layouts, size budget, errors, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motionlab.data.skeleton import get_skeleton
from motionlab.errors import InputError
from motionlab.viz import animate, chain_order, to_plotly


def walk(frames: int = 40, joints: int = 22, seed: int = 0, units: float = 1.0) -> np.ndarray:
    """A skeleton-sized random motion drifting along +z: (T, J, 3), y up, feet near y = 0."""
    sk = get_skeleton("t2m" if joints == 22 else "kit")
    rest = np.zeros((joints, 3))
    for j, p in enumerate(sk.parents):  # template rest pose from the skeleton's offsets (metres)
        if p >= 0:
            rest[j] = rest[p] + sk.template_offsets[j] / sk.units_per_metre
    rest[:, 1] -= rest[:, 1].min()
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None]
    motion = rest[None] + 0.02 * rng.standard_normal((frames, joints, 3)) + np.array([0.0, 0.0, 0.03]) * t
    motion[..., 1] = np.maximum(motion[..., 1], 0.0)
    return motion * units


def frame_points(fig, trace: int) -> np.ndarray:
    """All (x, y, z) points of one skeleton trace over all frames, gaps removed: (N, 3)."""
    pts = []
    for frame in fig.frames:
        k = list(frame.traces).index(trace)
        d = frame.data[k]
        pts += [(x, y, z) for x, y, z in zip(d.x, d.y, d.z) if x is not None]
    return np.array(pts, dtype=float)


@pytest.fixture(scope="module")
def sample_joints(hml3d_sample) -> np.ndarray:
    return np.load(hml3d_sample / "new_joints" / "012314.npy")  # (170, 22, 3) real HumanML3D motion


def test_frames_and_slider_cover_every_frame_from_zero():
    fig = animate(walk(30))
    assert len(fig.frames) == 30
    names = [f.name for f in fig.frames]
    assert names == [str(t) for t in range(30)]
    steps = fig.layout.sliders[0].steps
    assert [list(s.args[0]) for s in steps] == [[n] for n in names]
    assert all(s.method == "animate" and s.args[1]["frame"]["redraw"] is True for s in steps)
    # the base skeleton is frame 0
    assert list(fig.data[0].x) == list(fig.frames[0].data[0].x)
    assert list(fig.data[0].z) == list(fig.frames[0].data[0].z)


def test_play_pause_buttons_run_at_the_data_rate():
    buttons = animate(walk(10)).layout.updatemenus[0].buttons
    play, pause = buttons
    assert play.label == "Play" and play.method == "animate" and play.args[0] is None
    assert play.args[1]["frame"] == {"duration": 50.0, "redraw": True}  # 20 fps -> 50 ms
    assert list(pause.args[0]) == [None] and pause.args[1]["mode"] == "immediate"
    play10 = animate(walk(10), fps=10).layout.updatemenus[0].buttons[0]
    assert play10.args[1]["frame"]["duration"] == 100.0


def test_long_motions_are_strided_to_max_frames_at_the_same_speed():
    fig = animate(walk(50), max_frames=20)  # stride 3 -> frames 0, 3, ..., 48
    assert [f.name for f in fig.frames] == [str(t) for t in range(0, 50, 3)]
    assert fig.layout.updatemenus[0].buttons[0].args[1]["frame"]["duration"] == 150.0


@pytest.mark.parametrize("layout", ["side", "overlay"])
def test_axes_are_fixed_and_contain_every_point(layout):
    motions = [walk(25, seed=0), walk(40, seed=1) + np.array([0.3, 0.2, -0.5])]
    fig = animate(motions, layout=layout)
    scene = fig.layout.scene
    ranges = [scene.xaxis.range, scene.yaxis.range, scene.zaxis.range]
    assert all(ax.autorange is False for ax in (scene.xaxis, scene.yaxis, scene.zaxis))
    assert scene.aspectmode == "manual"
    extents = np.array([r[1] - r[0] for r in ranges])
    aspect = np.array([scene.aspectratio.x, scene.aspectratio.y, scene.aspectratio.z])
    np.testing.assert_allclose(aspect / aspect.max(), extents / extents.max(), atol=1e-3)  # true proportions
    assert 1.0 <= aspect.max() <= 1.6
    for trace in range(2):
        pts = frame_points(fig, trace)
        for a in range(3):
            assert ranges[a][0] <= pts[:, a].min() and pts[:, a].max() <= ranges[a][1], (layout, trace, a)


def test_y_up_data_becomes_plotly_z_up_without_mirroring():
    basis = np.eye(3)
    ex, ey, ez = to_plotly(basis)
    np.testing.assert_array_equal(ey, [0, 0, 1])  # data up -> plotly z
    np.testing.assert_array_equal(np.cross(ex, ey), ez)  # still right-handed: a rotation, not a reflection
    motion = walk(5)
    fig = animate(motion, trajectory=False, floor=False)
    order = chain_order("t2m")
    head = int(np.flatnonzero(order == 15)[0])
    assert fig.frames[3].data[0].z[head] == pytest.approx(motion[3, 15, 1], abs=6e-4)  # height of the head
    assert fig.frames[3].data[0].x[head] == pytest.approx(motion[3, 15, 2], abs=6e-4)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_trace_count_per_skeleton_and_extras(n):
    motions = [walk(12, seed=s) for s in range(n)]
    full = animate(motions)
    assert len(full.data) == 2 * n + 2  # skeletons, root paths, floor grid, floor
    assert [t.type for t in full.data[:n]] == ["scatter3d"] * n
    assert full.data[-1].type == "mesh3d"
    bare = animate(motions, trajectory=False, floor=False)
    assert len(bare.data) == n
    assert all(len(f.data) == n and list(f.traces) == list(range(n)) for f in full.frames)
    assert bool(full.layout.showlegend) == (n > 1)


def test_frames_carry_only_coordinates():
    fig = animate({"a": walk(8), "b": walk(8, seed=1)})
    frames = json.loads(fig.to_json())["frames"]
    for frame in frames:
        assert set(frame) == {"name", "data", "traces"}
        for d in frame["data"]:
            assert set(d) <= {"x", "y", "z", "type"}
            assert len(d["x"]) == len(chain_order("t2m"))


def test_chains_are_joined_by_gaps_in_one_trace():
    order = chain_order("t2m")
    sk = get_skeleton("t2m")
    assert (order == -1).sum() == len(sk.kinematic_chain) - 1
    fig = animate(walk(3), trajectory=False, floor=False)
    gaps = [i for i, v in enumerate(fig.data[0].x) if v is None]
    assert gaps == list(np.flatnonzero(order == -1))


def test_side_layout_separates_motions_overlay_superimposes():
    m = walk(20)
    side = animate([m, m])
    over = animate([m, m], layout="overlay")
    s0, s1 = frame_points(side, 0), frame_points(side, 1)
    assert s1[:, 1].min() > s0[:, 1].max()  # plotly y = data x: the second stands to the side of the first
    np.testing.assert_array_equal(frame_points(over, 0), frame_points(over, 1))
    assert over.data[0].line.color != over.data[1].line.color  # distinct colours + legend entries
    assert [over.data[0].name, over.data[1].name] == ["motion 1", "motion 2"]


def test_shorter_motions_hold_their_last_pose():
    long, short = walk(30, seed=0), walk(10, seed=1)
    fig = animate({"long": long, "short": short}, layout="overlay")
    assert len(fig.frames) == 30
    last = fig.frames[9].data[1]
    for t in (10, 20, 29):
        held = fig.frames[t].data[1]
        assert list(held.x) == list(last.x) and list(held.z) == list(last.z)
    assert list(fig.frames[29].data[0].x) != list(fig.frames[9].data[0].x)  # the long one keeps moving


def test_titles_captions_and_colors():
    fig = animate({"ground truth": walk(6), "generated": walk(6, seed=2)}, caption=["a man walks", "a man runs"],
                  colors=["#000000", "#ff0000"])
    assert fig.data[0].name == "ground truth" and fig.data[1].name == "generated"
    assert "ground truth</b>: a man walks" in fig.layout.title.text and "a man runs" in fig.layout.title.text
    assert fig.data[1].line.color == "#ff0000"
    single = animate(walk(6), caption="a person jumps")
    assert single.layout.title.text == "a person jumps"


def test_floor_sits_at_zero_or_below_the_lowest_joint():
    m = walk(10)
    fig = animate(m)
    assert set(fig.data[-1].z) == {0.0}
    sunk = m.copy()
    sunk[5, 10, 1] = -0.25
    assert set(animate(sunk).data[-1].z) == {-0.25}
    path = fig.data[1]  # root path on the floor, along the pelvis
    np.testing.assert_allclose(path.x, m[:, 0, 2], atol=6e-4)


def test_torch_input_matches_numpy():
    m = walk(12)
    assert animate(torch.from_numpy(m).float()).to_json() == animate(m.astype(np.float32)).to_json()


def test_same_input_gives_identical_json():
    a = animate([walk(30), walk(25, seed=3)], caption="x").to_json()
    b = animate([walk(30), walk(25, seed=3)], caption="x").to_json()
    assert a == b
    assert '"uid"' not in a


def test_kit_skeleton_in_millimetres_is_drawn_in_metres():
    m = walk(20, joints=21, units=1000.0)  # KIT-ML joints are mm-scale
    fig = animate(m, skeleton="kit")
    assert len(fig.frames[0].data[0].x) == len(chain_order("kit"))
    pts = frame_points(fig, 0)
    assert 1.0 < pts[:, 2].max() < 2.5  # a body's height in metres, not 1500
    with pytest.warns(UserWarning, match="units look wrong"):
        animate(m / 1000.0, skeleton="kit")  # already metres but scaled as mm
    np.testing.assert_allclose(frame_points(animate(m / 1000.0, skeleton="kit", scale=1.0), 0), pts, atol=1e-9)


def test_json_size_budget_196_frames(sample_joints):
    motion = np.concatenate([sample_joints, sample_joints[::-1]])[:196]  # 196 frames of real motion
    sizes = {n: len(animate([motion] * n).to_json()) for n in (1, 2, 3)}
    # measured (plotly 7.1): ~154 KB, ~269 KB, ~385 KB
    assert sizes[1] < 400_000, sizes
    assert sizes[1] < sizes[2] < sizes[3]
    assert sizes[3] - sizes[2] < 150_000 and sizes[2] - sizes[1] < 150_000, sizes  # ~115 KB per extra skeleton


def test_real_sample_round_trips_through_the_figure(sample_joints):
    fig = animate(sample_joints)
    assert len(fig.frames) == 170
    pts = frame_points(fig, 0)
    order = chain_order("t2m")
    want = to_plotly(sample_joints[:, np.where(order < 0, 0, order)][:, order >= 0]).reshape(-1, 3)
    np.testing.assert_allclose(pts, want, atol=5.1e-4)  # millimetre rounding only


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(motions=np.zeros((10, 22))), r"shape \(10, 22\): expected \(T, J, 3\)"),
        (dict(motions=np.zeros((10, 263))), "features_to_joints"),
        (dict(motions=np.zeros((2, 10, 22, 3))), "list\\(batch\\)"),
        (dict(motions=np.zeros((10, 22, 2))), "expected \\(T, J, 3\\)"),
        (dict(motions=np.zeros((10, 21, 3))), "21 joints but skeleton 't2m' has 22; pass skeleton='kit'"),
        (dict(motions=np.zeros((10, 22, 3)), skeleton="kit"), "22 joints but skeleton 'kit' has 21; pass skeleton='t2m"),
        (dict(motions=np.zeros((0, 22, 3))), "is empty"),
        (dict(motions=[]), "no motions"),
        (dict(motions={}), "no motions"),
        (dict(motions=[np.zeros((5, 22, 3))] * 2, titles=["only one"]), "1 titles for 2 motions"),
        (dict(motions={"a": np.zeros((5, 22, 3))}, titles=["b"]), "titles were given twice"),
        (dict(motions=np.zeros((5, 22, 3)), layout="grid"), "layout must be 'side' or 'overlay'"),
        (dict(motions=np.zeros((5, 22, 3)), fps=0), "fps must be a positive number"),
        (dict(motions=np.zeros((5, 22, 3)), max_frames=0), "max_frames"),
        (dict(motions=[np.zeros((5, 22, 3))] * 2, colors=["#ff0000"]), "1 colors for 2 motions"),
        (dict(motions=np.zeros((5, 22, 3)), colors=["red"]), "hex strings"),
        (dict(motions=[np.zeros((5, 22, 3))] * 2, caption=["one"]), "1 captions for 2 motions"),
        (dict(motions=np.zeros((5, 22, 3)), skeleton="smpl"), "unknown skeleton 'smpl'"),
        (dict(motions=np.zeros((5, 22, 3)), scale=-1), "scale must be a positive number"),
    ],
)
@pytest.mark.filterwarnings("ignore:after scaling")  # an all-zero skeleton also trips the units warning
def test_bad_input_raises_a_clear_input_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        animate(**kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_frames_are_named(bad):
    m = walk(12)
    m[4, 3, 1] = bad
    m[7, 0, 0] = bad
    with pytest.raises(InputError, match=r"'walk' has NaN or infinite positions in 2 of 12 frames \(frames 4, 7\)"):
        animate({"walk": m})
