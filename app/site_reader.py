"""Read-only access to the published site folder and the internal tree (no Streamlit).

The public catalogue reads only what the pipeline published into the site folder::

    site/catalog.json                       the index of datasets and their versions
    site/data.json                          DCAT-US 1.1 (for harvesters; only linked)
    site/datasets/<slug>/<version>/         <slug>.csv|.xlsx|.json|.parquet, datapackage.json,
                                            release.json, SHA256SUMS
    site/datasets/<slug>/latest -> <version>
    site/downloads/satudata-banten-latest.zip
    site/quality/summary.json      per dataset: rules, pass/fail per feed (flows/status.py)
    site/reference/batas_kabupaten_kota.geojson                    regency boundaries
    site/dbt-docs/index.html                                      lineage documentation
    site/quality/data-docs/index.html    Great Expectations Data Docs (flows/data_docs.py)

The officials' view (after login only) also reads the internal tree, which lies beside
the site folder and is never served over HTTP::

    internal/meta/feeds.json|submissions.json|runs.json|quality.json   (flows/status.py)

It never opens the pipeline's DuckDB warehouse. Every file above is replaced atomically
by the publisher, so a reader sees either the old or the new file, never half of one.
Data queries run on the published Parquet with an in-memory DuckDB: previews use
LIMIT/OFFSET and charts aggregate in SQL, so no whole file is loaded into pandas.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from flows.common.sql import quote_ident

CATALOG_NAME = "catalog.json"
STATIC_PREFIX = "/app/static/"
DATA_JSON = "data.json"
BULK_ZIP = "downloads/satudata-banten-latest.zip"
GEOJSON = "reference/batas_kabupaten_kota.geojson"
DBT_DOCS = "dbt-docs/index.html"
DATA_DOCS = "quality/data-docs/index.html"
DBT_PROJECT = "satudata_banten"
QUALITY_SUMMARY = "quality/summary.json"
INTERNAL_FILES = ("feeds", "submissions", "quality", "runs")   # internal/meta/<name>.json
PREVIEW_ROWS = 100
PAGE_SIZE = 50
POINT_LIMIT = 5000
# Data formats of a release, in the order they are offered, then the descriptor.
FORMATS = ("csv", "xlsx", "json", "parquet")
DESCRIPTOR = "datapackage.json"
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "datapackage": "application/json",
}
# Catalogue slug -> the registry dataset(s) its mart is built from, for releases whose
# catalog.json entries do not carry `source_datasets` yet.
SOURCE_DATASETS = {
    "penduduk-kabupaten-kota": ("penduduk",),
    "indikator-kabupaten-kota": ("indikator",),
    "aduan-masyarakat-bulanan": ("aduan",),
    "fasilitas-kesehatan": ("fasilitas_kesehatan",),
    "fasilitas-kesehatan-kabupaten-kota": ("fasilitas_kesehatan",),
}
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
_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")
_DUKCAPIL_PERIOD = r"^\d{4}-S[12]$"


class CatalogError(Exception):
    """catalog.json exists but cannot be used."""


# --- locations ------------------------------------------------------------------------


def site_dir() -> Path:
    """The site folder: ``$SATUDATA_SITE``, else ``$SATUDATA_HOME/site``, else ``./var/site``."""
    explicit = os.environ.get("SATUDATA_SITE", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("SATUDATA_HOME", "").strip()
    if home:
        return Path(home).expanduser() / "site"
    return Path.cwd() / "var" / "site"


def internal_dir() -> Path:
    """The internal tree (officials and operators only): ``$SATUDATA_INTERNAL`` (set by
    ``satudata serve``), else ``internal`` beside an explicit ``$SATUDATA_SITE``, else
    ``$SATUDATA_HOME/internal``, else ``./var/internal``. Beside the site folder, as
    flows/settings.py lays them out, so it is never under the served folder."""
    explicit = os.environ.get("SATUDATA_INTERNAL", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    site = os.environ.get("SATUDATA_SITE", "").strip()
    if site:
        return Path(site).expanduser().parent / "internal"
    home = os.environ.get("SATUDATA_HOME", "").strip()
    if home:
        return Path(home).expanduser() / "internal"
    return Path.cwd() / "var" / "internal"


def catalog_path(site: Path) -> Path:
    return site / CATALOG_NAME


def internal_path(internal: Path, name: str) -> Path:
    """``internal/meta/<name>.json``, one of :data:`INTERNAL_FILES`."""
    if name not in INTERNAL_FILES:
        raise ValueError(f"not an internal status file: {name!r}")
    return internal / "meta" / f"{name}.json"


def quality_summary_path(site: Path) -> Path:
    return site / QUALITY_SUMMARY


def file_signature(path: Path | None) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of ``path``, or ``None`` when it does not exist.

    Used as a cache key: the publisher replaces its files atomically, which changes the
    mtime (and usually the size), so a new release is picked up on the next rerun.
    """
    if path is None:
        return None
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_mtime_ns, st.st_size


