"""`satudata`: the command line of Satu Data Banten.

    satudata run [--regency 36.71] [--dataset penduduk]   the whole pipeline
    satudata backfill --dataset aduan --from 2024-03 --to 2024-04 [--regency 36.73]
                                                           re-process received snapshots
    satudata deploy [--list]                               register the Prefect deployments
    satudata worker                                        a process worker for them
    satudata serve [streamlit options]                     the catalogue on :8501
    satudata status                                        per feed: received, accepted, late?
    satudata feeds validate [--file data/feeds.yml]        check the feed registry
    satudata feeds try FILE --dataset D [--regency R | --feed ID]
                                                           read a regency's file with the
                                                           registry's rules, propose its entry
    satudata hash-password                                 a password hash for the officials' view
    satudata backup DEST / satudata restore ARCHIVE        warehouse and raw snapshots
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from pathlib import Path

from flows.settings import PROJECT_ROOT, Settings

APP = PROJECT_ROOT / "app" / "catalogue.py"
SERVER = PROJECT_ROOT / "app" / "server.py"   # the ASGI app serving APP and the site


def _quiet_prefect_defaults() -> None:
    # Keep the embedded Prefect server offline and quiet unless the user configured one;
    # DO_NOT_TRACK is the client side (Prefect's SDK telemetry, dbt's usage statistics).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")


def cmd_run(args: argparse.Namespace) -> int:
    _quiet_prefect_defaults()
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
    return _exit_code("satudata run", result)


def _exit_code(command: str, result: dict) -> int:
    """0 only for a run that was a success; 3 for one that completed with errors (a
    feed not received, a file the pipeline failed on, a dataset not published)."""
    from flows.pipeline import EXIT_CODES

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
    _quiet_prefect_defaults()
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
    return _exit_code("satudata backfill", result)


def cmd_deploy(args: argparse.Namespace) -> int:
    from flows.deploy import DeployError, api_url, deploy, deployment_specs

    specs = deployment_specs()
    if args.list:
        for spec in specs:
            schedule = f"cron '{spec.cron}'" if spec.cron else "no schedule"
            print(f"{spec.full_name:46} {schedule:22} parameters {spec.parameters}")
        return 0
    _quiet_prefect_defaults()
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

    _quiet_prefect_defaults()
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


def streamlit_argv(extra: list[str]) -> list[str]:
    """`streamlit run app/server.py` with our defaults for the options not in `extra`.
    app/server.py holds the catalogue's ASGI app (`streamlit.App`), which serves the site
    itself: Streamlit's own static serving stays off."""
    defaults = {
        "--server.port": "8501",
        "--server.headless": "true",
        "--server.enableStaticServing": "false",
        "--browser.gatherUsageStats": "false",
    }
    given = {a.split("=", 1)[0] for a in extra if a.startswith("--")}
    argv = ["streamlit", "run", str(SERVER)]
    for k, v in defaults.items():
        if k not in given:
            argv += [k, v]
    return argv + extra


def cmd_serve(extra: list[str]) -> int:
    """The catalogue and the published site (at /app/static/), one ASGI app under uvicorn
    (app/server.py); `extra` are Streamlit server options (`--server.port 8502`)."""
    settings = Settings.from_env()
    settings.site_dir.mkdir(parents=True, exist_ok=True)
    os.environ["SATUDATA_SITE"] = str(settings.site_dir)
    # The officials' view reads the internal tree on the server, after login.
    os.environ["SATUDATA_INTERNAL"] = str(settings.internal_dir)
    if (settings.site_dir / "meta").exists():
        # Older versions published the officials' files there; the next run removes it.
        print(f"warning: {settings.site_dir / 'meta'} holds officials' status files "
              "published by an older version and is served to anyone: run `satudata run` "
              "(which removes it) or delete it", file=sys.stderr, flush=True)
    from streamlit.web import cli as stcli

    sys.argv = streamlit_argv(extra)
    print(f"Satu Data Banten catalogue: http://localhost:"
          f"{_port(sys.argv)} (site: {settings.site_dir})", flush=True)
    return stcli.main()


