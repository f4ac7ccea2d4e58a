"""How a file's columns become the batch's: SQL over the delivered text columns.

`_plan` maps the file's headers to the dataset's columns and writes, for each, the SQL of
its text as delivered (the feed's value maps and the canonical spellings applied) and of
its typed value (`_typed_expr`), and the filter that keeps data rows (not blank lines, not
the regency's own totals). `_streaming_rows` adds one flag per row folding every check, for
the one-pass CSV paths."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flows.common import pii
from flows.common.sql import quote_ident, quote_literal
from flows.ingest.checks import (
    _formula_checked,
    _pii_checked,
    fixed_values,
    formula_sql,
    map_headers,
)
from flows.readers import SubmissionError, header_key
from flows.registry import DatasetSpec, Feed


def _typed_expr(feed: Feed, ctype: str, src: str, *, trimmed: bool = False) -> str:
    """SQL turning the delivered text `src` into the canonical value of `ctype`
    (`trimmed`: `src` is already `nullif(trim(text), '')`)."""
    x = src if trimmed else f"nullif(trim({src}), '')"
    thousands = feed.options.get("thousands")
    decimal = feed.options.get("decimal", ".")
    if ctype == "text":
        return x
    if ctype in ("integer", "number"):
        cleaned = x
        if thousands:
            cleaned = f"replace({cleaned}, {quote_literal(str(thousands))}, '')"
        if decimal != ".":
            cleaned = f"replace({cleaned}, {quote_literal(str(decimal))}, '.')"
        if ctype == "integer":   # "1622630.5" is not a count: no silent rounding
            return (f"case when regexp_matches({cleaned}, '^[+-]?[0-9]+$') "
                    f"then try_cast({cleaned} as bigint) end")
        return f"try_cast({cleaned} as double)"
    if ctype == "period":
        return f"sd_periode({x})"
    if ctype in ("timestamp", "date"):
        fmt = feed.options.get(f"{ctype}_format")
        target = "timestamp" if ctype == "timestamp" else "date"
        if fmt:
            parsed = f"try_strptime({x}, {quote_literal(str(fmt))})"
            return parsed if ctype == "timestamp" else f"cast({parsed} as date)"
        return f"try_cast({x} as {target})"
    if ctype == "region_code":
        if feed.region_code == "dotted":
            # 36 / 36.71 / 36.71.01 / 36.71.01.1001
            pattern = r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$"
            return f"case when regexp_matches({x}, {quote_literal(pattern)}) then {x} end"
        if feed.region_code == "bps_digits":
            # Kemendagri code without dots: 3671, 367101 (kecamatan), 3671011001 (desa).
            return (
                f"case when regexp_matches({x}, '^(\\d{{4}}|\\d{{6}}|\\d{{10}})$') then "
                f"concat_ws('.', substr({x}, 1, 2), substr({x}, 3, 2), "
                f"nullif(substr({x}, 5, 2), ''), nullif(substr({x}, 7, 4), '')) end"
            )
        # by name: resolved against the reference list of regencies/cities
        return (
            "(select r.kode_wilayah from reference.wilayah_kabupaten_kota r "
            f"where sd_name_key(r.nama) = sd_name_key({x}))"
        )
    raise ValueError(ctype)


ANY_COLUMN = "*"   # skip_rows_matching: the pattern may match in any column


def province_total_pattern(province: str) -> str:
    """A region cell that names the province itself (its total row): "36", "Banten",
    "Provinsi Banten", "Prov. Banten" (lower-cased, as the SQL compares it)."""
    names = {"36": "banten"}
    name = names.get(province)
    named = rf"|((provinsi|prov\.?)\s+)?{name}" if name else ""
    return rf"^({re.escape(province)}{named})$"


def value_key(text: str) -> str:
    """How categorical values are compared: case, accents and repeated spaces ignored
    ("Lampu  PJU Padam", "lampu pju padam" and "lámpu pju padam" are one value)."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", plain).strip().casefold()


def _canonical_expr(src: str, values: tuple[str, ...]) -> str:
    """A value that matches one of the column's canonical values but for case, accents
    and spaces becomes that value; others pass through (and meet the quality suite)."""
    cases = " ".join(f"when {quote_literal(value_key(v))} then {quote_literal(v)}"
                     for v in values)
    key = f"lower(regexp_replace(strip_accents(trim({src})), '\\s+', ' ', 'g'))"
    # Most values are already canonical: they skip the normalising (a regex a row).
    exact = ", ".join(quote_literal(v) for v in values)
    return (f"(case when trim({src}) in ({exact}) then {src} "
            f"else (case {key} {cases} else {src} end) end)")


