"""Read-only access to the published site folder (no Streamlit in here).

The catalogue app only ever reads what the publisher wrote into the site folder::

    site/catalog.json
    site/datasets/<slug>/<version>/<slug>.csv | .parquet | datapackage.json | SHA256SUMS
    site/datasets/<slug>/latest -> <version>

It never opens the pipeline's DuckDB warehouse.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

CATALOG_NAME = "catalog.json"
STATIC_PREFIX = "/app/static/"
PREVIEW_ROWS = 100
FORMATS = ("csv", "parquet")
MIME_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class CatalogError(Exception):
    """catalog.json exists but cannot be used."""


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
    return site / CATALOG_NAME


def file_signature(path: Path) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of ``path``, or ``None`` when it does not exist.

    Used as a cache key: the publisher replaces catalog.json atomically, which changes
    its mtime (and usually its size), so a new release is picked up on the next rerun.
    """
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_mtime_ns, st.st_size


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
    return {"generated_at": raw.get("generated_at"), "datasets": clean}


def _normalise_dataset(item: dict[str, Any]) -> dict[str, Any]:
    ds = dict(item)
    for key in ("keywords", "produsen_data", "columns", "versions"):
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


def version_files(ds: dict[str, Any], entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{format: {"path", "bytes", "sha256"}}`` of one version.

    Paths come from catalog.json when listed there, else the contract layout
    ``datasets/<slug>/<version>/<slug>.<format>``.
    """
    slug, version = ds["slug"], entry["version"]
    listed = {
        str(f.get("format", "")).lower(): f
        for f in entry.get("files") or []
        if isinstance(f, dict) and f.get("path")
    }
    files = {}
    for fmt in FORMATS:
        f = listed.get(fmt, {})
        files[fmt] = {
            "path": f.get("path") or f"datasets/{slug}/{version}/{slug}.{fmt}",
            "bytes": f.get("bytes"),
            "sha256": f.get("sha256"),
        }
    return files


def resolve_in_site(site: Path, relative: str) -> Path | None:
    """``site / relative`` if it stays inside the site folder, else ``None``."""
    root = site.resolve()
    target = (root / relative).resolve()
    if target == root or root not in target.parents:
        return None
    return target


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


def stable_path(slug: str, fmt: str) -> str:
    """Site-relative path of the latest file: ``datasets/<slug>/latest/<slug>.<fmt>``."""
    return f"datasets/{slug}/latest/{slug}.{fmt}"


def stable_url(slug: str, fmt: str, base_url: str | None = None) -> str:
    """URL the static server exposes for the latest file (``/app/static/...``).

    With ``base_url`` (the app's URL in the browser) the result is absolute.
    """
    path = STATIC_PREFIX + stable_path(slug, fmt)
    if not base_url:
        return path
    return base_url.split("?", 1)[0].split("#", 1)[0].rstrip("/") + path


def read_preview(parquet: Path, limit: int = PREVIEW_ROWS) -> pd.DataFrame:
    """First ``limit`` rows of a Parquet file, read with an in-memory DuckDB."""
    con = duckdb.connect()
    try:
        return con.execute("SELECT * FROM read_parquet(?) LIMIT ?", [str(parquet), int(limit)]).df()
    finally:
        con.close()


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


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


def format_bytes(size: Any) -> str:
    if not isinstance(size, int) or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""
