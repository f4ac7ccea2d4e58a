"""The quality suites as a run uses them: one Great Expectations validator for the run's
ingest (`_Validation`, `shared_validation`), and what suites are given: the datasets'
canonical values (`with_canonical_values`) and a feed's region codes (`_region_codes`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows import timing
from flows.quality import canonical_values
from flows.registry import DatasetSpec, Feed
from flows.settings import Settings


def _region_codes(con, feed: Feed) -> dict[str, list[str]]:
    """The kecamatan and desa/kelurahan codes of the feed's regency, or of every regency
    of its province for a province-wide feed (reference data)."""
    scope = ("starts_with(kode_kabupaten_kota, ?)" if feed.is_province_wide
             else "kode_kabupaten_kota = ?")
    value = feed.province + "." if feed.is_province_wide else feed.regency
    return {
        "kecamatan": [r[0] for r in con.execute(
            f"select kode_wilayah from reference.wilayah_kecamatan where {scope}",
            [value]).fetchall()],
        "desa_kelurahan": [r[0] for r in con.execute(
            f"select kode_wilayah from reference.wilayah_desa_kelurahan where {scope}",
            [value]).fetchall()],
    }


def with_canonical_values(spec: DatasetSpec) -> DatasetSpec:
    """`spec` with each column's canonical values: the registry's `values:`, else the
    values its quality suite accepts (one list, in the suite, for both)."""
    suite = canonical_values(spec.name)
    columns = tuple(c if c.values or c.name not in suite
                    else dataclasses.replace(c, values=suite[c.name]) for c in spec.columns)
    return dataclasses.replace(spec, columns=columns)


class _Validation:
    """Great Expectations for the files of a run: one `quality.Validator` (a GX context
    and datasource cost ~0.3 s to set up), made on the first batch and closed when the
    run's ingest ends (`shared_validation`), or, outside that, at the end of each feed.

    Its connections join the warehouse's DuckDB instance (flows/warehouse.py `connect`),
    so it validates the batch the ingest connection keeps in memory, and the instance
    (with its file lock) stays open between feeds: no re-open, no checkpoint per file."""

    current: _Validation | None = None   # the run's, while its ingest phase runs

    def __init__(self, database: Path):
        self.database = database
        self._validator = None
        self._warming = False

    def warm_up(self) -> None:
        """Import Great Expectations in a background thread, once: the import is ~3.5 s of
        Python, and meanwhile DuckDB (which lets go of the GIL) loads the first files, so
        the two overlap instead of following each other. Called when a feed has new files
        (a run with nothing new never imports GX)."""
        if self._validator is None and not self._warming:
            from flows.quality import warm_up

            self._warming = True
            threading.Thread(target=warm_up, name="gx-import", daemon=True).start()

    def _ready(self):
        from flows.quality import Validator

        if self._validator is None:
            with timing.timed("validate"):   # GX's import and context: ~3-5 s, once
                self._validator = Validator(self.database)
        return self._validator

    def validate(self, table: str, dataset: str, params: dict, shared=None):
        return self._ready().validate(table, dataset, params=params, shared=shared)

    def validate_together(self, table: str, dataset: str, params: dict, *, batches: int,
                          rows: int):
        return self._ready().validate_together(table, dataset, params=params,
                                               batches=batches, rows=rows)

    def close(self) -> None:
        if self._validator is not None:
            self._validator.close()
            self._validator = None


@contextmanager
def shared_validation(settings: Settings) -> Iterator[None]:
    """One validator for every feed ingested inside this block; closed on exit (before
    dbt, which needs the file)."""
    _Validation.current = _Validation(settings.warehouse)
    try:
        yield
    finally:
        validation, _Validation.current = _Validation.current, None
        validation.close()
