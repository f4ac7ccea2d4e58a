"""Where the published site is, and reading its files safely: paths that stay inside
the site, file signatures (the cache keys), JSON, GeoJSON, SHA256SUMS and raw bytes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flows.common import site_layout


def site_dir() -> Path:
    """The site folder: ``$SATUDATA_SITE``, else ``$SATUDATA_HOME/site``, else ``./var/site``."""
    explicit = os.environ.get("SATUDATA_SITE", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("SATUDATA_HOME", "").strip()
    if home:
        return Path(home).expanduser() / "site"
    return Path.cwd() / "var" / "site"


def catalog_path(site: Path) -> Path:
    return site / site_layout.CATALOG_JSON


def quality_summary_path(site: Path) -> Path:
    return site / site_layout.QUALITY_SUMMARY


def geojson_path(site: Path) -> Path:
    """The regency boundaries the maps draw."""
    return site / site_layout.GEOJSON


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


def load_json(path: Path) -> Any:
    """A published JSON file, or ``None`` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


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


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()
