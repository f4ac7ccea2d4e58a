"""CKAN `datastore_search` responses (JSON): the records, named by their field ids,
streamed through Arrow into the table."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from flows.readers.guards import _refuse_non_text
from flows.readers.headers import _final_headers
from flows.readers.table import (
    ReadInfo,
    SubmissionError,
    _arrow_table,
    _blank,
    _cell_text,
    _store_arrow,
)
from flows.registry import Feed


def _field_name(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def read_ckan_json(
    con: duckdb.DuckDBPyConnection, feed: Feed, path: Path, table: str, name: str
) -> ReadInfo:
    """A CKAN `datastore_search` response: {"success": true, "result": {"fields", "records"}}."""
    text = path.read_bytes()
    if not text.strip():
        raise SubmissionError(f"{name}: the file is empty")
    _refuse_non_text(path, name)
    try:
        doc = json.loads(text)
    except RecursionError:
        raise SubmissionError(f"{name}: the JSON is nested too deeply to be a datastore "
                              "response; refused") from None
    except ValueError as e:   # JSONDecodeError, UnicodeDecodeError, a too long integer
        raise SubmissionError(f"{name}: not valid JSON: {e}") from None
    if isinstance(doc, dict) and doc.get("success") is False:
        raise SubmissionError(f"{name}: the CKAN API answered success=false: "
                              f"{doc.get('error')}")
    if not isinstance(doc, dict) or not isinstance(doc.get("result"), dict):
        raise SubmissionError(
            f"{name}: not a CKAN datastore_search response (no 'result' object)"
        )
    result = doc["result"]
    records = result.get("records")
    if not isinstance(records, list):
        raise SubmissionError(f"{name}: 'result.records' is missing or not a list")
    bad = next((i for i, r in enumerate(records, start=1) if not isinstance(r, dict)), None)
    if bad is not None:
        raise SubmissionError(f"{name}: record {bad} of 'result.records' is not an object")
    fields = result.get("fields") or []
    if not isinstance(fields, list):
        raise SubmissionError(f"{name}: 'result.fields' is not a list")
    keys = ([_field_name(f.get("id")) for f in fields if isinstance(f, dict)]
            or list(dict.fromkeys(k for r in records for k in r)))
    columns = [[_cell_text(r.get(k)) for r in records] for k in keys]
    # Columns are named by the field ids as given (the records are keyed by them).
    keep, headers = _final_headers(name, [k if k.strip() else "" for k in keys],
                                   lambda i: any(not _blank(t) for t in columns[i]))
    _store_arrow(con, _arrow_table(name, headers, [columns[i] for i in keep], len(records)),
                 table, name)
    return ReadInfo([], headers)
