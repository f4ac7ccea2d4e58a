"""Telling people how a run went: the summary printed, the Prefect artifacts and the
webhook alert, sent by the flow body (`_report`), or by the flow's state hooks
(`_alert_on_failure`, `_alert_on_crashed`) for a run whose body could not send it.

What the summary says is flows/report.py; the alert itself, flows/alerts.py.
"""

from __future__ import annotations

import contextlib
import logging
import os

from flows import alerts
from flows import publish as publishing
from flows.deploy import FLOW_NAME
from flows.report import RunSummary, _artifacts, _now, format_summary
from flows.settings import Settings


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
