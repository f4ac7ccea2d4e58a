"""Results: the gate's verdict types (`ExpectationResult`, `Verdict`, `SharedRows`) and the
turning of Great Expectations' results into them: JSON-safe values, distinct examples, and
one GX suite result per batch (for Data Docs)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flows.quality.messages import _first_line, _message, _plural, _show
from flows.quality.suites import UNEXPECTED_ROWS, _Spec

MAX_EXAMPLES = 5


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
