"""Catalogue text made safe and short for display, whatever the language: Markdown
escaping (`md`, `md_cell`), inline code, one-line shortening and UTC times."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

DESCRIPTION_CHARS = 180
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>$|~#"})


def md(text: Any) -> str:
    """Escape catalogue text for Markdown (no accidental bold, links or LaTeX)."""
    return str(text).translate(_MD_SPECIAL)


def md_cell(text: Any) -> str:
    """`md` for a cell of ``st.table`` (cells are Markdown too), keeping a ``_`` inside a
    word as it is (it never starts emphasis): the table's data still reads kode_wilayah."""
    return re.sub(r"(?<=[^\W_])\\_(?=[^\W_])", "_", md(text))


def code(text: Any) -> str:
    """Inline code (nothing is escaped inside backticks, so backticks are dropped)."""
    return "`" + str(text).replace("`", "") + "`"


def one_line(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: Any) -> str:
    """``2026-11-28T12:00:00+00:00`` -> ``2026-11-28 12:00 UTC``; unparsable -> as is."""
    parsed = parse_time(value)
    if parsed is None:
        return str(value) if value else "—"
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_date(value: Any) -> str:
    parsed = parse_time(value)
    if parsed is None:
        return str(value) if value else "—"
    return parsed.astimezone(UTC).strftime("%Y-%m-%d")
