"""Ablation sweeps of chapters 3 and 4: train (cached) tokenizer variants over seeds, evaluate, summarise.

A variant is a name and a dict of overrides of a recipe (``{"L2": {"recon_loss": "l2"}}``); every
(variant, seed) pair is one cached run of :func:`~motionlab.tokenizers.train.get_tokenizer_run`, so a chapter
that re-runs only loads them.  :func:`evaluate_runs` measures every run on the same motions and :func:`summarize` gives
mean and spread per variant.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from motionlab.tokenizers.artifacts import TokenizedSplit, evaluate_reconstruction
from motionlab.tokenizers.train import TokenizerRecipe, TokenizerRun, get_tokenizer_run


def run_variants(data_dir: Any, recipe: TokenizerRecipe, device: str | torch.device, variants: Mapping[str, dict],
                 seeds: Sequence[int]) -> dict[tuple[str, int], TokenizerRun]:
    """Train (or load) ``recipe.replace(**overrides, seed=seed)`` for every variant and training seed; prints
    one summary line instead of the training logs.  Pass ``profile.tokenizer.for_ablation()`` for the
    chapters' cheaper sweep model."""
    runs = {}
    for name, overrides in variants.items():
        for seed in seeds:
            runs[(name, int(seed))] = get_tokenizer_run(data_dir, recipe.replace(**overrides, seed=int(seed)),
                                                        device, quiet=True)
    print(f"[motionlab] {len(variants)} variant(s) x {len(seeds)} seed(s) ready")
    return runs


def evaluate_runs(runs: Mapping[tuple[str, int], TokenizerRun], features: Sequence[np.ndarray],
                  evaluator: Any = None, skeleton: str = "t2m", max_motions: int | None = None,
                  layers: int | None = None) -> pd.DataFrame:
    """One row per run: variant, seed, MPJPE (mm), FID (with an evaluator), usage, perplexity, dead codes.

    ``max_motions`` evaluates every run on the same evenly spaced subset of ``features`` (large test sets);
    ``layers`` decodes only the first RVQ layers of residual runs (single-codebook runs decode as usual).
    """
    if max_motions is not None and len(features) > max_motions:
        keep = np.linspace(0, len(features) - 1, max_motions).round().astype(int)
        features = [features[i] for i in keep]
    rows = []
    for (name, seed), run in runs.items():
        prefix = layers if run.config.residual else None
        metrics = evaluate_reconstruction(run.model, features, evaluator, skeleton, layers=prefix)
        last = run.evals[-1] if run.evals else {}
        rows.append({"variant": name, "seed": seed, **metrics,
                     "dead_codes": last.get("dead_codes", float("nan")),
                     "n_codes": run.config.n_codes})
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, metrics: Sequence[str], order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean and spread (sample std over seeds; NaN with one seed) of each metric per variant.

    Columns ``<metric>`` (mean), ``<metric>_std`` and ``seeds``; rows in ``order`` (default: first appearance).
    """
    order = list(order) if order is not None else list(dict.fromkeys(table["variant"]))
    grouped = table.groupby("variant", sort=False)
    out = pd.DataFrame(index=pd.Index(order, name="variant"))
    for m in metrics:
        out[m] = grouped[m].mean().reindex(order)
        out[f"{m}_std"] = grouped[m].std(ddof=1).reindex(order)
    out["seeds"] = grouped["seed"].count().reindex(order)
    return out


def bars(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The ``mean`` / ``ci`` table :func:`motionlab.viz.plots.bar_with_error` draws (``ci`` = the std)."""
    return pd.DataFrame({"mean": summary[metric], "ci": summary[f"{metric}_std"]}, index=summary.index)


