"""Data-quality gate: run a Great Expectations suite, written as YAML, against a DuckDB table.

One suite per dataset lives in ``expectations/<dataset>.yml`` (format: ``expectations/README.md``).
``validate_table`` runs it through Great Expectations' SQL execution path (GX compiles every metric
to SQL and DuckDB executes it, via SQLAlchemy and duckdb-engine) and returns a :class:`Verdict`
whose messages a regency data steward can act on.

``great_expectations`` is imported lazily (the import costs several seconds), so importing this
package stays cheap for the CLI.

Modules, in the order a validation goes through them:
- `errors`: the gate's exceptions.
- `suites`: read, check and resolve ``expectations/<dataset>.yml`` (no GX).
- `gx_duckdb`: the lazy import of GX and every patch of GX's internals (one place, one test:
  ``tests/test_gx_duckdb.py``).
- `validator`: `Validator` and `validate_table`, a suite on a DuckDB batch through GX.
- `results`: `Verdict`, `ExpectationResult`, `SharedRows`, GX's results turned into them.
- `messages`: the readable message of each rule's result.
"""

from __future__ import annotations

# The private names (`_gx`, `_resolve`, `_build_expectation`, `_patch_gx_persisted_connection`)
# are still reached as `flows.quality.<name>` from outside this package (flows/quality/data_docs/,
# bench/validation_paths.py, tests/test_quality.py); new code imports them from their modules.
from flows.quality.errors import QualityError, SuiteError, TableNotFoundError
from flows.quality.gx_duckdb import _gx as _gx
from flows.quality.gx_duckdb import (
    _patch_gx_persisted_connection as _patch_gx_persisted_connection,
)
from flows.quality.gx_duckdb import warm_up
from flows.quality.results import MAX_EXAMPLES, ExpectationResult, SharedRows, Verdict
from flows.quality.suites import (
    EXPECTATIONS_DIR,
    ROW_LEVEL_PREFIXES,
    SEVERITIES,
    UNEXPECTED_ROWS,
    canonical_values,
    load_suite,
)
from flows.quality.suites import _resolve as _resolve
from flows.quality.validator import Validator, validate_table
from flows.quality.validator import _build_expectation as _build_expectation

__all__ = [
    "EXPECTATIONS_DIR",
    "MAX_EXAMPLES",
    "ROW_LEVEL_PREFIXES",
    "SEVERITIES",
    "UNEXPECTED_ROWS",
    "ExpectationResult",
    "QualityError",
    "SharedRows",
    "SuiteError",
    "TableNotFoundError",
    "Validator",
    "Verdict",
    "canonical_values",
    "load_suite",
    "validate_table",
    "warm_up",
]
