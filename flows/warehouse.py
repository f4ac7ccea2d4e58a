"""The DuckDB warehouse: connections, schemas, bookkeeping tables and reference data.

DuckDB allows one writing process per file. The pipeline opens short-lived connections
and closes them before handing the file to another component (Great Expectations in
this process, dbt in a subprocess); the catalogue never opens this file at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from flows.common import periods
from flows.common.datasets import DatasetSpec
from flows.settings import Settings

SQL_TYPES = {
    "text": "varchar",
    "integer": "bigint",
    "number": "double",
    "region_code": "varchar",
    "period": "varchar",
    "timestamp": "timestamp",
    "date": "date",
}

LINEAGE_COLUMNS = """
    _batch_id varchar not null,
    _feed_id varchar not null,
    _regency varchar not null,
    _source_sha256 varchar not null,
    _ingested_at timestamp with time zone not null
"""

# Region names as regencies write them ("KOTA TANGERANG", "Kab. Lebak") -> comparable key.
NAME_KEY_MACRO = r"""
create or replace macro sd_name_key(x) as (
    regexp_replace(
        regexp_replace(lower(trim(x)), '^(kab\.|kab |kabupaten )', 'kabupaten '),
        '\s+', ' ', 'g')
)
"""


CHECKPOINT_THRESHOLD = "1GB"
MEMORY_LIMIT_ENV = "SATUDATA_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"


def memory_limit() -> str:
    """DuckDB's memory limit for the pipeline's connections: `$SATUDATA_DUCKDB_MEMORY_LIMIT`,
    default 1GB (dbt's is `$SATUDATA_DBT_MEMORY_LIMIT`, dbt/profiles.yml). DuckDB's own default
    is 80 % of the machine's memory; with a limit, big sorts and joins spill to disk
    instead, so a run's memory stays bounded whatever the data's size."""
    return os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


def _shared_config() -> dict:
    """The configuration duckdb-engine (SQLAlchemy, hence Great Expectations) opens a file
    with. DuckDB keeps one database instance per file and process, and gives a second
    `duckdb.connect` of the same file that instance only when the configuration is the
    same (otherwise: "Can't open a connection to same database file with a different
    configuration"). Opening the warehouse with duckdb-engine's configuration lets Great
    Expectations validate, in the same instance, a batch this connection holds in memory."""
    global _SHARED_CONFIG
    if _SHARED_CONFIG is None:
        # duckdb_engine/__init__.py: f"duckdb_engine/{__version__}(sqlalchemy/{version})".
        # Read from the installed metadata: importing both costs ~0.4 s on every CLI start.
        from importlib.metadata import version

        _SHARED_CONFIG = {"custom_user_agent": f"duckdb_engine/{version('duckdb_engine')}"
                                               f"(sqlalchemy/{version('sqlalchemy')})"}
    return dict(_SHARED_CONFIG)


_SHARED_CONFIG: dict | None = None


@contextmanager
def connect(database: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is always closed, so the file's lock is released (once every
    connection of this process to the file is closed: they share one instance)."""
    con = duckdb.connect(str(database), read_only=read_only, config=_shared_config())
    try:
        con.execute(f"set memory_limit = '{memory_limit()}'")
        if not read_only:
            # DuckDB checkpoints when the write-ahead log passes 16 MB: with batches of
            # ~100k rows (smaller than a row group, so they go through the log) that was a
            # checkpoint every other file, rewriting the table's last row group each time
            # (16 s of a 10M-row ingest). One at the end is enough; a crash replays the log.
            con.execute(f"set checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        yield con
    finally:
        con.close()


def raw_table(dataset: str) -> str:
    return f"raw.{dataset}"


def create_dataset_table_sql(table: str, spec: DatasetSpec, *, replace: bool = False,
                             row_number: bool = False) -> str:
    """A raw table (`raw.<dataset>`), or with `row_number` a batch being loaded file by
    file: it also keeps each row's position in the file (`_row_number`), which the checks
    of `flows.ingest` name in their messages; `raw` does not keep it (a CSV feed's files
    are loaded in one pass, where numbering rows per file costs as much as writing them)."""
    cols = ",\n".join(f"    {c.name} {SQL_TYPES[c.type]}" for c in spec.columns)
    create = "create or replace table" if replace else "create table if not exists"
    lineage = LINEAGE_COLUMNS.rstrip() + (",\n    _row_number bigint not null\n"
                                          if row_number else "\n")
    return f"{create} {table} (\n{cols},\n{lineage})"


def initialise(database: Path, datasets: dict[str, DatasetSpec], reference_dir: Path) -> None:
    """Create schemas, bookkeeping tables and raw tables; reload the reference data."""
    from flows import timing

    timing.mark("warehouse.initialise")  # the flow's first step: Prefect has started
    database.parent.mkdir(parents=True, exist_ok=True)
    with connect(database) as con:
        for schema in ("raw", "landing", "meta", "reference"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(periods.MACROS)   # sd_periode, sd_period_start/end
        con.execute(NAME_KEY_MACRO)
        con.execute(
            """
            create table if not exists meta.submissions (
                submission_id varchar primary key,
                run_id varchar,
                feed_id varchar not null,
                regency varchar not null,
                dataset varchar not null,
                file_name varchar not null,
                source varchar not null,
                sha256 varchar not null,
                bytes bigint not null,
                received_at timestamp with time zone not null,
                rows bigint,
                status varchar not null check (status in ('accepted', 'quarantined')),
                reason varchar
            )
            """
        )
        con.execute(
            """
            create table if not exists meta.runs (
                run_id varchar primary key,
                started_at timestamp with time zone not null,
                finished_at timestamp with time zone,
                status varchar not null,
                summary json
            )
            """
        )
        con.execute(STAGED_BATCHES_SQL)
        con.execute(DBT_VERIFIED_BUILDS_SQL)
        for spec in datasets.values():
            con.execute(create_dataset_table_sql(raw_table(spec.name), spec))
            _add_missing_columns(con, raw_table(spec.name), spec)
        discard_staged(con)   # a run that crashed may have left rows it had not accepted
        _load_reference(con, reference_dir)


def _ensure_meta_tables(settings: Settings) -> None:
    """Bookkeeping the pipeline adds to `initialise`'s own (flows/pipeline.py runs it
    after `initialise`)."""
    with connect(settings.warehouse) as con:
        con.execute(
            """
            create table if not exists meta.quality_results (
                submission_id varchar not null,
                suite varchar not null,
                expectation varchar not null,
                "column" varchar,
                severity varchar not null,
                success boolean not null,
                observed_value json,
                unexpected_count bigint,
                unexpected_examples json,
                message varchar
            )
            """
        )
        # The periods a batch covers (for backfills), and whether it was a re-processing.
        con.execute("alter table meta.submissions add column if not exists periods varchar[]")
        con.execute("alter table meta.submissions add column if not exists "
                    "reprocessed boolean default false")
        # What the file was judged by (flows/retry.py): feed entry, suite, reader code.
        con.execute("alter table meta.submissions add column if not exists "
                    "fingerprint varchar")
        # Values a file sent in another spelling of a canonical value, and what they became.
        con.execute(
            """
            create table if not exists meta.value_mappings (
                sha256 varchar not null,
                feed_id varchar not null,
                file_name varchar not null,
                "column" varchar not null,
                sent varchar,
                stored varchar,
                rows bigint not null
            )
            """
        )



def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: str, spec: DatasetSpec) -> None:
    """A column added to a dataset (or to the lineage) is added to its existing raw table,
    so a warehouse built by an earlier version keeps working."""
    have = {r[0] for r in con.execute(f"describe {table}").fetchall()}
    wanted = [(c.name, SQL_TYPES[c.type]) for c in spec.columns]
    for line in LINEAGE_COLUMNS.strip().splitlines():
        name, sql_type = line.strip().rstrip(",").split(" ", 1)
        wanted.append((name, sql_type.replace(" not null", "")))
    for name, sql_type in wanted:
        if name not in have:
            con.execute(f"alter table {table} add column {name} {sql_type}")


# Batches written into `raw` before their validation (flows/ingest/stage.py `stage_csv_files`):
# until a batch is accepted (its row here deleted in the transaction that records its
# submission) or rejected (its rows deleted), nothing may use its rows. A run that stops
# in between leaves them here; the next run's `initialise` deletes those rows.
STAGED_BATCHES_SQL = """
create table if not exists meta.staged_batches (
    batch_id varchar not null,
    dataset varchar not null,
    feed_id varchar not null,
    staged_at timestamp with time zone not null
)
"""


# When `dbt build`s that the pipeline saw succeed ended (flows/transform.py): their data
# tests passed on every row built before (dbt/tests/generic).
DBT_VERIFIED_BUILDS_SQL = """
create table if not exists meta.dbt_verified_builds (
    verified_before timestamp with time zone not null
)
"""


def discard_staged(con: duckdb.DuckDBPyConnection, feed_id: str | None = None,
                   batch_id: str | None = None) -> int:
    """Delete from `raw` the rows of staged batches that were never accepted (one batch,
    one feed's, or all); returns how many batches."""
    where, params = (("where batch_id = ?", [batch_id]) if batch_id
                     else ("where feed_id = ?", [feed_id]) if feed_id else ("", []))
    staged = con.execute(f"select batch_id, dataset from meta.staged_batches {where}",
                         params).fetchall()
    if not staged:
        return 0
    con.execute("begin transaction")
    try:
        tables = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'raw'").fetchall()}
        for batch_id, dataset in staged:
            if dataset in tables:   # else the dataset was removed, with its raw table
                con.execute(f"delete from {raw_table(dataset)} where _batch_id = ?",
                            [batch_id])
            con.execute("delete from meta.staged_batches where batch_id = ?", [batch_id])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(staged)


def _load_reference(con: duckdb.DuckDBPyConnection, reference_dir: Path) -> None:
    """Reference tables are rebuilt from the bundled CSVs on every run (they are small)."""
    for name in (
        "wilayah_kabupaten_kota",
        "wilayah_kecamatan",
        "wilayah_desa_kelurahan",
        "penduduk_sp2020",
        "penduduk_dukcapil_2024s2",
    ):
        path = reference_dir / f"{name}.csv"
        con.execute(
            f"create or replace table reference.{name} as "
            "select * from read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )


def banten_regency_codes(database: Path) -> list[str]:
    with connect(database, read_only=True) as con:
        rows = con.execute(
            "select kode_wilayah from reference.wilayah_kabupaten_kota order by 1"
        ).fetchall()
    return [r[0] for r in rows]
