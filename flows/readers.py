"""Readers: turn one received file into a DuckDB table of text columns, as delivered.

Every reader produces the same thing: a table whose columns are the file's own headers
(all VARCHAR, values untouched) plus `_row_number`, the row's position in the file
(1 = first data row). Typing and renaming happen afterwards, in SQL, driven by the feed
registry, so every format shares one set of rules and error messages.
CSV is read by DuckDB's own reader; XLSX and CKAN JSON are streamed through Arrow.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from flows.registry import Feed

MAX_HEADER_SCAN_ROWS = 30


class SubmissionError(ValueError):
    """A received file cannot be used. The message names the file and, where it
    applies, the row and column, and says what the regency should fix."""


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


def _arrow_from_rows(headers: list[str], rows: list[list[object]]) -> pa.Table:
    columns = {h: [] for h in headers}
    for row in rows:
        for h, v in zip(headers, row, strict=False):
            columns[h].append(_cell_text(v))
        for h in headers[len(row):]:
            columns[h].append(None)
    table = pa.table({h: pa.array(v, type=pa.string()) for h, v in columns.items()})
    return table.append_column("_row_number", pa.array(range(1, len(rows) + 1), pa.int64()))


def _check_headers(name: str, headers: list[str]) -> None:
    if not any(h.strip() for h in headers):
        raise SubmissionError(f"{name}: the file has no header row")
    seen: set[str] = set()
    for h in headers:
        if header_key(h) in seen and h.strip():
            raise SubmissionError(f"{name}: column '{h}' appears twice in the header")
        seen.add(header_key(h))


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
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as e:
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


def _csv_reason(message: str, source: Path, name: str) -> str:
    """DuckDB's CSV error, cut to the lines a data steward can act on."""
    keep = []
    for line in message.replace(str(source), name).splitlines():
        if not line.strip() or line.startswith(("Possible", "The search space", "LINE ")):
            break
        keep.append(line.replace("Invalid Input Error: ", "").strip())
    return " ".join(keep[:3])


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


def _check_header(path: Path, name: str, delimiter: str, quote: str) -> None:
    """DuckDB silently renames a repeated header (`Periode`, `Periode_1`): refuse it here."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        header = next(csv.reader(f, delimiter=delimiter, quotechar=quote), [])
    _check_headers(name, [h.strip() for h in header])


CSV_RELATION = """(select *, row_number() over () as _row_number
    from read_csv(?, delim = ?, quote = ?, header = true, all_varchar = true,
                  null_padding = false, strict_mode = true, skip = ?))"""


@contextmanager
def read_csv_source(feed: Feed, path: Path, name: str) -> Iterator[tuple[str, list]]:
    """The received CSV file as a DuckDB relation (SQL and its parameters): its columns are
    the file's headers, all text, plus `_row_number`. Refuses what is not a text table;
    a file in another encoding, or with mixed line endings, is rewritten to UTF-8 in a
    temporary file first, removed on exit. Nothing is read until the SQL runs."""
    opts = feed.options
    encoding = str(opts.get("encoding", "utf-8")).lower().replace("_", "-")
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
            tmp = Path(tempfile.mkstemp(suffix=".csv")[1])
            try:
                decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
            except LookupError:
                raise SubmissionError(
                    f"{name}: feed '{feed.id}' declares unknown encoding '{encoding}'"
                ) from None
            try:
                _rewrite_utf8_lf(path, tmp, decoder)
            except UnicodeDecodeError as e:
                raise SubmissionError(f"{name}: not valid {encoding} text at byte {e.start}"
                                      ) from None
            source = tmp
        _check_header(source, name, str(opts.get("delimiter", ",")),
                      str(opts.get("quote", '"')))
        yield CSV_RELATION, [str(source), str(opts.get("delimiter", ",")),
                             str(opts.get("quote", '"')), int(opts.get("skip_lines", 0))]
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def read_csv(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str
) -> None:
    opts = feed.options
    with read_csv_source(feed, path, name) as (relation, params):
        try:
            con.execute(f"create or replace table {table} as select * from {relation}",
                        params)
        except duckdb.Error as e:
            full = str(e)
            if "invalid unicode" in full.lower():
                line = re.search(r"CSV Error on Line: (\d+)", full)
                where = f" (line {line.group(1)})" if line else ""
                raise SubmissionError(
                    f"{name}: not valid UTF-8 text{where}. If the regency saves from Windows "
                    f"Excel, set options.encoding: cp1252 on feed '{feed.id}'"
                ) from None
            hint = ""
            if "sniffing" in full or "Expected Number of Columns" in full:
                hint = (f"; check that every row has as many fields as the header, separated "
                        f"by {opts.get('delimiter', ',')!r}, and that the file is not cut short")
            raise SubmissionError(
                f"{name}: cannot be read as CSV: {_csv_reason(full, Path(params[0]), name)}"
                f"{hint}"
            ) from None
    headers = [r[0] for r in con.execute(f"describe {table}").fetchall()][:-1]
    _check_headers(name, headers)


def read_xlsx(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str
) -> None:
    from openpyxl import load_workbook

    _check_xlsx_container(path, name)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken zip/xml
        raise SubmissionError(f"{name}: cannot be opened as an Excel workbook: {e}") from None
    try:
        sheet_name = feed.options.get("sheet")
        if sheet_name is not None and sheet_name not in wb.sheetnames:
            raise SubmissionError(
                f"{name}: has no sheet '{sheet_name}' (sheets: {wb.sheetnames})"
            )
        ws = wb[sheet_name] if sheet_name else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        expected = {header_key(h) for h in feed.columns}
        header_row = feed.options.get("header_row")
        headers: list[str] | None = None
        for i, row in enumerate(rows, start=1):
            cells = [header_key(c) for c in row]
            if (header_row is not None and i == int(header_row)) or (
                header_row is None and expected & set(cells) and len(expected & set(cells)) >= 2
            ):
                headers = ["" if c is None else str(c).strip() for c in row]
                break
            if i >= MAX_HEADER_SCAN_ROWS:
                break
        if headers is None:
            raise SubmissionError(
                f"{name}: no header row with the expected columns "
                f"{sorted(feed.columns)} in the first {MAX_HEADER_SCAN_ROWS} rows"
            )
        while headers and not headers[-1]:
            headers.pop()
        _check_headers(name, headers)
        data = [list(r[: len(headers)]) for r in rows]
    finally:
        wb.close()
    while data and all(v is None or str(v).strip() == "" for v in data[-1]):
        data.pop()
    arrow = _arrow_from_rows(headers, data)
    con.register("_xlsx_rows", arrow)
    try:
        con.execute(f"create or replace table {table} as select * from _xlsx_rows")
    finally:
        con.unregister("_xlsx_rows")


def read_ckan_json(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str
) -> None:
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
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
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
    fields = [f.get("id") for f in result.get("fields") or [] if isinstance(f, dict)]
    headers = fields or list(dict.fromkeys(k for r in records for k in r))
    _check_headers(name, headers)
    rows = [[r.get(h) for h in headers] for r in records]
    arrow = _arrow_from_rows(headers, rows)
    con.register("_json_rows", arrow)
    try:
        con.execute(f"create or replace table {table} as select * from _json_rows")
    finally:
        con.unregister("_json_rows")


READERS = {"csv": read_csv, "xlsx": read_xlsx, "ckan_json": read_ckan_json}


def read_file(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str | None = None
) -> None:
    """Load `path` as delivered into `table` (text columns + `_row_number`). Errors name
    the file as `name` (the name it was received under; the snapshot is named by hash)."""
    READERS[feed.format](con, feed, path, table, name or path.name)
