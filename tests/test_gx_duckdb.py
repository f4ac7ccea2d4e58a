"""Great Expectations' internals that `flows/quality/gx_duckdb.py` patches or reaches into.

Each test names a GX internal the project relies on and fails when GX changes under it
(a name gone, a signature changed, a patch that no longer reaches GX's hot path), so an
upgrade of GX starts here rather than with a pipeline that rejects every batch. The last
test runs a real validation of a batch held in an in-memory DuckDB database through the
patched path (`flows.quality.Validator`, as the pipeline runs it).
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import warnings
from pathlib import Path

import pytest

from flows.quality import gx_duckdb
from tests.helpers import PROJECT_ROOT

ENGINE_MODULE = "great_expectations.execution_engine.sqlalchemy_execution_engine"


@pytest.fixture(scope="module")
def gx():
    return gx_duckdb._gx()


@pytest.fixture()
def datasource(gx, tmp_path: Path):
    """A SQL datasource of an ephemeral context on a DuckDB file holding `t`, released after."""
    import duckdb

    path = tmp_path / "gx.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select * from (values ('36.01'), ('x'), (null)) v(kode)")
    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    source = context.data_sources.add_sql(name="duckdb", connection_string=f"duckdb:///{path}")
    yield source
    gx_duckdb.release(source)


def test_installed_gx_is_the_pinned_one() -> None:
    """The patches were written against this version: upgrading GX is a conscious step
    (change constraints.txt, run this file)."""
    pins = (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8")
    pinned = re.search(r"^great[-_]expectations==(\S+)\s*$", pins, re.MULTILINE | re.IGNORECASE)
    assert pinned, "constraints.txt pins no great_expectations version"
    assert importlib.metadata.version("great_expectations") == pinned.group(1)


def test_persisted_connection_dialects(gx) -> None:
    """`_patch_gx_persisted_connection` appends to the module global
    `_PERSISTED_CONNECTION_DIALECTS`, which GX must still read at call time in
    `_dialect_requires_persisted_connection` (as `dialect.value`, to choose a StaticPool)
    and in `SqlAlchemyExecutionEngine.get_connection` (`dialect_name in ...`, to keep
    one connection in `self._connection`)."""
    import sys

    engine_module = sys.modules[ENGINE_MODULE]
    assert gx_duckdb._GX_ENGINE_MODULE == ENGINE_MODULE
    assert isinstance(engine_module._PERSISTED_CONNECTION_DIALECTS, tuple)

    requires = engine_module._dialect_requires_persisted_connection
    assert "connection_string" in inspect.signature(requires).parameters
    source = inspect.getsource(requires)
    assert "_PERSISTED_CONNECTION_DIALECTS" in source and ".value" in source

    get_connection = engine_module.SqlAlchemyExecutionEngine.get_connection
    source = inspect.getsource(get_connection)
    assert "self.dialect_name in _PERSISTED_CONNECTION_DIALECTS" in source
    assert "self._connection" in source

    gx_duckdb._patch_gx_persisted_connection()
    gx_duckdb._patch_gx_persisted_connection()  # idempotent
    dialects = engine_module._PERSISTED_CONNECTION_DIALECTS
    assert [d for d in dialects if d == "duckdb"] == ["duckdb"]
    assert engine_module._dialect_requires_persisted_connection(connection_string="duckdb:///x")


def test_sql_datasource_and_engine_names(datasource) -> None:
    """The datasource methods and the private attributes `release` and the Validator use."""
    import sqlalchemy as sa
    from great_expectations.datasource.fluent import SQLDatasource

    for name in ("get_execution_engine", "get_engine", "add_table_asset", "delete_asset"):
        assert callable(getattr(SQLDatasource, name, None)), name
    private = getattr(SQLDatasource, "__private_attributes__", {})
    assert {"_execution_engine", "_engine"} <= set(private)

    engine = datasource.get_execution_engine()
    assert datasource._execution_engine is engine
    assert isinstance(engine.engine, sa.engine.Engine)
    assert isinstance(engine.engine.pool, sa.pool.StaticPool)  # the persisted connection
    assert hasattr(engine, "_connection")
    assert hasattr(engine, "dialect_module")
    assert engine.dialect_module is None  # else use_postgresql_dialect_module is moot
    gx_duckdb.use_postgresql_dialect_module(engine)
    assert engine.dialect_module is sa.dialects.postgresql

    with engine.get_connection() as first, engine.get_connection() as second:
        assert first is second is engine._connection
    own = datasource.get_engine()
    assert datasource._engine is own

    gx_duckdb.release(datasource)
    assert engine._connection is None and first.closed


def test_add_table_asset_schema_name_warning(datasource) -> None:
    """`add_table_asset(schema_name=...)` still takes the keyword and still warns in the
    words `gx_duckdb.add_table_asset` silences."""
    from great_expectations.datasource.fluent import SQLDatasource

    parameters = inspect.signature(SQLDatasource.add_table_asset).parameters
    assert {"name", "table_name", "schema_name"} <= set(parameters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        datasource.add_table_asset(name="plain", table_name="t", schema_name="main")
        gx_duckdb.add_table_asset(datasource, name="quiet", table_name="t", schema_name="main")
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len([m for m in messages if "`schema_name` is deprecated" in m]) == 1, messages


def test_save_project_config_is_on_the_datasource_path(gx, tmp_path: Path) -> None:
    """`skip_config_saves` replaces `_save_project_config` of the context: GX must still
    call it (by that name) when a datasource is added, else the patch saves nothing."""
    from great_expectations.data_context import EphemeralDataContext

    assert callable(getattr(EphemeralDataContext, "_save_project_config", None))
    context = gx.get_context(mode="ephemeral")
    assert isinstance(context, EphemeralDataContext)
    calls = []
    context._save_project_config = lambda *args, **kwargs: calls.append(args)
    source = context.data_sources.add_sql(
        name="duckdb", connection_string=f"duckdb:///{tmp_path / 'x.duckdb'}")
    try:
        assert calls, "GX no longer calls _save_project_config when a datasource is added"
        gx_duckdb.skip_config_saves(context)
        assert context._save_project_config() is None
    finally:
        gx_duckdb.release(source)


def test_expectation_registry() -> None:
    from great_expectations.expectations.registry import get_expectation_impl

    assert list(inspect.signature(get_expectation_impl).parameters) == ["expectation_name"]
    cls = gx_duckdb.expectation_class("expect_column_values_to_not_be_null")
    assert cls.__name__ == "ExpectColumnValuesToNotBeNull"
    with pytest.raises(Exception):  # noqa: B017 - GX's own error type for an unknown name
        gx_duckdb.expectation_class("expect_no_such_thing")


def test_validation_of_an_in_memory_batch_through_the_patched_path(tmp_path: Path) -> None:
    """A batch in an in-memory database attached to the warehouse connection (as the
    pipeline keeps it), validated by `Validator`: failing rows are counted (the
    persisted-connection patch: without it every rule "could not be run"), the regex rule
    runs (the dialect module), and closing releases GX's connection."""
    from flows.quality import Validator
    from flows.warehouse import connect

    suites = tmp_path / "expectations"
    suites.mkdir()
    (suites / "tiny.yml").write_text(
        "dataset: tiny\n"
        "expectations:\n"
        "  - expect: expect_column_values_to_not_be_null\n"
        "    kwargs: {column: kode}\n"
        "    severity: critical\n"
        "  - expect: expect_column_values_to_match_regex\n"
        "    kwargs: {column: kode, regex: '^[0-9]{2}\\.[0-9]{2}$'}\n"
        "    severity: warning\n"
        "  - expect: unexpected_rows\n"
        "    query: \"select * from {batch} where kode = 'x'\"\n"
        "    description: no placeholder codes\n"
        "    severity: warning\n",
        encoding="utf-8")
    path = tmp_path / "warehouse.duckdb"
    with connect(path) as con:
        con.execute("select 1")
    with connect(path) as con:
        con.execute("attach ':memory:' as sd_scratch")
        con.execute("create table sd_scratch.main.t as select * from "
                    "(values ('36.01'), ('x'), (null)) v(kode)")
        with Validator(path, expectations_dir=suites) as validator:
            engine = validator._engine
            verdict = validator.validate("sd_scratch.main.t", "tiny")
        assert engine._connection is None
    assert not verdict.accepted
    by_rule = {r.expectation: r for r in verdict.results}
    assert all("could not be run" not in r.message for r in verdict.results), verdict.reason()
    assert by_rule["expect_column_values_to_not_be_null"].unexpected_count == 1
    assert by_rule["expect_column_values_to_match_regex"].unexpected_examples == ["x"]
    assert by_rule["unexpected_rows_expectation"].unexpected_count == 1
