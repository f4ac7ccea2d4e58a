"""The dataset specs: each dataset's canonical shape (`DatasetSpec`, its `ColumnSpec`s),
which the warehouse creates raw tables from and every later stage reads.

The feed registry (flows/registry/) builds them from `datasets:` in the registry YAML
and re-exports them; they live here, below the warehouse, so that the warehouse needs
nothing of the registry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    personal_data: bool = False   # NIK, names, phones, e-mail: never published
    values: tuple[str, ...] = ()  # the canonical values of a categorical text column
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset's canonical shape. `key` is its natural key (unique); `replace_by` names
    the slice a submission covers within its regency (SQL expressions over the canonical
    columns, e.g. `periode`, or `strftime(diterima_pada, '%Y-%m')`): an accepted file
    replaces the rows of the slices it contains. An empty `replace_by` means each file is
    the regency's complete list."""

    name: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    description: str = ""
    replace_by: tuple[str, ...] = ()
    frequency: str | None = None
    schedule: str | None = None          # cron (Asia/Jakarta) of its deployment; None: from
                                         # its frequency (flows/deploy.py `cron_of`)
    regency_column: str | None = None   # filled with the feed's regency when a file lacks it

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)
