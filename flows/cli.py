"""`satudata`: the command line of Satu Data Banten.

    satudata run [--regency 36.71] [--dataset penduduk]   the whole pipeline
    satudata serve [streamlit options]                     the catalogue on :8501
    satudata status                                        per feed: received, accepted, late?
    satudata feeds validate [--file data/feeds.yml]        check the feed registry
    satudata hash-password                                 a password hash for the officials' view
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flows.settings import PROJECT_ROOT, Settings

APP = PROJECT_ROOT / "app" / "catalogue.py"


def _quiet_prefect_defaults() -> None:
    # Keep the embedded Prefect server offline and quiet unless the user configured one.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")


def cmd_run(args: argparse.Namespace) -> int:
    _quiet_prefect_defaults()
    from flows.pipeline import pipeline

    try:
        pipeline(regency=args.regency, dataset=args.dataset)
    except Exception as e:
        print(f"satudata run: {e}", file=sys.stderr)
        return 1
    return 0


def link_static(settings: Settings) -> Path:
    """Serve `site/` at /app/static/ (Streamlit serves `static/` beside the main script)."""
    settings.site_dir.mkdir(parents=True, exist_ok=True)
    static = APP.parent / "static"
    if static.is_symlink() or not static.exists():
        tmp = static.with_name(".static.tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(settings.site_dir, target_is_directory=True)
        os.replace(tmp, static)
    return static


def streamlit_argv(extra: list[str]) -> list[str]:
    defaults = {
        "--server.port": "8501",
        "--server.headless": "true",
        "--server.enableStaticServing": "true",
        "--browser.gatherUsageStats": "false",
    }
    given = {a.split("=", 1)[0] for a in extra if a.startswith("--")}
    argv = ["streamlit", "run", str(APP)]
    for k, v in defaults.items():
        if k not in given:
            argv += [k, v]
    return argv + extra


def cmd_serve(extra: list[str]) -> int:
    settings = Settings.from_env()
    link_static(settings)
    os.environ["SATUDATA_SITE"] = str(settings.site_dir)
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
        print(f"feed registry is NOT valid:\n  {e}", file=sys.stderr)
        return 1
    missing = [f.id for f in registry.feeds if f.channel == "landing" and not f.files()]
    print(f"{path}: valid: {len(registry.datasets)} datasets, {len(registry.feeds)} feeds")
    for feed_id in missing:
        print(f"  note: feed {feed_id} has no file in its landing folder yet")
    return 0


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
    print("Add to .streamlit/secrets.toml (in the folder you start `satudata serve` from):")
    print(f'[officials.users]\n{args.user} = "{hash_password(password)}"')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="satudata", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline on the configured feeds")
    run.add_argument("--regency", help="only this regency's feeds, e.g. 36.71")
    run.add_argument("--dataset", help="only this dataset's feeds, e.g. penduduk")
    sub.add_parser("serve", help="start the catalogue (Streamlit); other options pass through",
                   add_help=False)
    sub.add_parser("status", help="per feed: last received and accepted, late or not, quality")
    feeds = sub.add_parser("feeds", help="the feed registry")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    validate = feeds_sub.add_parser("validate", help="check the registry; name what is wrong")
    validate.add_argument("--file", help="registry to check (default: $SATUDATA_FEEDS or "
                                         "data/feeds.yml)")
    hp = sub.add_parser("hash-password", help="print a password hash for the officials' view")
    hp.add_argument("--user", default="walidata", help="user name (default: walidata)")
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        return cmd_serve(extra)
    if extra:
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    commands = {"run": cmd_run, "status": cmd_status, "hash-password": cmd_hash_password}
    if args.command == "feeds":
        return cmd_feeds_validate(args)
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
