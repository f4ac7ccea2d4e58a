"""Personal data out of a GX result before it is stored or shown, and markup escaped before
GX renders it.

- `mask_result`: a dataset with any personal-data column (the registry's `personal_data: true`
  columns, or a result on a column whose name says NIK/KTP/phone/e-mail/pelapor) shows rules,
  counts and positions only: every sampled value, observed value and unexpected row's value
  becomes ``***`` (row-number fields and counts stay). A name or NIK pasted into `status`
  cannot be told from a category, so nothing of it is shown. Any other dataset's sampled
  values go through `flows.common.pii.mask_sample` (runs of 8+ digits, phone numbers, e-mail
  addresses masked, however formatted), and values of a personal-data column (found by name
  in a query rule's rows) become ``***``. Every other string (messages, file names,
  metadata) goes through `flows.common.pii.redact`.
- `escape_result`: every text of a result HTML-escaped, for GX's renderer, which inserts
  texts into its pages as they are.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flows.common import pii
from flows.settings import Settings

MAX_ROWS = 20             # unexpected rows kept per query rule (GX returns up to 200)
MASK = "***"

# Column names that are personal data whatever the registry says (a reporter's name, NIK,
# KTP, phone, e-mail), e.g. in a query rule's rows under another name.
PERSONAL_NAME = re.compile(
    r"(^|_)(nik|ktp|pelapor|telepon|telp|phone|hp|handphone|email|e_mail|surel)(_|$)",
    re.IGNORECASE)
# Numbers in a result that only say how many or how much (kept for personal columns).
STAT_KEYS = frozenset({
    "element_count", "unexpected_count", "unexpected_percent", "unexpected_percent_total",
    "unexpected_percent_nonmissing", "missing_count", "missing_percent", "count",
})
_VALUE_KEYS = ("partial_unexpected_list", "unexpected_list", "partial_unexpected_counts",
               "partial_unexpected_index_list", "unexpected_index_list",
               "unexpected_index_query", "observed_value", "details")
_INDEX_KEYS = frozenset({"partial_unexpected_index_list", "unexpected_index_list",
                         "unexpected_index_query"})

_REGISTRY_CACHE: dict[tuple, dict[str, frozenset[str]] | None] = {}


def _registry_personal(settings: Settings) -> dict[str, frozenset[str]] | None:
    """Dataset -> its personal-data columns, read once per version of the registry file;
    None when the registry cannot be read."""
    path = Path(settings.feeds_file)
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return None
    if key not in _REGISTRY_CACHE:
        from flows.registry import load_registry

        try:
            registry = load_registry(path)
            by_dataset: dict[str, frozenset[str]] | None = {
                name: frozenset(c.name for c in spec.columns if c.personal_data)
                for name, spec in registry.datasets.items()}
        except Exception:   # the pipeline reports a broken registry itself
            by_dataset = None
        _REGISTRY_CACHE.clear()
        _REGISTRY_CACHE[key] = by_dataset
    return _REGISTRY_CACHE[key]


def personal_columns(settings: Settings, dataset: str) -> frozenset[str]:
    """The registry's personal-data columns (of every dataset: a query rule may join). An
    unreadable registry gives none (the name rule in `is_personal` still applies)."""
    by_dataset = _registry_personal(settings) or {}
    return frozenset().union(*by_dataset.values())


def dataset_has_personal(settings: Settings, dataset: str) -> bool:
    """Whether `dataset` has any personal-data column. When the registry cannot be read
    (or does not know the dataset) the answer is yes: its results then show no values."""
    by_dataset = _registry_personal(settings)
    if by_dataset is None or dataset not in by_dataset:
        return True
    return bool(by_dataset[dataset])


def is_personal(column: Any, personal: frozenset[str] | set[str] = frozenset()) -> bool:
    name = str(column)
    return name in personal or bool(PERSONAL_NAME.search(name))


def _result_columns(item: dict) -> list:
    kwargs = (item.get("expectation_config") or {}).get("kwargs") or {}
    columns = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    return [c for c in columns + list(kwargs.get("column_list") or []) if c is not None]


def mask_result(gx_result: dict, personal: Iterable[str] = (), *,
                dataset_personal: bool = False, names: Iterable[str] = ()) -> dict:
    """A copy of a suite's GX result with personal data masked (see the module docstring).
    `dataset_personal`: the dataset has a personal-data column (then no value is kept);
    `names`: names from the batch's personal-data columns, masked wherever they appear in
    sampled values. The input is not changed."""
    personal = frozenset(personal)
    names = frozenset(names)
    doc = json.loads(json.dumps(gx_result, default=str))   # a deep, JSON-only copy
    items = [i for i in doc.get("results") or [] if isinstance(i, dict)]
    # A result on a column named like personal data makes the batch a personal one.
    dataset_personal = dataset_personal or any(
        is_personal(c, personal) for item in items for c in _result_columns(item))
    for item in items:
        info = item.get("exception_info")
        if isinstance(info, dict):   # a traceback may quote values; the message stays
            for value in [info, *info.values()]:
                if isinstance(value, dict) and "exception_traceback" in value:
                    value["exception_traceback"] = None
        result = item.get("result")
        if not isinstance(result, dict):
            continue
        whole = dataset_personal or any(is_personal(c, personal)
                                        for c in _result_columns(item))
        for key in _VALUE_KEYS:
            if key not in result or key == "details":
                continue
            if key in _INDEX_KEYS:   # positions: row numbers stay, values go
                result[key] = _mask_positions(result[key], personal, whole, names)
            elif whole and key == "observed_value" and _is_number(result[key]):
                pass   # a count or a measure (`_redact_all` still masks NIK-like numbers)
            else:
                result[key] = (_mask_all(result[key]) if whole
                               else pii.mask_sample(result[key], names=names))
        details = result.get("details")
        if isinstance(details, dict):
            rows = details.get("unexpected_rows")
            if isinstance(rows, list):
                details["unexpected_rows"] = [_mask_row(row, personal, whole, names)
                                              for row in rows[:MAX_ROWS]]
            rest = {k: v for k, v in details.items() if k != "unexpected_rows"}
            details.update(_mask_all(rest) if whole
                           else pii.mask_sample(rest, names=names))
    return _redact_all(doc)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _mask_positions(value: Any, personal: frozenset[str], whole: bool,
                    names: frozenset[str]) -> Any:
    """An index list: plain row numbers stay; rows (dicts) as `_mask_row`; a query
    that would list the rows is masked like a value."""
    if isinstance(value, list):
        return [v if isinstance(v, int) and not isinstance(v, bool)
                else _mask_row(v, personal, whole, names) for v in value]
    return _mask_all(value) if whole else pii.mask_sample(value, names=names)


def _mask_row(row: Any, personal: frozenset[str], whole: bool, names: frozenset[str]) -> Any:
    """One unexpected row of a query rule: positions (row numbers) stay; in a personal
    batch every other value is masked, elsewhere personal columns are masked and the
    rest goes through `mask_sample`."""
    if not isinstance(row, dict):
        return _mask_all(row)
    out = {}
    for k, v in row.items():
        if k in pii.POSITION_KEYS and isinstance(v, int) and not isinstance(v, bool):
            out[k] = v
        elif whole or is_personal(k, personal):
            out[k] = _mask_all(v)
        else:
            out[k] = pii.mask_sample(v, names=names)
    return out


def _mask_all(value: Any, key: str | None = None) -> Any:
    """Every value inside `value` masked, except counts, percentages and positions."""
    if isinstance(value, dict):
        return {k: _mask_all(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_all(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if key in STAT_KEYS and isinstance(value, (int, float)):
        return value
    return MASK


def _redact_all(value: Any) -> Any:
    """Every string (keys too) through `pii.redact`; a number that would read as a NIK or
    a phone number becomes its masked text."""
    if isinstance(value, dict):
        return {_redact_text(str(k)): _redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        text = str(value)
        masked = _redact_text(text)
        return value if masked == text else masked
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        texts = [repr(value)]
        if value.is_integer() and abs(value) < 1e17:
            texts.append(str(int(value)))
        for text in texts:
            masked = _redact_text(text)
            if masked != text:
                return masked
        return value
    return value


def _redact_text(text: str) -> str:
    return pii.redact(text) or text


def escape_result(value: Any, *, key: str | None = None) -> Any:
    """Every text inside a stored result HTML-escaped, for GX's renderer, which inserts
    them into its pages as they are. Structural fields GX reads as names (expectation
    types, `success`...) hold no markup characters, so escaping leaves them unchanged;
    the keys of a query rule's rows (column names) are escaped too."""
    if isinstance(value, dict):
        escape_keys = key == "unexpected_rows"
        return {(html.escape(k) if escape_keys and isinstance(k, str) else k):
                escape_result(v, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_result(v, key=key) for v in value]
    if isinstance(value, str):
        return html.escape(value)
    return value

