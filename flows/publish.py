"""Publish: every mart that declares catalogue metadata becomes an immutable open-data release.

dbt's `manifest.json` is the one list of what is published: a model is published when
its `config.meta.open_data` is set (not `catalog`: dbt-duckdb looks that key up as its
own config and warns on every model). Only columns classified `public` leave the
warehouse.

A release `site/datasets/<slug>/<version>/` holds the data as CSV (UTF-8, comma, header),
XLSX, JSON (an array of records) and Parquet, a Frictionless `datapackage.json` whose
Table Schema comes from the dbt column metadata, `release.json` (with the changelog
against the previous version) and `SHA256SUMS`. It is written into a hidden
`.staging-*` folder beside its final place and renamed into place in one step; `latest`
is a symlink switched with one atomic rename. `catalog.json` (the catalogue app's index),
`data.json` (DCAT-US 1.1 for harvesters) and the bulk zip of all latest releases are each
written aside and renamed over the old file. A reader, or a crash, never sees half a
release. A new version appears only when the content changed.

Before anything is released, every file is scanned for personal data (NIK, mobile
numbers, e-mail addresses; see `flows/common/pii.py`); a hit fails that dataset's publication
and leaves its previous release published. Text cells that a spreadsheet would run as a
formula (`=`, `+`, `-`, `@`, tab, CR) get a leading `'` in the CSV and XLSX files.

Coverage: a mart whose YAML declares `open_data.coverage` (`region`, optional `period`,
optional `by` columns, and the registry `datasets` it is built from) is checked against
the regencies expected to send those datasets: every regency with a feed of one of them
in the registry, a province-wide feed (a `regency` without a dot, e.g. "36") standing
for every regency of that province. A period (or, without a period column, the whole
dataset) that lacks an expected regency is *partial*. Coverage is recorded in
`release.json` (`coverage`), shown in `catalog.json` and `data.json` (regency names
per period) and on the catalogue's dataset page; a publication whose content did not
change still re-assesses it (`datasets/<slug>/coverage.json` when the assessment differs
from the one in the latest release). A partial dataset is still published, and says so.

A release never silently drops a regency-period (see `dropped_pairs`).

Release groups: marts built from the same source datasets are published together or not
at all (`release_groups`, `publish_groups`). Every mart of a group is staged first; only
when each passed (personal-data scan, drop guard, every other check) are their releases
renamed into place and their `latest` links switched, one after the other. Each switch is
atomic; the group's switch is ordered, not one atomic step (see `publish_groups` for what
a reader may see meanwhile, and how a crash in between is finished by the next
publisher).
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import json
import math
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from flows import timing
from flows.common import periods, pii
from flows.common.files import atomic_target, fsync_file, sha256_file, write_json_atomic
from flows.common.sql import quote_ident, quote_literal
from flows.settings import Settings
from flows.warehouse import connect

META_KEY = "open_data"   # config.meta.open_data of a dbt model marks it as published
REQUIRED_META = (
    "slug", "title", "description", "theme", "keywords", "unit", "frequency",
    "produsen_data", "walidata", "license", "source", "spatial", "synthetic",
)
BILINGUAL = ("title", "description", "source")
# Satu Data Indonesia / BPS MS-Ind fields a mart may add under meta.open_data.
OPTIONAL_SATUDATA = ("konsep", "definisi", "metode_perhitungan", "klasifikasi_penyajian",
                     "level_estimasi")
CLASSIFICATIONS = {"public", "restricted"}
LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}
FORMATS = ("csv", "xlsx", "json", "parquet")
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
FORMAT_NAMES = {"csv": "CSV", "xlsx": "XLSX", "json": "JSON", "parquet": "Parquet"}
FORMAT_DESCRIPTIONS = {
    "csv": "CSV, UTF-8, comma-separated, header row",
    "xlsx": "Excel workbook: sheet 'data' (header row) and sheet 'metadata'",
    "json": "JSON, an array of records (one object per row)",
    "parquet": "Apache Parquet (zstd), column types kept",
}
# Region codes and the code lists they come from (Satu Data "kode referensi").
REFERENCE_CODES = {"kode_wilayah": "Kode wilayah administrasi pemerintahan (Kemendagri)"}
# Text cells starting with one of these run as a formula in a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_DATA_ROWS = 1_048_575          # rows per sheet below the header (Excel's limit)
XLSX_BATCH_ROWS = 50_000
XLSX_MAX_EXACT_INT = 10**15         # Excel keeps 15 significant digits; larger ints as text
BULK_ZIP = "downloads/satudata-banten-latest.zip"
DATA_JSON = "data.json"
CATALOG_JSON = "catalog.json"
# Coverage of the latest release re-assessed after it was published (content unchanged,
# registry changed): `datasets/<slug>/coverage.json`, {"version", "assessed_at", "coverage"}.
COVERAGE_JSON = "coverage.json"
WHOLE_DATASET = "all"               # coverage key of a mart without a period column
REGENCY_REFERENCE = "wilayah_kabupaten_kota"
DEFAULT_BASE_URL = "http://localhost:8501"
STATIC_PREFIX = "/app/static"        # where the catalogue serves site/ (flows/cli.py)
PUBLISHER_PARENT = "Pemerintah Provinsi Banten"
DATAPACKAGE_SPEC = "https://specs.frictionlessdata.io/data-package/"
DCAT_US_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
ISO_PERIODICITY = re.compile(
    r"^R/P(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)


class PublishError(RuntimeError):
    """A dataset cannot be published; the message names the dataset and what to fix."""


@dataclass(frozen=True)
class CoverageSpec:
    """`open_data.coverage` of a mart: which column names the regency, which the period
    (None: coverage over the whole dataset), optional columns that split a period further
    (e.g. `indikator` of a long table), and the registry datasets whose feeds say which
    regencies are expected."""

    region: str
    period: str | None
    by: tuple[str, ...]
    datasets: tuple[str, ...]


@dataclass(frozen=True)
class MartSpec:
    """What the manifest says about one published mart."""

    model: str
    relation: str
    meta: dict
    columns: list[dict]   # name, description, unit, classification, description_id
    coverage: CoverageSpec | None = None
    sources: tuple[str, ...] = ()     # the raw.<dataset> sources it reads, however indirectly

    @property
    def slug(self) -> str:
        return self.meta["slug"]


@dataclass(frozen=True)
class PublishOutcome:
    slug: str
    status: str          # "published" | "unchanged" | "failed" | "empty"
    version: str | None
    message: str = ""
    # The marts of its release group that kept this one from being published (its own
    # slug when it failed by itself); empty when nothing held it.
    held_by: tuple[str, ...] = ()


def published_marts(manifest: dict) -> list[MartSpec]:
    """The marts with catalogue metadata, checked; raises PublishError naming each gap."""
    marts = []
    problems = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        meta = (node.get("config", {}).get("meta") or node.get("meta") or {}).get(META_KEY)
        if not meta:
            continue
        name = node["name"]
        for key in REQUIRED_META:
            if meta.get(key) in (None, "", [], {}):
                problems.append(f"model '{name}': meta.open_data.{key} is missing")
        for key in BILINGUAL:
            value = meta.get(key)
            if isinstance(value, dict):
                for lang in ("id", "en"):
                    if not value.get(lang):
                        problems.append(f"model '{name}': meta.open_data.{key}.{lang} is missing")
            elif value:
                problems.append(f"model '{name}': meta.open_data.{key} needs 'id' and 'en' texts")
        columns = []
        if not node["columns"]:
            problems.append(f"model '{name}': no columns documented in its YAML")
        for col in node["columns"].values():
            cmeta = col.get("config", {}).get("meta") or col.get("meta") or {}
            if not col.get("description"):
                problems.append(f"model '{name}': column '{col['name']}' has no description")
            if not cmeta.get("id"):
                problems.append(
                    f"model '{name}': column '{col['name']}' has no Indonesian description "
                    "(meta.id)"
                )
            if cmeta.get("classification") not in CLASSIFICATIONS:
                problems.append(
                    f"model '{name}': column '{col['name']}' needs meta.classification "
                    f"public or restricted"
                )
            columns.append(
                {
                    "name": col["name"],
                    "description": {"id": cmeta.get("id"), "en": col.get("description")},
                    "unit": cmeta.get("unit"),
                    "classification": cmeta.get("classification"),
                }
            )
        sources = raw_sources(manifest, uid)
        coverage = None
        if meta.get("coverage") is not None:
            public = [c["name"] for c in columns if c["classification"] == "public"]
            coverage, found = _coverage_spec(name, meta["coverage"], public, sources)
            problems += found
        marts.append(MartSpec(name, node["relation_name"], meta, columns, coverage, sources))
    slugs = [m.slug for m in marts if m.meta.get("slug")]
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        problems.append(f"slug '{slug}' is used by more than one model")
    if problems:
        raise PublishError("catalogue metadata incomplete: " + "; ".join(sorted(problems)))
    return sorted(marts, key=lambda m: m.slug)


def raw_sources(manifest: dict, unique_id: str) -> tuple[str, ...]:
    """The `raw.<dataset>` sources a node reads, following `depends_on` all the way down
    (an `aduan_bulanan` that joins population reads raw.aduan and raw.penduduk)."""
    sources = manifest.get("sources") or {}
    nodes = manifest.get("nodes") or {}
    found: set[str] = set()
    seen: set[str] = set()
    stack = [unique_id]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in sources:
            if sources[current].get("source_name") == "raw":
                found.add(sources[current]["name"])
            continue
        stack += (nodes.get(current, {}).get("depends_on") or {}).get("nodes") or []
    return tuple(sorted(found))


def _coverage_spec(model: str, value: object, public: list[str], sources: tuple[str, ...]
                   ) -> tuple[CoverageSpec | None, list[str]]:
    """`open_data.coverage` checked: columns must be public columns of the mart; the
    datasets, when not declared, are the one raw source the model reads."""
    where = f"model '{model}': meta.open_data.coverage"
    if not isinstance(value, dict):
        return None, [f"{where} must be a mapping with 'region' (and 'period', 'datasets')"]
    problems = []
    region, period = value.get("region"), value.get("period")
    by = value.get("by") or []
    by = [by] if isinstance(by, str) else by
    for key, column in [("region", region), ("period", period)] + [("by", b) for b in by]:
        if key == "period" and column is None:
            continue
        if not isinstance(column, str) or column not in public:
            problems.append(f"{where}.{key} is {column!r}; name a public column of the model")
    datasets = value.get("datasets") or []
    datasets = [datasets] if isinstance(datasets, str) else [str(d) for d in datasets]
    if not datasets:
        if len(sources) == 1:
            datasets = list(sources)
        else:
            read = ", ".join(f"raw.{s}" for s in sources) or "no raw source"
            problems.append(f"{where}.datasets is missing and the model reads {read}; name "
                            "the registry dataset(s) whose feeds it should cover")
    elif sources and not set(datasets) <= set(sources):
        unknown = sorted(set(datasets) - set(sources))
        problems.append(f"{where}.datasets names {unknown}, which the model does not read "
                        f"(it reads {', '.join(f'raw.{s}' for s in sources)})")
    if problems:
        return None, problems
    return CoverageSpec(region, period, tuple(by), tuple(datasets)), []


# --- small helpers ---------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for working on staged files; never downloads an extension."""
    return duckdb.connect(config={"autoinstall_known_extensions": False})


