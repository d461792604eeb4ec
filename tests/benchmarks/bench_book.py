"""Benchmark the book itself: every chapter's execution time with a cold and a warm artifact cache, and
the HTML build, for one profile (smoke by default).  Writes ``results/bench_book.json``.

    python tests/benchmarks/bench_book.py [--profile smoke] [--chapters 00 03]

Cold = a fresh, empty artifact cache and data folder (every chapter trains what it needs, the synthetic
dataset is built); warm = the same chapters again, reusing the cache (what CI's second execution, the
book build, costs).  Each chapter is compared with the budgets of CONTRACTS.md for smoke.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from motionlab.book import build_book, run_chapters
from motionlab.runtime import provenance, source_checkout, write_json

# Smoke budgets per chapter (seconds): cold cache, and every chapter's warm re-run.
COLD_BUDGET_S = {"00": 15, "01": 45, "01b": 45, "02": 90, "03": 120, "04": 120, "05": 150}
WARM_BUDGET_S = 30


def _budget(chapter: str) -> int | None:
    return COLD_BUDGET_S.get(chapter.split("_", 1)[0])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--chapters", nargs="*", default=None)
    args = parser.parse_args([] if argv is None else argv)

    root = source_checkout() or Path.cwd()
    with tempfile.TemporaryDirectory(prefix="motionlab-bench-book-") as tmp:
        tmp = Path(tmp)
        saved = {k: os.environ.get(k) for k in ("MOTIONLAB_CACHE", "MOTIONLAB_DATA", "MOTIONLAB_PROGRESS")}
        os.environ.update(MOTIONLAB_CACHE=str(tmp / "cache"), MOTIONLAB_DATA=str(tmp / "data"),
                          MOTIONLAB_PROGRESS="0")
        try:
            cold: dict[str, float] = {}
            warm: dict[str, float] = {}
            failures = run_chapters(profile=args.profile, chapters=args.chapters, out_dir=tmp / "cold",
                                    timings=cold, root=root)
            failures += run_chapters(profile=args.profile, chapters=args.chapters, out_dir=tmp / "warm",
                                     timings=warm, root=root)
            start = time.perf_counter()
            build_error = None
            if not failures:
                try:
                    build_book(tmp / "warm", tmp / "out", root=root)
                except Exception as err:  # recorded, not raised: the timings are still worth keeping
                    build_error = f"{type(err).__name__}: {err}"
            build_s = time.perf_counter() - start
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    chapters = {
        name: {
            "cold_s": round(cold[name], 1),
            "warm_s": round(warm.get(name, float("nan")), 1),
            "cold_budget_s": _budget(name) if args.profile == "smoke" else None,
            "warm_budget_s": WARM_BUDGET_S if args.profile == "smoke" else None,
        }
        for name in cold
    }
    record = {
        "benchmark": "book",
        "profile": args.profile,
        "chapters": chapters,
        "total_cold_s": round(sum(cold.values()), 1),
        "total_warm_s": round(sum(warm.values()), 1),
        "html_build_s": round(build_s, 1),
        "failures": [str(f) for f in failures] + ([build_error] if build_error else []),
        **provenance(),
    }
    out = root / "results" / "bench_book.json"
    write_json(out, record)
    print(f"[bench_book] cold {record['total_cold_s']} s, warm {record['total_warm_s']} s, "
          f"html build {record['html_build_s']} s -> {out}")
    for name, row in chapters.items():
        over = [kind for kind in ("cold", "warm") if row[f"{kind}_budget_s"] and row[f"{kind}_s"] > row[f"{kind}_budget_s"]]
        print(f"[bench_book]   {name:<26} cold {row['cold_s']:7.1f} s  warm {row['warm_s']:6.1f} s"
              + (f"  OVER BUDGET ({', '.join(over)})" if over else ""))
    if record["failures"]:
        raise RuntimeError("book benchmark had failures: " + "; ".join(record["failures"]))
    return record


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
