"""Cached reads of the site folder (and, for the officials' view, the internal tree).

Every cached function takes the file's signature ``(mtime_ns, size)`` as an argument, so
a file the publisher replaced (atomically) is read again on the next rerun while an
unchanged one is served from the cache: a new release shows up without a restart, and a
page of a 10-million-row dataset does not scan its Parquet twice. Parquet results are
additionally keyed by ``(slug, version)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app.site_reader import catalog as catalog_file
from app.site_reader import chart_queries, files, overview, parquet, releases
from app.site_reader import internal as internal_tree
from flows.common import site_layout

Signature = tuple[int, int]


@st.cache_data(max_entries=8, show_spinner=False)
def _catalog(path: str, signature: Signature) -> dict[str, Any]:
    return catalog_file.load_catalog(Path(path))


def catalog(site: Path) -> dict[str, Any] | None:
    """The current catalogue, or ``None`` when nothing was published yet.
    Raises :class:`app.site_reader.catalog.CatalogError` when catalog.json is unusable."""
    path = files.catalog_path(site)
    signature = files.file_signature(path)
    if signature is None:
        return None
    return _catalog(str(path), signature)


@st.cache_data(max_entries=32, show_spinner=False)
def _json(path: str, signature: Signature) -> Any:
    return files.load_json(Path(path))


def json_file(path: Path | None) -> Any:
    """A JSON file (datapackage.json, quality/summary.json...), or ``None``."""
    signature = files.file_signature(path)
    if path is None or signature is None:
        return None
    return _json(str(path), signature)


def quality_summary(site: Path) -> dict[str, Any] | None:
    """The public quality summary (``site/quality/summary.json``)."""
    doc = json_file(files.quality_summary_path(site))
    return doc if isinstance(doc, dict) else None


def internal(internal_dir: Path, name: str) -> dict[str, Any] | None:
    """An internal status file (``internal/meta/<name>.json``): call only for a logged-in
    official (app/views/officials.py); it is read here, on the server, never linked."""
    doc = json_file(internal_tree.internal_path(internal_dir, name))
    return doc if isinstance(doc, dict) else None


@st.cache_data(max_entries=4, show_spinner=False)
def _geojson(path: str, signature: Signature) -> dict[str, Any] | None:
    return files.load_geojson(Path(path))


def geojson(site: Path) -> dict[str, Any] | None:
    path = files.geojson_path(site)
    signature = files.file_signature(path)
    if signature is None:
        return None
    return _geojson(str(path), signature)


def satudata_block(site: Path, ds: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    path = files.resolve_in_site(
        site, site_layout.version_path(ds["slug"], entry["version"], site_layout.DESCRIPTOR))
    doc = json_file(path)
    block = doc.get("satudata") if isinstance(doc, dict) else None
    return block if isinstance(block, dict) else {}


@st.cache_data(max_entries=16, show_spinner=False)
def sha256sums(folder: str, signature: Signature | None) -> dict[str, str]:
    return files.read_sha256sums(Path(folder))


# --- Parquet, keyed by (slug, version, signature) ----------------------------------------


class ParquetRef:
    """A dataset version's Parquet file and its cache key."""

    def __init__(self, path: Path, slug: str, version: str, signature: Signature) -> None:
        self.path, self.slug, self.version, self.signature = path, slug, version, signature

    @property
    def key(self) -> tuple[str, str, str, Signature]:
        return (str(self.path), self.slug, self.version, self.signature)


def parquet_ref(site: Path, ds: dict[str, Any], entry: dict[str, Any]) -> ParquetRef | None:
    listed = releases.version_files(ds, entry)
    info = listed.get("parquet") or {
        "path": site_layout.version_path(ds["slug"], entry["version"], f"{ds['slug']}.parquet")
    }
    path = files.resolve_in_site(site, info["path"])
    signature = files.file_signature(path)
    if path is None or signature is None:
        return None
    return ParquetRef(path, ds["slug"], entry["version"], signature)


@st.cache_data(max_entries=64, show_spinner=False)
def _schema(path: str, slug: str, version: str, signature: Signature) -> list[tuple[str, str]]:
    return parquet.parquet_schema(Path(path))


