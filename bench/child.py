"""What the benchmark runs in its subprocesses (one measured step each, so the wall time
and peak memory are those of the step alone):

    python -m bench.child duckdb   <workload.json> <database>
    python -m bench.child pandas   <workload.json> <database>
    python -m bench.child stages   <workload.json> <home>
    python -m bench.child flow     <workload.json> <home>
    python -m bench.child prefect
    python -m bench.child catalogue <site> <slug> <renders>
    python -m bench.child validation-prep <workload.json> <folder>
    python -m bench.child validation <folder> <sql|pandas> <month|year>

Each writes its result as JSON to $BENCH_RESULT. `workload.json` lists the aduan files
with each regency's delimiter, and the feed registry. The validation steps (Great
Expectations' SQL path against its pandas path) live in bench/validation_paths.py.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def _write(result: dict) -> None:
    target = os.environ.get("BENCH_RESULT")
    if target:
        Path(target).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    else:
        print(json.dumps(result, indent=1, default=str))


def _workload(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _fresh_db(path: str) -> Path:
    db = Path(path)
    db.parent.mkdir(parents=True, exist_ok=True)
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    return db


# --- baselines -----------------------------------------------------------------------------


def baseline_duckdb(work: dict, database: str) -> dict:
    """The practical limit: DuckDB's own CSV reader (types detected), each regency's 12
    monthly files into one table of a database file, as a user would write it."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(_fresh_db(database)))
    rows = 0
    for regency, entry in sorted(work["regencies"].items()):
        table = "aduan_" + regency.replace(".", "_")
        con.execute(f"create table {table} as select * from read_csv(?, delim = ?, "
                    "header = true)", [entry["files"], entry["delimiter"]])
        rows += con.execute(f"select count(*) from {table}").fetchone()[0]
    con.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def baseline_pandas(work: dict, database: str) -> dict:
    """What a user would otherwise write: pandas.read_csv each file, then insert the frame
    into a DuckDB table."""
    import duckdb
    import pandas as pd

    started = time.perf_counter()
    con = duckdb.connect(str(_fresh_db(database)))
    rows = 0
    for regency, entry in sorted(work["regencies"].items()):
        table = "aduan_" + regency.replace(".", "_")
        for i, path in enumerate(entry["files"]):
            frame = pd.read_csv(path, sep=entry["delimiter"])
            con.register("frame", frame)
            if i == 0:
                con.execute(f"create table {table} as select * from frame")
            else:
                con.execute(f"insert into {table} select * from frame")
            con.unregister("frame")
            rows += len(frame)
            del frame
    con.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


# --- the pipeline's stages, called directly (no Prefect) -----------------------------------


def stages(work: dict, home: str) -> dict:
    """The flow's stages in order, by their own functions (the task bodies, `.fn`, with
    the run logger disabled), each timed: receive (hash + snapshot), per feed load +
    validation + accept, dbt (parse, build, docs), publication. Inside, flows.timing
    splits load and validation."""
    from prefect.logging import disable_run_logger

    from flows import pipeline, timing
    from flows.registry import load_registry
    from flows.settings import Settings
    from flows.warehouse import banten_regency_codes, initialise

    settings = Settings(home=Path(home), feeds_file=Path(work["feeds"]))
    settings.ensure_dirs()
    out: dict = {"feeds": {}}
    start_totals = timing.totals()
    t0 = time.perf_counter()
    with disable_run_logger():
        registry = load_registry(settings.feeds_file)
        initialise(settings.warehouse, registry.datasets, settings.reference_dir)
        # the flow's own bookkeeping tables (its helper was renamed once; either name)
        for name in ("_ensure_meta_tables", "_ensure_quality_table"):
            if hasattr(pipeline, name):
                getattr(pipeline, name)(settings)
                break
        codes = banten_regency_codes(settings.warehouse)
        try:   # (settings, feeds) -> (known, retry) since quarantined files are retried
            known, _ = pipeline._known_hashes(settings, registry.feeds)
        except TypeError:
            known = pipeline._known_hashes(settings)
        # the dataset as the flow ingests it (canonical values from the suites, if any)
        canonical = getattr(pipeline, "with_canonical_values", lambda spec: spec)
        out["setup_s"] = time.perf_counter() - t0
        run_id = "bench-stages"
        # as the flow does: one GX validator for every feed, closed before dbt
        validation = pipeline.shared_validation(settings)
        validation.__enter__()
        for feed in registry.feeds:
            spec = canonical(registry.datasets[feed.dataset])
            before = timing.totals()
            t = time.perf_counter()
            received, skipped = pipeline.receive_feed.fn(settings, feed, known)
            t_receive = time.perf_counter() - t
            t = time.perf_counter()
            summary = pipeline.ingest_feed.fn(settings, feed, spec, received, codes, run_id)
            t_ingest = time.perf_counter() - t
            after = timing.totals()

            def delta(stage, before=before, after=after):
                return (after.get(stage, {}).get("seconds", 0.0)
                        - before.get(stage, {}).get("seconds", 0.0))

            out["feeds"][feed.id] = {
                "dataset": feed.dataset, "files": len(received), "rows": summary.rows,
                "accepted": summary.accepted, "quarantined": summary.quarantined,
                "receive_s": t_receive, "process_s": t_ingest,
                "load_s": delta("ingest.load"), "validate_s": delta("validate"),
                "reasons": summary.reasons[:3],
            }
        t = time.perf_counter()
        validation.__exit__(None, None, None)
        out["ingest_close_s"] = time.perf_counter() - t   # the final checkpoint
        t = time.perf_counter()
        dbt = pipeline.dbt_build.fn(settings)
        out["dbt_s"] = time.perf_counter() - t
        out["dbt_build_s"] = dbt["elapsed_s"]
        out["dbt_nodes"] = dbt["nodes"]
        t = time.perf_counter()
        published = pipeline.publish_all.fn(settings)
        out["publish_s"] = time.perf_counter() - t
        out["published"] = {p.slug: p.status for p in published}
    out["total_s"] = time.perf_counter() - t0
    out["timings"] = timing.since(start_totals)
    return out


