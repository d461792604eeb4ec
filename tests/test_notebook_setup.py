"""motionlab.notebook.setup / Session, the book's plotly renderer and chapter 0's lab checks."""

from __future__ import annotations

import json
import re

import plotly.graph_objects as go
import plotly.io as pio
import pytest
import torch

from motionlab.errors import InputError
from motionlab.notebook import Session, setup, source_markdown, summary
from motionlab.viz import render


@pytest.fixture(autouse=True)
def _restore_plotly_and_threads(monkeypatch):
    """setup() changes process-wide state (plotly's default renderer, torch threads): put it back."""
    default, threads = pio.renderers.default, torch.get_num_threads()
    monkeypatch.delenv("MOTIONLAB_PROFILE", raising=False)
    monkeypatch.delenv("PLOTLY_RENDERER", raising=False)
    yield
    pio.renderers.default = default
    torch.set_num_threads(threads)


def _cuda(monkeypatch, present: bool):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)


# ------------------------------------------------------------------------------------ profile resolution
@pytest.mark.parametrize(
    "explicit, env, cuda, expected",
    [
        ("smoke", "full", True, "smoke"),  # the papermill parameter beats everything
        ("paper", None, False, "paper"),
        ("auto", "full", False, "full"),  # then MOTIONLAB_PROFILE
        ("auto", "smoke", True, "smoke"),  # ... which beats the CUDA default
        ("auto", None, True, "full"),  # then CUDA present -> full
        ("auto", None, False, "smoke"),  # else smoke
        ("auto", "auto", False, "smoke"),  # MOTIONLAB_PROFILE=auto counts as unset
    ],
)
def test_auto_profile_resolution_order(monkeypatch, explicit, env, cuda, expected):
    _cuda(monkeypatch, cuda)
    if env is not None:
        monkeypatch.setenv("MOTIONLAB_PROFILE", env)
    session = setup(profile=explicit, device="cpu", quiet=True)
    assert session.profile.name == expected


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown profile .tiny..*smoke, laptop, full, paper"):
        setup(profile="tiny", quiet=True)


def test_bad_seed_is_rejected():
    with pytest.raises(InputError, match="seed must be an integer"):
        setup(profile="smoke", seed="0", quiet=True)


def test_setup_seeds_and_fixes_threads(monkeypatch):
    _cuda(monkeypatch, False)
    env = setup(profile="smoke", seed=7, quiet=True)
    a = torch.rand(5)
    setup(profile="smoke", seed=7, quiet=True)
    assert torch.equal(a, torch.rand(5))
    assert torch.get_num_threads() == env.profile.cpu_threads
    assert env.device.type == "cpu" and env.seed == 7 and env.is_smoke


def test_summary_is_deterministic_and_has_no_paths(monkeypatch, capsys, tmp_path):
    _cuda(monkeypatch, False)
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    setup(profile="smoke", data=str(folder), seed=3)
    first = capsys.readouterr().out
    setup(profile="smoke", data=str(folder), seed=3)
    assert capsys.readouterr().out == first
    assert "profile : smoke" in first and "device  : cpu" in first and "seed    : 3" in first
    assert "data    : my_dataset" in first
    assert str(tmp_path) not in first and not re.search(r"\d\d:\d\d", first)


def test_full_profile_on_cpu_gets_a_note(monkeypatch):
    _cuda(monkeypatch, False)
    text = summary(setup(profile="full", device="cpu", quiet=True))
    assert "sized for a GPU" in text