def resolve_in_site(site: Path, relative: str) -> Path | None:
    """``site / relative`` if it stays inside the site folder, else ``None``."""
    root = site.resolve()
    target = (root / relative).resolve()
    if target == root or root not in target.parents:
        return None
    return target


# --- catalog.json -----------------------------------------------------------------------


def load_catalog(path: Path) -> dict[str, Any]:
    """Parse and normalise catalog.json. Raises :class:`CatalogError` if unusable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(f"{path.name}: {exc}") from exc
    if not isinstance(raw, dict):
        raise CatalogError(f"{path.name}: top level is not an object")
    datasets = raw.get("datasets") or []
    if not isinstance(datasets, list):
        raise CatalogError(f"{path.name}: 'datasets' is not a list")
    clean = []
    for item in datasets:
        if isinstance(item, dict) and isinstance(item.get("slug"), str) and item["slug"]:
            clean.append(_normalise_dataset(item))
    downloads = raw.get("downloads") if isinstance(raw.get("downloads"), dict) else {}
    return {"generated_at": raw.get("generated_at"), "datasets": clean, "downloads": downloads}


def _normalise_dataset(item: dict[str, Any]) -> dict[str, Any]:
    ds = dict(item)
    for key in ("keywords", "produsen_data", "columns", "versions", "source_datasets"):
        value = ds.get(key)
        if value is None:
            ds[key] = []
        elif isinstance(value, str):
            ds[key] = [value]
        elif not isinstance(value, list):
            ds[key] = []
    ds["columns"] = [c for c in ds["columns"] if isinstance(c, dict) and c.get("name")]
    ds["versions"] = [v for v in ds["versions"] if isinstance(v, dict) and v.get("version")]
    ds["synthetic"] = bool(ds.get("synthetic"))
    return ds


def find_dataset(catalog: dict[str, Any], slug: str) -> dict[str, Any] | None:
    for ds in catalog.get("datasets", []):
        if ds.get("slug") == slug:
            return ds
    return None


def load_json(path: Path) -> Any:
    """A published JSON file, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


# --- search and facets ----------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [str(v) for v in value.values() if v]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v]
    return [str(value)]


def search_text(ds: dict[str, Any]) -> str:
    """Everything the search box looks at, lower-cased: titles and descriptions in both
    languages, keywords, column names (plus slug and theme)."""
    parts = [ds.get("slug", ""), ds.get("theme") or ""]
    parts += _texts(ds.get("title")) + _texts(ds.get("description")) + _texts(ds.get("keywords"))
    parts += [str(c.get("name", "")) for c in ds.get("columns", [])]
    return "\n".join(parts).casefold()


def search_datasets(datasets: list[dict[str, Any]], query: str | None) -> list[dict[str, Any]]:
    """Case-insensitive substring search; every whitespace-separated term must match."""
    terms = (query or "").casefold().split()
    if not terms:
        return list(datasets)
    return [ds for ds in datasets if all(term in search_text(ds) for term in terms)]


