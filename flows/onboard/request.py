"""What `satudata feeds try` was asked (`TryRequest`, `parse_header_rows`) and
`UsageError`, a request it cannot do (exit code 2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class UsageError(Exception):
    """The command was asked something it cannot do (exit code 2)."""


@dataclass(frozen=True)
class TryRequest:
    """What `satudata feeds try` was asked: the file, the dataset, either a regency (to
    propose a new entry) or a feed id (to try that feed's entry), and reader overrides."""

    file: Path
    dataset: str
    regency: str | None = None
    feed_id: str | None = None
    registry: Path | None = None
    sheet: str | None = None
    header_rows: list[int] | None = None
    delimiter: str | None = None
    rows: int = 10


def parse_header_rows(text: str) -> list[int]:
    """`--header-rows 5,6` as [5, 6]: 1-based row numbers in increasing order."""
    try:
        rows = [int(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        rows = []
    if not rows or rows[0] < 1 or any(b <= a for a, b in zip(rows, rows[1:], strict=False)):
        raise UsageError(f"--header-rows {text!r}: write the header's row numbers "
                         "(1 = first row) in increasing order, e.g. 5,6")
    return rows
