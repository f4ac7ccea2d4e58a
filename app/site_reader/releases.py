"""The files of a published version (as catalog.json lists them, or as found on disk)
and the link to the Great Expectations Data Docs published beside the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.site_reader.files import resolve_in_site
from flows.common import site_layout
from flows.common.site_layout import DESCRIPTOR, FORMATS, file_name, version_path

MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "datapackage": "application/json",
}


def version_files(ds: dict[str, Any], entry: dict[str, Any],
                  site: Path | None = None) -> dict[str, dict[str, Any]]:
    """``{format: {"path", "name", "bytes", "sha256", "listed"}}`` of one version.

    The formats are those catalog.json lists for the version plus, when ``site`` is
    given, those found on disk; a release listing no files at all falls back to the
    contract layout ``datasets/<slug>/<version>/<slug>.<format>`` for CSV and Parquet.
    ``datapackage`` (the descriptor) is included when listed or present.
    """
    slug, version = ds["slug"], entry["version"]
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
            path = resolve_in_site(site, version_path(slug, version, file_name(slug, fmt)))
            if fmt not in wanted and path is not None and path.is_file():
                wanted.append(fmt)
    files: dict[str, dict[str, Any]] = {}
    for fmt in FORMATS:
        if fmt not in wanted:
            continue
        f = listed.get(fmt, {})
        path = f.get("path") or version_path(slug, version, file_name(slug, fmt))
        files[fmt] = {
            "path": path,
            "name": path.rsplit("/", 1)[-1],
            "bytes": f.get("bytes"),
            "sha256": f.get("sha256"),
            "listed": fmt in listed,
        }
    descriptor = version_path(slug, version, DESCRIPTOR)
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


def data_docs_url(site: Path, base_url: str | None = None) -> str | None:
    """URL of the Great Expectations Data Docs, or None when they are not published."""
    if not (site / site_layout.DATA_DOCS).is_file():
        return None
    return site_layout.static_url(site_layout.DATA_DOCS, base_url)
