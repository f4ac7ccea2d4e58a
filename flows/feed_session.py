"""One file of a feed, from load to verdict: the feed's session (its warehouse
connection, the run's validator, its acceptor, its summary), and each received file
loaded, validated and then accepted (flows/acceptor.py) or quarantined with its reason;
a file the pipeline itself fails on is quarantined alone as an internal error.

The tasks that run a feed's files through it are flows/feed_tasks.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flows.acceptor import _Acceptor, _quarantine
from flows.backfill import Snapshot, batch_periods
from flows.common.periods import PeriodRange, period_sql
from flows.common.pii import redact
from flows.ingest import (
    Received,
    drop_batch,
    load_batch,
    staged_batch,
    unstage,
    value_mappings,
)
from flows.quality import EXPECTATIONS_DIR
from flows.readers import SubmissionError
from flows.registry import DatasetSpec, Feed
from flows.report import FeedSummary
from flows.retry import intake_fingerprint
from flows.settings import Settings
from flows.validation_run import _region_codes, _Validation
from flows.warehouse import connect, discard_staged


@dataclass
class _Session:
    """What one feed's files are processed with: the warehouse connection, the run's
    validator, the feed's acceptor, and where outcomes are reported."""

    con: object
    validation: _Validation
    acceptor: _Acceptor
    feed: Feed
    summary: FeedSummary
    logger: object
    retry: frozenset[str] = frozenset()   # sha256s of quarantined files tried again
    _regions: dict[str, list[str]] | None = None

    @property
    def run_id(self) -> str:
        return self.acceptor.run_id

    @property
    def fingerprint(self) -> str | None:
        return self.acceptor.fingerprint

    def regions(self) -> dict[str, list[str]]:
        """The feed's region codes, read once per feed (`_region_codes`)."""
        if self._regions is None:
            self._regions = _region_codes(self.con, self.feed)
        return self._regions


@contextmanager
def _feed_session(settings: Settings, run_id: str, feed: Feed, spec: DatasetSpec,
                  summary: FeedSummary, logger, *, retry: frozenset[str] = frozenset()
                  ) -> Iterator[_Session]:
    shared = _Validation.current
    validation = shared or _Validation(settings.warehouse)
    fingerprint = intake_fingerprint(feed, EXPECTATIONS_DIR)
    try:
        with connect(settings.warehouse) as con:
            acceptor = _Acceptor(settings, con, run_id, feed, spec, fingerprint)
            session = _Session(con, validation, acceptor, feed, summary, logger, retry)
            acceptor.on_failure = lambda p, e: _quarantine_internal(
                settings, session, p.received, e, staged=p.staged, reprocessed=p.reprocessed,
                rows=p.rows, verdict=p.verdict, periods=p.periods)
            try:
                try:
                    yield session
                except BaseException:
                    # What was accepted before the failure is still accepted.
                    try:
                        acceptor.flush()
                    except Exception:  # noqa: BLE001 - the first error is the one to report
                        acceptor.discard()
                    raise
                acceptor.flush()
            finally:
                # Batches staged in `raw` but neither accepted nor rejected (a failure
                # midway) leave it now; if even that fails, the next run's `initialise`.
                with contextlib.suppress(Exception):
                    discard_staged(con, feed.id)
    finally:
        if validation is not shared:
            validation.close()


PER_BATCH_PARAMS = ("half_previous_rows",)   # params of `_suite_params` that differ by batch


