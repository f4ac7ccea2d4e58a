"""Tests for flows.quality: real DuckDB files, real Great Expectations, no mocks.

One module-scoped DuckDB file holds a clean batch and one broken copy per rule, so GX is
imported once and each validation costs a fraction of a second.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import duckdb
import pytest

from flows import quality
from flows.quality import (
    ExpectationResult,
    SuiteError,
    TableNotFoundError,
    Verdict,
    load_suite,
    validate_table,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Kode wilayah of Banten's 4 regencies and 4 cities (Kemendagri), as the caller derives them.
BANTEN = ["36.01", "36.02", "36.03", "36.04", "36.71", "36.72", "36.73", "36.74"]
PARAMS = {"kode_wilayah_kabupaten_kota": BANTEN}

COLUMNS = ("kode_wilayah", "nama_wilayah", "periode", "laki_laki", "perempuan", "jumlah_penduduk")
# 2024-S2 rows: Dukcapil semester figures with a sex split; 2020 rows: Sensus Penduduk 2020
# (BPS) totals, no sex split in that source, so laki_laki/perempuan are NULL.
CLEAN = [
    ("36.71", "Kota Tangerang", "2024-S2", 983453, 973896, 1957349),
    ("36.72", "Kota Cilegon", "2024-S2", 243024, 237354, 480378),
    ("36.71", "Kota Tangerang", "2020", None, None, 1895486),
    ("36.72", "Kota Cilegon", "2020", None, None, 434896),
    ("36.01", "Kabupaten Pandeglang", "2020", None, None, 1272687),
    ("36.02", "Kabupaten Lebak", "2020", None, None, 1386793),
    ("36.03", "Kabupaten Tangerang", "2020", None, None, 3245619),
    ("36.04", "Kabupaten Serang", "2020", None, None, 1622630),
]


def _replace(row: int, **changes: object) -> list[tuple]:
    """CLEAN with one row changed."""
    rows = [list(r) for r in CLEAN]
    for name, value in changes.items():
        rows[row][COLUMNS.index(name)] = value
    return [tuple(r) for r in rows]


BROKEN = {
    "null_code": _replace(1, kode_wilayah=None),
    "foreign_code": _replace(1, kode_wilayah="32.73"),  # Kota Bandung, West Java
    "bad_total": [
        *_replace(3, jumlah_penduduk=-5),
        ("36.73", "Kota Serang", "2020", None, None, 0),
    ],
    "duplicate_key": CLEAN + [CLEAN[0]],
    "bad_periode": _replace(2, periode="2020-S3"),
    "split_mismatch": _replace(0, jumlah_penduduk=1957348),
    "null_name": _replace(4, nama_wilayah=None),  # warning only
    "one_sided_split": _replace(2, laki_laki=950000),  # warning only (no perempuan)
}


def _create(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    con.execute(
        f"create table {table} (kode_wilayah varchar, nama_wilayah varchar, periode varchar, "
        "laki_laki bigint, perempuan bigint, jumlah_penduduk bigint, "
        "_batch_id varchar, _row_number bigint)"
    )
    con.executemany(
        f"insert into {table} values (?, ?, ?, ?, ?, ?, ?, ?)",
        [(*row, "batch_test", number) for number, row in enumerate(rows, start=1)],
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("quality") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema landing")
    _create(con, "landing.clean", CLEAN)
    for name, rows in BROKEN.items():
        _create(con, f"landing.{name}", rows)
    _create(con, "main.clean_in_main", CLEAN)
    con.execute(
        "create table landing.no_split_columns as select * exclude (laki_laki, perempuan) "
        "from landing.clean"
    )
    con.execute("create table landing.empty as select * from landing.clean limit 0")
    con.close()
    return path


@pytest.fixture(scope="module")
def verdicts(database: Path) -> dict[str, Verdict]:
    """Each table validated once, shared by the tests below."""
    return {
        name: validate_table(database, f"landing.{name}", "penduduk", params=PARAMS)
        for name in ["clean", *BROKEN]
    }


def _failure(verdict: Verdict, expectation: str, column: str) -> ExpectationResult:
    found = [r for r in verdict.critical_failures if r.expectation == expectation]
    found = [r for r in found if r.column == column]
    assert len(found) == 1, f"expected one {expectation} failure on {column}: {verdict.reason()}"
    return found[0]


# --- the clean batch ---------------------------------------------------------------------------


def test_clean_batch_is_accepted_without_failures(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["clean"]
    assert verdict.accepted, verdict.reason()
    assert verdict.suite == "penduduk"
    assert verdict.table == "landing.clean"
    assert verdict.critical_failures == []
    assert verdict.warnings == []
    assert all(r.success for r in verdict.results)
    assert len(verdict.results) == len(load_suite("penduduk")["expectations"])
    assert "passed all critical checks" in verdict.reason()
    json.dumps([asdict(r) for r in verdict.results])  # everything is JSON-serialisable


def test_table_in_default_schema_is_validated(database: Path) -> None:
    verdict = validate_table(database, "clean_in_main", "penduduk", params=PARAMS)
    assert verdict.accepted, verdict.reason()


# --- one broken batch per critical rule ------------------------------------------------------


def test_null_region_code_is_rejected(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["null_code"]
    assert not verdict.accepted
    failure = _failure(verdict, "expect_column_values_to_not_be_null", "kode_wilayah")
    assert failure.unexpected_count == 1
    assert failure.unexpected_examples == [None]
    assert "column 'kode_wilayah'" in failure.message
    assert "NULL" in failure.message
    assert failure.message in verdict.reason()


def test_region_code_from_another_province_is_rejected(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["foreign_code"]
    assert not verdict.accepted
    failure = _failure(verdict, "expect_column_values_to_be_in_set", "kode_wilayah")
    assert failure.unexpected_count == 1
    assert failure.unexpected_examples == ["32.73"]
    assert "column 'kode_wilayah'" in failure.message
    assert "36.71" in failure.message  # the allowed set, from params
    assert "1 row fails, e.g. 32.73" in failure.message


def test_negative_or_zero_population_is_rejected(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["bad_total"]
    assert not verdict.accepted
    failure = _failure(verdict, "expect_column_values_to_be_between", "jumlah_penduduk")
    assert failure.unexpected_count == 2
    assert sorted(failure.unexpected_examples) == [-5, 0]
    assert failure.message.startswith(
        "column 'jumlah_penduduk': values must be between 1 and 100000000; 2 rows fail, e.g. "
    )
    assert "-5" in failure.message and "0" in failure.message


def test_duplicate_region_and_period_is_rejected(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["duplicate_key"]
    assert not verdict.accepted
    failure = _failure(verdict, "expect_compound_columns_to_be_unique", "kode_wilayah, periode")
    assert failure.unexpected_count == 2  # both copies
    assert failure.unexpected_examples == [{"kode_wilayah": "36.71", "periode": "2024-S2"}]
    assert "kode_wilayah" in failure.message and "periode" in failure.message
    assert "(kode_wilayah=36.71, periode=2024-S2)" in failure.message


def test_malformed_period_is_rejected(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["bad_periode"]
    assert not verdict.accepted
    failure = _failure(verdict, "expect_column_values_to_match_regex", "periode")
    assert failure.unexpected_count == 1
    assert failure.unexpected_examples == ["2020-S3"]
    assert "column 'periode'" in failure.message and "2020-S3" in failure.message


def test_sex_split_not_summing_to_total_is_rejected(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["split_mismatch"]
    assert not verdict.accepted
    [failure] = verdict.critical_failures
    assert failure.expectation == "unexpected_rows_expectation"
    assert failure.column == "jumlah_penduduk"
    assert failure.unexpected_count == 1
    assert failure.unexpected_examples == [
        {
            "kode_wilayah": "36.71",
            "periode": "2024-S2",
            "laki_laki": 983453,
            "perempuan": 973896,
            "jumlah_penduduk": 1957348,
        }
    ]
    assert "laki_laki + perempuan must equal jumlah_penduduk" in failure.message
    assert "jumlah_penduduk=1957348" in failure.message


def test_missing_columns_reject_the_batch_with_readable_messages(database: Path) -> None:
    verdict = validate_table(database, "landing.no_split_columns", "penduduk", params=PARAMS)
    assert not verdict.accepted
    columns = _failure(verdict, "expect_table_columns_to_match_set", None)
    assert "missing: laki_laki, perempuan" in columns.message
    between = _failure(verdict, "expect_column_values_to_be_between", "laki_laki")
    assert "could not be run" in between.message and "laki_laki" in between.message


def test_empty_batch_is_rejected(database: Path) -> None:
    verdict = validate_table(database, "landing.empty", "penduduk", params=PARAMS)
    assert not verdict.accepted
    failure = _failure(verdict, "expect_table_row_count_to_be_between", None)
    assert failure.observed_value == 0


# --- warnings ----------------------------------------------------------------------------------


def test_warning_only_failure_keeps_the_batch_accepted(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["null_name"]
    assert verdict.accepted, verdict.reason()
    assert verdict.critical_failures == []
    [warning] = verdict.warnings
    assert warning.severity == "warning"
    assert warning.column == "nama_wilayah"
    assert "column 'nama_wilayah'" in warning.message
    assert warning.message in verdict.reason()


def test_one_sided_sex_split_is_a_warning(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["one_sided_split"]
    assert verdict.accepted, verdict.reason()
    [warning] = verdict.warnings
    assert warning.expectation == "unexpected_rows_expectation"
    assert "laki_laki=950000, perempuan=NULL" in warning.message


def test_implausible_population_is_only_a_warning(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["bad_total"]  # 0 and -5 are also outside the plausible range
    [warning] = verdict.warnings
    assert warning.column == "jumlah_penduduk"
    assert "plausibility" in warning.message


# --- the GX/DuckDB plumbing ------------------------------------------------------------------


def test_duckdb_broken_table_gives_failed_results_not_errors(database: Path) -> None:
    """The persisted-connection patch: without it every metric-based expectation "could not be
    run" (MetricResolutionError: list index out of range) instead of counting failing rows."""
    verdict = validate_table(database, "landing.null_code", "penduduk", params=PARAMS)
    errors = [r.message for r in verdict.results if "could not be run" in r.message]
    assert errors == []
    failure = _failure(verdict, "expect_column_values_to_not_be_null", "kode_wilayah")
    assert failure.unexpected_count == 1
    assert failure.observed_value is None
    assert verdict.results[0].observed_value.startswith("_batch_id, _row_number")

    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    quality._patch_gx_persisted_connection()  # idempotent
    quality._patch_gx_persisted_connection()
    assert [d for d in engine._PERSISTED_CONNECTION_DIALECTS if d == "duckdb"] == ["duckdb"]
    assert engine._dialect_requires_persisted_connection(connection_string="duckdb:///x.db")


