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
    satudata init DIR                                      write a starter project into DIR
"""

from __future__ import annotations

import argparse
import sys

from flows.commands import accounts, init_project, operations, pipeline_runs, serving
from flows.commands import feeds as feed_commands
from flows.process_exit import exit_now


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
    ini = sub.add_parser("init", help="write a starter project (dbt project, suites, sample "
                                      "registry and data) into DIR, a new or empty folder")
    ini.add_argument("dir", metavar="DIR", help="the folder to create")
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        return serving.cmd_serve(extra)
    if extra:
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    commands = {"run": pipeline_runs.cmd_run, "backfill": pipeline_runs.cmd_backfill,
                "deploy": operations.cmd_deploy, "worker": operations.cmd_worker,
                "status": operations.cmd_status, "backup": operations.cmd_backup,
                "restore": operations.cmd_restore, "hash-password": accounts.cmd_hash_password,
                "init": init_project.cmd_init}
    if args.command == "feeds":
        if args.feeds_command == "try":
            return feed_commands.cmd_feeds_try(args)
        return feed_commands.cmd_feeds_validate(args)
    return commands[args.command](args)


def entry() -> None:
    """The `satudata` command."""
    code = main()
    if sys.argv[1:2] in (["run"], ["backfill"]):
        exit_now(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
