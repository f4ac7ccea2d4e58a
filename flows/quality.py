"""Data-quality gate: run a Great Expectations suite, written as YAML, against a DuckDB table.

One suite per dataset lives in ``expectations/<dataset>.yml`` (format: ``expectations/README.md``).
``validate_table`` runs it through Great Expectations' SQL execution path (GX compiles every metric
to SQL and DuckDB executes it, via SQLAlchemy and duckdb-engine) and returns a :class:`Verdict`
whose messages a regency data steward can act on.

``great_expectations`` is imported lazily (the import costs several seconds), so importing this
module stays cheap for the CLI.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from flows.common.sql import quote_literal

# GX must never phone home; the variable is read when GX is imported and when a context is made.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

SEVERITIES = ("critical", "warning")
UNEXPECTED_ROWS = "unexpected_rows"
MAX_EXAMPLES = 5

_GX_ENGINE_MODULE = "great_expectations.execution_engine.sqlalchemy_execution_engine"
_ENTRY_KEYS = {"expect", "kwargs", "severity", "description", "query", "column", "notes"}
_SUITE_KEYS = {"dataset", "description", "expectations"}


class QualityError(Exception):
    """A validation could not be run at all (as opposed to: it ran and the data failed)."""


class SuiteError(QualityError, ValueError):
    """The YAML suite is malformed, or a ``{param: ...}`` it uses was not supplied."""


class TableNotFoundError(QualityError, LookupError):
    """The table to validate does not exist in the database."""


@dataclass(frozen=True)
class ExpectationResult:
    expectation: str  # GX expectation type, e.g. "expect_column_values_to_not_be_null"
    column: str | None
    severity: str  # "critical" | "warning"
    success: bool
    observed_value: object  # JSON-serialisable scalar (str/number/bool/None)
    unexpected_count: int | None
    unexpected_examples: list  # up to 5 distinct offending values (rows, for query rules)
    message: str  # names the column, the rule and examples


@dataclass(frozen=True)
class Verdict:
    suite: str
    table: str
    accepted: bool  # False iff any critical expectation failed
    results: list[ExpectationResult]
    # The whole suite's GX result (ExpectationSuiteValidationResult.to_json_dict()), for
    # GX's Data Docs. Unmasked: whatever is published from it must go through redaction.
    gx_result: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def critical_failures(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]

    @property
    def warnings(self) -> list[ExpectationResult]:
        """Failed warning-severity results (they never reject a batch)."""
        return [r for r in self.results if not r.success and r.severity == "warning"]

    def reason(self, subject: str | None = None) -> str:
        """One readable paragraph: why the batch was rejected (or that it was accepted).
        `subject` names the batch for its reader (the pipeline says "the file": the table
        it validated is internal); default "Table <table>"."""
        subject = subject or f"Table {self.table}"
        failures = self.critical_failures
        if not failures:
            text = (
                f"{subject} passed all critical checks of suite '{self.suite}' "
                f"({len(self.results)} checks)."
            )
            if self.warnings:
                text += f" {_plural(len(self.warnings), 'warning')}: " + "; ".join(
                    w.message for w in self.warnings
                )
                text += "."
            return text
        return (
            f"{subject} was rejected by suite '{self.suite}': "
            f"{_plural(len(failures), 'critical check')} failed. "
            + "; ".join(f.message for f in failures)
            + "."
        )


# --------------------------------------------------------------------------------------------
# Suite loading and parameter substitution (no GX needed)
# --------------------------------------------------------------------------------------------


def load_suite(dataset: str, expectations_dir: Path | None = None) -> dict:
    """Read and check ``<expectations_dir>/<dataset>.yml``; return the parsed YAML."""
    directory = Path(expectations_dir) if expectations_dir is not None else EXPECTATIONS_DIR
    path = directory / f"{dataset}.yml"
    if not path.is_file():
        available = sorted(p.stem for p in directory.glob("*.yml")) if directory.is_dir() else []
        raise SuiteError(
            f"no expectation suite for dataset '{dataset}': {path} does not exist"
            + (f" (available: {', '.join(available)})" if available else "")
        )
    # A run validates every file of a feed against the same suite: parse it once per
    # version of the file (a copy is returned, so callers may change theirs).
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_ctime_ns, st.st_size)
    cached = _SUITES.get(key)
    if cached is None:
        try:
            cached = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SuiteError(f"suite '{dataset}' ({path}) is not valid YAML: {exc}") from exc
        _check_suite(cached, dataset, path)
        if len(_SUITES) > 64:
            _SUITES.clear()
        _SUITES[key] = cached
    return copy.deepcopy(cached)


_SUITES: dict[tuple, Any] = {}


def canonical_values(dataset: str, expectations_dir: Path | None = None
                     ) -> dict[str, tuple[str, ...]]:
    """Column -> the values its suite accepts, from each literal
    `expect_column_values_to_be_in_set` (a set given as a {param: ...} is not a
    canonical list). Ingest writes a value that matches one of these but for case,
    accents and spaces in this spelling (flows/ingest.py `_canonical_expr`)."""
    out: dict[str, tuple[str, ...]] = {}
    for entry in load_suite(dataset, expectations_dir).get("expectations") or []:
        kwargs = entry.get("kwargs") or {}
        values = kwargs.get("value_set")
        if (entry.get("expect") == "expect_column_values_to_be_in_set"
                and isinstance(values, list) and kwargs.get("column")
                and all(isinstance(v, str) for v in values)):
            out[kwargs["column"]] = tuple(values)
    return out


def _check_suite(suite: Any, dataset: str, path: Path) -> None:
    where = f"suite '{dataset}' ({path})"
    if not isinstance(suite, dict):
        raise SuiteError(f"{where}: top level must be a mapping")
    unknown = set(suite) - _SUITE_KEYS
    if unknown:
        raise SuiteError(f"{where}: unknown top-level keys {sorted(unknown)}")
    if suite.get("dataset") != dataset:
        raise SuiteError(f"{where}: 'dataset' is {suite.get('dataset')!r}, expected {dataset!r}")
    entries = suite.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{where}: 'expectations' must be a non-empty list")
    for number, entry in enumerate(entries, start=1):
        at = f"{where}, expectation #{number}"
        if not isinstance(entry, dict):
            raise SuiteError(f"{at}: must be a mapping")
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise SuiteError(f"{at}: unknown keys {sorted(unknown)}")
        expect = entry.get("expect")
        if not isinstance(expect, str) or not expect:
            raise SuiteError(f"{at}: 'expect' (the GX expectation type) is required")
        if entry.get("severity") not in SEVERITIES:
            raise SuiteError(
                f"{at} ({expect}): 'severity' must be one of {', '.join(SEVERITIES)}, "
                f"got {entry.get('severity')!r}"
            )
        if expect == UNEXPECTED_ROWS:
            query = entry.get("query")
            if not isinstance(query, str) or "{batch}" not in query:
                raise SuiteError(f"{at}: 'query' is required and must select FROM {{batch}}")
            if not isinstance(entry.get("description"), str):
                raise SuiteError(f"{at}: 'description' is required (it is the rule's message)")
            if "kwargs" in entry:
                raise SuiteError(f"{at}: unexpected_rows takes 'query', not 'kwargs'")
        else:
            if "query" in entry:
                raise SuiteError(f"{at}: 'query' is only for expect: {UNEXPECTED_ROWS}")
            if not isinstance(entry.get("kwargs", {}), dict):
                raise SuiteError(f"{at}: 'kwargs' must be a mapping")


def _substitute(value: Any, params: Mapping[str, Any], dataset: str, expect: str) -> Any:
    """Replace every ``{param: name}`` mapping inside ``value`` with ``params[name]``."""
    if isinstance(value, dict):
        if set(value) == {"param"}:
            name = value["param"]
            if name not in params:
                supplied = ", ".join(sorted(params)) or "none"
                raise SuiteError(
                    f"suite '{dataset}' needs param '{name}' (used by {expect}), "
                    f"but it was not passed to validate_table (params supplied: {supplied})"
                )
            found = params[name]
            if isinstance(found, (set, frozenset)):
                return sorted(found)
            return list(found) if isinstance(found, tuple) else found
        return {k: _substitute(v, params, dataset, expect) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params, dataset, expect) for v in value]
    return value


@dataclass(frozen=True)
class _Spec:
    """One suite entry with params resolved."""

    index: int
    expect: str
    kwargs: dict
    severity: str
    description: str | None
    query: str | None
    column: str | None


def _resolve(suite: dict, params: Mapping[str, Any] | None, *,
             skip_missing: bool = False) -> list[_Spec]:
    """The suite's entries with `params` substituted; with `skip_missing`, entries that
    need a param `params` lacks are left out (instead of an error)."""
    params = dict(params or {})
    dataset = suite["dataset"]
    specs = []
    for index, entry in enumerate(suite["expectations"]):
        expect = entry["expect"]
        try:
            kwargs = _substitute(entry.get("kwargs") or {}, params, dataset, expect)
        except SuiteError:
            if skip_missing:
                continue
            raise
        column = entry.get("column") or kwargs.get("column")
        if column is None and kwargs.get("column_list"):
            column = ", ".join(kwargs["column_list"])
        if column is None and kwargs.get("column_A"):
            column = f"{kwargs['column_A']}, {kwargs.get('column_B')}"
        specs.append(
            _Spec(
                index=index,
                expect=expect,
                kwargs=kwargs,
                severity=entry["severity"],
                description=entry.get("description"),
                query=entry.get("query"),
                column=column,
            )
        )
    return specs


# Rules about each row on its own (or about duplicates among rows): on the rows of several
# batches together, a rule that no row fails is a rule no row of any one batch fails, so
# one run over the batches together gives every batch's result. Not so for table rules
# (row counts) or aggregates (a column's mean), which stay per batch.
ROW_LEVEL_PREFIXES = ("expect_column_values_to_", "expect_column_pair_values_",
                      "expect_multicolumn_values_to_", "expect_compound_columns_to_be_unique",
                      "expect_select_column_values_to_be_unique_within_record")


def _row_level(spec: _Spec) -> bool:
    return spec.expect == UNEXPECTED_ROWS or spec.expect.startswith(ROW_LEVEL_PREFIXES)


def _no_row_fails(gx_result: Any) -> bool:
    """GX's result says that not one row failed (not merely that the rule passed: a
    `mostly` rule passes with some rows failing)."""
    if not gx_result.success or _exception_message(gx_result) is not None:
        return False
    result = dict(gx_result.result or {})
    key = "observed_value" if "unexpected_count" not in result else "unexpected_count"
    return result.get(key) == 0


@dataclass(frozen=True)
class SharedRows:
    """The row-level rules of a suite, validated once on the rows of several batches
    together (`Validator.validate_together`), not one row failing any of them. Each
    batch's `Validator.validate(..., shared=...)` takes these results as its own (exact:
    see ROW_LEVEL_PREFIXES) and runs only the rest of the suite (its table rules) on
    the batch itself."""

    dataset: str
    table: str
    batches: int
    rows: int
    raw: dict            # suite index -> GX's result on the rows together
    outcomes: list       # GX's suite results (for the merged result's run metadata)

    def note(self) -> dict:
        """What the batch's GX result says about the rules it shares (Data Docs)."""
        return {"batches": self.batches, "rows": self.rows, "table": self.table,
                "expectations": sorted(self.raw)}