def base_url() -> str:
    """Public root of the catalogue: `$SATUDATA_BASE_URL`, default http://localhost:8501."""
    return (os.environ.get("SATUDATA_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")


def site_url(relative: str, base: str | None = None) -> str:
    """The URL at which the catalogue serves `site/<relative>`."""
    return f"{base or base_url()}{STATIC_PREFIX}/{relative}"


def stable_url(slug: str, name: str, base: str | None = None) -> str:
    """Stable download URL of a file of the latest release, e.g. `<slug>.xlsx`."""
    return site_url(f"datasets/{slug}/latest/{name}", base)


def dataset_dir(site: Path, slug: str) -> Path:
    return site / "datasets" / slug


@contextmanager
def _publish_lock(settings: Settings) -> Iterator[None]:
    """One publisher at a time per SATUDATA_HOME (held only while writing the site), so
    hidden work files found while holding it are leftovers of a crash. A group switch a
    crash interrupted (`SWITCH_JOURNAL`) is finished first, before anything else looks
    at the site."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / ".publish.lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            _finish_interrupted_switch(settings)
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _remove_leftovers(folder: Path) -> None:
    """Staging folders and temporary files a crashed publisher left behind."""
    if not folder.exists():
        return
    for p in folder.iterdir():
        if p.name.startswith(".staging-") and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".latest-") or (p.name.startswith(".") and
                                                p.name.endswith(".tmp")):
            p.unlink(missing_ok=True)


def releases(site: Path, slug: str) -> list[dict]:
    """release.json of every complete release of `slug`, newest first."""
    out = []
    folder = dataset_dir(site, slug)
    if not folder.exists():
        return out
    for d in folder.iterdir():
        if d.is_dir() and not d.is_symlink() and not d.name.startswith("."):
            rel = _read_json(d / "release.json")
            if rel:
                out.append(rel)
    return sorted(out, key=lambda r: r["sequence"], reverse=True)


def _next_version(existing: list[dict], folder: Path, today: dt.date) -> str:
    names = {r["version"] for r in existing}
    version, n = today.isoformat(), 1
    while version in names or (folder / version).exists():
        n += 1
        version = f"{today.isoformat()}.{n}"
    return version


def _point_latest(folder: Path, version: str) -> None:
    """Switch `latest` to `version` in one atomic rename (a no-op if it points there)."""
    latest = folder / "latest"
    if latest.is_symlink() and os.readlink(latest) == version:
        return
    with atomic_target(latest) as link_tmp:
        os.symlink(version, link_tmp)


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


# --- the release's files ---------------------------------------------------------------


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading `'`; anything else
    (numbers included) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_select(types: dict[str, str]) -> str:
    """Columns of the staged Parquet for the CSV: text cells neutralised (formula
    injection), everything else as is."""
    prefixes = "^[=+\\-@\\t\\r]"
    cols = []
    for name, typ in types.items():
        col = quote_ident(name)
        if pii.column_kind(typ) == "text":
            text = f"cast({col} as varchar)"
            cols.append(f"case when regexp_matches({text}, {quote_literal(prefixes)}) "
                        f"then '''' || {text} else {text} end as {col}")
        else:
            cols.append(col)
    return ", ".join(cols)


def _xlsx_cell(value: object) -> object:
    """A Parquet value as an XLSX cell: formulas neutralised, characters XML cannot hold
    removed, time zones normalised to UTC (Excel has none)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    if isinstance(value, int):
        return value if abs(value) < XLSX_MAX_EXACT_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal | dt.date | dt.time | dt.timedelta):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, bytes):
        return value.hex()
    return neutralise(json.dumps(value, ensure_ascii=False, default=str))


def _write_xlsx(parquet: Path, out: Path, types: dict[str, str],
                metadata_rows: list[list]) -> list[pii.Finding]:
    """Stream the staged Parquet into a workbook (openpyxl write-only, one batch in
    memory at a time): sheet `data` (more sheets `data_2`... past Excel's row limit)
    and sheet `metadata`. Scans every written value for personal data."""
    import openpyxl
    import pyarrow.parquet as pq

    columns = list(types)
    kinds = {c: k for c, t in types.items() if (k := pii.column_kind(t))}
    scanner = pii.ValueScanner(out.name, kinds)
    wb = openpyxl.Workbook(write_only=True)
    sheet, used, sheets = None, 0, 0

    def new_sheet():
        nonlocal sheets
        sheets += 1
        ws = wb.create_sheet("data" if sheets == 1 else f"data_{sheets}")
        ws.freeze_panes = "A2"
        ws.append(columns)
        return ws

    pf = pq.ParquetFile(parquet)
    try:
        for batch in pf.iter_batches(batch_size=XLSX_BATCH_ROWS):
            data = batch.to_pydict()
            cells = [[_xlsx_cell(v) for v in data[c]] for c in columns]
            for c, values in zip(columns, cells, strict=True):
                scanner.add(c, values)
            for row in zip(*cells, strict=True):
                if sheet is None or used >= XLSX_DATA_ROWS:
                    sheet, used = new_sheet(), 0
                sheet.append(row)
                used += 1
    finally:
        pf.close()
    if sheet is None:
        new_sheet()
    meta_ws = wb.create_sheet("metadata")
    for row in metadata_rows:
        meta_ws.append([_xlsx_cell(v) for v in row])
    wb.save(out)
    return scanner.findings()


