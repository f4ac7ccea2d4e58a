"""The pipeline flow: ingest -> validate -> dbt build -> publish.

One Prefect task per feed; a failing feed or a bad file never stops the others. A bad
file is quarantined with its reason; the last accepted data of that regency stays in
`raw` and so in the published marts.

Operations: the whole flow body holds `$SATUDATA_HOME/.run.lock` (flows/locking.py), so
a second run waits for the first; each run leaves Prefect artifacts (a markdown summary
and links to the published releases) and alerts through the configured webhook
(flows/alerts.py) when it failed, quarantined a file or could not receive a feed. The
flow's state hooks (`on_failure`, `on_crashed`) alert a run that failed or died before
its body could, and Prefect automations (flows/automations.py) one whose hooks could not run
either. Release groups are published together or not at all (`publish_all`). With
`backfill_from`/`backfill_to` the flow re-processes received snapshots of one dataset
whose period lies in that range instead of receiving new files (flows/backfill.py).

This module is the flow, its stage order and its run-wide tasks (receive, dbt build,
publish). The parts it runs, in the order a file meets them: flows/feed_tasks.py (the
per-feed tasks), flows/feed_session.py (one file: load, validate, accept or quarantine),
flows/validation_run.py (the run's validator), flows/acceptor.py (accepted batches into
`raw`, with their bookkeeping), flows/report.py (the run's summary) and
flows/run_alerts.py (printing, artifacts, alerts, the state hooks).
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import dbt_docs, timing, transform
from flows import publish as publishing
from flows.backfill import Snapshot, snapshots
from flows.channels import fetch
from flows.common.periods import PeriodRange
from flows.deploy import FLOW_NAME
from flows.feed_tasks import backfill_feed, ingest_feed
from flows.ingest import (
    Received,
    load_digests,
    save_digests,
    sha256_of,
    snapshot,
    unseen_bytes,
)
from flows.locking import run_lock
from flows.quality import EXPECTATIONS_DIR
from flows.registry import Feed, Registry, load_registry
from flows.report import FeedSummary, RunSummary, _now, _record_run, _run_quality
from flows.retry import intake_fingerprint, known_hashes
from flows.run_alerts import _alert_on_crashed, _alert_on_failure, _report
from flows.settings import Settings
from flows.status import publish_status
from flows.validation_run import shared_validation, with_canonical_values
from flows.warehouse import (
    _ensure_meta_tables,
    banten_regency_codes,
    connect,
    initialise,
)

DIGEST_CACHE = ".sha256-cache.json"   # in $SATUDATA_HOME: flows.ingest.save_digests


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


@task(name="dbt-build", cache_policy=NO_CACHE)
def dbt_build(settings: Settings) -> dict:
    result = transform.build(settings, then_warm=dbt_docs.docs_needed(settings))
    get_run_logger().info("dbt build: %d nodes in %.1f s", len(result.nodes), result.elapsed_s)
    dbt_docs.publish_docs(settings)
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
            from flows.quality import data_docs

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


if __name__ == "__main__":
    pipeline()
