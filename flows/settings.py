"""Where the project and its state live.

All generated state sits under `$SATUDATA_HOME` (default `./var`): the warehouse, raw
snapshots, quarantine, dbt's target folder, `site/` (everything published, served to
anyone) and `internal/` (what only officials and operators may read, never served).

The project files (the dbt project `dbt/`, the suites `expectations/`, the feed registry
`data/feeds.yml` with its landing files and `data/reference/`) are found by
`project_dir()`: `$SATUDATA_PROJECT`, else the checkout this package sits in, else the
copy an installed wheel carries (`flows/_project/`, written at build time by setup.py
from `PROJECT_FILES`). `satudata init DIR` writes the same files as a starter project.

setup.py loads this file by path at build time: keep its imports to the standard library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The folder holding the `flows` package: the checkout, or site-packages when installed.
# Code only (the deployments' source); project files come from `project_dir()`.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where a built wheel carries the project files (absent in a checkout).
BUNDLED_PROJECT = Path(__file__).resolve().parent / "_project"

# The project files, relative to the project folder: a file, or a folder taken whole
# (without dot-files, `__pycache__`, dbt's `target/`, `logs/` and `dbt_packages/`, which
# are not listed). What the wheel carries and what `satudata init` writes.
PROJECT_FILES = (
    "dbt/dbt_project.yml", "dbt/profiles.yml",
    "dbt/models", "dbt/seeds", "dbt/macros", "dbt/tests", "dbt/analyses", "dbt/snapshots",
    "expectations",
    "data/feeds.yml", "data/feeds.schema.json", "data/feeds_synthetic.yml",
    "data/landing", "data/reference",
)


def _is_project(folder: Path) -> bool:
    return (folder / "dbt" / "dbt_project.yml").is_file() and (folder / "expectations").is_dir()


def project_dir() -> Path:
    """The folder of the project files (`dbt/`, `expectations/`, `data/`):
    `$SATUDATA_PROJECT` if set; else the checkout when `flows/` sits in one (beside
    pyproject.toml); else the copy installed with the package."""
    given = os.environ.get("SATUDATA_PROJECT")
    if given:
        return Path(given).resolve()
    if (PROJECT_ROOT / "pyproject.toml").is_file() and _is_project(PROJECT_ROOT):
        return PROJECT_ROOT
    return BUNDLED_PROJECT


def project_files(root: Path) -> list[Path]:
    """The files of `PROJECT_FILES` under `root` that exist, relative to it, sorted."""
    found: set[Path] = set()
    for entry in PROJECT_FILES:
        path = root / entry
        if path.is_file():
            found.add(Path(entry))
        elif path.is_dir():
            for file in path.rglob("*"):
                rel = file.relative_to(root)
                if file.is_file() and not any(
                        part.startswith(".") or part == "__pycache__" for part in rel.parts):
                    found.add(rel)
    return sorted(found)


@dataclass(frozen=True)
class Settings:
    home: Path
    feeds_file: Path

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("SATUDATA_HOME", "var")).resolve()
        feeds = Path(os.environ.get("SATUDATA_FEEDS", project_dir() / "data" / "feeds.yml"))
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
        return project_dir() / "data" / "reference"

    def ensure_dirs(self) -> None:
        for d in (self.home, self.raw_dir, self.quarantine_dir, self.site_dir):
            d.mkdir(parents=True, exist_ok=True)
