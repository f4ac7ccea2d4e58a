"""CSV files read by DuckDB's own reader: a relation over a file's data rows
(`read_csv_source`, for the streaming ingest) or the file into a table (`read_csv`), and
DuckDB's errors as messages a data steward can act on. Rows must have the header's number
of fields (DuckDB's strict mode names the line)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.common.sql import quote_ident
from flows.readers.csv_layout import _csv_dialect, _csv_layout, _mixed_newlines, _rewritten
from flows.readers.guards import _refuse_non_text
from flows.readers.headers import _final_headers
from flows.readers.table import RESERVED_COLUMN, ReadInfo, SubmissionError
from flows.registry import Feed

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
