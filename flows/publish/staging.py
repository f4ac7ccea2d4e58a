"""Publishing one mart: its release is written into a hidden staging folder and checked
(`_publish`), then switched into place (`_switch`), or nothing happens when its content
did not change.

Only columns classified `public` leave the warehouse. Before anything is released, every
file is scanned for personal data (NIK, mobile numbers, e-mail addresses; see
`flows/common/pii.py`); a hit fails that dataset's publication and leaves its previous
release published. A new version appears only when the content changed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows import timing
from flows.common import pii
from flows.common.files import fsync_file, sha256_file, write_json_atomic
from flows.common.marts import MartSpec, PublishError
from flows.common.sql import quote_ident, quote_literal
from flows.publish.changelog import _changelog
from flows.publish.column_types import _column_types, _parquet_types
from flows.publish.coverage import (
    _expected_for,
    _record_coverage,
    compute_coverage,
    coverage_text,
    regency_names,
    resubmitted_regencies,
)
from flows.publish.datapackage import _datapackage, _file_entry
from flows.publish.drop_guard import _drop_message, dropped_pairs
from flows.publish.formats import FORMATS, _csv_select, _write_xlsx, _xlsx_metadata
from flows.publish.release import (
    _next_version,
    _now,
    _point_latest,
    _publish_lock,
    _remove_leftovers,
    releases,
)
from flows.publish.site import COVERAGE_JSON, dataset_dir
from flows.settings import Settings
from flows.warehouse import connect


@dataclass(frozen=True)
class PublishOutcome:
    slug: str
    status: str          # "published" | "unchanged" | "failed" | "empty"
    version: str | None
    message: str = ""
    # The marts of its release group that kept this one from being published (its own
    # slug when it failed by itself); empty when nothing held it.
    held_by: tuple[str, ...] = ()


def _scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for working on staged files; never downloads an extension."""
    return duckdb.connect(config={"autoinstall_known_extensions": False})


def _pii_error(slug: str, mart: MartSpec, findings: list[pii.Finding]) -> PublishError:
    columns = sorted({f.column for f in findings})
    return PublishError(
        f"dataset '{slug}': personal data found, not published: "
        + "; ".join(f.describe() for f in findings)
        + f". The previous release stays published (latest unchanged). Fix: classify "
        f"column(s) {columns} of model '{mart.model}' as restricted in its YAML "
        "(config.meta.classification: restricted) so they never leave the warehouse, or "
        "remove the personal data from the mart; then run the pipeline again."
    )


@dataclass
class _Staged:
    """One mart's publication, checked and written but not visible yet. `_switch` makes
    it so: a new release (`staging`) is renamed into place and `latest` switched to it;
    an unchanged one has `latest` pointed at it again and its re-assessed coverage
    recorded. A failed or empty outcome has nothing to switch."""

    mart: MartSpec
    outcome: PublishOutcome
    staging: Path | None = None       # the complete release, in its hidden folder
    previous: dict | None = None      # unchanged: the release `latest` stays at
    coverage: dict | None = None      # unchanged: its coverage as assessed now
    now: dt.datetime | None = None

    @property
    def failed(self) -> bool:
        return self.outcome.status == "failed"


def publish_mart(settings: Settings, mart: MartSpec, *, now: dt.datetime | None = None
                 ) -> PublishOutcome:
    """Publish one mart as a new release, or nothing if its content did not change.

    A mart that declares `open_data.coverage` has its coverage assessed either way
    (release.json `coverage`, or `coverage.json` for an unchanged release); its outcome's
    message names the periods that lack a regency. Its new content must keep every
    (regency, period) pair of the previous release unless that regency sent again
    (`dropped_pairs`): otherwise the outcome is "failed", naming the dataset, regencies
    and periods, and the previous release stays `latest`.

    Raises PublishError (naming the dataset and what to fix) when the mart cannot be
    published: undocumented columns, personal data in a public column, or any failure
    while writing; the previous release then stays `latest`. (`publish_groups` publishes
    the marts that share source data together.)"""
    with timing.timed("publish.marts"), _publish_lock(settings):
        staged = _stage(settings, mart, now or _now())
        try:
            if not staged.failed:
                _switch(settings, staged)
        except Exception as e:
            raise PublishError(
                f"dataset '{mart.slug}': switching to the new release failed "
                f"({type(e).__name__}: {e}); the previous release stays latest") from e
        finally:
            _discard(staged)
        return staged.outcome


