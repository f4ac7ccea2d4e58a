"""XLSX workbooks: refused when dangerous to open (zip bombs, macros, external links); the
header found (the given rows, or searched for) with the sheet's merged cells spread; the
rows streamed through Arrow into the table. A data value to the right of the header's last
named column is refused, naming its row and column; short rows are padded with NULL."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb

from flows.readers.headers import (
    MAX_HEADER_SCAN_ROWS,
    _column_names,
    _final_headers,
    _header_rows_option,
    header_key,
)
from flows.readers.table import (
    ReadInfo,
    SubmissionError,
    _arrow_table,
    _blank,
    _cell_text,
    _store_arrow,
    _title_line,
)
from flows.registry import Feed

MAX_XLSX_UNCOMPRESSED = 512 * 1024**2   # a sheet bigger than this unpacked is refused
MAX_XLSX_RATIO = 200                     # ... and so is one that unpacks 200x


def _check_xlsx_container(path: Path, name: str) -> None:
    """Refuse workbooks that are dangerous to open: zip bombs, macros, external links."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise SubmissionError(f"{name}: cannot be opened as an Excel workbook: {e}") from None
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if unpacked > MAX_XLSX_UNCOMPRESSED or unpacked / packed > MAX_XLSX_RATIO:
        raise SubmissionError(
            f"{name}: the workbook unpacks to {unpacked / 1024**2:.0f} MB "
            f"({unpacked / packed:.0f}x its size): refused as a possible zip bomb; ask for CSV"
        )
    names = [i.filename.lower() for i in infos]
    if any(n.endswith("vbaproject.bin") for n in names):
        raise SubmissionError(f"{name}: the workbook contains macros (VBA); save it as a "
                              "plain .xlsx without macros")
    if any(n.startswith("xl/externallinks/") for n in names):
        raise SubmissionError(f"{name}: the workbook links to other files (external links); "
                              "paste the values and remove the links, then send it again")


# <mergeCell ref="C5:E5"/>, with or without a namespace prefix. Cell text cannot hold a
# literal "<" (XML escapes it), so a byte search finds exactly the sheet's merged ranges.
MERGE_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']"
                        rb"([A-Za-z]{1,3}[0-9]{1,7}(?::[A-Za-z]{1,3}[0-9]{1,7})?)[\"']")


