"""Periods: the one definition of what a period is, where it starts and ends, in Python
and in SQL (DuckDB).

A period is written in one of these forms (`S`/`Q` in either case, spaces, tabs and
line breaks around it ignored):

    2024          a year            [2024-01-01, 2025-01-01)
    2024-S2       a semester        [2024-07-01, 2025-01-01)
    2024-Q3       a quarter         [2024-07-01, 2024-10-01)
    2024-03       a month           [2024-03-01, 2024-04-01)
    2024-03-15    a day             [2024-03-15, 2024-03-16)

A timestamp written in ISO 8601 ("2024-03-15 08:30:00", "2024-03-15T08:30Z") is the day it
is written in. Years run from 0001 to 9998 (the end of 9999 is beyond Python's dates).

Bounds are half-open, [start, end): `end` is the first day after the period. A format
that wants the last day (DCAT's "2020-01-01/2024-12-31") takes `last_day`.

In SQL, `BOUNDS_MACRO` defines `sd_period_start(p)` and `sd_period_end(p)` from the same
patterns (NULL where Python raises `PeriodError`), and `NORMALISE_MACRO` defines
`sd_periode(x)`: how regencies write a period ("Semester II 2024", "Des-24") turned into
the forms above. `period_sql` says which SQL gives a row's period for a dataset.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# The characters stripped around a period, the same in Python and in SQL.
_BLANKS = " \t\n\r"
_SQL_BLANKS = "' ' || chr(9) || chr(10) || chr(13)"

# One pattern per kind, matched against the whole stripped text; shared verbatim by the
# Python parser and the SQL macros (Python `re` and DuckDB's RE2 read them alike).
_Y = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_TIME = r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
PATTERNS = {
    "year": _Y,
    "semester": _Y + "-[Ss]([12])",
    "quarter": _Y + "-[Qq]([1-4])",
    "month": _Y + "-(0[1-9]|1[0-2])",
    "day": _Y + "-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])" + _TIME,
}
_COMPILED = {kind: re.compile(p, re.ASCII) for kind, p in PATTERNS.items()}
_MONTHS = {"year": 12, "semester": 6, "quarter": 3, "month": 1}

HOW_TO_WRITE = ("write 2024 (year), 2024-S2 (semester), 2024-Q3 (quarter), 2024-03 (month) "
                "or 2024-03-15 (day)")


class PeriodError(ValueError):
    """A period or range that cannot be understood; the message says how to write it."""


@dataclass(frozen=True)
class Period:
    kind: str          # year, semester, quarter, month or day
    start: dt.date
    end: dt.date       # exclusive: the first day after the period

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse(text: object) -> Period:
    """The period `text` writes; PeriodError if it is not one of the forms above."""
    stripped = str(text).strip(_BLANKS)
    for kind, pattern in _COMPILED.items():
        m = pattern.fullmatch(stripped)
        if not m:
            continue
        year = int(m[1])
        if kind == "day":
            try:
                start = dt.date(year, int(m[2]), int(m[3]))
            except ValueError as e:
                raise PeriodError(f"period {text!r}: {e}") from None
            return Period(kind, start, start + dt.timedelta(days=1))
        months = _MONTHS[kind]
        first = 1 if kind == "year" else int(m[2]) * months - months + 1
        start = dt.date(year, first, 1)
        return Period(kind, start, _add_months(start, months))
    raise PeriodError(f"period {text!r}: {HOW_TO_WRITE}")


def bounds(text: object) -> tuple[dt.date, dt.date]:
    """[start, end) of a period: `bounds("2024-S2") == (2024-07-01, 2025-01-01)`."""
    period = parse(text)
    return period.start, period.end


@dataclass(frozen=True)
class PeriodRange:
    """From the start of a first period to the end of a last one (`satudata backfill`)."""

    start: dt.date
    end: dt.date        # exclusive
    label: str

    @classmethod
    def parse(cls, first: str, last: str) -> PeriodRange:
        start, _ = bounds(first)
        _, end = bounds(last)
        if end <= start:
            raise PeriodError(f"the range {first}..{last} is empty: --from comes after --to")
        return cls(start, end, f"{first}..{last}")

    def covers(self, period: str | None) -> bool:
        """Whether the period overlaps the range (unknown periods do not)."""
        if period is None:
            return False
        try:
            start, end = bounds(period)
        except PeriodError:
            return False
        return start < self.end and self.start < end


# --- SQL -----------------------------------------------------------------------------------


def _sql_pattern(kind: str) -> str:
    return "'" + PATTERNS[kind].replace("'", "''") + "'"


def _bounds_macro() -> str:
    p = f"trim(p, {_SQL_BLANKS})"
    year = f"cast(left({p}, 4) as integer)"
    part = f"cast(substr({p}, 7, 1) as integer)"     # the 1..4 of 2024-S1, 2024-Q4
    month = f"cast(substr({p}, 6, 2) as integer)"
    start = f"""case
        when regexp_full_match({p}, {_sql_pattern('year')}) then make_date({year}, 1, 1)
        when regexp_full_match({p}, {_sql_pattern('semester')})
            then make_date({year}, 6 * {part} - 5, 1)
        when regexp_full_match({p}, {_sql_pattern('quarter')})
            then make_date({year}, 3 * {part} - 2, 1)
        when regexp_full_match({p}, {_sql_pattern('month')}) then make_date({year}, {month}, 1)
        when regexp_full_match({p}, {_sql_pattern('day')})
            then try_cast(left({p}, 10) as date)
    end"""
    months = f"""case
        when regexp_full_match({p}, {_sql_pattern('year')}) then 12
        when regexp_full_match({p}, {_sql_pattern('semester')}) then 6
        when regexp_full_match({p}, {_sql_pattern('quarter')}) then 3
        when regexp_full_match({p}, {_sql_pattern('month')}) then 1
    end"""
    return f"""
