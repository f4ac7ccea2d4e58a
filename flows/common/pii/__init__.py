"""Personal data: find NIKs, phone numbers and e-mail addresses, however they are written.

One set of rules, used everywhere personal data must be found or hidden:

- the ingest gate (`flows/ingest/checks.py`): a text column not declared `personal_data` that
  holds one quarantines its file (`sql_hit`, `find`);
- the publisher (`scan_parquet`, `scan_csv`, `scan_json` in DuckDB SQL, `ValueScanner` /
  `scan_xlsx` in Python): a hit stops that dataset's release;
- texts that quote submitted values (quarantine reasons, logs, alerts, quality results):
  `redact` masks every finding in place;
- public quality output (quality.json, Data Docs): `mask_sample` and `public_examples`.

The package, in the order its modules build on each other:

- `rules`: the patterns (NIK, phone, e-mail), the normalisation steps and the cheap SQL
  pre-checks, as regular expressions valid in RE2 (DuckDB) and Python alike;
- `normalise`: a text as the rules see it, with the span each character comes from;
- `masking`: `find`, `has_personal_data`, `mask`, `redact` in Python;
- `public`: `mask_sample` and `public_examples` for published quality output;
- `sql`: the same rules as DuckDB SQL expressions (`sql_hit`, `sql_maybe_hit`...);
- `scan`: scanning published files (`scan_parquet`, `ValueScanner`...), `Finding`.

Everything public is re-exported here: `from flows.common import pii; pii.redact(...)`.
"""

from __future__ import annotations

from flows.common.pii.masking import Hit, find, has_personal_data, mask, redact
from flows.common.pii.normalise import fold, normalise
from flows.common.pii.public import POSITION_KEYS, mask_sample, public_examples
from flows.common.pii.rules import (
    ANY_PATTERN,
    COMPLEX,
    DIGITS_PATTERN,
    FOLD,
    FOLD_FROM,
    FOLD_TO,
    GATE_LABELS,
    KIND_PATTERNS,
    LABELS,
    MARK,
    MASK,
    MAYBE_SQL,
    NIK_CORE,
    NIK_SHAPED,
    PATTERNS,
    SAFE_SQL,
    STEPS,
)
from flows.common.pii.scan import (
    Finding,
    ValueScanner,
    column_kind,
    parquet_kinds,
    scan_csv,
    scan_json,
    scan_parquet,
    scan_relation,
    scan_xlsx,
)
from flows.common.pii.sql import sql_candidate, sql_hit, sql_maybe_hit, sql_normalise

__all__ = [
    "ANY_PATTERN", "COMPLEX", "DIGITS_PATTERN", "FOLD", "FOLD_FROM", "FOLD_TO", "GATE_LABELS",
    "KIND_PATTERNS", "LABELS", "MARK", "MASK", "MAYBE_SQL", "NIK_CORE", "NIK_SHAPED",
    "PATTERNS", "POSITION_KEYS", "SAFE_SQL", "STEPS",
    "Finding", "Hit", "ValueScanner",
    "column_kind", "find", "fold", "has_personal_data", "mask", "mask_sample", "normalise",
    "parquet_kinds", "public_examples", "redact", "scan_csv", "scan_json", "scan_parquet",
    "scan_relation", "scan_xlsx", "sql_candidate", "sql_hit", "sql_maybe_hit",
    "sql_normalise",
]
