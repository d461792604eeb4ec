"""The book runner (motionlab.book) and, marked ``book``, the real thing: every chapter executed with the
smoke profile and the HTML book built with ``jupyter-book build -W`` (``make test`` runs it last)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from motionlab import book, checked_cells
from motionlab.errors import InputError
from motionlab.viz.render import HTML_MIME, PLOTLY_MIME, plotly_js_path

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------- fast unit tests
def _toc_repo(tmp_path: Path, names: list[str]) -> Path:
    (tmp_path / "book").mkdir(parents=True)
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    for name in names:
        nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), tmp_path / "book" / f"{name}.ipynb")
    entries = "\n".join(f"  - file: book/{n}" for n in names)
    (tmp_path / "_toc.yml").write_text(f"format: jb-book\nroot: book/intro\nchapters:\n{entries}\n")
    return tmp_path


def test_chapters_come_from_the_toc_in_order(tmp_path):
    root = _toc_repo(tmp_path, ["01_motion_data", "00_getting_started", "01b_synth_dataset"])
    assert [p.stem for p in book.chapters(root)] == ["01_motion_data", "00_getting_started", "01b_synth_dataset"]
    assert book.toc_entries(root)[0].name == "intro.md"


def test_select_chapters_by_prefix_or_name(tmp_path):
    root = _toc_repo(tmp_path, ["00_getting_started", "01_motion_data", "01b_synth_dataset"])
    pick = lambda *w: [p.stem for p in book.select_chapters(list(w), root)]  # noqa: E731
    assert pick("01") == ["01_motion_data"]  # "01" is not "01b"
    assert pick("01b", "00") == ["01b_synth_dataset", "00_getting_started"]
    assert pick("book/00_getting_started.ipynb") == ["00_getting_started"]
    assert len(book.select_chapters(None, root)) == 3
    with pytest.raises(InputError, match="no chapter matches '07'.*00_getting_started, 01_motion_data"):
        book.select_chapters(["07"], root)


def test_toc_entry_without_a_file_is_an_error(tmp_path):
    root = _toc_repo(tmp_path, ["00_getting_started"])
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/09_missing\n")
    with pytest.raises(InputError, match="_toc.yml lists 'book/09_missing'"):
        book.chapters(root)


def _executed_notebook(outputs, tags=()):
    nb = new_notebook(cells=[
        new_code_cell("profile = 'smoke'", metadata={"tags": ["injected-parameters", *tags]}),
        new_code_cell("fig", execution_count=1, outputs=outputs),
    ])
    return nb


def test_staged_notebook_hides_injected_cell_and_keeps_html_figures():
    both = new_output("display_data", data={PLOTLY_MIME: {"data": []}, HTML_MIME: "<div></div>"})
    only_json = new_output("display_data", data={PLOTLY_MIME: {"data": []}})
    nb = _executed_notebook([both, only_json])
    assert book.tag_injected_cells(nb) == 1 and book.tag_injected_cells(nb) == 0
    assert "remove-cell" in nb.cells[0].metadata.tags
    assert book.drop_book_unreadable_mimes(nb) == 1
    data = [o["data"] for o in nb.cells[1].outputs]
    assert data[0] == {HTML_MIME: "<div></div>"}
    assert PLOTLY_MIME in data[1]  # left alone: the -W build must fail on a figure it cannot show


def test_notebook_problems_finds_errors_and_unexecuted_chapters():
    error = new_output("error", ename="ValueError", evalue="bad shape", traceback=[])
    assert book.notebook_problems(_executed_notebook([error])) == ["cell 1 raised ValueError: bad shape"]
    unexecuted = new_notebook(cells=[new_markdown_cell("# T"), new_code_cell("x = 1")])
    assert "never executed" in book.notebook_problems(unexecuted)[0]
    ok = _executed_notebook([new_output("stream", name="stdout", text="hi\n")])
    assert book.notebook_problems(ok) == []
    expected_error = _executed_notebook([error])
    expected_error.cells[1].metadata["tags"] = ["raises-exception"]
    assert book.notebook_problems(expected_error) == []


def test_checked_cells_get_their_reference_output_back():
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(2 + 2)")
    checked.metadata["motionlab"] = {"expected_outputs": [{"output_type": "stream", "name": "stdout", "text": "4\n"}]}
    tagged = new_code_cell("print(1)", metadata={"tags": ["nbval-check-output"]})
    plain = new_code_cell("# a comment that mentions NBVAL_CHECK_OUTPUT in passing\nprint(3)")
    nb = new_notebook(cells=[checked, tagged, plain])
    assert [checked_cells.is_checked_cell(c) for c in nb.cells] == [True, True, False]
    missing = checked_cells.inject_expected_outputs(nb)
    assert missing == [str(tagged.get("id", 1))]
    assert nb.cells[0].execution_count == 1 and nb.cells[0].outputs[0]["text"] == "4\n"
    assert nb.cells[1].execution_count is None and nb.cells[2].outputs == []


@pytest.mark.slow
def test_freeze_stores_references_that_prepare_puts_back(tmp_path):
    root = _toc_repo(tmp_path / "repo", ["00_getting_started"])
    params = new_code_cell('profile = "auto"\ndata = "synth"\nseed = 0\ndevice = "auto"',
                           metadata={"tags": ["parameters"]})
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(seed + 41)")
    stale = new_code_cell("print('no longer checked')")
    stale.metadata["motionlab"] = {"expected_outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}]}
    nb = new_notebook(cells=[params, checked, stale])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "book" / "00_getting_started.ipynb")

    assert checked_cells.freeze_checked_outputs(root=root, timeout=120) == {"00_getting_started": 1}
    frozen = nbformat.read(root / "book" / "00_getting_started.ipynb", as_version=4)
    assert frozen.cells[1].metadata["motionlab"]["expected_outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "41\n"}]
    assert "motionlab" not in frozen.cells[2].metadata  # the stale reference is gone
    assert all(not c.outputs for c in frozen.cells)  # the committed notebook stays output-free

    assert book.run_chapters(profile="smoke", out_dir=tmp_path / "ci", prepare_only=True, root=root) == []
    prepared = nbformat.read(tmp_path / "ci" / "00_getting_started.ipynb", as_version=4)
    ref = next(c for c in prepared.cells if c.source.startswith("# NBVAL_CHECK_OUTPUT"))
    assert ref.execution_count == 1 and ref.outputs[0]["text"] == "41\n"


def test_build_refuses_missing_or_failed_chapters(tmp_path):
    root = _toc_repo(tmp_path / "repo", ["00_getting_started"])
    (root / "_config.yml").write_text("title: t\n")
    with pytest.raises(book.BookError, match="executed chapters missing.*00_getting_started"):
        book.stage_book(tmp_path / "executed", tmp_path / "stage", root)
    (tmp_path / "executed").mkdir()
    failed = _executed_notebook([new_output("error", ename="KeyError", evalue="'x'", traceback=[])])
    nbformat.write(failed, tmp_path / "executed" / "00_getting_started.ipynb")
    with pytest.raises(book.BookError, match="00_getting_started: cell 1 raised KeyError"):
        book.stage_book(tmp_path / "executed", tmp_path / "stage", root)


def test_staging_copies_plotly_js_into_static(tmp_path):
    root = _toc_repo(tmp_path / "repo", ["00_getting_started"])
    (root / "_config.yml").write_text("title: t\n")
    (tmp_path / "executed").mkdir()
    good = _executed_notebook([new_output("stream", name="stdout", text="ok\n")])
    nbformat.write(good, tmp_path / "executed" / "00_getting_started.ipynb")
    stage = book.stage_book(tmp_path / "executed", tmp_path / "stage", root)
    assert (stage / "_static" / "plotly.min.js").read_bytes() == plotly_js_path().read_bytes()
    staged = nbformat.read(stage / "book" / "00_getting_started.ipynb", as_version=4)
    assert "remove-cell" in staged.cells[0].metadata.tags
    assert (stage / "book" / "intro.md").is_file() and (stage / "_toc.yml").is_file()


def test_nbval_run_is_kept_for_the_book_build(tmp_path):
    """make test builds the book from what nbval executed: a notebook whose cells all passed is written with
    the outputs nbval saw; one with a failing cell is not (and an older copy of it is removed)."""
    import subprocess
    import sys

    (tmp_path / "ci").mkdir()
    good = new_notebook(cells=[
        new_markdown_cell("# Good"), new_code_cell("print(6 * 7)"), new_code_cell("'x' * 3")])
    bad = new_notebook(cells=[new_code_cell("y = 1"), new_code_cell("1 / 0")])
    for name, nb in {"good": good, "bad": bad}.items():
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / "ci" / f"{name}.ipynb")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "bad.ipynb").write_text("stale")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
         "-p", "motionlab.nbval_outputs", "--nbval-save-to", str(tmp_path / "out"), str(tmp_path / "ci")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout[-2000:]
    assert not (tmp_path / "out" / "bad.ipynb").exists()
    kept = nbformat.read(tmp_path / "out" / "good.ipynb", as_version=4)
    assert book.notebook_problems(kept) == []
    printed, result = kept.cells[1], kept.cells[2]
    assert (printed.execution_count, printed.outputs[0]["text"]) == (1, "42\n")
    assert result.outputs[0]["data"]["text/plain"] == "'xxx'" and result.outputs[0]["execution_count"] == 2


def test_outdated_chapters_are_missing_or_older_than_the_chapter(tmp_path):
    root = _toc_repo(tmp_path / "repo", ["00_getting_started", "01_motion_data"])
    (tmp_path / "executed").mkdir()
    assert book.outdated_chapters(tmp_path / "executed", root) == ["00_getting_started", "01_motion_data"]
    for name in ("00_getting_started", "01_motion_data"):
        (tmp_path / "executed" / f"{name}.ipynb").write_text("{}")
    chapter = root / "book" / "01_motion_data.ipynb"
    later = (tmp_path / "executed" / "01_motion_data.ipynb").stat().st_mtime + 10
    os.utime(chapter, (later, later))  # edited after the run
    assert book.outdated_chapters(tmp_path / "executed", root) == ["01_motion_data"]


def test_chapter_kernel_is_this_interpreter():
    """papermill (-k python3) and nbval (--nbval-current-env) must run chapters with the venv's python."""
    import sys

    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=book.KERNEL_NAME)
    assert km.format_kernel_cmd()[0] == sys.executable


