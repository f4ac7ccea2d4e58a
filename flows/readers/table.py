"""What every reader produces: a table of text columns plus `_row_number`
(`RESERVED_COLUMN`) and a `ReadInfo` (title block, column names); a file that cannot be
used is a `SubmissionError`. Also cells as text and Arrow tables stored in DuckDB, shared
by the XLSX and JSON readers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

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
