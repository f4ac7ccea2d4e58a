"""`satudata`: the command line of Satu Data Banten.

    satudata run [--regency 36.71] [--dataset penduduk]   the whole pipeline
    satudata serve [streamlit options]                     the catalogue on :8501
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="satudata", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole pipeline on the configured feeds")
    run.add_argument("--regency", help="only this regency's feeds, e.g. 36.71")
    run.add_argument("--dataset", help="only this dataset's feeds, e.g. penduduk")
    sub.add_parser("serve", help="start the catalogue (Streamlit); other options pass through",
                   add_help=False)
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        return cmd_serve(extra)
    if extra:
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
