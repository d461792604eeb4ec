"""Self-checks for chapter 0 (*Getting started*).

Exercise 1 asks the reader to write the rule that turns ``profile="auto"`` into a concrete profile name,
as a pure function ``rule(explicit, env_value, cuda_available) -> str``.  :func:`check_profile_rule` runs
it on cases that cover each step of the order (explicit parameter > ``MOTIONLAB_PROFILE`` > ``full`` with
CUDA > ``smoke``).

Exercise 2 asks for ``ratio(small, big) -> dict`` giving, for each training stage, how many times more
optimisation steps the ``big`` profile runs than the ``small`` one; :func:`check_budget_ratio` compares it
with the reference on the real profiles.
"""

from __future__ import annotations

from typing import Callable

from motionlab.labs import call_answer, fail, passed
from motionlab.profiles import PROFILES, Profile

_EXERCISE_RULE = "profile rule"
_EXERCISE_RATIO = "budget ratio"

# (explicit, env value, cuda available) -> expected; each case isolates one step of the order.
_RULE_CASES = [
    (("smoke", None, True), "smoke", "an explicit profile wins even when CUDA is present"),
    (("paper", "smoke", False), "paper", "an explicit profile wins over MOTIONLAB_PROFILE"),
    (("auto", "full", False), "full", "with profile='auto', MOTIONLAB_PROFILE decides"),
    (("auto", "smoke", True), "smoke", "MOTIONLAB_PROFILE wins over the CUDA default"),
    (("auto", None, True), "full", "with nothing set, a CUDA machine gets 'full'"),
    (("auto", None, False), "smoke", "with nothing set and no CUDA, the answer is 'smoke'"),
    (("auto", "", True), "full", "an empty MOTIONLAB_PROFILE counts as unset"),
    (("auto", "auto", False), "smoke", "MOTIONLAB_PROFILE='auto' counts as unset"),
]


def reference_profile_rule(explicit: str | None, env_value: str | None, cuda_available: bool) -> str:
    """The resolution order of :func:`motionlab.profiles.resolve_profile_name`, as a pure function."""
    if explicit not in (None, "", "auto"):
        return explicit
    if env_value not in (None, "", "auto"):
        return env_value
    return "full" if cuda_available else "smoke"


def check_profile_rule(rule: Callable[[str | None, str | None, bool], str]) -> bool:
    """Exercise 1: ``rule(explicit, env_value, cuda_available)`` must implement the resolution order."""
    for args, want, why in _RULE_CASES:
        got = call_answer(_EXERCISE_RULE, rule, *args)
        if got != want:
            fail(_EXERCISE_RULE,
                 f"rule(explicit={args[0]!r}, env_value={args[1]!r}, cuda_available={args[2]}) returned "
                 f"{got!r}, expected {want!r}",
                 hint=why)
    return passed(_EXERCISE_RULE)


def _stage_steps(profile: Profile) -> dict[str, int]:
    return {
        "evaluator": profile.evaluator.movement.steps + profile.evaluator.train.steps,
        "tokenizer": profile.tokenizer.train.steps,
        "gpt": profile.gpt.train.steps,
    }


def reference_budget_ratio(small: Profile, big: Profile) -> dict[str, float]:
    """Steps of ``big`` divided by steps of ``small``, per stage (evaluator = movement + matching)."""
    a, b = _stage_steps(small), _stage_steps(big)
    return {stage: b[stage] / a[stage] for stage in a}


def check_budget_ratio(ratio: Callable[[Profile, Profile], dict]) -> bool:
    """Exercise 2: ``ratio(small, big)`` must return ``{"evaluator": .., "tokenizer": .., "gpt": ..}``."""
    pairs = [(PROFILES["smoke"], PROFILES["full"]), (PROFILES["full"], PROFILES["paper"]),
             (PROFILES["smoke"], PROFILES["smoke"])]
    for small, big in pairs:
        got = call_answer(_EXERCISE_RATIO, ratio, small, big)
        want = reference_budget_ratio(small, big)
        if not isinstance(got, dict):
            fail(_EXERCISE_RATIO, f"ratio() returned a {type(got).__name__}, expected a dict",
                 hint="return {'evaluator': ..., 'tokenizer': ..., 'gpt': ...}")
        if set(got) != set(want):
            fail(_EXERCISE_RATIO, f"ratio() returned the keys {sorted(got)}, expected {sorted(want)}")
        for stage, value in want.items():
            try:
                close = abs(float(got[stage]) - value) <= 1e-9 * max(1.0, abs(value))
            except (TypeError, ValueError):
                close = False
            if not close:
                hint = ("the evaluator trains in two phases: add evaluator.movement.steps and evaluator.train.steps"
                        if stage == "evaluator" else "divide the big profile's steps by the small one's")
                fail(_EXERCISE_RATIO, f"ratio({small.name}, {big.name})[{stage!r}] = {got[stage]!r}, "
                                      f"expected {value:g}", hint=hint)
    return passed(_EXERCISE_RATIO)
