"""Cells that nbval checks, and the reference outputs they are checked against.

``pytest --nbval-lax`` compares the output of cells marked ``# NBVAL_CHECK_OUTPUT`` (or tagged
``nbval-check-output``) with the output *stored in the notebook*, and silently skips the comparison when
the stored cell was never run.  Committed chapters carry no outputs, so without help every such marker
would check nothing.  Here the reference output of a checked cell lives in the cell's metadata
(``metadata.motionlab.expected_outputs``):

* :func:`freeze_checked_outputs` (``motionlab book freeze --chapters NN``) executes chapters and stores
  each checked cell's output there -- run it after changing what a checked cell prints;
* :func:`inject_expected_outputs` puts the reference back as the cell's output in the copies that
  ``motionlab book run --prepare-only`` writes for nbval, which makes the comparison real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

CHECK_MARKER = "NBVAL_CHECK_OUTPUT"  # nbval's comment marker: compare this cell's output
CHECK_TAG = "nbval-check-output"  # nbval's equivalent cell tag
META_KEY = "motionlab"  # cell metadata namespace; META_KEY/"expected_outputs" holds a checked cell's reference
INJECTED_TAG = "injected-parameters"


def is_checked_cell(cell) -> bool:
    """True for a code cell nbval compares under ``--nbval-lax`` (marker comment or tag)."""
    if cell.cell_type != "code":
        return False
    if CHECK_TAG in cell.get("metadata", {}).get("tags", []):
        return True
    return any(line.strip().startswith("#") and line.strip().lstrip("#").strip() == CHECK_MARKER
               for line in cell.source.splitlines())


def _reference_output(out) -> dict:
    """An output as stored for comparison: no execution count, no volatile metadata."""
    ref = {k: v for k, v in dict(out).items() if k not in ("execution_count", "metadata")}
    if ref.get("output_type") in ("execute_result", "display_data"):
        ref["metadata"] = {}
    if ref.get("output_type") == "execute_result":
        ref["execution_count"] = None
    return ref


def inject_expected_outputs(nb) -> list[str]:
    """Give every checked cell its stored reference output (so nbval compares against it).

    Returns the ids/indices of checked cells that have *no* reference (nbval would skip them).
    """
    import nbformat

    missing = []
    for i, cell in enumerate(nb.cells):
        if not is_checked_cell(cell):
            continue
        expected = cell.get("metadata", {}).get(META_KEY, {}).get("expected_outputs")
        if expected is None:
            missing.append(str(cell.get("id", i)))
            continue
        cell.outputs = [nbformat.from_dict(o) for o in expected]
        for out in cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = 1
        cell.execution_count = 1  # nbval only compares cells whose reference was "run"
    return missing


def _cell_key(cell, index: int) -> str:
    return str(cell.get("id") or f"{index}:{cell.source}")


def freeze_checked_outputs(chapters: Iterable[str] | None = None, profile: str = "smoke", data: str = "synth",
                           seed: int = 0, timeout: int = 1800, root: str | Path | None = None,
                           executed_dir: str | Path | None = None) -> dict[str, int]:
    """Execute chapters and store each checked cell's output (tag ``nbval-check-output``) as its reference.

    The output goes into the committed notebook's cell metadata (the notebook stays output-free);
    references of cells that are no longer checked are removed.  Returns ``{chapter: checked cells}``.
    Run it (``motionlab book freeze --chapters 03``) after changing what a checked cell prints.
    ``executed_dir``: take the outputs from chapters already executed there (``motionlab book run --out DIR``
    with the same profile) instead of running them again.
    """
    import tempfile

    from motionlab.book import BookError, run_chapters, select_chapters

    selected = select_chapters(chapters, root)
    if executed_dir is not None:
        missing = [p.name for p in selected if not (Path(executed_dir) / p.name).is_file()]
        if missing:
            raise BookError(f"{executed_dir}: no executed copy of {', '.join(missing)} (run `motionlab book run`)")
        return {p.stem: _store_checked_outputs(p, Path(executed_dir) / p.name) for p in selected}
    with tempfile.TemporaryDirectory(prefix="motionlab-freeze-") as tmp:
        failures = run_chapters(profile=profile, chapters=[p.stem for p in selected], out_dir=tmp, data=data,
                                seed=seed, timeout=timeout, root=root)
        if failures:
            raise BookError("cannot freeze outputs of failing chapters: " + "; ".join(map(str, failures)))
        return {p.stem: _store_checked_outputs(p, Path(tmp) / p.name) for p in selected}


def _store_checked_outputs(path: Path, executed_path: Path) -> int:
    """Copy the outputs of ``path``'s checked cells from its executed copy into ``path``'s cell metadata."""
    import nbformat

    from motionlab.book import BookError

    executed = nbformat.read(executed_path, as_version=4)
    by_key = {_cell_key(c, i): c for i, c in enumerate(executed.cells)
              if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])}
    source = nbformat.read(path, as_version=4)
    count = 0
    for i, cell in enumerate(source.cells):
        meta = cell.get("metadata", {})
        if not is_checked_cell(cell):
            if META_KEY in meta and "expected_outputs" in meta[META_KEY]:
                del meta[META_KEY]["expected_outputs"]
                if not meta[META_KEY]:
                    del meta[META_KEY]
            continue
        ran = by_key.get(_cell_key(cell, i))
        if ran is None:  # no ids: fall back to matching the source text
            ran = next((c for c in executed.cells if c.cell_type == "code" and c.source == cell.source), None)
        if ran is None:
            raise BookError(f"{path.name}: could not find checked cell {i} in the executed copy")
        meta.setdefault(META_KEY, {})["expected_outputs"] = [_reference_output(o) for o in ran.outputs]
        count += 1
    nbformat.write(source, path)
    print(f"[book] {path.stem}: stored the reference output of {count} checked cell(s)", flush=True)
    return count
