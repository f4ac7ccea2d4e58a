"""The benchmark: `python -m bench.run --sizes 1000000,10000000` (`make bench`).

For each size it writes synthetic complaint submissions of all 8 regencies (their real
shapes, as CSV) under a scratch folder, with a feed registry that also carries the real
population and indicator feeds, and measures side by side, each step in its own
subprocess (wall time, peak memory of the whole process tree):

- baselines: DuckDB's own `read_csv` of the same files into tables (the practical
  limit), and pandas `read_csv` + insert into DuckDB (what a user would otherwise write);
- the pipeline's stages called directly (no Prefect): receive (hash + snapshot), load,
  validation (Great Expectations), accept, dbt, publication;
- the real flow (`satudata run`, embedded Prefect server) on a fresh home; the Prefect
  server's own start/stop (an empty flow); a no-op re-run (nothing new); an incremental
  run (one regency sends one new month);
- the catalogue: Streamlit AppTest rendering the complaints dataset page (cold, warm);
- validation paths (bench/validation_paths.py): the aduan suite through Great
  Expectations' SQL path (flows.quality.Validator) and through its pandas engine (the
  batch read into a DataFrame), on the same batches loaded by the real ingest, one batch
  per file and one per regency-year: seconds per million rows and peak memory of each,
  and whether both give the same result on every batch, clean or broken.

`--steps` runs some of these only (e.g. `--steps validation`); such a partial run writes
bench/results/<timestamp>-<steps>.json and leaves latest.json and the README alone.

Results: bench/results/<timestamp>.json and latest.json, and the table in
bench/README.md (between the BENCH-RESULTS markers). Scratch data is deleted afterwards
unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bench import data, measure, validation_paths
from flows.settings import PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
DEFAULT_SCRATCH = Path("/tmp/satudata-bench")
LARGE = 5_000_000            # from this size on, the whole-run measures use --reps-large
CATALOGUE_SLUG = "aduan-masyarakat-bulanan"
MARK_BEGIN = "<!-- BENCH-RESULTS:BEGIN -->"
MARK_END = "<!-- BENCH-RESULTS:END -->"
STEPS = ("baselines", "stages", "flow", "prefect", "catalogue", "validation")

TARGETS = {
    "ingest_vs_duckdb": "≤ 1.5",
    "ingest_vs_pandas": "< 1",
    "validation_vs_ingest": "≤ 0.5",
    "full_run_s": "≤ 120 s",
    "peak_rss_mb": "≤ 2048 MB",
    "noop_run_s": "≤ 30 s",
    "incremental_vs_full": "≤ 0.2",
    "catalogue_page_s": "≤ 2 s",
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


# --- the machine ---------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for name in ("duckdb", "prefect", "great_expectations", "dbt-core", "dbt-duckdb",
                 "streamlit", "pandas", "pyarrow", "sqlalchemy"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing package is just not reported
            versions[name] = None
    return {"nproc": os.cpu_count(), "mem_gb": round(mem_kb / 1024**2, 1), "cpu": cpu,
            "kernel": platform.release(), "versions": versions}


# --- one size ------------------------------------------------------------------------------


IN_PROCESS = False   # the smoke test runs every step in its own process (see bench_size)


@contextlib.contextmanager
def prefect_server(root: Path) -> Iterator[str]:
    """A running `prefect server start` (what `make prefect-server` runs for the deployed,
    scheduled flows) on a free port, with its own PREFECT_HOME; yields its API URL."""
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PREFECT_HOME=str(root / "prefect-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    server_log = open(root / "prefect-server.log", "wb")   # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host",
         "127.0.0.1", "--port", str(port)], env=env, stdout=server_log,
        stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start (see {server_log.name})")
            time.sleep(0.5)
        yield url
    finally:
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        server_log.close()


def _step(label: str, argv: list[str], **kwargs) -> measure.Measured:
    before = loadavg()
    if IN_PROCESS:
        from bench import child

        kind, *args = argv[2:]   # ["-m", "bench.child", kind, *args]
        m = measure.in_process(child.STEPS[kind], args)
    else:
        m = measure.python(argv, **kwargs)
    log(f"  {label}: {m.wall_s:.1f} s, peak {m.peak_rss_mb:.0f} MB (load {before})"
        + ("" if m.returncode == 0 else f"  FAILED rc={m.returncode}"))
    if m.returncode != 0:
        log("  output (tail):\n" + m.output[-4000:])
        raise RuntimeError(f"{label} failed (exit {m.returncode})")
    return m


def _warm(work: data.Workload) -> None:
    """Flush the generator's writes and read every file once, so every measured step
    starts with the files in the page cache (none pays for the others' disk reads)."""
    os.sync()
    for p in work.files:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def _flow_stage_times(result: dict) -> dict:
    """Stage times inside a real `satudata run` (flows.timing and the run summary)."""
    totals = result.get("timings") or {}
    marks = result.get("marks") or {}
    summary = result.get("summary") or {}

    def sec(name: str) -> float:
        return (totals.get(name) or {}).get("seconds", 0.0)

    flow_start = marks.get("warehouse.initialise")
    out = {
        "load_s": sec("ingest.load"),
        "validate_s": sec("validate"),
        "snapshot_s": sec("ingest.snapshot"),
        "hash_s": sec("ingest.hash"),
        "publish_s": sec("publish.marts") + sec("publish.catalog"),
        "dbt_build_s": ((summary.get("dbt") or {}).get("elapsed_s")),
        "status": summary.get("status"),
        "rows": sum(f.get("rows", 0) for f in summary.get("feeds", [])),
        "accepted": sum(f.get("accepted", 0) for f in summary.get("feeds", [])),
        "quarantined": sum(f.get("quarantined", 0) for f in summary.get("feeds", [])),
    }
    if flow_start:
        # process start -> the flow's first step: imports + Prefect server start + flow run
        out["startup_s"] = flow_start - result["started"]
        out["in_flow_s"] = result["finished"] - flow_start
    return out


def bench_size(size: int, *, reps: int, reps_large: int, scratch: Path, keep: bool,
               smoke: bool = False, steps: tuple[str, ...] = STEPS) -> dict:
    """Every measure at one size (or those of `steps`). `smoke` (tests/test_bench.py): one
    month of aduan only, every step in this process."""
    log(f"size {size:,}: writing the workload")
    t = time.perf_counter()
    work = data.prepare(scratch, size, months=range(1, 2) if smoke else None,
                        only_aduan=smoke)
    workload = data.describe(work)
    _warm(work)
    log(f"  {len(work.files)} aduan files, {work.bytes / 1e6:,.0f} MB, "
        f"{time.perf_counter() - t:.0f} s")
    big = size >= LARGE
    whole_reps = reps_large if big else reps
    res: dict = {"size": size, "files": len(work.files), "bytes": work.bytes,
                 "per_regency": work.per_regency,
                 "reps": {"baselines": reps, "stages": whole_reps, "flow": whole_reps,
                          "noop": reps, "incremental": reps, "catalogue": reps,
                          "validation": whole_reps},
                 "steps": list(steps), "runs": {}}
    res["reps"] = {k: n for k, n in res["reps"].items()
                   if k in steps or (k in ("noop", "incremental") and "flow" in steps)}
    runs = res["runs"]
    wl = str(workload)

    # 1.-2. The baselines and the stages (called directly), interleaved: round i measures
    # DuckDB, pandas and the stages one after the other, so the ratios between them are
    # taken under the same conditions (this machine's page cache and disk drift over
    # minutes: measured in blocks, the stages came last and paid for it).
    baselines = ("duckdb", "pandas") if "baselines" in steps else ()
    for kind in baselines:
        runs[kind] = []
    runs["stages"] = []
    stage_reps = whole_reps if "stages" in steps else 0
    for i in range(max(reps if baselines else 0, stage_reps)):
        for kind in baselines if i < reps else ():
            db = work.root / f"baseline-{kind}.duckdb"
            m = _step(f"baseline {kind} #{i + 1}", ["-m", "bench.child", kind, wl, str(db)])
            runs[kind].append({"wall_s": m.wall_s, "seconds": m.result["seconds"],
                               "rows": m.result["rows"], "peak_rss_mb": m.peak_rss_mb})
            for p in (db, db.with_name(db.name + ".wal")):
                p.unlink(missing_ok=True)
        if i < stage_reps:
            home = work.home(f"stages-{i}")
            m = _step(f"stages #{i + 1}", ["-m", "bench.child", "stages", wl, str(home)])
            runs["stages"].append(_stages_summary(m))
            shutil.rmtree(home, ignore_errors=True)

    # 3. The real flow: full runs on fresh homes; on the last, no-op and incremental runs.
    runs["flow"], runs["noop"], runs["incremental"] = [], [], []
    home = None
    flow_reps = whole_reps if "flow" in steps else 0
    for i in range(flow_reps):
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
        home = work.home(f"flow-{i}")
        m = _step(f"flow (full) #{i + 1}", ["-m", "bench.child", "flow", wl, str(home)])
        runs["flow"].append(_flow_summary(m))
    for i in range(reps if flow_reps else 0):
        m = _step(f"flow (no-op) #{i + 1}", ["-m", "bench.child", "flow", wl, str(home)])
        runs["noop"].append(_flow_summary(m))
    for i in range(reps if flow_reps else 0):
        new = data.add_month(work, i + 1)
        m = _step(f"flow (incremental: {new.name} of {data.INCREMENT_REGENCY}) #{i + 1}",
                  ["-m", "bench.child", "flow", wl, str(home)])
        runs["incremental"].append(_flow_summary(m) | {"file": new.name})
    data.remove_added_months(work)

    # 3b. The same against a running Prefect server, as the deployed (scheduled) flows run:
    # no embedded server to start and stop in each run.
    runs["flow_served"], runs["noop_served"], runs["incremental_served"] = [], [], []
    if flow_reps and not IN_PROCESS:
        with prefect_server(work.root) as url:
            env = dict(os.environ, PREFECT_API_URL=url)
            served = work.home("flow-served")
            m = _step("flow (full, running Prefect server)",
                      ["-m", "bench.child", "flow", wl, str(served)], env=env)
            runs["flow_served"].append(_flow_summary(m))
            for i in range(reps):
                m = _step(f"flow (no-op, running Prefect server) #{i + 1}",
                          ["-m", "bench.child", "flow", wl, str(served)], env=env)
                runs["noop_served"].append(_flow_summary(m))
            for i in range(reps):
                new = data.add_month(work, i + 1)
                m = _step(f"flow (incremental: {new.name}, running Prefect server) #{i + 1}",
                          ["-m", "bench.child", "flow", wl, str(served)], env=env)
                runs["incremental_served"].append(_flow_summary(m) | {"file": new.name})
            data.remove_added_months(work)
        shutil.rmtree(served, ignore_errors=True)

    # 4. Prefect's own start and stop (an empty flow in a fresh process).
    runs["prefect"] = []
    for i in range(reps if "prefect" in steps else 0):
        m = _step(f"prefect empty flow #{i + 1}", ["-m", "bench.child", "prefect"])
        runs["prefect"].append({"wall_s": m.wall_s, **m.result})

    # 5. The catalogue on the site the flow published.
    runs["catalogue"] = []
    for i in range(reps if "catalogue" in steps else 0):
        m = _step(f"catalogue #{i + 1}", ["-m", "bench.child", "catalogue",
                                          str(home / "site"), CATALOGUE_SLUG, "3"])
        runs["catalogue"].append(m.result | {"peak_rss_mb": m.peak_rss_mb})
        if m.result.get("exceptions"):
            log(f"  catalogue exceptions: {m.result['exceptions']}")

    # 6. Validation: Great Expectations' SQL path against its pandas path.
    if "validation" in steps:
        _bench_validation(res, work, wl, whole_reps)

    res["medians"] = _medians(res)
    if not keep:
        shutil.rmtree(work.root, ignore_errors=True)
    return res


def _bench_validation(res: dict, work: data.Workload, wl: str, reps: int) -> None:
    """The aduan batches, loaded once by the real ingest, validated on each path in its
    own process (so each path's memory is its own), `reps` times per batch grouping; the
    two paths alternate within a repetition. Agreement: the first repetition of each path,
    expectation by expectation, on every batch (clean and broken)."""
    folder = work.root / "validation"
    m = _step("validation batches (real ingest of the aduan files)",
              ["-m", "bench.child", "validation-prep", wl, str(folder)])
    res["validation_batches"] = m.result
    runs = res["runs"]["validation"] = {}
    res["validation_agreement"] = {}
    for group in validation_paths.GROUPS:
        runs[group] = {path: [] for path in validation_paths.PATHS}
        first: dict[str, dict] = {}
        for i in range(reps):
            for path in validation_paths.PATHS:
                m = _step(f"validation, {path} path, {group} batches #{i + 1}",
                          ["-m", "bench.child", "validation", str(folder), path, group])
                first.setdefault(path, m.result)
                runs[group][path].append(
                    {k: v for k, v in m.result.items() if k not in ("outcomes", "per_batch")}
                    | {"wall_s": m.wall_s, "peak_rss_mb": m.peak_rss_mb,
                       "max_process_rss_mb": m.max_process_rss_mb})
        agreed = validation_paths.agreement(first["sql"], first["pandas"])
        res["validation_agreement"][group] = agreed
        log(f"  validation paths, {group} batches: "
            + ("agree" if agreed["agree"] else "DISAGREE: " + "; ".join(
                agreed["disagreements"][:5]))
            + (", every defect found" if agreed["defects_found"] else
               ", DEFECTS MISSED: " + "; ".join(agreed["defects_missed"][:5]))
            + f" ({agreed['batches']} batches, {agreed['expectations']} expectations"
            + (f"; not comparable: {agreed['not_comparable']}" if agreed["not_comparable"]
               else "") + ")")
    shutil.rmtree(folder, ignore_errors=True)


def _stages_summary(m: measure.Measured) -> dict:
    r = m.result
    aduan = [f for f in r["feeds"].values() if f["dataset"] == "aduan"]
    every = list(r["feeds"].values())

    def total(feeds: list[dict], key: str) -> float:
        return sum(f[key] for f in feeds)

    # The warehouse's final checkpoint when the ingest phase closes it (the accepted rows
    # reach their compressed place in the file): part of accepting.
    close = r.get("ingest_close_s", 0.0)

    def ingest(feeds: list[dict]) -> float:
        # receive (hash + snapshot) + load + accept and bookkeeping: all but validation
        return (total(feeds, "receive_s") + total(feeds, "process_s")
                - total(feeds, "validate_s") + close)

    return {
        "wall_s": m.wall_s, "peak_rss_mb": m.peak_rss_mb,
        "aduan": {"ingest_s": ingest(aduan), "receive_s": total(aduan, "receive_s"),
                  "load_s": total(aduan, "load_s"), "validate_s": total(aduan, "validate_s"),
                  "accept_s": (total(aduan, "process_s") - total(aduan, "load_s")
                               - total(aduan, "validate_s") + close),
                  "rows": total(aduan, "rows"), "files": total(aduan, "files"),
                  "quarantined": total(aduan, "quarantined")},
        "all_feeds": {"ingest_s": ingest(every), "validate_s": total(every, "validate_s"),
                      "files": total(every, "files")},
        "dbt_s": r["dbt_s"], "dbt_build_s": r["dbt_build_s"], "dbt_nodes": r["dbt_nodes"],
        "publish_s": r["publish_s"], "published": r["published"],
        "total_s": r["total_s"],
    }


def _flow_summary(m: measure.Measured) -> dict:
    return {"wall_s": m.wall_s, "peak_rss_mb": m.peak_rss_mb,
            "max_process_rss_mb": m.max_process_rss_mb, **_flow_stage_times(m.result)}


def _medians(res: dict) -> dict:
    runs = res["runs"]

    def med(rows: list[dict] | None, *path: str) -> float | None:
        values = []
        for row in rows or []:
            v = row
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            values.append(v)
        return median(values)

    st = runs.get("stages")
    out = {
        "duckdb_s": med(runs.get("duckdb"), "seconds"),
        "duckdb_peak_mb": med(runs.get("duckdb"), "peak_rss_mb"),
        "pandas_s": med(runs.get("pandas"), "seconds"),
        "pandas_peak_mb": med(runs.get("pandas"), "peak_rss_mb"),
        "ingest_s": med(st, "aduan", "ingest_s"),
        "receive_s": med(st, "aduan", "receive_s"),
        "load_s": med(st, "aduan", "load_s"),
        "accept_s": med(st, "aduan", "accept_s"),
        "validation_s": med(st, "aduan", "validate_s"),
        "ingest_all_feeds_s": med(st, "all_feeds", "ingest_s"),
        "validation_all_feeds_s": med(st, "all_feeds", "validate_s"),
        "dbt_s": med(st, "dbt_s"),
        "dbt_build_s": med(st, "dbt_build_s"),
        "publish_s": med(st, "publish_s"),
        "stages_total_s": med(st, "total_s"),
        "stages_peak_mb": med(st, "peak_rss_mb"),
        "full_run_s": med(runs.get("flow"), "wall_s"),
        "full_run_startup_s": med(runs.get("flow"), "startup_s"),
        "full_run_load_s": med(runs.get("flow"), "load_s"),
        "full_run_validate_s": med(runs.get("flow"), "validate_s"),
        "full_run_dbt_build_s": med(runs.get("flow"), "dbt_build_s"),
        "peak_rss_mb": med(runs.get("flow"), "peak_rss_mb"),
        "max_process_rss_mb": med(runs.get("flow"), "max_process_rss_mb"),
        "noop_run_s": med(runs.get("noop"), "wall_s"),
        "noop_peak_mb": med(runs.get("noop"), "peak_rss_mb"),
        "incremental_run_s": med(runs.get("incremental"), "wall_s"),
        "incremental_peak_mb": med(runs.get("incremental"), "peak_rss_mb"),
        "full_run_served_s": med(runs.get("flow_served"), "wall_s"),
        "noop_run_served_s": med(runs.get("noop_served"), "wall_s"),
        "incremental_run_served_s": med(runs.get("incremental_served"), "wall_s"),
        "prefect_empty_flow_s": med(runs.get("prefect"), "wall_s"),
        "catalogue_cold_s": med(runs.get("catalogue"), "cold_s"),
        "catalogue_warm_s": median([t for c in runs.get("catalogue") or []
                                    for t in c["warm_s"]]),
    }
    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    out["ingest_vs_duckdb"] = ratio(out["ingest_s"], out["duckdb_s"])
    out["ingest_vs_pandas"] = ratio(out["ingest_s"], out["pandas_s"])
    out["validation_vs_ingest"] = ratio(out["validation_s"], out["ingest_s"])
    out["incremental_vs_full"] = ratio(out["incremental_run_s"], out["full_run_s"])
    out["incremental_vs_full_served"] = ratio(out["incremental_run_served_s"],
                                              out["full_run_served_s"])

    validation = runs.get("validation") or {}
    for group in validation_paths.GROUPS:
        paths = validation.get(group) or {}
        for path in validation_paths.PATHS:
            rows = paths.get(path)
            key = f"validation_{path}_{group}"
            out[f"{key}_s"] = med(rows, "seconds")
            out[f"{key}_s_per_m"] = med(rows, "s_per_million")
            out[f"{key}_fixed_s"] = med(rows, "fixed_s_per_batch")
            out[f"{key}_marginal_s_per_m"] = med(rows, "marginal_s_per_million")
            out[f"{key}_peak_mb"] = med(rows, "peak_rss_mb")
            out[f"{key}_setup_s"] = med(rows, "setup_s")
        out[f"validation_pandas_{group}_materialise_s_per_m"] = median(
            [r["materialise_s"] / r["rows"] * 1e6 for r in paths.get("pandas") or []
             if r.get("rows")])
        out[f"validation_pandas_vs_sql_{group}"] = ratio(
            out[f"validation_pandas_{group}_s_per_m"], out[f"validation_sql_{group}_s_per_m"])
    return {k: _r(v, 3) for k, v in out.items()}


# --- report --------------------------------------------------------------------------------


ROWS = [  # (label, key, unit)
    ("DuckDB `read_csv` baseline", "duckdb_s", "s"),
    ("pandas `read_csv` + insert baseline", "pandas_s", "s"),
    ("**ingest** (receive + load + accept), aduan", "ingest_s", "s"),
    ("  receive: hash + snapshot", "receive_s", "s"),
    ("  load (read, type, check, write into raw as staged)", "load_s", "s"),
    ("  accept (replace slices, record) + bookkeeping", "accept_s", "s"),
    ("**validation** (Great Expectations), aduan", "validation_s", "s"),
    ("ingest, all feeds (incl. 36 small files)", "ingest_all_feeds_s", "s"),
    ("validation, all feeds", "validation_all_feeds_s", "s"),
    ("**dbt** (parse + build + docs)", "dbt_s", "s"),
    ("  dbt build", "dbt_build_s", "s"),
    ("**publish**", "publish_s", "s"),
    ("stages total (no Prefect)", "stages_total_s", "s"),
    ("**whole run** (`satudata run`, fresh home)", "full_run_s", "s"),
    ("  of which start-up (imports + Prefect server) before the first step",
     "full_run_startup_s", "s"),
    ("  Prefect alone: empty flow in a fresh process", "prefect_empty_flow_s", "s"),
    ("**peak RSS, whole run** (process tree)", "peak_rss_mb", "MB"),
    ("  largest single process", "max_process_rss_mb", "MB"),
    ("  DuckDB baseline peak", "duckdb_peak_mb", "MB"),
    ("  pandas baseline peak", "pandas_peak_mb", "MB"),
    ("**no-op re-run**", "noop_run_s", "s"),
    ("**incremental run** (36.73 sends one new month)", "incremental_run_s", "s"),
    ("with a running Prefect server (as deployed): **whole run**", "full_run_served_s", "s"),
    ("  no-op re-run", "noop_run_served_s", "s"),
    ("  incremental run", "incremental_run_served_s", "s"),
    ("**catalogue page** `aduan-masyarakat-bulanan`, cold", "catalogue_cold_s", "s"),
    ("  warm (median of 3 per process)", "catalogue_warm_s", "s"),
    ("**validation, SQL path** (`flows.quality.Validator`), aduan, one batch per file",
     "validation_sql_month_s_per_m", "s per M rows"),
    ("  pandas path (batch → DataFrame + GX pandas engine), one batch per file",
     "validation_pandas_month_s_per_m", "s per M rows"),
    ("    of which reading the batch into a DataFrame",
     "validation_pandas_month_materialise_s_per_m", "s per M rows"),
    ("  SQL path, one batch per regency-year", "validation_sql_year_s_per_m", "s per M rows"),
    ("  pandas path, one batch per regency-year", "validation_pandas_year_s_per_m",
     "s per M rows"),
    ("  SQL path: fixed cost per batch (fit over the per-file batches)",
     "validation_sql_month_fixed_s", "s"),
    ("  pandas path: fixed cost per batch (fit over the per-file batches)",
     "validation_pandas_month_fixed_s", "s"),
    ("  SQL path: GX import + context, once per process", "validation_sql_month_setup_s", "s"),
    ("  pandas path: GX import + context, once per process", "validation_pandas_month_setup_s",
     "s"),
    ("  peak RSS, SQL path, one batch per file", "validation_sql_month_peak_mb", "MB"),
    ("  peak RSS, pandas path, one batch per file", "validation_pandas_month_peak_mb", "MB"),
    ("  peak RSS, SQL path, one batch per regency-year", "validation_sql_year_peak_mb", "MB"),
    ("  peak RSS, pandas path, one batch per regency-year", "validation_pandas_year_peak_mb",
     "MB"),
]
RATIOS = [
    ("ingest / DuckDB baseline", "ingest_vs_duckdb", "≤ 1.5"),
    ("ingest / pandas baseline", "ingest_vs_pandas", "< 1"),
    ("validation / ingest", "validation_vs_ingest", "≤ 0.5"),
    ("incremental / full run", "incremental_vs_full", "≤ 0.2"),
    ("incremental / full run, running Prefect server", "incremental_vs_full_served", "≤ 0.2"),
    ("validation, pandas path / SQL path, one batch per file", "validation_pandas_vs_sql_month",
     "< 1 to switch"),
    ("validation, pandas path / SQL path, one batch per regency-year",
     "validation_pandas_vs_sql_year", "< 1 to switch"),
]
SCALED = ["duckdb_s", "pandas_s", "ingest_s", "load_s", "accept_s", "validation_s", "dbt_s",
          "dbt_build_s", "publish_s", "full_run_s", "noop_run_s", "incremental_run_s",
          "peak_rss_mb", "validation_sql_month_s", "validation_pandas_month_s"]


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit == "MB":
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def markdown(result: dict) -> str:
    sizes = result["sizes"]
    keys = list(sizes)
    mach = result["machine"]
    v = mach["versions"]
    lines = [
        f"Run {result['started']} ({result['duration_min']:.0f} min), `{result['command']}`. "
        f"Machine: {mach['nproc']} cores ({mach['cpu']}), {mach['mem_gb']} GB RAM, "
        f"Linux {mach['kernel']}; Python {v['python']}, DuckDB {v['duckdb']}, "
        f"Prefect {v['prefect']}, Great Expectations {v['great_expectations']}, "
        f"dbt-core {v['dbt-core']} + dbt-duckdb {v['dbt-duckdb']}, Streamlit {v['streamlit']}, "
        f"pandas {v['pandas']}. Load average (1 min) when each size started and ended: "
        f"{result['loadavg']['min']}–{result['loadavg']['max']} (each step's is in the "
        "run's log; on a shared machine, steps measured while other work ran are slower).",
        "",
        "Medians; repetitions per size: "
        + "; ".join(f"{int(k):,} rows: " + ", ".join(f"{n}×{what}" for what, n in
                                                     sizes[k]["reps"].items())
                    for k in keys) + ".",
        "",
        "| measure | " + " | ".join(f"{int(k):,} rows" for k in keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    lines.append("| aduan files (CSV) / MB | " + " | ".join(
        f"{sizes[k]['files']} / {sizes[k]['bytes'] / 1e6:,.0f}" for k in keys) + " |")

    def measured(key: str) -> bool:   # a partial run (--steps) leaves the others out
        return any(sizes[k]["medians"].get(key) is not None for k in keys)

    for label, key, unit in ROWS:
        if key == "validation_sql_month_s_per_m" and measured(key):
            lines.append("| validation batches: per file / per regency-year (largest, rows) | "
                         + " | ".join(_batches_cell(sizes[k]) for k in keys) + " |")
        if measured(key):
            lines.append(f"| {label} ({unit}) | " + " | ".join(
                _fmt(sizes[k]["medians"].get(key), unit) for k in keys) + " |")
    lines += ["", "| ratio (same run, medians) | target | " + " | ".join(
        f"{int(k):,} rows" for k in keys) + " |", "|---|---|" + "---:|" * len(keys)]
    for label, key, target in RATIOS:
        if measured(key):
            lines.append(f"| {label} | {target} | " + " | ".join(
                _fmt(sizes[k]["medians"].get(key)) for k in keys) + " |")
    agreement = [(k, g, a) for k in keys
                 for g, a in (sizes[k].get("validation_agreement") or {}).items()]
    if agreement:
        lines += ["", "Validation paths, same result (success and unexpected count of every "
                      "expectation, row counts) on every batch, clean and deliberately broken, "
                      "and the unexpected rows the defects made: "
                  + "; ".join(_agreement_text(k, g, a) for k, g, a in agreement) + "."]
    if len(keys) >= 2:
        lo, hi = keys[0], keys[-1]
        factor = int(hi) / int(lo)
        lines += ["", f"Growth from {int(lo):,} to {int(hi):,} rows (×{factor:g} the rows; "
                      "1.0 = linear, below 1 = better than linear because fixed costs "
                      "amortise):", "",
                  "| measure | time ratio | ratio / row ratio |", "|---|---:|---:|"]
        for key in SCALED:
            a, b = sizes[lo]["medians"].get(key), sizes[hi]["medians"].get(key)
            if a and b:
                lines.append(f"| {key} | {b / a:.1f}× | {b / a / factor:.2f} |")
    return "\n".join(lines) + "\n"


def _batches_cell(size: dict) -> str:
    runs = (size.get("runs") or {}).get("validation") or {}
    parts = []
    for group in validation_paths.GROUPS:
        rows = (runs.get(group) or {}).get("sql") or []
        if rows:
            parts.append(f"{rows[0]['batches']} ({rows[0]['largest_batch_rows']:,})")
    return " / ".join(parts) or "–"


def _agreement_text(size: str, group: str, a: dict) -> str:
    what = {"month": "per file", "year": "per regency-year"}.get(group, group)
    text = (f"{int(size):,} rows, {what}: " + ("yes" if a["agree"] else "**NO**")
            + f" ({a['batches']} batches × {a['expectations'] // max(a['batches'], 1)} "
            "expectations")
    if a.get("not_comparable"):
        text += ("; not comparable (no pandas equivalent), left out: suite entries "
                 + ", ".join(f"#{i + 1}" for i in a["not_comparable"]))
    if not a["agree"]:
        text += "; " + "; ".join(a["disagreements"][:3])
    text += ("; the broken batch's defects found by both" if a["defects_found"] else
             "; **defects missed**: " + "; ".join(a["defects_missed"][:3]))
    return text + ")"


def update_readme(table: str, path: Path = README) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{MARK_BEGIN}\n{table}{MARK_END}"
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        tail = rest.split(MARK_END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


# --- main ----------------------------------------------------------------------------------


def run(sizes: list[int], *, reps: int, reps_large: int, scratch: Path, out: Path,
        keep: bool, readme: Path | None, smoke: bool = False,
        steps: tuple[str, ...] = STEPS) -> dict:
    """Measure every size; write the JSON results (and the table into `readme`). With only
    some `steps`, the results go to <timestamp>-<steps>.json (+ .md) only: latest.json and
    the README keep the last whole run."""
    global IN_PROCESS
    unknown = set(steps) - set(STEPS)
    if unknown or not steps:
        raise ValueError(f"steps must be some of {', '.join(STEPS)}, got {sorted(steps)}")
    if "catalogue" in steps and "flow" not in steps:
        raise ValueError("the catalogue step renders the site the flow step published: "
                         "add 'flow'")
    partial = set(steps) != set(STEPS)
    IN_PROCESS = smoke
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    scratch.mkdir(parents=True, exist_ok=True)
    result = {"started": started.isoformat(timespec="seconds"), "smoke": smoke,
              "command": "python -m bench.run " + " ".join(sys.argv[1:]),
              "machine": machine(), "targets": TARGETS, "steps": list(steps), "sizes": {}}
    loads = [loadavg()]
    for size in sizes:
        result["sizes"][str(size)] = bench_size(size, reps=reps, reps_large=reps_large,
                                                scratch=scratch, keep=keep, smoke=smoke,
                                                steps=steps)
        loads.append(loadavg())
    result["duration_min"] = round((time.perf_counter() - t0) / 60, 1)
    result["loadavg"] = {"min": min(loads), "max": max(loads)}
    out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    if partial:
        stamp += "-" + "-".join(s for s in STEPS if s in steps)
    text = json.dumps(result, indent=1, default=str)
    (out / f"{stamp}.json").write_text(text, encoding="utf-8")
    table = markdown(result)
    if partial:
        (out / f"{stamp}.md").write_text(table, encoding="utf-8")
        log("partial run (--steps): latest.json, latest.md and the README are left alone")
    else:
        (out / "latest.json").write_text(text, encoding="utf-8")
        (out / "latest.md").write_text(table, encoding="utf-8")
        if readme is not None:
            update_readme(table, readme)
    if not keep and scratch == DEFAULT_SCRATCH and not any(scratch.iterdir()):
        scratch.rmdir()
    log(f"done in {result['duration_min']} min: {out / (stamp + '.json')}")
    print(table)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000",
                        help="total complaint rows per workload, comma-separated")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each measure")
    parser.add_argument("--reps-large", type=int, default=2,
                        help=f"repetitions of the stages, the full run and the validation "
                             f"paths from {LARGE:,} rows on (they take minutes each)")
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--readme", type=Path, default=README,
                        help="README whose results block is replaced ('-' for none)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data")
    parser.add_argument("--steps", default=",".join(STEPS),
                        help="measures to run, comma-separated (default: all): "
                             + ", ".join(STEPS) + " (catalogue needs flow); a partial run "
                             "writes <timestamp>-<steps>.json only")
    args = parser.parse_args(argv)
    steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    readme = None if str(args.readme) == "-" else args.readme
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The flow runs with its own embedded server: a configured one would be measured too.
    for var in ("PREFECT_API_URL", "SATUDATA_HOME", "SATUDATA_FEEDS"):
        os.environ.pop(var, None)
    run(sizes, reps=args.reps, reps_large=args.reps_large, scratch=args.scratch,
        out=args.out, keep=args.keep, readme=readme, steps=steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
