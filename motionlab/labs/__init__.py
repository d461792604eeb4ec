"""Self-checks for the chapters' exercises.

Each chapter has a module here (``motionlab.labs.motion_data``, ``motionlab.labs.tokens``, ...) whose
``check_*`` functions take a reader's answer (usually a function), run it on hidden cases and either print
a short "passed" line and return True, or raise :class:`LabCheckFailed` whose message says what went wrong
and gives a hint -- never the answer.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


class LabCheckFailed(AssertionError):
    """A reader's answer did not pass; the message explains what differed and hints at why."""


def passed(exercise: str) -> bool:
    print(f"[motionlab.labs] {exercise}: passed")
    return True


def fail(exercise: str, problem: str, hint: str | None = None) -> None:
    message = f"{exercise}: {problem}"
    if hint:
        message += f"\nHint: {hint}"
    raise LabCheckFailed(message)


def call_answer(exercise: str, answer: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call the reader's function; turn a crash inside it into a helpful failure."""
    try:
        return answer(*args, **kwargs)
    except LabCheckFailed:
        raise
    except Exception as err:  # the reader's code raised: report it as a failed check, with its error
        fail(exercise, f"your function raised {type(err).__name__}: {err}")


def expect_close(exercise: str, what: str, got: Any, want: Any, *, atol: float = 1e-5, rtol: float = 1e-4,
                 hint: str | None = None) -> None:
    """Compare arrays/tensors for shape and value; fail with the first mismatch described."""
    got_a = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got, dtype=np.float64)
    want_a = np.asarray(want.detach().cpu() if hasattr(want, "detach") else want, dtype=np.float64)
    if got_a.shape != want_a.shape:
        fail(exercise, f"{what} has shape {got_a.shape}, expected {want_a.shape}", hint)
    if not np.allclose(got_a, want_a, atol=atol, rtol=rtol, equal_nan=False):
        idx = np.unravel_index(np.argmax(np.abs(got_a - want_a)), got_a.shape)
        fail(exercise, f"{what} differs: at index {tuple(int(i) for i in idx)} got {got_a[idx]:.6g}, "
                       f"expected {want_a[idx]:.6g}", hint)