def test_data_dir_is_lazy(monkeypatch, tmp_path):
    calls = []
    import motionlab.data.paths as paths

    real = paths.resolve_dataset
    monkeypatch.setattr(paths, "resolve_dataset", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    env = setup(profile="smoke", data=str(tmp_path), seed=5, quiet=True)
    assert calls == []  # setup() never builds or touches data
    assert env.data_dir == tmp_path.resolve()
    assert env.data_dir == tmp_path.resolve() and len(calls) == 1  # resolved once, then remembered
    assert "seed" not in calls[0][1]  # the dataset is fixed; the chapter's seed only drives training


def test_missing_data_folder_is_a_clear_error(tmp_path):
    env = setup(profile="smoke", data=str(tmp_path / "nope"), quiet=True)
    with pytest.raises(FileNotFoundError, match="neither 'synth'"):
        env.data_dir


# ------------------------------------------------------------------------------------------- recording
def test_record_smoke_goes_to_the_cache_with_provenance(isolated_cache):
    env = setup(profile="smoke", seed=1, quiet=True)
    path = env.record("demo", {"fid": torch.tensor(1.5), "curve": [1, 2], "nested": {"a": 1}})
    assert path == isolated_cache / "cache" / "results" / "demo.smoke.json"
    saved = json.loads(path.read_text())
    assert saved["results"] == {"fid": 1.5, "curve": [1, 2], "nested": {"a": 1}}
    assert saved["profile"] == "smoke" and saved["seed"] == 1 and saved["device"] == "cpu"
    assert {"machine", "python", "torch", "commit", "date"} <= set(saved["provenance"])


def test_record_full_goes_to_results(isolated_cache, monkeypatch):
    monkeypatch.setenv("MOTIONLAB_RESULTS", str(isolated_cache / "results"))
    env = setup(profile="full", device="cpu", quiet=True)
    path = env.record("demo", {"x": 1})
    assert path == isolated_cache / "results" / "full" / "demo.full.json"
    assert json.loads(path.read_text())["provenance"]["date"]


def test_record_rejects_bad_names_and_payloads(isolated_cache):
    env = setup(profile="smoke", quiet=True)
    with pytest.raises(InputError, match="plain file stem"):
        env.record("../escape", {"x": 1})
    with pytest.raises(InputError, match="must be a dict"):
        env.record("ok", [1, 2])
    with pytest.raises(InputError, match=r"payload\['model'\].*object"):
        env.record("ok", {"model": object()})


# --------------------------------------------------------------------------------------------- source
def test_show_source_markdown_names_the_object_and_file():
    from motionlab.runtime import seed_everything

    text = source_markdown(seed_everything)
    assert text.startswith("**`motionlab.runtime.seed_everything`** (`motionlab/runtime.py`, lines ")
    assert "```python\ndef seed_everything(seed: int) -> None:" in text
    assert "/work" not in text and "site-packages" not in text


def _documented_with_a_fence():
    """Example:

    ````python
    x = 1
    ````
    """


def test_show_source_uses_a_fence_longer_than_the_code_has():
    text = source_markdown(_documented_with_a_fence)  # its docstring holds a 4-backtick fence
    fence = re.match(r"\*\*.*\*\* \(.*\)\n\n(`+)python", text).group(1)
    assert len(fence) == 5 and text.rstrip().endswith(fence)


def test_show_source_of_a_builtin_is_a_clear_error():
    with pytest.raises(InputError, match="cannot show the source of <built-in function len>"):
        source_markdown(len)


def test_show_source_prints_outside_ipython(capsys):
    setup(profile="smoke", quiet=True).show_source(Session)
    assert "class Session" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- renderer
def test_renderer_bundle_has_both_mime_types_and_fixed_ids():
    assert render.install() == "motionlab"
    fig = go.Figure(go.Scatter(x=[0, 1, 2], y=[2, 0, 1]))
    first, second = fig._repr_mimebundle_(), fig._repr_mimebundle_()
    assert set(first) == {render.PLOTLY_MIME, render.HTML_MIME}
    assert 'id="motionlab-fig-1"' in first[render.HTML_MIME]
    assert 'id="motionlab-fig-2"' in second[render.HTML_MIME]
    assert first[render.PLOTLY_MIME]["data"][0]["type"] == "scatter"
    html = first[render.HTML_MIME]
    assert "Plotly.newPlot" in html and "<script src" not in html and "cdn" not in html.lower()
    render.install()  # a new chapter starts counting again: the same figure gives the same bytes
    assert fig._repr_mimebundle_() == first


def test_renderer_honours_plotly_renderer(monkeypatch):
    pio.renderers.default = "json"
    monkeypatch.setenv("PLOTLY_RENDERER", "json")
    assert render.install() == "json"
    assert setup(profile="smoke", quiet=True) and pio.renderers.default == "json"
    assert "motionlab" in pio.renderers  # still registered for an explicit fig.show(renderer="motionlab")


def test_setup_installs_the_renderer():
    pio.renderers.default = "plotly_mimetype"
    setup(profile="smoke", quiet=True)
    assert pio.renderers.default == "motionlab"


def test_plotly_js_path_is_the_packaged_bundle():
    path = render.plotly_js_path()
    assert path.name == "plotly.min.js" and path.stat().st_size > 1_000_000


# ------------------------------------------------------------------------------------- chapter 0 labs
def test_profile_rule_check_accepts_the_reference_and_explains_mistakes():
    from motionlab.labs import LabCheckFailed
    from motionlab.labs.getting_started import check_profile_rule, reference_profile_rule

    assert check_profile_rule(reference_profile_rule)

    def ignores_env(explicit, env_value, cuda):
        if explicit not in (None, "", "auto"):
            return explicit
        return "full" if cuda else "smoke"

    with pytest.raises(LabCheckFailed, match="MOTIONLAB_PROFILE decides"):
        check_profile_rule(ignores_env)

    def cuda_first(explicit, env_value, cuda):
        return "full" if cuda else (explicit if explicit != "auto" else env_value or "smoke")

    with pytest.raises(LabCheckFailed, match="explicit profile wins even when CUDA"):
        check_profile_rule(cuda_first)
    with pytest.raises(LabCheckFailed, match="raised ZeroDivisionError"):
        check_profile_rule(lambda *a: 1 / 0)


def test_budget_ratio_check_accepts_the_reference_and_explains_mistakes():
    from motionlab.labs import LabCheckFailed
    from motionlab.labs.getting_started import check_budget_ratio, reference_budget_ratio

    assert check_budget_ratio(reference_budget_ratio)

    def matching_only(small, big):
        out = reference_budget_ratio(small, big)
        out["evaluator"] = big.evaluator.train.steps / small.evaluator.train.steps
        return out

    with pytest.raises(LabCheckFailed, match="movement.steps and evaluator.train.steps"):
        check_budget_ratio(matching_only)
    with pytest.raises(LabCheckFailed, match="keys"):
        check_budget_ratio(lambda s, b: {"gpt": 1.0})
    with pytest.raises(LabCheckFailed, match="expected a dict"):
        check_budget_ratio(lambda s, b: [1, 2, 3])
