"""The pipeline flow: ingest -> validate -> dbt build -> publish.

One Prefect task per feed; a failing feed or a bad file never stops the others. A bad
file is quarantined with its reason; the last accepted data of that regency stays in
`raw` and so in the published marts.

Operations: the whole flow body holds `$SATUDATA_HOME/.run.lock` (flows/locking.py), so
a second run waits for the first; each run leaves Prefect artifacts (a markdown summary
and links to the published releases) and alerts through the configured webhook
(flows/alerts.py) when it failed, quarantined a file or could not receive a feed. The
flow's state hooks (`on_failure`, `on_crashed`) alert a run that failed or died before
its body could, and Prefect automations (flows/deploy.py) one whose hooks could not run
either. Release groups are published together or not at all (`publish_all`). With
`backfill_from`/`backfill_to` the flow re-processes received snapshots of one dataset
whose period lies in that range instead of receiving new files (flows/backfill.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import shutil
import threading
import traceback
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import alerts, timing, transform
from flows import publish as publishing
from flows.backfill import Snapshot, batch_periods, snapshots
from flows.channels import fetch
from flows.common.periods import PeriodRange, period_sql
from flows.common.pii import redact
from flows.deploy import FLOW_NAME
from flows.ingest import (
    SCRATCH,
    Received,
    drop_batch,
    drop_staged_view,
    drop_view,
    load_batch,
    load_digests,
    save_digests,
    sha256_of,
    snapshot,
    stage_csv_files,
    staged_batch,
    staged_together,
    unseen_bytes,
    unstage,
    value_mappings,
)
from flows.locking import run_lock
from flows.quality import EXPECTATIONS_DIR, canonical_values
from flows.readers import SubmissionError
from flows.registry import DatasetSpec, Feed, Registry, load_registry
from flows.retry import intake_fingerprint, known_hashes
from flows.settings import Settings
from flows.status import publish_status
from flows.warehouse import (
    banten_regency_codes,
    connect,
    discard_staged,
    initialise,
    raw_table,
)


@dataclass
class FeedSummary:
    feed_id: str
    regency: str
    dataset: str
    files: int = 0
    accepted: int = 0
    skipped: int = 0
    quarantined: int = 0
    rows: int = 0
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    quarantined_files: list[dict] = field(default_factory=list)   # file_name, reason
    # Files quarantined because the pipeline itself failed on them (an unexpected error,
    # not a problem the regency can fix): the run completes with errors.
    internal_errors: list[str] = field(default_factory=list)
    retried: int = 0   # quarantined files tried again: their feed, suite or reader changed
    # Values written in their canonical spelling: file_name, column, sent, stored, rows.
    mapped_values: list[dict] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: str
    started_at: str
    finished_at: str | None = None
    status: str = "running"
    feeds: list[FeedSummary] = field(default_factory=list)
    dbt: dict | None = None
    published: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)        # a stage failed
    feed_errors: list[str] = field(default_factory=list)   # a feed could not be received
    # A dataset not built or not published (a dbt test on its rows failed, its release was
    # refused); the other datasets were: the run completes with errors.
    dataset_errors: list[str] = field(default_factory=list)
    selection: dict = field(default_factory=dict)           # regency, dataset, backfill range
    flow_run_id: str | None = None
    flow_run_name: str | None = None
    lock_waited_s: float = 0.0
    quality: list[dict] = field(default_factory=list)      # per submission of this run
    notes: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)   # stage -> {seconds, calls}: flows/timing.py

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def incomplete(self) -> list[str]:
        """Everything that kept this run from being a success, short of a failed stage:
        feeds not received, files the pipeline failed on, datasets not published."""
        return ([*self.feed_errors]
                + [e for f in self.feeds for e in f.internal_errors]
                + [*self.dataset_errors])

    def settle(self) -> None:
        """The run's status from what happened: `failed` when a stage failed (nothing
        after it ran), `completed_with_errors` when something was left undone (a feed not
        received, a file the pipeline failed on, a dataset not published), else
        `completed` (every feed received, every file accepted or quarantined for a reason
        its regency can fix, every dataset published or unchanged)."""
        self.status = ("failed" if self.errors else
                       "completed_with_errors" if self.incomplete else "completed")


# Exit codes of `satudata run` / `backfill` (flows/cli.py), by run status.
EXIT_CODES = {"completed": 0, "failed": 1, "completed_with_errors": 3}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


DIGEST_CACHE = ".sha256-cache.json"   # in $SATUDATA_HOME: flows.ingest.save_digests

SUBMISSION_COLUMNS = ("submission_id, run_id, feed_id, regency, dataset, file_name, source, "
                      "sha256, bytes, received_at, rows, status, reason, periods, reprocessed, "
                      "fingerprint")


def _record_submission(con, run_id: str, feed: Feed, received: Received, rows: int | None,
                       status: str, reason: str | None, periods: list[str] | None = None,
                       reprocessed: bool = False, fingerprint: str | None = None) -> str:
    """`fingerprint`: what the file was judged by (flows/retry.py): a quarantined file is
    tried again when its feed's fingerprint is no longer this one."""
    submission_id = uuid.uuid4().hex
    con.execute(
        f"insert into meta.submissions ({SUBMISSION_COLUMNS}) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [submission_id, run_id, feed.id, feed.regency, feed.dataset, received.path.name,
         received.source, received.sha256, received.bytes, received.received_at, rows,
         status, reason, periods, reprocessed, fingerprint],
    )
    return submission_id


