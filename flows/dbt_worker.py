"""The process every dbt command runs in: `python -m flows.dbt_worker`.

It imports dbt (~2 s of every dbt command on this machine, before dbt does anything),
then waits for one command on stdin (a JSON list of arguments, as after `dbt`), runs it
as the `dbt` CLI would (dbt's programmatic entry point, `dbtRunner`) and exits with the
CLI's code: 0 success, 1 a node failed, 2 dbt could not run. An empty line (or a closed
stdin) ends it without running anything.

flows/transform.py runs every dbt command in one (started ahead of time, while the
pipeline receives and ingests, when it can). Still one dbt command per process: it never
opens the warehouse before it is given its command, which comes once ingestion has let go
of it. When the command ends, it closes dbt-duckdb's connection (kept for the life of the
process otherwise: the warehouse's lock and its last checkpoint) and leaves without the
interpreter's teardown of dbt's modules (~0.4 s of every dbt command here).
"""

from __future__ import annotations

import json
import logging
import os
import sys


def main() -> int:
    import dbt.adapters.duckdb  # noqa: F401  (the adapter's plugin, loaded by the command)
    from dbt.cli.main import dbtRunner  # the time this process exists to spend early

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    args = json.loads(line)
    result = dbtRunner().invoke(args)
    release_warehouse()
    if result.exception is not None:
        print(f"dbt {' '.join(args)}: {type(result.exception).__name__}: "
              f"{result.exception}", file=sys.stderr)
        return 2
    return 0 if result.success else 1


def release_warehouse() -> None:
    """Close dbt-duckdb's database connection: its last checkpoint is written and the
    warehouse's lock released before this process says it is done."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def exit_now(code: int) -> None:
    """Leave with `code` once the logs are flushed, without tearing dbt's modules down."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
