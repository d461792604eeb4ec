"""Packaging and repository invariants: environment.yml == pyproject.toml, committed chapters carry no
outputs and one parameters cell, _toc.yml is complete, README/CI run the two commands, _config.yml keeps
the book offline and unexecuted."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from motionlab.book import chapters, toc_entries
from motionlab.checked_cells import is_checked_cell

try:
    import tomllib
except ImportError:  # Python 3.10: pip vendors the same parser
    from pip._vendor import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
CONDA_TO_PYPI = {"pytorch": "torch"}  # conda-forge names that differ from PyPI's
NOT_PACKAGES = {"python", "pip"}
NOTEBOOKS = sorted((REPO / "book").glob("*.ipynb"))
PARAMETERS = {"profile": "auto", "data": "synth", "seed": 0, "device": "auto"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _pyproject_requirements() -> dict[str, SpecifierSet]:
    project = _pyproject()["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    out = {}
    for text in reqs:
        req = Requirement(text)
        key = _norm(req.name)  # a package may sit in several extras, but always with one version range
        assert out.get(key, req.specifier) == req.specifier, \
            f"pyproject.toml lists {req.name} with two version ranges: {out[key]} and {req.specifier}"
        out[key] = req.specifier
    return out


def _split_spec(entry: str) -> tuple[str, SpecifierSet]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", entry)
    assert match, f"environment.yml: cannot parse {entry!r}"
    return match.group(1), SpecifierSet(match.group(2).replace(" ", ""))


def _environment_requirements() -> tuple[dict[str, SpecifierSet], dict]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    out, python = {}, None
    for dep in env["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            if entry.strip() in ("-e .", "--editable ."):
                continue
            name, spec = _split_spec(entry)
            if _norm(name) in NOT_PACKAGES:
                python = spec if _norm(name) == "python" else python
                continue
            key = _norm(CONDA_TO_PYPI.get(_norm(name), name))
            assert key not in out, f"environment.yml lists {name} twice"
            out[key] = spec
    return out, {"python": python, "env": env}


# ---------------------------------------------------------------------------------------- environment
def test_environment_yml_lists_every_pyproject_package():
    env, _ = _environment_requirements()
    missing = sorted(set(_pyproject_requirements()) - set(env))
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"


def test_pyproject_lists_every_environment_yml_package():
    extra = sorted(set(_environment_requirements()[0]) - set(_pyproject_requirements()))
    assert not extra, f"in environment.yml but not in pyproject.toml: {extra}"


def test_versions_agree():
    env, meta = _environment_requirements()
    for name, spec in _pyproject_requirements().items():
        assert env[name] == spec, f"{name}: pyproject.toml wants '{spec}', environment.yml '{env[name]}'"
    assert meta["python"] == SpecifierSet(_pyproject()["project"]["requires-python"]), \
        "environment.yml's python pin differs from requires-python"
    assert "-e ." in meta["env"]["dependencies"][-1]["pip"], "environment.yml must install motionlab (-e .)"


def test_jupyter_book_is_pinned_to_1x():
    spec = _pyproject_requirements()["jupyter-book"]
    assert "1.0.4.post1" in spec and "2.0" not in spec and "2.1.7" not in spec


# ------------------------------------------------------------------------------------------- chapters
def test_there_are_chapters():
    assert NOTEBOOKS, "book/ holds no chapter notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_chapter_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (f"{path.name}: cells {dirty} carry outputs or execution counts; commit chapters "
                       "without outputs (Jupyter: Edit > Clear Outputs of All Cells)")
    assert "papermill" not in nb.metadata, f"{path.name} is a papermill output; commit the source notebook"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec must be python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_has_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
    cell = nb.cells[tagged[0]]
    assert cell.cell_type == "code"
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, \
            f"{path.name}: the parameters cell must only assign values"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values == PARAMETERS, f"{path.name}: parameters cell is {values}, expected {PARAMETERS}"
    following = nb.cells[tagged[0] + 1].source if tagged[0] + 1 < len(nb.cells) else ""
    assert "setup(profile=profile, data=data, seed=seed, device=device)" in following, \
        f"{path.name}: the cell after the parameters must call setup(profile=profile, data=data, seed=seed, device=device)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checked_cells_have_a_reference_output(path):
    """nbval skips comparing a cell whose reference was never run: without a stored reference a
    `# NBVAL_CHECK_OUTPUT` marker would check nothing."""
    nb = nbformat.read(path, as_version=4)
    missing = [c.get("id", i) for i, c in enumerate(nb.cells)
               if is_checked_cell(c) and "expected_outputs" not in c.get("metadata", {}).get("motionlab", {})]
    assert not missing, (f"{path.name}: checked cells {missing} have no reference output, so nbval would not "
                         f"compare them; with the chapter listed in _toc.yml, run "
                         f"`.venv/bin/motionlab book freeze --chapters {path.stem}` (stores them in cell metadata)")


CODE_WIDTH = 88  # the book's column fits this many characters of code without sideways scrolling


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_code_fits_the_page_and_hides_test_markers(path):
    """Readers see every code cell: lines fit the column, and nbval's markers live in cell tags, not in
    comments that the HTML would show."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        long = [line for line in cell.source.splitlines() if len(line) > CODE_WIDTH]
        assert not long, f"{path.name}, code cell {i}: lines over {CODE_WIDTH} characters: {long}"
        assert "NBVAL_" not in cell.source, (f"{path.name}, code cell {i}: use the cell tag "
                                             f"'nbval-check-output' instead of a NBVAL comment")


