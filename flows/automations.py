"""Alerts the run cannot send itself, through Prefect: notification blocks and
automations registered by `satudata deploy` (flows/deploy.py calls `register_alerts`).

One Prefect notification block (`CustomWebhookNotificationBlock`) per webhook of
`alerts.webhook_urls` (`SATUDATA_ALERT_WEBHOOK`, else the registry's `alerts:`; the URL
kept in the block's secrets), and three automations on the pipeline's flow runs:

- `AUTOMATION_UNREPORTED`: a run that ended Crashed or Failed and whose alert no hook
  reported (`alerts.SENT_EVENT`) within `SATUDATA_ALERT_GRACE_S` (default 120 s) gets
  one through the blocks: its worker or its machine died with it, or the flow could not
  even be loaded;
- `AUTOMATION_NO_HEARTBEAT`: a running flow run sends a heartbeat every
  `PREFECT_FLOWS_HEARTBEAT_FREQUENCY` seconds (Prefect's default 180; set it alike for
  `satudata deploy` and `satudata worker`); one that sends none for three periods is
  marked Crashed (its machine is gone), which the first automation then reports;
- `AUTOMATION_OVERDUE`: a run still not finished `SATUDATA_ALERT_OVERDUE_S` (default
  6 h, beyond the run lock's 3 h wait) after it became Pending or Late is reported.

Running `satudata deploy` again replaces them (with the webhooks configured then); with
no webhook configured only the heartbeat automation is registered.
"""

from __future__ import annotations

import datetime as dt
import os

from flows.deploy import FLOW_NAME
from flows.settings import Settings

ALERT_BLOCK = "satudata-alert-webhook"   # block documents <ALERT_BLOCK>-1, -2, ...
AUTOMATION_UNREPORTED = "satudata: crashed or failed run not reported"
AUTOMATION_NO_HEARTBEAT = "satudata: flow run without heartbeat marked crashed"
AUTOMATION_OVERDUE = "satudata: flow run not finished in time"
AUTOMATIONS = (AUTOMATION_UNREPORTED, AUTOMATION_NO_HEARTBEAT, AUTOMATION_OVERDUE)
DEFAULT_GRACE_S = 120.0
DEFAULT_OVERDUE_S = 6 * 3600.0
FINAL_EVENTS = {"prefect.flow-run.Completed", "prefect.flow-run.Failed",
                "prefect.flow-run.Crashed", "prefect.flow-run.Cancelled"}

# The automation's alert: the same JSON shape as flows/alerts.py `payload`, rendered by
# the Prefect server (Jinja, `flow_run` is the run of the triggering event) and posted as
# it is by the notification block. BASE is replaced by the catalogue's base URL.
UNREPORTED_BODY = """{"source": "satudata-banten", "reported_by": "automation",
 "text": {{ ("Satu Data Banten, flow run " ~ flow_run.name ~ " ("
             ~ (flow_run.state.name | lower) ~ "): run " ~ (flow_run.state.name | upper)
             ~ " and it sent no alert itself (its process, worker or machine was gone): "
             ~ ((flow_run.state.message or "no message") | truncate(300))) | tojson }},
 "events": {{ ["run_" ~ (flow_run.state.name | lower)] | tojson }},
 "run_id": null,
 "flow_run_id": {{ (flow_run.id | string) | tojson }},
 "flow_run_name": {{ flow_run.name | tojson }},
 "status": {{ (flow_run.state.name | lower) | tojson }},
 "started_at": {{ ((flow_run.start_time | string) if flow_run.start_time else none) | tojson }},
 "finished_at": {{ (flow_run.state.timestamp | string) | tojson }},
 "selection": {{ flow_run.parameters | tojson }},
 "quarantined": [], "feed_errors": [], "internal_errors": [], "dataset_errors": [],
 "errors": {{ [flow_run.state.message or ""] | tojson }},
 "links": {"prefect_flow_run": {{ (flow_run | ui_url) | tojson }},
           "catalogue": "BASE", "officials": "BASE/?page=officials"}}"""
OVERDUE_BODY = """{"source": "satudata-banten", "reported_by": "automation",
 "text": {{ ("Satu Data Banten, flow run " ~ flow_run.name ~ " (overdue): not finished "
             ~ "LIMIT after it became " ~ flow_run.state.name ~ " at "
             ~ (flow_run.state.timestamp | string) ~ "; it may be stuck") | tojson }},
 "events": ["run_overdue"],
 "run_id": null,
 "flow_run_id": {{ (flow_run.id | string) | tojson }},
 "flow_run_name": {{ flow_run.name | tojson }},
 "status": "overdue",
 "started_at": {{ ((flow_run.start_time | string) if flow_run.start_time else none) | tojson }},
 "finished_at": null,
 "selection": {{ flow_run.parameters | tojson }},
 "quarantined": [], "feed_errors": [], "internal_errors": [], "dataset_errors": [],
 "errors": [],
 "links": {"prefect_flow_run": {{ (flow_run | ui_url) | tojson }},
           "catalogue": "BASE", "officials": "BASE/?page=officials"}}"""


def _seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def alert_limits() -> dict[str, float]:
    """The automations' time limits in seconds: `grace` (how long a crashed or failed
    run's own hooks have to report it), `heartbeat` (Prefect's flow-run heartbeat
    period) and `overdue` (how long a run may take)."""
    from prefect.settings import get_current_settings

    heartbeat = get_current_settings().flows.heartbeat_frequency or 180
    return {"grace": _seconds("SATUDATA_ALERT_GRACE_S", DEFAULT_GRACE_S),
            "heartbeat": float(heartbeat),
            "overdue": _seconds("SATUDATA_ALERT_OVERDUE_S", DEFAULT_OVERDUE_S)}