# --------------------------------------------------------------------------------------------
# Great Expectations: lazy import, DuckDB fixes
# --------------------------------------------------------------------------------------------


class _DuckDBDialectName(str):
    """The string "duckdb" with a ``.value``, so it passes for a ``GXSqlDialect`` member."""

    __slots__ = ()

    @property
    def value(self) -> str:
        return str.__str__(self)


def _patch_gx_persisted_connection() -> None:
    """Make GX keep one persisted connection for DuckDB, as it already does for SQLite.

    Why: without this every metric-based expectation fails on DuckDB with
    ``MetricResolutionError: list index out of range``. For dialects outside
    ``_PERSISTED_CONNECTION_DIALECTS`` GX runs each metric query in ``with engine.connect()``
    and reads the rows after that block has closed the connection. duckdb-engine's cursor *is*
    the DuckDB connection, so the rows are gone by then. Listing DuckDB there makes GX create the
    engine with a ``StaticPool`` (``_dialect_requires_persisted_connection`` tests
    ``connection_string.startswith(dialect.value)``) and reuse one open connection
    (``get_connection`` tests ``dialect_name in _PERSISTED_CONNECTION_DIALECTS``). Both tests
    are satisfied by a ``str`` whose ``.value`` is "duckdb". Idempotent.
    """
    engine_module = sys.modules.get(_GX_ENGINE_MODULE)
    if engine_module is None:
        return
    dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
    if any(getattr(d, "value", d) == "duckdb" for d in dialects):
        return
    engine_module._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialectName("duckdb"))