def _masked_json(value) -> str:
    """`value` as JSON with personal data masked, always valid JSON: masking the JSON
    text can break it (a mask that eats a quote), and a result that cannot be stored
    must not fail its feed on every later run; then the masked text is stored as one
    JSON string instead."""
    text = redact(json.dumps(value, default=str))
    try:
        json.loads(text)
    except ValueError:
        return json.dumps(text)
    return text


def _record_quality(con, submission_id: str, verdict) -> None:
    rows = [[submission_id, verdict.suite, r.expectation, r.column, r.severity, r.success,
             _masked_json(r.observed_value), r.unexpected_count,
             _masked_json(r.unexpected_examples), redact(r.message)]
            for r in verdict.results]
    if rows:   # one statement (DuckDB's executemany runs one per row: ~0.5 ms each)
        con.execute("insert into meta.quality_results values "
                    + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                    [v for row in rows for v in row])


def _quarantine(settings: Settings, con, run_id: str, feed: Feed, received: Received,
                reason: str, rows: int | None = None, verdict=None,
                periods: list[str] | None = None, reprocessed: bool = False,
                fingerprint: str | None = None) -> None:
    folder = settings.quarantine_dir / feed.id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{received.sha256[:16]}__{received.path.name}"
    shutil.copyfile(received.snapshot, target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    sid = _record_submission(con, run_id, feed, received, rows, "quarantined", reason,
                             periods, reprocessed, fingerprint)
    if verdict is not None:
        _record_quality(con, sid, verdict)
    _save_data_docs(settings, sid, feed, received, "quarantined", verdict)


@dataclass
class _Pending:
    received: Received
    table: str          # the batch, kept in memory (sd_scratch) until the flush; or a
    rows: int           # view of its rows in `raw` when it was staged there
    verdict: object
    periods: list[str] | None
    reprocessed: bool
    staged: bool = False


class _Acceptor:
    """Accepted batches of one feed reach `raw` together.

    A batch that passed validation waits in memory (its table in `sd_scratch` is kept)
    until the feed is done, or until `FLUSH_ROWS` rows wait; then one transaction, batch
    by batch in the order received, replaces the slices each covers within its regency
    (a corrected re-send replaces, never appends; a dataset without slices is replaced
    whole per regency), inserts its rows and records its submission and quality results.
    The rows and their bookkeeping land together or not at all. A batch already staged in
    `raw` (`flows.ingest.stage_csv_files`) is not inserted: the same transaction takes it
    off `meta.staged_batches`, which makes its rows count. Rows of batches still staged
    are never replaced by another batch's slices.

    Why not one transaction per file: a batch smaller than a row group (122,880 rows) goes
    through DuckDB's write-ahead log, uncompressed, and is written again, compressed, at the
    next checkpoint; a transaction of many batches writes full row groups straight into
    the file, once. At 10M complaint rows that was ~25 s of a run."""

    FLUSH_ROWS = 1_000_000

    def __init__(self, settings: Settings, con, run_id: str, feed: Feed, spec: DatasetSpec,
                 fingerprint: str | None = None):
        self.settings, self.con, self.run_id = settings, con, run_id
        self.feed, self.spec, self.fingerprint = feed, spec, fingerprint
        self.pending: list[_Pending] = []
        self.rows = 0
        self.by_period = self._slices_fix_periods()
        # Called with a batch the warehouse would not take and the error (set by the
        # feed's task, which quarantines it); without one, the error is raised.
        self.on_failure = None

    def last_rows(self) -> int | None:
        """Rows of the feed's latest accepted batch that is not in `raw` yet."""
        return self.pending[-1].rows if self.pending else None

    def add(self, received: Received, table: str, rows: int, verdict,
            periods: list[str] | None, reprocessed: bool, *, staged: bool = False) -> None:
        kept = table
        if not staged:
            kept = f"{SCRATCH}.main.accepted_{len(self.pending)}_{received.batch_id}"
            self.con.execute(f"alter table {table} rename to {kept.rsplit('.', 1)[1]}")
        self.pending.append(_Pending(received, kept, rows, verdict, periods, reprocessed,
                                     staged))
        self.rows += rows
        if self.rows >= self.FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Accept the waiting batches in one transaction. When that fails, each is tried
        in a transaction of its own, so one batch the warehouse will not take (its
        bookkeeping cannot be stored, say) never takes the others with it: it goes to
        `on_failure`, to be quarantined as an internal error."""
        if not self.pending:
            return
        pending, self.pending, self.rows = self.pending, [], 0
        recorded: list[tuple[str, _Pending]] = []
        try:
            try:
                recorded = self._commit(pending)
            except Exception as e:
                if self.on_failure is None:
                    raise
                if len(pending) == 1:
                    self.on_failure(pending[0], e)
                else:
                    for p in pending:
                        try:
                            recorded += self._commit([p])
                        except Exception as e1:  # noqa: BLE001 - quarantined as internal
                            self.on_failure(p, e1)
        finally:
            self._drop(pending)
        for sid, p in recorded:
            _save_data_docs(self.settings, sid, self.feed, p.received, "accepted", p.verdict)

    def _commit(self, batches: list[_Pending]) -> list[tuple[str, _Pending]]:
        """One transaction, batch by batch in the order received: replace the slices each
        covers, insert its rows, record its submission and quality results."""
        con, feed, spec = self.con, self.feed, self.spec
        raw = raw_table(spec.name)
        recorded = []
        with timing.timed("ingest.accept"):
            con.execute("begin transaction")
            try:
                for p in batches:
                    with timing.timed("ingest.accept.delete"):
                        replaced = self._replaceable(p)
                        if replaced:
                            self._delete_replaced(p, replaced)
                    with timing.timed("ingest.accept.insert"):
                        if p.staged:
                            con.execute("delete from meta.staged_batches where batch_id = ?",
                                        [p.received.batch_id])
                        else:
                            con.execute(f"insert into {raw} by name select * exclude "
                                        f"(_row_number) from {p.table}")
                    sid = _record_submission(con, self.run_id, feed, p.received, p.rows,
                                             "accepted", None, p.periods, p.reprocessed,
                                             self.fingerprint)
                    _record_quality(con, sid, p.verdict)
                    recorded.append((sid, p))
                with timing.timed("ingest.accept.commit"):
                    con.execute("commit")
            except Exception:
                con.execute("rollback")
                raise
        return recorded

    def _delete_replaced(self, p: _Pending, replaced: set[str]) -> None:
        """Delete the rows `p` replaces: of the batches `replaced`, within the regency
        (each row's own regency, for a province-wide feed), its slices or all rows."""
        con, spec = self.con, self.spec
        raw = raw_table(spec.name)
        among = "_batch_id in (" + ", ".join(f"'{b}'" for b in sorted(replaced)) + ")"
        if self.feed.is_province_wide:
            # Each regency's slices are replaced as if that regency had sent them.
            slices = ", ".join(["_regency", *spec.replace_by])
            con.execute(f"delete from {raw} where {among} and ({slices}) in "
                        f"(select distinct {slices} from {p.table})")
        elif spec.replace_by:
            slices = ", ".join(spec.replace_by)
            con.execute(
                f"delete from {raw} where _regency = ? and {among} "
                f"and ({slices}) in (select distinct {slices} from {p.table})",
                [self.feed.regency])
        else:
            con.execute(f"delete from {raw} where _regency = ? and {among}",
                        [self.feed.regency])

    def _slices_fix_periods(self) -> bool:
        """Whether a row's slice (`replace_by`) fixes its period (`period_sql`): then a
        batch can only replace rows of batches that share one of its periods."""
        expr = period_sql(self.spec)
        if expr is None or not self.spec.replace_by:
            return False
        squash = [re.sub(r"\s+", "", e).lower() for e in self.spec.replace_by]
        columns = [c for c in self.spec.column_names if re.search(rf"\b{c}\b", expr)]
        return (re.sub(r"\s+", "", expr).lower() in squash
                or (len(columns) == 1 and columns[0] in squash))

    def _replaceable(self, p: _Pending) -> set[str]:
        """The batches whose rows `p` may replace: the regency's accepted batches of this
        dataset (accepted earlier in this transaction included) that share a period with
        `p`, or all of them when periods do not follow slices. Rows in `raw` belong to
        accepted batches or to staged ones, so staged rows are never replaced; naming the
        batches lets DuckDB skip the row groups of all others, and a first delivery of a
        period (most files) deletes nothing at all."""
        # A regency's rows may come from its own feed or from a province-wide one (whose
        # submissions are recorded under the province's code), and a province-wide
        # batch may replace any regency's.
        feed = self.feed
        if feed.is_province_wide:
            rows = self.con.execute(
                "select sha256, periods from meta.submissions where dataset = ? and "
                "(regency = ? or starts_with(regency, ?)) and status = 'accepted'",
                [self.spec.name, feed.province, feed.province + "."]).fetchall()
        else:
            rows = self.con.execute(
                "select sha256, periods from meta.submissions where dataset = ? and "
                "regency in (?, ?) and status = 'accepted'",
                [self.spec.name, feed.regency, feed.province]).fetchall()
        mine = set(p.periods or [])
        by_period = self.by_period and p.periods is not None
        ids = {sha[:16] for sha, periods in rows
               if not by_period or periods is None or mine & set(periods)}
        if p.staged:   # its own rows are the new ones (a staged file was never accepted)
            ids.discard(p.received.batch_id)
        return ids

    def discard(self) -> None:
        """Forget the waiting batches (staged ones stay listed: `discard_staged`)."""
        pending, self.pending, self.rows = self.pending, [], 0
        self._drop(pending)

    def _drop(self, batches: list[_Pending]) -> None:
        for p in batches:
            if p.staged:
                drop_staged_view(self.con, p.received)
            else:
                self.con.execute(f"drop table if exists {p.table}")


def _save_data_docs(settings: Settings, submission_id: str, feed: Feed, received: Received,
                    status: str, verdict) -> None:
    """Keep the GX result (masked) for GX's Data Docs (flows/data_docs.py)."""
    if verdict is None or not verdict.gx_result:
        return
    try:
        from flows import data_docs

        data_docs.save_result(settings, submission_id=submission_id, feed_id=feed.id,
                              regency=feed.regency, dataset=feed.dataset,
                              file_name=received.path.name, status=status,
                              received_at=received.received_at, verdict=verdict)
    except Exception as e:  # noqa: BLE001 - the batch is recorded; its docs page is not vital
        get_run_logger().warning("GX result of %s not kept for Data Docs: %s: %s",
                                 received.path.name, type(e).__name__, e)


def _known_hashes(settings: Settings, feeds: list[Feed]
                  ) -> tuple[set[str], dict[str, set[str]]]:
    """Files received before, and per feed the quarantined ones to try again
    (flows/retry.py)."""
    fingerprints = {f.id: intake_fingerprint(f, EXPECTATIONS_DIR) for f in feeds}
    with connect(settings.warehouse, read_only=True) as con:
        return known_hashes(con, feeds, fingerprints)


@task(name="receive-feed", task_run_name="receive {feed.id}", cache_policy=NO_CACHE)
def receive_feed(settings: Settings, feed: Feed, known: set[str]) -> tuple[list[Received], int]:
    """Collect the feed's new files (download for network feeds) as immutable snapshots.
    Returns (new files, number of files skipped because already received)."""
    if feed.is_network:
        incoming = settings.home / "incoming" / feed.id / uuid.uuid4().hex
        try:
            path = fetch(feed, incoming)
            digest = sha256_of(path)
            if digest in known:
                return [], 1
            return [snapshot(feed, path, settings.raw_dir, source=feed.url)], 0
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
    new, skipped = [], 0
    found = feed.landing_files()
    for path in found.outside:
        _logger().warning("%s", _outside_note(feed, path))
    paths = found.files
    # Hashing is most of receiving (~1 GB/s a core, and hashlib lets go of the GIL): the
    # files are hashed two at a time; the snapshot copies (in the kernel) follow in order.
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = list(pool.map(sha256_of, paths))
    for path, digest in zip(paths, digests, strict=True):
        if digest in known:
            skipped += 1
        else:
            new.append(snapshot(feed, path, settings.raw_dir))
    return new, skipped


def _logger():
    """The run's logger inside a flow or task run, else the module's (a task's `.fn`
    called directly, as tests and the benchmark do)."""
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("satudata.pipeline")


def _outside_note(feed: Feed, path: Path) -> str:
    """What is said of a landing file that resolves outside the landing root."""
    return (f"feed {feed.id}: {path.name} skipped: it resolves to {path.resolve()}, "
            f"outside the landing root {feed.landing_root} (a symlink); it is never read")


PER_BATCH_PARAMS = ("half_previous_rows",)   # params of `_suite_params` that differ by batch


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

    The batch lives in memory (flows/ingest.py `SCRATCH`) from load to acceptance, and is
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


def with_canonical_values(spec: DatasetSpec) -> DatasetSpec:
    """`spec` with each column's canonical values: the registry's `values:`, else the
    values its quality suite accepts (one list, in the suite, for both)."""
    suite = canonical_values(spec.name)
    columns = tuple(c if c.values or c.name not in suite
                    else dataclasses.replace(c, values=suite[c.name]) for c in spec.columns)
    return dataclasses.replace(spec, columns=columns)


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


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(settings: Settings) -> dict:
    result = transform.build(settings, then_warm=transform.docs_needed(settings))
    get_run_logger().info("dbt build: %d nodes in %.1f s", len(result.nodes), result.elapsed_s)
    transform.publish_docs(settings)
    return {"elapsed_s": round(result.elapsed_s, 2), "nodes": len(result.nodes)}


@task(name="publish", cache_policy=NO_CACHE)
def publish_all(settings: Settings, held: dict[str, str] | None = None
                ) -> list[publishing.PublishOutcome]:
    """Publish every open-data mart, release group by release group
    (`publishing.publish_groups`): marts built from the same source datasets are
    published together or not at all. `held` (model name -> why: dbt did not build or
    test them this run) holds back each such mart's whole group; a held or failed group
    keeps its last releases, and each outcome names the mart that blocked it."""
    logger = get_run_logger()
    marts = publishing.published_marts(transform.manifest(settings))

    def log(outcome: publishing.PublishOutcome) -> None:
        logger.info("%s: %s %s %s", outcome.slug, outcome.status, outcome.version or "",
                    outcome.message)

    outcomes = publishing.publish_groups(settings, marts, held=held, log=log)
    publishing.write_catalog(settings, marts)
    return outcomes


def _ensure_meta_tables(settings: Settings) -> None:
    """Bookkeeping this module adds to the warehouse's own (flows/warehouse.py)."""
    with connect(settings.warehouse) as con:
        con.execute(
            """
            create table if not exists meta.quality_results (
                submission_id varchar not null,
                suite varchar not null,
                expectation varchar not null,
                "column" varchar,
                severity varchar not null,
                success boolean not null,
                observed_value json,
                unexpected_count bigint,
                unexpected_examples json,
                message varchar
            )
            """
        )
        # The periods a batch covers (for backfills), and whether it was a re-processing.
        con.execute("alter table meta.submissions add column if not exists periods varchar[]")
        con.execute("alter table meta.submissions add column if not exists "
                    "reprocessed boolean default false")
        # What the file was judged by (flows/retry.py): feed entry, suite, reader code.
        con.execute("alter table meta.submissions add column if not exists "
                    "fingerprint varchar")
        # Values a file sent in another spelling of a canonical value, and what they became.
        con.execute(
            """
            create table if not exists meta.value_mappings (
                sha256 varchar not null,
                feed_id varchar not null,
                file_name varchar not null,
                "column" varchar not null,
                sent varchar,
                stored varchar,
                rows bigint not null
            )
            """
        )


def _run_quality(settings: Settings, run_id: str) -> list[dict]:
    """Per submission of this run: expectations passed, failed (critical), warnings."""
    with connect(settings.warehouse, read_only=True) as con:
        cur = con.execute(
            """
            select s.feed_id, s.file_name, s.status,
                   count(q.expectation) filter (where q.success) as passed,
                   count(q.expectation) filter (where not q.success
                                                and q.severity = 'critical') as failed,
                   count(q.expectation) filter (where not q.success
                                                and q.severity = 'warning') as warnings
            from meta.submissions s
            left join meta.quality_results q using (submission_id)
            where s.run_id = ?
            group by all order by s.feed_id, s.file_name
            """, [run_id])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _run_body(settings: Settings, run: RunSummary, regency: str | None, dataset: str | None,
              window: PeriodRange | None) -> None:
    try:
        _run_stages(settings, run, regency, dataset, window)
    finally:
        transform.stop_warm()   # a dbt process started ahead and not needed after all


def _run_stages(settings: Settings, run: RunSummary, regency: str | None,
                dataset: str | None, window: PeriodRange | None) -> None:
    before = timing.totals()
    registry: Registry = load_registry(settings.feeds_file)
    initialise(settings.warehouse, registry.datasets, settings.reference_dir)
    _ensure_meta_tables(settings)
    codes = banten_regency_codes(settings.warehouse)
    feeds = registry.select(regency=regency, dataset=dataset)
    if not feeds:
        raise ValueError(f"no feed matches regency={regency!r} dataset={dataset!r}")

    with shared_validation(settings):
        if window is not None:
            _backfill_feeds(settings, run, registry, feeds, codes, regency, dataset, window)
        else:
            _receive_and_ingest(settings, run, registry, feeds, codes)

    # GX Data Docs render from the stored validation results only (not the warehouse):
    # built meanwhile, while dbt (a subprocess) and publishing run.
    docs_error: list[Exception] = []
    docs = threading.Thread(target=_build_data_docs, args=(settings, docs_error),
                            name="data-docs", daemon=True)
    docs.start()
    try:
        marker = transform.accepted_marker(settings)
        held: dict[str, str] = {}   # published model -> why it is not published this run
        if not any(f.accepted for f in run.feeds) and transform.is_built(settings, marker):
            run.dbt = {"skipped": True}
            run.notes.append("nothing new was accepted and the dbt project is unchanged: "
                             "dbt build skipped, the marts are as the last run built them")
        else:
            with timing.timed("dbt"):
                try:
                    run.dbt = dbt_build(settings)
                except transform.TransformError as e:
                    # A test failed on some dataset's rows: the marts it touches keep their
                    # last release; every other dataset is published as usual.
                    held = transform.held_back(settings, e.result)
                    if not held:
                        raise
                    run.dbt = {"failed": [f"{n['unique_id']}: {n['status']}"
                                          for n in e.result.failures]}
                    run.dataset_errors += [
                        f"dataset {name} not published (its last release stays): {why}"
                        for name, why in sorted(held.items())]
        with timing.timed("publish"):
            run.published = [asdict(o) for o in publish_all(settings, held)]
        run.dataset_errors += [f"publish {o['slug']}: {o['message']}" for o in run.published
                               if o["status"] == "failed"]
    except Exception as e:
        run.errors.append(f"{type(e).__name__}: {e}")
    docs.join()
    for e in docs_error:
        run.notes.append(f"GX Data Docs not rebuilt: {type(e).__name__}: {e}")
    run.quality = _run_quality(settings, run.run_id)
    run.settle()
    run.timings = {stage: {"seconds": round(t["seconds"], 3), "calls": t["calls"]}
                   for stage, t in timing.since(before).items()}
    run.finished_at = _now()
    _record_run(settings, run)
    publish_status(settings, registry)


def _build_data_docs(settings: Settings, errors: list[Exception]) -> None:
    """Never raises: the docs report on the run, they are not its data (`errors`)."""
    try:
        with timing.timed("data_docs"):
            from flows import data_docs

            data_docs.build(settings)
    except Exception as e:  # noqa: BLE001
        errors.append(e)


def _backfill_feeds(settings: Settings, run: RunSummary, registry: Registry, feeds: list[Feed],
                    codes: list[str], regency: str | None, dataset: str,
                    window: PeriodRange) -> None:
    spec = with_canonical_values(registry.datasets[dataset])
    found = snapshots(settings, registry, dataset, regency)
    by_feed: dict[str, list[Snapshot]] = {}
    for snap in found:
        by_feed.setdefault(snap.feed_id, []).append(snap)
    known_feeds = {f.id for f in feeds}
    for feed_id in sorted(set(by_feed) - known_feeds):
        run.notes.append(f"{len(by_feed[feed_id])} snapshot(s) of feed {feed_id}, no "
                         "longer in the registry, were not re-processed")
    if not any(f.id in by_feed for f in feeds):
        run.notes.append(f"no received snapshot of {dataset}"
                         + (f" from regency {regency}" if regency else "") + " to re-process")
    for feed in [f for f in feeds if f.id in by_feed]:
        try:
            run.feeds.append(backfill_feed(settings, feed, spec, by_feed[feed.id],
                                           codes, run.run_id, window))
        except Exception as e:  # one broken feed never stops the others
            run.feeds.append(FeedSummary(feed.id, feed.regency, feed.dataset,
                                         error=f"{type(e).__name__}: {e}"))
            run.feed_errors.append(f"feed {feed.id}: {e}")


WARM_DBT_MAX_BYTES = 256 << 20   # new files up to this size: dbt is prepared while they load


def _receive_and_ingest(settings: Settings, run: RunSummary, registry: Registry,
                        feeds: list[Feed], codes: list[str]) -> None:
    """Receiving is I/O (downloads, copies): all feeds at once, network feeds retried
    with exponential backoff. Loading and validation then run feed by feed, because
    the warehouse has a single writer."""
    known, retry = _known_hashes(settings, feeds)
    specs = {name: with_canonical_values(spec) for name, spec in registry.datasets.items()
             if any(f.dataset == name for f in feeds)}
    digests = settings.home / DIGEST_CACHE
    load_digests(digests)
    # A dbt process imports dbt while a small intake is received and ingested (~2 s of
    # the build that follows). Only for a small one: beside a large ingest it would add
    # its memory (~150 MB) to the run's peak for 2 s in minutes. Started before receiving
    # (on what `stat` says may be new), so its import is over when the build comes.
    landing = {f.id: f.landing_files() for f in feeds if not f.is_network}
    run.notes += [_outside_note(f, p) for f in feeds if f.id in landing
                  for p in landing[f.id].outside]
    if 0 < unseen_bytes([p for found in landing.values() for p in found.files],
                        known) <= WARM_DBT_MAX_BYTES:
        transform.start_warm(settings)
    futures = {}
    for feed in feeds:
        task_ = receive_feed
        if feed.is_network:
            retries = int(feed.network_option("retries"))
            delay = feed.network_option("retry_delay_s")
            task_ = receive_feed.with_options(
                retries=retries, retry_delay_seconds=[delay * 2**i for i in range(retries)])
        futures[feed.id] = task_.submit(settings, feed, known - retry.get(feed.id, set()))
    for future in futures.values():
        future.wait()
    save_digests(digests)
    new_bytes = sum(r.bytes for f in futures.values() if f.state.is_completed()
                    for r in f.result()[0])
    if 0 < new_bytes <= WARM_DBT_MAX_BYTES:
        transform.start_warm(settings)    # (started already, unless a download brought it)
    else:
        transform.stop_warm()             # nothing new after all, or too much
    for feed in feeds:
        try:
            received, skipped = futures[feed.id].result()
            # A feed with nothing new has nothing to ingest: no task run for it (~25 ms of
            # Prefect bookkeeping each; most feeds, most runs).
            summary = ingest_feed(settings, feed, specs[feed.dataset], received,
                                  codes, run.run_id, frozenset(retry.get(feed.id, ()))
                                  ) if received else FeedSummary(
                feed.id, feed.regency, feed.dataset, files=0)
            if summary.retried:
                run.notes.append(f"feed {feed.id}: {summary.retried} quarantined file(s) "
                                 "tried again: the feed entry, its quality suite or the "
                                 "reader changed since they were quarantined")
            summary.skipped = skipped
            summary.files += skipped
            run.feeds.append(summary)
        except Exception as e:  # one broken feed never stops the others
            run.feeds.append(FeedSummary(feed.id, feed.regency, feed.dataset,
                                         error=f"{type(e).__name__}: {e}"))
            run.feed_errors.append(f"feed {feed.id}: {e}")


def _record_run(settings: Settings, run: RunSummary) -> None:
    with connect(settings.warehouse) as con:
        con.execute("insert or replace into meta.runs values (?, ?, ?, ?, ?)",
                    [run.run_id, run.started_at, run.finished_at, run.status,
                     json.dumps(run.to_dict(), default=str)])


def _alert_on_failure(flow, flow_run, state) -> None:
    """`on_failure` hook: the alert of a run that failed before its body could send one
    (its parameters were refused, the failure came from outside the body); nothing if
    the body reported it."""
    _state_alert(flow, flow_run, state, "failed", "on_failure hook")


def _alert_on_crashed(flow, flow_run, state) -> None:
    """`on_crashed` hook: the alert of a run whose process died (SIGKILL, out of
    memory, the engine interrupted). The process worker runs it after the flow-run
    process is gone, in a process of its own."""
    _state_alert(flow, flow_run, state, "crashed", "on_crashed hook")
    import asyncio

    from prefect.events.worker import EventsWorker

    try:
        asyncio.get_running_loop()
    except RuntimeError:   # no loop in this thread: send the event now, the process may
        with contextlib.suppress(Exception):   # end right after its hooks
            EventsWorker.drain_all(timeout=10, at_exit=False)


def _state_alert(flow, flow_run, state, status: str, by: str) -> None:
    """Send the flow run's alert from a state hook unless it was already sent
    (`alerts.was_reported`), then tell the alert automation that it was (the event
    `alerts.SENT_EVENT`). Never raises: a hook's failure is only logged."""
    try:
        from prefect.logging.loggers import flow_run_logger

        logger = flow_run_logger(flow_run, flow)   # in the run's logs on the server
    except Exception:  # noqa: BLE001
        logger = logging.getLogger("satudata.alerts")
    try:
        settings = Settings.from_env()
        flow_run_id = str(flow_run.id)
        reported = alerts.was_reported(settings.home, flow_run_id)
        if not reported:
            urls = alerts.webhook_urls(settings.feeds_file)
            params = dict(flow_run.parameters or {})
            selection = {"regency": params.get("regency"), "dataset": params.get("dataset")}
            if params.get("backfill_from") or params.get("backfill_to"):
                selection["backfill"] = (f"{params.get('backfill_from')}.."
                                         f"{params.get('backfill_to')}")
            run = {"run_id": None, "status": status, "flow_run_id": flow_run_id,
                   "flow_run_name": flow_run.name, "selection": selection,
                   "started_at": _iso(flow_run.start_time),
                   "finished_at": _iso(getattr(state, "timestamp", None)) or _now(),
                   "errors": [state.message or f"the flow run {status}"], "feeds": []}
            sent = alerts.notify(run, urls, links=_links(flow_run_id), warn=logger.warning,
                                 reported_by=by)
            reported = alerts.mark_reported(settings.home, run, sent, reported_by=by)
            if reported:
                logger.info("alert of flow run %s (%s) sent by its %s", flow_run.name,
                            status, by)
        if reported:
            alerts.announce_sent(flow_run_id, flow_run.name,
                                 str(flow_run.flow_id) if flow_run.flow_id else None,
                                 FLOW_NAME)
    except Exception as e:  # noqa: BLE001 - the automation is the next line of defence
        logger.warning("the %s could not send the alert: %s: %s", by, type(e).__name__, e)


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@flow(name=FLOW_NAME, log_prints=True, on_failure=[_alert_on_failure],
      on_crashed=[_alert_on_crashed])
def pipeline(regency: str | None = None, dataset: str | None = None,
             backfill_from: str | None = None, backfill_to: str | None = None,
             lock_timeout_s: float | None = None) -> dict:
    """Run ingest, validation, dbt build and publication for the selected feeds.

    regency / dataset: only those feeds (e.g. "36.73", "penduduk").
    backfill_from / backfill_to: instead of receiving new files, re-process the dataset's
    received snapshots whose period lies in this range (2024, 2024-S2, 2024-03).
    lock_timeout_s: how long to wait for a run already in progress (default
    $SATUDATA_LOCK_TIMEOUT_S or 3 hours).
    """
    from prefect.runtime import flow_run

    logger = get_run_logger()
    settings = Settings.from_env()
    settings.ensure_dirs()
    run = RunSummary(run_id=uuid.uuid4().hex, started_at=_now(),
                     selection={"regency": regency, "dataset": dataset},
                     flow_run_id=str(flow_run.id) if flow_run.id else None,
                     flow_run_name=flow_run.name)
    try:
        window = None
        if backfill_from or backfill_to:
            if not (backfill_from and backfill_to and dataset):
                raise ValueError("a backfill needs a dataset and both ends of the period "
                                 "range (backfill_from, backfill_to)")
            window = PeriodRange.parse(backfill_from, backfill_to)
            run.selection["backfill"] = window.label
        with run_lock(settings.home, run_id=run.run_id[:8], timeout_s=lock_timeout_s,
                      log=logger.info, flow_run_name=run.flow_run_name) as lock:
            run.lock_waited_s = lock.waited_s
            if lock.contended:
                run.notes.append(f"waited {lock.waited_s:.0f} s for another run to finish")
            try:
                _run_body(settings, run, regency, dataset, window)
            except Exception as e:
                _fail(run, e)
                try:   # still holding the lock: the failure is recorded in meta.runs too
                    _record_run(settings, run)
                except Exception as e2:  # noqa: BLE001 - the warehouse itself may be the cause
                    logger.warning("could not record the failed run in meta.runs: %s", e2)
                raise
    except Exception as e:
        _fail(run, e)
        _report(settings, run, logger)
        raise
    _report(settings, run, logger)
    if run.errors:
        raise RuntimeError("pipeline run failed: " + " | ".join(run.errors))
    return run.to_dict()


def _fail(run: RunSummary, error: Exception) -> None:
    message = f"{type(error).__name__}: {error}"
    if message not in run.errors:
        run.errors.append(message)
    run.status = "failed"
    run.finished_at = run.finished_at or _now()


# --- reporting: console, Prefect artifacts, alerts -------------------------------------------


def _report(settings: Settings, run: RunSummary, logger) -> None:
    """Print the summary, leave the Prefect artifacts and send the alert. Never raises:
    a run's outcome does not depend on its reporting."""
    print(format_summary(run))
    try:
        _artifacts(run)
    except Exception as e:  # noqa: BLE001
        logger.warning("could not create the Prefect artifacts: %s: %s", type(e).__name__, e)
    try:
        urls = alerts.webhook_urls(settings.feeds_file)
        summary = run.to_dict()
        sent = alerts.notify(summary, urls, links=_links(run.flow_run_id),
                             warn=logger.warning)
        for url, result in sent.items():
            if result == "sent":
                logger.info("alert sent to %s", alerts._safe_url(url))
        # Marked: a state hook of this run (failed, or crashed after this) sends nothing.
        alerts.mark_reported(settings.home, summary, sent)
    except Exception as e:  # noqa: BLE001
        logger.warning("could not send the alert: %s: %s", type(e).__name__, e)


def _prefect_ui_run_url(flow_run_id: str | None) -> str | None:
    """The flow run's page in the Prefect UI, when a real server is configured (the
    temporary local server is gone when the run ends)."""
    from flows.prefect_local import is_temporary_api

    if not flow_run_id or is_temporary_api() or not (
            os.environ.get("PREFECT_API_URL") or os.environ.get("PREFECT_UI_URL")):
        return None
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui else None


def _links(flow_run_id: str | None) -> dict:
    """Links for the alert. Officials' data (submissions, runs) is not on the public
    site: the alert links the catalogue's officials' page (behind its login) instead."""
    base = publishing.base_url()
    return {
        "prefect_flow_run": _prefect_ui_run_url(flow_run_id),
        "catalogue": base,
        "officials": f"{base}/?page=officials",
    }


def artifact_key(text: str) -> str:
    """Prefect artifact keys: lowercase letters, digits and dashes only."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def _cell(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def summary_markdown(run: RunSummary) -> str:
    sel = ", ".join(f"{k} {v}" for k, v in run.selection.items() if v) or "all feeds"
    out = [f"# Satu Data Banten run `{run.run_id[:8]}`: **{run.status}**", "",
           f"Selection: {sel}. Started {run.started_at}, finished {run.finished_at}."
           + (f" Waited {run.lock_waited_s:.0f} s for another run." if run.lock_waited_s >= 1
              else ""), "",
           "## Feeds", "",
           "| feed | files | accepted | rows | skipped | quarantined | error |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for f in run.feeds:
        out.append(f"| {f.feed_id} | {f.files} | {f.accepted} | {f.rows} | {f.skipped} | "
                   f"{f.quarantined} | {_cell(redact(f.error))} |")
    quarantined = [(f.feed_id, q) for f in run.feeds for q in f.quarantined_files]
    if quarantined:
        out += ["", "## Quarantined files", ""]
        out += [f"- **{feed_id}** `{q['file_name']}`: {_cell(redact(q['reason']))}"
                for feed_id, q in quarantined]
    if run.quality:
        out += ["", "## Quality (Great Expectations)", "",
                "| feed | file | status | passed | failed (critical) | warnings |",
                "|---|---|---|---:|---:|---:|"]
        out += [f"| {q['feed_id']} | {_cell(q['file_name'])} | {q['status']} | {q['passed']} "
                f"| {q['failed']} | {q['warnings']} |" for q in run.quality]
    if run.published:
        out += ["", "## Published", "", "| dataset | status | version | downloads |",
                "|---|---|---|---|"]
        for p in run.published:
            slug = p["slug"]
            links = ""
            if p["status"] in ("published", "unchanged"):
                links = (f"[CSV]({publishing.stable_url(slug, f'{slug}.csv')}) · "
                         f"[Parquet]({publishing.stable_url(slug, f'{slug}.parquet')}) · "
                         f"[datapackage]({publishing.stable_url(slug, 'datapackage.json')})")
                if p["version"]:
                    release = publishing.site_url(f"datasets/{slug}/{p['version']}/"
                                                  "datapackage.json")
                    links += f" · [this version]({release})"
            out.append(f"| {slug} | {p['status']} | {p['version'] or ''} | {links} |")
    problems = [redact(e) for e in run.errors + run.incomplete]
    if problems:
        out += ["", "## Errors", ""] + [f"- {_cell(e)}" for e in problems]
    if run.notes:
        out += ["", "## Notes", ""] + [f"- {_cell(n)}" for n in run.notes]
    return "\n".join(out) + "\n"


def _artifacts(run: RunSummary) -> None:
    from prefect.artifacts import create_link_artifact, create_markdown_artifact

    create_markdown_artifact(markdown=summary_markdown(run), key="satudata-run-summary",
                             description=f"Run {run.run_id[:8]}: {run.status}")
    for p in run.published:
        if p["status"] not in ("published", "unchanged"):
            continue
        slug = p["slug"]
        create_link_artifact(
            link=publishing.stable_url(slug, "datapackage.json"),
            link_text=f"{slug} (latest: {p['version'] or 'unchanged'})",
            key=artifact_key(f"release-{slug}"),
            description=f"Stable URL of the latest release of {slug} "
                        f"({p['status']} in run {run.run_id[:8]})")


def format_summary(run: RunSummary) -> str:
    lines = [f"Run {run.run_id[:8]}: {run.status}"
             + (f" (backfill {run.selection['backfill']})" if run.selection.get("backfill")
                else "")
             + (f", waited {run.lock_waited_s:.0f} s for another run" if run.lock_waited_s >= 1
                else ""),
             f"{'feed':40} {'files':>5} {'accepted':>8} {'rows':>6} {'skipped':>7} "
             f"{'quarantined':>11}"]
    for f in run.feeds:
        lines.append(f"{f.feed_id:40} {f.files:>5} {f.accepted:>8} {f.rows:>6} {f.skipped:>7} "
                     f"{f.quarantined:>11}" + (f"  ERROR {f.error}" if f.error else ""))
        lines += [f"    quarantined: {r}" for r in f.reasons]
        lines += [f"    mapped: {m['file_name']} {m['column']} {m['sent']!r} -> "
                  f"{m['stored']!r} ({m['rows']} rows)" for m in f.mapped_values]
    for p in run.published:
        lines.append(f"published {p['slug']}: {p['status']} {p['version'] or ''} "
                     f"{p['message']}".rstrip())
    lines += [f"feed error: {e}" for e in run.feed_errors]
    lines += [f"internal error: {e}" for f in run.feeds for e in f.internal_errors]
    lines += [f"dataset error: {e}" for e in run.dataset_errors]
    lines += [f"error: {e}" for e in run.errors]
    lines += [f"note: {n}" for n in run.notes]
    return "\n".join(lines)


if __name__ == "__main__":
    pipeline()
