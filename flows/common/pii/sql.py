"""The rules in DuckDB SQL: expressions that normalise a text (`sql_normalise`), keep
only what may hold a finding (`sql_candidate`), flag a row cheaply (`sql_maybe_hit`) or
exactly (`sql_hit`)."""

from __future__ import annotations

from flows.common.pii.rules import (
    ANY_PATTERN,
    COMPLEX,
    FOLD_FROM,
    FOLD_TO,
    MAYBE_SQL,
    SAFE_SQL,
    STEPS,
    _template,
)
from flows.common.sql import quote_literal


def sql_normalise(expr: str) -> str:
    """SQL: `normalise` of the text `expr` (same steps, same regular expressions)."""
    x = (f"(case when regexp_matches({expr}, '[^\\x00-\\x7f]') then translate({expr}, "
         f"{quote_literal(FOLD_FROM)}, {quote_literal(FOLD_TO)}) else {expr} end)")
    for pattern, parts in STEPS:
        x = (f"regexp_replace({x}, {quote_literal(pattern)}, "
             f"{quote_literal(_template(parts, chr(92) + '{}'))}, 'g')")
    return x


def sql_candidate(expr: str) -> str:
    """SQL: the normal form of the text `expr` when it may hold a finding, else NULL.
    Most values take one regular-expression pass (`MAYBE_SQL`); only values with
    separators between many digits, obfuscations or non-ASCII characters that are not
    plainly safe (`SAFE_SQL`) are normalised."""
    return (f"(case when not regexp_matches({expr}, {quote_literal(MAYBE_SQL)}) then null "
            f"when not regexp_matches({expr}, {quote_literal(COMPLEX)}) then {expr} "
            f"when regexp_matches({expr}, {quote_literal(SAFE_SQL)}) then null "
            f"else {sql_normalise(expr)} end)")


def sql_maybe_hit(exprs: list[str]) -> str:
    """SQL: true when `sql_hit` is or may be true for one of the texts `exprs`, at a
    fraction of its cost: no normalisation, one regular-expression pass (`MAYBE_SQL`)
    over the texts joined by newlines (which no rule crosses) for almost every row, and
    for the few rows it matches a second one without the lines that are plainly safe
    (`SAFE_SQL`: a decimal number, a region code, a date). Three regexes to compile. For
    a per-row flag whose rows are then checked exactly: the ingest gate's fast path falls
    back to its thorough path, which uses `sql_hit` and names the rows."""
    if not exprs:
        return "false"
    maybe = quote_literal(MAYBE_SQL)
    joined = f"concat_ws(chr(10), {', '.join(exprs)})"
    unsafe = f"regexp_replace({joined}, {quote_literal('(?m)' + SAFE_SQL)}, '', 'g')"
    return (f"(case when regexp_matches({joined}, {maybe}) "
            f"then regexp_matches({unsafe}, {maybe}) else false end)")


def sql_hit(expr: str) -> str:
    """SQL: the text `expr` holds a NIK-like, phone-like or e-mail-like string (`find`
    finds one); false or NULL otherwise."""
    return f"regexp_matches({sql_candidate(expr)}, {quote_literal(ANY_PATTERN)})"
