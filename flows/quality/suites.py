"""Suites: read and check ``expectations/<dataset>.yml``, substitute its ``{param: name}``
values and resolve its entries into specs (no Great Expectations needed).

Format: ``expectations/README.md``. ``ROW_LEVEL_PREFIXES`` says which rules may run once on
the rows of several batches together.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from flows.quality.errors import SuiteError
from flows.settings import project_dir

EXPECTATIONS_DIR = project_dir() / "expectations"

SEVERITIES = ("critical", "warning")
UNEXPECTED_ROWS = "unexpected_rows"

_ENTRY_KEYS = {"expect", "kwargs", "severity", "description", "query", "column", "notes"}
_SUITE_KEYS = {"dataset", "description", "expectations"}


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
    accents and spaces in this spelling (flows/ingest/plan.py `_canonical_expr`)."""
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