def _port(argv: list[str]) -> str:
    for i, a in enumerate(argv):
        if a == "--server.port":
            return argv[i + 1]
        if a.startswith("--server.port="):
            return a.split("=", 1)[1]
    return "8501"


def cmd_feeds_validate(args: argparse.Namespace) -> int:
    from flows.registry import RegistryError, load_registry

    path = Path(args.file) if args.file else Settings.from_env().feeds_file
    try:
        registry = load_registry(path)
    except RegistryError as e:
        problems = "\n".join(f"  {line}" for line in str(e).splitlines())
        print(f"feed registry is NOT valid:\n{problems}", file=sys.stderr)
        return 1
    missing = [f.id for f in registry.feeds if f.channel == "landing" and not f.files()]
    print(f"{path}: valid: {len(registry.datasets)} datasets, {len(registry.feeds)} feeds")
    for feed_id in missing:
        print(f"  note: feed {feed_id} has no file in its landing folder yet")
    return 0


def cmd_feeds_try(args: argparse.Namespace) -> int:
    """`satudata feeds try`: read a file as a feed would, in a throwaway warehouse, and
    propose (or check) its registry entry (flows/onboard.py)."""
    from flows.onboard import TryRequest, UsageError, parse_header_rows, try_file

    try:
        header_rows = parse_header_rows(args.header_rows) if args.header_rows else None
    except UsageError as e:
        print(f"satudata feeds try: {e}", file=sys.stderr)
        return 2
    # a tab is hard to type on a command line: "tab" or "\t" mean one
    delimiter = {"tab": "\t", "\\t": "\t"}.get(args.delimiter, args.delimiter)
    request = TryRequest(
        file=Path(args.file), dataset=args.dataset, regency=args.regency,
        feed_id=args.feed, registry=Path(args.registry) if args.registry else None,
        sheet=args.sheet, header_rows=header_rows, delimiter=delimiter, rows=args.rows)
    return try_file(request)


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


