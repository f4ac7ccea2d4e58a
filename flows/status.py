"""Operational status for the officials' view and the CLI, and the public quality summary.

Two trees, never mixed (flows/settings.py):

- `$SATUDATA_HOME/internal/meta/` (`Settings.internal_meta_dir`), for officials and
  operators only, read by the officials' view after login and never served over HTTP:
  - `feeds.json`: per feed, the last file received and accepted, the newest period it
    covers, whether the regency is late against the dataset's expected frequency, and
    the last quality result;
  - `submissions.json`: every received file with its name, status and reason;
  - `quality.json`: per dataset, a quality score and the failures per submission (file
    names and the rules' messages);
  - `runs.json`: the recent pipeline runs with status and duration.
- `site/quality/summary.json` (`PUBLIC_SUMMARY`), public: per dataset its suite's rules
  and, for each feed's latest submission, only which rule passed or failed, how many
  rows failed and the failing examples as `flows.common.pii.public_examples` lets them out (row
  positions only for a dataset with personal data, masked values otherwise). No file
  names, no status or reasons, no messages.

Texts that quote submitted values (reasons, messages) are passed through `redact`, so a
NIK, phone number or e-mail in a bad file never reaches even an internal file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from flows import quality as rules
from flows.common import pii
from flows.common.files import write_bytes_atomic, write_json_atomic
from flows.common.periods import period_sql
from flows.common.pii import redact
from flows.registry import DatasetSpec, Registry
from flows.settings import Settings
from flows.warehouse import connect

# ISO 8601 repeating durations used in the registry -> days between submissions.
FREQUENCY_DAYS = {"R/P1D": 1, "R/P1W": 7, "R/P1M": 31, "R/P3M": 92, "R/P6M": 183,
                  "R/P1Y": 366}
GRACE = 0.5   # a feed is late when nothing was accepted for 1.5 periods
PUBLIC_SUMMARY = ("quality", "summary.json")    # under site/
SUMMARY_FORMAT = 1
INTERNAL_FILES = ("feeds", "submissions", "quality", "runs")   # internal/meta/<name>.json
# Suite keys that are the rule's target, not its parameters (shown apart in the summary).
_TARGET_KEYS = ("column", "column_list", "column_A", "column_B")



def newest_period_sql(spec: DatasetSpec) -> str:
    """SQL over raw.<dataset>: the newest period a regency's accepted data covers (its
    rows' periods, flows.common.periods.period_sql; for a dataset without one, the day
    its newest rows were loaded)."""
    expr = period_sql(spec)
    return f"max({expr})" if expr else "strftime(max(_ingested_at), '%Y-%m-%d')"


def _write_json_atomic(path: Path, doc) -> None:
    write_json_atomic(path, doc, default=str)   # timestamps from the warehouse as text


def _rows(con, sql: str, params=()) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def feed_status(settings: Settings, registry: Registry, *, now: dt.datetime | None = None
                ) -> list[dict]:
    """Per registry feed: last received and accepted, newest period, timeliness, the
    number of quarantined files and the last submission's quality counts (internal)."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    with connect(settings.warehouse, read_only=True) as con:
        names = dict(con.execute(
            "select kode_wilayah, nama from reference.wilayah_kabupaten_kota").fetchall())
        last = {r["feed_id"]: r for r in _rows(con, """
            select feed_id,
                   max(received_at) as last_received_at,
                   max(received_at) filter (where status = 'accepted') as last_accepted_at,
                   count(*) filter (where status = 'quarantined') as quarantined_files,
                   arg_max(status, received_at) as last_status,
                   arg_max(submission_id, received_at) as last_submission
            from meta.submissions group by feed_id""")}
        quality = {r["submission_id"]: r for r in _rows(con, """
            select submission_id,
                   count(*) filter (where success) as passed,
                   count(*) filter (where not success and severity = 'critical') as failed,
                   count(*) filter (where not success and severity = 'warning') as warnings
            from meta.quality_results group by submission_id""")}
        periods = {}
        for dataset, spec in registry.datasets.items():
            periods[dataset] = dict(con.execute(
                f"select _regency, {newest_period_sql(spec)} from raw.{dataset} "
                "group by _regency").fetchall())
    for feed in registry.feeds:
        spec = registry.datasets[feed.dataset]
        info = last.get(feed.id, {})
        days = FREQUENCY_DAYS.get(spec.frequency or "")
        accepted_at = info.get("last_accepted_at")
        if accepted_at is None:
            state = "never"
        elif days is None:
            state = "on_time"
        else:
            age = (now - accepted_at).total_seconds() / 86400
            state = "late" if age > days * (1 + GRACE) else "on_time"
        q = quality.get(info.get("last_submission"), {})
        out.append({
            "feed_id": feed.id,
            "regency": feed.regency,
            "nama_wilayah": names.get(feed.regency),
            "dataset": feed.dataset,
            "channel": feed.channel,
            "frequency": spec.frequency,
            "last_received_at": info.get("last_received_at"),
            "last_accepted_at": accepted_at,
            "last_accepted_period": periods.get(feed.dataset, {}).get(feed.regency),
            "timeliness": state,
            "last_status": info.get("last_status"),
            "quarantined_files": info.get("quarantined_files", 0),
            "last_quality": {"passed": q.get("passed", 0), "failed": q.get("failed", 0),
                             "warnings": q.get("warnings", 0)} if q else None,
        })
    return out


