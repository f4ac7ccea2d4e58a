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
    # Great Expectations' SQL path against its pandas path (bench/validation_paths.py)
    *[f"validation_{path}_{group}_{what}" for path in ("sql", "pandas")
      for group in ("month", "year")
      for what in ("s", "s_per_m", "fixed_s", "peak_mb", "setup_s")],
    "validation_pandas_month_materialise_s_per_m", "validation_pandas_year_materialise_s_per_m",
    "validation_pandas_vs_sql_month", "validation_pandas_vs_sql_year",
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

    # Both validation paths ran every batch (8 regencies, one month), gave the same result
    # on each, clean or broken, and the broken ones failed.
    for group in ("month", "year"):
        for path in ("sql", "pandas"):
            (one,) = runs["validation"][group][path]
            assert one["batches"] == 8 and one["rows"] == full["rows"]
        agreed = size["validation_agreement"][group]
        assert agreed["agree"], agreed["disagreements"]
        assert agreed["defects_found"], agreed["defects_missed"]
        assert agreed["batches"] == 8 + 2 and not agreed["not_comparable"]
        assert not agreed["clean_batches_failed"]
        assert len(agreed["checks_failed"]["broken"]) == 10          # all but two rules
        assert agreed["checks_failed"]["broken_schema"] == [
            "#1 expect_table_columns_to_match_set"]

    text = readme.read_text()
    assert text.startswith("# Benchmark\n\nText that stays.\n")
    assert bench_run.MARK_BEGIN in text and bench_run.MARK_END in text
    assert "| measure | 2,000 rows |" in text
    assert "| ingest / DuckDB baseline | ≤ 1.5 |" in text
    assert "| validation, pandas path / SQL path, one batch per file | < 1 to switch |" in text
    assert "2,000 rows, per file: yes (10 batches × 12 expectations; the broken batch" in text
    assert not (tmp_path / "scratch" / "2000").exists()          # scratch data removed
