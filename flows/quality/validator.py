"""Validator: run a suite on a DuckDB table (a batch) through Great Expectations' SQL
execution path and return a `Verdict`.

GX compiles every metric to SQL and DuckDB executes it, via SQLAlchemy and duckdb-engine.
`Validator` holds one GX context and DuckDB datasource for many batches;
`validate_table` validates one table and releases the database file. GX's internals are
reached only through `flows.quality.gx_duckdb`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.common.sql import quote_literal
from flows.quality import gx_duckdb
from flows.quality.errors import QualityError, SuiteError, TableNotFoundError
from flows.quality.messages import _first_line
from flows.quality.results import (
    MAX_EXAMPLES,
    SharedRows,
    Verdict,
    _merge_outcomes,
    _no_row_fails,
    _to_result,
)
from flows.quality.suites import UNEXPECTED_ROWS, _resolve, _row_level, _Spec, load_suite


def _split_table(table: str) -> tuple[str | None, str | None, str]:
    """'name', 'schema.name' or 'catalog.schema.name' -> (catalog, schema, name)."""
    parts = table.split(".")
    if all(parts) and 1 <= len(parts) <= 3:
        parts = [None] * (3 - len(parts)) + parts
        return parts[0], parts[1], parts[2]
    raise ValueError(f"table must be 'name', 'schema.name' or 'catalog.schema.name', "
                     f"got {table!r}")


def _build_expectation(gx: Any, spec: _Spec, suite_name: str) -> Any:
    meta = {"satudata_index": spec.index}
    try:
        if spec.expect == UNEXPECTED_ROWS:
            return gx.expectations.UnexpectedRowsExpectation(
                unexpected_rows_query=spec.query,
                description=spec.description,
                severity=spec.severity,
                meta=meta,
            )
        impl = gx_duckdb.expectation_class(spec.expect)
        extra = {"description": spec.description} if spec.description else {}
        return impl(**spec.kwargs, severity=spec.severity, meta=meta, **extra)
    except Exception as exc:  # unknown type, wrong kwargs: say where
        raise SuiteError(
            f"suite '{suite_name}', expectation #{spec.index + 1} ({spec.expect}) is invalid: "
            f"{_first_line(str(exc))}"
        ) from exc


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return _first_line(str(getattr(cause, "orig", None) or cause))


class Validator:
    """One Great Expectations context and DuckDB datasource, reused for many batches.

    Setting up a GX context and datasource costs ~0.2-0.4 s; a run validates one batch
    per received file (96 monthly complaint files, say), so the pipeline opens one
    Validator per feed and validates each batch with it.

    GX reaches DuckDB through SQLAlchemy and duckdb-engine, which opens the file with
    ``duckdb.connect(path, config={"custom_user_agent": ...})``. When this process already
    holds a connection to the file opened with that same configuration
    (``flows.warehouse.connect`` does), DuckDB hands GX the *same database instance*: GX
    then sees the caller's attached in-memory databases (where the pipeline keeps a batch
    until it is accepted) and never fights it for the file's lock. Without such a
    connection GX opens the file itself. ``close()`` releases every connection GX made.
    """

    def __init__(self, database: Path | str, *, expectations_dir: Path | None = None):
        database = Path(database)
        if not database.is_file():  # duckdb would silently create an empty database
            raise FileNotFoundError(f"DuckDB database {database} does not exist")
        self.database = database
        self.expectations_dir = expectations_dir
        self._gx = gx_duckdb._gx()
        self._datasource = None
        self._engine = None
        self._connection = None
        self._assets = 0
        self._open()

    def _open(self) -> None:
        import sqlalchemy as sa
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = self._gx.get_context(mode="ephemeral")
        context.enable_analytics(False)
        context.variables.progress_bars = ProgressBarsConfig(globally=False,
                                                             metric_calculations=False)
        gx_duckdb.skip_config_saves(context)
        try:
            datasource = context.data_sources.add_sql(
                name="duckdb", connection_string=f"duckdb:///{self.database}"
            )
        except Exception as exc:  # GX tests the connection here: a locked file fails now
            raise QualityError(
                f"cannot open DuckDB database {self.database}: {_cause(exc)} (another process "
                "holds it, or this process holds it with another configuration: open it with "
                "flows.warehouse.connect, which GX can share, or close it first)"
            ) from exc
        self._datasource = datasource
        try:
            engine = datasource.get_execution_engine()
            gx_duckdb.use_postgresql_dialect_module(engine)  # regex rules on DuckDB
            self._engine = engine
            self._path = None
            for sa_engine in (engine.engine, datasource.get_engine()):
                sa.event.listen(sa_engine, "checkout", self._on_checkout)
            # The dialect is in _PERSISTED_CONNECTION_DIALECTS (gx_duckdb's patch): GX runs
            # every query on this one connection.
            with engine.get_connection() as connection:
                self._connection = connection
                self._catalog = connection.exec_driver_sql(
                    "select current_database()").scalar()
        except Exception:
            self.close()
            raise

    def _search_path(self, catalog: str | None, schema: str | None) -> None:
        """duckdb-engine cannot reflect columns under SQLAlchemy 2.1 (its query needs
        pg_catalog.pg_collation), so GX falls back to ``SELECT * FROM <table> LIMIT 1``
        *without* the schema: the batch's schema goes on the search path of GX's
        connections (its persisted one, and the datasource's own, which probes the table).
        The warehouse's own catalog stays on it, so suite queries can still name
        ``reference.<table>``."""
        # The database's own catalog first: DuckDB resolves `reference.<table>` against
        # the first catalog on the path.
        path = (f"{self._catalog}.main,{catalog}.{schema or 'main'}" if catalog
                else schema or "main")
        self._path = f"SET search_path = {quote_literal(path)}"
        self._connection.exec_driver_sql(self._path)

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self._path:
            dbapi_connection.execute(self._path)

    def validate(self, table: str, dataset: str, *, params: dict | None = None,
                 shared: SharedRows | None = None) -> Verdict:
        """Validate ``table`` ('name', 'schema.name' or 'catalog.schema.name') with the
        suite ``expectations/<dataset>.yml``; ``{param: name}`` values come from ``params``.
        With ``shared`` (from `validate_together` on rows that include this table's), the
        rules it holds are taken from it and only the others run on ``table``."""
        from flows import timing

        with timing.timed("validate"):
            return self._validate(table, dataset, params, shared)

    def validate_together(self, table: str, dataset: str, *, params: dict | None = None,
                          batches: int, rows: int) -> SharedRows | None:
        """Run the suite's row-level rules that ``params`` resolve (those needing a
        per-batch param are left to each batch) once on ``table``, the rows of
        ``batches`` batches together. Returns them if not one row failed any, for each
        batch's `validate(..., shared=...)`; else None: then validate each batch whole,
        which finds which batches hold the failing rows."""
        from flows import timing

        with timing.timed("validate"):
            suite = load_suite(dataset, self.expectations_dir)
            specs = [s for s in _resolve(suite, params, skip_missing=True) if _row_level(s)]
            if not specs:
                return None
            raw, outcomes = self._run(table, dataset, specs)
            if not all(_no_row_fails(raw[s.index]) for s in specs):
                return None
            return SharedRows(dataset, table, batches, rows, raw, outcomes)

    def _validate(self, table: str, dataset: str, params: dict | None,
                  shared: SharedRows | None) -> Verdict:
        suite = load_suite(dataset, self.expectations_dir)
        specs = _resolve(suite, params)  # a missing param fails here, before any GX work
        taken = set() if shared is None else {s.index for s in specs} & set(shared.raw)
        own = [s for s in specs if s.index not in taken]
        raw, outcomes = self._run(table, dataset, own) if own else ({}, [])
        if taken:
            raw.update({i: shared.raw[i] for i in taken})
            outcomes += shared.outcomes
        results = [_to_result(spec, raw[spec.index]) for spec in specs]
        accepted = not any(not r.success and r.severity == "critical" for r in results)
        merged = _merge_outcomes(dataset, table, specs, raw, outcomes)
        if taken and merged:
            merged["meta"]["satudata_shared"] = shared.note()
        return Verdict(suite=dataset, table=table, accepted=accepted, results=results,
                       gx_result=merged)

    def _run(self, table: str, dataset: str, specs: list[_Spec]) -> tuple[dict, list]:
        """GX on ``table`` for ``specs``: their results by suite index, and GX's suite
        results."""
        catalog, schema, table_name = _split_table(table)
        gx = self._gx
        expectations = {spec.index: _build_expectation(gx, spec, dataset) for spec in specs}
        self._search_path(catalog, schema)
        self._assets += 1
        asset_name = f"{table}#{self._assets}"
        try:
            asset = gx_duckdb.add_table_asset(
                self._datasource, name=asset_name, table_name=table_name,
                schema_name=schema if catalog is None else None)
        except Exception as exc:  # GX probes the table here
            import duckdb

            if isinstance(getattr(exc.__cause__, "orig", None), duckdb.CatalogException):
                raise TableNotFoundError(
                    f"table '{table}' does not exist in {self.database}") from exc
            raise QualityError(f"cannot read table '{table}': {_cause(exc)}") from exc
        try:
            batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
            # Column and table rules run in BASIC (counts plus a few values, no full lists;
            # SUMMARY would add value counts and index lists nobody reads, and costs ~20 %
            # more per batch); query rules run in COMPLETE, the only format in which GX
            # returns their rows (capped at 200).
            summary = [spec.index for spec in specs if spec.expect != UNEXPECTED_ROWS]
            complete = [spec.index for spec in specs if spec.expect == UNEXPECTED_ROWS]
            raw: dict[int, Any] = {}
            outcomes = []
            for name, indexes, result_format in (
                ("summary", summary, {"result_format": "BASIC"}),
                ("complete", complete, {"result_format": "COMPLETE"}),
            ):
                if not indexes:
                    continue
                run = gx.ExpectationSuite(
                    name=f"{dataset}-{name}", expectations=[expectations[i] for i in indexes]
                )
                result_format["partial_unexpected_count"] = MAX_EXAMPLES
                outcome = batch.validate(run, result_format=result_format)
                outcomes.append(outcome)
                for item in outcome.results:
                    raw[item.expectation_config.meta["satudata_index"]] = item
        finally:
            self._datasource.delete_asset(asset_name)
        return raw, outcomes

    def close(self) -> None:
        """Close the persisted connection and dispose both engines GX made."""
        datasource, self._datasource = self._datasource, None
        if datasource is None:
            return
        gx_duckdb.release(datasource)
        self._connection = None

    def __enter__(self) -> Validator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def validate_table(
    database: Path | str,
    table: str,
    dataset: str,
    *,
    params: dict | None = None,
    expectations_dir: Path | None = None,
) -> Verdict:
    """Validate ``table`` (``name`` or ``schema.name``) in the DuckDB file ``database``.

    Runs the suite ``expectations/<dataset>.yml`` with ``{param: name}`` values taken from
    ``params``. The database file is fully released (no open connection) on return. To
    validate many batches, open one :class:`Validator` instead.
    """
    # a broken suite, a missing param or a bad table name fails before GX is started
    _resolve(load_suite(dataset, expectations_dir), params)
    _split_table(table)
    with Validator(database, expectations_dir=expectations_dir) as validator:
        return validator.validate(table, dataset, params=params)

