"""What the dataset card (chapter 1b) shows: statistics of a built MotionLab-Synth folder, the gallery of
actions, plausibility measures next to real motion capture, and how ambiguous the captions are."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from motionlab.data.captions import read_captions
from motionlab.data.synth.actions import ACTIONS
from motionlab.data.synth.build import META_FILE
from motionlab.data.synth.captions import caption_motion
from motionlab.data.synth.compose import render_plan, sample_plan, single_action_plan
from motionlab.data.synth.quality import measure
from motionlab.errors import DatasetError

# HumanML3D's published statistics (README) for comparison
HUMANML3D = {"motions": 14616, "captions": 44970, "vocabulary": 5371, "mean seconds": 7.1, "mean words": 12.0}


@dataclass
class SynthStats:
    """Statistics of one built folder (base motions; mirrors double the motion and caption counts)."""

    n_motions: int
    mirrored: bool
    splits: dict[str, int]
    frames: np.ndarray  # feature rows per base motion
    motion_actions: list[list[str]]  # the actions of each base motion, in order
    actions: Counter  # segments per action
    segments: Counter  # motions by number of actions
    captions: list[list[str]]  # texts per base motion
    tokens: list[list[str]]  # token words per caption (all captions of base motions)
    levels: Counter  # captions by detail level
    subclip_captions: int
    shared: dict[str, set] = field(default_factory=dict)  # caption text -> the action lists it describes

    @property
    def n_files(self) -> int:
        """Motions in the folder, mirrors included."""
        return self.n_motions * (2 if self.mirrored else 1)

    @property
    def n_captions(self) -> int:
        """Caption lines in the folder, mirrors included."""
        return sum(len(c) for c in self.captions) * (2 if self.mirrored else 1)

    @property
    def vocabulary(self) -> set[str]:
        """Distinct token words of the base captions."""
        return {w for toks in self.tokens for w in toks}

    @property
    def caption_words(self) -> np.ndarray:
        """Token count of every base caption."""
        return np.array([len(t) for t in self.tokens])

    def table(self) -> pd.DataFrame:
        """MotionLab-Synth next to HumanML3D's published numbers."""
        rows = {
            "motions (with mirrors)": (self.n_files, 2 * HUMANML3D["motions"]),
            "motions (without)": (self.n_motions, HUMANML3D["motions"]),
            "captions (without mirrors)": (self.n_captions // (2 if self.mirrored else 1), HUMANML3D["captions"]),
            "vocabulary (token words)": (len(self.vocabulary), HUMANML3D["vocabulary"]),
            "mean length (s)": (round(float(self.frames.mean()) / 20, 2), HUMANML3D["mean seconds"]),
            "mean caption length (words)": (round(float(self.caption_words.mean()), 1), HUMANML3D["mean words"]),
        }
        return pd.DataFrame(rows, index=["MotionLab-Synth", "HumanML3D"]).T


def dataset_stats(folder: str | Path) -> SynthStats:
    """Read a built MotionLab-Synth folder (``synth_meta.json`` and the caption files)."""
    root = Path(folder)
    meta_path = root / META_FILE
    if not meta_path.is_file():
        raise DatasetError(f"{meta_path}: missing -- is {root} a MotionLab-Synth folder built by build_synth?")
    meta = json.loads(meta_path.read_text())
    motions = meta["motions"]
    splits = {s: len((root / f"{s}.txt").read_text().split()) for s in ("train", "val", "test")}
    captions, tokens = [], []
    levels: Counter = Counter()
    subclips = 0
    shared: dict[str, set] = defaultdict(set)
    for m in motions:
        caps = read_captions(root / "texts" / f"{m['name']}.txt")
        captions.append([c.text for c in caps])
        tokens += [list(c.words) for c in caps]
        for c, spec in zip(caps, m["captions"]):
            levels[spec["level"]] += 1
            subclips += bool(spec["subclip"])
            if not spec["subclip"]:
                shared[c.text.rstrip(".")].add(" + ".join(m["actions"]))
    return SynthStats(
        n_motions=meta["n_motions"], mirrored=meta["mirror"], splits=splits,
        frames=np.array([m["frames"] for m in motions]), motion_actions=[m["actions"] for m in motions],
        actions=Counter(a for m in motions for a in m["actions"]),
        segments=Counter(len(m["actions"]) for m in motions), captions=captions, tokens=tokens, levels=levels,
        subclip_captions=subclips, shared=dict(shared),
    )


def ambiguous_captions(stats: SynthStats, top: int = 8) -> pd.DataFrame:
    """Caption texts that describe motions of different actions (one caption, many motions)."""
    rows = [(text, len(kinds), ", ".join(sorted(kinds)[:4]) + (" ..." if len(kinds) > 4 else ""))
            for text, kinds in stats.shared.items() if len(kinds) > 1]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return pd.DataFrame(rows[:top], columns=["caption", "different action lists", "e.g."])


def gallery(actions: list[str], seed: int = 0, overrides: dict[str, dict] | None = None
            ) -> tuple[dict[str, np.ndarray], list[str]]:
    """One short motion per action and one detailed (level-2) caption each: ``({action: joints}, captions)``.

    ``overrides`` fixes parameters of some actions, e.g. ``{"wave": {"side": "left"}}``."""
    motions, captions = {}, []
    for i, name in enumerate(actions):
        if name not in ACTIONS:
            raise KeyError(f"unknown action {name!r}; known: {', '.join(sorted(ACTIONS))}")
        rng = np.random.default_rng([seed, i, len(name)])
        plan = single_action_plan(name, rng, **(overrides or {}).get(name, {}))
        motions[name.replace("_", " ")] = render_plan(plan).joints
        caps, specs = caption_motion(plan, rng)
        captions.append(next(c.text for c, s in zip(caps, specs) if s.level == 2))
    return motions, captions


def plausibility(n_motions: int = 40, seed: int = 0, real: np.ndarray | None = None) -> pd.DataFrame:
    """The measures of :mod:`motionlab.data.synth.quality` over ``n_motions`` generated motions (mean and
    worst), with a real HumanML3D motion's values when ``real`` joints are given."""
    rows = [measure(render_plan(sample_plan(np.random.default_rng([seed, 7, i]))).joints).as_dict()
            for i in range(n_motions)]
    df = pd.DataFrame(rows)
    worst = df.max()
    table = pd.DataFrame({"synthetic mean": df.mean(), "synthetic worst": worst})
    if real is not None:
        table["real (HumanML3D 012314)"] = pd.Series(measure(real).as_dict())
    return table
