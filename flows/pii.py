"""Personal-data guard: find NIK, Indonesian mobile numbers and e-mail addresses.

Publishing scans every file it is about to release (Parquet, CSV and JSON with DuckDB's
regular expressions, one pass per file; XLSX cell values while they are written). A hit
stops that dataset's release. The patterns aim at few false positives:

- NIK (Nomor Induk Kependudukan): exactly 16 digits, not part of a longer number, shaped
  like a real NIK: province 11-94, regency and district 01-99, day of birth 01-31 (41-71
  for women), month 01-12, then year and serial. Population counts, areas and rupiah
  amounts are not 16-digit NIK-shaped numbers (a round 16-digit amount has day 00).
- Mobile numbers: 08, 62 8 or +62 8, then 8-11 more digits (10-13 digits in the national
  form), spaces or dashes allowed between digits; only in text columns, since a number
  column (a budget in rupiah) can hold 62812... without being a phone number.
- E-mail addresses: `local@domain.tld`, only in text columns.

Each pattern is valid in both RE2 (DuckDB) and Python's `re`; group 2 is the match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

NIK_CORE = (
    r"(?:1[1-9]|[2-8][0-9]|9[0-4])"          # province
    r"(?:0[1-9]|[1-9][0-9])"                 # regency/city
    r"(?:0[1-9]|[1-9][0-9])"                 # district
    r"(?:0[1-9]|[12][0-9]|3[01]|4[1-9]|[56][0-9]|7[01])"   # day of birth (+40 women)
    r"(?:0[1-9]|1[0-2])"                     # month of birth
    r"[0-9]{6}"                              # year of birth, serial
)
# Digits right after a decimal point ("12.0848123456734": a ratio in a report) are not a
# number of their own; after a dot that follows no digit ("Tel.0812...") they are.
_START = r"(^|[^0-9+.]|[^0-9]\.)"
PATTERNS: dict[str, str] = {
    "nik": _START + r"(" + NIK_CORE + r")([^0-9]|$)",
    "phone": _START + r"((?:\+62|62|0)[ -]?8[1-9](?:[ -]?[0-9]){7,10})([^0-9]|$)",
    "email": r"(^|[^A-Za-z0-9._%+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
             r"\.[A-Za-z]{2,})",
}
LABELS = {
    "nik": "a NIK (16-digit national identity number)",
    "phone": "a mobile phone number",
    "email": "an e-mail address",
}
# Which patterns apply to which kind of column.
KIND_PATTERNS = {"text": ("nik", "phone", "email"), "integer": ("nik",), "float": ("nik",)}
_COMPILED = {name: re.compile(p) for name, p in PATTERNS.items()}
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                  "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
_FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")
_SKIPPED = ("BOOLEAN", "DATE", "TIME", "TIMESTAMP", "INTERVAL", "UUID", "BLOB")


@dataclass(frozen=True)
class Finding:
    file: str
    column: str
    kind: str        # nik | phone | email
    count: int
    example: str     # masked

    def describe(self) -> str:
        return (f"{self.file}, column '{self.column}': {self.count} value(s) look like "
                f"{LABELS[self.kind]}, e.g. '{self.example}'")


def column_kind(duck_type: str) -> str | None:
    """text | integer | float | None (not scanned: booleans, dates, times, blobs)."""
    t = duck_type.upper()
    if t in _INTEGER_TYPES or (t.startswith("DECIMAL") and t.replace(" ", "").endswith(",0)")):
        return "integer"
    if t in _FLOAT_TYPES or t.startswith("DECIMAL"):
        return "float"
    if t.startswith(_SKIPPED):
        return None
    return "text"


def mask(kind: str, value: str) -> str:
    """Enough to find the value again, not enough to reuse it."""
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    keep = 4
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    hidden = set(digits[keep:-2] if kind == "phone" else digits[keep:])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _value_sql(column: str, kind: str) -> str:
    col = '"' + column.replace('"', '""') + '"'
    if kind == "float":   # a NIK kept as a number (e.g. typed into a spreadsheet)
        return (f"case when {col} = trunc({col}) and abs({col}) >= 1e15 and abs({col}) < 1e16 "
                f"then cast(cast({col} as hugeint) as varchar) end")
    return f"cast({col} as varchar)"


def scan_relation(con: duckdb.DuckDBPyConnection, relation_sql: str, kinds: dict[str, str],
                  file: str) -> list[Finding]:
    """Scan `relation_sql` (e.g. `read_parquet('x.parquet')`) in one pass.

    `kinds` maps each column to scan to text | integer | float (see `column_kind`)."""
    exprs, slots = [], []
    for column, kind in kinds.items():
        if kind not in KIND_PATTERNS:
            continue
        value = _value_sql(column, kind)
        for name in KIND_PATTERNS[kind]:
            pattern = _sql_literal(PATTERNS[name])
            hit = f"regexp_matches({value}, {pattern})"
            exprs.append(f"count(*) filter (where {hit})")
            exprs.append(f"min(regexp_extract({value}, {pattern}, 2)) filter (where {hit})")
            slots.append((column, name))
    if not exprs:
        return []
    row = con.execute(f"select {', '.join(exprs)} from {relation_sql}").fetchone()
    findings = []
    for i, (column, name) in enumerate(slots):
        count, example = row[2 * i], row[2 * i + 1]
        if count:
            findings.append(Finding(file, column, name, count, mask(name, example)))
    return findings


def parquet_kinds(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    return {name: kind for name, typ, *_ in described if (kind := column_kind(typ))}


def scan_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> list[Finding]:
    return scan_relation(con, f"read_parquet({_sql_literal(str(path))})",
                         parquet_kinds(con, path), path.name)


def scan_csv(con: duckdb.DuckDBPyConnection, path: Path, types: dict[str, str]) -> list[Finding]:
    """A published CSV, read as text (so nothing is re-typed away) and checked with the
    kind of each column's published type."""
    kinds = {c: k for c, t in types.items() if (k := column_kind(t))}
    cols = ", ".join(
        f'try_cast("{c}" as double) as "{c}"' if k == "float" else f'"{c}"'
        for c, k in kinds.items()
    )
    if not cols:
        return []
    rel = (f"(select {cols} from read_csv({_sql_literal(str(path))}, header = true, "
           "all_varchar = true))")
    return scan_relation(con, rel, kinds, path.name)


