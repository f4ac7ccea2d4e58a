"""Wording: the one-line message a regency data steward reads for a rule's result (the
column, the rule in words, failing rows and examples), and the small text helpers the
quality gate shares."""

from __future__ import annotations

from typing import Any

from flows.quality.suites import UNEXPECTED_ROWS, _Spec


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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