# ------------------------------------------------------------------------------- the book, end to end
@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """The HTML book of the smoke chapters.  ``make test`` hands over the notebooks its nbval stage executed
    (``MOTIONLAB_EXECUTED``, see motionlab.nbval_outputs); without a complete, current set, run them here."""
    out = tmp_path_factory.mktemp("book")
    executed = os.environ.get("MOTIONLAB_EXECUTED")
    if not executed or book.outdated_chapters(executed, REPO):
        executed = out / "executed"
        failures = book.run_chapters(profile="smoke", out_dir=executed, timeout=900, root=REPO)
        assert not failures, "chapters failed:\n" + "\n".join(map(str, failures))
    index = book.build_book(executed, out, root=REPO)
    return index.parent


@pytest.mark.book
@pytest.mark.slow
def test_book_builds_with_figures_served_locally(built_book):
    html = built_book
    assert (html / "index.html").is_file()
    pages = {p.stem: p for p in (html / "book").glob("*.html")}
    missing = [p.stem for p in book.chapters(REPO) if p.stem not in pages]
    assert not missing, f"chapters without a page: {missing}"

    page = pages["00_getting_started"].read_text()
    # the figure is rendered (not dropped) with a deterministic id, drawn by the local plotly.js
    assert re.search(r'<div id="motionlab-fig-1" class="plotly-graph-div"', page)
    assert 'Plotly.newPlot(' in page and '"motionlab-fig-1"' in page
    assert re.search(r'<script src="\.\./_static/plotly\.min\.js(\?v=[0-9a-f]+)?"></script>', page)
    assert (html / "_static" / "plotly.min.js").read_bytes() == plotly_js_path().read_bytes()
    assert "# Parameters" not in page  # papermill's injected cell is removed from the page
    assert '<div class="highlight-python notranslate">' in page  # env.show_source renders as highlighted code
    assert "_static/mathjax/tex-chtml.js" in page and (html / "_static" / "mathjax" / "tex-chtml.js").is_file()


