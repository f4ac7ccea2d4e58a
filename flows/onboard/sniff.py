"""Reading a sample of the file before any registry rule applies: the first rows as a
grid of texts (CSV: delimiter and encoding sniffed; XLSX: the sheet and its merged
cells), the header row(s) detected and the number format (thousands and decimal marks)."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.onboard.request import UsageError
from flows.onboard.text import _is_number_text
from flows.readers import MAX_HEADER_SCAN_ROWS, SubmissionError
from flows.readers.xlsx_reader import _check_xlsx_container, _xlsx_merges

SNIFF_BYTES = 1 << 16        # the part of a CSV file its dialect is guessed from
SNIFF_ROWS = MAX_HEADER_SCAN_ROWS + 40   # rows read to find the header and sample values


@dataclass
class _Grid:
    """The first rows of a file as texts ('' blank), which cells are numbers, the sheet's
    merged ranges (XLSX) and the cells whose number marks tell the number format (text
    cells: an XLSX number is typed already)."""

    texts: list[list[str]]
    numeric: list[list[bool]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    number_texts: list[list[bool]] = field(default_factory=list)


def _upper_header_row(grid: _Grid, above: int, header: int) -> bool:
    """Whether row `above` (0-based, right above the header row `header`) is the upper
    part of the header: a group label over only some of the header's columns ("Jumlah
    Penduduk" merged over "Laki-laki / Perempuan / Total"), cells merged down into the
    header row, or several labels; not a title (one text over the whole width, or in the
    header's first column)."""
    cells, numeric = grid.texts[above], grid.numeric[above]
    named = [c for c, t in enumerate(grid.texts[header]) if t]
    first, width = named[0], named[-1] + 1
    labels = [c for c, t in enumerate(cells[:width]) if t]
    if not labels or any(numeric[c] for c in labels) or any(cells[width:]):
        return False   # blank, a row of data, or text beyond the header: not a label row
    if len(labels) >= 2:
        return True
    covered = set(labels)
    for min_col, min_row, max_col, max_row in grid.merges:
        if min_row != above + 1 or min_col > width or not cells[min_col - 1]:
            continue
        span = set(range(min_col - 1, min(max_col, width)))
        if max_row >= header + 1:          # merged down into the header row
            return True
        covered |= span
    return covered not in ({first}, set(range(first, width)))


def detect_header(grid: _Grid) -> list[int] | None:
    """The header's 1-based row numbers: the first row among the first 30 with at least
    two non-blank text cells whose next row has a number; with the row above it when
    that row is the upper part of a two-row header (`_upper_header_row`). None if no row
    qualifies."""
    for i in range(min(MAX_HEADER_SCAN_ROWS, len(grid.texts) - 1)):
        texts = [t for t, n in zip(grid.texts[i], grid.numeric[i], strict=True) if t and not n]
        if len(texts) >= 2 and any(grid.numeric[i + 1]):
            if i > 0 and any(grid.texts[i - 1]) and _upper_header_row(grid, i - 1, i):
                return [i, i + 1]
            return [i + 1]
    return None


def number_marks(values: list[str]) -> tuple[dict[str, str], str | None]:
    """Reader options for the number format seen in `values` (texts of data cells), and
    a value that shows it: 1.234.567 or 1.234,5 mean thousands "." and decimal ",";
    1,234,567 or 1,234.5 thousands ","; 12,5 decimal ","."""
    values = [v.strip() for v in values if v and _is_number_text(v)]
    for v in values:
        if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+|[+-]?\d{1,3}(\.\d{3}){2,}", v):
            return {"thousands": ".", "decimal": ","}, v
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+\.\d+|[+-]?\d{1,3}(,\d{3}){2,}", v):
            return {"thousands": ","}, v
    for v in values:
        if re.fullmatch(r"[+-]?\d+,\d+", v) and not re.fullmatch(r"[+-]?\d{1,3},\d{3}", v):
            return {"decimal": ","}, v
    # Only 786.683-like values and no other decimals (region codes like 36.04 aside):
    # in an Indonesian table that is a thousands dot.
    grouped = [v for v in values if re.fullmatch(r"[+-]?\d{1,3}\.\d{3}", v)]
    decimals = [v for v in values if "." in v and v not in grouped
                and not re.fullmatch(r"\d{2}(\.\d{2})+", v)]
    if grouped and not decimals:
        return {"thousands": ".", "decimal": ","}, grouped[0]
    return {}, None


def _sniff_delimiter(sample: str) -> str:
    """csv.Sniffer's guess among ; , tab |; if it has none, the candidate that splits the
    most lines into the same number (> 0) of fields."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        pass
    lines = [line for line in sample.splitlines() if line.strip()]
    best, best_score = ",", 0
    for candidate in ";,\t|":
        counts = [line.count(candidate) for line in lines]
        common = max(set(counts), key=counts.count, default=0)
        score = counts.count(common) if common else 0
        if score > best_score:
            best, best_score = candidate, score
    return best


@dataclass
class _Sniffed:
    """What the file looks like, before any registry rule is applied."""

    format: str
    grid: _Grid
    found: list[tuple[str, str]]          # (what, description) lines for section 1
    options: dict[str, Any]               # reader options it needs
    header_rows: list[int] | None         # detected or given, 1-based
    header_why: str = ""
    sheets: list[str] = field(default_factory=list)


def _sniff_csv(path: Path, delimiter: str | None) -> _Sniffed:
    with open(path, "rb") as f:
        raw = f.read(SNIFF_BYTES)
    whole = len(raw) < SNIFF_BYTES
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(raw, final=whole)
        encoding = "utf-8"
    except UnicodeDecodeError:
        # Windows Excel's "CSV" is cp1252; its 5 undefined bytes must not stop the sniff
        text, encoding = raw.decode("cp1252", errors="replace"), "cp1252"
    if not whole and "\n" in text:
        text = text[: text.rindex("\n") + 1]   # a cut last line is not a row
    given = delimiter is not None
    if delimiter is None:
        delimiter = _sniff_delimiter("\n".join(text.splitlines()[:40]))
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        rows = [[c.strip() for c in r] for _, r in zip(range(SNIFF_ROWS), reader, strict=False)]
    except csv.Error:
        rows = []
    width = max((len(r) for r in rows), default=0)
    texts = [r + [""] * (width - len(r)) for r in rows]
    numeric = [[bool(t) and _is_number_text(t) for t in r] for r in texts]
    grid = _Grid(texts, numeric, [], numeric)
    shown = {"\t": "tab"}.get(delimiter, delimiter)
    found = [("delimiter", f"{shown!r} ({'given' if given else 'sniffed'})"),
             ("encoding", encoding + ("" if encoding == "utf-8" else
                                      " (not valid UTF-8: Windows Excel's CSV)"))]
    options: dict[str, Any] = {"delimiter": delimiter}
    if encoding != "utf-8":
        options["encoding"] = encoding
    return _Sniffed("csv", grid, found, options, None)


def _sniff_xlsx(path: Path, name: str, sheet: str | None) -> _Sniffed:
    from openpyxl import load_workbook

    _check_xlsx_container(path, name)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken zip/xml
        raise SubmissionError(f"{name}: cannot be opened as an Excel workbook: {e}") from None
    try:
        sheets = list(wb.sheetnames)
        if sheet is not None and sheet not in sheets:
            raise UsageError(f"{name} has no sheet {sheet!r} (sheets: {', '.join(sheets)})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        merges = _xlsx_merges(path, ws, name)
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()   # a wrong declared size would cut the rows (see readers)
        values = [list(r or ()) for r in ws.iter_rows(max_row=SNIFF_ROWS, values_only=True)]
        used = ws.title
    finally:
        wb.close()
    width = max((len(r) for r in values), default=0)
    texts, numeric, marks = [], [], []
    for row in values:
        row = row + [None] * (width - len(row))
        cells = ["" if v is None else _cell(v).strip() for v in row]
        texts.append(cells)
        numeric.append([
            isinstance(v, int | float | dt.date) and not isinstance(v, bool)
            or (isinstance(v, str) and _is_number_text(v)) for v in row])
        marks.append([isinstance(v, str) for v in row])
    found = [("sheet", f"{used!r}" + (f" (sheets: {', '.join(map(repr, sheets))}; --sheet "
                                      "NAME reads another)" if len(sheets) > 1 else ""))]
    options: dict[str, Any] = {"sheet": used} if sheet or len(sheets) > 1 else {}
    return _Sniffed("xlsx", _Grid(texts, numeric, merges, marks), found, options, None,
                    sheets=sheets)


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