def _xlsx_metadata(mart: MartSpec, types: dict[str, str], version: str,
                   temporal: str | None) -> list[list]:
    meta = mart.meta
    rows = [
        ["Judul / Title", meta["title"]["id"], meta["title"]["en"]],
        ["Deskripsi / Description", meta["description"]["id"], meta["description"]["en"]],
        ["Produsen data", "; ".join(meta["produsen_data"])],
        ["Walidata", meta["walidata"]],
        ["Satuan / Unit", meta["unit"]],
        ["Frekuensi / Frequency", meta["frequency"]],
        ["Cakupan wilayah / Spatial", meta["spatial"]],
        ["Cakupan waktu / Temporal", temporal],
        ["Sumber / Source", meta["source"]["id"], meta["source"]["en"]],
        ["Lisensi / License", meta["license"], LICENSE_URLS.get(meta["license"])],
        ["Versi / Version", version],
    ]
    for key in OPTIONAL_SATUDATA:
        value = meta.get(key)
        if isinstance(value, dict):
            rows.append([key, value.get("id"), value.get("en")])
        elif value:
            rows.append([key, value])
    rows += [[], ["Kolom / Column", "Tipe / Type", "Satuan / Unit", "Keterangan",
                  "Description"]]
    by_name = {c["name"]: c for c in mart.columns}
    for name, typ in types.items():
        col = by_name[name]
        rows.append([name, _frictionless_type(typ), col.get("unit"), col["description"]["id"],
                     col["description"]["en"]])
    return rows


def _pii_error(slug: str, mart: MartSpec, findings: list[pii.Finding]) -> PublishError:
    columns = sorted({f.column for f in findings})
    return PublishError(
        f"dataset '{slug}': personal data found, not published: "
        + "; ".join(f.describe() for f in findings)
        + f". The previous release stays published (latest unchanged). Fix: classify "
        f"column(s) {columns} of model '{mart.model}' as restricted in its YAML "
        "(config.meta.classification: restricted) so they never leave the warehouse, or "
        "remove the personal data from the mart; then run the pipeline again."
    )


def _temporal_interval(temporal: str | None) -> str | None:
    """'2020/2024-S2' -> '2020-01-01/2024-12-31' (ISO 8601 with inclusive ends, for
    DCAT-US); None if either end is not a period (flows.common.periods)."""
    if not temporal:
        return None
    lo, _, hi = temporal.partition("/")
    try:
        start, end = periods.parse(lo), periods.parse(hi or lo)
    except periods.PeriodError:
        return None
    return f"{start.start.isoformat()}/{end.last_day.isoformat()}"


def _reference_codes(mart: MartSpec) -> dict | str | None:
    if mart.meta.get("kode_referensi"):
        return mart.meta["kode_referensi"]
    codes = {c["name"]: REFERENCE_CODES[c["name"]] for c in mart.columns
             if c["classification"] == "public" and c["name"] in REFERENCE_CODES}
    return codes or None


def satudata_metadata(mart: MartSpec, temporal: str | None) -> dict:
    """The Satu Data Indonesia metadata of a dataset (datapackage.json and data.json)."""
    meta = mart.meta
    block = {
        "title": meta["title"],
        "description": meta["description"],
        "theme": meta["theme"],
        "unit": meta["unit"],                   # satuan
        "frequency": meta["frequency"],         # frekuensi
        "produsen_data": meta["produsen_data"],
        "walidata": meta["walidata"],
        "spatial": meta["spatial"],             # cakupan wilayah
        "temporal": temporal,                   # cakupan waktu
        "source": meta["source"],
        "license": meta["license"],
        "synthetic": meta["synthetic"],
    }
    codes = _reference_codes(mart)
    if codes:
        block["kode_referensi"] = codes
    for key in OPTIONAL_SATUDATA:
        if meta.get(key):
            block[key] = meta[key]
    return block


def _file_entry(slug: str, version: str, fmt: str, path: Path, sha256: str) -> dict:
    return {
        "format": fmt,
        "path": f"datasets/{slug}/{version}/{path.name}",
        "bytes": path.stat().st_size,
        "sha256": sha256,
        "mediatype": MEDIA_TYPES[fmt],
    }


def _datapackage(mart: MartSpec, types: dict[str, str], files: dict, version: str,
                 now: dt.datetime, temporal: str | None, key: list[str]) -> dict:
    slug, meta = mart.slug, mart.meta
    by_name = {c["name"]: c for c in mart.columns}
    fields = [
        {
            "name": name,
            "type": _frictionless_type(typ),
            "title": by_name[name]["description"]["id"],
            "description": by_name[name]["description"]["en"],
            **({"unit": by_name[name]["unit"]} if by_name[name].get("unit") else {}),
            **({"constraints": {"required": True}} if name in key else {}),
        }
        for name, typ in types.items()
    ]
    schema = {"fields": fields, "missingValues": [""], **({"primaryKey": key} if key else {})}

    def resource(fmt: str, **extra) -> dict:
        return {
            "name": slug if fmt == "csv" else f"{slug}-{fmt}",
            "path": f"{slug}.{fmt}",
            "title": f"{meta['title']['id']} ({FORMAT_NAMES[fmt]})",
            "description": FORMAT_DESCRIPTIONS[fmt],
            "format": fmt,
            "mediatype": MEDIA_TYPES[fmt],
            "bytes": files[fmt]["bytes"],
            "hash": f"sha256:{files[fmt]['sha256']}",
            **extra,
            "schema": schema,
        }

    return {
        "profile": "data-package",
        "name": slug,
        "title": meta["title"]["id"],
        "description": meta["description"]["id"],
        "version": version,
        "created": now.isoformat(),
        "keywords": meta["keywords"],
        "licenses": [{"name": meta["license"], "path": LICENSE_URLS.get(meta["license"], ""),
                      "title": meta["license"]}],
        "sources": [{"title": meta["source"]["id"]}],
        "contributors": [{"title": p, "role": "author"} for p in meta["produsen_data"]]
        + [{"title": meta["walidata"], "role": "publisher"}],
        "resources": [
            resource("csv", profile="tabular-data-resource", encoding="utf-8",
                     dialect={"delimiter": ",", "header": True}),
            resource("xlsx", profile="tabular-data-resource",
                     dialect={"excel": {"sheet": "data"}}),
            # Checked for integrity (bytes, sha256); their rows are the CSV's rows.
            resource("json", profile="data-resource", type="file", encoding="utf-8"),
            resource("parquet", profile="data-resource", type="file"),
        ],
        "satudata": satudata_metadata(mart, temporal),
    }