def submissions(settings: Settings, *, limit: int = 5000) -> list[dict]:
    """Every received file, newest first, with its name, status and (masked) reason
    (internal: file names and reasons are for officials only)."""
    with connect(settings.warehouse, read_only=True) as con:
        rows = _rows(con, """
            select s.received_at, s.feed_id, s.regency, w.nama as nama_wilayah, s.dataset,
                   s.file_name, s.sha256, s.bytes, s.rows, s.status, s.reason
            from meta.submissions s
            left join reference.wilayah_kabupaten_kota w on w.kode_wilayah = s.regency
            order by s.received_at desc limit ?""", [limit])
    for r in rows:
        r["reason"] = redact(r["reason"])
    return rows


def quality(settings: Settings, registry: Registry) -> dict:
    """Per dataset: score = share of expectations passed on each feed's latest batch, and
    every failure with its file name and message (internal)."""
    with connect(settings.warehouse, read_only=True) as con:
        results = _rows(con, """
            with latest as (
                select feed_id, arg_max(submission_id, received_at) as submission_id
                from meta.submissions group by feed_id
            )
            select s.dataset, s.regency, s.feed_id, s.file_name, s.status,
                   q.expectation, q."column", q.severity, q.success, q.unexpected_count,
                   q.message
            from latest l
            join meta.submissions s using (submission_id)
            join meta.quality_results q using (submission_id)
            order by s.dataset, s.regency""")
    out: dict[str, dict] = {}
    for dataset in registry.datasets:
        rows = [r for r in results if r["dataset"] == dataset]
        passed = sum(r["success"] for r in rows)
        out[dataset] = {
            "score": round(100 * passed / len(rows), 1) if rows else None,
            "expectations_evaluated": len(rows),
            "failures": [
                {"regency": r["regency"], "feed_id": r["feed_id"], "file_name": r["file_name"],
                 "status": r["status"], "expectation": r["expectation"],
                 "column": r["column"], "severity": r["severity"],
                 "unexpected_count": r["unexpected_count"], "message": redact(r["message"])}
                for r in rows if not r["success"]
            ],
        }
    return out


def runs(settings: Settings, *, limit: int = 50) -> list[dict]:
    """The newest pipeline runs with counts, releases and (masked) errors (internal)."""
    with connect(settings.warehouse, read_only=True) as con:
        rows = _rows(con, """
            select run_id, started_at, finished_at, status,
                   date_diff('millisecond', started_at, finished_at) / 1000.0 as duration_s,
                   summary
            from meta.runs order by started_at desc limit ?""", [limit])
    for r in rows:
        summary = json.loads(r.pop("summary") or "{}")
        feeds = summary.get("feeds", [])
        r["files_accepted"] = sum(f.get("accepted", 0) for f in feeds)
        r["files_quarantined"] = sum(f.get("quarantined", 0) for f in feeds)
        r["rows_accepted"] = sum(f.get("rows", 0) for f in feeds)
        r["published"] = [p for p in summary.get("published", []) if p["status"] == "published"]
        r["errors"] = [redact(e) for e in summary.get("errors", []) + summary.get(
            "feed_errors", [])]
    return rows