@pytest.mark.book
@pytest.mark.slow
def test_every_page_is_offline_and_within_budget(built_book):
    for page in (built_book / "book").glob("*.html"):
        text = page.read_text()
        cdn_scripts = re.findall(r'<script[^>]+src="(https?://[^"]+)"', text)
        assert not [s for s in cdn_scripts if "plotly" in s or "mathjax" in s], f"{page.name} loads {cdn_scripts}"
        divs = set(re.findall(r'<div id="(motionlab-fig-\d+)"', text))
        plotted = set(re.findall(r'Plotly\.newPlot\(\s*"(motionlab-fig-\d+)"', text))
        assert divs == plotted, f"{page.name}: figure divs without a plot call: {sorted(divs - plotted)}"
        size_mb = page.stat().st_size / 1e6
        assert size_mb <= 2.0, f"{page.name} is {size_mb:.1f} MB; the budget is 2 MB per page"


@pytest.mark.book
@pytest.mark.slow
def test_build_fails_on_a_figure_the_book_cannot_show(tmp_path):
    """A figure stored only as plotly JSON (another renderer, or shown before setup()) would vanish from
    the page: the -W build must fail instead of dropping it silently."""
    import shutil

    root = _toc_repo(tmp_path / "repo", ["00_getting_started"])
    shutil.copy2(REPO / "_config.yml", root / "_config.yml")
    (tmp_path / "executed").mkdir()
    only_json = new_output("display_data", data={PLOTLY_MIME: {"data": [], "layout": {}}})
    nb = _executed_notebook([only_json])
    nb.cells.insert(0, new_markdown_cell("# A chapter"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "executed" / "00_getting_started.ipynb")
    with pytest.raises(book.BookError, match=r"(?s)build failed.*unknown output mime type: application/vnd\.plotly"):
        book.build_book(tmp_path / "executed", tmp_path / "out", root=root)


def test_freeze_can_take_outputs_from_an_executed_run(tmp_path):
    root = _toc_repo(tmp_path / "repo", ["00_getting_started"])
    checked = new_code_cell("print(41)", metadata={"tags": ["nbval-check-output"]})
    nbformat.write(new_notebook(cells=[checked]), root / "book" / "00_getting_started.ipynb")
    ran = new_notebook(cells=[new_code_cell("print(41)", metadata={"tags": ["nbval-check-output"]})])
    ran.cells[0].id = checked.id
    ran.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="41\n")]
    (tmp_path / "executed").mkdir()
    nbformat.write(ran, tmp_path / "executed" / "00_getting_started.ipynb")

    assert checked_cells.freeze_checked_outputs(root=root, executed_dir=tmp_path / "executed") == {
        "00_getting_started": 1}
    frozen = nbformat.read(root / "book" / "00_getting_started.ipynb", as_version=4)
    assert frozen.cells[0].metadata["motionlab"]["expected_outputs"][0]["text"] == "41\n"
    with pytest.raises(book.BookError, match="no executed copy"):
        checked_cells.freeze_checked_outputs(root=root, executed_dir=tmp_path / "nowhere")
