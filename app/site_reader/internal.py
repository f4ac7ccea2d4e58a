"""The internal tree (officials and operators only), which lies beside the site folder
and is never served over HTTP: where it is and its status files
(`internal/meta/<name>.json`, written by flows/status.py)."""

from __future__ import annotations

import os
from pathlib import Path

INTERNAL_FILES = ("feeds", "submissions", "quality", "runs")   # internal/meta/<name>.json


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


def internal_path(internal: Path, name: str) -> Path:
    """``internal/meta/<name>.json``, one of :data:`INTERNAL_FILES`."""
    if name not in INTERNAL_FILES:
        raise ValueError(f"not an internal status file: {name!r}")
    return internal / "meta" / f"{name}.json"