# Applied here, at import of this module, when GX is already loaded; otherwise right after the
# lazy import in _gx() (importing GX here would cost seconds on every CLI start).
_patch_gx_persisted_connection()

_GX_LOCK = threading.Lock()
_GX_LOGGING_QUIETED = False


def _gx() -> Any:
    """Import great_expectations (once), apply the DuckDB patch and quieten GX's logging."""
    with _GX_LOCK:
        import great_expectations as gx
        import great_expectations.execution_engine.sqlalchemy_execution_engine  # noqa: F401

        _patch_gx_persisted_connection()
        _quiet_gx_logging()
        return gx


def warm_up() -> None:
    """Import Great Expectations now (e.g. in a background thread), so the first
    validation does not wait for it. Never raises: the first validation reports any
    problem itself."""
    with contextlib.suppress(Exception):
        _gx()


def _quiet_gx_logging() -> None:
    """Only errors from GX: its INFO lines (e.g. one per context) would flood Prefect's logs."""
    global _GX_LOGGING_QUIETED
    if _GX_LOGGING_QUIETED:
        return
    _GX_LOGGING_QUIETED = True
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:  # leave a deliberate configuration alone
        gx_logger.setLevel(logging.ERROR)
    # Some GX modules pin their own logger to INFO at import; let them inherit instead.
    for name, child in list(logging.root.manager.loggerDict.items()):
        if (
            name.startswith("great_expectations.")
            and isinstance(child, logging.Logger)
            and logging.NOTSET < child.level < logging.WARNING
        ):
            child.setLevel(logging.NOTSET)


