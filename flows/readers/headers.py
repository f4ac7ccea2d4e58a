"""Header naming, shared by every reader: where a file's header is and what each column
is called.

Headers (`options.header_rows: [5, 6]`: 1-based sheet rows for XLSX, 1-based lines for
CSV, where a quoted value over several lines is one; or `options.header_row: 5`; or for
XLSX, when neither is set, the first row holding at least two of the feed's mapped
headers; CSV defaults to its first non-blank line after `options.skip_lines`). Data starts
on the row after the last header row.

- A column's name is its non-blank header parts from top to bottom, joined with
  `HEADER_PART_SEPARATOR`, a part equal to the one above it (ignoring case and spaces)
  written once: "Jumlah Penduduk / Laki-laki"; "No" when "No" is its only part.
- XLSX merged cells (the sheet's own merged ranges): a merged cell in an upper header row
  spreads over every column it spans; in the lowest header row it stays in its first
  column (a vertical merge thus counts once). A column named only by such a spread (a
  merge wider than the table) is dropped when it holds no value.
- CSV (no merge information): a blank cell in an upper header row takes the value to its
  left when that cell is non-blank or was itself filled, and the row below has a value
  (given or filled) in this column. Rows are filled from the lowest upper row upwards,
  so a three-row header fills its middle row first.
- A column whose header is blank in every header row is dropped when all its data cells
  are blank, else named `column_<n>` (n = 1-based position), so the steward can map or
  ignore it. Two columns with the same name (ignoring case and spaces) are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

from flows.readers.table import RESERVED_COLUMN, SubmissionError
from flows.registry import Feed

MAX_HEADER_SCAN_ROWS = 30
HEADER_PART_SEPARATOR = " / "      # joins the parts of a header written over several rows


def header_key(name: object) -> str:
    """Headers match ignoring case, surrounding and repeated spaces."""
    return re.sub(r"\s+", " ", str(name or "")).strip().casefold()


def _check_headers(name: str, headers: list[str]) -> None:
    if not any(h.strip() for h in headers):
        raise SubmissionError(f"{name}: the file has no header row")
    seen: set[str] = set()
    for h in headers:
        if header_key(h) in seen and h.strip():
            raise SubmissionError(f"{name}: column '{h}' appears twice in the header")
        seen.add(header_key(h))


def _header_rows_option(feed: Feed, name: str) -> list[int] | None:
    """`options.header_rows`, or `options.header_row` as a one-row list; None when
    neither is set. A bad value is the feed's fault: the message says what to write."""
    opts = feed.options
    rows, single = opts.get("header_rows"), opts.get("header_row")
    if rows is None and single is None:
        return None
    if rows is not None and single is not None:
        raise SubmissionError(f"{name}: feed '{feed.id}' sets both options.header_row and "
                              "options.header_rows; keep one")
    value = [single] if rows is None else rows
    try:
        if isinstance(value, str | bytes) or any(isinstance(v, bool | float) for v in value):
            raise TypeError
        numbers = [int(v) for v in value]
    except (TypeError, ValueError):
        numbers = []
    if not numbers or numbers[0] < 1 or any(
            b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise SubmissionError(
            f"{name}: feed '{feed.id}' has options.header_rows {value!r}; write the "
            "header's row numbers (1 = first row) in increasing order, e.g. [5, 6]"
        )
    return numbers


def _join_parts(parts: Sequence[str]) -> str:
    """One column's header parts, top to bottom, as its name."""
    kept: list[str] = []
    for part in parts:
        part = part.strip()
        # a vertically merged or repeated cell is one part, not "No / No"
        if part and not (kept and header_key(kept[-1]) == header_key(part)):
            kept.append(part)
    return HEADER_PART_SEPARATOR.join(kept)


def _column_names(rows: Sequence[Sequence[str]]) -> list[str]:
    """The header rows (texts, '' for blank) as one name per column ('' when blank)."""
    width = max((len(r) for r in rows), default=0)
    return [_join_parts([r[c] if c < len(r) else "" for r in rows]) for c in range(width)]


def _fill_csv_header(rows: list[list[str]]) -> list[list[str]]:
    """CSV has no merge information: a blank cell of an upper header row takes the value
    to its left when that one is non-blank or filled and the row below has a value in
    this column (see the module docstring). Lowest upper row first, so its fills count
    for the row above."""
    width = max((len(r) for r in rows), default=0)
    filled = [list(r) + [""] * (width - len(r)) for r in rows]
    for r in range(len(filled) - 2, -1, -1):
        row, below = filled[r], filled[r + 1]
        for c in range(1, width):
            if not row[c] and row[c - 1] and below[c]:
                row[c] = row[c - 1]
    return filled


def _final_headers(name: str, names: list[str], has_data: Callable[[int], bool],
                   spread: Collection[int] = ()) -> tuple[list[int], list[str]]:
    """The positions kept and their final names: a column without a header is dropped
    when `has_data(position)` is false, else named `column_<n>`; so is a column whose
    only name is a merged cell spread over it (`spread`: a merge wider than the table).
    Refuses a file without any header, a name given twice and names a table cannot
    hold."""
    if not any(names):
        raise SubmissionError(f"{name}: the file has no header row")
    keep: list[int] = []
    final: list[str] = []
    for i, n in enumerate(names):
        if (n and i not in spread) or has_data(i):
            keep.append(i)
            final.append(n or f"column_{i + 1}")
    _check_headers(name, final)
    for n in final:
        if "\x00" in n:
            raise SubmissionError(f"{name}: a header contains a NUL character: {n!r}")
        if header_key(n) == RESERVED_COLUMN:
            raise SubmissionError(f"{name}: a column is named '{n}', a name the warehouse "
                                  "keeps for itself; rename it")
    return keep, final
