"""`catalog.json`, the catalogue app's index, and the rewrite of every catalogue-wide
file (bulk zip, `data.json`, `catalog.json`) from the releases on disk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flows import timing
from flows.common.files import write_json_atomic
from flows.common.marts import MartSpec
from flows.publish.bulk import write_bulk_zip
from flows.publish.coverage import catalog_coverage, current_coverage
from flows.publish.dcat import write_data_json
from flows.publish.release import _now, _publish_lock, _remove_leftovers, releases
from flows.publish.site import CATALOG_JSON, DATA_JSON, _read_json
from flows.settings import Settings


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