def _suite_params(session: _Session, regency_codes: list[str],
                  pending_rows: int | None = None) -> dict:
    """Values the quality suites refer to as {param: ...}: the region codes a batch of
    the session's feed may use, and half the rows of the feed's previous accepted batch
    (one accepted earlier in this run and not yet in `raw`: `pending_rows`)."""
    con, feed, regions = session.con, session.feed, session.regions()
    previous = con.execute(
        "select rows from meta.submissions where feed_id = ? and status = 'accepted' "
        "order by received_at desc limit 1", [feed.id]).fetchone()
    return {
        "kode_wilayah_kabupaten_kota": regency_codes,
        # The regencies a batch may speak of: its own, or all of the province's.
        "regency": ([c for c in regency_codes if c.startswith(feed.province + ".")]
                    if feed.is_province_wide else [feed.regency]),
        "kecamatan": regions["kecamatan"],
        "desa_kelurahan": regions["desa_kelurahan"],
        "half_previous_rows": (pending_rows // 2 if pending_rows is not None
                               else (previous[0] // 2) if previous and previous[0] else 0),
    }


def _quarantine_internal(settings: Settings, session: _Session, item: Received,
                         error: Exception, *, staged: bool = False, reprocessed: bool = False,
                         rows: int | None = None, verdict=None,
                         periods: list[str] | None = None) -> None:
    """The pipeline failed on this file (a bug or a broken environment, not something
    the regency can fix): the file is quarantined, marked as an internal error with the
    exception's type and place, reported as an error of the run (and so alerted), and
    the feed goes on with its next file."""
    con, feed, summary = session.con, session.feed, session.summary
    with contextlib.suppress(Exception):   # a transaction the error left open
        con.execute("rollback")
    if staged:
        with contextlib.suppress(Exception):
            unstage(con, item)
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else ""
    name = item.path.name
    stored = (f"feed {feed.id}: {name}: INTERNAL ERROR while processing the file "
              f"({type(error).__name__}{where}: {error}). The file may well be fine: it was "
              "set aside so that the feed could go on. Tell the data engineers; it is tried "
              "again once the pipeline's code, the feed entry or the dataset's quality suite "
              "changes")
    reason = redact(stored)
    session.logger.error("quarantined %s after an internal error: %s", name, reason)
    _quarantine(settings, con, session.run_id, feed, item, stored, rows, verdict, periods,
                reprocessed, session.fingerprint)
    summary.quarantined += 1
    summary.reasons.append(reason)
    summary.quarantined_files.append({"file_name": name, "reason": reason,
                                      "internal_error": True})
    summary.internal_errors.append(f"feed {feed.id}: {name}: {type(error).__name__}: "
                                   f"{redact(str(error))}")


def _process(settings: Settings, session: _Session, spec: DatasetSpec, item: Received,
             regency_codes: list[str], *, window: PeriodRange | None = None,
             snap: Snapshot | None = None, staged_rows: int | None = None,
             shared=None, known_periods: list[str] | None = None) -> None:
    """Load one received file, validate it, accept or quarantine it; record its periods.

    The batch lives in memory (flows/ingest/load.py `SCRATCH`) from load to acceptance, and is
    dropped whatever happens; or, with `staged_rows`, its rows are already staged in
    `raw` (`stage_csv_files`), and leave it again if the batch is rejected. With a
    backfill `window`, a file none of whose periods overlaps the window is left untouched
    (counted as skipped), and of a sliced dataset only the slices inside the window are
    replaced. Any unexpected error quarantines this file alone (`_quarantine_internal`)."""
    backfill = window is not None
    if backfill and snap.known_periods is not None and not any(
            window.covers(p) for p in snap.known_periods):
        session.summary.skipped += 1
        return
    try:
        _process_batch(settings, session, spec, item, regency_codes, window, snap,
                       staged_rows, shared, known_periods)
    except Exception as e:  # one file never stops its feed
        _quarantine_internal(settings, session, item, e, staged=staged_rows is not None,
                             reprocessed=backfill)
    finally:
        with contextlib.suppress(Exception):
            drop_batch(session.con, item)   # unless it was accepted: then it waits, renamed


def _superseded(con, feed: Feed, item: Received, periods: list[str] | None) -> str | None:
    """For a quarantined file tried again: the name of a file of the same feed accepted
    after it was quarantined that covers one of its periods (or any, for a dataset
    without periods). Accepting the old file would bring older data back over it."""
    row = con.execute(
        """
        select file_name from meta.submissions
        where feed_id = ? and status = 'accepted' and received_at > (
            select max(received_at) from meta.submissions where feed_id = ? and sha256 = ?)
          and (? is null or periods is null or list_has_any(periods, ?::varchar[]))
        order by received_at desc limit 1
        """, [feed.id, feed.id, item.sha256, periods, periods]).fetchone()
    return row[0] if row else None


def _record_mappings(session: _Session, item: Received, mapped: list[tuple]) -> None:
    """Keep what a file's values were mapped to (meta.value_mappings, the summary)."""
    if not mapped:
        return
    session.con.execute("delete from meta.value_mappings where sha256 = ? and feed_id = ?",
                        [item.sha256, session.feed.id])
    session.con.executemany(
        "insert into meta.value_mappings values (?, ?, ?, ?, ?, ?, ?)",
        [[item.sha256, session.feed.id, item.path.name, c, sent, stored, n]
         for c, sent, stored, n in mapped])
    for c, sent, stored, n in mapped:
        session.summary.mapped_values.append({"file_name": item.path.name, "column": c,
                                              "sent": sent, "stored": stored, "rows": n})


def _refuse(settings: Settings, session: _Session, item: Received, stored: str, *,
            rows: int | None = None, verdict=None, periods: list[str] | None = None,
            reprocessed: bool = False) -> None:
    """Quarantine a file for a reason its regency or the feed's entry can fix."""
    name, summary = item.path.name, session.summary
    reason = redact(stored)   # kept whole in the warehouse and quarantine/; masked elsewhere
    session.logger.warning("quarantined %s: %s", name, reason)
    _quarantine(settings, session.con, session.run_id, session.feed, item, stored, rows,
                verdict, periods, reprocessed, session.fingerprint)
    summary.quarantined += 1
    summary.reasons.append(reason)
    summary.quarantined_files.append({"file_name": name, "reason": reason})


def _process_batch(settings: Settings, session: _Session, spec: DatasetSpec, item: Received,
                   regency_codes: list[str], window: PeriodRange | None,
                   snap: Snapshot | None, staged_rows: int | None, shared,
                   known_periods: list[str] | None = None) -> None:
    con, validation, feed, summary = (session.con, session.validation, session.feed,
                                      session.summary)
    logger = session.logger
    name = item.path.name
    backfill = window is not None
    staged = staged_rows is not None
    period_day = dt.datetime.fromisoformat(snap.received_at) if snap and snap.received_at \
        else item.received_at
    try:
        if staged:
            table, rows = staged_batch(con, spec, feed, item), staged_rows
        else:
            table, rows = load_batch(con, feed, spec, item)
            _record_mappings(session, item, value_mappings(item))
        periods = (known_periods if known_periods is not None
                   else batch_periods(con, table, spec, period_day))
    except SubmissionError as e:
        if staged:
            unstage(con, item)
        if backfill and snap.known_periods is None:
            # Never read successfully: which periods it covers is unknown, so leave it.
            summary.skipped += 1
            logger.warning("backfill: %s not re-processed, it cannot be read (period "
                           "unknown): %s", name, redact(str(e)))
            return
        _refuse(settings, session, item, f"feed {feed.id}: {e}", reprocessed=backfill)
        return
    if item.sha256 in session.retry:
        newer = _superseded(con, feed, item, periods if spec.replace_by else None)
        if newer:
            if staged:
                unstage(con, item)
            _refuse(settings, session, item,
                    f"feed {feed.id}: {name}: tried again after its feed, suite or reader "
                    f"changed, but {newer}, accepted since, covers the same period(s): "
                    "not accepted, so that older data does not come back over newer",
                    rows=rows, periods=periods)
            return
    if backfill:
        inside = [p for p in periods if window.covers(p)]
        if not inside:
            summary.skipped += 1
            return
        logger.info("backfill: re-processing %s (periods %s)", name, ", ".join(inside))
    verdict = validation.validate(
        table, spec.name, _suite_params(session, regency_codes, session.acceptor.last_rows()),
        shared=shared if staged else None)
    if verdict.accepted:
        if backfill and spec.replace_by and period_sql(spec) and inside != periods:
            # Only the slices inside the window are replaced; the others stay as they are.
            con.execute(f"delete from {table} where not list_contains(?::varchar[], "
                        f"{period_sql(spec)})", [inside])
            rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            periods = inside
        session.acceptor.add(item, table, rows, verdict, periods, backfill, staged=staged)
        summary.accepted += 1
        summary.rows += rows
        for w in verdict.warnings:
            logger.warning("%s %s: warning: %s", feed.id, name, redact(w.message))
    else:
        if staged:
            unstage(con, item)
        _refuse(settings, session, item,
                f"feed {feed.id}: {name}: {verdict.reason(subject='the file')}",
                rows=rows, verdict=verdict, periods=periods, reprocessed=backfill)
