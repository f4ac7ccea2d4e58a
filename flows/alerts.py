"""Alerts: one JSON POST per run that needs a person's attention.

A run alerts when it failed, when a submission was quarantined, or when a feed could not
be received. The webhook is `$SATUDATA_ALERT_WEBHOOK` (several URLs separated by commas),
else `alerts: {webhook: <url>}` (or `webhooks: [...]`) at the top of the feed registry.
No webhook configured: no alert.

The body is plain JSON (see `payload`), with a `text` line so that chat webhooks
(Slack, Mattermost, Rocket.Chat, Google Chat) show something readable as they are. Texts
quoting submitted values are masked with `flows.common.pii.redact` (NIK, phone, e-mail).
Delivery is best effort: a webhook that is down or slow is logged and never fails the
run.

Four paths deliver alerts, and one run is alerted once:

1. the flow body (flows/pipeline.py `_report`) with the whole run summary;
2. the flow's `on_failure` hook, for a run that failed before its body could report;
3. its `on_crashed` hook, for a run whose process died (SIGKILL, out of memory): the
   process worker runs it once the flow-run process is gone;
4. Prefect automations (flows/automations.py) that post through notification blocks, for a
   run that ended Crashed or Failed and that no hook reported within a grace period
   (the worker or the machine died with it; a run that stopped sending heartbeats is
   marked Crashed by another automation), or that has not finished after a limit.

Whoever delivers the alert marks the run (`mark_reported`: in this process and in
`$SATUDATA_HOME/alerts.jsonl`); a hook finding the mark sends nothing. After the run's
final state, its hook emits the Prefect event `SENT_EVENT` for the flow run when an alert
reached a webhook: the automation waits for that event and stays quiet when it comes.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import yaml

from flows.common.pii import redact

TIMEOUT_S = 5.0
ATTEMPTS = 2
SOURCE = "satudata-banten"
SENT_EVENT = "satudata.alert.sent"   # a flow run's alert reached a webhook
SENT_LOG = "alerts.jsonl"            # in $SATUDATA_HOME: the flow runs alerted
log = logging.getLogger("satudata.alerts")
_sent_here: set[str] = set()         # flow runs alerted by this process


def webhook_urls(registry_path: Path | None = None) -> list[str]:
    """The configured webhook URLs: the environment's, else the registry's."""
    env = os.environ.get("SATUDATA_ALERT_WEBHOOK", "").strip()
    if env:
        return [u.strip() for u in env.split(",") if u.strip()]
    if registry_path is None:
        return []
    try:
        doc = yaml.safe_load(Path(registry_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    alerts = doc.get("alerts") if isinstance(doc, dict) else None
    if not isinstance(alerts, dict):
        return []
    urls = alerts.get("webhooks") or ([alerts["webhook"]] if alerts.get("webhook") else [])
    return [str(u).strip() for u in urls if str(u).strip()]


def events_of(run: dict) -> list[str]:
    """Why this run needs attention (empty: it does not)."""
    events = []
    if run.get("status") == "failed":
        events.append("run_failed")
    if run.get("status") == "crashed":
        events.append("run_crashed")
    if any(f.get("quarantined") for f in run.get("feeds", [])):
        events.append("submission_quarantined")
    if run.get("feed_errors"):
        events.append("feed_error")
    if any(f.get("internal_errors") for f in run.get("feeds", [])):
        events.append("internal_error")
    if run.get("dataset_errors"):
        events.append("dataset_not_published")
    return events


def payload(run: dict, *, links: dict | None = None, reported_by: str = "flow") -> dict:
    """The alert body for a run summary (`RunSummary.to_dict()`), or for what a state
    hook knows of a flow run that could not report itself (no `run_id`, no feeds).
    `reported_by`: "flow", "on_failure hook" or "on_crashed hook" (the automation's
    body, flows/automations.py, says "automation")."""
    quarantined = [
        {"feed_id": f["feed_id"], "regency": f["regency"], "dataset": f["dataset"],
         "file_name": q.get("file_name"), "reason": redact(q.get("reason"))}
        for f in run.get("feeds", []) for q in f.get("quarantined_files", [])
    ]
    feed_errors = [redact(e) for e in run.get("feed_errors", [])]
    errors = [redact(e) for e in run.get("errors", [])]
    events = events_of(run)
    parts = []
    if "run_failed" in events:
        parts.append("run FAILED: " + (errors[0] if errors else "unknown error")[:300])
    if "run_crashed" in events:
        parts.append("run CRASHED (its process was gone before it could report): "
                     + (errors[0] if errors else "no message")[:300])
    if quarantined:
        parts.append(f"{len(quarantined)} file(s) quarantined: " + "; ".join(
            f"{q['feed_id']} {q['file_name']}" for q in quarantined[:5])
            + (" …" if len(quarantined) > 5 else ""))
    if feed_errors:
        parts.append(f"{len(feed_errors)} feed(s) could not be received: "
                     + "; ".join(e[:160] for e in feed_errors[:5]))
    internal = [redact(e) for f in run.get("feeds", []) for e in f.get("internal_errors", [])]
    if internal:
        parts.append(f"{len(internal)} file(s) quarantined after an INTERNAL ERROR: "
                     + "; ".join(e[:160] for e in internal[:5]))
    dataset_errors = [redact(e) for e in run.get("dataset_errors", [])]
    if dataset_errors:
        parts.append(f"{len(dataset_errors)} dataset(s) not published: "
                     + "; ".join(e[:160] for e in dataset_errors[:5]))
    link = (links or {}).get("prefect_flow_run")
    who = (f"run {run['run_id'][:8]}" if run.get("run_id")
           else f"flow run {run.get('flow_run_name') or run.get('flow_run_id') or '?'}")
    text = (f"Satu Data Banten, {who} ({run.get('status')}): "
            + " | ".join(parts or ["nothing to report"]) + (f" | {link}" if link else ""))
    return {
        "source": SOURCE,
        "reported_by": reported_by,
        "text": text,
        "events": events,
        "run_id": run.get("run_id"),
        "flow_run_id": run.get("flow_run_id"),
        "flow_run_name": run.get("flow_run_name"),
        "status": run.get("status"),
        "started_at": run.get("started_at"),
        "finished_at": run.get("finished_at"),
        "selection": run.get("selection"),
        "quarantined": quarantined,
        "feed_errors": feed_errors,
        "internal_errors": internal,
        "dataset_errors": dataset_errors,
        "errors": errors,
        "links": links or {},
    }


def post(url: str, body: dict, *, timeout_s: float = TIMEOUT_S) -> None:
    """POST `body` as JSON; raise OSError (urllib's errors) when it is not accepted."""
    if urlparse(url).scheme not in ("http", "https"):
        raise OSError(f"not an http(s) URL: {url!r}")
    data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8",
                 "User-Agent": "satudata-banten-alerts"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise OSError(f"answered HTTP {response.status}")


def _safe_url(url: str) -> str:
    """The URL without credentials or query (tokens), for logs."""
    p = urlparse(url)
    host = p.hostname or ""
    return f"{p.scheme}://{host}{f':{p.port}' if p.port else ''}{p.path}"


def notify(run: dict, urls: list[str], *, links: dict | None = None,
           warn: Callable[[str], None] | None = None, attempts: int = ATTEMPTS,
           timeout_s: float = TIMEOUT_S, reported_by: str = "flow") -> dict[str, str]:
    """Send the run's alert to each webhook if the run needs attention. Never raises;
    returns {url: "sent" | "failed: ..."} and logs each failure through `warn`."""
    warn = warn or log.warning
    if not urls or not events_of(run):
        return {}
    body = payload(run, links=links, reported_by=reported_by)
    results = {}
    for url in urls:
        for attempt in range(1, attempts + 1):
            try:
                post(url, body, timeout_s=timeout_s)
                results[url] = "sent"
                break
            except Exception as e:  # noqa: BLE001 - an alert must never fail the run
                if isinstance(e, urllib.error.HTTPError):
                    why = f"answered HTTP {e.code}"
                else:
                    why = f"{type(e).__name__}: {getattr(e, 'reason', None) or e}"
                results[url] = f"failed: {why}"
                if attempt < attempts:
                    time.sleep(1.0)
        if results[url] != "sent":
            warn(f"alert webhook {_safe_url(url)} could not be reached ({results[url]}); "
                 "the run goes on without it")
    return results


# --- one alert per run: the mark, and the event the automation waits for ---------------


def mark_reported(home: Path | None, run: dict, results: dict[str, str], *,
                  reported_by: str = "flow") -> bool:
    """Remember that the run's alert reached a webhook (one of `results` is "sent"), in
    this process and, for the hooks of other processes, as a line of
    `$SATUDATA_HOME/alerts.jsonl` (flow run, run, status, events, when, by whom).
    Returns whether it was marked. Never raises."""
    flow_run_id = run.get("flow_run_id")
    if not flow_run_id or "sent" not in results.values():
        return False
    _sent_here.add(str(flow_run_id))
    if home is None:
        return True
    line = json.dumps({"flow_run_id": str(flow_run_id), "run_id": run.get("run_id"),
                       "status": run.get("status"), "events": events_of(run),
                       "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "reported_by": reported_by})
    try:
        Path(home).mkdir(parents=True, exist_ok=True)
        with open(Path(home) / SENT_LOG, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError as e:   # the in-process mark still holds for this process's hooks
        log.warning("could not record the alert in %s: %s", Path(home) / SENT_LOG, e)
    return True


def was_reported(home: Path | None, flow_run_id: str | None) -> bool:
    """Whether an alert of this flow run reached a webhook (`mark_reported`)."""
    if not flow_run_id:
        return False
    if str(flow_run_id) in _sent_here:
        return True
    if home is None:
        return False
    needle = f'"flow_run_id": "{flow_run_id}"'
    try:
        with open(Path(home) / SENT_LOG, encoding="utf-8") as f:
            return any(needle in line for line in f)
    except OSError:
        return False


def announce_sent(flow_run_id: str, flow_run_name: str | None, flow_id: str | None,
                  flow_name: str) -> bool:
    """Emit `SENT_EVENT` for the flow run (with its flow as a related resource, which
    the automation matches on): the alert automation (flows/automations.py) then stays
    quiet. Returns whether the event was queued; never raises."""
    try:
        from prefect.events import emit_event

        related = ([{"prefect.resource.id": f"prefect.flow.{flow_id}",
                     "prefect.resource.role": "flow", "prefect.resource.name": flow_name}]
                   if flow_id else [])
        return emit_event(
            event=SENT_EVENT,
            resource={"prefect.resource.id": f"prefect.flow-run.{flow_run_id}",
                      "prefect.resource.name": flow_run_name or ""},
            related=related, payload={"source": SOURCE}) is not None
    except Exception as e:  # noqa: BLE001 - the automation then sends a second alert
        log.warning("could not emit %s for flow run %s: %s", SENT_EVENT, flow_run_id, e)
        return False
