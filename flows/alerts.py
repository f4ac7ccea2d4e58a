"""Alerts: one JSON POST per run that needs a person's attention.

A run alerts when it failed, when a submission was quarantined, or when a feed could not
be received. The webhook is `$SATUDATA_ALERT_WEBHOOK` (several URLs separated by commas),
else `alerts: {webhook: <url>}` (or `webhooks: [...]`) at the top of the feed registry.
No webhook configured: no alert.

The body is plain JSON (see `payload`), with a `text` line so that chat webhooks
(Slack, Mattermost, Rocket.Chat, Google Chat) show something readable as they are. Texts
quoting submitted values are masked with `flows.status.redact` (NIK, phone, e-mail).
Delivery is best effort: a webhook that is down or slow is logged and never fails the
run.
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

from flows.status import redact

TIMEOUT_S = 5.0
ATTEMPTS = 2
log = logging.getLogger("satudata.alerts")


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
    if any(f.get("quarantined") for f in run.get("feeds", [])):
        events.append("submission_quarantined")
    if run.get("feed_errors"):
        events.append("feed_error")
    if any(f.get("internal_errors") for f in run.get("feeds", [])):
        events.append("internal_error")
    if run.get("dataset_errors"):
        events.append("dataset_not_published")
    return events


def payload(run: dict, *, links: dict | None = None) -> dict:
    """The alert body for a run summary (`RunSummary.to_dict()`)."""
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
    text = (f"Satu Data Banten, run {run.get('run_id', '?')[:8]} ({run.get('status')}): "
            + " | ".join(parts or ["nothing to report"]) + (f" | {link}" if link else ""))
    return {
        "source": "satudata-banten",
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
           timeout_s: float = TIMEOUT_S) -> dict[str, str]:
    """Send the run's alert to each webhook if the run needs attention. Never raises;
    returns {url: "sent" | "failed: ..."} and logs each failure through `warn`."""
    warn = warn or log.warning
    if not urls or not events_of(run):
        return {}
    body = payload(run, links=links)
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
