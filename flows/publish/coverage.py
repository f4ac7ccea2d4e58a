"""Coverage: which expected regencies each period of a published mart covers.

A mart whose YAML declares `open_data.coverage` (`region`, optional `period`, optional
`by` columns, and the registry `datasets` it is built from) is checked against the
regencies expected to send those datasets: every regency with a feed of one of them in
the registry, a province-wide feed (a `regency` without a dot, e.g. "36") standing for
every regency of that province. A period (or, without a period column, the whole
dataset) that lacks an expected regency is *partial*. Coverage is recorded in
`release.json` (`coverage`), shown in `catalog.json` and `data.json` (regency names per
period) and on the catalogue's dataset page; a publication whose content did not change
still re-assesses it (`datasets/<slug>/coverage.json` when the assessment differs from
the one in the latest release). A partial dataset is still published, and says so.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb

from flows.common.files import write_json_atomic
from flows.common.marts import CoverageSpec, MartSpec, PublishError
from flows.common.sql import quote_ident
from flows.publish.site import COVERAGE_JSON, _read_json, dataset_dir
from flows.settings import Settings

WHOLE_DATASET = "all"               # coverage key of a mart without a period column
REGENCY_REFERENCE = "wilayah_kabupaten_kota"


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