def test_database_file_is_released_for_another_process(tmp_path: Path) -> None:
    path = tmp_path / "release.duckdb"
    con = duckdb.connect(str(path))
    _create(con, "main.batch", CLEAN)
    con.close()

    verdict = validate_table(path, "batch", "penduduk", params=PARAMS)
    assert verdict.accepted, verdict.reason()

    write = f"import duckdb; duckdb.connect({str(path)!r}).execute('create table t2 as select 1')"
    done = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # ... and this process can open it again too.
    with duckdb.connect(str(path)) as again:
        assert again.execute("select count(*) from t2").fetchone() == (1,)


def test_one_validator_checks_batches_held_in_memory_by_the_ingest_connection(
        tmp_path: Path) -> None:
    """The pipeline keeps a batch in an in-memory database attached to its warehouse
    connection; GX's own connection joins that DuckDB instance (same configuration) and
    validates it there. One Validator serves batch after batch; once it and the
    connection are closed, another process can write the file."""
    from flows.quality import Validator
    from flows.warehouse import connect

    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        con.execute("create schema reference")
    with connect(path) as con:
        con.execute("attach ':memory:' as sd_scratch")
        _create(con, "sd_scratch.main.good", CLEAN)
        _create(con, "sd_scratch.main.bad", BROKEN["foreign_code"])
        with Validator(path) as validator:
            good = validator.validate("sd_scratch.main.good", "penduduk", params=PARAMS)
            bad = validator.validate("sd_scratch.main.bad", "penduduk", params=PARAMS)
            again = validator.validate("sd_scratch.main.good", "penduduk", params=PARAMS)
        assert good.accepted and again.accepted, good.reason()
        assert not bad.accepted
        failure = _failure(bad, "expect_column_values_to_be_in_set", "kode_wilayah")
        assert failure.unexpected_examples == ["32.73"]
        # the whole suite's GX result, for Data Docs
        assert bad.gx_result["suite_name"] == "penduduk"
        assert bad.gx_result["success"] is False
        assert len(bad.gx_result["results"]) == len(bad.results)
        # the batch never reached the file
        assert con.execute("select count(*) from duckdb_tables() where database_name = "
                           "current_database() and table_name in ('good', 'bad')"
                           ).fetchone() == (0,)
    write = f"import duckdb; duckdb.connect({str(path)!r}).execute('create table t as select 1')"
    done = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_validation_touches_neither_network_nor_working_directory(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"network access to {address!r} during validation")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.chdir(tmp_path)
    verdict = validate_table(database, "landing.clean", "penduduk", params=PARAMS)
    assert verdict.accepted
    assert list(tmp_path.iterdir()) == []
    assert not (PROJECT_ROOT / "gx").exists()