# --- the real flow -------------------------------------------------------------------------


def flow(work: dict, home: str) -> dict:
    """`satudata run` itself (flows.cli), in this process: without a configured Prefect
    API the embedded server starts, the flow runs, the server stops. flows.timing gives
    the stage times."""
    started = time.time()
    saved = {k: os.environ.get(k) for k in ("SATUDATA_HOME", "SATUDATA_FEEDS")}
    os.environ["SATUDATA_HOME"] = home
    os.environ["SATUDATA_FEEDS"] = work["feeds"]
    try:
        from flows import cli, timing

        before = timing.totals()
        imported = time.time()
        code = cli.main(["run"])
        finished = time.time()
        marks = timing.marks()
        totals = timing.since(before)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    return {"returncode": code, "started": started, "imported": imported,
            "finished": finished, "timings": totals, "marks": marks,
            "summary": _last_run_summary(Path(home))}


def _last_run_summary(home: Path) -> dict | None:
    import duckdb

    db = home / "warehouse.duckdb"
    if not db.exists():
        return None
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("select summary from meta.runs order by started_at desc, "
                          "finished_at desc limit 1").fetchone()
    finally:
        con.close()
    return json.loads(row[0]) if row else None


def prefect_overhead() -> dict:
    """An empty flow in a fresh process: the embedded Prefect server's start and stop."""
    started = time.time()
    from prefect import flow as prefect_flow

    imported = time.time()

    @prefect_flow(name="bench-empty")
    def empty() -> int:
        return 1

    t = time.time()
    empty()
    return {"import_s": imported - started, "empty_flow_s": time.time() - t}


# --- the catalogue -------------------------------------------------------------------------


def catalogue(site: str, slug: str, renders: int) -> dict:
    """Render the dataset page with Streamlit's AppTest: the first render in this process
    (cold: imports, reading the release) and `renders` more (warm, caches filled)."""
    saved = os.environ.get("SATUDATA_SITE")
    os.environ["SATUDATA_SITE"] = site
    try:
        import streamlit as st
        from streamlit.testing.v1 import AppTest

        from flows.settings import PROJECT_ROOT

        st.cache_data.clear()
        app = str(PROJECT_ROOT / "app" / "catalogue.py")
        times, problems, shown = [], [], 0
        for _ in range(1 + renders):
            at = AppTest.from_file(app, default_timeout=60)
            at.query_params["dataset"] = slug
            t = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t)
            if at.exception:
                problems.append(str(at.exception[0].value)[:500])
            shown = len(at.dataframe)
        st.cache_data.clear()
    finally:
        os.environ.pop("SATUDATA_SITE", None) if saved is None else os.environ.__setitem__(
            "SATUDATA_SITE", saved)
    return {"cold_s": times[0], "warm_s": times[1:], "exceptions": problems,
            "dataframes": shown}


STEPS = {
    "duckdb": lambda a: baseline_duckdb(_workload(a[0]), a[1]),
    "pandas": lambda a: baseline_pandas(_workload(a[0]), a[1]),
    "stages": lambda a: stages(_workload(a[0]), a[1]),
    "flow": lambda a: flow(_workload(a[0]), a[1]),
    "prefect": lambda a: prefect_overhead(),
    "catalogue": lambda a: catalogue(a[0], a[1], int(a[2])),
    "validation-prep": lambda a: _validation().prepare(_workload(a[0]), a[1]),
    "validation": lambda a: _validation().run_path(a[0], a[1], a[2]),
}


def _validation():
    from bench import validation_paths

    return validation_paths


def main(argv: list[str]) -> int:
    kind, *args = argv
    if kind not in STEPS:
        raise SystemExit(f"unknown step {kind!r} (one of {', '.join(STEPS)})")
    _write(STEPS[kind](args))
    if kind == "flow":
        # End as the `satudata` command does after a run (flows.cli.entry): no teardown.
        from flows.process_exit import exit_now

        exit_now(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