def _changelog(con: duckdb.DuckDBPyConnection, new_parquet: Path, previous: dict | None,
               site: Path, key: list[str]) -> dict:
    if previous is None:
        return {"id": "Rilis pertama", "en": "First release", "rows_added": None,
                "rows_removed": None, "rows_changed": None, "columns_added": [],
                "columns_removed": [], "columns_retyped": [], "formats_added": []}
    old = site / previous["files"]["parquet"]["path"]
    new_types = _parquet_types(con, new_parquet)
    old_types = _parquet_types(con, old)
    common = [c for c in new_types if c in old_types]
    key = [k for k in key if k in common] or common
    keys = ", ".join(quote_ident(k) for k in key)
    vals = ", ".join(quote_ident(c) for c in common)
    q = f"""
        with n as (select {vals} from read_parquet($new)),
             o as (select {vals} from read_parquet($old)),
             nk as (select distinct {keys} from n), ok as (select distinct {keys} from o)
        select
            (select count(*) from (select * from nk except select * from ok)),
            (select count(*) from (select * from ok except select * from nk)),
            (select count(*) from (select {keys} from (select * from n except select * from o)
                                   intersect select * from ok))
    """
    added, removed, changed = con.execute(q, {"new": str(new_parquet), "old": str(old)}
                                          ).fetchone()
    cols_added = [c for c in new_types if c not in old_types]
    cols_removed = [c for c in old_types if c not in new_types]
    retyped = [c for c in common if new_types[c] != old_types[c]]
    formats_added = [f for f in FORMATS if f not in previous["files"]]
    parts_id, parts_en = [], []
    for n, id_, en in ((added, "baris baru", "added"), (removed, "baris dihapus", "removed"),
                       (changed, "baris berubah", "changed")):
        if n:
            parts_id.append(f"{n} {id_}")
            parts_en.append(f"{n} {'row' if n == 1 else 'rows'} {en}")
    if cols_added or cols_removed:
        parts_id.append(f"kolom +{cols_added} -{cols_removed}")
        parts_en.append(f"columns +{cols_added} -{cols_removed}")
    if retyped:
        parts_id.append(f"tipe kolom berubah {retyped}")
        parts_en.append(f"column types changed {retyped}")
    if formats_added and not parts_en:
        parts_id.append(f"format baru {formats_added}")
        parts_en.append(f"new formats {formats_added}")
    return {
        "id": "; ".join(parts_id) or "Tidak ada perubahan isi",
        "en": "; ".join(parts_en) or "No content change",
        "rows_added": added, "rows_removed": removed, "rows_changed": changed,
        "columns_added": cols_added, "columns_removed": cols_removed,
        "columns_retyped": retyped, "formats_added": formats_added,
    }


# --- coverage ----------------------------------------------------------------------------


def regency_names(wh: duckdb.DuckDBPyConnection | None, settings: Settings) -> dict[str, str]:
    """Code -> name of every regency/city in the reference list: the warehouse's
    `reference.wilayah_kabupaten_kota` (reloaded from data/reference on every run), or
    that CSV when the warehouse has no such table."""
    if wh is not None:
        try:
            rows = wh.execute(f"select kode_wilayah, nama from reference.{REGENCY_REFERENCE} "
                              "order by 1").fetchall()
            if rows:
                return {str(code): str(name) for code, name in rows}
        except duckdb.CatalogException:
            pass
    path = settings.reference_dir / f"{REGENCY_REFERENCE}.csv"
    with open(path, newline="", encoding="utf-8") as f:
        return {r["kode_wilayah"]: r["nama"] for r in csv.DictReader(f)}


def _regencies_of(code: str, names: dict[str, str]) -> list[str]:
    """A regency code as itself; a province code (no dot, e.g. "36") as every regency of
    that province in the reference list."""
    code = str(code)
    if "." in code:
        return [code]
    return [c for c in names if c.startswith(code + ".")]


def expected_regencies(feeds, datasets: tuple[str, ...], names: dict[str, str]
                       ) -> dict[str, str]:
    """Code -> name of the regencies expected to send `datasets`: each feed of one of them
    (objects with `.regency` and `.dataset`, the registry's `Feed`) names its regency; a
    province-wide feed (`regency` without a dot, e.g. "36") every regency of the province."""
    expected: dict[str, str] = {}
    for feed in feeds:
        if feed.dataset in datasets:
            for code in _regencies_of(feed.regency, names):
                expected[code] = names.get(code, code)
    return dict(sorted(expected.items()))


def _expected_for(settings: Settings, mart: MartSpec, names: dict[str, str]) -> dict[str, str]:
    from flows.registry import RegistryError, load_registry

    try:
        registry = load_registry(settings.feeds_file)
    except RegistryError as e:
        raise PublishError(
            f"dataset '{mart.slug}': its coverage cannot be checked without the feed "
            f"registry ({e}); nothing was published, the previous release stays latest"
        ) from e
    return expected_regencies(registry.feeds, mart.coverage.datasets, names)


def resubmitted_regencies(wh: duckdb.DuckDBPyConnection, datasets: tuple[str, ...],
                          since: str, names: dict[str, str]) -> set[str]:
    """Regencies with an accepted submission of one of `datasets` received after `since`
    (ISO time); a province-wide submission counts for every regency of the province."""
    try:
        rows = wh.execute(
            "select distinct regency from meta.submissions where status = 'accepted' "
            "and list_contains(?::varchar[], dataset) and received_at > ?::timestamptz",
            [list(datasets), since]).fetchall()
    except duckdb.CatalogException:     # a warehouse without bookkeeping: nothing is newer
        return set()
    return {c for (code,) in rows for c in _regencies_of(code, names)}


def compute_coverage(con: duckdb.DuckDBPyConnection, parquet: Path, spec: CoverageSpec,
                     expected: dict[str, str]) -> dict:
    """Which expected regencies each period (each period x `by` values; the whole dataset
    without a period column) of the Parquet covers. `partial` when one lacks any."""
    keys = ([spec.period] if spec.period else []) + list(spec.by)
    region = quote_ident(spec.region)
    where = " and ".join(f"{quote_ident(c)} is not null" for c in [spec.region, *keys])
    regions = f"list(distinct cast({region} as varchar))"
    if keys:
        cols = ", ".join(quote_ident(k) for k in keys)
        rows = con.execute(f"select {cols}, {regions} from read_parquet(?) where {where} "
                           "group by all order by all", [str(parquet)]).fetchall()
    else:
        rows = con.execute(f"select {regions} from read_parquet(?) where {where}",
                           [str(parquet)]).fetchall()
    periods = {}
    for *values, present in rows:
        present = set(present or [])
        period = str(values[0]) if spec.period else None
        by = {c: str(v) for c, v in zip(spec.by, values[1 if spec.period else 0:],
                                        strict=True)}
        label = " · ".join([p for p in [period] if p] + list(by.values())) or WHOLE_DATASET
        missing = [c for c in expected if c not in present]
        periods[label] = {"period": period, **({"by": by} if by else {}),
                          "covered": len(expected) - len(missing), "missing": missing}
    return {
        "region": spec.region,
        "period": spec.period,
        "by": list(spec.by),
        "datasets": list(spec.datasets),
        "expected": list(expected),
        "names": dict(expected),
        "periods": periods,
        "partial": any(p["missing"] for p in periods.values()),
    }


def dropped_pairs(con: duckdb.DuckDBPyConnection, new_parquet: Path, old_parquet: Path,
                  spec: CoverageSpec) -> list[tuple[str, str | None]]:
    """(region, period) pairs the previous release had and the new content lacks
    (regions only for a mart without a period column).

    The rule: a release never drops a regency-period that an earlier release had, unless
    a newer accepted submission replaced it. `_publish` refuses the new release (outcome
    "failed", the previous release stays `latest`) when a pair disappears and the
    regency has no accepted submission of the mart's datasets received after the
    previous release was published (`resubmitted_regencies`). A regency that sent again
    may change its own slices, rows gone included; a regency that sent nothing since
    cannot lose rows (a fresh or restored warehouse, a changed model)."""
    cols = [spec.region] + ([spec.period] if spec.period else [])
    if any(c not in _parquet_types(con, old_parquet) for c in cols):
        return []                 # the previous release has no such column to compare
    sel = ", ".join(f"cast({quote_ident(c)} as varchar)" for c in cols)
    where = f"{quote_ident(spec.region)} is not null"
    rows = con.execute(
        f"select * from (select {sel} from read_parquet($old) where {where} except "
        f"select {sel} from read_parquet($new) where {where}) order by all",
        {"old": str(old_parquet), "new": str(new_parquet)}).fetchall()
    return [(r[0], r[1] if spec.period else None) for r in rows]


