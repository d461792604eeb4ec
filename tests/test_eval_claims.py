"""Claims checked against measurements: the verdict follows the 95 % interval of the difference."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from motionlab.errors import InputError
from motionlab.evaluation.claims import check_claim, claims_table, mean_interval, recorded_claims


def test_clear_difference_holds_and_reversed_one_does_not():
    held = check_claim("a > b", [10.0, 11.0, 12.0], [1.0, 2.0, 3.0])
    assert held["verdict"] == "holds" and held["difference"] == pytest.approx(9.0)
    # Welch with equal variances and n = 3 per side: t_{0.975, 4} * sqrt(1/3 + 1/3)
    assert held["difference_ci"] == pytest.approx(stats.t.ppf(0.975, 4) * math.sqrt(2 / 3))
    assert check_claim("b > a", [1.0, 2.0, 3.0], [10.0, 11.0, 12.0])["verdict"] == "does not hold"


def test_lower_is_better_flips_the_direction():
    fid = check_claim("smooth L1 lower FID", [0.10, 0.11, 0.12], [0.30, 0.31, 0.29], lower_is_better=True)
    assert fid["verdict"] == "holds" and fid["difference"] > 0


def test_overlapping_values_are_within_noise_and_one_seed_gives_no_verdict():
    assert check_claim("noise", [1.0, 2.0, 3.0], [1.5, 2.5, 3.5])["verdict"] == "within noise"
    single = check_claim("one seed", [5.0], [1.0])
    assert single["verdict"] == "within noise" and math.isnan(single["difference_ci"])


def test_constant_side_adds_no_variance():
    vs_chance = check_claim("above chance", [0.50, 0.52, 0.48, 0.51], 1 / 32)
    assert vs_chance["verdict"] == "holds" and vs_chance["worse_mean"] == pytest.approx(1 / 32)
    mean, half = mean_interval([0.50, 0.52, 0.48, 0.51])
    assert vs_chance["difference_ci"] == pytest.approx(half)
    assert mean == pytest.approx(0.5025)


def test_bad_values_are_refused_and_tables_render():
    with pytest.raises(InputError, match="finite"):
        check_claim("nan", [float("nan")], [1.0])
    with pytest.raises(InputError, match="finite"):
        check_claim("empty", [], [1.0])
    table = claims_table([check_claim("a > b", [3.0, 3.1, 2.9], [1.0, 1.1, 0.9], metric="usage", paper="yes")])
    assert table.loc["a > b", "verdict"] == "holds" and "±" in table.loc["a > b", "difference (95 %)"]
    caption, none = recorded_claims(None)
    assert none is None and "laptop" in caption
    record = {"profile": "laptop", "seed": 0, "provenance": {"machine": "m", "commit": "c", "date": "2026-12-01T00"},
              "results": {"claims": [check_claim("a > b", [3.0, 4.0], [1.0, 1.5])]}}
    caption, table = recorded_claims(record)
    assert caption.startswith("recorded laptop run on m, commit c, 2026-12-01") and len(table) == 1


def test_markdown_table_lists_every_claim_with_its_verdict():
    from motionlab.evaluation.claims import markdown_table

    record = {"results": {"claims": [check_claim("a > b", [3.0, 3.1, 2.9], [1.0, 1.1, 0.9], metric="m", paper="p"),
                                     check_claim("one seed", [2.0], [1.0])]}}
    table = markdown_table({"03": record}).splitlines()
    assert len(table) == 4 and table[2].startswith("| 03 | a > b | m | p | 3 vs 1 (2 ± ")
    assert table[2].endswith("| 3 | **holds** |") and table[3].endswith("**within noise** |")
