"""Run the book's chapters with papermill and build the HTML book with Jupyter Book 1.x.

Two steps, both reachable from the CLI (``motionlab book run`` / ``motionlab book build``) and the Makefile:

1. :func:`run_chapters` executes every chapter listed in ``_toc.yml`` (or a chosen few) with papermill,
   injecting the ``profile``/``data``/``seed``/``device`` parameters, into a build folder.  The committed
   ``book/*.ipynb`` stay free of outputs.  ``prepare_only`` only injects the parameters: that is what CI
   hands to ``pytest --nbval-lax``.
2. :func:`build_book` stages the executed notebooks with ``intro.md``, the config and ``_static`` (where
   ``plotly.min.js`` is copied from the installed plotly package, so the book works offline) and runs
   ``jupyter-book build -W --keep-going``: every warning fails the build.  In the staged copies the
   papermill ``injected-parameters`` cell is tagged ``remove-cell`` and a figure's plotly-JSON copy is
   dropped where its HTML copy exists (see :func:`drop_book_unreadable_mimes`).

With ``prepare_only``, :func:`run_chapters` also gives every cell tagged ``nbval-check-output`` its stored
reference output, so that nbval really compares it (see :mod:`motionlab.checked_cells`).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from motionlab.checked_cells import inject_expected_outputs
from motionlab.errors import InputError, MotionlabError

KERNEL_NAME = "python3"  # jupyter_client maps the stock "python" kernel onto the running interpreter
REMOVE_TAG = "remove-cell"
INJECTED_TAG = "injected-parameters"
PAPERMILL_ERROR_TAG = "papermill-error-cell-tag"
STAGE_NAME = "_stage"
# Quiet, reproducible kernels: no progress bars in outputs, no debugger start-up warning.
KERNEL_ENV = {"MOTIONLAB_PROGRESS": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "TOKENIZERS_PARALLELISM": "false",
              "HF_HUB_OFFLINE": "1"}


class BookError(MotionlabError):
    """A chapter or the book build failed; the message says which and why."""


@dataclass(frozen=True)
class ChapterFailure:
    """One chapter that did not run: its name and the error (exception name and message)."""

    chapter: str
    error: str

    def __str__(self) -> str:
        return f"{self.chapter}: {self.error}"


# ----------------------------------------------------------------------------------------- the toc
def book_root(root: str | Path | None = None) -> Path:
    """The folder holding ``_toc.yml`` and ``_config.yml``: ``root``, else the motionlab checkout, else cwd."""
    if root is not None:
        path = Path(root).resolve()
    else:
        from motionlab.runtime import source_checkout

        checkout = source_checkout()
        path = checkout if checkout is not None and (checkout / "_toc.yml").is_file() else Path.cwd().resolve()
    if not (path / "_toc.yml").is_file():
        raise InputError(f"no _toc.yml in {path}: run this from the motionlab repository (or pass root=)")
    return path


def _toc_files(node) -> Iterator[str]:
    """Every ``file:`` (and the ``root:``) of a Jupyter Book toc, in reading order."""
    if isinstance(node, dict):
        if "root" in node:
            yield str(node["root"])
        if "file" in node:
            yield str(node["file"])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                yield from _toc_files(child)
    elif isinstance(node, list):
        for child in node:
            yield from _toc_files(child)


def toc_entries(root: str | Path | None = None) -> list[Path]:
    """The files ``_toc.yml`` lists (intro.md, the chapters), resolved to existing paths, in order.

    An entry may omit its suffix (Jupyter Book style); ``.ipynb`` is tried before ``.md``.  A listed file
    that does not exist is an :class:`InputError` naming it.
    """
    import yaml

    base = book_root(root)
    toc = yaml.safe_load((base / "_toc.yml").read_text())
    if not isinstance(toc, dict) or "root" not in toc:
        raise InputError(f"{base / '_toc.yml'}: expected a Jupyter Book toc with a 'root:' entry")
    out = []
    for entry in _toc_files(toc):
        candidates = [base / entry] if Path(entry).suffix else [base / f"{entry}.ipynb", base / f"{entry}.md"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise InputError(f"_toc.yml lists {entry!r} but none of {[str(c.relative_to(base)) for c in candidates]} exists")
        out.append(found)
    return out


def chapters(root: str | Path | None = None) -> list[Path]:
    """The chapter notebooks (``.ipynb`` entries of ``_toc.yml``), in reading order."""
    return [p for p in toc_entries(root) if p.suffix == ".ipynb"]


def select_chapters(wanted: Iterable[str] | None, root: str | Path | None = None) -> list[Path]:
    """Chapters matching names or number prefixes: ``"03"`` -> ``03_vqvae``, ``"01b"`` -> ``01b_synth_dataset``.

    ``None`` or empty means every chapter.  A name that matches nothing is an :class:`InputError` that
    lists the chapters there are.
    """
    every = chapters(root)
    if not wanted:
        return every
    picked: list[Path] = []
    for item in wanted:
        stem = Path(str(item)).name
        stem = stem[:-len(".ipynb")] if stem.endswith(".ipynb") else stem
        matches = [p for p in every if p.stem == stem or p.stem.startswith(f"{stem}_")]
        if not matches:
            names = ", ".join(p.stem for p in every)
            raise InputError(f"no chapter matches {item!r}; the chapters are: {names}")
        picked.extend(m for m in matches if m not in picked)
    return picked


# ------------------------------------------------------------------------------------ notebook edits
def tag_injected_cells(nb) -> int:
    """Add ``remove-cell`` to papermill's ``injected-parameters`` cell (the reader sees ``setup()``'s
    summary instead).  Returns how many cells were tagged."""
    count = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if INJECTED_TAG in tags and REMOVE_TAG not in tags:
            cell.metadata["tags"] = [*tags, REMOVE_TAG]
            count += 1
    return count


def drop_book_unreadable_mimes(nb) -> int:
    """Remove plotly's own mime type from outputs that also carry ``text/html``; returns how many.

    MyST-NB renders every mime type of an output while parsing and warns about the ones it does not know
    (``mystnb.unknown_mime_type``) even when it will pick ``text/html`` for the page.  The ``motionlab``
    renderer always stores both, so the JSON copy is dropped from the *staged* notebook only.  An output
    with *only* the plotly mime type (a figure shown with another renderer) is left alone, so the build
    still fails loudly on it instead of silently losing the figure.
    """
    from motionlab.viz.render import HTML_MIME, PLOTLY_MIME

    count = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if PLOTLY_MIME in data and HTML_MIME in data:
                del data[PLOTLY_MIME]
                count += 1
    return count


def notebook_problems(nb) -> list[str]:
    """Why an executed notebook must not go into the book: error outputs, papermill error banners, or
    no code cell executed at all.  Empty when it is fine."""
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and not any(c.get("execution_count") for c in code):
        problems.append("it was never executed (run `motionlab book run` first)")
    for i, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if PAPERMILL_ERROR_TAG in tags:
            problems.append("papermill marked it as failed")
            break
        if cell.cell_type == "code" and "raises-exception" not in tags:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    problems.append(f"cell {i} raised {out.get('ename')}: {out.get('evalue')}")
    return problems


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    """Set the quiet-kernel variables (unless the caller set them) for the duration of a run."""
    old = {k: os.environ.get(k) for k in KERNEL_ENV}
    for key, value in KERNEL_ENV.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ------------------------------------------------------------------------------------------- running
def run_chapters(
    profile: str = "auto",
    chapters: Iterable[str] | None = None,
    out_dir: str | Path = "_build/executed",
    data: str = "synth",
    seed: int = 0,
    device: str = "auto",
    timeout: int = 1800,
    prepare_only: bool = False,
    root: str | Path | None = None,
    timings: dict[str, float] | None = None,
) -> list[ChapterFailure]:
    """Execute chapters with papermill into ``out_dir``; returns the failures (empty when all ran).

    ``profile="auto"`` is resolved here, once, so every chapter receives a concrete name.  Each chapter
    runs with kernel ``python3`` (this interpreter), its working directory set to ``book/``, and a
    per-cell ``timeout`` in seconds.  A failing chapter does not stop the others; each chapter's time
    is printed, and a summary table at the end.  ``prepare_only`` injects the parameters without
    executing (the notebooks CI gives to nbval).  Pass a dict as ``timings`` to receive
    ``{chapter: seconds}``.
    """
    import nbformat
    import papermill as pm

    from motionlab.profiles import get_profile

    prof = get_profile(profile)
    selected = select_chapters(chapters, root)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    params = {"profile": prof.name, "data": str(data), "seed": int(seed), "device": str(device)}
    verb = "preparing" if prepare_only else "running"
    print(f"[book] {verb} {len(selected)} chapter(s) with profile={prof.name} data={data} seed={seed} "
          f"device={device} -> {out}", flush=True)

    failures: list[ChapterFailure] = []
    rows: list[tuple[str, str, float]] = []
    with _kernel_environment():
        for path in selected:
            target = out / path.name
            start = time.perf_counter()
            status = "ok"
            try:
                pm.execute_notebook(
                    str(path), str(target), parameters=params, kernel_name=KERNEL_NAME, cwd=str(path.parent),
                    prepare_only=prepare_only, progress_bar=False, log_output=False,
                    request_save_on_cell_execute=False, execution_timeout=timeout,
                )
            except Exception as err:  # a chapter error (PapermillExecutionError, timeout, dead kernel)
                status = "FAILED"
                failures.append(ChapterFailure(path.stem, _describe(err)))
            if target.is_file():
                nb = nbformat.read(target, as_version=4)
                tag_injected_cells(nb)
                if prepare_only:
                    unchecked = inject_expected_outputs(nb)
                    if unchecked:
                        print(f"[book] warning: {path.stem}: checked cell(s) {', '.join(unchecked)} have no stored "
                              f"reference output, so nbval cannot compare them (run `motionlab book freeze "
                              f"--chapters {path.stem}`)", flush=True)
                nbformat.write(nb, target)
            seconds = time.perf_counter() - start
            rows.append((path.stem, status, seconds))
            if timings is not None:
                timings[path.stem] = seconds
            budget = "" if prepare_only or not prof.chapter_budget_s or seconds <= prof.chapter_budget_s else \
                f"  (over the {prof.name} budget of {prof.chapter_budget_s} s)"
            print(f"[book] {path.stem:<28} {status:<6} {seconds:7.1f} s{budget}", flush=True)
            if status != "ok":
                print(f"[book]   {failures[-1].error}", flush=True)
    _print_summary(rows, failures)
    return failures


def _describe(err: Exception) -> str:
    ename = getattr(err, "ename", None)
    if ename:  # papermill's PapermillExecutionError carries the kernel's exception
        return f"cell {getattr(err, 'exec_count', '?')} raised {ename}: {getattr(err, 'evalue', '')}".strip()
    return f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"


def _print_summary(timings: list[tuple[str, str, float]], failures: list[ChapterFailure]) -> None:
    total = sum(t for _, _, t in timings)
    print("[book] chapter                      status  seconds")
    for name, status, seconds in timings:
        print(f"[book] {name:<28} {status:<6} {seconds:8.1f}")
    print(f"[book] {'total':<28} {'':<6} {total:8.1f}   {len(failures)} failed", flush=True)


# ------------------------------------------------------------------------------------------ building
def outdated_chapters(executed_dir: str | Path, root: str | Path | None = None) -> list[str]:
    """The chapters whose executed copy in ``executed_dir`` is missing or older than the chapter itself:
    empty when the folder can be built as it is (``make test`` builds the book from nbval's run)."""
    executed = Path(executed_dir)
    outdated = []
    for chapter in chapters(root):
        copy = executed / chapter.name
        if not copy.is_file() or copy.stat().st_mtime < chapter.stat().st_mtime:
            outdated.append(chapter.stem)
    return outdated


def stage_book(executed_dir: str | Path, stage: str | Path, root: str | Path | None = None) -> Path:
    """Assemble a buildable book in ``stage``: config, toc, the non-notebook files of ``book/``, the
    executed chapters (checked for errors, injected cell tagged ``remove-cell``) and ``_static`` with
    ``plotly.min.js`` from the installed plotly.  Returns ``stage``."""
    import nbformat

    from motionlab.viz.render import plotly_js_path

    base = book_root(root)
    executed = Path(executed_dir).resolve()
    stage = Path(stage).resolve()
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(base / name, stage / name)

    entries = toc_entries(base)
    missing, broken = [], []
    for entry in entries:
        rel = entry.relative_to(base)
        dest = stage / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.suffix != ".ipynb":
            shutil.copy2(entry, dest)
            continue
        source = executed / entry.name
        if not source.is_file():
            missing.append(entry.stem)
            continue
        nb = nbformat.read(source, as_version=4)
        problems = notebook_problems(nb)
        if problems:
            broken.append(f"{entry.stem}: {'; '.join(problems)}")
            continue
        tag_injected_cells(nb)
        drop_book_unreadable_mimes(nb)
        nbformat.write(nb, dest)
    if missing:
        raise BookError(f"executed chapters missing in {executed}: {', '.join(missing)} "
                        f"(run `motionlab book run --out {executed_dir}` first)")
    if broken:
        raise BookError("chapters that cannot go into the book:\n  " + "\n  ".join(broken))

    # Other files the pages may refer to (figures, bibliographies) come along, notebooks excepted.
    for extra in (base / "book").rglob("*"):
        rel = extra.relative_to(base)
        if extra.is_dir() or extra.suffix == ".ipynb" or ".ipynb_checkpoints" in rel.parts or "_static" in rel.parts:
            continue
        if not (stage / rel).exists():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(extra, stage / rel)
    static = stage / "_static"
    if (base / "book" / "_static").is_dir():
        shutil.copytree(base / "book" / "_static", static, ignore=shutil.ignore_patterns("plotly.min.js"))
    static.mkdir(exist_ok=True)
    shutil.copy2(plotly_js_path(), static / "plotly.min.js")
    return stage


def _jupyter_book_command() -> list[str]:
    beside = Path(sys.executable).parent / "jupyter-book"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("jupyter-book")
    if found is None:
        raise BookError("jupyter-book is not installed: pip install -e '.[book]' (Jupyter Book 1.x)")
    return [found]


def build_book(executed_dir: str | Path = "_build/executed", out_dir: str | Path = "_build",
               root: str | Path | None = None) -> Path:
    """Build the HTML book from executed chapters into ``out_dir/html``; returns ``index.html``.

    Staging happens in ``out_dir/_stage`` (kept for inspection).  ``jupyter-book build -W --keep-going``
    turns every Sphinx/MyST-NB warning -- e.g. a figure stored in a mime type the book cannot show --
    into a failure (:class:`BookError`).
    """
    out = Path(out_dir).resolve()
    stage = stage_book(executed_dir, out / STAGE_NAME, root)
    cmd = [*_jupyter_book_command(), "build", str(stage), "--path-output", str(stage), "-W", "--keep-going",
           "--all"]
    print(f"[book] building HTML: {' '.join(cmd[1:])}", flush=True)
    env = {**os.environ, **{k: v for k, v in KERNEL_ENV.items() if k not in os.environ}}
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=stage, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
        problems = [line.strip() for line in plain.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]
        raise BookError(f"jupyter-book build failed (exit {proc.returncode}; warnings count as errors):\n  "
                        + "\n  ".join(problems or ["see the messages above"]))
    built = stage / "_build" / "html"
    html = out / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.move(str(built), str(html))
    index = html / "index.html"
    if not index.is_file():
        raise BookError(f"the build finished but {index} is missing")
    print(f"[book] HTML book in {html} ({time.perf_counter() - start:.1f} s)", flush=True)
    return index
