"""Run every benchmark: each ``tests/benchmarks/bench_*.py`` module's ``main()``, in name order.

    python tests/benchmarks/run_all.py            # all of them (what `make bench` does)
    python tests/benchmarks/run_all.py tokenizer  # only bench_tokenizer.py (names or substrings)

Each benchmark writes its own ``results/bench_<area>.json`` with provenance.  A failing benchmark does not
stop the others; the exit status is 1 when any failed.  Benchmarks are not collected by pytest: run them on
a quiet machine, since timings taken while other work runs are not comparable.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(filters: list[str] | None = None) -> list[Path]:
    """The benchmark files, optionally only those whose area name contains one of ``filters``."""
    files = sorted(HERE.glob("bench_*.py"))
    if filters:
        files = [f for f in files if any(word in f.stem.removeprefix("bench_") for word in filters)]
    return files


def run(path: Path) -> None:
    """Import a benchmark file as a module and call its ``main()``."""
    spec = importlib.util.spec_from_file_location(f"motionlab_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "main", None)):
        raise AttributeError(f"{path.name} has no main() function")
    module.main()


def main(argv: list[str] | None = None) -> int:
    filters = list(sys.argv[1:] if argv is None else argv)
    files = discover(filters)
    if not files:
        print(f"[bench] no benchmark matches {filters or 'bench_*.py'} in {HERE}")
        return 1
    sys.path.insert(0, str(HERE))  # benchmarks may share helpers that live beside them
    rows = []
    for path in files:
        print(f"[bench] {path.stem} ...", flush=True)
        start = time.perf_counter()
        try:
            run(path)
            status = "ok"
        except Exception:  # report and go on with the next benchmark
            traceback.print_exc()
            status = "FAILED"
        rows.append((path.stem, status, time.perf_counter() - start))
        print(f"[bench] {path.stem} {status} in {rows[-1][2]:.1f} s", flush=True)
    print("[bench] summary")
    for name, status, seconds in rows:
        print(f"[bench]   {name:<28} {status:<6} {seconds:8.1f} s")
    failed = [name for name, status, _ in rows if status != "ok"]
    if failed:
        print(f"[bench] {len(failed)} failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
