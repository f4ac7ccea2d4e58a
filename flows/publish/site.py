"""Where the publisher writes in `site/` and the URLs at which the catalogue serves it.

Also reads the site's small JSON files (`release.json`, `coverage.json`, the switch
journal): None when the file is not there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

BULK_ZIP = "downloads/satudata-banten-latest.zip"
DATA_JSON = "data.json"
CATALOG_JSON = "catalog.json"
# Coverage of the latest release re-assessed after it was published (content unchanged,
# registry changed): `datasets/<slug>/coverage.json`, {"version", "assessed_at", "coverage"}.
COVERAGE_JSON = "coverage.json"
DEFAULT_BASE_URL = "http://localhost:8501"
STATIC_PREFIX = "/app/static"        # where the catalogue serves site/ (flows/cli.py)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


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