def _column_key(entry: dict) -> str | None:
    """The `column` a suite entry's results are recorded under (as flows/quality/
    names it): its column, its columns joined, or None for a table rule."""
    kwargs = entry.get("kwargs") or {}
    column = entry.get("column") or kwargs.get("column")
    if column is None and kwargs.get("column_list"):
        column = ", ".join(kwargs["column_list"])
    if column is None and kwargs.get("column_A"):
        column = f"{kwargs['column_A']}, {kwargs.get('column_B')}"
    return column


def suite_rules(dataset: str) -> list[dict]:
    """The rules of `expectations/<dataset>.yml` as the public summary lists them: type,
    target column(s), severity, the suite's own description and parameters (all from
    the suite file, which is public; a query rule's SQL is left out). `[]` when the
    dataset has no readable suite."""
    try:
        suite = rules.load_suite(dataset)
    except rules.QualityError:
        return []
    out = []
    for index, entry in enumerate(suite.get("expectations") or []):
        kwargs = entry.get("kwargs") or {}
        columns = kwargs.get("column_list") or (
            [kwargs["column_A"], kwargs.get("column_B")] if "column_A" in kwargs else None)
        out.append({
            "index": index,
            "expectation": entry["expect"],
            "column": entry.get("column") or kwargs.get("column"),
            "columns": columns,
            "severity": entry["severity"],
            "description": entry.get("description"),
            "kwargs": {k: v for k, v in kwargs.items() if k not in _TARGET_KEYS},
        })
    return out


def _same_type(rule: dict, expectation: str) -> bool:
    # GX records a query rule under its own class's type (unexpected_rows_expectation).
    if rule["expectation"] == rules.UNEXPECTED_ROWS:
        return expectation.startswith(rules.UNEXPECTED_ROWS)
    return rule["expectation"] == expectation


def _match_rules(suite: list[dict], entries: list[dict], results: list[dict]) -> list[int | None]:
    """The suite rule (index) each result of one submission belongs to: the rule of the
    same type, column and severity; among several (e.g. two query rules on the table),
    the one whose description the result's message names, else the next unused one in
    suite order. Only rule indexes come out of this: nothing of the message is copied."""
    used: set[int] = set()
    matched: list[int | None] = []
    for result in results:
        candidates = [r["index"] for r, e in zip(suite, entries, strict=True)
                      if r["index"] not in used and _same_type(r, result["expectation"])
                      and _column_key(e) == result["column"]
                      and r["severity"] == result["severity"]]
        named = [i for i in candidates if suite[i]["description"]
                 and suite[i]["description"] in (result["message"] or "")]
        chosen = (named or candidates or [None])[0]
        if chosen is not None:
            used.add(chosen)
        matched.append(chosen)
    return matched


def _public_examples(stored, dataset_has_personal: bool) -> list:
    """A result's failing examples (stored masked, as JSON) as they may be published:
    `flows.common.pii.public_examples` keeps only row positions for a dataset with personal
    data and masks every value otherwise. Anything unreadable publishes nothing."""
    try:
        examples = json.loads(stored) if isinstance(stored, str) else stored
    except ValueError:
        return []
    if not isinstance(examples, list):   # stored as one masked string: not a list of values
        return []
    return pii.public_examples(examples, dataset_has_personal=dataset_has_personal)


