"""Readers: turn one received file into a DuckDB table of text columns, as delivered.

Every reader produces the same thing: a table whose columns are the file's own headers
(all VARCHAR, values untouched) plus `_row_number`, the row's position in the file
(1 = first data row), and returns a `ReadInfo`: the title block above the header and the
final column names. Typing and renaming happen afterwards, in SQL, driven by the feed
registry, so every format shares one set of rules and error messages.
CSV is read by DuckDB's own reader; XLSX and CKAN JSON are streamed through Arrow.

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
- XLSX: a data value to the right of the header's last named column is refused, naming
  its row and column; short rows are padded with NULL. CSV rows must have the header's
  number of fields (DuckDB's strict mode names the line).
- The title block is the text of the non-blank rows above the header (XLSX: a row's
  cells joined by a space; CSV: the skipped lines' fields joined by a space).

A file that cannot be read ends as a `SubmissionError` naming the file (and the row or
column where known); only programming errors escape as other exceptions.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from flows.common.sql import quote_ident
from flows.registry import Feed

MAX_HEADER_SCAN_ROWS = 30
HEADER_PART_SEPARATOR = " / "      # joins the parts of a header written over several rows
MAX_CSV_HEADER_LINE = 4 * 1024**2  # a longer line above the data is not a table's header
RESERVED_COLUMN = "_row_number"


class SubmissionError(ValueError):
    """A received file cannot be used. The message names the file and, where it
    applies, the row and column, and says what the regency should fix."""


@dataclass(frozen=True)
class ReadInfo:
    """What a reader found besides the rows: `title`, the text of the non-blank rows
    above the header (one string per row), and `headers`, the table's column names
    (without `_row_number`), in file order."""

    title: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)


def header_key(name: object) -> str:
    """Headers match ignoring case, surrounding and repeated spaces."""
    return re.sub(r"\s+", " ", str(name or "")).strip().casefold()


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _title_line(cells: Sequence[str | None]) -> str:
    """A title row's text: its non-blank cells, stripped, joined by a space."""
    return " ".join(c.strip() for c in cells if not _blank(c))


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


def _arrow_table(name: str, headers: list[str], columns: list[list[str | None]],
                 rows: int) -> pa.Table:
    """Text columns (one list per header, `rows` long) plus `_row_number`."""
    try:
        arrays = [pa.array(c, type=pa.string()) for c in columns]
        arrays.append(pa.array(range(1, rows + 1), pa.int64()))
        return pa.Table.from_arrays(arrays, names=[*headers, RESERVED_COLUMN])
    except (pa.ArrowException, UnicodeError) as e:
        # lone surrogates (JSON "\ud800") are not text Arrow can store
        raise SubmissionError(f"{name}: contains text that is not valid Unicode: {e}"
                              ) from None


def _store_arrow(con: duckdb.DuckDBPyConnection, arrow: pa.Table, table: str,
                 name: str) -> None:
    view = "_reader_rows"
    con.register(view, arrow)
    try:
        con.execute(f"create or replace table {table} as select * from {view}")
    except duckdb.Error as e:
        raise SubmissionError(f"{name}: cannot be stored as a table: {e}") from None
    finally:
        con.unregister(view)


MAGIC = {  # files that are not text tables, whatever their name says
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx saved with a .csv name?)",
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls / OLE file (save it as .xlsx or CSV)",
}
MAX_XLSX_UNCOMPRESSED = 512 * 1024**2   # a sheet bigger than this unpacked is refused
MAX_XLSX_RATIO = 200                     # ... and so is one that unpacks 200x


def _refuse_non_text(path: Path, name: str) -> None:
    """A web feed that answers with an error page (HTTP 200), a binary file under a .csv
    name, or a UTF-16 export is not the UTF-8 text table the reader expects."""
    with open(path, "rb") as f:
        raw = f.read(65536)
    for magic, what in MAGIC.items():
        if raw.startswith(magic):
            raise SubmissionError(f"{name}: this is {what}, not a text table")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SubmissionError(
            f"{name}: the file is UTF-16 ('Unicode text' from Excel); ask the regency to "
            "save it as CSV UTF-8, or set options.encoding: utf-16 on the feed"
        )
    if b"\x00" in raw:
        raise SubmissionError(f"{name}: the file contains NUL bytes (a binary or damaged "
                              "file, not a text table)")
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        raise SubmissionError(
            f"{name}: this is an HTML/XML page, not data (an error or login page served "
            "instead of the file?); ask the regency for the export itself"
        )


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


