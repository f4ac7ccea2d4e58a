"""Scanning published files for personal data: a DuckDB relation in one SQL pass
(`scan_relation`, `scan_parquet`, `scan_csv`, `scan_json`), values in Python batches
(`ValueScanner`, `scan_xlsx`); each hit is a `Finding` with a masked example."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from flows.common.pii.masking import find, mask
from flows.common.pii.normalise import normalise
from flows.common.pii.rules import (
    _ANY,
    _FLOAT_TYPES,
    _INTEGER_TYPES,
    _NIK_SHAPED,
    _QUICK,
    _SKIPPED,
    ANY_PATTERN,
    KIND_PATTERNS,
    LABELS,
    MASK,
    NIK_SHAPED,
    PATTERNS,
)
from flows.common.pii.sql import sql_candidate
from flows.common.sql import quote_ident, quote_literal


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


def _masked_example(kind: str, column_kind_: str, value: str) -> str:
    """The masked finding of `kind` in one value (the value as stored, formatted)."""
    if column_kind_ != "text":
        m = _NIK_SHAPED.search(value)
        return mask(kind, m.group(2)) if m else MASK
    hits = [h for h in find(value) if h.kind == kind]
    if not hits:
        return MASK
    h = hits[0]
    return mask(kind, h.value if kind == "email" else value[h.start:h.end])


def _value_sql(column: str, kind: str) -> str:
    col = quote_ident(column)
    if kind == "float":   # a NIK kept as a number (e.g. typed into a spreadsheet)
        return (f"case when {col} = trunc({col}) and abs({col}) >= 1e15 and abs({col}) < 1e16 "
                f"then cast(cast({col} as hugeint) as varchar) end")
    return f"cast({col} as varchar)"


def scan_relation(con: duckdb.DuckDBPyConnection, relation_sql: str, kinds: dict[str, str],
                  file: str) -> list[Finding]:
    """Scan `relation_sql` (e.g. `read_parquet('x.parquet')`) in one pass.

    `kinds` maps each column to scan to text | integer | float (see `column_kind`). A text
    value is normalised only when it may hold a finding (`sql_candidate`), and matched
    rule by rule only when one regex of all rules (`ANY_PATTERN`) found something."""
    values, norms, hits, aggs, slots = [], [], [], [], []
    for i, (column, kind) in enumerate(kinds.items()):
        if kind not in KIND_PATTERNS:
            continue
        values.append(f"{_value_sql(column, kind)} as v{i}")
        if kind == "text":
            norms.append(f"v{i}, {sql_candidate(f'v{i}')} as n{i}")
            hits.append(f"v{i}, case when regexp_matches(n{i}, "
                        f"{quote_literal(ANY_PATTERN)}) then n{i} end as h{i}")
            rules = {name: PATTERNS[name] for name in KIND_PATTERNS[kind]}
        else:
            norms.append(f"v{i}, v{i} as n{i}")
            hits.append(f"v{i}, n{i} as h{i}")
            rules = {"nik": NIK_SHAPED}
        for name, pattern in rules.items():
            hit = f"regexp_matches(h{i}, {quote_literal(pattern)})"
            aggs += [f"count(*) filter (where {hit})", f"min(v{i}) filter (where {hit})"]
            slots.append((column, kind, name))
    if not aggs:
        return []
    sql = (f"select {', '.join(aggs)} from (select {', '.join(hits)} from "
           f"(select {', '.join(norms)} from (select {', '.join(values)} from "
           f"{relation_sql})))")
    row = con.execute(sql).fetchone()
    findings = []
    for i, (column, kind, name) in enumerate(slots):
        count, example = row[2 * i], row[2 * i + 1]
        if count:
            findings.append(Finding(file, column, name, count,
                                    _masked_example(name, kind, example)))
    return findings


def parquet_kinds(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    described = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    return {name: kind for name, typ, *_ in described if (kind := column_kind(typ))}


def scan_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> list[Finding]:
    return scan_relation(con, f"read_parquet({quote_literal(str(path))})",
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
    rel = (f"(select {cols} from read_csv({quote_literal(str(path))}, header = true, "
           "all_varchar = true))")
    return scan_relation(con, rel, kinds, path.name)


def scan_json(con: duckdb.DuckDBPyConnection, path: Path, types: dict[str, str]
              ) -> list[Finding]:
    """A published JSON array of records, read with the published column types."""
    kinds = {c: k for c, t in types.items() if (k := column_kind(t))}
    if not kinds:
        return []
    columns = "{" + ", ".join(f"{quote_literal(c)}: {quote_literal(t)}"
                              for c, t in types.items()) + "}"
    rel = (f"read_json({quote_literal(str(path))}, format = 'array', "
           f"columns = {columns})")
    return scan_relation(con, rel, kinds, path.name)


class ValueScanner:
    """Scans values in batches in Python (for files DuckDB cannot read, i.e. XLSX, and for
    rendered pages): the same rules as `scan_relation`. A batch is normalised and matched
    as one text (values joined by blank lines, which no rule crosses); only a batch with
    a finding is looked at value by value, for counts and an example."""

    _JOIN = "\n\n\n"   # longer than any context a normalisation step consumes

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
        blob = self._JOIN.join(texts)
        if kind != "text":
            for m in _NIK_SHAPED.finditer(blob):
                self._record(column, "nik", mask("nik", m.group(2)))
            return
        if not _QUICK.search(blob):
            return
        if not _ANY.search(normalise(blob)):
            return
        for text in texts:
            for hit in find(text):
                self._record(column, hit.kind, mask(hit.kind, hit.value if hit.kind == "email"
                                                    else text[hit.start:hit.end]))

    def _record(self, column: str, kind: str, example: str) -> None:
        hit = self._hits.setdefault((column, kind), [0, None])
        hit[0] += 1
        hit[1] = example if hit[1] is None else min(hit[1], example)

    def findings(self) -> list[Finding]:
        return [Finding(self.file, column, name, count, example)
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
