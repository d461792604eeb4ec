"""Benchmark building MotionLab-Synth: the smoke and full sizes with 2 worker processes, and where the time
of one motion goes.  Writes ``results/bench_synth.json``.

    python tests/benchmarks/bench_synth.py [--sizes smoke full] [--workers 2]

Targets (issue 4): ``smoke`` (800 motions + mirrors) in <= 15 s and ``full`` (15,000 + mirrors) in <= 120 s
on 2 CPU cores.  Run it on a quiet machine: timings taken while other work runs are not comparable.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from motionlab.data.features import features_to_joints, joints_to_features
from motionlab.data.mirror import mirror_features
from motionlab.data.synth import build_synth
from motionlab.data.synth.captions import caption_motion
from motionlab.data.synth.compose import plan_score, sample_plan
from motionlab.data.synth.quality import measure
from motionlab.data.synth.solver import solve
from motionlab.profiles import get_profile
from motionlab.runtime import provenance, rng, source_checkout, write_json

TARGET_S = {"smoke": 15.0, "full": 120.0}


def stage_times(n: int = 200, seed: int = 0) -> dict[str, float]:
    """Milliseconds per motion of each stage, in one process."""
    totals = dict.fromkeys(["plan", "score", "solve", "features", "mirror", "recover joints", "captions"], 0.0)
    for i in range(n):
        gen = rng(seed, "synth", i)
        t0 = time.perf_counter()
        plan = sample_plan(gen)
        t1 = time.perf_counter()
        score = plan_score(plan)
        t2 = time.perf_counter()
        joints = solve(score).joints
        t3 = time.perf_counter()
        feats = joints_to_features(joints, "t2m", retarget=False)
        t4 = time.perf_counter()
        mirrored = mirror_features(feats, "t2m")
        t5 = time.perf_counter()
        features_to_joints(feats, "t2m"), features_to_joints(mirrored, "t2m")
        t6 = time.perf_counter()
        caption_motion(plan, gen)
        t7 = time.perf_counter()
        for key, dt in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)):
            totals[key] += dt
    return {k: round(1000 * v / n, 3) for k, v in totals.items()}


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def build_time(size: str, workers: int, folder: Path) -> dict:
    """Wall time of one build, and the CPU time it used: on a busy machine the wall time overstates what
    two free cores need, while ``max(cpu_total / workers, cpu_main)`` estimates it."""
    profile = get_profile(size)
    n = profile.data.synth_motions
    cpu0 = _cpu()
    start = time.perf_counter()
    build_synth(folder, n_motions=n, seed=0, mirror=profile.data.synth_mirror, progress=False, workers=workers,
                force=True)
    seconds = time.perf_counter() - start
    cpu1 = _cpu()
    main_cpu, worker_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    files = sum(1 for _ in (folder / "new_joint_vecs").iterdir())
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20
    estimate = max((main_cpu + worker_cpu) / workers, main_cpu)
    return {"motions": n, "files": files, "seconds": round(seconds, 2), "target_s": TARGET_S[size],
            "within_target": seconds <= TARGET_S[size], "cpu_main_s": round(main_cpu, 2),
            "cpu_workers_s": round(worker_cpu, 2), "estimated_s_on_free_cores": round(estimate, 2),
            "estimate_within_target": estimate <= TARGET_S[size], "disk_mb": round(size_mb, 1),
            "ms_per_file": round(1000 * seconds / files, 3)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="*", default=["smoke", "full"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args([] if argv is None else argv)

    result = {"benchmark": "synth", "workers": args.workers, "cpu_count": os.cpu_count(),
              "load_average_before": [round(x, 2) for x in os.getloadavg()],
              "stage_ms_per_motion": stage_times()}
    plaus = [measure(solve(plan_score(sample_plan(rng(0, "synth", i)))).joints).as_dict() for i in range(100)]
    result["plausibility_100_motions"] = {k: {"mean": round(float(np.mean([p[k] for p in plaus])), 5),
                                              "max": round(float(np.max([p[k] for p in plaus])), 5)} for k in plaus[0]}
    builds = {}
    with tempfile.TemporaryDirectory(prefix="motionlab-bench-synth-") as tmp:
        for size in args.sizes:
            folder = Path(tmp) / size
            builds[size] = build_time(size, args.workers, folder)
            shutil.rmtree(folder, ignore_errors=True)
            print(f"{size}: {builds[size]}")
    result["builds"] = builds
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result.update(provenance())
    out = (source_checkout() or Path.cwd()) / "results" / "bench_synth.json"
    write_json(out, result)
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