def _drop_message(slug: str, drops: list[tuple[str, str | None]], previous: str) -> str:
    shown = [f"{code} {period}" if period else code for code, period in drops[:10]]
    more = f" and {len(drops) - 10} more" if len(drops) > 10 else ""
    codes = sorted({code for code, _ in drops})
    return (
        f"dataset '{slug}': would drop {', '.join(shown)}{more}, which release {previous} "
        f"had, and no newer submission from {', '.join(codes)} replaced "
        f"{'it' if len(drops) == 1 else 'them'}; the previous release stays published "
        "(latest unchanged). Find out why the mart lost these rows (e.g. a fresh or restored "
        "warehouse); a newer accepted submission from the regency lets the change through."
    )


def coverage_gaps(coverage: dict | None) -> list[tuple[list[str], list[str]]]:
    """(missing regency codes, the period labels that lack exactly them), in period
    order, for a partial coverage; [] when complete or unknown."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for label, entry in ((coverage or {}).get("periods") or {}).items():
        if entry.get("missing"):
            groups.setdefault(tuple(entry["missing"]), []).append(label)
    return [(list(codes), labels) for codes, labels in groups.items()]


def _labels(labels: list[str]) -> str:
    if len(labels) <= 4:
        return ", ".join(labels)
    return f"{', '.join(labels[:2])}, …, {labels[-1]} ({len(labels)})"


def coverage_text(coverage: dict | None, lang: str) -> str:
    """One sentence on what a partial dataset lacks, in Indonesian (`id`) or English;
    "" when it is complete or its coverage unknown."""
    gaps = coverage_gaps(coverage)
    if not gaps:
        return ""
    names = coverage.get("names") or {}
    parts = []
    for codes, labels in gaps:
        regions = ", ".join(f"{names.get(c, c)} ({c})" for c in codes)
        if labels == [WHOLE_DATASET]:
            parts.append(f"tanpa data dari {regions}" if lang == "id"
                         else f"no data from {regions}")
        else:
            word = ("periode" if lang == "id" else
                    "period" if len(labels) == 1 else "periods")
            parts.append(f"{word} {_labels(labels)} tanpa {regions}" if lang == "id"
                         else f"{word} {_labels(labels)} lacks {regions}" if len(labels) == 1
                         else f"{word} {_labels(labels)} lack {regions}")
    if lang == "id":
        return "DATA BELUM LENGKAP: " + "; ".join(parts) + "."
    return "INCOMPLETE DATA: " + "; ".join(parts) + "."


def current_coverage(site: Path, release: dict | None) -> dict | None:
    """The coverage of a release: re-assessed (`coverage.json` beside the releases) when
    that assessment is of this version, else what its release.json recorded."""
    if not release:
        return None
    side = _read_json(dataset_dir(site, release["slug"]) / COVERAGE_JSON)
    if side and side.get("version") == release["version"]:
        return side.get("coverage")
    return release.get("coverage")


def _record_coverage(folder: Path, release: dict, coverage: dict | None,
                     now: dt.datetime) -> None:
    """An unchanged release whose coverage assessment changed (an older release without
    one, or other regencies expected now) gets `coverage.json` beside it."""
    side = folder / COVERAGE_JSON
    if coverage is None or coverage == release.get("coverage"):
        side.unlink(missing_ok=True)
        return
    current = _read_json(side)
    if current and current.get("version") == release["version"] and \
            current.get("coverage") == coverage:
        return
    write_json_atomic(side, {"version": release["version"], "assessed_at": now.isoformat(),
                             "coverage": coverage})


def catalog_coverage(coverage: dict | None) -> dict | None:
    """Coverage as the catalogue and data.json show it: partial flag, expected regencies
    and, per partial period, the missing regencies with their names."""
    if not coverage:
        return None
    names = coverage.get("names") or {}

    def regions(codes):
        return [{"kode": c, "nama": names.get(c, c)} for c in codes]

    return {
        "partial": bool(coverage.get("partial")),
        "datasets": coverage.get("datasets") or [],
        "expected": regions(coverage.get("expected") or []),
        "missing": [
            {"label": label, "period": entry.get("period"), **(
                {"by": entry["by"]} if entry.get("by") else {}),
             "covered": entry.get("covered"), "regencies": regions(entry["missing"])}
            for label, entry in (coverage.get("periods") or {}).items() if entry.get("missing")
        ],
    }


# --- publishing one mart ---------------------------------------------------------------


@dataclass
class _Staged:
    """One mart's publication, checked and written but not visible yet. `_switch` makes
    it so: a new release (`staging`) is renamed into place and `latest` switched to it;
    an unchanged one has `latest` pointed at it again and its re-assessed coverage
    recorded. A failed or empty outcome has nothing to switch."""

    mart: MartSpec
    outcome: PublishOutcome
    staging: Path | None = None       # the complete release, in its hidden folder
    previous: dict | None = None      # unchanged: the release `latest` stays at
    coverage: dict | None = None      # unchanged: its coverage as assessed now
    now: dt.datetime | None = None

    @property
    def failed(self) -> bool:
        return self.outcome.status == "failed"


def publish_mart(settings: Settings, mart: MartSpec, *, now: dt.datetime | None = None
                 ) -> PublishOutcome:
    """Publish one mart as a new release, or nothing if its content did not change.

    A mart that declares `open_data.coverage` has its coverage assessed either way
    (release.json `coverage`, or `coverage.json` for an unchanged release); its outcome's
    message names the periods that lack a regency. Its new content must keep every
    (regency, period) pair of the previous release unless that regency sent again
    (`dropped_pairs`): otherwise the outcome is "failed", naming the dataset, regencies
    and periods, and the previous release stays `latest`.

    Raises PublishError (naming the dataset and what to fix) when the mart cannot be
    published: undocumented columns, personal data in a public column, or any failure
    while writing; the previous release then stays `latest`. (`publish_groups` publishes
    the marts that share source data together.)"""
    with timing.timed("publish.marts"), _publish_lock(settings):
        staged = _stage(settings, mart, now or _now())
        try:
            if not staged.failed:
                _switch(settings, staged)
        except Exception as e:
            raise PublishError(
                f"dataset '{mart.slug}': switching to the new release failed "
                f"({type(e).__name__}: {e}); the previous release stays latest") from e
        finally:
            _discard(staged)
        return staged.outcome


def _stage(settings: Settings, mart: MartSpec, now: dt.datetime) -> _Staged:
    """`_publish` in a fresh hidden staging folder beside the mart's releases (the
    caller holds the publish lock). Raises PublishError; the staging folder is removed
    unless a new release waits in it."""
    slug = mart.slug
    folder = dataset_dir(settings.site_dir, slug)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)
    staging = folder / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    staged = None
    try:
        staged = _publish(settings, mart, staging, now)
        return staged
    except PublishError:
        raise
    except Exception as e:
        raise PublishError(
            f"dataset '{slug}': publishing failed ({type(e).__name__}: {e}); nothing "
            "was published, the previous release stays latest"
        ) from e
    finally:
        if (staged is None or staged.staging is None) and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _discard(staged: _Staged) -> None:
    """Remove a staged release that was not switched (its group was held back)."""
    if staged.staging is not None and staged.staging.exists():
        shutil.rmtree(staged.staging, ignore_errors=True)


def _switch(settings: Settings, staged: _Staged) -> None:
    """Make one staged publication visible: the release appears whole (one rename),
    then `latest` switches to it (one rename)."""
    folder = dataset_dir(settings.site_dir, staged.mart.slug)
    if staged.staging is not None:
        version = staged.outcome.version
        os.replace(staged.staging, folder / version)    # the release appears whole
        fsync_file(folder)
        _point_latest(folder, version)                  # latest switches in one step
        (folder / COVERAGE_JSON).unlink(missing_ok=True)   # an older release's re-assessment
    elif staged.outcome.status == "unchanged" and staged.previous is not None:
        _point_latest(folder, staged.previous["version"])
        _record_coverage(folder, staged.previous, staged.coverage, staged.now or _now())


# --- release groups --------------------------------------------------------------------


SWITCH_JOURNAL = ".publish-switch.json"   # in $SATUDATA_HOME, while a group switches


def source_datasets(mart: MartSpec) -> tuple[str, ...]:
    """The source datasets whose rows a mart publishes: `open_data.coverage.datasets`
    when it declares coverage, else every `raw.<dataset>` it reads (`MartSpec.sources`).
    A mart that only joins another dataset to scale its own (complaints per 10,000
    residents) declares the dataset it counts, so the one it joins does not tie them."""
    if mart.coverage is not None:
        return mart.coverage.datasets
    return mart.sources


def release_groups(marts: list[MartSpec]) -> list[list[MartSpec]]:
    """The marts published together or not at all: two marts are in one group when
    their `source_datasets` share a dataset, and groups are closed under that (a chain
    of shared datasets joins them all). A mart with no source dataset is a group of its
    own. Groups are in the order of their first slug; marts by slug within a group."""
    ordered = sorted(marts, key=lambda m: m.slug)
    parent = list(range(len(ordered)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, mart in enumerate(ordered):
        for dataset in source_datasets(mart):
            if dataset in first_with:
                parent[root(i)] = root(first_with[dataset])
            else:
                first_with[dataset] = i
    groups: dict[int, list[MartSpec]] = {}
    for i, mart in enumerate(ordered):
        groups.setdefault(root(i), []).append(mart)
    return list(groups.values())


def publish_groups(settings: Settings, marts: list[MartSpec], *,
                   held: dict[str, str] | None = None, now: dt.datetime | None = None,
                   log=None) -> list[PublishOutcome]:
    """Publish every mart, group by group (`release_groups`): all of a group's marts
    or none of them. Returns one outcome per mart, in slug order; `log(outcome)` is
    called as each group is done.

    `held`: model name -> why it must not be published this run (dbt did not build or
    test it). A held mart holds its whole group; nothing of that group is staged.

    Each mart of a group is staged (written in full and checked, invisible) one after
    the other; a mart whose publication fails (personal data found, a regency-period it
    would drop, anything else) holds the group back: no staged release is switched,
    every `latest` of the group stays where it was, and each outcome is "failed" and
    names the mart(s) that blocked it (`held_by`). When every mart passed, the new
    releases are renamed into place (none is reachable through `latest` yet), then each
    mart's `latest` is switched in slug order. Each switch is atomic; the group's is
    ordered, not one atomic step: for the milliseconds between its first and last
    rename, a reader following two `latest` links of the group may find the new release
    of one and the previous release of another. `catalog.json`, `data.json` and the zip
    are rewritten after every group has switched (`write_catalog`), so they never show a
    group half-switched. A journal of the switch (`SWITCH_JOURNAL`) is written before the
    first rename and removed after the last; a crash in between leaves it, and the next
    publisher finishes the switch first (every release of the group had passed)."""
    now = now or _now()
    held = held or {}
    outcomes: list[PublishOutcome] = []
    for group in release_groups(marts):
        with timing.timed("publish.marts"), _publish_lock(settings):
            done = _publish_group(settings, group, held, now)
        for outcome in done:
            if log is not None:
                log(outcome)
        outcomes += done
    return sorted(outcomes, key=lambda o: o.slug)


def _publish_group(settings: Settings, group: list[MartSpec], held: dict[str, str],
                   now: dt.datetime) -> list[PublishOutcome]:
    """One group, under the publish lock: stage all, then switch all or none."""
    slugs = [m.slug for m in group]
    kept = [m for m in group if m.model in held]
    if kept:
        why = {m.slug: f"not published: {held[m.model]}; the last release stays"
               for m in kept}
        return [PublishOutcome(m.slug, "failed", None, why[m.slug], held_by=(m.slug,))
                if m.slug in why else _held(m, group, why) for m in group]
    staged: list[_Staged] = []
    failures: dict[str, str] = {}
    try:
        for mart in group:
            try:
                item = _stage(settings, mart, now)
            except PublishError as e:
                failures[mart.slug] = str(e)
                continue
            staged.append(item)
            if item.failed:
                failures[mart.slug] = item.outcome.message
        if failures:
            return [PublishOutcome(m.slug, "failed", None, failures[m.slug],
                                   held_by=(m.slug,))
                    if m.slug in failures else _held(m, group, failures) for m in group]
        try:
            _switch_all(settings, staged)
        except Exception as e:  # noqa: BLE001 - reported on every mart of the group
            if (settings.home / SWITCH_JOURNAL).exists():
                for item in staged:   # kept for the next publisher, which finishes it
                    item.staging = None
            why = (f"switching release group {', '.join(slugs)} failed ({type(e).__name__}: "
                   f"{e}); the next publication finishes or repeats it")
            return [PublishOutcome(slug, "failed", None, why, held_by=tuple(slugs))
                    for slug in slugs]
        by_slug = {s.mart.slug: s.outcome for s in staged}
        return [by_slug[s] for s in slugs]
    finally:
        for item in staged:
            _discard(item)


def _held(mart: MartSpec, group: list[MartSpec], blockers: dict[str, str]
          ) -> PublishOutcome:
    """The outcome of a mart its group kept back: which marts blocked it, and why."""
    shared = sorted({d for m in group if m.slug in blockers for d in source_datasets(m)}
                    & set(source_datasets(mart)))
    via = f" (built from the same source data: {', '.join(shared)})" if shared else ""
    reasons = "; ".join(f"{slug}: {why}" for slug, why in sorted(blockers.items()))
    return PublishOutcome(
        mart.slug, "failed", None,
        f"not published: held back with its release group{via}, because "
        f"{', '.join(sorted(blockers))} could not be published ({reasons}); the last "
        "release of every dataset of the group stays latest",
        held_by=tuple(sorted(blockers)))


def _switch_all(settings: Settings, staged: list[_Staged]) -> None:
    """Switch a group whose every mart passed: journal, renames into place, `latest`
    links in slug order, journal removed (see `publish_groups`)."""
    switching = [s for s in staged if s.staging is not None or s.outcome.status == "unchanged"]
    if len([s for s in switching if s.staging is not None]) <= 1:
        for item in switching:   # one new release at most: its own switch is enough
            _switch(settings, item)
        return
    journal = settings.home / SWITCH_JOURNAL
    write_json_atomic(journal, {"switches": [
        {"slug": s.mart.slug,
         "staging": s.staging.name if s.staging is not None else None,
         "version": s.outcome.version} for s in switching]})
    for item in switching:       # every new release in its place, none reachable yet
        if item.staging is not None:
            folder = item.staging.parent
            os.replace(item.staging, folder / item.outcome.version)
            item.staging = None
            fsync_file(folder)
    for item in switching:       # then the `latest` links, one after the other
        folder = dataset_dir(settings.site_dir, item.mart.slug)
        if item.outcome.status == "published":
            _point_latest(folder, item.outcome.version)
            (folder / COVERAGE_JSON).unlink(missing_ok=True)
        else:
            _switch(settings, item)
    journal.unlink()


def _finish_interrupted_switch(settings: Settings) -> None:
    """A group switch that a crash interrupted (its journal is still there): every
    release of the group had passed, so the switch is finished, not undone: the staged
    releases still hidden are renamed into place and every `latest` of the group
    pointed at its new version. Called with the publish lock held."""
    journal = settings.home / SWITCH_JOURNAL
    try:
        doc = _read_json(journal)
    except ValueError:   # never half-written (renamed into place): not ours, set aside
        os.replace(journal, journal.with_name(journal.name + ".invalid"))
        return
    if doc is None:
        return
    for entry in doc.get("switches") or []:
        folder = dataset_dir(settings.site_dir, entry["slug"])
        target = folder / entry["version"]
        if entry.get("staging"):
            staging = folder / entry["staging"]
            if staging.is_dir() and not target.exists():
                os.replace(staging, target)
                fsync_file(folder)
        if target.is_dir():
            _point_latest(folder, entry["version"])
    journal.unlink()


def _publish(settings: Settings, mart: MartSpec, staging: Path, now: dt.datetime
             ) -> _Staged:
    """Write the mart's release into `staging` and check it; nothing is visible yet.
    Returns what switching it will do (`_switch`), or a failed or empty outcome."""
    site, slug = settings.site_dir, mart.slug
    folder = staging.parent
    public = [c["name"] for c in mart.columns if c["classification"] == "public"]
    parquet_path = staging / f"{slug}.parquet"
    csv_path = staging / f"{slug}.csv"
    json_path = staging / f"{slug}.json"
    xlsx_path = staging / f"{slug}.xlsx"

    history = releases(site, slug)
    previous = history[0] if history else None

    # 1. The public columns leave the warehouse once, as Parquet; the warehouse is
    #    released before the other formats are written from that file. The regencies
    #    expected (registry) and those that sent again since the previous release too.
    expected: dict[str, str] = {}
    resent: set[str] = set()
    with connect(settings.warehouse, read_only=True) as wh:
        wh.execute("set autoinstall_known_extensions = false")
        relation_types = _column_types(wh, mart.relation)
        documented = [c["name"] for c in mart.columns]
        undocumented = [c for c in relation_types if c not in documented]
        if undocumented:
            raise PublishError(
                f"dataset '{slug}': columns {undocumented} of {mart.model} are not "
                "documented in its YAML; document and classify them before publishing"
            )
        missing = [c for c in documented if c not in relation_types]
        if missing:
            raise PublishError(
                f"dataset '{slug}': columns {missing} are documented in the YAML of "
                f"{mart.model} but the model has no such columns; fix the YAML"
            )
        if not public:
            raise PublishError(f"dataset '{slug}': no column of {mart.model} is classified "
                               "public; there is nothing to publish")
        select = ", ".join(quote_ident(c) for c in public)
        wh.execute(f"copy (select {select} from {mart.relation} order by all) to "
                   f"{quote_literal(str(parquet_path))} (format parquet, compression zstd)")
        temporal = None
        tcol = mart.meta.get("temporal_column")
        if tcol:
            lo, hi = wh.execute(f"select min({quote_ident(tcol)}), max({quote_ident(tcol)}) "
                                f"from {mart.relation}").fetchone()
            temporal = f"{lo}/{hi}" if lo is not None else None
        if mart.coverage:
            names = regency_names(wh, settings)
            expected = _expected_for(settings, mart, names)
            if previous:
                resent = resubmitted_regencies(wh, mart.coverage.datasets,
                                               previous["published_at"], names)

    with _scratch() as con:
        parquet_sql = f"read_parquet({quote_literal(str(parquet_path))})"
        types = _parquet_types(con, parquet_path)
        rows = con.execute(f"select count(*) from {parquet_sql}").fetchone()[0]
        if rows == 0:
            # No regency has sent this dataset yet: nothing to release (an empty file
            # would look like data); the catalogue lists it as not published yet.
            history = releases(site, slug)
            return _Staged(mart, PublishOutcome(
                slug, "empty", history[0]["version"] if history else None, "no rows yet"))

        # 2. Personal data: nothing more is written when the data itself has some.
        findings = pii.scan_parquet(con, parquet_path)
        if findings:
            raise _pii_error(slug, mart, findings)
        coverage = (compute_coverage(con, parquet_path, mart.coverage, expected)
                    if mart.coverage else None)
        note = coverage_text(coverage, "en")

        # 3. CSV (its bytes are the content fingerprint): unchanged -> no new version.
        con.execute(f"copy (select {_csv_select(types)} from {parquet_sql}) to "
                    f"{quote_literal(str(csv_path))} (format csv, header true)")
        findings = pii.scan_csv(con, csv_path, types)
        if findings:
            raise _pii_error(slug, mart, findings)
        content_sha = sha256_file(csv_path)
        if (previous and previous["content_sha256"] == content_sha
                and all(f in previous["files"] for f in FORMATS)):
            # Switching it points `latest` at it again (repairs a crash before the
            # switch) and records a re-assessed coverage.
            return _Staged(mart, PublishOutcome(slug, "unchanged", previous["version"], note),
                           previous=previous, coverage=coverage, now=now)

        # A regency-period of the previous release may leave only with a newer submission.
        if mart.coverage and previous:
            old_parquet = site / previous["files"]["parquet"]["path"]
            drops = [(code, period) for code, period in
                     dropped_pairs(con, parquet_path, old_parquet, mart.coverage)
                     if code not in resent]
            if drops:
                return _Staged(mart, PublishOutcome(
                    slug, "failed", None, _drop_message(slug, drops, previous["version"]),
                    held_by=(slug,)))

        version = _next_version(history, folder, now.date())
        key = [k for k in (mart.meta.get("key") or []) if k in types]
        if len(key) != len(mart.meta.get("key") or []):
            key = []                     # part of the key is restricted: no primaryKey

        # 4. JSON (records) and XLSX, each scanned too.
        con.execute(f"copy (select * from {parquet_sql}) to {quote_literal(str(json_path))} "
                    "(format json, array true)")
        findings = pii.scan_json(con, json_path, types)
        findings += _write_xlsx(parquet_path, xlsx_path, types,
                                _xlsx_metadata(mart, types, version, temporal))
        if findings:
            raise _pii_error(slug, mart, findings)
        changelog = _changelog(con, parquet_path, previous, site, key)

    # 5. Descriptors, checksums, then the release appears whole and latest switches.
    paths = {"csv": csv_path, "xlsx": xlsx_path, "json": json_path, "parquet": parquet_path}
    digests = {p.name: content_sha if p == csv_path else sha256_file(p) for p in paths.values()}
    files = {fmt: _file_entry(slug, version, fmt, paths[fmt], digests[paths[fmt].name])
             for fmt in FORMATS}
    write_json_atomic(staging / "datapackage.json",
                       _datapackage(mart, types, files, version, now, temporal, key))
    release = {
        "slug": slug,
        "version": version,
        "sequence": (previous["sequence"] + 1) if previous else 1,
        "published_at": now.isoformat(),
        "rows": rows,
        "content_sha256": content_sha,
        "temporal": temporal,
        "changelog": changelog,
        "files": files,
        **({"coverage": coverage} if coverage is not None else {}),
        "checks": {"personal_data": "none found (NIK, mobile numbers, e-mail addresses)",
                   "formula_cells": "neutralised in csv and xlsx"},
    }
    write_json_atomic(staging / "release.json", release)
    sums = [f"{digests.get(p.name) or sha256_file(p)}  {p.name}"
            for p in sorted(staging.iterdir())]
    (staging / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    for p in staging.iterdir():
        fsync_file(p)
    fsync_file(staging)
    return _Staged(mart, PublishOutcome(slug, "published", version,
                                        "; ".join(m for m in (changelog["en"], note) if m)),
                   staging=staging)


# --- catalogue-wide files --------------------------------------------------------------


def write_catalog(settings: Settings, marts: list[MartSpec], *, now: dt.datetime | None = None
                  ) -> dict:
    """Rebuild the catalogue-wide files from the releases on disk, each replaced in one
    step: the bulk zip of all latest releases, `data.json` (DCAT-US 1.1) and last
    `catalog.json` (the app's index). Returns the catalog."""
    with timing.timed("publish.catalog"):
        return _write_catalog(settings, marts, now=now)


def _write_catalog(settings: Settings, marts: list[MartSpec], *, now: dt.datetime | None
                   ) -> dict:
    now = now or _now()
    site = settings.site_dir
    site.mkdir(parents=True, exist_ok=True)
    with _publish_lock(settings):
        _remove_leftovers(site)
        bulk = write_bulk_zip(settings, marts)
        write_data_json(settings, marts)
        catalog = _catalog(site, marts, now, bulk)
        write_json_atomic(site / CATALOG_JSON, catalog)
    return catalog


def _catalog(site: Path, marts: list[MartSpec], now: dt.datetime, bulk: dict | None) -> dict:
    datasets = []
    for mart in marts:
        meta = mart.meta
        history = releases(site, mart.slug)
        latest = history[0] if history else None
        datasets.append(
            {
                "slug": mart.slug,
                "model": mart.model,
                **({"source_datasets": list(mart.coverage.datasets)} if mart.coverage else {}),
                "title": meta["title"],
                "description": meta["description"],
                "theme": meta["theme"],
                "keywords": meta["keywords"],
                "unit": meta["unit"],
                "frequency": meta["frequency"],
                "produsen_data": meta["produsen_data"],
                "walidata": meta["walidata"],
                "license": meta["license"],
                "source": meta["source"],
                "synthetic": bool(meta["synthetic"]),
                "spatial": meta["spatial"],
                "temporal": latest["temporal"] if latest else None,
                "latest_version": latest["version"] if latest else None,
                "updated": latest["published_at"] if latest else None,
                "row_count": latest["rows"] if latest else 0,
                # partial flag, expected regencies, missing ones per period (with names)
                "coverage": catalog_coverage(current_coverage(site, latest)),
                "columns": [
                    {k: c[k] for k in ("name", "description", "unit")}
                    | {"type": _column_type_from_release(site, latest, c["name"])}
                    for c in mart.columns if c["classification"] == "public"
                ],
                "versions": [
                    {
                        "version": r["version"],
                        "published_at": r["published_at"],
                        "rows": r["rows"],
                        "changelog": {"id": r["changelog"]["id"], "en": r["changelog"]["en"]},
                        "files": list(r["files"].values()),
                        **({"partial": bool(r["coverage"].get("partial"))}
                           if r.get("coverage") else {}),
                    }
                    for r in history
                ],
            }
        )
    downloads = {"data_json": DATA_JSON}
    if bulk:
        downloads["bulk_zip"] = bulk
    return {"generated_at": now.isoformat(), "datasets": datasets, "downloads": downloads}


def _column_type_from_release(site: Path, release: dict | None, column: str) -> str | None:
    if not release:
        return None
    pkg = _read_json(site / "datasets" / release["slug"] / release["version"] /
                     "datapackage.json") or {}
    for field in pkg.get("resources", [{}])[0].get("schema", {}).get("fields", []):
        if field["name"] == column:
            return field["type"]
    return None


def _latest_releases(site: Path, marts: list[MartSpec]) -> list[tuple[MartSpec, list[dict]]]:
    """(mart, its releases newest first) for every mart that has been published."""
    out = []
    for mart in marts:
        history = releases(site, mart.slug)
        if history:
            out.append((mart, history))
    return out


def write_bulk_zip(settings: Settings, marts: list[MartSpec]) -> dict | None:
    """`site/downloads/satudata-banten-latest.zip`: every file of every latest release
    under `<slug>/`. Written aside and renamed; rebuilt only when a latest version
    changed (the set of versions is kept in the zip's comment)."""
    site = settings.site_dir
    published = _latest_releases(site, marts)
    target = site / BULK_ZIP
    if not published:
        return None
    versions = {mart.slug: history[0]["version"] for mart, history in published}
    stamp = json.dumps(versions, sort_keys=True).encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target.parent)
    current = None
    if target.exists():
        try:
            with zipfile.ZipFile(target) as zf:
                current = zf.comment
        except zipfile.BadZipFile:
            current = None
    if current != stamp:
        with (atomic_target(target, sync=True) as tmp,
              zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf):
            zf.comment = stamp
            for mart, history in published:
                latest = history[0]
                folder = dataset_dir(site, mart.slug) / latest["version"]
                stamp_time = dt.datetime.fromisoformat(latest["published_at"])
                for p in sorted(folder.iterdir()):
                    info = zipfile.ZipInfo(f"{mart.slug}/{p.name}",
                                           date_time=stamp_time.timetuple()[:6])
                    info.external_attr = 0o644 << 16
                    info.compress_type = (zipfile.ZIP_STORED
                                          if p.suffix in (".parquet", ".xlsx")
                                          else zipfile.ZIP_DEFLATED)
                    with open(p, "rb") as src, zf.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
    return {"path": BULK_ZIP, "bytes": target.stat().st_size, "datasets": versions}


