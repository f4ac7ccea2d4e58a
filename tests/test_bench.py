"""The benchmark harness (bench/) at a smoke size: it runs every measure once and writes
the JSON results and the markdown table. No timing is asserted: that is what
`make bench` is for."""

from __future__ import annotations

import json

from bench import run as bench_run

MEASURES = [
    "duckdb_s", "pandas_s", "ingest_s", "receive_s", "load_s", "accept_s", "validation_s",
    "ingest_all_feeds_s", "validation_all_feeds_s", "dbt_s", "dbt_build_s", "publish_s",
    "stages_total_s", "full_run_s", "full_run_load_s", "full_run_validate_s", "peak_rss_mb",
    "noop_run_s", "incremental_run_s", "prefect_empty_flow_s", "catalogue_cold_s",
    "catalogue_warm_s", "ingest_vs_duckdb", "ingest_vs_pandas", "validation_vs_ingest",
    "incremental_vs_full",
]


def test_bench_smoke_writes_every_measure_and_the_table(prefect_harness, tmp_path):
    out = tmp_path / "results"
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmark\n\nText that stays.\n")
    result = bench_run.run([2000], reps=1, reps_large=1, scratch=tmp_path / "scratch",
                           out=out, keep=False, readme=readme, smoke=True)

    saved = json.loads((out / "latest.json").read_text())
    assert saved == json.loads(json.dumps(result, default=str))
    assert len(list(out.glob("2*.json"))) == 1          # <timestamp>.json beside latest
    size = saved["sizes"]["2000"]
    medians = size["medians"]
    missing = [m for m in MEASURES if medians.get(m) is None]
    assert not missing, f"measures without a value: {missing}"

    runs = size["runs"]
    full, noop, incremental = runs["flow"][0], runs["noop"][0], runs["incremental"][0]
    assert full["status"] == noop["status"] == incremental["status"] == "completed"
    assert full["accepted"] == 8 and full["quarantined"] == 0   # one month, 8 regencies
    assert noop["accepted"] == 0                                  # nothing new
    assert incremental["accepted"] == 1                           # one new month
    assert runs["duckdb"][0]["rows"] == runs["pandas"][0]["rows"] == runs["stages"][0][
        "aduan"]["rows"] == full["rows"]
    assert not runs["catalogue"][0]["exceptions"]
    assert runs["catalogue"][0]["dataframes"] >= 1
    assert saved["machine"]["nproc"] and saved["machine"]["versions"]["duckdb"]

    text = readme.read_text()
    assert text.startswith("# Benchmark\n\nText that stays.\n")
    assert bench_run.MARK_BEGIN in text and bench_run.MARK_END in text
    assert "| measure | 2,000 rows |" in text
    assert "| ingest / DuckDB baseline | ≤ 1.5 |" in text
    assert not (tmp_path / "scratch" / "2000").exists()          # scratch data removed
