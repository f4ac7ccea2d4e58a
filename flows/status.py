"""Operational status published for the catalogue's officials' view and the CLI.

Writes `site/meta/` from the warehouse's bookkeeping tables (never from raw data):
- `feeds.json`: per feed, the last file received and accepted, the newest period it
  covers, whether the regency is late against the dataset's expected frequency, and the
  last quality result;
- `submissions.json`: every received file with its status and reason;
- `quality.json`: per dataset, a quality score and the failures per regency;
- `runs.json`: the recent pipeline runs with status and duration.
Texts that quote submitted values (reasons, examples) are passed through `redact`, so a
NIK, phone number or e-mail in a bad file never reaches a published file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from pathlib import Path

from flows import pii
from flows.publish import write_json_atomic
from flows.registry import Registry
from flows.settings import Settings
from flows.warehouse import connect

# ISO 8601 repeating durations used in the registry -> days between submissions.
FREQUENCY_DAYS = {"R/P1D": 1, "R/P1W": 7, "R/P1M": 31, "R/P3M": 92, "R/P6M": 183,
                  "R/P1Y": 366}
GRACE = 0.5   # a feed is late when nothing was accepted for 1.5 periods
_PATTERNS = {kind: re.compile(p) for kind, p in pii.PATTERNS.items()}

# The newest period a regency's accepted data covers, per dataset (SQL over raw.<dataset>).
PERIOD_SQL = {
    "penduduk": "max(periode)",
    "indikator": "cast(max(tahun) as varchar)",
    "aduan": "strftime(max(diterima_pada), '%Y-%m')",
    "fasilitas_kesehatan": "strftime(max(_ingested_at), '%Y-%m-%d')",
}


def redact(text: str | None) -> str | None:
    """Mask NIKs, phone numbers and e-mail addresses inside free text."""
    if not text:
        return text
    for kind, pattern in _PATTERNS.items():
        text = pattern.sub(lambda m, k=kind: m.group(1) + pii.mask(k, m.group(2)), text)
    return text


def _write_json_atomic(path: Path, doc) -> None:
    write_json_atomic(path, doc, default=str)   # timestamps from the warehouse as text


def _rows(con, sql: str, params=()) -> list[dict]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def feed_status(settings: Settings, registry: Registry, *, now: dt.datetime | None = None
                ) -> list[dict]:
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
        for dataset, expr in PERIOD_SQL.items():
            if dataset in registry.datasets:
                periods[dataset] = dict(con.execute(
                    f"select _regency, {expr} from raw.{dataset} group by _regency").fetchall())
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
    """Per dataset: score = share of expectations passed on each feed's latest batch."""
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


def publish_reference(settings: Settings) -> None:
    """The regency boundaries, for the catalogue's maps (it reads nothing outside site/)."""
    src = settings.reference_dir / "batas_kabupaten_kota.geojson"
    target = settings.site_dir / "reference" / src.name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(src.read_bytes())
    os.replace(tmp, target)


def publish_status(settings: Settings, registry: Registry) -> None:
    publish_reference(settings)
    meta = settings.site_dir / "meta"
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_json_atomic(meta / "feeds.json",
                       {"generated_at": generated, "feeds": feed_status(settings, registry)})
    _write_json_atomic(meta / "submissions.json",
                       {"generated_at": generated, "submissions": submissions(settings)})
    _write_json_atomic(meta / "quality.json",
                       {"generated_at": generated, "datasets": quality(settings, registry)})
    _write_json_atomic(meta / "runs.json", {"generated_at": generated, "runs": runs(settings)})
