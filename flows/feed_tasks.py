"""The flow's per-feed tasks: `ingest_feed` (a feed's new files) and `backfill_feed` (its
received snapshots in a period range), and the shortcuts taken over all of a feed's
files at once (staged in one pass, row rules validated together, periods read in one
query), each falling back to the file-by-file path (flows/feed_session.py) when it fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import timing
from flows.backfill import Snapshot
from flows.common.periods import PeriodRange, period_sql
from flows.feed_session import (
    PER_BATCH_PARAMS,
    _feed_session,
    _process,
    _Session,
    _suite_params,
)
from flows.ingest import Received, drop_view, stage_csv_files, staged_together
from flows.registry import DatasetSpec, Feed
from flows.report import FeedSummary
from flows.settings import Settings
from flows.warehouse import discard_staged


@task(name="ingest-feed", task_run_name="ingest {feed.id}", cache_policy=NO_CACHE)
def ingest_feed(settings: Settings, feed: Feed, spec: DatasetSpec, received: list[Received],
                regency_codes: list[str], run_id: str,
                retry: frozenset[str] = frozenset()) -> FeedSummary:
    """Load and validate each new file of one feed; accept or quarantine it. `retry`:
    the sha256s of quarantined files received again because their fix may have come."""
    logger = get_run_logger()
    summary = FeedSummary(feed.id, feed.regency, feed.dataset, files=len(received))
    summary.retried = sum(1 for r in received if r.sha256 in retry)
    if received:
        with _feed_session(settings, run_id, feed, spec, summary, logger,
                           retry=retry) as session:
            session.validation.warm_up()
            staged = _stage(session, spec, received)
            shared = _feed_step(session, "validating the staged files together",
                                _validate_together, session, feed, spec, staged,
                                regency_codes)
            periods = _feed_step(session, "reading the staged files' periods",
                                 _staged_periods, session.con, spec, feed, staged) or {}
            for item in received:
                _process(settings, session, spec, item, regency_codes,
                         staged_rows=staged.get(item.batch_id), shared=shared,
                         known_periods=periods.get(item.batch_id))
    logger.info("%s: %d new file(s), %d accepted (%d rows), %d quarantined",
                feed.id, summary.files, summary.accepted, summary.rows, summary.quarantined)
    return summary


def _stage(session: _Session, spec: DatasetSpec, received: list[Received]) -> dict[str, int]:
    """`stage_csv_files`, or nothing staged when it fails: each file is then loaded on its
    own, and a file at fault is quarantined by itself."""
    if session.feed.is_province_wide:
        return {}   # rows of several regencies: loaded file by file (`load_batch`)
    try:
        with timing.timed("ingest.load"):
            return stage_csv_files(session.con, session.feed, spec, received) or {}
    except Exception as e:  # noqa: BLE001 - the files are loaded one by one instead
        session.logger.warning("%s: staging failed (%s: %s); loading file by file",
                               session.feed.id, type(e).__name__, e)
        with contextlib.suppress(Exception):
            session.con.execute("rollback")
        with contextlib.suppress(Exception):
            discard_staged(session.con, session.feed.id)
        return {}


def _feed_step(session: _Session, what: str, step, *args):
    """A shortcut over a feed's files (returns None when it does not apply); when it
    fails, each file goes the long way instead, so one file never stops the feed."""
    try:
        return step(*args)
    except Exception as e:  # noqa: BLE001 - the per-file path follows
        session.logger.warning("%s: %s failed (%s: %s); each file is checked on its own",
                               session.feed.id, what, type(e).__name__, e)
        return None


def _validate_together(session: _Session, feed: Feed, spec: DatasetSpec,
                       staged: dict[str, int], regency_codes: list[str]):
    """The row rules of the feed's quality suite, run once on all its staged files' rows
    (`quality.Validator.validate_together`): with 96 monthly files, GX's fixed cost per
    run (~0.1 s) was most of validation. Returns what each file's validation then takes
    as its own, or None (some row failed a rule, or fewer than two files are staged):
    each file is then validated whole, as before, which finds the files at fault."""
    if len(staged) < 2:
        return None
    params = {k: v for k, v in _suite_params(session, regency_codes).items()
              if k not in PER_BATCH_PARAMS}
    view = staged_together(session.con, spec, feed, sorted(staged))
    try:
        with timing.timed("validate.together"):
            return session.validation.validate_together(
                view, spec.name, params, batches=len(staged), rows=sum(staged.values()))
    finally:
        drop_view(session.con, view)


def _staged_periods(con, spec: DatasetSpec, feed: Feed,
                    staged: dict[str, int]) -> dict[str, list[str]] | None:
    """The periods of each of the feed's staged batches (as `batch_periods` gives them,
    one batch at a time) in one query: ~10 ms a file otherwise, 1 s of a 96-file ingest.
    None if the dataset has no period column or nothing is staged."""
    expr = period_sql(spec)
    if expr is None or not staged:
        return None
    view = staged_together(con, spec, feed, sorted(staged))
    try:
        rows = con.execute(f"select _batch_id, {expr} as p from {view} "
                           f"where {expr} is not null group by all order by 1, 2").fetchall()
    finally:
        drop_view(con, view)
    periods: dict[str, list[str]] = {batch: [] for batch in staged}
    for batch, period in rows:
        periods[batch].append(period)
    return periods


@task(name="backfill-feed", task_run_name="backfill {feed.id}", cache_policy=NO_CACHE)
def backfill_feed(settings: Settings, feed: Feed, spec: DatasetSpec, snaps: list[Snapshot],
                  regency_codes: list[str], run_id: str, window: PeriodRange) -> FeedSummary:
    """Re-load and re-validate the feed's snapshots whose periods overlap `window`, in the
    order they were first received (a later correction still wins)."""
    logger = get_run_logger()
    summary = FeedSummary(feed.id, feed.regency, feed.dataset, files=len(snaps))
    if not spec.replace_by:
        # A complete list replaces the regency's rows whole: re-processing a list older
        # than the last accepted one would bring old data back.
        last = max((i for i, s in enumerate(snaps) if s.last_status == "accepted"), default=0)
        summary.skipped += last
        snaps = snaps[last:]
    now = dt.datetime.now(dt.UTC)
    with _feed_session(settings, run_id, feed, spec, summary, logger) as session:
        for snap in snaps:
            source = Path(snap.source) if feed.channel == "landing" and snap.source else None
            item = Received(feed.id, source if source and source.name == snap.file_name
                            else Path(snap.file_name), snap.path,
                            snap.source or str(snap.path), snap.sha256,
                            snap.path.stat().st_size, now)
            _process(settings, session, spec, item, regency_codes, window=window, snap=snap)
    logger.info("%s: backfill %s: %d snapshot(s), %d re-accepted (%d rows), %d quarantined, "
                "%d outside the range", feed.id, window.label, summary.files, summary.accepted,
                summary.rows, summary.quarantined, summary.skipped)
    return summary