CSV_REASONS = ("Expected Number of Columns", "Value with unterminated quote",
               "Maximum line size")   # DuckDB's own words for what is wrong with a line


def _csv_reason(message: str, source: Path, name: str) -> str:
    """DuckDB's CSV error, cut to what a data steward can act on: the line, what is wrong
    with it and how it begins."""
    text = message.replace(str(source), name).replace("Invalid Input Error: ", "")
    head = text.split("Possible fixes:")[0]
    line = re.search(r"CSV Error on Line: (\d+)", head)
    found = [part.strip() for part in head.splitlines()
             if part.strip().startswith(CSV_REASONS)]
    if line and found:
        begins = re.search(r"Original Line: ?\n?([^\n]*)", head)
        shown = begins.group(1).strip() if begins else ""
        shown = f" (it begins {shown[:60]!r})" if shown else ""
        return f"line {line.group(1)}: {' '.join(found)}{shown}"
    keep = []
    for part in text.splitlines():
        if not part.strip() or part.startswith(("Possible", "The search space", "LINE ")):
            break
        keep.append(part.strip())
    return " ".join(keep[:3])


def _csv_error(e: duckdb.Error, feed: Feed, source: Path, name: str) -> SubmissionError:
    """DuckDB's error reading a CSV file as the SubmissionError that says what to fix."""
    full = str(e)
    if "invalid unicode" in full.lower():
        line = re.search(r"CSV Error on Line: (\d+)", full)
        where = f" (line {line.group(1)})" if line else ""
        return SubmissionError(
            f"{name}: not valid UTF-8 text{where}. If the regency saves from Windows "
            f"Excel, set options.encoding: cp1252 on feed '{feed.id}'"
        )
    hint = ""
    if "sniffing" in full or "Expected Number of Columns" in full:
        hint = (f"; check that every row has as many fields as the header, separated "
                f"by {feed.options.get('delimiter', ',')!r}, and that the file is not cut "
                "short")
    return SubmissionError(
        f"{name}: cannot be read as CSV: {_csv_reason(full, source, name)}{hint}")


def _mixed_newlines(head: bytes) -> bool:
    crlf = head.count(b"\r\n")
    lone_cr = head.count(b"\r") - crlf
    lone_lf = head.count(b"\n") - crlf
    return lone_cr > 0 or (crlf > 0 and lone_lf > 0)