FACETS = ("theme", "producer", "format", "frequency", "year")
FREQUENCY_ORDER = ("R/P1D", "R/P1W", "R/P1M", "R/P3M", "R/P4M", "R/P6M", "R/P1Y", "R/P2Y",
                   "R/P5Y", "R/P10Y")


def years_covered(temporal: Any) -> list[int]:
    """Years a temporal coverage such as ``2020/2024-S2`` or ``2024-01/2024-12`` spans."""
    if not isinstance(temporal, str):
        return []
    years = sorted({int(y) for y in _YEAR.findall(temporal)})
    if not years:
        return []
    if "/" in temporal and years[-1] - years[0] <= 200:
        return list(range(years[0], years[-1] + 1))
    return years


def dataset_formats(ds: dict[str, Any]) -> list[str]:
    """Data formats of the latest version, as listed in catalog.json."""
    entry = latest_version_entry(ds)
    if entry is None:
        return []
    listed = {str(f.get("format", "")).lower() for f in entry.get("files") or []
              if isinstance(f, dict)}
    found = [fmt for fmt in FORMATS if fmt in listed]
    return found or ["csv", "parquet"]


def facet_values(ds: dict[str, Any]) -> dict[str, set[str]]:
    """The values one dataset has in each facet (a dataset can have several)."""
    return {
        "theme": {ds["theme"]} if ds.get("theme") else set(),
        "producer": {str(p) for p in ds.get("produsen_data") or [] if p},
        "format": set(dataset_formats(ds)),
        "frequency": {ds["frequency"]} if ds.get("frequency") else set(),
        "year": {str(y) for y in years_covered(ds.get("temporal"))},
    }


def facet_options(datasets: Iterable[dict[str, Any]], facet: str) -> list[str]:
    """Every value of ``facet`` over the catalogue (years newest first)."""
    values: set[str] = set()
    for ds in datasets:
        values |= facet_values(ds)[facet]
    if facet == "year":
        return sorted(values, reverse=True)
    if facet == "format":
        return [f for f in FORMATS if f in values]
    if facet == "frequency":
        return sorted(values, key=lambda v: (FREQUENCY_ORDER.index(v)
                                             if v in FREQUENCY_ORDER else 99, v))
    return sorted(values, key=str.casefold)


def matches_facets(ds: dict[str, Any], selected: dict[str, Sequence[str]],
                   skip: str | None = None) -> bool:
    """Whether ``ds`` has one of the selected values in every facet (OR within a facet,
    AND across facets); the facet ``skip`` is ignored."""
    values = facet_values(ds)
    for facet, chosen in selected.items():
        if facet == skip or not chosen:
            continue
        if not values.get(facet, set()) & set(chosen):
            return False
    return True


def filter_facets(datasets: list[dict[str, Any]],
                  selected: dict[str, Sequence[str]]) -> list[dict[str, Any]]:
    return [ds for ds in datasets if matches_facets(ds, selected)]


def facet_counts(datasets: list[dict[str, Any]], selected: dict[str, Sequence[str]],
                 facet: str) -> Counter[str]:
    """Datasets per value of ``facet`` among those matching the other facets, so a count
    says how many results choosing that value gives."""
    counts: Counter[str] = Counter()
    for ds in datasets:
        if matches_facets(ds, selected, skip=facet):
            counts.update(facet_values(ds)[facet])
    return counts


# --- sources, quality, feeds ----------------------------------------------------------


def source_datasets(ds: dict[str, Any], known: Iterable[str] = ()) -> list[str]:
    """The registry datasets a catalogue dataset is built from: catalog.json's
    ``source_datasets`` when present, else the built-in map, else a registry dataset
    whose name starts the mart's name."""
    listed = [str(s) for s in ds.get("source_datasets") or [] if s]
    if listed:
        return listed
    if ds.get("slug") in SOURCE_DATASETS:
        return list(SOURCE_DATASETS[ds["slug"]])
    model = str(ds.get("model") or ds.get("slug", "")).replace("-", "_")
    guesses = [k for k in known if model.startswith(k)]
    return sorted(guesses, key=len, reverse=True)[:1]


