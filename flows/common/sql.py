"""Quoting for SQL text built in Python (DuckDB): the one place that escapes quotes.
Prefer parameters (`?`) for values; these are for names and for statements that take
no parameters (COPY ... TO '<path>', macros, SET)."""

from __future__ import annotations


def quote_ident(name: object) -> str:
    """A double-quoted identifier: `a"b` -> `"a""b"`."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: object) -> str:
    """A single-quoted string literal: `it's` -> `'it''s'`."""
    return "'" + str(text).replace("'", "''") + "'"