def _split_table(table: str) -> tuple[str | None, str | None, str]:
    """'name', 'schema.name' or 'catalog.schema.name' -> (catalog, schema, name)."""
    parts = table.split(".")
    if all(parts) and 1 <= len(parts) <= 3:
        parts = [None] * (3 - len(parts)) + parts
        return parts[0], parts[1], parts[2]
    raise ValueError(f"table must be 'name', 'schema.name' or 'catalog.schema.name', "
                     f"got {table!r}")


def _build_expectation(gx: Any, spec: _Spec, suite_name: str) -> Any:
    from great_expectations.expectations.registry import get_expectation_impl

    meta = {"satudata_index": spec.index}
    try:
        if spec.expect == UNEXPECTED_ROWS:
            return gx.expectations.UnexpectedRowsExpectation(
                unexpected_rows_query=spec.query,
                description=spec.description,
                severity=spec.severity,
                meta=meta,
            )
        impl = get_expectation_impl(spec.expect)
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
        self._gx = _gx()
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
        # An ephemeral context keeps nothing, yet GX serialises its whole configuration to
        # YAML on every datasource change (3 per batch: asset, batch definition, removal):
        # ~25 ms a batch, 1/8 of a small batch's validation. Nothing reads it back.
        context._save_project_config = lambda *args, **kwargs: None
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
            if engine.dialect_module is None:
                # GX picks SQL for regex (and LIKE) from a dialect module it only knows for
                # built-in dialects; duckdb-engine's dialect is a PostgreSQL dialect and DuckDB
                # has PostgreSQL's `~` operator. Without this,
                # expect_column_values_to_match_regex fails with "Regex is not supported for
                # dialect duckdb".
                engine.dialect_module = sa.dialects.postgresql
            self._engine = engine
            self._path = None
            for sa_engine in (engine.engine, datasource.get_engine()):
                sa.event.listen(sa_engine, "checkout", self._on_checkout)
            # The dialect is in _PERSISTED_CONNECTION_DIALECTS (see the patch above): GX runs
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
            with warnings.catch_warnings():
                # GX 1.x deprecates schema_name in favour of a schema in the connection
                # configuration, which a DuckDB URL cannot carry.
                warnings.filterwarnings("ignore", "`schema_name` is deprecated",
                                        DeprecationWarning)
                asset = self._datasource.add_table_asset(
                    name=asset_name, table_name=table_name,
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
        engine = getattr(datasource, "_execution_engine", None)
        if engine is not None:
            connection = getattr(engine, "_connection", None)
            if connection is not None:
                connection.close()
                engine._connection = None
            engine.engine.dispose()
        own = getattr(datasource, "_engine", None)  # the datasource's own (test_connection)
        if own is not None:
            own.dispose()
        self._connection = None

    def __enter__(self) -> Validator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _merge_outcomes(dataset: str, table: str, specs: list[_Spec], raw: dict[int, Any],
                    outcomes: list) -> dict:
    """One GX validation result (``ExpectationSuiteValidationResult`` as JSON) for the
    whole suite, in the suite's order: what GX's Data Docs render. The pipeline runs a
    suite in two parts (two result formats); the parts are joined here."""
    if not outcomes:
        return {}
    first = copy.copy(outcomes[0])
    first.results = []   # serialised once each, below
    merged = first.to_json_dict()
    merged["results"] = [raw[spec.index].to_json_dict() for spec in specs]
    evaluated = len(specs)
    passed = sum(1 for spec in specs if raw[spec.index].success)
    merged["success"] = all(o.success for o in outcomes)
    merged["suite_name"] = dataset
    merged["statistics"] = {
        "evaluated_expectations": evaluated,
        "successful_expectations": passed,
        "unsuccessful_expectations": evaluated - passed,
        "success_percent": 100.0 * passed / evaluated if evaluated else None,
    }
    meta = dict(merged.get("meta") or {})
    meta["active_batch_definition"] = meta.get("active_batch_definition") or {}
    meta["satudata_table"] = table
    merged["meta"] = meta
    return merged


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Turning GX results into readable ones
# --------------------------------------------------------------------------------------------


def _to_result(spec: _Spec, gx_result: Any) -> ExpectationResult:
    result = dict(gx_result.result or {})
    error = _exception_message(gx_result)
    success = bool(gx_result.success) and error is None
    observed = _scalar(result.get("observed_value"))
    unexpected_count = result.get("unexpected_count")
    examples: list = []
    if spec.expect == UNEXPECTED_ROWS:
        unexpected_count = result.get("observed_value")
        rows = (result.get("details") or {}).get("unexpected_rows") or []
        examples = [{str(k): _json(v) for k, v in dict(row).items()} for row in rows]
    elif "partial_unexpected_list" in result:
        examples = [_json(v) for v in result["partial_unexpected_list"]]
    examples = _distinct(examples)[:MAX_EXAMPLES]
    if isinstance(unexpected_count, float) and unexpected_count.is_integer():
        unexpected_count = int(unexpected_count)
    return ExpectationResult(
        expectation=gx_result.expectation_config.type,
        column=spec.column,
        severity=spec.severity,
        success=success,
        observed_value=observed,
        unexpected_count=unexpected_count if isinstance(unexpected_count, int) else None,
        unexpected_examples=examples,
        message=_message(spec, success, result, unexpected_count, examples, error),
    )


def _exception_message(gx_result: Any) -> str | None:
    info = gx_result.exception_info or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            return _first_line(str(item.get("exception_message") or "unknown error"))
    return None


def _message(
    spec: _Spec,
    success: bool,
    result: dict,
    unexpected_count: Any,
    examples: list,
    error: str | None,
) -> str:
    subject = _subject(spec)
    rule = _rule(spec)
    if spec.description and spec.expect != UNEXPECTED_ROWS and rule != spec.description:
        rule += f" ({spec.description})"
    if error is not None:
        return f"{subject}: {rule}; the check could not be run: {error}"
    if spec.expect.startswith("expect_table_"):
        detail = _table_detail(spec, result)
        return f"{subject}: {rule}; " + ("ok" if success else detail)
    if success:
        return f"{subject}: {rule}; all rows pass"
    if isinstance(unexpected_count, (int, float)):
        text = f"{subject}: {rule}; {_plural(int(unexpected_count), 'row')} "
        text += "fails" if unexpected_count == 1 else "fail"
    else:
        text = f"{subject}: {rule}; failed (observed: {_show(result.get('observed_value'))})"
    if examples:
        text += ", e.g. " + ", ".join(_show(e) for e in examples)
    return text


def _subject(spec: _Spec) -> str:
    kwargs = spec.kwargs
    if "column_list" in kwargs:
        return "columns (" + ", ".join(kwargs["column_list"]) + ")"
    if "column_A" in kwargs:
        return f"columns ({kwargs['column_A']}, {kwargs.get('column_B')})"
    if spec.column:
        return f"column '{spec.column}'"
    return "table"


def _rule(spec: _Spec) -> str:
    k = spec.kwargs
    e = spec.expect
    if spec.description and e == UNEXPECTED_ROWS:
        return spec.description
    if e == "expect_column_values_to_not_be_null":
        return "values must not be empty (NULL)"
    if e == "expect_column_values_to_be_null":
        return "values must be empty (NULL)"
    if e == "expect_column_values_to_be_in_set":
        return f"values must be one of {_show_set(k.get('value_set'))}"
    if e == "expect_column_values_to_not_be_in_set":
        return f"values must not be any of {_show_set(k.get('value_set'))}"
    if e in ("expect_column_values_to_be_between", "expect_table_row_count_to_be_between"):
        what = "the row count" if e.startswith("expect_table") else "values"
        return f"{what} must be {_range(k)}"
    if e == "expect_column_values_to_match_regex":
        return f"values must match the pattern {k.get('regex')}"
    if e == "expect_column_values_to_not_match_regex":
        return f"values must not match the pattern {k.get('regex')}"
    if e == "expect_column_values_to_be_unique":
        return "values must be unique"
    if e == "expect_compound_columns_to_be_unique":
        return "each combination of these values must occur only once"
    if e == "expect_column_pair_values_to_be_equal":
        return "the two values must be equal"
    if e == "expect_table_columns_to_match_set":
        cols = ", ".join(k.get("column_set") or [])
        exact = "exactly the columns" if k.get("exact_match", True) else "the columns"
        return f"must have {exact} {cols}"
    if e == "expect_column_to_exist":
        return "column must exist"
    if spec.description:
        return spec.description
    shown = ", ".join(f"{key}={_show(value)}" for key, value in k.items() if key != "column")
    return f"{e}({shown})"


def _range(kwargs: dict) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and high is not None:
        return f"between {_show(low)} and {_show(high)}"
    if low is not None:
        return f"at least {_show(low)}"
    if high is not None:
        return f"at most {_show(high)}"
    return "anything"


def _table_detail(spec: _Spec, result: dict) -> str:
    observed = result.get("observed_value")
    if spec.expect == "expect_table_columns_to_match_set":
        mismatched = (result.get("details") or {}).get("mismatched") or {}
        parts = []
        if mismatched.get("missing"):
            parts.append("missing: " + ", ".join(map(str, mismatched["missing"])))
        if spec.kwargs.get("exact_match", True) and mismatched.get("unexpected"):
            parts.append("unexpected: " + ", ".join(map(str, mismatched["unexpected"])))
        return "; ".join(parts) or f"found {_show(observed)}"
    return f"observed {_show(observed)}"


def _show_set(values: Any) -> str:
    values = list(values or [])
    shown = ", ".join(_show(v) for v in values[:10])
    if len(values) > 10:
        shown += f", ... ({len(values)} values)"
    return "{" + shown + "}"


def _show(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if isinstance(value, str):
        return repr(value) if value == "" or value != value.strip() else value
    return str(value)


def _json(value: Any) -> Any:
    """A JSON-serialisable version of a value returned by GX/DuckDB."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return str(value)


def _scalar(value: Any) -> Any:
    """Observed values are kept scalar: lists become a comma-separated string."""
    value = _json(value)
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, dict):
        return _show(value)
    return value


def _distinct(values: list) -> list:
    seen: set[str] = set()
    kept = []
    for value in values:
        key = repr(value)
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