def test_importing_the_module_does_not_import_great_expectations() -> None:
    code = "import sys, flows.quality; assert 'great_expectations' not in sys.modules"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr


# --- errors ----------------------------------------------------------------------------------


def test_missing_param_is_a_clear_error(database: Path) -> None:
    with pytest.raises(SuiteError) as raised:
        validate_table(database, "landing.clean", "penduduk", params={"other": [1]})
    message = str(raised.value)
    assert "suite 'penduduk'" in message
    assert "'kode_wilayah_kabupaten_kota'" in message


def test_missing_table_is_a_clear_error(database: Path) -> None:
    with pytest.raises(TableNotFoundError, match="landing.batch_nope"):
        validate_table(database, "landing.batch_nope", "penduduk", params=PARAMS)


def test_malformed_suite_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "demo.yml").write_text(
        "dataset: demo\n"
        "expectations:\n"
        "  - expect: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: a}\n"
        "    severity: fatal\n"
    )
    with pytest.raises(SuiteError, match="severity"):
        load_suite("demo", tmp_path)
    with pytest.raises(SuiteError, match="no expectation suite for dataset 'nope'"):
        load_suite("nope", tmp_path)


def test_params_are_substituted_from_a_custom_suite(database: Path, tmp_path: Path) -> None:
    (tmp_path / "kota.yml").write_text(
        "dataset: kota\n"
        "expectations:\n"
        "  - expect: expect_column_values_to_be_in_set\n"
        "    kwargs: {column: kode_wilayah, value_set: {param: kota}}\n"
        "    severity: critical\n"
    )
    verdict = validate_table(
        database,
        "landing.clean",
        "kota",
        params={"kota": {"36.71", "36.72"}},
        expectations_dir=tmp_path,
    )
    assert not verdict.accepted
    [failure] = verdict.critical_failures
    assert failure.unexpected_count == 4  # the four regencies (kabupaten)
    assert "values must be one of {36.71, 36.72}" in failure.message
    assert "e.g. 36.01, 36.02, 36.03, 36.04" in failure.message


