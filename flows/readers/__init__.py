"""Readers: turn one received file into a DuckDB table of text columns, as delivered.

Every reader produces the same thing: a table whose columns are the file's own headers
(all VARCHAR, values untouched) plus `_row_number`, the row's position in the file
(1 = first data row), and returns a `ReadInfo`: the title block above the header and the
final column names. Typing and renaming happen afterwards, in SQL, driven by the feed
registry, so every format shares one set of rules and error messages.
CSV is read by DuckDB's own reader; XLSX and CKAN JSON are streamed through Arrow.

- Where the header is and how columns are named: `headers` (its docstring holds the rules:
  header rows, merged cells, blank header cells, `column_<n>`).
- XLSX: a data value to the right of the header's last named column is refused, naming
  its row and column; short rows are padded with NULL. CSV rows must have the header's
  number of fields (DuckDB's strict mode names the line).
- The title block is the text of the non-blank rows above the header (XLSX: a row's
  cells joined by a space; CSV: the skipped lines' fields joined by a space).

A file that cannot be read ends as a `SubmissionError` naming the file (and the row or
column where known); only programming errors escape as other exceptions.

Modules: `table` (what a reader produces: `ReadInfo`, `SubmissionError`, Arrow into
DuckDB), `headers` (header rows and column names), `guards` (what is not a text table),
`csv_layout` (a CSV file's dialect, encoding and header lines), `csv_reader` (CSV through
DuckDB, `CsvSource`), `xlsx_reader`, `ckan_json_reader`, and `formats` (`read_file`, the
reader of each feed format). This package re-exports the names other modules use.
"""

from __future__ import annotations

from flows.readers.csv_reader import CsvSource, read_csv_source
from flows.readers.formats import read_file
from flows.readers.headers import HEADER_PART_SEPARATOR, MAX_HEADER_SCAN_ROWS, header_key
from flows.readers.table import ReadInfo, SubmissionError

__all__ = [
    "HEADER_PART_SEPARATOR",
    "MAX_HEADER_SCAN_ROWS",
    "CsvSource",
    "ReadInfo",
    "SubmissionError",
    "header_key",
    "read_csv_source",
    "read_file",
]