def _ours() -> dict:
    """The trigger filter of every automation: flow runs of the pipeline's flow."""
    return {"match": {"prefect.resource.id": "prefect.flow-run.*"},
            "match_related": {"prefect.resource.role": "flow",
                              "prefect.resource.name": FLOW_NAME},
            "for_each": {"prefect.resource.id"}}


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


def alert_automations(block_ids: list, limits: dict[str, float] | None = None,
                      base_url: str | None = None) -> list:
    """The automations (`prefect.automations.AutomationCore`) that `register_alerts`
    creates, sending through the notification blocks `block_ids`; without blocks only
    the one that marks runs without heartbeat as crashed."""
    from prefect.automations import (
        AutomationCore,
        ChangeFlowRunState,
        EventTrigger,
        Posture,
        SendNotification,
    )
    from prefect.client.schemas.objects import StateType

    from flows import alerts
    from flows import publish as publishing

    limits = limits or alert_limits()
    base = (base_url or publishing.base_url()).rstrip("/")
    missed = 3 * limits["heartbeat"]
    automations = [AutomationCore(
        name=AUTOMATION_NO_HEARTBEAT,
        description=f"A flow run of the pipeline that sends no heartbeat for "
                    f"{_duration(missed)} (three periods) is marked Crashed: its process "
                    "or machine is gone.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *FINAL_EVENTS},
            posture=Posture.Proactive, threshold=1,
            within=dt.timedelta(seconds=missed), **_ours()),
        actions=[ChangeFlowRunState(
            state=StateType.CRASHED, name="Crashed",
            message=f"No heartbeat for {_duration(missed)}: the flow run's process or its "
                    "machine is gone (satudata automation)")])]
    if not block_ids:
        return automations

    def notify(body: str) -> list:
        return [SendNotification(
            block_document_id=block_id,
            subject="Satu Data Banten: flow run {{ flow_run.name }}",
            body=body.replace("BASE", base).replace("LIMIT", _duration(limits["overdue"])))
            for block_id in block_ids]

    automations.append(AutomationCore(
        name=AUTOMATION_UNREPORTED,
        description=f"A flow run of the pipeline that ended Crashed or Failed and whose "
                    f"own hooks reported nothing ({alerts.SENT_EVENT}) within "
                    f"{_duration(limits['grace'])}: alerted through the webhook blocks.",
        trigger=EventTrigger(
            after={"prefect.flow-run.Crashed", "prefect.flow-run.Failed"},
            expect={alerts.SENT_EVENT},
            posture=Posture.Proactive, threshold=1,
            within=dt.timedelta(seconds=limits["grace"]), **_ours()),
        actions=notify(UNREPORTED_BODY)))
    automations.append(AutomationCore(
        name=AUTOMATION_OVERDUE,
        description=f"A flow run of the pipeline not finished {_duration(limits['overdue'])} "
                    "after it became Pending or Late: alerted through the webhook blocks.",
        trigger=EventTrigger(
            after={"prefect.flow-run.Pending", "prefect.flow-run.Late"},
            expect=set(FINAL_EVENTS),
            posture=Posture.Proactive, threshold=1,
            within=dt.timedelta(seconds=limits["overdue"]), **_ours()),
        actions=notify(OVERDUE_BODY)))
    return automations


def save_alert_blocks(urls: list[str]) -> list:
    """One `CustomWebhookNotificationBlock` per webhook URL, saved as `<ALERT_BLOCK>-<n>`
    (replacing an earlier one); those of webhooks no longer configured are deleted.
    The block posts the automation's rendered body as it is, as JSON; the URL (which
    may hold a token) is kept in its secrets. Returns the block document ids."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    ids = []
    for n, url in enumerate(urls, start=1):
        block = CustomWebhookNotificationBlock(
            name=f"Satu Data Banten alerts ({n})",
            url="{{webhook_url}}", method="POST", form_data="{{body}}",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "User-Agent": "satudata-banten-alerts"},
            secrets={"webhook_url": url}, timeout=10, allow_private_urls=True)
        ids.append(block.save(f"{ALERT_BLOCK}-{n}", overwrite=True))
    n = len(urls) + 1
    while True:   # webhooks removed since the last deploy
        try:
            CustomWebhookNotificationBlock.delete(f"{ALERT_BLOCK}-{n}")
        except Exception:  # noqa: BLE001 - none by that name: no more to delete
            break
        n += 1
    return ids


def register_alerts(urls: list[str] | None = None) -> list[tuple[str, str]]:
    """Save the notification blocks and (re)create the automations on the configured
    server (`alert_automations`). `urls`: default `alerts.webhook_urls` of the
    configured registry. Returns [(automation name, id)]."""
    from prefect.client.orchestration import get_client

    from flows import alerts

    if urls is None:
        urls = alerts.webhook_urls(Settings.from_env().feeds_file)
    automations = alert_automations(save_alert_blocks(urls))
    created = []
    with get_client(sync_client=True) as client:
        for name in AUTOMATIONS:   # replaced, never duplicated
            for old in client.read_automations_by_name(name):
                client.delete_automation(old.id)
        for automation in automations:
            created.append((automation.name, str(client.create_automation(automation))))
    return created
