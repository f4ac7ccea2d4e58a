"""One received file into its batch table (`load_batch`) in `sd_scratch`, an in-memory
database attached to the warehouse connection: a CSV file in one streaming pass when
nothing is wrong with it, else (every format) the file as delivered first, then every
check, naming each problem. Also the values the load wrote in their canonical spelling
(`value_mappings`)."""

from __future__ import annotations

import duckdb

from flows import timing
from flows.common.sql import quote_ident
from flows.ingest.checks import _check_fixed, _raise_on_bad_values
from flows.ingest.plan import _Plan, _plan, _streaming_rows
from flows.ingest.receive import Received
from flows.readers import SubmissionError, read_csv_source, read_file
from flows.readers.headers import _check_headers
from flows.registry import DatasetSpec, Feed
from flows.warehouse import create_dataset_table_sql


def load_batch(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, received: Received
) -> tuple[str, int]:
    """Read the snapshot and build the canonical batch table. Returns (table, rows)."""
    with timing.timed("ingest.load"):
        return _load_batch(con, feed, spec, received)


SCRATCH = "sd_scratch"   # an in-memory database attached to the warehouse connection


def _scratch(con: duckdb.DuckDBPyConnection) -> str:
    """The name of an in-memory database attached to `con`'s database instance: the file
    as delivered and the typed batch live there, so neither reaches the warehouse file
    (nor its write-ahead log) before the batch is accepted. Every connection of this
    process to the warehouse shares the instance (flows/warehouse.py `connect`), Great
    Expectations' included, so they all see it."""
    attached = {r[0] for r in con.execute("select database_name from duckdb_databases()")
                .fetchall()}
    if SCRATCH not in attached:
        con.execute(f"attach ':memory:' as {SCRATCH}")
    return SCRATCH


def batch_table(received: Received) -> str:
    """Where `load_batch` puts the batch of a received file (catalog.schema.table)."""
    return f"{SCRATCH}.main.b_{received.batch_id}"


def drop_batch(con: duckdb.DuckDBPyConnection, received: Received) -> None:
    _scratch(con)
    con.execute(f"drop table if exists {batch_table(received)}")


def _load_batch(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, received: Received
) -> tuple[str, int]:
    _scratch(con)
    table = batch_table(received)
    if feed.format == "csv":
        rows = _load_csv_streaming(con, feed, spec, received, table)
        if rows is not None:
            return table, rows
    return _load_materialised(con, feed, spec, received, table)


def _load_csv_streaming(con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec,
                        received: Received, table: str) -> int | None:
    """The fast path for a CSV file loaded on its own: one pass from DuckDB's CSV reader
    through typing into the batch table, with every check of `_raise_on_bad_values`
    folded into one flag per row. The text as delivered is never materialised (that
    alone cost ~0.8 µs a row, half of reading the file). Returns the number of rows, or
    None when the file cannot be read this way or some row is flagged: the caller then
    loads it the thorough way (`_load_materialised`), which finds and names every
    problem."""
    if thorough_only(feed):
        return None
    name = received.path.name
    try:
        with read_csv_source(feed, received.snapshot, name) as (relation, params):
            with timing.timed("ingest.load.read"):
                headers = [r[0] for r in con.execute(
                    f"describe select * from {relation}", params).fetchall()]
            headers = [h for h in headers if h != "_row_number"]
            _check_headers(name, headers)
            rows = _streaming_rows(feed, spec, name, headers, relation, "_row_number")
            con.execute(create_dataset_table_sql(table, spec, replace=True,
                                                 row_number=True))
            con.execute(f"alter table {table} add column _flagged boolean")
            with timing.timed("ingest.load.type"):
                con.execute(
                    f"insert into {table} select {', '.join(spec.column_names)}, "
                    f"?, ?, ?, ?, ?, _row_number, {rows.flag} from {rows.sql}",
                    [received.batch_id, feed.id, feed.regency, received.sha256,
                     received.received_at, *params],
                )
    except (duckdb.Error, SubmissionError, OSError):
        con.execute(f"drop table if exists {table}")
        return None
    with timing.timed("ingest.load.check"):
        rows, flagged = con.execute(
            f"select count(*), count(*) filter (where _flagged) from {table}").fetchone()
        if rows == 0 or flagged:
            con.execute(f"drop table {table}")
            return None
        con.execute(f"alter table {table} drop column _flagged")
    return rows


def thorough_only(feed: Feed) -> bool:
    """Feeds whose files are always loaded the thorough way (`_load_materialised`): a
    header of several rows, values fixed for the file (from its title or name), rows of
    several regencies. Such feeds send small tables; the fast CSV paths assume one header
    line and one regency."""
    return bool(feed.is_province_wide or feed.options.get("header_rows")
                or feed.constants or feed.extract)


def _load_materialised(con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec,
                       received: Received, table: str) -> tuple[str, int]:
    """Every format, and a CSV file the fast path flagged: the file as delivered is read
    into memory (text columns, never written to the warehouse file); one INSERT types the
    rows into the batch table, in file order; then `_raise_on_bad_values` checks every
    column and names each problem with its rows."""
    src_table = f"{_scratch(con)}.src_{received.batch_id}"
    name = received.path.name
    with timing.timed("ingest.load.read"):
        info = read_file(con, feed, received.snapshot, src_table, name)
    try:
        headers = [r[0] for r in con.execute(f"describe {src_table}").fetchall()]
        headers = [h for h in headers if h != "_row_number"]
        plan = _plan(feed, spec, name, headers, title=getattr(info, "title", None) or [])
        _check_fixed(con, feed, spec, name, plan)
        con.execute(create_dataset_table_sql(table, spec, replace=True, row_number=True))
        cols = ", ".join(plan.values[c] for c in spec.column_names)
        # The source table is in file order (reading and filtering keep insertion order),
        # so the batch is too, without sorting.
        with timing.timed("ingest.load.type"):
            con.execute(
                f"insert into {table} select {cols}, "
                f"?, ?, {plan.regency_sql}, ?, ?, _row_number from {src_table} "
                f"where {plan.where}",
                [received.batch_id, feed.id, received.sha256, received.received_at],
            )
        try:
            with timing.timed("ingest.load.check"):
                rows = _raise_on_bad_values(con, feed, spec, name, plan.mapping, src_table,
                                            plan.where, plan.raw_of, plan.typed_of, table)
        except SubmissionError:
            con.execute(f"drop table if exists {table}")
            raise
        _MAPPED[received.batch_id] = _mapped_values(con, plan, src_table)
        return table, rows
    finally:
        con.execute(f"drop table if exists {src_table}")


_MAPPED: dict[str, list[tuple]] = {}   # batch id -> what `value_mappings` returns


def value_mappings(received: Received) -> list[tuple[str, str, str, int]]:
    """The values of a file loaded by `load_batch` that were written to their canonical
    spelling: (column, as sent, as stored, rows). Once: the list is handed over."""
    return _MAPPED.pop(received.batch_id, [])


def _mapped_values(con: duckdb.DuckDBPyConnection, plan: _Plan, src_table: str
                   ) -> list[tuple[str, str, str, int]]:
    out = []
    for c in plan.remapped or {}:
        sent = f"nullif(trim({quote_ident(plan.mapping[c])}), '')"
        stored = f"nullif(trim({plan.raw_of[c]}), '')"
        out += [(c, *r) for r in con.execute(
            f"select {sent}, {stored}, count(*) from {src_table} where ({plan.where}) "
            f"and {sent} is distinct from {stored} group by all order by 1").fetchall()]
    return out
