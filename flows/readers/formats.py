"""The reader of each feed format (`Feed.format`: csv, xlsx, ckan_json) and `read_file`,
which loads a received file with it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.readers.ckan_json_reader import read_ckan_json
from flows.readers.csv_reader import read_csv
from flows.readers.table import ReadInfo
from flows.readers.xlsx_reader import read_xlsx
from flows.registry import Feed

READERS = {"csv": read_csv, "xlsx": read_xlsx, "ckan_json": read_ckan_json}


def read_file(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str | None = None
) -> ReadInfo:
    """Load `path` as delivered into `table` (text columns + `_row_number`) and return its
    `ReadInfo` (title block, column names). Errors name the file as `name` (the name it
    was received under; the snapshot is named by hash)."""
    return READERS[feed.format](con, feed, path, table, name or path.name)
