"""Operating commands: `satudata deploy`, `worker`, `status`, `backup`, `restore`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flows.commands.prefect_env import quiet_prefect_defaults
from flows.settings import Settings


def cmd_deploy(args: argparse.Namespace) -> int:
    from flows.deploy import DeployError, api_url, deploy, deployment_specs

    specs = deployment_specs()
    if args.list:
        for spec in specs:
            schedule = f"cron '{spec.cron}'" if spec.cron else "no schedule"
            print(f"{spec.full_name:46} {schedule:22} parameters {spec.parameters}")
        return 0
    quiet_prefect_defaults()
    try:
        deployed = deploy(pool=args.pool, specs=specs)
    except DeployError as e:
        print(f"satudata deploy: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        print(f"satudata deploy: could not register on {api_url()}: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    print(f"work pool '{args.pool}' (process) on {api_url()}; deployments:")
    for name, deployment_id in deployed:
        print(f"  {name:46} {deployment_id}")
    print(f"\nStart a worker: satudata worker --pool {args.pool}   (make worker)\n"
          "Run one now:    prefect deployment run satudata-pipeline/on-demand "
          "--params '{\"regency\": \"36.73\", \"dataset\": \"penduduk\"}'")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from flows.deploy import api_url, worker_argv, worker_environment

    quiet_prefect_defaults()
    if not api_url():
        print("satudata worker: no Prefect server configured: start one (`make "
              "prefect-server`) and set PREFECT_API_URL, e.g. http://127.0.0.1:4200/api",
              file=sys.stderr)
        return 2
    env = worker_environment()
    argv = worker_argv(args.pool, args.limit, args.name)
    print(f"process worker for pool '{args.pool}' on {api_url()} "
          f"(SATUDATA_HOME={env['SATUDATA_HOME']}, SATUDATA_FEEDS={env['SATUDATA_FEEDS']})",
          flush=True)
    os.execve(argv[0], argv, env)
    return 0  # not reached


def cmd_status(args: argparse.Namespace) -> int:
    from flows.registry import load_registry
    from flows.status import feed_status

    settings = Settings.from_env()
    if not settings.warehouse.exists():
        print(f"no warehouse at {settings.warehouse} yet: run `satudata run` first")
        return 1
    rows = feed_status(settings, load_registry(settings.feeds_file))
    header = (f"{'feed':44} {'last received':20} {'last period':12} {'timeliness':10} "
              f"{'last file':12} {'quality (ok/fail/warn)':22}")
    print(header)
    print("-" * len(header))
    late = 0
    for r in rows:
        q = r["last_quality"]
        quality = f"{q['passed']}/{q['failed']}/{q['warnings']}" if q else "-"
        received = str(r["last_received_at"] or "never")[:19]
        late += r["timeliness"] in ("late", "never")
        print(f"{r['feed_id']:44} {received:20} {str(r['last_accepted_period'] or '-'):12} "
              f"{r['timeliness']:10} {str(r['last_status'] or '-'):12} {quality:22}")
    print(f"\n{len(rows)} feeds, {late} late or never received")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from flows.backup import BackupError, backup

    try:
        path = backup(Settings.from_env(), Path(args.dest))
    except BackupError as e:
        print(f"satudata backup: {e}", file=sys.stderr)
        return 1
    print(f"backup written: {path} ({path.stat().st_size / 1024**2:.1f} MB)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from flows.backup import BackupError, restore

    settings = Settings.from_env()
    try:
        info = restore(settings, Path(args.archive), force=args.force)
    except BackupError as e:
        print(f"satudata restore: {e}", file=sys.stderr)
        return 1
    print(f"restored {info['files']} files from the backup of {info['created_at']} into "
          f"{settings.home}; run `satudata run` to rebuild site/")
    return 0

