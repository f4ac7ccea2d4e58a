"""Great Expectations as this project runs it on DuckDB: the lazy import of GX, and every
patch of GX or use of its private names, each with why. ``tests/test_gx_duckdb.py`` fails
when GX changes under any of them; a GX upgrade (pinned in constraints.txt) starts there.

GX internals relied on, and where:
- ``sqlalchemy_execution_engine._PERSISTED_CONNECTION_DIALECTS`` (read by
  ``_dialect_requires_persisted_connection`` and ``SqlAlchemyExecutionEngine.get_connection``):
  DuckDB added, so GX keeps one open connection (`_patch_gx_persisted_connection`).
- ``EphemeralDataContext._save_project_config``: a no-op on the Validator's context
  (`skip_config_saves`).
- ``SqlAlchemyExecutionEngine.dialect_module``: PostgreSQL's for duckdb-engine, for regex
  rules (`use_postgresql_dialect_module`).
- ``SQLDatasource._execution_engine`` and ``._engine``, the execution engine's
  ``_connection``: closed and disposed when a Validator closes (`release`).
- ``great_expectations.expectations.registry.get_expectation_impl``: an expectation class by
  its snake-case type name (`expectation_class`).
- ``SQLDatasource.add_table_asset``'s "`schema_name` is deprecated" warning: silenced
  (`add_table_asset`).

``great_expectations`` is imported lazily (the import costs several seconds), so importing
this module stays cheap for the CLI.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from typing import Any

# GX must never phone home; the variable is read when GX is imported and when a context is made.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

_GX_ENGINE_MODULE = "great_expectations.execution_engine.sqlalchemy_execution_engine"


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


def expectation_class(name: str) -> Any:
    """GX's expectation class for a snake-case type name, from GX's expectation registry
    (raises for an unknown name)."""
    from great_expectations.expectations.registry import get_expectation_impl

    return get_expectation_impl(name)


def skip_config_saves(context: Any) -> None:
    """An ephemeral context keeps nothing, yet GX serialises its whole configuration to
    YAML on every datasource change (3 per batch: asset, batch definition, removal):
    ~25 ms a batch, 1/8 of a small batch's validation. Nothing reads it back."""
    context._save_project_config = lambda *args, **kwargs: None


def use_postgresql_dialect_module(engine: Any) -> None:
    """GX picks SQL for regex (and LIKE) from a dialect module it only knows for built-in
    dialects; duckdb-engine's dialect is a PostgreSQL dialect and DuckDB has PostgreSQL's
    `~` operator. Without this, expect_column_values_to_match_regex fails with "Regex is
    not supported for dialect duckdb"."""
    import sqlalchemy as sa

    if engine.dialect_module is None:
        engine.dialect_module = sa.dialects.postgresql


def add_table_asset(datasource: Any, *, name: str, table_name: str,
                    schema_name: str | None) -> Any:
    """``datasource.add_table_asset`` (GX probes the table here)."""
    with warnings.catch_warnings():
        # GX 1.x deprecates schema_name in favour of a schema in the connection
        # configuration, which a DuckDB URL cannot carry.
        warnings.filterwarnings("ignore", "`schema_name` is deprecated",
                                DeprecationWarning)
        return datasource.add_table_asset(name=name, table_name=table_name,
                                          schema_name=schema_name)


def release(datasource: Any) -> None:
    """Close the persisted connection and dispose both engines GX made for ``datasource``
    (its execution engine's, and the datasource's own, which tests the connection)."""
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
