"""`satudata run` and `satudata backfill`: a pipeline run, and its exit code."""

from __future__ import annotations

import argparse
import sys
import threading

from flows.commands.prefect_env import quiet_prefect_defaults
from flows.settings import Settings


def cmd_run(args: argparse.Namespace) -> int:
    quiet_prefect_defaults()
    from flows.prefect_local import temporary_server

    # Without a configured Prefect server, a temporary one starts first, in a subprocess
    # (flows/prefect_local.py), while this process imports the pipeline and Great
    # Expectations (~3.5 s of imports, in a thread started once Prefect and the pipeline's
    # own modules are imported, so the two threads never import the same modules at once).
    with temporary_server() as server:
        from flows.pipeline import pipeline
        from flows.quality import warm_up

        threading.Thread(target=warm_up, name="gx-import", daemon=True).start()
        try:
            with server.ready():
                result = pipeline(regency=args.regency, dataset=args.dataset,
                                  lock_timeout_s=args.lock_timeout)
        except Exception as e:
            print(f"satudata run: {e}", file=sys.stderr)
            return 1
    return exit_code("satudata run", result)


def exit_code(command: str, result: dict) -> int:
    """0 only for a run that was a success; 3 for one that completed with errors (a
    feed not received, a file the pipeline failed on, a dataset not published)."""
    from flows.report import EXIT_CODES

    status = result.get("status", "failed")
    code = EXIT_CODES.get(status, 1)
    if code:
        print(f"{command}: {status.replace('_', ' ')} (exit {code})", file=sys.stderr)
    return code


def cmd_backfill(args: argparse.Namespace) -> int:
    from flows.common.periods import PeriodError, PeriodRange
    from flows.registry import RegistryError, load_registry

    try:
        PeriodRange.parse(args.period_from, args.period_to)
        registry = load_registry(Settings.from_env().feeds_file)
    except (PeriodError, RegistryError) as e:
        print(f"satudata backfill: {e}", file=sys.stderr)
        return 2
    if args.dataset not in registry.datasets:
        print(f"satudata backfill: unknown dataset '{args.dataset}' "
              f"(known: {', '.join(sorted(registry.datasets))})", file=sys.stderr)
        return 2
    quiet_prefect_defaults()
    from flows.prefect_local import temporary_server

    with temporary_server() as server:
        from flows.pipeline import pipeline

        try:
            with server.ready():
                result = pipeline(regency=args.regency, dataset=args.dataset,
                                  backfill_from=args.period_from, backfill_to=args.period_to,
                                  lock_timeout_s=args.lock_timeout)
        except Exception as e:
            print(f"satudata backfill: {e}", file=sys.stderr)
            return 1
    return exit_code("satudata backfill", result)

