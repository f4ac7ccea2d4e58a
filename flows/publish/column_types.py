"""Column types: of a warehouse relation, of a Parquet file, and as Table Schema types."""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.common.sql import quote_literal


def _column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"describe {relation}").fetchall()}


def _parquet_types(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(
        f"describe select * from read_parquet({quote_literal(str(path))})").fetchall()}


def _frictionless_type(duck_type: str) -> str:
    t = duck_type.upper()
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER",
             "USMALLINT", "UTINYINT"):
        return "integer"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "number"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    if t == "BOOLEAN":
        return "boolean"
    return "string"
