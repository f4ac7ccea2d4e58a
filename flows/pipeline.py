"""The pipeline flow: ingest -> validate -> dbt build -> publish.

One Prefect task per feed; a failing feed or a bad file never stops the others. A bad
file is quarantined with its reason; the last accepted data of that regency stays in
`raw` and so in the published marts.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from dataclasses import asdict, dataclass, field

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import publish as publishing
from flows import transform
from flows.channels import fetch
from flows.ingest import Received, load_batch, sha256_of, snapshot
from flows.readers import SubmissionError
from flows.registry import DatasetSpec, Feed, Registry, load_registry
from flows.settings import Settings
from flows.status import publish_status, redact
from flows.warehouse import banten_regency_codes, connect, initialise, raw_table


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

    def to_dict(self) -> dict:
        return asdict(self)


def _record_submission(con, run_id: str, feed: Feed, received: Received, rows: int | None,
                       status: str, reason: str | None) -> str:
    submission_id = uuid.uuid4().hex
    con.execute(
        "insert into meta.submissions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [submission_id, run_id, feed.id, feed.regency, feed.dataset, received.path.name,
         str(received.path), received.sha256, received.bytes, received.received_at, rows,
         status, reason],
    )
    return submission_id


def _record_quality(con, submission_id: str, verdict) -> None:
    for r in verdict.results:
        con.execute(
            "insert into meta.quality_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [submission_id, verdict.suite, r.expectation, r.column, r.severity, r.success,
             redact(json.dumps(r.observed_value, default=str)), r.unexpected_count,
             redact(json.dumps(r.unexpected_examples, default=str)), redact(r.message)],
        )


def _quarantine(settings: Settings, run_id: str, feed: Feed, received: Received,
                reason: str, rows: int | None = None, verdict=None) -> None:
    folder = settings.quarantine_dir / feed.id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{received.sha256[:16]}__{received.path.name}"
    shutil.copyfile(received.snapshot, target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    with connect(settings.warehouse) as con:
        con.execute(f"drop table if exists landing.b_{received.batch_id}")
        sid = _record_submission(con, run_id, feed, received, rows, "quarantined", reason)
        if verdict is not None:
            _record_quality(con, sid, verdict)


def _accept(settings: Settings, run_id: str, feed: Feed, spec: DatasetSpec,
            received: Received, table: str, rows: int, verdict) -> None:
    """Replace the slices this batch covers within its regency (a corrected re-send
    replaces, never appends); a dataset without slices is replaced whole per regency."""
    raw = raw_table(spec.name)
    with connect(settings.warehouse) as con:
        con.execute("begin transaction")
        try:
            if spec.replace_by:
                slices = ", ".join(spec.replace_by)
                con.execute(
                    f"delete from {raw} where _regency = ? and ({slices}) in "
                    f"(select distinct {slices} from {table})",
                    [feed.regency],
                )
            else:
                con.execute(f"delete from {raw} where _regency = ?", [feed.regency])
            con.execute(f"insert into {raw} by name select * from {table}")
            sid = _record_submission(con, run_id, feed, received, rows, "accepted", None)
            _record_quality(con, sid, verdict)
            con.execute(f"drop table {table}")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise


def _known_hashes(settings: Settings) -> set[str]:
    with connect(settings.warehouse, read_only=True) as con:
        return {r[0] for r in con.execute("select distinct sha256 from meta.submissions")
                .fetchall()}


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
    for path in feed.files():
        if sha256_of(path) in known:
            skipped += 1
        else:
            new.append(snapshot(feed, path, settings.raw_dir))
    return new, skipped


def _suite_params(settings: Settings, feed: Feed, regency_codes: list[str]) -> dict:
    """Values the quality suites refer to as {param: ...}: the region codes a batch of
    this feed may use, and half the rows of the feed's previous accepted batch."""
    with connect(settings.warehouse, read_only=True) as con:
        kecamatan = [r[0] for r in con.execute(
            "select kode_wilayah from reference.wilayah_kecamatan where kode_kabupaten_kota = ?",
            [feed.regency]).fetchall()]
        desa = [r[0] for r in con.execute(
            "select kode_wilayah from reference.wilayah_desa_kelurahan "
            "where kode_kabupaten_kota = ?", [feed.regency]).fetchall()]
        previous = con.execute(
            "select rows from meta.submissions where feed_id = ? and status = 'accepted' "
            "order by received_at desc limit 1", [feed.id]).fetchone()
    return {
        "kode_wilayah_kabupaten_kota": regency_codes,
        "regency": [feed.regency],
        "kecamatan": kecamatan,
        "desa_kelurahan": desa,
        "half_previous_rows": (previous[0] // 2) if previous and previous[0] else 0,
    }


@task(name="ingest-feed", task_run_name="ingest {feed.id}", cache_policy=NO_CACHE)
def ingest_feed(settings: Settings, feed: Feed, spec: DatasetSpec, received: list[Received],
                regency_codes: list[str], run_id: str) -> FeedSummary:
    """Load and validate each new file of one feed; accept or quarantine it."""
    from flows.quality import validate_table

    logger = get_run_logger()
    summary = FeedSummary(feed.id, feed.regency, feed.dataset, files=len(received))
    for item in received:
        name = item.path.name
        try:
            with connect(settings.warehouse) as con:
                table, rows = load_batch(con, feed, spec, item)
        except SubmissionError as e:
            reason = f"feed {feed.id}: {e}"
            logger.warning("quarantined %s: %s", name, reason)
            _quarantine(settings, run_id, feed, item, reason)
            summary.quarantined += 1
            summary.reasons.append(reason)
            continue
        verdict = validate_table(settings.warehouse, table, spec.name,
                                 params=_suite_params(settings, feed, regency_codes))
        if verdict.accepted:
            _accept(settings, run_id, feed, spec, item, table, rows, verdict)
            summary.accepted += 1
            summary.rows += rows
            for w in verdict.warnings:
                logger.warning("%s %s: warning: %s", feed.id, name, w.message)
        else:
            reason = f"feed {feed.id}: {name}: {verdict.reason()}"
            logger.warning("quarantined %s: %s", name, reason)
            _quarantine(settings, run_id, feed, item, reason, rows, verdict)
            summary.quarantined += 1
            summary.reasons.append(reason)
    logger.info("%s: %d new file(s), %d accepted (%d rows), %d quarantined",
                feed.id, summary.files, summary.accepted, summary.rows, summary.quarantined)
    return summary


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(settings: Settings) -> dict:
    result = transform.build(settings)
    get_run_logger().info("dbt build: %d nodes in %.1f s", len(result.nodes), result.elapsed_s)
    transform.publish_docs(settings)
    return {"elapsed_s": round(result.elapsed_s, 2), "nodes": len(result.nodes)}


@task(name="publish", cache_policy=NO_CACHE)
def publish_all(settings: Settings) -> list[publishing.PublishOutcome]:
    logger = get_run_logger()
    marts = publishing.published_marts(transform.manifest(settings))
    outcomes = []
    for mart in marts:
        try:
            outcome = publishing.publish_mart(settings, mart)
        except publishing.PublishError as e:
            outcome = publishing.PublishOutcome(mart.slug, "failed", None, str(e))
        logger.info("%s: %s %s %s", outcome.slug, outcome.status, outcome.version or "",
                    outcome.message)
        outcomes.append(outcome)
    publishing.write_catalog(settings, marts)
    return outcomes


def _ensure_quality_table(settings: Settings) -> None:
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


@flow(name="satudata-pipeline", log_prints=True)
def pipeline(regency: str | None = None, dataset: str | None = None) -> dict:
    """Run ingest, validation, dbt build and publication for the selected feeds."""
    settings = Settings.from_env()
    settings.ensure_dirs()
    registry: Registry = load_registry(settings.feeds_file)
    run = RunSummary(run_id=uuid.uuid4().hex,
                     started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    initialise(settings.warehouse, registry.datasets, settings.reference_dir)
    _ensure_quality_table(settings)
    codes = banten_regency_codes(settings.warehouse)
    feeds = registry.select(regency=regency, dataset=dataset)
    if not feeds:
        raise ValueError(f"no feed matches regency={regency!r} dataset={dataset!r}")

    # Receiving is I/O (downloads, copies): all feeds at once, network feeds retried with
    # exponential backoff. Loading and validation then run feed by feed, because the
    # warehouse has a single writer.
    known = _known_hashes(settings)
    futures = {}
    for feed in feeds:
        task_ = receive_feed
        if feed.is_network:
            retries = int(feed.network_option("retries"))
            delay = feed.network_option("retry_delay_s")
            task_ = receive_feed.with_options(
                retries=retries, retry_delay_seconds=[delay * 2**i for i in range(retries)])
        futures[feed.id] = task_.submit(settings, feed, known)
    for feed in feeds:
        try:
            received, skipped = futures[feed.id].result()
            summary = ingest_feed(settings, feed, registry.datasets[feed.dataset], received,
                                  codes, run.run_id)
            summary.skipped = skipped
            summary.files += skipped
            run.feeds.append(summary)
        except Exception as e:  # one broken feed never stops the others
            run.feeds.append(FeedSummary(feed.id, feed.regency, feed.dataset,
                                         error=f"{type(e).__name__}: {e}"))
            run.feed_errors.append(f"feed {feed.id}: {e}")

    try:
        run.dbt = dbt_build(settings)
        run.published = [asdict(o) for o in publish_all(settings)]
        run.errors += [f"publish {o['slug']}: {o['message']}" for o in run.published
                       if o["status"] == "failed"]
    except Exception as e:
        run.errors.append(f"{type(e).__name__}: {e}")
    run.status = ("failed" if run.errors else
                  "completed_with_feed_errors" if run.feed_errors else "completed")
    run.finished_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with connect(settings.warehouse) as con:
        con.execute("insert into meta.runs values (?, ?, ?, ?, ?)",
                    [run.run_id, run.started_at, run.finished_at, run.status,
                     json.dumps(run.to_dict())])
    publish_status(settings, registry)
    print(format_summary(run))
    if run.errors:
        raise RuntimeError("pipeline run failed: " + " | ".join(run.errors))
    return run.to_dict()


def format_summary(run: RunSummary) -> str:
    lines = [f"Run {run.run_id[:8]}: {run.status}",
             f"{'feed':40} {'files':>5} {'accepted':>8} {'rows':>6} {'skipped':>7} "
             f"{'quarantined':>11}"]
    for f in run.feeds:
        lines.append(f"{f.feed_id:40} {f.files:>5} {f.accepted:>8} {f.rows:>6} {f.skipped:>7} "
                     f"{f.quarantined:>11}" + (f"  ERROR {f.error}" if f.error else ""))
        lines += [f"    quarantined: {r}" for r in f.reasons]
    for p in run.published:
        lines.append(f"published {p['slug']}: {p['status']} {p['version'] or ''} "
                     f"{p['message']}".rstrip())
    lines += [f"feed error: {e}" for e in run.feed_errors]
    lines += [f"error: {e}" for e in run.errors]
    return "\n".join(lines)


if __name__ == "__main__":
    pipeline()