# --- row rules run once on several batches together (the pipeline's staged files) ---------


@pytest.fixture(scope="module")
def parts(database: Path) -> dict[str, str]:
    """CLEAN split in two batches, their rows together, and the two halves of a batch
    whose ticket-like key repeats across them (each half is clean on its own)."""
    con = duckdb.connect(str(database))
    _create(con, "landing.part_a", CLEAN[:5])
    _create(con, "landing.part_b", CLEAN[5:])
    _create(con, "landing.together", CLEAN)
    _create(con, "landing.together_repeating", CLEAN[:5] + CLEAN[:2])
    con.close()
    return {"a": "landing.part_a", "b": "landing.part_b", "together": "landing.together"}


def test_row_rules_run_once_for_several_batches_give_each_batch_its_own_verdict(
        database: Path, parts: dict[str, str]) -> None:
    from flows.quality import Validator

    suite = load_suite("penduduk")["expectations"]
    with Validator(database) as validator:
        shared = validator.validate_together(parts["together"], "penduduk", params=PARAMS,
                                             batches=2, rows=len(CLEAN))
        assert shared is not None
        # the rules about rows, not those about the table (its columns, its row count)
        assert {suite[i]["expect"] for i in shared.raw} >= {
            "expect_column_values_to_not_be_null", "expect_compound_columns_to_be_unique",
            "unexpected_rows"}
        assert not any(suite[i]["expect"].startswith("expect_table_") for i in shared.raw)
        for part in ("a", "b"):
            alone = validator.validate(parts[part], "penduduk", params=PARAMS)
            with_shared = validator.validate(parts[part], "penduduk", params=PARAMS,
                                             shared=shared)
            assert with_shared.results == alone.results
            assert with_shared.accepted and alone.accepted
            note = with_shared.gx_result["meta"]["satudata_shared"]
            assert note["batches"] == 2 and note["rows"] == len(CLEAN)
            assert len(with_shared.gx_result["results"]) == len(suite)
        # the table rules still run on the batch itself: an empty batch is rejected
        empty = validator.validate("landing.empty", "penduduk", params=PARAMS, shared=shared)
    assert not empty.accepted
    assert _failure(empty, "expect_table_row_count_to_be_between", None)


