"""Caption lines of the HumanML3D layout: ``caption#word/POS word/POS ...#start#end``.

The four ``#``-separated fields are the caption text, its spaCy-style ``word/POS`` tokens (lemmatised, as
the evaluator reads them) and a start and end time in seconds; ``0.0#0.0`` means the whole motion.
Every parse error names the file, the line and the fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from motionlab.errors import DatasetError, InputError


@dataclass(frozen=True)
class Caption:
    """One caption line: the text, its ``word/POS`` tokens and the time span it describes (0, 0 = whole)."""

    text: str
    tokens: tuple[str, ...] = ()
    start: float = 0.0
    end: float = 0.0

    @property
    def whole(self) -> bool:
        """True when the caption describes the whole motion (``0.0#0.0``)."""
        return self.start == 0.0 and self.end == 0.0

    @property
    def words(self) -> tuple[str, ...]:
        """The token words without their POS tags."""
        return tuple(t.rsplit("/", 1)[0] for t in self.tokens)


def parse_caption_line(line: str, source: str | Path = "<caption>", lineno: int | None = None) -> Caption:
    """Parse ``caption#word/POS ...#start#end``; a :class:`DatasetError` names the file, line and fault."""
    where = f"{source}:{lineno}" if lineno is not None else str(source)
    fields = line.rstrip("\r\n").split("#")
    if len(fields) != 4:
        raise DatasetError(
            f"{where}: malformed caption line (expected 4 '#'-separated fields caption#word/POS ...#start#end, "
            f"found {len(fields)}): {line.strip()[:80]!r}"
        )
    text = fields[0].strip()
    if not text:
        raise DatasetError(f"{where}: empty caption text in line {line.strip()[:80]!r}")
    tokens = tuple(fields[1].split())
    bad = [t for t in tokens if "/" not in t[1:-1]]  # a word and a tag on both sides of a '/' 
    if bad:
        raise DatasetError(f"{where}: malformed token {bad[0]!r} (expected word/POS, e.g. 'walk/VERB')")
    times = []
    for label, value in (("start", fields[2]), ("end", fields[3])):
        try:
            t = float(value)
        except ValueError:
            raise DatasetError(f"{where}: non-numeric {label} time {value.strip()!r} (expected seconds, e.g. 0.0)") from None
        times.append(0.0 if math.isnan(t) else t)  # the official loaders read NaN as 0
    start, end = times
    if start < 0 or end < 0 or math.isinf(start) or math.isinf(end) or (not (start == 0 and end == 0) and end <= start):
        raise DatasetError(f"{where}: invalid time span start={start} end={end} (need 0 <= start < end, or 0#0)")
    return Caption(text, tokens, start, end)


def format_caption_line(caption: Caption) -> str:
    """The text-file line of a caption (no newline)."""
    for label, value in (("text", caption.text), *((f"token {t!r}", t) for t in caption.tokens)):
        if "#" in value or "\n" in value:
            raise InputError(f"caption {label} may not contain '#' or a newline: {value!r}")
    if not caption.text.strip():
        raise InputError("caption text is empty")
    return f"{caption.text}#{' '.join(caption.tokens)}#{float(caption.start)}#{float(caption.end)}"


def read_captions(path: Path) -> list[Caption]:
    """All captions of a text file (blank lines ignored); errors name the file and line."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: caption file is missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: caption file cannot be read as UTF-8 text ({err})") from None
    captions = [parse_caption_line(line, path, i + 1) for i, line in enumerate(lines) if line.strip()]
    if not captions:
        raise DatasetError(f"{path}: caption file has no captions")
    return captions