def cmd_hash_password(args: argparse.Namespace) -> int:
    import getpass

    from app.auth import hash_password

    password = getpass.getpass("Password for the officials' view: ")
    if len(password) < 10:
        print("use at least 10 characters", file=sys.stderr)
        return 1
    if getpass.getpass("Again: ") != password:
        print("the two passwords differ", file=sys.stderr)
        return 1
    import json
    import secrets

    print("Add to .streamlit/secrets.toml (in the folder you start `satudata serve` from);")
    print("keep an existing session_secret (a new one logs every official out):")
    print("[officials]\nsession_secret = " + json.dumps(secrets.token_urlsafe(48)) + "\n")
    print(f'[officials.users]\n{args.user} = "{hash_password(password)}"')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="satudata", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline on the configured feeds")
    run.add_argument("--regency", help="only this regency's feeds, e.g. 36.71")
    run.add_argument("--dataset", help="only this dataset's feeds, e.g. penduduk")
    lock_help = ("seconds to wait for a run already in progress on this SATUDATA_HOME "
                 "(default $SATUDATA_LOCK_TIMEOUT_S or 10800)")
    run.add_argument("--lock-timeout", type=float, metavar="SECONDS", help=lock_help)
    bf = sub.add_parser("backfill", help="re-process the received snapshots of a dataset whose "
                                         "period lies in a range (after a rule or reader fix)")
    bf.add_argument("--dataset", required=True, help="the dataset, e.g. aduan")
    bf.add_argument("--from", dest="period_from", required=True, metavar="PERIOD",
                    help="first period: 2024 (year), 2024-S2 (semester), 2024-Q3 "
                         "(quarter), 2024-03 (month), 2024-03-15 (day)")
    bf.add_argument("--to", dest="period_to", required=True, metavar="PERIOD",
                    help="last period, same forms (inclusive)")
    bf.add_argument("--regency", help="only this regency's snapshots, e.g. 36.73")
    bf.add_argument("--lock-timeout", type=float, metavar="SECONDS", help=lock_help)
    dp = sub.add_parser("deploy", help="create the work pool and register the Prefect "
                                       "deployments (needs PREFECT_API_URL)")
    dp.add_argument("--pool", default="satudata", help="work pool (default: satudata)")
    dp.add_argument("--list", action="store_true",
                    help="only print the deployments, contact no server")
    wk = sub.add_parser("worker", help="start a Prefect process worker for the pool "
                                       "(needs PREFECT_API_URL)")
    wk.add_argument("--pool", default="satudata", help="work pool (default: satudata)")
    wk.add_argument("--limit", type=int, help="at most this many flow runs at once")
    wk.add_argument("--name", help="worker name (default: generated)")
    sub.add_parser("serve", help="start the catalogue (Streamlit); other options pass through",
                   add_help=False)
    sub.add_parser("status", help="per feed: last received and accepted, late or not, quality")
    feeds = sub.add_parser("feeds", help="the feed registry")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    validate = feeds_sub.add_parser("validate", help="check the registry; name what is wrong")
    validate.add_argument("--file", help="registry to check (default: $SATUDATA_FEEDS or "
                                         "data/feeds.yml)")
    trial = feeds_sub.add_parser(
        "try", help="read a regency's file with the registry's rules, without touching the "
                    "warehouse; show the mapping, a preview and a feed entry to paste")
    trial.add_argument("file", metavar="FILE", help="the file the regency sent")
    trial.add_argument("--dataset", metavar="D", required=True, help="its dataset, e.g. penduduk")
    who = trial.add_mutually_exclusive_group()
    who.add_argument("--regency", metavar="R",
                     help="the regency that sent it, e.g. 36.04 (36: province-wide); "
                          "a new entry is proposed")
    who.add_argument("--feed", metavar="ID",
                     help="try this feed's own entry instead, e.g. kab-lebak.penduduk")
    trial.add_argument("--registry", metavar="PATH",
                       help="the feed registry (default: $SATUDATA_FEEDS or data/feeds.yml)")
    trial.add_argument("--sheet", metavar="NAME", help="XLSX sheet (default: the first)")
    trial.add_argument("--header-rows", metavar="ROWS",
                       help="the header's row numbers, e.g. 5 or 5,6 (default: found)")
    trial.add_argument("--delimiter", metavar="CHAR",
                       help="CSV field separator, e.g. ';' or tab (default: sniffed)")
    trial.add_argument("--rows", metavar="N", type=int, default=10,
                       help="typed rows to preview (default 10)")
    hp = sub.add_parser("hash-password", help="print a password hash for the officials' view")
    hp.add_argument("--user", default="walidata", help="user name (default: walidata)")
    bk = sub.add_parser("backup", help="back up the warehouse and raw snapshots into a tar")
    bk.add_argument("dest", help="folder for satudata-backup-<time>.tar")
    rs = sub.add_parser("restore", help="restore a backup into $SATUDATA_HOME")
    rs.add_argument("archive", help="a satudata-backup-*.tar")
    rs.add_argument("--force", action="store_true", help="replace an existing warehouse")
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        return cmd_serve(extra)
    if extra:
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    commands = {"run": cmd_run, "backfill": cmd_backfill, "deploy": cmd_deploy,
                "worker": cmd_worker, "status": cmd_status, "hash-password": cmd_hash_password,
                "backup": cmd_backup, "restore": cmd_restore}
    if args.command == "feeds":
        if args.feeds_command == "try":
            return cmd_feeds_try(args)
        return cmd_feeds_validate(args)
    return commands[args.command](args)


def exit_now(code: int) -> None:
    """End the process without the interpreter's teardown. After a run, with Great
    Expectations, Prefect, dbt's worker handle and pandas loaded, tearing the modules
    down took ~0.9 s of every run (bench/README.md), after all was done: a run closes its
    connections and files, stops its temporary Prefect server and sends its logs before
    `main` returns. The streams and logging are flushed here."""
    import atexit
    import logging

    # What the interpreter does at exit before it tears the modules down: wait for the
    # threads (and run what libraries registered for then: Prefect drains its log and
    # event workers), then the atexit functions (Prefect stops a server it started).
    threading._shutdown()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def entry() -> None:
    """The `satudata` command."""
    code = main()
    if sys.argv[1:2] in (["run"], ["backfill"]):
        exit_now(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