def _stage(settings: Settings, mart: MartSpec, now: dt.datetime) -> _Staged:
    """`_publish` in a fresh hidden staging folder beside the mart's releases (the
    caller holds the publish lock). Raises PublishError; the staging folder is removed
    unless a new release waits in it."""
    slug = mart.slug
    folder = dataset_dir(settings.site_dir, slug)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)
    staging = folder / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    staged = None
    try:
        staged = _publish(settings, mart, staging, now)
        return staged
    except PublishError:
        raise
    except Exception as e:
        raise PublishError(
            f"dataset '{slug}': publishing failed ({type(e).__name__}: {e}); nothing "
            "was published, the previous release stays latest"
        ) from e
    finally:
        if (staged is None or staged.staging is None) and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _discard(staged: _Staged) -> None:
    """Remove a staged release that was not switched (its group was held back)."""
    if staged.staging is not None and staged.staging.exists():
        shutil.rmtree(staged.staging, ignore_errors=True)


def _switch(settings: Settings, staged: _Staged) -> None:
    """Make one staged publication visible: the release appears whole (one rename),
    then `latest` switches to it (one rename)."""
    folder = dataset_dir(settings.site_dir, staged.mart.slug)
    if staged.staging is not None:
        version = staged.outcome.version
        os.replace(staged.staging, folder / version)    # the release appears whole
        fsync_file(folder)
        _point_latest(folder, version)                  # latest switches in one step
        (folder / COVERAGE_JSON).unlink(missing_ok=True)   # an older release's re-assessment
    elif staged.outcome.status == "unchanged" and staged.previous is not None:
        _point_latest(folder, staged.previous["version"])
        _record_coverage(folder, staged.previous, staged.coverage, staged.now or _now())