def quality_for(summary: dict[str, Any] | None, sources: Sequence[str]) -> dict[str, Any]:
    """Score (mean over the sources that have one), checks run and failures of
    ``sources`` from the public quality summary (``site/quality/summary.json``). A failure
    is ``{dataset, regency, nama_wilayah, expectation, column, severity,
    unexpected_count, description, kwargs, examples}``: the rule, how many rows failed
    it and the examples the summary publishes (masked, or row positions only)."""
    per_dataset = (summary or {}).get("datasets") or {}
    scores, failures, evaluated = [], [], 0
    found = False
    for name in sources:
        block = per_dataset.get(name)
        if not isinstance(block, dict):
            continue
        found = True
        if isinstance(block.get("score"), int | float):
            scores.append(float(block["score"]))
        evaluated += int(block.get("expectations_evaluated") or 0)
        suite = [r for r in block.get("rules") or [] if isinstance(r, dict)]
        rules = {r.get("index"): r for r in suite}
        for feed in block.get("regencies") or []:
            if not isinstance(feed, dict):
                continue
            for check in feed.get("results") or []:
                if not isinstance(check, dict) or check.get("success") is not False:
                    continue
                rule = rules.get(check.get("rule")) if check.get("rule") is not None else None
                failures.append({
                    "dataset": name,
                    "regency": feed.get("regency"),
                    "nama_wilayah": feed.get("nama_wilayah"),
                    "expectation": check.get("expectation"),
                    "column": check.get("column"),
                    "severity": check.get("severity"),
                    "unexpected_count": check.get("unexpected_count"),
                    "description": (rule or {}).get("description"),
                    "kwargs": (rule or {}).get("kwargs") or {},
                    "examples": check.get("examples") or [],
                })
    return {
        "found": found,
        "score": round(sum(scores) / len(scores), 1) if scores else None,
        "evaluated": evaluated,
        "failures": failures,
    }


def feeds_for(summary: dict[str, Any] | None, sources: Sequence[str]) -> list[dict[str, Any]]:
    """The feeds (one per regency, from the registry) each source dataset is built from,
    as the public quality summary lists them: feed id, regency, channel, last period."""
    per_dataset = (summary or {}).get("datasets") or {}
    rows = []
    for name in sources:
        block = per_dataset.get(name)
        if isinstance(block, dict):
            rows += [f for f in block.get("regencies") or [] if isinstance(f, dict)]
    return rows


def completeness(ds: dict[str, Any], summary: dict[str, Any] | None) -> tuple[float, int]:
    """Sort key for "most complete": quality score (-1 when unknown), then row count."""
    known = ((summary or {}).get("datasets") or {}).keys()
    score = quality_for(summary, source_datasets(ds, known))["score"]
    rows = ds.get("row_count") if isinstance(ds.get("row_count"), int) else 0
    return (score if score is not None else -1.0, rows)


# --- coverage (which regencies each period lacks) ----------------------------------------

def is_partial(ds: dict[str, Any]) -> bool:
    """Whether the latest release lacks a regency that is expected to send the data."""
    coverage = ds.get("coverage")
    return isinstance(coverage, dict) and bool(coverage.get("partial"))


