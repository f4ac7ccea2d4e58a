"""The publisher's side of the site layout (flows/common/site_layout.py): absolute URLs
for data.json and the run reports, and the site's small JSON files (`release.json`,
`coverage.json`, the switch journal) read back, None when the file is not there.

The paths and names themselves are defined once in flows/common/site_layout.py and
re-exported here for the publisher's modules.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flows.common import site_layout
from flows.common.site_layout import (
    BULK_ZIP,
    CATALOG_JSON,
    COVERAGE_JSON,
    DATA_JSON,
    DEFAULT_BASE_URL,
    STATIC_PREFIX,
    dataset_dir,
)

__all__ = ["BULK_ZIP", "CATALOG_JSON", "COVERAGE_JSON", "DATA_JSON", "DEFAULT_BASE_URL",
           "STATIC_PREFIX", "base_url", "dataset_dir", "site_url", "stable_url"]


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def base_url() -> str:
    """Public root of the catalogue: `$SATUDATA_BASE_URL`, default http://localhost:8501."""
    return (os.environ.get("SATUDATA_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")


def site_url(relative: str, base: str | None = None) -> str:
    """The absolute URL at which the catalogue serves `site/<relative>`."""
    return site_layout.static_url(relative, base or base_url())


def stable_url(slug: str, name: str, base: str | None = None) -> str:
    """Absolute stable download URL of a file of the latest release, e.g. `<slug>.xlsx`."""
    return site_layout.stable_url(slug, name, base or base_url())