def build_data_json(site: Path, marts: list[MartSpec], base: str | None = None) -> dict:
    """The catalogue as DCAT-US 1.1 (Project Open Data `data.json`, non-federal), with
    stable `latest` download URLs, for CKAN's data.json harvester and the national
    portal. Satu Data Indonesia metadata rides along in a `satudata` object per dataset
    (the schema allows extra properties); the standard fields carry what they can."""
    base = base or base_url()
    datasets = []
    for mart, history in _latest_releases(site, marts):
        latest, first = history[0], history[-1]
        datasets.append(_dcat_dataset(mart, latest, first, base,
                                      current_coverage(site, latest)))
    return {
        "@context": f"{DCAT_US_SCHEMA}/catalog.jsonld",
        "@id": site_url(DATA_JSON, base),
        "@type": "dcat:Catalog",
        "conformsTo": DCAT_US_SCHEMA,
        "describedBy": f"{DCAT_US_SCHEMA}/catalog.json",
        "dataset": datasets,
    }


def _dcat_dataset(mart: MartSpec, latest: dict, first: dict, base: str,
                  coverage: dict | None = None) -> dict:
    """One DCAT-US dataset. DCAT-US has no field for regional coverage: a partial
    dataset says what it lacks at the end of its description (Indonesian, then English),
    sets `dataQuality` false, and carries the details in `satudata.coverage`."""
    slug, meta = mart.slug, mart.meta
    datapackage_url = stable_url(slug, "datapackage.json", base)
    contact = {"@type": "vcard:Contact", "fn": meta["walidata"]}
    email = meta.get("contact_email") or os.environ.get("SATUDATA_CONTACT_EMAIL")
    if email:
        contact["hasEmail"] = f"mailto:{email}"
    distributions = [
        {
            "@type": "dcat:Distribution",
            "title": f"{meta['title']['id']} ({FORMAT_NAMES[fmt]})",
            "description": FORMAT_DESCRIPTIONS[fmt],
            "downloadURL": stable_url(slug, f"{slug}.{fmt}", base),
            "mediaType": MEDIA_TYPES[fmt],
            "format": FORMAT_NAMES[fmt],
            "describedBy": datapackage_url,
            "describedByType": "application/json",
        }
        for fmt in FORMATS if fmt in latest["files"]
    ]
    distributions.append({
        "@type": "dcat:Distribution",
        "title": "datapackage.json",
        "description": "Frictionless Data Package: Table Schema, metadata, checksums",
        "downloadURL": datapackage_url,
        "mediaType": "application/json",
        "format": "Frictionless Data Package",
        "conformsTo": DATAPACKAGE_SPEC,
    })
    frequency = meta["frequency"]
    dataset = {
        "@type": "dcat:Dataset",
        "identifier": f"satudata-banten:{slug}",
        "title": meta["title"]["id"],
        "description": meta["description"]["id"],
        "keyword": list(meta["keywords"]),
        "issued": first["published_at"],
        "modified": latest["published_at"],
        "publisher": {"@type": "org:Organization", "name": meta["walidata"],
                      "subOrganizationOf": {"@type": "org:Organization",
                                            "name": PUBLISHER_PARENT}},
        "contactPoint": contact,
        "accessLevel": "public",
        "license": LICENSE_URLS.get(meta["license"]),
        "spatial": meta["spatial"],
        "accrualPeriodicity": frequency if ISO_PERIODICITY.match(frequency) else "irregular",
        "theme": [meta["theme"]],
        "language": ["id"],
        "landingPage": f"{base}/?dataset={slug}",
        "describedBy": datapackage_url,
        "describedByType": "application/json",
        "conformsTo": DATAPACKAGE_SPEC,
        "distribution": distributions,
        "satudata": satudata_metadata(mart, latest["temporal"])
        | {"version": latest["version"], "rows": latest["rows"]}
        | ({"coverage": catalog_coverage(coverage)} if coverage else {}),
    }
    if coverage and coverage.get("partial"):
        dataset["description"] = " ".join([dataset["description"].rstrip(),
                                           coverage_text(coverage, "id"),
                                           coverage_text(coverage, "en")])
        dataset["dataQuality"] = False       # incomplete: not every regency is in it
    temporal = _temporal_interval(latest["temporal"])
    if temporal:
        dataset["temporal"] = temporal
    return dataset


def write_data_json(settings: Settings, marts: list[MartSpec]) -> dict:
    """Write `site/data.json` (replaced in one step); returns it."""
    doc = build_data_json(settings.site_dir, marts)
    write_json_atomic(settings.site_dir / DATA_JSON, doc)
    return doc
