"""Claims about the papers, checked against measured values with a 95 % interval.

A chapter states a claim ("EMA + reset reconstructs better than plain VQ"), measures both sides over several
seeds (or protocol replications), and :func:`check_claim` says whether the measurement supports it:

* ``"holds"``          -- the 95 % interval of the difference lies on the claimed side of 0;
* ``"does not hold"``  -- it lies on the other side (the measurement contradicts the claim);
* ``"within noise"``   -- it contains 0, or there are too few values for an interval (one seed).

The interval of the difference of means is Welch's: ``d ± t_{0.975, ν} sqrt(s_a²/n_a + s_b²/n_b)`` with the
Welch-Satterthwaite degrees of freedom ``ν``; a side given as one number (a constant such as chance level)
contributes no variance.  With 3 seeds ``t`` is about 2.8, so only clear differences count as holding.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from motionlab.errors import InputError

VERDICTS = ("holds", "does not hold", "within noise")


def _values(x: float | Iterable[float], name: str) -> np.ndarray:
    v = np.atleast_1d(np.asarray(list(x) if not np.isscalar(x) else [x], dtype=np.float64))
    if v.size == 0 or not np.isfinite(v).all():
        raise InputError(f"claim side {name!r} needs finite values, got {v.tolist()}")
    return v


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % t-interval (NaN for a single value)."""
    v = _values(values, "values")
    if v.size < 2:
        return float(v.mean()), float("nan")
    return float(v.mean()), float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))


def check_claim(claim: str, better: float | Sequence[float], worse: float | Sequence[float], *,
                lower_is_better: bool = False, paper: str = "", metric: str = "") -> dict:
    """Does ``better`` beat ``worse`` (higher, or lower with ``lower_is_better``) beyond the noise?

    ``better`` / ``worse``: the per-seed (or per-replication) values of the two sides, or one number for a
    constant.  Returns a plain dict for tables and records: both means and intervals, the difference in the
    claimed direction with its 95 % half-width, the number of values and the verdict.
    """
    a, b = _values(better, "better"), _values(worse, "worse")
    sign = -1.0 if lower_is_better else 1.0
    diff = sign * (a.mean() - b.mean())  # > 0: the claimed direction
    var_a = a.var(ddof=1) / a.size if a.size > 1 else 0.0
    var_b = b.var(ddof=1) / b.size if b.size > 1 else 0.0
    se = math.sqrt(var_a + var_b)
    dof_parts = [(v, n) for v, n in ((var_a, a.size), (var_b, b.size)) if v > 0]
    if a.size < 2 and b.size < 2:
        half = float("nan")  # one value a side: no interval, no verdict
    elif se == 0.0:
        half = 0.0
    else:
        dof = se ** 4 / sum(v ** 2 / (n - 1) for v, n in dof_parts)  # Welch-Satterthwaite
        half = float(stats.t.ppf(0.975, dof) * se)
    if not math.isfinite(half) or abs(diff) <= half:
        verdict = "within noise"
    else:
        verdict = "holds" if diff > 0 else "does not hold"
    mean_a, ci_a = mean_interval(a)
    mean_b, ci_b = mean_interval(b)
    return {"claim": claim, "metric": metric, "paper": paper, "better_mean": mean_a, "better_ci": ci_a,
            "worse_mean": mean_b, "worse_ci": ci_b, "difference": float(diff), "difference_ci": half,
            "n": int(min(a.size, b.size) if a.size > 1 and b.size > 1 else max(a.size, b.size)),
            "verdict": verdict}


def claims_table(claims: Iterable[dict], digits: int = 3) -> pd.DataFrame:
    """A display table of :func:`check_claim` results: one row per claim, "mean ± half-width" strings."""
    def pm(mean: float, ci: float | None) -> str:
        if ci is None or not math.isfinite(ci):
            return f"{mean:.{digits}g}"
        return f"{mean:.{digits}g} ± {ci:.2g}"

    rows = [{"claim": c["claim"], "metric": c["metric"], "paper": c["paper"],
             "claimed better": pm(c["better_mean"], c["better_ci"]), "other": pm(c["worse_mean"], c["worse_ci"]),
             "difference (95 %)": pm(c["difference"], c["difference_ci"]), "n": c["n"], "verdict": c["verdict"]}
            for c in claims]
    return pd.DataFrame(rows).set_index("claim")


def recorded_claims(record: dict | None, key: str = "claims") -> tuple[str, pd.DataFrame | None]:
    """``(caption, table)`` of the claims in a committed record (``motionlab.notebook.published_record``):
    the caption names the profile, machine, commit and date of the run; ``(sentence, None)`` without one."""
    if record is None or key not in record.get("results", {}):
        return "no recorded run with claims yet (run this chapter with --profile laptop)", None
    p = record.get("provenance", {})
    caption = (f"recorded {record.get('profile')} run on {p.get('machine', '?')}, commit {p.get('commit', '?')}, "
               f"{str(p.get('date', '?'))[:10]}, seed {record.get('seed')}")
    return caption, claims_table(record["results"][key])


def markdown_table(records: dict[str, dict], key: str = "claims") -> str:
    """One Markdown table of the claims in several records (``{chapter: record}``): claim, metric, the
    paper's figure, the measured difference with its 95 % half-width and n, and the verdict."""
    lines = ["| chapter | claim | metric | paper | measured: claimed side vs other (difference ± 95 %) | n | verdict |",
             "|---|---|---|---|---|---|---|"]
    for chapter, record in records.items():
        for c in record["results"].get(key, []):
            ci = c["difference_ci"]
            diff = f"{c['difference']:.3g}" + (f" ± {ci:.2g}" if ci is not None and math.isfinite(ci) else "")
            lines.append(f"| {chapter} | {c['claim']} | {c['metric']} | {c['paper']} | "
                         f"{c['better_mean']:.3g} vs {c['worse_mean']:.3g} ({diff}) | {c['n']} | "
                         f"**{c['verdict']}** |")
    return "\n".join(lines)
