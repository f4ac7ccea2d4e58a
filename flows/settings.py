"""Where the project and its state live.

All generated state sits under `$SATUDATA_HOME` (default `./var`): the warehouse, raw
snapshots, quarantine, dbt's target folder, `site/` (everything published, served to
anyone) and `internal/` (what only officials and operators may read, never served).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    home: Path
    feeds_file: Path

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("SATUDATA_HOME", "var")).resolve()
        feeds = Path(os.environ.get("SATUDATA_FEEDS", PROJECT_ROOT / "data" / "feeds.yml"))
        return cls(home=home, feeds_file=feeds.resolve())

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def raw_dir(self) -> Path:
        """Immutable snapshots of every received file, addressed by sha256."""
        return self.home / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def site_dir(self) -> Path:
        """Everything published, served to anyone at /app/static/."""
        return self.home / "site"

    @property
    def internal_dir(self) -> Path:
        """What the pipeline writes for officials and operators only (submissions, runs,
        feed status, per-submission quality results): beside `site/`, never inside it,
        so the static route cannot serve it. The officials' view reads it after login."""
        return self.home / "internal"

    @property
    def internal_meta_dir(self) -> Path:
        """`internal/meta/`: feeds.json, submissions.json, runs.json, quality.json."""
        return self.internal_dir / "meta"

    @property
    def dbt_target_dir(self) -> Path:
        return self.home / "dbt" / "target"

    @property
    def reference_dir(self) -> Path:
        return PROJECT_ROOT / "data" / "reference"

    def ensure_dirs(self) -> None:
        for d in (self.home, self.raw_dir, self.quarantine_dir, self.site_dir):
            d.mkdir(parents=True, exist_ok=True)