def coverage_gaps(ds: dict[str, Any]) -> list[dict[str, Any]]:
    """The gaps of a partial dataset, one per set of missing regencies:
    ``{"regencies": [{"kode", "nama"}], "periods": [labels], "whole": bool}`` (``whole``:
    the dataset has no period column, the regencies are missing from all of it), in the
    order catalog.json lists the periods; ``[]`` when complete or unknown."""
    if not is_partial(ds):
        return []
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for entry in ds["coverage"].get("missing") or []:
        if not isinstance(entry, dict):
            continue
        regencies = [r for r in entry.get("regencies") or [] if isinstance(r, dict)]
        key = tuple(str(r.get("kode")) for r in regencies)
        if not key:
            continue
        group = groups.setdefault(key, {"regencies": regencies, "periods": [],
                                        "whole": False})
        if entry.get("period") is None and not entry.get("by"):
            group["whole"] = True
        else:
            group["periods"].append(str(entry.get("label") or entry.get("period")))
    return list(groups.values())


def region_names(regencies: Iterable[dict[str, Any]]) -> str:
    """``Kabupaten Serang (36.04), Kota Serang (36.73)``."""
    return ", ".join(
        f"{r.get('nama') or r.get('kode')} ({r.get('kode')})"
        if r.get("nama") and r.get("nama") != r.get("kode") else str(r.get("kode"))
        for r in regencies
    )


# --- versions and files ----------------------------------------------------------------


def is_published(ds: dict[str, Any]) -> bool:
    return bool(ds.get("latest_version")) and bool(ds.get("versions"))


def latest_version_entry(ds: dict[str, Any]) -> dict[str, Any] | None:
    """The versions[] entry of ``latest_version`` (newest first), or ``None``."""
    if not is_published(ds):
        return None
    for entry in ds["versions"]:
        if entry.get("version") == ds["latest_version"]:
            return entry
    return ds["versions"][0]


def version_files(ds: dict[str, Any], entry: dict[str, Any],
                  site: Path | None = None) -> dict[str, dict[str, Any]]:
    """``{format: {"path", "name", "bytes", "sha256", "listed"}}`` of one version.

    The formats are those catalog.json lists for the version plus, when ``site`` is
    given, those found on disk; a release listing no files at all falls back to the
    contract layout ``datasets/<slug>/<version>/<slug>.<format>`` for CSV and Parquet.
    ``datapackage`` (the descriptor) is included when listed or present.
    """
    slug, version = ds["slug"], entry["version"]
    folder = f"datasets/{slug}/{version}"
    listed = {
        str(f.get("format", "")).lower(): f
        for f in entry.get("files") or []
        if isinstance(f, dict) and f.get("path")
    }
    wanted = [fmt for fmt in FORMATS if fmt in listed]
    if not listed:
        wanted = ["csv", "parquet"]
    if site is not None:
        for fmt in FORMATS:
            path = resolve_in_site(site, f"{folder}/{slug}.{fmt}")
            if fmt not in wanted and path is not None and path.is_file():
                wanted.append(fmt)
    files: dict[str, dict[str, Any]] = {}
    for fmt in FORMATS:
        if fmt not in wanted:
            continue
        f = listed.get(fmt, {})
        path = f.get("path") or f"{folder}/{slug}.{fmt}"
        files[fmt] = {
            "path": path,
            "name": path.rsplit("/", 1)[-1],
            "bytes": f.get("bytes"),
            "sha256": f.get("sha256"),
            "listed": fmt in listed,
        }
    descriptor = f"{folder}/{DESCRIPTOR}"
    path = resolve_in_site(site, descriptor) if site is not None else None
    if "datapackage" in listed or (path is not None and path.is_file()):
        f = listed.get("datapackage", {})
        files["datapackage"] = {
            "path": descriptor,
            "name": DESCRIPTOR,
            "bytes": f.get("bytes") or (path.stat().st_size if path is not None else None),
            "sha256": f.get("sha256"),
            "listed": "datapackage" in listed,
        }
    return files


