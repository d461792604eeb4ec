"""A pytest plugin that keeps what nbval executed, so CI runs every chapter once, not twice.

``make test`` checks the chapters with nbval and then builds the HTML book, which needs executed notebooks.
nbval runs every cell but throws the outputs away; papermill would run every chapter a second time to get
them.  With this plugin (``pytest -p motionlab.nbval_outputs --nbval-save-to DIR ...``) each notebook whose
cells all passed is written to ``DIR/<name>.ipynb`` with the outputs nbval saw, ready for
:func:`motionlab.book.build_book`.  A notebook with a failed cell is not written, so a later build cannot
publish it.  nbval ignores widget messages, so these copies hold no widget state: the published book
comes from papermill (``make book``), this one only proves that the chapters build.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

_runs: dict = {}  # notebook path -> (nbval's notebook object, {id(cell): outputs})
_failed: set = set()  # notebooks with a failed or erroring cell


def pytest_addoption(parser):
    parser.addoption(
        "--nbval-save-to",
        default=None,
        metavar="DIR",
        help="write every notebook whose cells all passed, with nbval's outputs, into DIR",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    # nbval's cell items hold the cell they ran and, once run, the outputs the kernel sent
    if item.config.getoption("nbval_save_to") is None or not hasattr(item, "test_outputs"):
        return
    notebook = Path(str(item.parent.fspath))
    nb, outputs = _runs.setdefault(notebook, (item.parent.nb, {}))
    if report.failed:
        _failed.add(notebook)
    elif call.when == "call":
        outputs[id(item.cell)] = item.test_outputs or []


def pytest_sessionfinish(session):
    out = session.config.getoption("nbval_save_to")
    if out is None:
        return
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for notebook, (nb, outputs) in _runs.items():
        target = out / notebook.name
        target.unlink(missing_ok=True)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if notebook in _failed or any(id(c) not in outputs for c in code):
            continue  # a failed, skipped or deselected cell: not a complete run
        for count, cell in enumerate(code, start=1):  # nbval is done with its copy: fill it in
            cell.execution_count = count
            cell.outputs = [_as_output(o, count) for o in outputs[id(cell)]]
        nbformat.write(nb, target)


def _as_output(output, count: int):
    output = nbformat.from_dict(copy.deepcopy(output))
    if output.output_type == "execute_result":
        output.execution_count = count
    return output