def quality_summary(settings: Settings, registry: Registry,
                    feeds: list[dict] | None = None) -> dict:
    """The public quality summary, per registry dataset: the suite's rules, the score
    (share of rules passed on each feed's latest submission) and, per feed (regency),
    only each rule's pass/fail, failing-row count and public examples on that latest
    submission.

    Nothing that names a submission or says why it was refused goes in: no file name,
    no status, no reason, no message (the latest submission may be one that was
    quarantined); examples only through `_public_examples`. Feed ids, regencies and
    channels come from the registry, the period from the published data."""
    feeds = feed_status(settings, registry) if feeds is None else feeds
    with connect(settings.warehouse, read_only=True) as con:
        results = _rows(con, """
            with latest as (
                select feed_id, arg_max(submission_id, received_at) as submission_id
                from meta.submissions group by feed_id
            )
            select l.feed_id, q.expectation, q."column", q.severity, q.success,
                   q.unexpected_count, q.message, q.unexpected_examples
            from latest l join meta.quality_results q using (submission_id)
            order by l.feed_id, q.rowid""")
    by_feed: dict[str, list[dict]] = {}
    for r in results:
        by_feed.setdefault(r["feed_id"], []).append(r)
    out: dict[str, dict] = {}
    for dataset, spec in registry.datasets.items():
        personal = any(c.personal_data for c in spec.columns)
        suite = suite_rules(dataset)
        entries = []
        if suite:
            entries = rules.load_suite(dataset).get("expectations") or []
        regencies, passed, evaluated = [], 0, 0
        for feed in (f for f in feeds if f["dataset"] == dataset):
            found = by_feed.get(feed["feed_id"], [])
            indexes = _match_rules(suite, entries, found)
            checks = [{"rule": i, "expectation": r["expectation"], "column": r["column"],
                       "severity": r["severity"], "success": bool(r["success"]),
                       "unexpected_count": r["unexpected_count"],
                       "examples": [] if r["success"] else _public_examples(
                           r["unexpected_examples"], personal)}
                      for i, r in zip(indexes, found, strict=True)]
            passed += sum(c["success"] for c in checks)
            evaluated += len(checks)
            regencies.append({
                "regency": feed["regency"],
                "nama_wilayah": feed["nama_wilayah"],
                "feed_id": feed["feed_id"],
                "channel": feed["channel"],
                "last_accepted_period": feed["last_accepted_period"],
                "passed": sum(c["success"] for c in checks),
                "failed": sum(not c["success"] and c["severity"] == "critical"
                              for c in checks),
                "warnings": sum(not c["success"] and c["severity"] == "warning"
                                for c in checks),
                "results": checks,
            })
        out[dataset] = {
            "suite": dataset,
            "score": round(100 * passed / evaluated, 1) if evaluated else None,
            "expectations_evaluated": evaluated,
            "rules": suite,
            "regencies": regencies,
        }
    return out


def publish_reference(settings: Settings) -> None:
    """The regency boundaries, for the catalogue's maps (it reads nothing outside site/)."""
    src = settings.reference_dir / "batas_kabupaten_kota.geojson"
    target = settings.site_dir / "reference" / src.name
    write_bytes_atomic(target, src.read_bytes())


def _remove_public_meta(settings: Settings) -> None:
    """Earlier versions published the internal files under `site/meta/`, where anyone
    could download them: remove that folder (only this module ever wrote it)."""
    old = settings.site_dir / "meta"
    if old.is_symlink() or old.is_file():
        old.unlink()
    elif old.is_dir():
        shutil.rmtree(old)


def publish_status(settings: Settings, registry: Registry) -> None:
    """Write the internal status files, then the public quality summary (each replaced
    atomically), and remove what older versions published under `site/meta/`."""
    publish_reference(settings)
    meta = settings.internal_meta_dir
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    feeds = feed_status(settings, registry)
    _write_json_atomic(meta / "feeds.json", {"generated_at": generated, "feeds": feeds})
    _write_json_atomic(meta / "submissions.json",
                       {"generated_at": generated, "submissions": submissions(settings)})
    _write_json_atomic(meta / "quality.json",
                       {"generated_at": generated, "datasets": quality(settings, registry)})
    _write_json_atomic(meta / "runs.json", {"generated_at": generated, "runs": runs(settings)})
    _write_json_atomic(settings.site_dir.joinpath(*PUBLIC_SUMMARY), {
        "format": SUMMARY_FORMAT,
        "generated_at": generated,
        "datasets": quality_summary(settings, registry, feeds),
    })
    _remove_public_meta(settings)