def _rewrite_utf8_lf(src_path: Path, dst_path: Path, decoder) -> None:
    """Decode with `decoder`, write UTF-8 with LF line endings, chunk by chunk."""
    carry = ""
    with open(src_path, "rb") as src, open(dst_path, "w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(1 << 22)
            text = carry + decoder.decode(chunk, final=not chunk)
            carry = ""
            if chunk and text.endswith("\r"):   # a CRLF may straddle two chunks
                text, carry = text[:-1], "\r"
            dst.write(text.replace("\r\n", "\n").replace("\r", "\n"))
            if not chunk:
                break


def _csv_dialect(feed: Feed, name: str) -> tuple[str, str]:
    """The feed's delimiter and quote, as both DuckDB and Python's csv module take them."""
    delimiter = str(feed.options.get("delimiter", ","))
    quote = str(feed.options.get("quote", '"'))
    if len(delimiter) != 1 or len(quote) != 1 or delimiter == quote or delimiter in "\r\n":
        raise SubmissionError(
            f"{name}: feed '{feed.id}' has options.delimiter {delimiter!r} and options.quote "
            f"{quote!r}; write one character each, different, e.g. ';' and '\"'")
    return delimiter, quote


def _check_header(path: Path, name: str, delimiter: str, quote: str) -> None:
    """DuckDB silently renames a repeated header (`Periode`, `Periode_1`): refuse it here."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            header = next(csv.reader(f, delimiter=delimiter, quotechar=quote), [])
    except (csv.Error, TypeError) as e:
        raise SubmissionError(f"{name}: cannot be read as CSV: {e}") from None
    _check_headers(name, [h.strip() for h in header])


def _utf8_lines(f, feed: Feed, name: str) -> Iterator[str]:
    """The lines of a UTF-8 file opened in binary, decoded one by one, so a bad byte is
    reported with its line and nothing past the lines asked for is read."""
    number = 0
    while True:
        raw = f.readline(MAX_CSV_HEADER_LINE)
        if not raw:
            return
        number += 1
        if len(raw) == MAX_CSV_HEADER_LINE and not raw.endswith(b"\n"):
            raise SubmissionError(f"{name}: line {number} is longer than "
                                  f"{MAX_CSV_HEADER_LINE // 1024**2} MB: not a table's header")
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SubmissionError(
                f"{name}: not valid UTF-8 text (line {number}). If the regency saves from "
                f"Windows Excel, set options.encoding: cp1252 on feed '{feed.id}'"
            ) from None


@dataclass(frozen=True)
class _CsvLayout:
    """Where a CSV file's header and data are: `names`, one per field of the header
    ('' for a column without a header); `skip`, the records before the first data row
    (DuckDB's `skip` counts records as Python's csv module does: a quoted line break
    stays inside its record, a blank line is one)."""

    title: list[str]
    names: list[str]
    skip: int
    first_lines: int   # physical lines of the first record


def _csv_layout(source: Path, feed: Feed, name: str, delimiter: str,
                quote: str) -> _CsvLayout:
    """Read the title and header lines (only those) with Python's csv module."""
    header_rows = _header_rows_option(feed, name)
    try:
        skip_lines = int(feed.options.get("skip_lines") or 0)
    except (TypeError, ValueError):
        skip_lines = -1
    if skip_lines < 0:
        raise SubmissionError(f"{name}: feed '{feed.id}' has options.skip_lines "
                              f"{feed.options.get('skip_lines')!r}; write a whole number")
    if header_rows and skip_lines:
        raise SubmissionError(
            f"{name}: feed '{feed.id}' sets options.skip_lines and options.header_rows; "
            "header_rows gives the header's line numbers, so drop skip_lines")
    title: list[str] = []
    rows: list[list[str]] = []
    skip = first_lines = 0
    with open(source, "rb") as f:
        records = csv.reader(_utf8_lines(f, feed, name), delimiter=delimiter,
                             quotechar=quote)
        try:
            for number, record in enumerate(records, start=1):
                first_lines = first_lines or records.line_num
                cells = [c.strip() for c in record]
                if header_rows is None:
                    # the header: the first non-blank line after the skipped ones
                    if number <= skip_lines or not any(cells):
                        title.append(_title_line(cells))
                        continue
                    rows, skip = [cells], number
                    break
                if number < header_rows[0]:
                    title.append(_title_line(cells))
                elif number in header_rows:
                    rows.append(cells)
                    if number == header_rows[-1]:
                        skip = number
                        break
        except csv.Error as e:
            raise SubmissionError(
                f"{name}: cannot be read as CSV: line {records.line_num}: {e}") from None
    if not skip:
        where = (f"before header line {header_rows[-1]} (options.header_rows)"
                 if header_rows else "without a header line")
        raise SubmissionError(f"{name}: the file ends {where}")
    if len(rows) > 1:
        rows = _fill_csv_header(rows)
    return _CsvLayout([t for t in title if t], _column_names(rows), skip, first_lines)


def _read_csv_call(width: int) -> str:
    """DuckDB's reader of the data rows: `width` text fields c0..c<width-1> a row; a row
    with another number of fields is an error naming its line. Parameters: the path,
    delimiter, quote (also the escape: "" inside quotes, as Python's csv reads it) and
    the records to skip."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    return (f"read_csv(?, delim = ?, quote = ?, escape = ?, header = false, "
            f"auto_detect = false, columns = {columns}, null_padding = false, "
            "strict_mode = true, skip = ?)")


def _csv_relation(width: int, keep: list[int], headers: list[str]) -> str:
    select = ", ".join(f"c{i} as {quote_ident(h)}" for i, h in zip(keep, headers,
                                                                   strict=True))
    return (f"(select {select}, row_number() over () as {RESERVED_COLUMN} "
            f"from {_read_csv_call(width)})")


class CsvSource(tuple):
    """What `read_csv_source` yields: unpacks as (relation, params), the relation's SQL and
    its parameters; `info` is the file's ReadInfo (title block and column names)."""

    info: ReadInfo

    def __new__(cls, relation: str, params: list, info: ReadInfo) -> CsvSource:
        self = super().__new__(cls, (relation, params))
        self.info = info
        return self


def _rewritten(feed: Feed, path: Path, name: str, encoding: str) -> Path:
    """A temporary copy of `path` in UTF-8 with LF line endings and no BOM; the caller
    removes it."""
    if encoding in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise SubmissionError(
            f"{name}: feed '{feed.id}' declares unknown encoding '{encoding}'") from None
    fd, tmp = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    try:
        _rewrite_utf8_lf(path, Path(tmp), decoder)
    except UnicodeError as e:   # the UTF-16 decoder raises the base class
        Path(tmp).unlink(missing_ok=True)
        at = f" at byte {e.start}" if isinstance(e, UnicodeDecodeError) else f": {e}"
        if encoding == "utf-8-sig":
            raise SubmissionError(
                f"{name}: not valid UTF-8 text{at}. If the regency saves from Windows "
                f"Excel, set options.encoding: cp1252 on feed '{feed.id}'") from None
        raise SubmissionError(f"{name}: not valid {encoding} text{at}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


@contextmanager
def _open_csv(feed: Feed, path: Path, name: str, *,
              scan_blank_columns: bool) -> Iterator[tuple[CsvSource, int, list[int]]]:
    """The CSV source, the header's width and the positions of columns without a header
    kept as `column_<n>`. With `scan_blank_columns`, such a column is dropped when none
    of its values is non-blank (one extra pass over the file, only when the header has
    blank cells); without, every one is kept and the caller decides."""
    opts = feed.options
    encoding = str(opts.get("encoding", "utf-8")).lower().replace("_", "-")
    delimiter, quote = _csv_dialect(feed, name)
    source = path
    tmp: Path | None = None
    if path.stat().st_size == 0:
        raise SubmissionError(f"{name}: the file is empty")
    _refuse_non_text(path, name)
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    try:
        if encoding not in ("utf-8", "utf8") or _mixed_newlines(head):
            # DuckDB reads UTF-8 with one kind of line ending; other encodings (cp1252 from
            # Windows Excel) and mixed CRLF/LF/CR endings are rewritten first, in chunks,
            # so memory stays flat on large files.
            source = tmp = _rewritten(feed, path, name, encoding)
        layout = _csv_layout(source, feed, name, delimiter, quote)
        if tmp is None and layout.first_lines > 1 and head.startswith(codecs.BOM_UTF8):
            # DuckDB's `skip` does not see a quote right after a BOM, so a first record
            # over several lines ('"Jumlah\nPenduduk";...') would be miscounted; such a
            # file (rare) is rewritten without its BOM.
            source = tmp = _rewritten(feed, path, name, "utf-8")
            layout = _csv_layout(source, feed, name, delimiter, quote)
        width = len(layout.names)
        params = [str(source), delimiter, quote, quote, layout.skip]
        blank = [i for i, n in enumerate(layout.names) if not n]
        with_data = set(blank)
        if blank and scan_blank_columns:
            with_data = _csv_columns_with_data(feed, source, name, width, blank, params)
        keep, headers = _final_headers(name, layout.names, with_data.__contains__)
        kept_blank = [i for i in blank if i in with_data]
        info = ReadInfo(layout.title, headers)
        yield CsvSource(_csv_relation(width, keep, headers), params, info), width, kept_blank
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _csv_columns_with_data(feed: Feed, source: Path, name: str, width: int,
                           blank: list[int], params: list) -> set[int]:
    """The columns among `blank` with some non-blank value (a pass over the file)."""
    found = ", ".join(f"coalesce(bool_or(trim(c{i}) <> ''), false)" for i in blank)
    try:
        with duckdb.connect() as con:
            row = con.execute(f"select {found} from {_read_csv_call(width)}",
                              params).fetchone()
    except duckdb.Error as e:
        raise _csv_error(e, feed, source, name) from None
    return {i for i, has in zip(blank, row, strict=True) if has}


@contextmanager
def read_csv_source(feed: Feed, path: Path, name: str) -> Iterator[CsvSource]:
    """The received CSV file as a DuckDB relation: yields a `CsvSource`, which unpacks as
    (relation SQL, its parameters); its columns are the file's headers (named by the
    module's header rules), all text, plus `_row_number`, the same as `read_file`'s.
    Refuses what is not a text table; a file in another encoding, or with mixed line
    endings, is rewritten to UTF-8 in a temporary file first, removed on exit. Only the
    title and header lines are read before the SQL runs (and, when the header has blank
    cells, one pass to find which of those columns hold values)."""
    with _open_csv(feed, path, name, scan_blank_columns=True) as (csv_source, _, _):
        yield csv_source


def read_csv(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str
) -> ReadInfo:
    """A CSV file into `table`, read by DuckDB (see `read_csv_source`)."""
    with _open_csv(feed, path, name, scan_blank_columns=False) as (source, _, blank):
        relation, params = source
        try:
            con.execute(f"create or replace table {table} as select * from {relation}",
                        params)
        except duckdb.Error as e:
            raise _csv_error(e, feed, Path(params[0]), name) from None
        info = source.info
    if blank:
        # Columns without a header are dropped when empty; they are known once read.
        names = {i: f"column_{i + 1}" for i in blank}
        found = ", ".join(f"coalesce(bool_or(trim({quote_ident(n)}) <> ''), false)"
                          for n in names.values())
        has = con.execute(f"select {found} from {table}").fetchone()
        empty = [n for n, h in zip(names.values(), has, strict=True) if not h]
        for n in empty:
            con.execute(f"alter table {table} drop column {quote_ident(n)}")
        info = ReadInfo(info.title, [h for h in info.headers if h not in empty])
    return info


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


def _field_name(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def read_ckan_json(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str
) -> ReadInfo:
    """A CKAN `datastore_search` response: {"success": true, "result": {"fields", "records"}}."""
    text = path.read_bytes()
    if not text.strip():
        raise SubmissionError(f"{name}: the file is empty")
    _refuse_non_text(path, name)
    try:
        doc = json.loads(text)
    except RecursionError:
        raise SubmissionError(f"{name}: the JSON is nested too deeply to be a datastore "
                              "response; refused") from None
    except ValueError as e:   # JSONDecodeError, UnicodeDecodeError, a too long integer
        raise SubmissionError(f"{name}: not valid JSON: {e}") from None
    if isinstance(doc, dict) and doc.get("success") is False:
        raise SubmissionError(f"{name}: the CKAN API answered success=false: "
                              f"{doc.get('error')}")
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), dict):
        raise SubmissionError(
            f"{name}: not a CKAN datastore_search response (no 'result' object)"
        )
    result = doc["result"]
    records = result.get("records")
    if not isinstance(records, list):
        raise SubmissionError(f"{name}: 'result.records' is missing or not a list")
    bad = next((i for i, r in enumerate(records, start=1) if not isinstance(r, dict)), None)
    if bad is not None:
        raise SubmissionError(f"{name}: record {bad} of 'result.records' is not an object")
    fields = result.get("fields") or []
    if not isinstance(fields, list):
        raise SubmissionError(f"{name}: 'result.fields' is not a list")
    keys = ([_field_name(f.get("id")) for f in fields if isinstance(f, dict)]
            or list(dict.fromkeys(k for r in records for k in r)))
    columns = [[_cell_text(r.get(k)) for r in records] for k in keys]
    # Columns are named by the field ids as given (the records are keyed by them).
    keep, headers = _final_headers(name, [k if k.strip() else "" for k in keys],
                                   lambda i: any(not _blank(t) for t in columns[i]))
    _store_arrow(con, _arrow_table(name, headers, [columns[i] for i in keep], len(records)),
                 table, name)
    return ReadInfo([], headers)


READERS = {"csv": read_csv, "xlsx": read_xlsx, "ckan_json": read_ckan_json}


def read_file(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str | None = None
) -> ReadInfo:
    """Load `path` as delivered into `table` (text columns + `_row_number`) and return its
    `ReadInfo` (title block, column names). Errors name the file as `name` (the name it
    was received under; the snapshot is named by hash)."""
    return READERS[feed.format](con, feed, path, table, name or path.name)
