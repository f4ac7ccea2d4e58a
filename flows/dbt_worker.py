"""A dbt process started ahead of time: `python -m flows.dbt_worker`.

It imports dbt (~2 s of every dbt command on this machine, before dbt does anything),
then waits for one command on stdin (a JSON list of arguments, as after `dbt`), runs it
as the `dbt` CLI would (dbt's programmatic entry point, `dbtRunner`) and exits with the
CLI's code: 0 success, 1 a node failed, 2 dbt could not run. An empty line (or a closed
stdin) ends it without running anything.

flows/transform.py starts one while the pipeline receives and ingests, and hands it the
next dbt command. Still one dbt command per process (dbt-duckdb keeps its connection,
and the warehouse's lock, for the life of the process), and it never opens the
warehouse before it is given its command, which comes once ingestion has let go of it.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    import dbt.adapters.duckdb  # noqa: F401  (the adapter's plugin, loaded by the command)
    from dbt.cli.main import dbtRunner  # the time this process exists to spend early

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    args = json.loads(line)
    result = dbtRunner().invoke(args)
    if result.exception is not None:
        print(f"dbt {' '.join(args)}: {type(result.exception).__name__}: "
              f"{result.exception}", file=sys.stderr)
        return 2
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
