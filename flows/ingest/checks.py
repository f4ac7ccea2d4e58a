"""What a received file must satisfy, and the messages that say what to fix: its headers
against the feed's mapping (`map_headers`), the values the feed fixes for the whole file
(`fixed_values`, `_check_fixed`), and every value of a loaded batch
(`_raise_on_bad_values`): values that cannot be typed, empty required values, spreadsheet
formulas, personal data in an ordinary text column (the PII gate), regions outside the
feed's regency."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import duckdb

from flows.common import pii
from flows.common.sql import quote_literal
from flows.readers import HEADER_PART_SEPARATOR, SubmissionError, header_key
from flows.registry import DatasetSpec, Feed

if TYPE_CHECKING:
    from flows.ingest.plan import _Plan

MAX_EXAMPLES = 5
# "=SUM(", "+cmd|", "@HYPERLINK(", "-2+3": what Excel would execute rather than show.
FORMULA_PATTERN = r"^\s*(=|[+\-@]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!])"
# The characters a value matching FORMULA_PATTERN can start with (RE2's \s is [\t\n\f\r ]).
FORMULA_FIRST = (9, 10, 12, 13, 32, ord("+"), ord("-"), ord("="), ord("@"))


def formula_sql(value: str) -> str:
    """SQL: `value` matches FORMULA_PATTERN. Its first character is tested first: almost
    no value starts like a formula, and the regex then never runs (~6 % of a load)."""
    return (f"(ascii({value}) in ({', '.join(map(str, FORMULA_FIRST))}) and "
            f"regexp_matches({value}, {quote_literal(FORMULA_PATTERN)}))")


def _header_keys(header: str) -> list[str]:
    """The names a header answers to: the whole of it and, for a header of several rows
    ("Jumlah Penduduk / Laki-laki"), its lowest part ("Laki-laki")."""
    keys = [header_key(header)]
    if HEADER_PART_SEPARATOR in header:
        keys.append(header_key(header.rsplit(HEADER_PART_SEPARATOR, 1)[1]))
    return keys


def map_headers(feed: Feed, spec: DatasetSpec, file_name: str, headers: list[str]) -> dict:
    """Canonical column -> source header. Unknown headers and missing required
    columns fail loudly, naming the file, the column and the fix. A header of several
    rows matches the registry by its whole name or by its lowest part."""
    wanted = {header_key(src): dst for src, dst in feed.columns.items()}
    ignored = {header_key(h) for h in feed.ignore_columns}
    mapping: dict[str, str] = {}
    unknown = []
    for h in headers:
        keys = _header_keys(h)
        key = next((k for k in keys if k in wanted), None)
        if key is not None and wanted[key] not in mapping:
            mapping[wanted[key]] = h
        elif key is not None:
            raise SubmissionError(
                f"{file_name}: columns '{mapping[wanted[key]]}' and '{h}' both map to "
                f"'{wanted[key]}'; map each header in full under 'columns' in feed "
                f"'{feed.id}', e.g. \"{h}\": {wanted[key]}")
        elif not any(k in ignored for k in keys) and keys[0]:
            unknown.append(h)
    if unknown:
        raise SubmissionError(
            f"{file_name}: unexpected column(s) {unknown}; the feed '{feed.id}' expects "
            f"{sorted(feed.columns)}. If the regency renamed or added a column, map it under "
            f"'columns' (or list it under 'ignore_columns') in the feed registry"
        )
    fixed = set(feed.constants) | set(feed.extract)
    missing = [
        src for src, dst in feed.columns.items()
        if dst not in mapping and dst not in fixed and spec.column(dst).required
    ]
    if missing:
        raise SubmissionError(
            f"{file_name}: required column(s) {missing} missing; the file has {headers}"
        )
    return mapping


def fixed_values(feed: Feed, name: str, title: list[str]) -> dict[str, str]:
    """The values a feed fixes for a whole file: `constants`, and `extract` (a pattern
    over the file's title block or its name; its first group, or the whole match).
    Raises SubmissionError naming the pattern when it finds nothing."""
    values = dict(feed.constants)
    for column, rule in feed.extract.items():
        texts = [name] if rule.source == "file_name" else title
        found = None
        for text in texts:
            match = re.search(rule.pattern, text, flags=re.IGNORECASE)
            if match:
                found = (match.group(1) if match.groups() else match.group(0)).strip()
                break
        if not found:
            where = (f"the file name '{name}'" if rule.source == "file_name" else
                     "the title above the header ("
                     + (" | ".join(t[:60] for t in title[:5]) or "there is none") + ")")
            raise SubmissionError(
                f"{name}: extract.{column} of feed '{feed.id}' found nothing in {where} "
                f"with pattern {rule.pattern!r}; change the pattern, or set "
                f"'constants: {{{column}: ...}}' for this file's feed")
        values[column] = found
    return values


def _formula_checked(column) -> bool:
    """Text that reaches published files is checked for spreadsheet formulas (what Excel
    would execute); a personal-data column never leaves the warehouse, so its values are
    not (4 of the complaint export's 9 text columns: ~0.2 µs a row)."""
    return column.type == "text" and not column.personal_data


def _pii_checked(column) -> bool:
    """Text columns not declared personal data must not hold any (a NIK, a phone number or
    an e-mail address typed into `status`, or a column mapped as text by mistake): such a
    file is quarantined before anything reaches `raw`, whose ordinary text columns are
    published and sampled into quality reports."""
    return column.type == "text" and not column.personal_data


TYPE_HINTS = {
    "integer": "a whole number",
    "number": "a number",
    "period": "a period such as 2020, 2024-S2 or 'Semester II 2024'",
    "timestamp": "a date and time",
    "date": "a date",
}


def _check_fixed(con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, name: str,
                 plan: _Plan) -> None:
    """A value fixed for the file (`constants`, `extract`) must type like any cell."""
    for column, value in (plan.fixed or {}).items():
        ctype = spec.column(column).type
        if ctype != "text" and con.execute(
                f"select {plan.typed_of[column]}").fetchone()[0] is None:
            origin = "constants" if column in feed.constants else "extract"
            raise SubmissionError(
                f"{name}: {origin}.{column} of feed '{feed.id}' gives {value!r}, which is "
                f"not {TYPE_HINTS.get(ctype, 'a valid value')}")


def _raise_on_bad_values(
    con: duckdb.DuckDBPyConnection, feed: Feed, spec: DatasetSpec, name: str, mapping: dict,
    src_table: str, where: str, raw_of: dict[str, str], typed_of: dict[str, str],
    batch_table: str,
) -> int:
    """Every check of a loaded batch in two aggregate queries, one over the delivered text
    and one over the typed batch (one pass each, whatever the number of columns): values
    that could not be typed, empty required values, spreadsheet formulas in text, personal
    data (NIK-like, phone-like, e-mail-like values) in a text column not declared
    `personal_data`, region codes outside the feed's regency. Only a check that found
    something reads its first rows (by row number) as examples. Raises SubmissionError
    naming them; returns the number of data rows.

    A value that could not be typed is counted without typing anything again: every typed
    value is computed from the trimmed, non-empty text, so a column has as many bad values
    as non-blank texts minus typed values."""
    regency = quote_literal(feed.regency)
    regency_prefix = quote_literal(feed.regency + ".")
    on_src: dict[str, str] = {"rows": "true"}   # name -> condition counted over the text
    on_batch: dict[str, str] = {}              # name -> expression counted over the batch
    for i, c in enumerate(spec.columns):
        if c.name not in mapping:
            continue
        raw = raw_of[c.name]
        if c.type != "text":   # a text value is never "bad": typed, it is the trimmed text
            on_src[f"filled_{i}"] = f"trim({raw}) <> ''"
            on_batch[f"typed_{i}"] = c.name
        if c.required:
            on_src[f"empty_{i}"] = f"{raw} is null or trim({raw}) = ''"
        if _formula_checked(c):
            on_src[f"formula_{i}"] = f"regexp_matches({raw}, {quote_literal(FORMULA_PATTERN)})"
        if _pii_checked(c):
            on_src[f"pii_{i}"] = f"coalesce({pii.sql_hit(raw)}, false)"
        if c.type == "region_code":
            on_batch[f"foreign_{i}"] = (
                f"case when {c.name} <> {regency} and not starts_with({c.name}, "
                f"{regency_prefix}) and starts_with({c.name}, '36.') then 1 end")
    cur = con.execute("select " + ", ".join(f"count(*) filter (where {cond})"
                                             for cond in on_src.values())
                      + f" from {src_table} where {where}")
    counts = dict(zip(on_src, cur.fetchone(), strict=True))
    if counts["rows"] == 0:
        raise SubmissionError(f"{name}: the file has a header but no data rows")
    if on_batch:
        cur = con.execute("select " + ", ".join(f"count({e})" for e in on_batch.values())
                          + f" from {batch_table}")
        counts.update(zip(on_batch, cur.fetchone(), strict=True))

    found: dict[str, list] = {}
    for i, c in enumerate(spec.columns):
        if c.name not in mapping:
            continue
        raw, typed = raw_of[c.name], typed_of[c.name]
        queries = []
        if c.type != "text" and counts[f"filled_{i}"] > counts[f"typed_{i}"]:
            queries.append((f"bad_{i}", raw, f"trim({raw}) <> '' and ({typed}) is null",
                            MAX_EXAMPLES + 1))
        if counts.get(f"empty_{i}"):
            queries.append((f"empty_{i}", "''", on_src[f"empty_{i}"], MAX_EXAMPLES))
        if counts.get(f"formula_{i}"):
            queries.append((f"formula_{i}", raw, on_src[f"formula_{i}"], MAX_EXAMPLES))
        if counts.get(f"pii_{i}"):
            queries.append((f"pii_{i}", raw, on_src[f"pii_{i}"], MAX_EXAMPLES))
        for key, value, cond, limit in queries:
            found[key] = con.execute(
                f"select _row_number, {value} from {src_table} where ({where}) and ({cond}) "
                f"order by _row_number limit {limit}").fetchall()
        if counts.get(f"foreign_{i}"):
            found[f"foreign_{i}"] = con.execute(
                f"select _row_number, {c.name} from {batch_table} "
                f"where {on_batch[f'foreign_{i}']} = 1 "
                f"order by _row_number limit {MAX_EXAMPLES}").fetchall()
    if not found:
        return counts["rows"]

    problems: list[str] = []
    for i, c in enumerate(spec.columns):
        if c.name not in mapping:
            continue
        src = mapping[c.name]
        bad = found.get(f"bad_{i}", []) + found.get(f"empty_{i}", [])
        if not bad:
            continue
        if c.type == "region_code":
            hint = {
                "dotted": "a Kemendagri code with dots, e.g. 36.71",
                "bps_digits": "a 4-digit BPS code, e.g. 3671",
                "name": "the name of a Banten regency/city, e.g. KOTA TANGERANG",
            }[feed.region_code]
        else:
            hint = TYPE_HINTS.get(c.type, "a value")
            fmt = feed.options.get(f"{c.type}_format")
            if fmt:
                hint += f" written as {fmt}"
        examples = ", ".join(
            f"row {r}: {v!r}" if v != "" else f"row {r}: empty" for r, v in bad[:MAX_EXAMPLES]
        )
        problems.append(f"column '{src}' (→ {c.name}) must be {hint}; {examples}")
    for i, c in enumerate(spec.columns):
        # A cell that is a spreadsheet formula is an injection attempt or a broken export.
        formulas = found.get(f"formula_{i}")
        if formulas:
            examples = ", ".join(f"row {r}: {v[:40]!r}" for r, v in formulas)
            problems.append(
                f"column '{mapping[c.name]}' holds spreadsheet formulas, not values "
                f"({examples}); export the values only"
            )
    for i, c in enumerate(spec.columns):
        # Personal data in a column that is published: the file must not reach `raw`.
        rows_found = found.get(f"pii_{i}")
        if rows_found:
            problems.append(_personal_data_problem(c.name, mapping[c.name], rows_found,
                                                   counts[f"pii_{i}"]))
    for i, c in enumerate(spec.columns):
        # A regency's file may only speak of that regency and the regions inside it.
        foreign = found.get(f"foreign_{i}")
        if foreign:
            examples = ", ".join(f"row {r}: {v}" for r, v in foreign)
            problems.append(
                f"column '{mapping[c.name]}' names region(s) outside this feed's regency "
                f"{feed.regency}: {examples}"
            )
    if problems:
        raise SubmissionError(f"{name}: " + "; ".join(problems))
    return counts["rows"]


def _personal_data_problem(column: str, header: str, rows: list[tuple], count: int) -> str:
    """The message for a text column holding personal data: the kinds found, the rows
    (the first `MAX_EXAMPLES`) and one masked example, never the value itself."""
    kinds: list[str] = []
    example = None
    for _, value in rows:
        for hit in pii.find(str(value)):
            if hit.kind not in kinds:
                kinds.append(hit.kind)
            if example is None:
                example = pii.mask(hit.kind, hit.value if hit.kind == "email"
                                   else str(value)[hit.start:hit.end])
    kinds.sort(key=list(pii.GATE_LABELS).index)
    numbers = ", ".join(str(r) for r, _ in rows)
    more = f" and {count - len(rows)} more" if count > len(rows) else ""
    where = f"row {numbers}" if count == 1 else f"rows {numbers}{more}"
    named = f"column '{column}'" + (f" (header '{header}')" if header != column else "")
    what = ", ".join(pii.GATE_LABELS[k] for k in kinds) or "an identifier"
    return (f"{named} holds personal data ({what}) in {where}: '{example or pii.MASK}'; "
            "if this column really carries personal data, mark it `personal_data: true` "
            "in the dataset; otherwise ask the regency to remove it")
