"""Progress display that suits where the code runs: tqdm bars in a terminal or a live notebook, a few plain
lines under CI, papermill and nbval (whose logs and saved notebooks must stay small and free of timings).

``$MOTIONLAB_PROGRESS=0/1`` forces either way.
"""

from __future__ import annotations

import math
import os
import sys

PROGRESS_ENV = "MOTIONLAB_PROGRESS"
QUIET_LINES = 8  # progress lines printed when bars are off (plus one header and one footer line)


def progress_enabled(flag: bool | None = None) -> bool:
    """Whether to draw tqdm bars.  ``$MOTIONLAB_PROGRESS`` (0/1) wins, then ``flag``, then auto: on in a
    terminal (stderr is a TTY) or a live Jupyter/Colab/VS Code kernel, off under CI, papermill and nbval."""
    env = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if env in ("0", "1", "false", "true", "no", "yes", "off", "on"):
        return env in ("1", "true", "yes", "on")
    if flag is not None:
        return bool(flag)
    if os.environ.get("CI"):
        return False
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        # jupyter_server sets JPY_SESSION_NAME for the kernels it starts; papermill/nbclient do not.
        return bool(os.environ.get("JPY_SESSION_NAME") or "google.colab" in sys.modules
                    or os.environ.get("VSCODE_PID"))
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class Reporter:
    """Progress of a loop of ``total`` steps: a tqdm bar when ``enabled``, else a ``header`` line, at most
    ``QUIET_LINES`` lines at evenly spaced steps, and a closing line.  ``active=False`` (DDP ranks > 0) is silent.
    No timings are printed in quiet mode: they would make executed notebooks differ on every run."""

    def __init__(self, total: int, start: int = 0, *, enabled: bool, active: bool = True, header: str = "",
                 desc: str = "train"):
        self.total, self.active, self.bar = total, active, None
        self.marks = sorted({math.ceil(total * k / QUIET_LINES) for k in range(1, QUIET_LINES + 1)})
        self.next_mark = next((m for m in self.marks if m > start), None)
        if not active:
            return
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=start, desc=desc, dynamic_ncols=True, leave=True)
        elif header:
            print(header, flush=True)

    def update(self, step: int, *values: dict | None) -> None:
        """After step ``step`` (1-based): advance the bar, or print a line once the next mark is passed.
        ``values`` are dicts to show (e.g. the latest losses, the latest evaluation); None entries are skipped."""
        if not self.active:
            return
        if self.bar is not None:
            self.bar.update(1)
            shown = {k: f"{v:.4g}" for d in values if d for k, v in d.items() if k != "step" and _is_number(v)}
            if shown:
                self.bar.set_postfix(shown, refresh=False)
            return
        if self.next_mark is not None and step >= self.next_mark and (any(values) or step == self.total):
            self.next_mark = next((m for m in self.marks if m > step), None)
            print(f"  step {step}/{self.total}" + "".join(fmt(d) for d in values), flush=True)

    def close(self, line: str = "") -> None:
        """Close the bar, or print the closing line in quiet mode."""
        if self.bar is not None:
            self.bar.close()
        elif self.active and line:
            print(line, flush=True)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fmt(values: dict | None, prefix: str = "") -> str:
    """``"  prefix k=v k=v"`` with 4 significant digits (the ``step`` entry and non-numbers left out)."""
    if not values:
        return ""
    return "  " + prefix + " ".join(f"{k}={v:.4g}" for k, v in values.items() if k != "step" and _is_number(v))