def test_toc_entries_exist_and_cover_every_chapter():
    entries = toc_entries(REPO)  # raises InputError naming a listed file that does not exist
    assert entries[0] == REPO / "book" / "intro.md"
    listed = {p.resolve() for p in chapters(REPO)}
    unlisted = [p.name for p in NOTEBOOKS if p.resolve() not in listed]
    assert not unlisted, (f"chapters missing from _toc.yml (so never run or tested): {unlisted}; add a "
                          "'- file: book/<name>' line under chapters:")


def test_getting_started_is_the_first_chapter():
    assert chapters(REPO)[0].name == "00_getting_started.ipynb"


# --------------------------------------------------------------------------------------- config files
def test_config_keeps_the_book_unexecuted_and_offline():
    text = (REPO / "_config.yml").read_text()
    config = yaml.safe_load(text)
    assert config["title"] == "Motion as Tokens"
    assert config["execute"]["execute_notebooks"] == "off"  # a string: bare off would be YAML false
    assert config["only_build_toc_files"] is True
    assert "_build" in config["exclude_patterns"] and ".venv" in config["exclude_patterns"]
    sphinx = config["sphinx"]
    assert sphinx["config"]["html_js_files"] == ["plotly.min.js"]
    assert "sphinx-mathjax-offline" in sphinx["extra_extensions"]
    assert not re.search(r"https?://", text), "_config.yml must not load anything from the network"


def test_readme_starts_with_the_two_commands():
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)
    assert blocks, "README.md has no code block"
    before_first_block = text.split("```", 1)[0].strip().splitlines()
    assert all(line.startswith("#") or not line.strip() for line in before_first_block), \
        "the two commands must be the first thing in README.md (only the title may come before)"
    commands = [line.split("#", 1)[0].strip() for line in blocks[0].splitlines() if line.strip()]
    assert commands[:2] == ["make book", "make test"]


def test_ci_runs_make_test():
    script = REPO / ".ci" / "run"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")][-1] == "make test"
    assert script.stat().st_mode & 0o111, ".ci/run must be executable"


def test_make_test_runs_cheap_tests_first():
    out = subprocess.run(["make", "-n", "test"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    order = [out.index(step) for step in ("pytest tests -m \"not book\"", "--prepare-only", "--nbval-lax",
                                          "tests/test_book.py")]
    assert order == sorted(order), f"make test runs its steps out of order:\n{out}"


def test_make_installs_every_extra():
    """A test whose package comes from an extra the Makefile does not install would be skipped in CI."""
    extras = set(_pyproject()["project"].get("optional-dependencies", {}))
    match = re.search(r"^EXTRAS \?= (.+)$", (REPO / "Makefile").read_text(), flags=re.M)
    assert match and set(match.group(1).strip().split(",")) == extras, \
        f"Makefile EXTRAS must list every extra of pyproject.toml: {sorted(extras)}"


def test_venv_is_reinstalled_when_pyproject_changes():
    rules = (REPO / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): pyproject\.toml$", rules, flags=re.M)


def test_every_benchmark_has_a_main():
    benches = sorted((REPO / "tests" / "benchmarks").glob("bench_*.py"))
    for path in benches:
        tree = ast.parse(path.read_text())
        assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), \
            f"{path.name} has no top-level main(); tests/benchmarks/run_all.py calls it"
