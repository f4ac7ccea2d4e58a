"""Accepting and quarantining a feed's batches, with their bookkeeping: the acceptor that
brings a feed's accepted batches into `raw` together (`_Acceptor`), a file set aside in
quarantine/ (`_quarantine`), and what each records: its submission (`meta.submissions`),
its quality results (`meta.quality_results`, personal data masked) and its GX result
for the Data Docs.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import dataclass

from prefect import get_run_logger

from flows import timing
from flows.common.periods import period_sql
from flows.common.pii import redact
from flows.ingest import SCRATCH, Received, drop_staged_view
from flows.registry import DatasetSpec, Feed
from flows.settings import Settings
from flows.warehouse import raw_table

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
    """Keep the GX result (masked) for GX's Data Docs (flows/quality/data_docs/)."""
    if verdict is None or not verdict.gx_result:
        return
    try:
        from flows.quality import data_docs

        data_docs.save_result(settings, submission_id=submission_id, feed_id=feed.id,
                              regency=feed.regency, dataset=feed.dataset,
                              file_name=received.path.name, status=status,
                              received_at=received.received_at, verdict=verdict)
    except Exception as e:  # noqa: BLE001 - the batch is recorded; its docs page is not vital
        get_run_logger().warning("GX result of %s not kept for Data Docs: %s: %s",
                                 received.path.name, type(e).__name__, e)