def scan_json(con: duckdb.DuckDBPyConnection, path: Path, types: dict[str, str]
              ) -> list[Finding]:
    """A published JSON array of records, read with the published column types."""
    kinds = {c: k for c, t in types.items() if (k := column_kind(t))}
    if not kinds:
        return []
    columns = "{" + ", ".join(f"{_sql_literal(c)}: {_sql_literal(t)}"
                              for c, t in types.items()) + "}"
    rel = (f"read_json({_sql_literal(str(path))}, format = 'array', "
           f"columns = {columns})")
    return scan_relation(con, rel, kinds, path.name)


class ValueScanner:
    """Scans values in batches in Python (for files DuckDB cannot read, i.e. XLSX):
    one regular-expression pass per column and batch over the values joined by newlines."""

    def __init__(self, file: str, kinds: dict[str, str]):
        self.file = file
        self.kinds = kinds
        self._hits: dict[tuple[str, str], list] = {}

    def add(self, column: str, values: Iterable[object]) -> None:
        kind = self.kinds.get(column)
        if kind not in KIND_PATTERNS:
            return
        texts = []
        for v in values:
            if v is None or isinstance(v, bool):
                continue
            if isinstance(v, float):
                if not (v.is_integer() and 1e15 <= abs(v) < 1e16):
                    continue
                v = int(v)
            texts.append(str(v))
        if not texts:
            return
        blob = "\n".join(texts)
        for name in KIND_PATTERNS[kind]:
            matches = [m.group(2) for m in _COMPILED[name].finditer(blob)]
            if matches:
                hit = self._hits.setdefault((column, name), [0, None])
                hit[0] += len(matches)
                first = min(matches)
                hit[1] = first if hit[1] is None else min(hit[1], first)

    def findings(self) -> list[Finding]:
        return [Finding(self.file, column, name, count, mask(name, example))
                for (column, name), (count, example) in self._hits.items()]


def scan_xlsx(path: Path, kinds: dict[str, str], *, batch_rows: int = 50_000) -> list[Finding]:
    """Every data sheet of a published workbook (header in row 1), read back with openpyxl.
    The publisher scans values while writing; this is for audits and tests."""
    import openpyxl

    scanner = ValueScanner(path.name, kinds)
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            if not ws.title.startswith("data"):
                continue
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None) or ()
            batch: list[tuple] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= batch_rows:
                    _feed(scanner, header, batch)
                    batch = []
            _feed(scanner, header, batch)
    finally:
        wb.close()
    return scanner.findings()


def _feed(scanner: ValueScanner, header: tuple, rows: list[tuple]) -> None:
    for i, column in enumerate(header):
        scanner.add(str(column), (r[i] if i < len(r) else None for r in rows))
