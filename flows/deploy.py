"""Prefect deployments of the pipeline, declared in code.

    satudata deploy            create the `satudata` process work pool if missing, then
                               register every deployment below on the configured server
    satudata deploy --list     print them without contacting a server
    satudata worker            a process worker for the pool (runs the flow runs)

One scheduled deployment per dataset, at its registry `schedule` (`cron_of`: else a
default for its frequency), and two without a schedule: `on-demand` (any regency and/or
dataset) and `backfill` (a dataset and a period range). Schedules are in Asia/Jakarta
time (WIB) and staggered; runs never overlap anyway (they wait on the run lock).

The flow is loaded from the code this command runs (`flow.from_source` with a local
path: the folder holding the `flows` package, the checkout or site-packages): the worker
runs `flows/pipeline.py:pipeline` from there with the worker's environment
(`SATUDATA_HOME`, `SATUDATA_FEEDS`, `SATUDATA_PROJECT`, `SATUDATA_ALERT_WEBHOOK`...).

Alerts the run cannot send itself: `flows/automations.py` (`register_alerts`, called by
`deploy`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from flows.settings import PROJECT_ROOT, Settings, project_dir

POOL = "satudata"
FLOW_NAME = "satudata-pipeline"
ENTRYPOINT = "flows/pipeline.py:pipeline"
TIMEZONE = "Asia/Jakarta"

# A dataset's deployment runs on its registry `schedule` (cron, WIB); without one, on a
# default for its `frequency`.
DEFAULT_SCHEDULES = {"R/P1D": "30 6 * * *", "R/P1W": "0 6 * * 1"}
DEFAULT_SCHEDULE = "0 9 1 * *"     # monthly and longer: 09:00 on the 1st


def cron_of(spec) -> str:
    """The cron of a dataset's deployment: its `schedule`, else its frequency's default."""
    return spec.schedule or DEFAULT_SCHEDULES.get(spec.frequency or "", DEFAULT_SCHEDULE)


def cadence_of(cron: str) -> str:
    """daily, weekly, monthly or yearly: how often a 5-field cron fires (by its day-of-
    month, month and day-of-week fields), for the deployment's name."""
    _minute, _hour, day, month, weekday = cron.split()
    if weekday != "*":
        return "weekly"
    if day == "*":
        return "daily"
    return "monthly" if month == "*" else "yearly"


class DeployError(RuntimeError):
    """The deployments cannot be registered (no server configured, server unreachable)."""


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    description: str
    parameters: dict = field(default_factory=dict)
    cron: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        return f"{FLOW_NAME}/{self.name}"


def deployment_specs(datasets: dict | None = None) -> list[DeploymentSpec]:
    """The deployments, one scheduled per dataset of the registry plus on-demand and
    backfill. `datasets`: name -> DatasetSpec (default: the configured registry's)."""
    if datasets is None:
        from flows.registry import load_registry

        datasets = load_registry(Settings.from_env().feeds_file).datasets
    specs = []
    for name, spec in datasets.items():
        cron = cron_of(spec)
        cadence = cadence_of(cron)
        specs.append(DeploymentSpec(
            name=f"{name.replace('_', '-')}-{cadence}",
            description=f"{cadence.capitalize()} ({cron}, {TIMEZONE}): receive, validate and "
                        f"publish the new {name} submissions of every regency.",
            parameters={"dataset": name},
            cron=cron,
            tags=("satudata", name, cadence),
        ))
    specs.append(DeploymentSpec(
        name="on-demand",
        description="No schedule: run with parameters regency (e.g. 36.73) and/or dataset "
                    "(e.g. penduduk); none means every feed.",
        tags=("satudata", "on-demand"),
    ))
    specs.append(DeploymentSpec(
        name="backfill",
        description="No schedule: re-process the received snapshots of `dataset` whose period "
                    "lies in backfill_from..backfill_to (2024, 2024-S2, 2024-03), optionally "
                    "of one regency.",
        parameters={"dataset": None, "backfill_from": None, "backfill_to": None},
        tags=("satudata", "backfill"),
    ))
    return specs


def api_url() -> str | None:
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def ensure_work_pool(pool: str = POOL) -> bool:
    """Create the process work pool if missing. Returns whether it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            existing = client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process",
                description="Satu Data Banten pipeline runs (satudata worker)",
                base_job_template=ProcessWorker.get_default_base_job_template()))
            return True
    if existing.type != "process":
        raise DeployError(f"work pool '{pool}' exists with type '{existing.type}'; the "
                          "pipeline needs a 'process' pool (delete it or choose --pool)")
    return False


def deploy(pool: str = POOL, specs: list[DeploymentSpec] | None = None
           ) -> list[tuple[str, str]]:
    """Register the deployments on the configured Prefect server, then the alert
    blocks and automations (`register_alerts`).
    Returns [(full name, deployment id)] and [("automation '<name>'", id)]."""
    from prefect import Flow
    from prefect import deploy as prefect_deploy
    from prefect.schedules import Cron

    if not api_url():
        raise DeployError("no Prefect server configured: start one (`make prefect-server`) "
                          "and set PREFECT_API_URL, e.g. http://127.0.0.1:4200/api")
    specs = deployment_specs() if specs is None else specs
    ensure_work_pool(pool)
    # The code's folder (ENTRYPOINT lies in it), not project_dir(): a project made by
    # `satudata init` holds no code; its files reach the runs via SATUDATA_PROJECT.
    pipeline_flow = Flow.from_source(source=str(PROJECT_ROOT), entrypoint=ENTRYPOINT)
    deployments = [
        pipeline_flow.to_deployment(
            name=spec.name,
            work_pool_name=pool,
            schedules=[Cron(spec.cron, timezone=TIMEZONE)] if spec.cron else None,
            parameters=spec.parameters,
            description=spec.description,
            tags=list(spec.tags),
        )
        for spec in specs
    ]
    ids = prefect_deploy(*deployments, work_pool_name=pool, build=False, push=False,
                         print_next_steps_message=False, ignore_warnings=True)
    registered = [(spec.full_name, str(i)) for spec, i in zip(specs, ids, strict=True)]
    from flows.automations import register_alerts

    return registered + [(f"automation '{name}'", i) for name, i in register_alerts()]


def worker_argv(pool: str = POOL, limit: int | None = None, name: str | None = None
                ) -> list[str]:
    """`prefect worker start` for a process worker of the pool (creates it if missing)."""
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "prefect"
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "prefect"]
    argv += ["worker", "start", "--pool", pool, "--type", "process"]
    if limit:
        argv += ["--limit", str(limit)]
    if name:
        argv += ["--name", name]
    return argv


def worker_environment() -> dict[str, str]:
    """The worker's environment, passed on to each flow run: state and registry paths
    made absolute (flow runs start in the folder holding `flows`), Prefect kept offline."""
    env = dict(os.environ)
    settings = Settings.from_env()
    env["SATUDATA_HOME"] = str(settings.home)
    env["SATUDATA_FEEDS"] = str(settings.feeds_file)
    if env.get("SATUDATA_PROJECT"):
        env["SATUDATA_PROJECT"] = str(project_dir())
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return env
