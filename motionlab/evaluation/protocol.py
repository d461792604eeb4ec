"""The evaluation protocol: N replications of every metric for a set of generators, with the ground truth.

One replication (official protocol of Guo et al. 2022):

1. **GT pass A** -- the test motions in a random order, one random caption and the official random crop
   each, in batches of 32 (an incomplete last batch is dropped).  Its R-precision, MM-Dist and Diversity
   form the ground-truth row, and its captions (and crop lengths) are what the generators receive.
2. **GT pass B** -- a second pass with fresh crops: the reference for FID.  The ground-truth FID is
   FID(A, B) -- not 0, because the crops differ.
3. **Each generator** writes one motion per caption of pass A; R-precision and MM-Dist against pass A's
   texts in the same batches, FID against pass B, Diversity; MultiModality from ``mm_samples`` generations
   for ``mm_texts`` of the captions.

Every metric is reported as mean ± 1.96·std/√N over the N replications (std with ddof=0, as the official
code).  Speed: every possible crop of every test motion is embedded once up front (at most 12 per motion),
every caption once, so the ground-truth passes are index look-ups; generated motions are embedded in large
length-sorted batches; FID takes Tr((S1 S2)^(1/2)) from eigenvalues (``metrics.trace_sqrt_product``, equal
to scipy's ``sqrtm`` route up to round-off, as the tests check) because ``sqrtm`` of a 512 x 512 matrix
takes seconds on a CPU and the protocol needs two per replication and model.

The official repositories differ in what the generator is told and how MultiModality is sampled
(``official_facts`` §6.3); :data:`PRESETS` reproduces each variant.  T2M-GPT's evaluation also takes the FID
reference from the same pass the generator was conditioned on (``fid_reference="same_pass"``: FID of the
generated motions against pass A's ground truth, no pass B); the ground-truth row keeps FID(A, B), since
FID(A, A) is 0 by construction.  Baseline generators (random features,
training-set retrieval) live in :mod:`motionlab.evaluation.baselines` and are re-exported here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from motionlab.errors import InputError
from motionlab.evaluation import metrics as M
from motionlab.evaluation.baselines import Generator, random_generator, retrieval_generator
from motionlab.evaluation.evaluator import UNIT, Evaluator, crop_variants
from motionlab.runtime import rng as make_rng
from motionlab.text.vocab import caption_text

METRICS: dict[str, str] = {  # key -> column name in tables
    "top1": "R-precision top-1 ↑", "top2": "R-precision top-2 ↑", "top3": "R-precision top-3 ↑",
    "fid": "FID ↓", "mm_dist": "MM-Dist ↓", "diversity": "Diversity →", "multimodality": "MModality ↑",
}
GT_NAME = "ground truth"
FID_METHOD = "eigh"  # the sqrtm trace from eigenvalues: the official value (to round-off), ~50x faster at 512-d


@dataclass(frozen=True)
class ProtocolOptions:
    """Every knob of the protocol.

    ``lengths``: ``"gt"`` gives each generator the crop length of its ground-truth motion; ``"model"`` passes
    ``None`` and lets the model choose.  ``eval_length``: ``"generated"`` embeds what the model wrote (cut to
    196 frames); ``"min_gt"`` cuts it to min(generated, ground truth) as MotionGPT does.
    ``mm_selection``: ``"random"`` draws ``mm_texts`` captions, ``"first_batches"`` takes the first
    ``ceil(mm_texts / batch_size)`` batches, ``"all"`` takes every caption of the pass.
    ``fid_reference``: ``"independent"`` compares generated motions with a second ground-truth pass (Guo's
    protocol); ``"same_pass"`` with the pass whose captions the generator received (T2M-GPT's code).
    """

    replications: int = 20
    batch_size: int = 32
    diversity_pairs: int = 300
    lengths: str = "gt"
    eval_length: str = "generated"
    multimodality: bool = True
    mm_texts: int = 100
    mm_samples: int = 30
    mm_pairs: int = 10
    mm_selection: str = "random"
    fid_reference: str = "independent"
    description: str = "Guo et al. 2022"

    def __post_init__(self):
        checks = [
            (self.replications >= 1, "replications", ">= 1"),
            (self.batch_size >= 4, "batch_size", ">= 4"),
            (self.diversity_pairs >= 1, "diversity_pairs", ">= 1"),
            (self.lengths in ("gt", "model"), "lengths", "'gt' or 'model'"),
            (self.eval_length in ("generated", "min_gt"), "eval_length", "'generated' or 'min_gt'"),
            (self.mm_selection in ("random", "first_batches", "all"), "mm_selection",
             "'random', 'first_batches' or 'all'"),
            (self.fid_reference in ("independent", "same_pass"), "fid_reference", "'independent' or 'same_pass'"),
            (self.mm_texts >= 1 and self.mm_samples >= 2 and 1 <= self.mm_pairs <= self.mm_samples, "mm_*",
             "mm_texts >= 1, mm_samples >= 2, 1 <= mm_pairs <= mm_samples"),
        ]
        for ok, name, expected in checks:
            if not ok:
                raise InputError(f"ProtocolOptions.{name}: expected {expected} (got {getattr(self, name, None)!r})")


PRESETS: dict[str, ProtocolOptions] = {
    "t2m": ProtocolOptions(
        lengths="model", mm_selection="random", mm_texts=100,
        description="text-to-motion (Guo 2022): lengths from the model's estimator; MM 100 random texts x 30"),
    "t2m_gpt": ProtocolOptions(
        lengths="model", mm_selection="all", fid_reference="same_pass",
        description="T2M-GPT: own End token; FID against the same pass; MM over all test texts x 30"),
    "tm2t": ProtocolOptions(
        lengths="model", mm_selection="random", mm_texts=100,
        description="TM2T: own end token; MM 100 texts x 30"),
    "motiongpt": ProtocolOptions(
        lengths="model", eval_length="min_gt", mm_selection="random", mm_texts=100,
        description="MotionGPT: own end token, evaluated on min(generated, GT) frames; MM 100 x 30"),
    "momask": ProtocolOptions(
        lengths="gt", mm_selection="first_batches", mm_texts=96,
        description="MoMask: GT lengths; MM over the first 3 batches (96 texts) x 30"),
}


def resolve_options(spec: ProtocolOptions | str, **overrides) -> ProtocolOptions:
    """Options from a preset name (:data:`PRESETS`) or ready ``ProtocolOptions`` (a profile's ``protocol``);
    keyword overrides (``lengths=``, ``replications=`` ...) that are not None are applied last."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(spec, ProtocolOptions):
        base = spec
    elif isinstance(spec, str) and spec in PRESETS:
        base = PRESETS[spec]
    else:
        raise InputError(f"unknown protocol {spec!r}: expected a preset ({', '.join(PRESETS)}) or the "
                         f"ProtocolOptions of a profile (profile.protocol)")
    return replace(base, **overrides)


# ------------------------------------------------------------------------------------------ result
@dataclass
class ProtocolResult:
    """All per-replication values (``values``: long DataFrame model/replication/metric/value) + summaries."""

    values: pd.DataFrame
    options: ProtocolOptions
    n_motions: int  # motions per pass (full batches only)
    notes: list[str] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        """Model names in row order (the ground truth first)."""
        return list(dict.fromkeys(self.values["model"]))

    def summary(self) -> pd.DataFrame:
        """Numeric table: rows = models (ground truth first), columns = (metric, "mean" | "ci")."""
        n = self.options.replications
        stats = self.values.groupby(["model", "metric"], sort=False)["value"].agg(
            mean="mean", ci=lambda v: 1.96 * np.std(v.to_numpy(), ddof=0) / math.sqrt(n))
        wide = stats.unstack("metric")
        wide = wide.swaplevel(axis=1)
        metrics = [m for m in METRICS if m in wide.columns.get_level_values(0)]
        wide = wide.reindex(columns=pd.MultiIndex.from_product([metrics, ["mean", "ci"]]))
        return wide.reindex(self.models)

    def mean(self, model: str, metric: str) -> float:
        """Mean of one metric for one model."""
        return float(self.summary().loc[model, (metric, "mean")])

    def ci(self, model: str, metric: str) -> float:
        """Half-width of the 95 % interval of one metric for one model."""
        return float(self.summary().loc[model, (metric, "ci")])

    def table(self, decimals: int = 3) -> pd.DataFrame:
        """The familiar paper table: ``mean ± ci`` strings, "–" where a metric does not apply."""
        s = self.summary()
        out = pd.DataFrame(index=s.index)
        out.index.name = "model"
        for metric in dict.fromkeys(s.columns.get_level_values(0)):
            col = []
            for model in s.index:
                m, c = s.loc[model, (metric, "mean")], s.loc[model, (metric, "ci")]
                col.append("–" if pd.isna(m) else f"{m:.{decimals}f} ± {c:.{decimals}f}")
            out[METRICS[metric]] = col
        return out

    def figure(self, title: str | None = None):
        """The table as a plotly figure (for the book's static pages)."""
        table = self.table()
        try:
            from motionlab.viz.plots import table_figure
        except ImportError:  # viz is optional for the protocol itself
            import plotly.graph_objects as go

            frame = table.reset_index()
            return go.Figure(go.Table(header=dict(values=list(frame.columns)),
                                      cells=dict(values=[frame[c].tolist() for c in frame.columns])))
        return table_figure(table, title=title)

    def to_records(self) -> dict:
        """JSON-able summary: options, notes, and mean/ci per model and metric."""
        s = self.summary()
        rows = {model: {metric: {"mean": _nan_none(s.loc[model, (metric, "mean")]),
                                 "ci": _nan_none(s.loc[model, (metric, "ci")])}
                        for metric in dict.fromkeys(s.columns.get_level_values(0))} for model in s.index}
        return {"options": asdict(self.options), "n_motions": self.n_motions, "notes": list(self.notes), "rows": rows}


def _nan_none(x: Any) -> float | None:
    return None if pd.isna(x) else float(x)


# -------------------------------------------------------------------------------------- ground truth
@dataclass
class GroundTruthBank:
    """Embeddings of every caption and every possible crop of every test motion, computed once."""

    text_emb: np.ndarray  # (C, d) all captions, flattened
    caption_owner: np.ndarray  # (C,) motion index of each caption
    caption_texts: list[str]
    caption_objects: list[Any]
    crop_emb: np.ndarray  # (K, d) all crops
    crop_start: np.ndarray  # (K,)
    crop_length: np.ndarray  # (K,)
    crop_prob: np.ndarray  # (K,) probability of the crop under the official rule
    crop_offsets: np.ndarray  # (N+1,) crops of motion i are crop_offsets[i]:crop_offsets[i+1]
    caption_offsets: np.ndarray  # (N+1,)
    _cdf: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_motions(self) -> int:
        """Number of test motions in the bank."""
        return len(self.crop_offsets) - 1

    def draw_pass(self, rng: np.random.Generator, n_used: int) -> dict[str, np.ndarray]:
        """One random pass: motion order, a caption and a crop per motion (first ``n_used`` motions)."""
        order = rng.permutation(self.n_motions)[:n_used]
        n_caps = np.diff(self.caption_offsets)[order]
        pick = np.minimum((rng.random(n_used) * n_caps).astype(np.int64), n_caps - 1)  # uniform caption index
        captions = self.caption_offsets[order] + pick
        # crop k of motion i is drawn with probability crop_prob[k]: invert the per-motion cumulative sums,
        # shifted by the motion index so that one searchsorted serves all motions
        target = order + rng.random(n_used)
        crops = np.searchsorted(self._crop_cdf, target, side="right")
        crops = np.clip(crops, self.crop_offsets[order], self.crop_offsets[order + 1] - 1)
        return {"order": order, "captions": captions, "crops": crops}

    @property
    def _crop_cdf(self) -> np.ndarray:
        if self._cdf is None:
            cdf = np.empty(len(self.crop_prob))
            for i in range(self.n_motions):
                k0, k1 = self.crop_offsets[i], self.crop_offsets[i + 1]
                c = np.cumsum(self.crop_prob[k0:k1]) / self.crop_prob[k0:k1].sum()
                c[-1] = 1.0
                cdf[k0:k1] = i + c
            self._cdf = cdf
        return self._cdf


def build_ground_truth(evaluator: Evaluator, features: Sequence[np.ndarray], captions: Sequence[Sequence[Any]]
                       ) -> GroundTruthBank:
    """Embed all captions and all official crops of ``features`` (motions longer than 199 frames are cut to
    199 first, the longest the official loader admits)."""
    if len(features) != len(captions):
        raise InputError(f"{len(features)} motions but {len(captions)} caption lists")
    if any(len(c) == 0 for c in captions):
        raise InputError("every test motion needs at least one caption")
    max_total = evaluator.config.max_motion_length + UNIT - 1
    cap_objs = [c for cs in captions for c in cs]
    cap_owner = np.repeat(np.arange(len(captions)), [len(c) for c in captions])
    cap_off = np.concatenate([[0], np.cumsum([len(c) for c in captions])])
    feats, starts, lengths, probs, counts = [], [], [], [], []
    for i, f in enumerate(features):
        total = min(len(f), max_total)
        if total < UNIT:
            raise InputError(f"test motion {i} has {len(f)} frames, fewer than {UNIT}")
        variants = crop_variants(total)
        counts.append(len(variants))
        for s, length, p in variants:
            feats.append(f)
            starts.append(s)
            lengths.append(length)
            probs.append(p)
    crop_emb = evaluator.embed_motions(feats, starts=starts, lengths=lengths)
    return GroundTruthBank(
        text_emb=evaluator.embed_texts(cap_objs), caption_owner=cap_owner,
        caption_texts=[caption_text(c) for c in cap_objs], caption_objects=cap_objs, crop_emb=crop_emb,
        crop_start=np.array(starts), crop_length=np.array(lengths), crop_prob=np.array(probs),
        crop_offsets=np.concatenate([[0], np.cumsum(counts)]), caption_offsets=cap_off,
    )


# --------------------------------------------------------------------------------------- protocol
def _call_generator(name: str, gen: Generator, captions: list[str], lengths: np.ndarray | None,
                    chunk: int | None) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    step = chunk or len(captions)
    for s in range(0, len(captions), step):
        part = gen(captions[s:s + step], None if lengths is None else lengths[s:s + step])
        part, asked = list(part), len(captions[s:s + step])
        if len(part) != asked:
            raise InputError(f"generator {name!r} returned {len(part)} motions for {asked} captions")
        out.extend(part)
    return out


def _embed_generated(name: str, evaluator: Evaluator, motions: list[np.ndarray]) -> np.ndarray:
    try:
        return evaluator.embed_motions(motions)
    except InputError as err:
        raise InputError(f"generator {name!r}: {err}") from None


def _cut(motions: list[np.ndarray], gt_lengths: np.ndarray | None) -> list[np.ndarray]:
    if gt_lengths is None:
        return motions
    return [np.asarray(m)[:max(UNIT, min(len(m), int(g)))] for m, g in zip(motions, gt_lengths)]


def evaluate(generators: dict[str, Generator] | None, evaluator: Evaluator, split: Any,
             spec: ProtocolOptions | str = "t2m", lengths: str | None = None,
             seed: int = 0, *, generator_batch: int | None = None, progress: bool = False,
             ground_truth: GroundTruthBank | None = None, **overrides) -> ProtocolResult:
    """Run the protocol for ``generators`` (``{name: fn(captions, lengths) -> list of raw (T, D) features}``).

    ``split``: the test split (anything with ``.features`` and ``.captions``, e.g. a ``MotionSplit``).
    ``spec``: a preset name (``"t2m"``, ``"t2m_gpt"``, ``"tm2t"``, ``"motiongpt"``, ``"momask"``) or
    :class:`ProtocolOptions` (a profile's ``protocol``); ``lengths`` (``"gt"``/``"model"``) and other
    keyword overrides (``replications=``, ``multimodality=False`` ...) win over it.  With ``lengths="model"``
    generators get ``None`` as lengths.  The ground-truth row is always included (MultiModality "–").
    ``generator_batch`` chunks the calls to each generator; ``ground_truth`` reuses the embeddings of an
    earlier :func:`build_ground_truth` on the same split and evaluator (it is built here otherwise).
    """
    opts = resolve_options(spec, lengths=lengths, **overrides)
    generators = dict(generators or {})
    if GT_NAME in generators:
        raise InputError(f"{GT_NAME!r} is reserved for the ground-truth row")
    features, captions = list(split.features), list(split.captions)
    keep = [i for i, c in enumerate(captions) if len(c) > 0]
    notes = []
    if len(keep) < len(captions):
        notes.append(f"{len(captions) - len(keep)} test motions without captions were left out")
        warnings.warn(notes[-1], stacklevel=2)
        features, captions = [features[i] for i in keep], [captions[i] for i in keep]
    n = len(features)
    bs = opts.batch_size
    n_used = (n // bs) * bs
    if n_used == 0:
        raise InputError(f"the test split has {n} motions, fewer than one batch of {bs}")
    if n_used < n:
        notes.append(f"{n - n_used} of {n} motions fall outside the last full batch of {bs} in each pass")
    div_pairs = opts.diversity_pairs if n_used >= opts.diversity_pairs else min(100, n_used)
    if div_pairs != opts.diversity_pairs:
        notes.append(f"diversity uses {div_pairs} pairs: only {n_used} motions per pass (T2M-GPT's fallback)")
    top_k = 3
    bank = ground_truth if ground_truth is not None else build_ground_truth(evaluator, features, captions)
    if bank.n_motions != n:
        raise InputError(f"the ground-truth bank holds {bank.n_motions} motions but the split has {n}")
    rows: list[tuple[str, int, str, float]] = []

    for r in range(opts.replications):
        gen_rng = make_rng(seed, "protocol", r)
        a = bank.draw_pass(gen_rng, n_used)
        b = bank.draw_pass(gen_rng, n_used)
        text_a = bank.text_emb[a["captions"]]  # (n_used, d)
        mot_a, mot_b = bank.crop_emb[a["crops"]], bank.crop_emb[b["crops"]]
        fid_ref = mot_a if opts.fid_reference == "same_pass" else mot_b  # generators' FID reference
        top = M.r_precision(text_a, mot_a, top_k, bs)
        gt = {"top1": top[0], "top2": top[1], "top3": top[2],
              "fid": M.fid(mot_a, mot_b, method=FID_METHOD),
              "mm_dist": M.matching_score(text_a, mot_a), "diversity": M.diversity(mot_a, div_pairs, gen_rng),
              "multimodality": float("nan")}
        rows += [(GT_NAME, r, k, float(v)) for k, v in gt.items()]

        cap_texts = [bank.caption_texts[c] for c in a["captions"]]
        gt_len = bank.crop_length[a["crops"]]
        given = gt_len if opts.lengths == "gt" else None
        cut_to = gt_len if opts.eval_length == "min_gt" else None
        for name, gen in generators.items():
            motions = _cut(_call_generator(name, gen, cap_texts, given, generator_batch), cut_to)
            emb = _embed_generated(name, evaluator, motions)
            top = M.r_precision(text_a, emb, top_k, bs)
            res = {"top1": top[0], "top2": top[1], "top3": top[2],
                   "fid": M.fid(emb, fid_ref, method=FID_METHOD),
                   "mm_dist": M.matching_score(text_a, emb), "diversity": M.diversity(emb, div_pairs, gen_rng)}
            res["multimodality"] = (_multimodality(name, gen, evaluator, opts, gen_rng, cap_texts, given, cut_to,
                                                   generator_batch) if opts.multimodality else float("nan"))
            rows += [(name, r, k, float(v)) for k, v in res.items()]
        if progress:
            print(f"[protocol] replication {r + 1}/{opts.replications}", flush=True)

    values = pd.DataFrame(rows, columns=["model", "replication", "metric", "value"])
    return ProtocolResult(values=values, options=opts, n_motions=n_used, notes=notes)


def _multimodality(name: str, gen: Generator, evaluator: Evaluator, opts: ProtocolOptions,
                   rng: np.random.Generator, cap_texts: list[str], given: np.ndarray | None,
                   cut_to: np.ndarray | None, chunk: int | None) -> float:
    """Generate ``mm_samples`` motions for each chosen caption and measure their spread."""
    n = len(cap_texts)
    if opts.mm_selection == "all":
        chosen = np.arange(n)
    elif opts.mm_selection == "first_batches":
        chosen = np.arange(min(n, math.ceil(opts.mm_texts / opts.batch_size) * opts.batch_size))
    else:
        chosen = rng.choice(n, min(opts.mm_texts, n), replace=False)
    s = opts.mm_samples
    texts = [cap_texts[i] for i in chosen for _ in range(s)]
    lens = None if given is None else np.repeat(given[chosen], s)
    cut = None if cut_to is None else np.repeat(cut_to[chosen], s)
    motions = _cut(_call_generator(name, gen, texts, lens, chunk), cut)
    emb = _embed_generated(name, evaluator, motions).reshape(len(chosen), s, -1)  # (texts, samples, d)
    return M.multimodality(emb, opts.mm_pairs, rng)


__all__ = ["evaluate", "ProtocolOptions", "ProtocolResult", "PRESETS", "METRICS", "GT_NAME", "resolve_options",
           "build_ground_truth", "GroundTruthBank", "Generator", "random_generator", "retrieval_generator"]