def _xlsx_merges(path: Path, ws, name: str) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges as (min_col, min_row, max_col, max_row), read from its
    XML in the workbook's zip: openpyxl's read-only mode does not expose them. The XML is
    scanned in chunks, so memory stays flat (its unpacked size is already bounded by
    `_check_xlsx_container`)."""
    from openpyxl.utils.cell import range_boundaries

    member = getattr(ws, "_worksheet_path", None)
    if not member:
        return []
    refs: set[bytes] = set()
    try:
        with zipfile.ZipFile(path) as zf, zf.open(member.lstrip("/")) as f:
            tail = b""
            while chunk := f.read(1 << 22):
                buffer = tail + chunk
                refs.update(m.group(1) for m in MERGE_CELL.finditer(buffer))
                tail = buffer[-1024:]   # a tag cut by the chunk boundary is whole next time
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError, EOFError, ValueError) as e:
        raise SubmissionError(f"{name}: the sheet's merged cells cannot be read: {e}"
                              ) from None
    merges = []
    for ref in refs:
        try:
            bounds = range_boundaries(ref.decode("ascii"))
        except ValueError:
            continue   # not a cell range: nothing to spread
        if None not in bounds:
            merges.append(bounds)
    return sorted(merges)


def _apply_merges(rows: list[list[str]], numbers: list[int],
                  merges: list[tuple[int, int, int, int]]) -> list[list[str]]:
    """Header rows (sheet rows `numbers`) with their merged cells spread: over every column
    of the range in an upper header row, in the first column only in the lowest one (a
    vertical merge counts once)."""
    filled = [list(r) for r in rows]
    position = {n: i for i, n in enumerate(numbers)}
    for min_col, min_row, max_col, max_row in merges:
        top = position.get(min_row)
        if top is None or min_col > len(filled[top]) or not filled[top][min_col - 1]:
            continue
        value = filled[top][min_col - 1]
        for number in numbers:
            if not min_row <= number <= max_row:
                continue
            row = filled[position[number]]
            last = min_col if number == numbers[-1] else max_col
            row.extend([""] * (last - len(row)))
            for col in range(min_col, last + 1):
                if not row[col - 1]:
                    row[col - 1] = value
    return filled


def _sheet_rows(ws, name: str) -> Iterator[tuple[int, tuple]]:
    """(sheet row number, values) for every row, openpyxl's failures on a damaged sheet
    (it raises many types) as a SubmissionError naming the row."""
    rows = ws.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as e:  # any failure inside openpyxl is the file's
            raise SubmissionError(f"{name}: the sheet cannot be read at row {number + 1}: "
                                  f"{type(e).__name__}: {e}") from None
        number += 1
        yield number, row or ()


def _row_texts(row: Sequence[object]) -> list[str]:
    return [(_cell_text(c) or "").strip() for c in row]


def _xlsx_header(rows: Iterator[tuple[int, tuple]], feed: Feed, name: str,
                 header_rows: list[int] | None) -> tuple[list[str], list[list[str]], list[int]]:
    """Read up to the header: (title lines, header rows' texts, their sheet row numbers)."""
    title: list[str] = []
    header: list[list[str]] = []
    numbers: list[int] = []
    if header_rows is not None:
        for number, row in rows:
            if number < header_rows[0]:
                title.append(_title_line(_row_texts(row)))
            elif number in header_rows:
                header.append(_row_texts(row))
                numbers.append(number)
                if number == header_rows[-1]:
                    return [t for t in title if t], header, numbers
        raise SubmissionError(f"{name}: the sheet ends before header row {header_rows[-1]} "
                              f"(options.header_rows of feed '{feed.id}')")
    expected = {header_key(h) for h in feed.columns}
    for number, row in rows:
        cells = _row_texts(row)
        if len(expected & {header_key(c) for c in cells}) >= 2:
            return [t for t in title if t], [cells], [number]
        title.append(_title_line(cells))
        if number >= MAX_HEADER_SCAN_ROWS:
            break
    raise SubmissionError(
        f"{name}: no header row with the expected columns "
        f"{sorted(feed.columns)} in the first {MAX_HEADER_SCAN_ROWS} rows"
    )


def read_xlsx(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str
) -> ReadInfo:
    """The first sheet (or `options.sheet`) of a workbook into `table`."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    _check_xlsx_container(path, name)
    header_rows = _header_rows_option(feed, name)
    # A file object, not the path: openpyxl refuses a path by its suffix, and a snapshot's
    # suffix is whatever the sender's file name had.
    handle = open(path, "rb")  # noqa: SIM115 (read-only workbooks read it until closed)
    try:
        wb = load_workbook(handle, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken zip/xml
        handle.close()
        raise SubmissionError(f"{name}: cannot be opened as an Excel workbook: {e}") from None
    try:
        sheet_name = feed.options.get("sheet")
        if sheet_name is not None and sheet_name not in wb.sheetnames:
            raise SubmissionError(
                f"{name}: has no sheet '{sheet_name}' (sheets: {wb.sheetnames})"
            )
        ws = wb[sheet_name] if sheet_name else next(iter(wb.worksheets), None)
        if ws is None or not hasattr(ws, "iter_rows"):
            raise SubmissionError(f"{name}: the workbook has no worksheet to read "
                                  f"(sheets: {wb.sheetnames})")
        merges = (_xlsx_merges(path, ws, name) if header_rows and len(header_rows) > 1
                  else [])
        # The sheet's declared size can be wrong (some exporters write "A1"), and
        # openpyxl would then cut every row to it: read the cells as they are.
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        rows = _sheet_rows(ws, name)
        title, header, numbers = _xlsx_header(rows, feed, name, header_rows)
        names = _column_names(_apply_merges(header, numbers, merges) if merges else header)
        given = _column_names(header)
        spread = {i for i, n in enumerate(names) if n and not (i < len(given) and given[i])}
        while names and not names[-1]:
            names.pop()   # the header ends at its last named column
        width = len(names)
        data: list[tuple] = []
        with_data: set[int] = set()
        pending: list[tuple] = []   # blank rows since the last data row: kept if data follows
        for number, row in rows:
            texts = [_cell_text(v) for v in row]
            filled = {i for i, t in enumerate(texts) if not _blank(t)}
            if not filled:
                # as delivered ("  " stays); an empty row costs nothing (a sheet may
                # end with a million of them)
                pending.append(tuple(texts[:width]) if any(texts) else ())
                continue
            if max(filled) >= width:
                beyond = min(i for i in filled if i >= width) + 1
                raise SubmissionError(
                    f"{name}: row {number} has a value in column {beyond} "
                    f"({get_column_letter(beyond)}), beyond the header's {width} "
                    f"columns; add a header or remove it")
            with_data |= filled
            data.extend(pending)
            pending.clear()
            data.append(tuple(texts[:width]))
    finally:
        wb.close()
        handle.close()
    keep, headers = _final_headers(name, names, with_data.__contains__, spread)
    columns = [[r[i] if i < len(r) else None for r in data] for i in keep]
    _store_arrow(con, _arrow_table(name, headers, columns, len(data)), table, name)
    return ReadInfo(title, headers)