def schema(ref: ParquetRef) -> list[tuple[str, str]]:
    return _schema(*ref.key)


@st.cache_data(max_entries=64, show_spinner=False)
def _count(path: str, slug: str, version: str, signature: Signature) -> int:
    return parquet.count_rows(Path(path))


def count(ref: ParquetRef) -> int:
    return _count(*ref.key)


@st.cache_data(max_entries=128, show_spinner=False)
def _page(path: str, slug: str, version: str, signature: Signature, page: int,
          page_size: int) -> pd.DataFrame:
    return parquet.read_page(Path(path), page, page_size)


def page(ref: ParquetRef, number: int, page_size: int = parquet.PAGE_SIZE) -> pd.DataFrame:
    return _page(*ref.key, int(number), int(page_size))


@st.cache_data(max_entries=128, show_spinner=False)
def _distinct(path: str, slug: str, version: str, signature: Signature, column: str,
              label_column: str | None, where_column: str | None,
              where_value: Any, by_count: bool) -> list[tuple[Any, str]]:
    return chart_queries.distinct_values(Path(path), column, label_column, where_column,
                                         where_value, by_count=by_count)


def distinct(ref: ParquetRef, column: str, label_column: str | None = None,
             where_column: str | None = None, where_value: Any = None,
             by_count: bool = False) -> list[tuple[Any, str]]:
    return _distinct(*ref.key, column, label_column, where_column, where_value, by_count)


@st.cache_data(max_entries=256, show_spinner=False)
def _region_series(path: str, slug: str, version: str, signature: Signature,
                   plan: chart_queries.ChartPlan, measure: str, additive: bool, category: Any,
                   period: Any, by_time: bool) -> pd.DataFrame:
    return chart_queries.region_series(Path(path), plan, measure, additive, category, period,
                                       by_time)


def region_series(ref: ParquetRef, plan: chart_queries.ChartPlan, measure: str, additive: bool,
                  category: Any = None, period: Any = None, by_time: bool = False
                  ) -> pd.DataFrame:
    return _region_series(*ref.key, plan, measure, additive, category, period, by_time)


@st.cache_data(max_entries=128, show_spinner=False)
def _category_series(path: str, slug: str, version: str, signature: Signature,
                     plan: chart_queries.ChartPlan, measure: str, additive: bool,
                     period: Any) -> pd.DataFrame:
    return chart_queries.category_series(Path(path), plan, measure, additive, period)


def category_series(ref: ParquetRef, plan: chart_queries.ChartPlan, measure: str, additive: bool,
                    period: Any = None) -> pd.DataFrame:
    return _category_series(*ref.key, plan, measure, additive, period)


@st.cache_data(max_entries=32, show_spinner=False)
def _points(path: str, slug: str, version: str, signature: Signature,
            plan: chart_queries.ChartPlan, category: Any) -> pd.DataFrame:
    return chart_queries.points(Path(path), plan, category)


def points(ref: ParquetRef, plan: chart_queries.ChartPlan, category: Any = None) -> pd.DataFrame:
    return _points(*ref.key, plan, category)


@st.cache_data(max_entries=64, show_spinner=False)
def _count_where(path: str, slug: str, version: str, signature: Signature,
                 column: str | None, value: Any) -> int:
    return chart_queries.count_where(Path(path), column, value)


def count_where(ref: ParquetRef, column: str | None, value: Any) -> int:
    return _count_where(*ref.key, column, value)


@st.cache_data(max_entries=8, show_spinner=False)
def _population(path: str, slug: str, version: str, signature: Signature
                ) -> tuple[str | None, pd.DataFrame]:
    return overview.population_by_region(Path(path))


def population(ref: ParquetRef) -> tuple[str | None, pd.DataFrame]:
    return _population(*ref.key)


@st.cache_data(max_entries=8, show_spinner=False)
def _complaints(path: str, slug: str, version: str, signature: Signature
                ) -> tuple[tuple[str, str] | None, pd.DataFrame]:
    return overview.complaints_by_region(Path(path))


def complaints(ref: ParquetRef) -> tuple[tuple[str, str] | None, pd.DataFrame]:
    return _complaints(*ref.key)