def history_curves(runs: Mapping[tuple[str, int], TokenizerRun], key: str, source: str = "history",
                   seed: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``variant -> (steps, values)`` of one logged quantity (``source="history"``: training log points;
    ``"evals"``: validation points), averaged over seeds unless ``seed`` picks one."""
    curves: dict[str, list] = {}
    for (name, s), run in runs.items():
        if seed is not None and s != seed:
            continue
        points = run.history if source == "history" else run.evals
        steps = np.array([p["step"] for p in points if key in p], dtype=np.float64)
        values = np.array([p[key] for p in points if key in p], dtype=np.float64)
        curves.setdefault(name, []).append((steps, values))
    out = {}
    for name, series in curves.items():
        steps = series[0][0]
        out[name] = (steps, np.mean([v for _, v in series], axis=0))
    return out


# ------------------------------------------------------------------------------ codes and actions
def token_labels(tokens: TokenizedSplit, data_dir: Any) -> list[np.ndarray]:
    """An action label for every token of a tokenised split.

    MotionLab-Synth records each motion's actions and their frame spans (``synth_meta.json``): a token is
    labelled with the action playing at its centre frame.  Other datasets have no such record: every token
    of a motion gets the first verb of the motion's first caption (its POS tags say which word is a verb).
    """
    import json
    from pathlib import Path

    meta_path = Path(data_dir) / "synth_meta.json"
    meta = {}
    if meta_path.is_file():
        meta = {m["name"]: m for m in json.loads(meta_path.read_text())["motions"]}
    out = []
    for i, ids in enumerate(tokens.tokens):
        source = tokens.sources[i] if tokens.sources else tokens.names[i]
        record = meta.get(source) or meta.get(source[1:] if source.startswith("M") else source)
        if record is not None:
            first = (tokens.spans[i][0] if tokens.spans else 0) + int(tokens.offsets[i])
            centres = first + tokens.unit * np.arange(len(ids)) + tokens.unit // 2  # frame of each token
            spans = np.array(record["spans"], dtype=np.int64)  # (segments, 2)
            inside = (centres[:, None] >= spans[None, :, 0]) & (centres[:, None] < spans[None, :, 1])
            seg = np.where(inside.any(1), inside.argmax(1), len(spans) - 1)  # past the end: last action
            out.append(np.array(record["actions"], dtype=object)[seg])
        else:
            caption = tokens.captions[i][0] if tokens.captions and tokens.captions[i] else None
            verbs = [t.split("/")[0] for t in getattr(caption, "tokens", ()) if t.endswith("/VERB")]
            out.append(np.array([verbs[0] if verbs else "other"] * len(ids), dtype=object))
    return out


def code_action_counts(tokens: TokenizedSplit, labels: Sequence[np.ndarray]) -> pd.DataFrame:
    """Contingency table: rows = actions, columns = codes, cells = how many tokens of that action use it."""
    ids = np.concatenate(tokens.tokens)
    acts = np.concatenate(labels)
    names = sorted(set(acts.tolist()))
    row = {a: r for r, a in enumerate(names)}
    table = np.zeros((len(names), tokens.n_codes), dtype=np.int64)
    np.add.at(table, (np.array([row[a] for a in acts]), ids), 1)
    return pd.DataFrame(table, index=pd.Index(names, name="action"))


def mutual_information(counts: Any) -> float:
    """Mutual information (nats) between the row and column variables of a contingency table."""
    c = np.asarray(counts, dtype=np.float64)
    p = c / c.sum()
    outer = p.sum(1, keepdims=True) @ p.sum(0, keepdims=True)  # p(a) p(k)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / outer[nz])).sum())  # sum p(a,k) log p(a,k) / (p(a) p(k))


def pretty(summary: pd.DataFrame, metrics: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """A display copy of :func:`summarize`'s table: one ``"mean ± std"`` string per metric (the mean alone
    with one seed)."""
    out = pd.DataFrame(index=summary.index)
    for m in metrics:
        mean, std = summary[m], summary[f"{m}_std"]
        out[m] = [f"{a:.{digits}g}" + ("" if not np.isfinite(b) else f" ± {b:.2g}") for a, b in zip(mean, std)]
    out["seeds"] = summary["seeds"]
    return out
