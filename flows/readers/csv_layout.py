"""A CSV file's text before DuckDB reads it: the feed's dialect, its encoding and line
endings (a file in another encoding, or with mixed line endings, is rewritten to UTF-8
with LF), and its layout (title lines, header lines, where the data starts), read with
Python's csv module."""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.readers.headers import (
    _check_headers,
    _column_names,
    _fill_csv_header,
    _header_rows_option,
)
from flows.readers.table import SubmissionError, _title_line
from flows.registry import Feed

MAX_CSV_HEADER_LINE = 4 * 1024**2  # a longer line above the data is not a table's header


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
