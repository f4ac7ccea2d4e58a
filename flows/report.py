"""What a run did, and how it reads: the run's and each feed's summary, the run's status
and exit code, the summary as markdown (a Prefect artifact) and as console text, the
links to the published releases, and where the summary is kept (`meta.runs`).

Sending it (console, artifacts, webhook alert, the flow's state hooks) is
flows/run_alerts.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field

from flows import publish as publishing
from flows.common.pii import redact
from flows.settings import Settings
from flows.warehouse import connect


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


def _record_run(settings: Settings, run: RunSummary) -> None:
    with connect(settings.warehouse) as con:
        con.execute("insert or replace into meta.runs values (?, ?, ?, ?, ?)",
                    [run.run_id, run.started_at, run.finished_at, run.status,
                     json.dumps(run.to_dict(), default=str)])


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
