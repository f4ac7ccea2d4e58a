"""Which chart fits a dataset (from its column names and types) and the SQL aggregates
that draw it, on the published Parquet (at most a few hundred rows come back, whatever
the file size)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from app.site_reader.parquet import count_rows, fetchone, query
from flows.common.sql import quote_ident

POINT_LIMIT = 5000

# Columns the charts understand (the warehouse's canonical names).
REGION_COLUMN = "kode_wilayah"
REGION_NAME_COLUMN = "nama_wilayah"
TIME_COLUMNS = ("periode", "tahun", "bulan")
CATEGORY_COLUMNS = ("indikator", "kategori", "jenis_fasilitas")
CATEGORY_LABELS = {"indikator": "nama_indikator"}
UNIT_COLUMNS = ("satuan",)
LAT_COLUMNS = ("lintang", "latitude", "lat")
LNG_COLUMNS = ("bujur", "longitude", "lng", "lon")
POINT_LABEL_COLUMNS = ("nama_fasilitas", "nama", "name")
COUNT_MEASURE = "__count__"
_NUMERIC = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|FLOAT|DOUBLE|REAL|DECIMAL.*)$"
)


@dataclass(frozen=True)
class ChartPlan:
    """Which chart fits a dataset, from its column names and types."""

    region: str | None = None
    region_name: str | None = None
    time: str | None = None
    category: str | None = None
    category_label: str | None = None
    unit_column: str | None = None
    measures: tuple[str, ...] = ()
    lat: str | None = None
    lng: str | None = None
    point_label: str | None = None

    @property
    def has_points(self) -> bool:
        return bool(self.lat and self.lng)

    @property
    def is_empty(self) -> bool:
        return not (self.region or self.category or self.has_points)


def is_numeric(duck_type: str) -> bool:
    return bool(_NUMERIC.match(duck_type.upper()))


def chart_plan(schema: Sequence[tuple[str, str]]) -> ChartPlan:
    types = dict(schema)
    names = list(types)

    def first(candidates: Sequence[str]) -> str | None:
        return next((c for c in candidates if c in types), None)

    region = REGION_COLUMN if REGION_COLUMN in types else None
    time = first(TIME_COLUMNS)
    category = first(CATEGORY_COLUMNS)
    label = CATEGORY_LABELS.get(category or "")
    lat, lng = first(LAT_COLUMNS), first(LNG_COLUMNS)
    if not (lat and lng and is_numeric(types[lat]) and is_numeric(types[lng])):
        lat = lng = None
    skip = {time, lat, lng, "tahun"}
    measures = tuple(
        n for n in names
        if is_numeric(types[n]) and n not in skip and not n.startswith("kode_")
    )
    if not measures and (region or category):
        measures = (COUNT_MEASURE,)
    return ChartPlan(
        region=region,
        region_name=REGION_NAME_COLUMN if region and REGION_NAME_COLUMN in types else None,
        time=time,
        category=category,
        category_label=label if label in types else None,
        unit_column=first(UNIT_COLUMNS),
        measures=measures,
        lat=lat,
        lng=lng,
        point_label=first(POINT_LABEL_COLUMNS) if lat else None,
    )


def summable(measure: str, column_unit: str | None, dataset_unit: str | None) -> bool:
    """Whether a measure adds up over categories: counts in the dataset's own unit and
    rates per resident do (complaints, facilities, complaints per 10,000 residents);
    shares, medians, indicator values and repeated denominators (residents in a
    facilities table) do not."""
    if measure == COUNT_MEASURE:
        return True
    if not (measure.startswith("jumlah") or "_per_" in measure):
        return False
    if column_unit and dataset_unit:
        return column_unit.casefold().startswith(dataset_unit.casefold())
    return measure.startswith("jumlah")


def _measure_sql(measure: str, additive: bool) -> str:
    if measure == COUNT_MEASURE:
        return "count(*)"
    col = quote_ident(measure)
    return f"sum({col})" if additive else f"avg({col})"


def _filters(plan: ChartPlan, category: Any, period: Any) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if plan.category and category is not None:
        clauses.append(f"{quote_ident(plan.category)} = ?")
        params.append(category)
    if plan.time and period is not None:
        clauses.append(f"{quote_ident(plan.time)} = ?")
        params.append(period)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def distinct_values(parquet: Path, column: str, label_column: str | None = None,
                    where_column: str | None = None, where_value: Any = None,
                    limit: int = 500, by_count: bool = False) -> list[tuple[Any, str]]:
    """Distinct values of ``column`` (with a label from ``label_column``) in value order,
    or the most frequent first with ``by_count``; NULLs left out."""
    label = f"any_value({quote_ident(label_column)})" if label_column else "NULL"
    where = f"{quote_ident(column)} IS NOT NULL"
    params: list[Any] = [str(parquet)]
    if where_column and where_value is not None:
        where += f" AND {quote_ident(where_column)} = ?"
        params.append(where_value)
    params.append(int(limit))
    frame = query(
        f"SELECT {quote_ident(column)} AS v, {label} AS l FROM read_parquet(?) WHERE {where} "
        f"GROUP BY 1 ORDER BY {'count(*) DESC, 1' if by_count else '1'} LIMIT ?",
        params,
    )
    return [(_native(v), str(lbl) if lbl is not None and lbl == lbl else str(v))
            for v, lbl in zip(frame["v"], frame["l"], strict=True)]


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def region_series(parquet: Path, plan: ChartPlan, measure: str, additive: bool,
                  category: Any = None, period: Any = None,
                  by_time: bool = False) -> pd.DataFrame:
    """One value per regency (and per period with ``by_time``): columns ``kode``,
    ``nama``, [``waktu``,] ``nilai``. At most 8 x periods rows, whatever the file size."""
    assert plan.region
    name = f"any_value({quote_ident(plan.region_name)})" if plan.region_name else "NULL"
    time = f", {quote_ident(plan.time)} AS waktu" if by_time and plan.time else ""
    where, params = _filters(plan, category, None if by_time else period)
    sql = (
        f"SELECT {quote_ident(plan.region)} AS kode, {name} AS nama{time}, "
        f"{_measure_sql(measure, additive)} AS nilai FROM read_parquet(?){where} "
        "GROUP BY ALL ORDER BY ALL"
    )
    frame = query(sql, [str(parquet), *params])
    frame["nama"] = frame["nama"].where(frame["nama"].notna(), frame["kode"])
    return frame


def category_series(parquet: Path, plan: ChartPlan, measure: str, additive: bool,
                    period: Any = None, limit: int = 30) -> pd.DataFrame:
    """One value per category (columns ``kategori``, ``nilai``), largest first."""
    assert plan.category
    where, params = _filters(plan, None, period)
    sql = (
        f"SELECT {quote_ident(plan.category)} AS kategori, "
        f"{_measure_sql(measure, additive)} AS nilai FROM read_parquet(?){where} "
        "GROUP BY 1 ORDER BY 2 DESC NULLS LAST, 1 LIMIT ?"
    )
    return query(sql, [str(parquet), *params, int(limit)])


def points(parquet: Path, plan: ChartPlan, category: Any = None,
           limit: int = POINT_LIMIT) -> pd.DataFrame:
    """Up to ``limit`` located rows (of ``category`` when given): ``lat``, ``lng``,
    ``label``, ``kategori``, ``nama``."""
    assert plan.lat and plan.lng
    lat, lng = quote_ident(plan.lat), quote_ident(plan.lng)
    label = quote_ident(plan.point_label) if plan.point_label else "NULL"
    cat = quote_ident(plan.category) if plan.category else "NULL"
    region = quote_ident(plan.region_name) if plan.region_name else "NULL"
    sql = (
        f"SELECT {lat} AS lat, {lng} AS lng, {label} AS label, {cat} AS kategori, "
        f"{region} AS nama FROM read_parquet(?) "
        f"WHERE {lat} BETWEEN -90 AND 90 AND {lng} BETWEEN -180 AND 180"
    )
    params: list[Any] = [str(parquet)]
    if plan.category and category is not None:
        sql += f" AND {quote_ident(plan.category)} = ?"
        params.append(category)
    return query(sql + " LIMIT ?", [*params, int(limit)])


def count_where(parquet: Path, column: str | None, value: Any) -> int:
    """Rows whose ``column`` equals ``value`` (all rows without a column)."""
    if not column or value is None:
        return count_rows(parquet)
    row = fetchone(
        f"SELECT count(*) FROM read_parquet(?) WHERE {quote_ident(column)} = ?",
        [str(parquet), value],
    )
    return int(row[0]) if row else 0