create or replace macro sd_period_start(p) as ({start});
create or replace macro sd_period_end(p) as (
    cast(case when regexp_full_match({p}, {_sql_pattern('day')})
              then sd_period_start(p) + interval 1 day
              else sd_period_start(p) + to_months({months}) end as date)
)
"""


# `sd_period_start(p)` / `sd_period_end(p)`: the bounds of a period, [start, end), as dates.
BOUNDS_MACRO = _bounds_macro()

# `sd_periode(x)`: how regencies write a period, turned into the forms above: "2020",
# "2024-S2", "2024 S2", "Semester II 2024", "Smt 2 2024", "2024 Semester II" -> "2020" /
# "2024-S2"; a month: "2024-12", "Desember 2024", "Des 2024", "Des-24" (Indonesian names)
# -> "2024-12". Anything else becomes NULL, which the ingest step reports with its row.
NORMALISE_MACRO = r"""
create or replace macro sd_month(m) as (
    case
        when m in ('januari', 'jan') then '01'
        when m in ('februari', 'feb', 'pebruari', 'peb') then '02'
        when m in ('maret', 'mar') then '03'
        when m in ('april', 'apr') then '04'
        when m in ('mei') then '05'
        when m in ('juni', 'jun') then '06'
        when m in ('juli', 'jul') then '07'
        when m in ('agustus', 'agu', 'agt', 'ags') then '08'
        when m in ('september', 'sep', 'sept') then '09'
        when m in ('oktober', 'okt') then '10'
        when m in ('november', 'nov', 'nop') then '11'
        when m in ('desember', 'des') then '12'
    end
);
create or replace macro sd_periode(x) as (
    case
        when regexp_matches(trim(x), '^\d{4}$') then trim(x)
        when regexp_matches(trim(x), '^\d{4}\s*-?\s*[Ss]\s*[12]$')
            then regexp_extract(trim(x), '^(\d{4})', 1) || '-S' || right(trim(x), 1)
        when regexp_matches(lower(trim(x)), '^(semester|smt\.?|sem\.?|s)\s*(i|ii|1|2)\s+\d{4}$')
            then regexp_extract(trim(x), '(\d{4})$', 1) || '-S' ||
                 case when regexp_matches(lower(trim(x)), '^\D*\s*(ii|2)\s+\d{4}$')
                      then '2' else '1' end
        when regexp_matches(lower(trim(x)), '^\d{4}\s+(semester|smt\.?|sem\.?|s)\s*(i|ii|1|2)$')
            then regexp_extract(trim(x), '^(\d{4})', 1) || '-S' ||
                 case when regexp_matches(lower(trim(x)), '(ii|2)$') then '2' else '1' end
        -- a month: "2024-12", "Desember 2024", "Des 2024", "Des-24" (Indonesian names)
        when regexp_matches(trim(x), '^\d{4}-(0[1-9]|1[0-2])$') then trim(x)
        when sd_month(regexp_extract(lower(trim(x)), '^([a-z]+)', 1)) is not null
             and regexp_matches(lower(trim(x)), '^[a-z]+\.?[\s\-/]*(\d{4}|\d{2})$')
            then (case when length(regexp_extract(trim(x), '(\d+)$', 1)) = 2
                       then '20' || regexp_extract(trim(x), '(\d+)$', 1)
                       else regexp_extract(trim(x), '(\d+)$', 1) end)
                 || '-' || sd_month(regexp_extract(lower(trim(x)), '^([a-z]+)', 1))
        else null
    end)
"""

# Every period macro, in the order they must be created.
MACROS = NORMALISE_MACRO + ";\n" + BOUNDS_MACRO


class _Column(Protocol):
    name: str
    type: str
    required: bool


class _Dataset(Protocol):
    columns: Iterable[_Column]


def period_sql(spec: _Dataset) -> str | None:
    """SQL giving a row's period for a dataset (a registry DatasetSpec): its `period`
    column (2020, 2024-S2), else the month of its first required timestamp/date column,
    else its year column (`tahun`, `year`); None when it has none (a complete list such as
    the facilities: its period is the day it was received)."""
    columns = list(spec.columns)
    for c in columns:
        if c.type == "period":
            return c.name
    for c in columns:
        if c.type in ("timestamp", "date") and c.required:
            return f"strftime({c.name}, '%Y-%m')"
    for c in columns:
        if c.type == "integer" and c.name in ("tahun", "year"):
            return f"cast({c.name} as varchar)"
    return None