def read_sha256sums(version_dir: Path) -> dict[str, str]:
    """Parse ``SHA256SUMS`` (``<sha256>  <filename>`` lines) of a version folder."""
    try:
        lines = (version_dir / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    sums = {}
    for line in lines:
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2:
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def _join(base_url: str | None, path: str) -> str:
    if not base_url:
        return path
    return base_url.split("?", 1)[0].split("#", 1)[0].rstrip("/") + path


def static_url(relative: str, base_url: str | None = None) -> str:
    """The URL at which the catalogue serves ``site/<relative>`` (``/app/static/...``);
    absolute with ``base_url`` (the app's URL in the browser)."""
    return _join(base_url, STATIC_PREFIX + relative.lstrip("/"))


def stable_path(slug: str, fmt: str) -> str:
    """Site-relative path of a latest file: ``datasets/<slug>/latest/<slug>.<fmt>``
    (``fmt="datapackage"`` gives the descriptor)."""
    name = DESCRIPTOR if fmt == "datapackage" else f"{slug}.{fmt}"
    return f"datasets/{slug}/latest/{name}"


def stable_url(slug: str, fmt: str, base_url: str | None = None) -> str:
    """URL the static server exposes for the latest file of ``fmt``."""
    return static_url(stable_path(slug, fmt), base_url)


def version_url(slug: str, version: str, name: str, base_url: str | None = None) -> str:
    return static_url(f"datasets/{slug}/{version}/{name}", base_url)


def dbt_docs_url(model: str | None, base_url: str | None = None) -> str | None:
    if not model:
        return None
    return static_url(f"{DBT_DOCS}#!/model/model.{DBT_PROJECT}.{model}", base_url)


def data_docs_url(site: Path, base_url: str | None = None) -> str | None:
    """URL of the Great Expectations Data Docs, or None when they are not published."""
    if not (site / DATA_DOCS).is_file():
        return None
    return static_url(DATA_DOCS, base_url)


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


# --- Parquet queries (in-memory DuckDB, parameterised) ----------------------------------


def _query(sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute(sql, params).df()
    finally:
        con.close()


def _fetchone(sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> tuple | None:
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
    row = _fetchone("SELECT count(*) FROM read_parquet(?)", [str(parquet)])
    return int(row[0]) if row else 0


def read_preview(parquet: Path, limit: int = PREVIEW_ROWS) -> pd.DataFrame:
    """First ``limit`` rows of a Parquet file."""
    return read_page(parquet, 1, limit)


def read_page(parquet: Path, page: int, page_size: int = PAGE_SIZE) -> pd.DataFrame:
    """Rows of page ``page`` (1-based) in file order: LIMIT/OFFSET on the Parquet file."""
    offset = max(int(page) - 1, 0) * int(page_size)
    return _query(
        "SELECT * FROM read_parquet(?) LIMIT ? OFFSET ?", [str(parquet), int(page_size), offset]
    )


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(max(total, 0) / page_size))


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
    frame = _query(
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
    frame = _query(sql, [str(parquet), *params])
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
    return _query(sql, [str(parquet), *params, int(limit)])


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
    return _query(sql + " LIMIT ?", [*params, int(limit)])


def count_where(parquet: Path, column: str | None, value: Any) -> int:
    """Rows whose ``column`` equals ``value`` (all rows without a column)."""
    if not column or value is None:
        return count_rows(parquet)
    row = _fetchone(
        f"SELECT count(*) FROM read_parquet(?) WHERE {quote_ident(column)} = ?",
        [str(parquet), value],
    )
    return int(row[0]) if row else 0


# --- officials' overview ------------------------------------------------------------------


def find_by_columns(catalog: dict[str, Any] | None, needed: Sequence[str],
                    source: str | None = None) -> dict[str, Any] | None:
    """The first published dataset that has all ``needed`` columns (preferring one built
    from registry dataset ``source``)."""
    candidates = []
    for ds in (catalog or {}).get("datasets", []):
        names = {c.get("name") for c in ds.get("columns", [])}
        if is_published(ds) and set(needed) <= names:
            candidates.append(ds)
    preferred = [ds for ds in candidates if source and source in source_datasets(ds)]
    return (preferred or candidates or [None])[0]


def population_by_region(parquet: Path) -> tuple[str | None, pd.DataFrame]:
    """Population per regency in the newest Dukcapil semester (``YYYY-Sn``; the newest
    period of any kind when there is none): ``(period, frame[kode, nama, penduduk])``."""
    row = _fetchone(
        "SELECT coalesce(max(periode) FILTER (WHERE regexp_matches(periode, ?)), max(periode)) "
        "FROM read_parquet(?)",
        [_DUKCAPIL_PERIOD, str(parquet)],
    )
    period = row[0] if row else None
    if period is None:
        return None, pd.DataFrame(columns=["kode", "nama", "penduduk"])
    frame = _query(
        "SELECT kode_wilayah AS kode, any_value(nama_wilayah) AS nama, "
        "sum(jumlah_penduduk) AS penduduk FROM read_parquet(?) WHERE periode = ? "
        "GROUP BY 1 ORDER BY 1",
        [str(parquet), period],
    )
    return str(period), frame


def complaints_by_region(parquet: Path, months: int = 12
                         ) -> tuple[tuple[str, str] | None, pd.DataFrame]:
    """Complaints per regency over the newest ``months`` months: received, done, the
    share done within the service level (weighted by done complaints) and the sum of the
    per-10,000 rates (used when no population is published). Returns
    ``((first month, last month), frame)``."""
    frame = _query(
        """
        WITH a AS (SELECT * FROM read_parquet($p)),
             m AS (SELECT DISTINCT bulan FROM a WHERE bulan IS NOT NULL
                   ORDER BY bulan DESC LIMIT $n)
        SELECT kode_wilayah AS kode, any_value(nama_wilayah) AS nama,
               sum(jumlah_diterima) AS diterima, sum(jumlah_selesai) AS selesai,
               sum(persen_selesai_tepat_waktu * jumlah_selesai)
                 / nullif(sum(jumlah_selesai) FILTER
                          (WHERE persen_selesai_tepat_waktu IS NOT NULL), 0)
                 AS persen_tepat_waktu,
               sum(aduan_per_10000_penduduk) AS per_10000_dari_data,
               min(bulan) AS dari, max(bulan) AS sampai
        FROM a WHERE bulan IN (SELECT bulan FROM m)
        GROUP BY 1 ORDER BY 1
        """,
        {"p": str(parquet), "n": int(months)},
    )
    if frame.empty:
        return None, frame
    span = (str(frame["dari"].min()), str(frame["sampai"].max()))
    return span, frame.drop(columns=["dari", "sampai"])


COMPLAINT_COLUMNS = ("kode_wilayah", "nama_wilayah", "bulan", "jumlah_diterima",
                     "jumlah_selesai", "persen_selesai_tepat_waktu",
                     "aduan_per_10000_penduduk")
POPULATION_COLUMNS = ("kode_wilayah", "nama_wilayah", "periode", "jumlah_penduduk")


# --- GeoJSON -------------------------------------------------------------------------------


def load_geojson(path: Path) -> dict[str, Any] | None:
    """The regency boundaries (FeatureCollection with ``kode_wilayah`` and ``nama``)."""
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        return None
    features = [
        f for f in doc["features"]
        if isinstance(f, dict) and isinstance(f.get("properties"), dict)
        and f["properties"].get("kode_wilayah") and isinstance(f.get("geometry"), dict)
    ]
    return {"type": "FeatureCollection", "features": features} if features else None


# --- formatting that does not depend on the language -----------------------------------


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: Any) -> str:
    """``2026-11-28T12:00:00+00:00`` -> ``2026-11-28 12:00 UTC``; unparsable -> as is."""
    parsed = parse_time(value)
    if parsed is None:
        return str(value) if value else "—"
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_date(value: Any) -> str:
    parsed = parse_time(value)
    if parsed is None:
        return str(value) if value else "—"
    return parsed.astimezone(UTC).strftime("%Y-%m-%d")
