"""Queries on a published Parquet file with an in-memory DuckDB (parameterised, never
the warehouse): schema, row counts and one page of rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

PAGE_SIZE = 50


def query(sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute(sql, params).df()
    finally:
        con.close()


def fetchone(sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple | None:
    con = duckdb.connect()
    try:
        return con.execute(sql, params).fetchone()
    finally:
        con.close()


def parquet_schema(parquet: Path) -> list[tuple[str, str]]:
    """``[(column, DuckDB type)]`` of a Parquet file (reads only its footer)."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [str(parquet)],
        ).fetchall()
    finally:
        con.close()
    return [(str(name), str(typ)) for name, typ in rows]


def count_rows(parquet: Path) -> int:
    row = fetchone("SELECT count(*) FROM read_parquet(?)", [str(parquet)])
    return int(row[0]) if row else 0


def read_page(parquet: Path, page: int, page_size: int = PAGE_SIZE) -> pd.DataFrame:
    """Rows of page ``page`` (1-based) in file order: LIMIT/OFFSET on the Parquet file."""
    offset = max(int(page) - 1, 0) * int(page_size)
    return query(
        "SELECT * FROM read_parquet(?) LIMIT ? OFFSET ?", [str(parquet), int(page_size), offset]
    )


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(max(total, 0) / page_size))
