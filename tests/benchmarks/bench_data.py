"""Data-layer costs: joints -> features, features -> joints, and loading a dataset folder.

* ``joints_to_features`` on 120-frame procedural motions (motions per second, one process);
* ``features_to_joints`` on a torch batch ``(64, 196, 263)`` on the CPU (and CUDA when present);
* ``MotionFolder.load_split`` on a generated folder of ``--motions`` files (default 5000, lengths
  40-199, three caption lines each), wall and CPU time, extrapolated to 30 000 files (the full
  MotionLab-Synth size); when a built full synth exists under ``data_root()``, its train split is timed too.

Writes ``results/bench_data.json`` with provenance.  Run on a quiet machine:

    python tests/benchmarks/bench_data.py [--quick] [--motions N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from motionlab.data.features import features_to_joints, joints_to_features
from motionlab.data.folders import DatasetWarning, MotionFolder
from motionlab.labs.motion_data import demo_motion
from motionlab.runtime import data_root, provenance, write_json

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "results" / "bench_data.json"
CAPTIONS = ("a person walks forward#a/DET person/NOUN walk/VERB forward/ADV#0.0#0.0\n"
            "someone strolls ahead slowly#someone/PRON stroll/VERB ahead/ADV slowly/ADV#0.0#0.0\n"
            "then turns around#then/ADV turn/VERB around/ADP#1.0#4.0\n")


def bench_features(n: int) -> dict:
    motions = [demo_motion(["walk", "turn", "jump"][i % 3], 120, seed=i) for i in range(n)]
    t0 = time.perf_counter()
    feats = [joints_to_features(m) for m in motions]
    t1 = time.perf_counter()
    for f in feats:
        features_to_joints(f)
    t2 = time.perf_counter()
    return {"motions": n, "frames": 120, "joints_to_features_per_s": round(n / (t1 - t0), 1),
            "features_to_joints_numpy_per_s": round(n / (t2 - t1), 1)}


def bench_recover_batch(repeats: int) -> list[dict]:
    rows = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        x = torch.randn(64, 196, 263, device=dev) * 0.01
        times = []
        for _ in range(repeats + 1):
            if dev == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            features_to_joints(x)
            if dev == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        rows.append({"device": dev, "batch": [64, 196, 263], "median_s": round(statistics.median(times[1:]), 5)})
    return rows


def make_folder(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for sub in ("new_joint_vecs", "new_joints", "texts"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}" for i in range(n)]
    for name in names:
        np.save(root / "new_joint_vecs" / f"{name}.npy", rng.normal(size=(int(rng.integers(40, 200)), 263)).astype(np.float32))
        (root / "texts" / f"{name}.txt").write_text(CAPTIONS)
    (root / "train.txt").write_text("".join(f"{n}\n" for n in names))
    np.save(root / "Mean.npy", np.zeros(263, np.float32))
    np.save(root / "Std.npy", np.ones(263, np.float32))


def time_load(root: Path, split: str, repeats: int) -> dict:
    folder = MotionFolder(root)
    walls, cpus, samples = [], [], 0
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DatasetWarning)
            samples = len(folder.load_split(split))
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    listed = len(folder.names(split))
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {"files": listed, "samples": samples, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "wall_s_per_30k_files": round(wall / listed * 30000, 2), "cpu_s_per_30k_files": round(cpu / listed * 30000, 2)}


def main(quick: bool = False, motions: int | None = None) -> dict:
    torch.set_num_threads(1)
    n_files = motions or (1000 if quick else 5000)
    result = {"features": bench_features(20 if quick else 100), "recover_batch": bench_recover_batch(2 if quick else 5)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "bench"
        make_folder(root, n_files)
        time_load(root, "train", 1)  # warm the page cache: the timed runs read from memory
        result["load_split_generated"] = time_load(root, "train", 1 if quick else 3)
    full = data_root() / "synth" / "full"
    if (full / "train.txt").is_file():
        result["load_split_full_synth"] = time_load(full, "train", 1)
    result["provenance"] = provenance()
    write_json(OUT, result)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--motions", type=int, default=None)
    args = parser.parse_args()
    main(quick=args.quick, motions=args.motions)
