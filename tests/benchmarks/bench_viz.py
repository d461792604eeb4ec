"""Skeleton animation cost: build time and figure JSON size of a 196-frame ``animate`` figure.

For 1, 2 and 3 skeletons (side by side; and 3 overlaid) of the real HumanML3D sample motion (extended to
196 frames by playing it back), times figure construction and ``to_json`` (median of a few repeats) and
records the JSON size against the book's ~400 KB-per-figure budget.  Also times a 196-frame GIF export of
one skeleton when matplotlib is installed.  Writes ``results/bench_viz.json`` with provenance.

    python tests/benchmarks/bench_viz.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from motionlab.runtime import provenance, write_json
from motionlab.viz import animate, feature_slices_plot

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO.parent / "shared" / "fixtures" / "humanml3d_sample"
OUT = REPO / "results" / "bench_viz.json"
FRAMES = 196
BUDGET = 400_000


def sample_motion() -> np.ndarray:
    """196 frames of real motion: the 170-frame sample, then played backwards from its end."""
    joints = np.load(SAMPLE / "new_joints" / "012314.npy")
    return np.concatenate([joints, joints[::-1]])[:FRAMES]


def time_figure(motions: list[np.ndarray], layout: str, repeats: int) -> dict:
    build, dump, size = [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        fig = animate(motions, layout=layout)
        t1 = time.perf_counter()
        text = fig.to_json()
        t2 = time.perf_counter()
        build.append(t1 - t0)
        dump.append(t2 - t1)
        size = len(text)
    return {
        "skeletons": len(motions), "layout": layout, "frames": len(fig.frames),
        "build_s": round(statistics.median(build), 4), "to_json_s": round(statistics.median(dump), 4),
        "json_bytes": size, "json_kb": round(size / 1000, 1), "within_budget": size <= BUDGET,
    }


def main(quick: bool = False) -> dict:
    repeats = 1 if quick else 5
    motion = sample_motion()
    rows = [time_figure([motion] * n, "side", repeats) for n in (1, 2, 3)]
    rows.append(time_figure([motion] * 3, "overlay", repeats))
    for row in rows:
        print(f"{row['skeletons']} skeleton(s) {row['layout']:7s}: build {row['build_s']:.3f} s, "
              f"to_json {row['to_json_s']:.3f} s, {row['json_kb']:.1f} KB")

    feats = np.load(SAMPLE / "new_joint_vecs" / "012314.npy")
    t0 = time.perf_counter()
    slices_json = feature_slices_plot(feats).to_json()
    feature_plot = {"frames": int(feats.shape[0]), "build_and_json_s": round(time.perf_counter() - t0, 4),
                    "json_kb": round(len(slices_json) / 1000, 1)}
    print(f"feature_slices_plot ({feats.shape[0]} frames): {feature_plot['json_kb']} KB")

    gif = None
    try:
        from motionlab.viz import save_gif

        gif_frames = 40 if quick else FRAMES
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            path = save_gif(motion[:gif_frames], Path(tmp) / "bench.gif")
            gif = {"frames": gif_frames, "seconds": round(time.perf_counter() - t0, 3),
                   "bytes": path.stat().st_size}
        print(f"save_gif ({gif_frames} frames, 1 skeleton): {gif['seconds']:.2f} s, {gif['bytes'] / 1000:.0f} KB")
    except ImportError as err:
        print(f"save_gif skipped: {err}")

    import plotly

    result = {
        "benchmark": "viz",
        "description": "animate(): 196-frame figure build time and JSON size; feature_slices_plot size; GIF export",
        "budget_bytes_per_figure": BUDGET,
        "quick": quick,
        "plotly": plotly.__version__,
        "animate": rows,
        "feature_slices_plot": feature_plot,
        "save_gif": gif,
        "provenance": provenance(),
    }
    write_json(OUT, result)
    print(f"wrote {OUT.relative_to(REPO)}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat and a short GIF")
    main(quick=parser.parse_args().quick)