def _value_map_expr(src: str, spellings: dict[str, str]) -> str:
    """Map a regency's own spellings ("Persentase Penduduk Miskin (%)") to canonical
    values, ignoring case and surrounding spaces; other values pass through unchanged."""
    cases = " ".join(
        f"when {quote_literal(header_key(k))} then {quote_literal(v)}" for k, v in spellings.items()
    )
    key = f"lower(regexp_replace(trim({src}), '\\s+', ' ', 'g'))"
    return f"(case {key} {cases} else {src} end)"


@dataclass(frozen=True)
class _Plan:
    """How a file's columns become the batch's: SQL over the delivered text columns."""

    mapping: dict            # canonical column -> source header
    where: str               # keeps data rows (not blank lines, not the regency's totals)
    raw_of: dict             # canonical column -> its text as delivered (value maps applied)
    typed_of: dict           # canonical column -> its typed value
    values: dict             # canonical column -> what the batch stores
    regency_sql: str = "null"   # a row's regency: the feed's, or its own (province-wide)
    # column -> its text before it is matched to the canonical values (case, accents)
    remapped: dict = None
    fixed: dict = None       # canonical column -> value fixed for the whole file


def _plan(feed: Feed, spec: DatasetSpec, name: str, headers: list[str],
          raw_ref=None, typed_headers: frozenset[str] = frozenset(),
          title: list[str] | None = None) -> _Plan:
    """`raw_ref(column)`, if given, names the trimmed text of a column
    (`nullif(trim(text), '')`, an alias of a subquery) in the typed expressions, so each
    value is trimmed once. `typed_headers`: columns the CSV reader already typed.
    `title`: the lines above the header, for values the feed extracts from it."""
    mapping = map_headers(feed, spec, name, headers)
    fixed = fixed_values(feed, name, title or [])
    # Rows that are not data: blank lines and the regency's own total rows.
    filters = []
    present = [quote_ident(h) for h in headers]
    if present:
        # A row is kept when some value is not blank. A CASE stops at the first
        # non-blank value (a row's first column, mostly); NOT (... AND ...) would
        # trim every column of every row.
        filters.append("case " + " ".join(
            f"when {c} is not null then true" if h in typed_headers
            else f"when trim({c}) <> '' then true" for h, c in zip(headers, present,
                                                                   strict=True))
            + " else false end")
    for col, pattern in feed.skip_rows_matching.items():
        if col == ANY_COLUMN:   # a total row may say "JUMLAH" in whichever column
            sources = list(headers)
        else:
            src = mapping.get(col, col)
            if header_key(src) not in {header_key(h) for h in headers}:
                raise SubmissionError(
                    f"{name}: skip_rows_matching names column '{col}', which the file lacks"
                )
            sources = [next(h for h in headers if header_key(h) == header_key(src))]
        filters.append("not (" + " or ".join(
            f"coalesce(regexp_matches(trim({quote_ident(h)}), {quote_literal(pattern)}), "
            "false)" for h in sources) + ")")
    if feed.is_province_wide:
        # The province's own total row is never data of a regency.
        for c in spec.columns:
            if c.type == "region_code" and c.name in mapping:
                filters.append(
                    f"not coalesce(regexp_matches(lower(trim({quote_ident(mapping[c.name])})),"
                    f" {quote_literal(province_total_pattern(feed.province))}), false)")
    where = " and ".join(filters) or "true"

    raw_of: dict[str, str] = {}
    typed_of: dict[str, str] = {}
    before_canonical: dict[str, str] = {}   # column -> its text before `_canonical_expr`
    for c in spec.columns:
        if c.name in fixed:
            # A value fixed for the whole file (`constants`, `extract`).
            typed_of[c.name] = _typed_expr(feed, c.type, quote_literal(fixed[c.name]))
        elif c.name in mapping:
            raw = quote_ident(mapping[c.name])
            if c.name in feed.values:
                raw = _value_map_expr(raw, feed.values[c.name])
            if c.values:
                before_canonical[c.name] = raw
                raw = _canonical_expr(raw, c.values)
            raw_of[c.name] = raw
            typed_of[c.name] = (_typed_expr(feed, c.type, raw_ref(c.name), trimmed=True)
                                if raw_ref else _typed_expr(feed, c.type, raw))
        elif c.name == spec.regency_column and not feed.is_province_wide:
            # A regency's own file need not say which regency it is.
            typed_of[c.name] = quote_literal(feed.regency)
        else:
            typed_of[c.name] = "null"
    regency_sql = quote_literal(feed.regency)
    if feed.is_province_wide:
        # Each row belongs to the regency its region code names (36.71.01 -> 36.71).
        region = next((c.name for c in spec.columns if c.type == "region_code"
                       and c.name in mapping and (spec.regency_column in (None, c.name))),
                      None)
        if region is None:
            raise SubmissionError(
                f"{name}: feed '{feed.id}' covers the whole province, so each row must say "
                "which regency/city it is about; map the file's region code or name column "
                f"under 'columns' (found {headers})")
        # (a row naming no known region keeps the province's code: its check names it)
        regency_sql = f"coalesce(substr({typed_of[region]}, 1, 5), {regency_sql})"
    # Name-style feeds carry the region's name in the code column: keep it as the name.
    values = dict(typed_of)
    if feed.region_code == "name":
        code_col = next((c.name for c in spec.columns if c.type == "region_code"), None)
        if code_col in raw_of and "nama_wilayah" in spec.column_names:
            code_raw = (raw_ref(code_col) if raw_ref
                        else f"nullif(trim({raw_of[code_col]}), '')")
            values["nama_wilayah"] = f"coalesce({typed_of['nama_wilayah']}, {code_raw})"
    return _Plan(mapping, where, raw_of, typed_of, values, regency_sql, before_canonical,
                 fixed)


