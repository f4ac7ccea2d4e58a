"""catalog.json, the catalogue's index: loaded and normalised, a dataset found by slug,
and which of its versions is the latest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class CatalogError(Exception):
    """catalog.json exists but cannot be used."""


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