@pytest.mark.parametrize("table", ["together_repeating", "null_name", "duplicate_key"])
def test_a_row_failing_any_rule_among_the_batches_shares_nothing(database: Path,
                                                                 parts: dict[str, str],
                                                                 table: str) -> None:
    """A key repeated across batches, a warning, a critical failure: each batch is then
    validated whole (which finds the batches at fault)."""
    from flows.quality import Validator

    with Validator(database) as validator:
        assert validator.validate_together(f"landing.{table}", "penduduk", params=PARAMS,
                                           batches=2, rows=7) is None


def test_a_rule_that_passes_with_failing_rows_shares_nothing(database: Path,
                                                             tmp_path: Path) -> None:
    """`mostly`: GX says success with some rows failing; shared, those rows would be
    nobody's."""
    from flows.quality import Validator

    (tmp_path / "kota.yml").write_text(
        "dataset: kota\n"
        "expectations:\n"
        "  - expect: expect_column_values_to_be_in_set\n"
        "    kwargs: {column: kode_wilayah, value_set: [36.71, 36.72, 36.01, 36.02, 36.03,\n"
        "             36.04], mostly: 0.5}\n"
        "    severity: critical\n"
    )
    with Validator(database, expectations_dir=tmp_path) as validator:
        whole = validator.validate("landing.bad_total", "kota")
        assert whole.accepted and whole.results[0].unexpected_count == 1   # 36.73
        assert validator.validate_together("landing.bad_total", "kota", batches=2,
                                           rows=9) is None
        assert validator.validate_together("landing.clean", "kota", batches=2,
                                           rows=8) is not None


def test_a_row_rule_with_a_per_batch_param_runs_on_each_batch(database: Path,
                                                               tmp_path: Path) -> None:
    from flows.quality import Validator

    (tmp_path / "kota.yml").write_text(
        "dataset: kota\n"
        "expectations:\n"
        "  - expect: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: kode_wilayah}\n"
        "    severity: critical\n"
        "  - expect: expect_column_values_to_be_in_set\n"
        "    kwargs: {column: kode_wilayah, value_set: {param: kota}}\n"
        "    severity: critical\n"
    )
    with Validator(database, expectations_dir=tmp_path) as validator:
        shared = validator.validate_together("landing.clean", "kota", params={},
                                             batches=2, rows=8)
        assert shared is not None and set(shared.raw) == {0}
        verdict = validator.validate("landing.part_a", "kota",
                                     params={"kota": ["36.71", "36.72"]}, shared=shared)
    assert not verdict.accepted
    [failure] = verdict.critical_failures
    assert failure.unexpected_count == 1   # part_a's one kabupaten row (36.01)