@dataclass(frozen=True)
class _Streaming:
    """The one-pass SQL of a CSV file's rows: `sql` selects, from `relation`'s data rows,
    every canonical column (typed) and `flag`, true for a row that fails some check of
    `_raise_on_bad_values` (a value that cannot be typed, an empty required value, a
    spreadsheet formula, personal data in an ordinary text column, a region outside the
    feed's regency). `keep` names the relation's columns to carry along (`_row_number`,
    `file_index`)."""

    sql: str
    flag: str


def _streaming_rows(feed: Feed, spec: DatasetSpec, name: str, headers: list[str],
                    relation: str, keep: str,
                    typed_headers: frozenset[str] = frozenset()) -> _Streaming:
    """`typed_headers`: columns `relation` already has typed (DuckDB's CSV reader parsed
    them by the feed's format): passed through, NULL when empty."""
    texts: dict[str, str] = {}   # canonical column -> alias of its trimmed text

    def alias(column: str) -> str:
        return texts.setdefault(column, f"_r{len(texts)}")

    plan = _plan(feed, spec, name, headers, raw_ref=alias, typed_headers=typed_headers)
    for column in plan.raw_of:
        alias(column)
    typed = {c for c, h in plan.mapping.items() if h in typed_headers}
    for c in typed:   # the reader's value is the typed value
        plan.values[c] = plan.typed_of[c] = texts[c]
    regency = quote_literal(feed.regency)
    regency_prefix = quote_literal(feed.regency + ".")
    flags = []
    for c in spec.columns:
        if c.name not in plan.mapping:
            continue
        r = texts[c.name]   # the trimmed text, NULL when blank
        if c.type != "text" and c.name not in typed:
            flags.append(f"({r} is not null and {c.name} is null)")
        if c.required:
            flags.append(f"{r} is null")
        if _formula_checked(c):
            flags.append(formula_sql(r))
        if c.type == "region_code":
            flags.append(f"({c.name} <> {regency} and not starts_with({c.name}, "
                         f"{regency_prefix}) and starts_with({c.name}, '36.'))")
    # Personal data in ordinary text columns: one cheap test of all of them together that
    # never misses; a flagged file is checked exactly (and named) by the thorough path.
    checked = [texts[c.name] for c in spec.columns if c.name in plan.mapping and _pii_checked(c)]
    if checked:
        flags.append(pii.sql_maybe_hit(checked))
    for i, c in enumerate(plan.remapped):
        # A value written in another spelling of a canonical value: the thorough load
        # records what was mapped (`value_mappings`).
        flags.append(f"({texts[c]} is distinct from _o{i})")
    text_cols = "".join(f"{plan.raw_of[c]} as {a}, " if c in typed
                        else f"nullif(trim({plan.raw_of[c]}), '') as {a}, "
                        for c, a in texts.items())
    text_cols += "".join(f"nullif(trim({plan.remapped[c]}), '') as _o{i}, "
                         for i, c in enumerate(plan.remapped))
    typed_cols = ", ".join(f"{plan.values[c]} as {c}" for c in spec.column_names)
    # innermost: the data rows' texts; then their typed values (each level names the one
    # below it, so no typed value is computed twice)
    sql = (f"(select *, {typed_cols} from (select {text_cols}{keep} from {relation} "
           f"where {plan.where}))")
    return _Streaming(sql, " or ".join(flags) or "false")