def _publish(settings: Settings, mart: MartSpec, staging: Path, now: dt.datetime
             ) -> _Staged:
    """Write the mart's release into `staging` and check it; nothing is visible yet.
    Returns what switching it will do (`_switch`), or a failed or empty outcome."""
    site, slug = settings.site_dir, mart.slug
    folder = staging.parent
    public = [c["name"] for c in mart.columns if c["classification"] == "public"]
    parquet_path = staging / f"{slug}.parquet"
    csv_path = staging / f"{slug}.csv"
    json_path = staging / f"{slug}.json"
    xlsx_path = staging / f"{slug}.xlsx"

    history = releases(site, slug)
    previous = history[0] if history else None

    # 1. The public columns leave the warehouse once, as Parquet; the warehouse is
    #    released before the other formats are written from that file. The regencies
    #    expected (registry) and those that sent again since the previous release too.
    expected: dict[str, str] = {}
    resent: set[str] = set()
    with connect(settings.warehouse, read_only=True) as wh:
        wh.execute("set autoinstall_known_extensions = false")
        relation_types = _column_types(wh, mart.relation)
        documented = [c["name"] for c in mart.columns]
        undocumented = [c for c in relation_types if c not in documented]
        if undocumented:
            raise PublishError(
                f"dataset '{slug}': columns {undocumented} of {mart.model} are not "
                "documented in its YAML; document and classify them before publishing"
            )
        missing = [c for c in documented if c not in relation_types]
        if missing:
            raise PublishError(
                f"dataset '{slug}': columns {missing} are documented in the YAML of "
                f"{mart.model} but the model has no such columns; fix the YAML"
            )
        if not public:
            raise PublishError(f"dataset '{slug}': no column of {mart.model} is classified "
                               "public; there is nothing to publish")
        select = ", ".join(quote_ident(c) for c in public)
        wh.execute(f"copy (select {select} from {mart.relation} order by all) to "
                   f"{quote_literal(str(parquet_path))} (format parquet, compression zstd)")
        temporal = None
        tcol = mart.meta.get("temporal_column")
        if tcol:
            lo, hi = wh.execute(f"select min({quote_ident(tcol)}), max({quote_ident(tcol)}) "
                                f"from {mart.relation}").fetchone()
            temporal = f"{lo}/{hi}" if lo is not None else None
        if mart.coverage:
            names = regency_names(wh, settings)
            expected = _expected_for(settings, mart, names)
            if previous:
                resent = resubmitted_regencies(wh, mart.coverage.datasets,
                                               previous["published_at"], names)

    with _scratch() as con:
        parquet_sql = f"read_parquet({quote_literal(str(parquet_path))})"
        types = _parquet_types(con, parquet_path)
        rows = con.execute(f"select count(*) from {parquet_sql}").fetchone()[0]
        if rows == 0:
            # No regency has sent this dataset yet: nothing to release (an empty file
            # would look like data); the catalogue lists it as not published yet.
            history = releases(site, slug)
            return _Staged(mart, PublishOutcome(
                slug, "empty", history[0]["version"] if history else None, "no rows yet"))

        # 2. Personal data: nothing more is written when the data itself has some.
        findings = pii.scan_parquet(con, parquet_path)
        if findings:
            raise _pii_error(slug, mart, findings)
        coverage = (compute_coverage(con, parquet_path, mart.coverage, expected)
                    if mart.coverage else None)
        note = coverage_text(coverage, "en")

        # 3. CSV (its bytes are the content fingerprint): unchanged -> no new version.
        con.execute(f"copy (select {_csv_select(types)} from {parquet_sql}) to "
                    f"{quote_literal(str(csv_path))} (format csv, header true)")
        findings = pii.scan_csv(con, csv_path, types)
        if findings:
            raise _pii_error(slug, mart, findings)
        content_sha = sha256_file(csv_path)
        if (previous and previous["content_sha256"] == content_sha
                and all(f in previous["files"] for f in FORMATS)):
            # Switching it points `latest` at it again (repairs a crash before the
            # switch) and records a re-assessed coverage.
            return _Staged(mart, PublishOutcome(slug, "unchanged", previous["version"], note),
                           previous=previous, coverage=coverage, now=now)

        # A regency-period of the previous release may leave only with a newer submission.
        if mart.coverage and previous:
            old_parquet = site / previous["files"]["parquet"]["path"]
            drops = [(code, period) for code, period in
                     dropped_pairs(con, parquet_path, old_parquet, mart.coverage)
                     if code not in resent]
            if drops:
                return _Staged(mart, PublishOutcome(
                    slug, "failed", None, _drop_message(slug, drops, previous["version"]),
                    held_by=(slug,)))

        version = _next_version(history, folder, now.date())
        key = [k for k in (mart.meta.get("key") or []) if k in types]
        if len(key) != len(mart.meta.get("key") or []):
            key = []                     # part of the key is restricted: no primaryKey

        # 4. JSON (records) and XLSX, each scanned too.
        con.execute(f"copy (select * from {parquet_sql}) to {quote_literal(str(json_path))} "
                    "(format json, array true)")
        findings = pii.scan_json(con, json_path, types)
        findings += _write_xlsx(parquet_path, xlsx_path, types,
                                _xlsx_metadata(mart, types, version, temporal))
        if findings:
            raise _pii_error(slug, mart, findings)
        changelog = _changelog(con, parquet_path, previous, site, key)

    # 5. Descriptors, checksums, then the release appears whole and latest switches.
    paths = {"csv": csv_path, "xlsx": xlsx_path, "json": json_path, "parquet": parquet_path}
    digests = {p.name: content_sha if p == csv_path else sha256_file(p) for p in paths.values()}
    files = {fmt: _file_entry(slug, version, fmt, paths[fmt], digests[paths[fmt].name])
             for fmt in FORMATS}
    write_json_atomic(staging / "datapackage.json",
                       _datapackage(mart, types, files, version, now, temporal, key))
    release = {
        "slug": slug,
        "version": version,
        "sequence": (previous["sequence"] + 1) if previous else 1,
        "published_at": now.isoformat(),
        "rows": rows,
        "content_sha256": content_sha,
        "temporal": temporal,
        "changelog": changelog,
        "files": files,
        **({"coverage": coverage} if coverage is not None else {}),
        "checks": {"personal_data": "none found (NIK, mobile numbers, e-mail addresses)",
                   "formula_cells": "neutralised in csv and xlsx"},
    }
    write_json_atomic(staging / "release.json", release)
    sums = [f"{digests.get(p.name) or sha256_file(p)}  {p.name}"
            for p in sorted(staging.iterdir())]
    (staging / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    for p in staging.iterdir():
        fsync_file(p)
    fsync_file(staging)
    return _Staged(mart, PublishOutcome(slug, "published", version,
                                        "; ".join(m for m in (changelog["en"], note) if m)),
                   staging=staging)
