"""flows.common.periods: one definition of a period, the same in Python and in DuckDB."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.common import periods
from flows.common.periods import PeriodError, PeriodRange, bounds, parse

D = dt.date


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute(periods.MACROS)
    yield con
    con.close()


def _sql_bounds(con, text: str):
    return con.execute("select sd_period_start(?), sd_period_end(?)", [text, text]).fetchone()


def _py_bounds(text: str):
    try:
        return bounds(text)
    except PeriodError:
        return (None, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("2024", (D(2024, 1, 1), D(2025, 1, 1))),
    ("2024-S1", (D(2024, 1, 1), D(2024, 7, 1))),
    ("2024-S2", (D(2024, 7, 1), D(2025, 1, 1))),
    ("2024-s2", (D(2024, 7, 1), D(2025, 1, 1))),
    ("2024-Q1", (D(2024, 1, 1), D(2024, 4, 1))),
    ("2024-Q4", (D(2024, 10, 1), D(2025, 1, 1))),
    ("2024-03", (D(2024, 3, 1), D(2024, 4, 1))),
    ("2024-12", (D(2024, 12, 1), D(2025, 1, 1))),
    ("2024-02-29", (D(2024, 2, 29), D(2024, 3, 1))),
    (" 2024-03-15 08:30:00 ", (D(2024, 3, 15), D(2024, 3, 16))),
    ("2024-03-15T08:30+07:00", (D(2024, 3, 15), D(2024, 3, 16))),
    ("9998-12", (D(9998, 12, 1), D(9999, 1, 1))),
])
def test_bounds(con, text, expected):
    assert bounds(text) == expected
    assert _sql_bounds(con, text) == expected


@pytest.mark.parametrize("text", ["", "Maret 2024", "2024-13", "2024-00", "2023-02-29",
                                  "2024-S3", "2024-Q5", "0000", "9999", "24", "2024-3",
                                  "20240315", "2024-03-15x", "２０２４", "2024-W10-1"])
def test_not_a_period(con, text):
    with pytest.raises(PeriodError, match="period"):
        bounds(text)
    assert _sql_bounds(con, text) == (None, None)


def test_last_day_and_kind():
    period = parse("2024-Q1")
    assert (period.kind, period.last_day) == ("quarter", D(2024, 3, 31))


def test_range():
    window = PeriodRange.parse("2024-03", "2024-Q2")
    assert (window.start, window.end) == (D(2024, 3, 1), D(2024, 7, 1))
    assert window.covers("2024") and window.covers("2024-06-30") and not window.covers("2024-07")
    assert not window.covers(None) and not window.covers("nonsense")
    with pytest.raises(PeriodError, match="empty"):
        PeriodRange.parse("2024-05", "2024-03")


# --- Python and SQL agree on any text ----------------------------------------------------

YEARS = st.integers(min_value=0, max_value=9999).map(lambda y: f"{y:04d}")
BLANKS = st.text(alphabet=" \t\n\r", max_size=2)
TIMES = st.sampled_from(["", " 08:30", "T08:30:00", " 23:59:59.123456", "T00:00Z",
                         "T08:30+07:00", "T08:30-0500", " 8:30", "T08"])
PERIOD_LIKE = st.one_of(
    YEARS,
    st.tuples(YEARS, st.sampled_from("SsQqXx"), st.integers(0, 5)).map(
        lambda t: f"{t[0]}-{t[1]}{t[2]}"),
    st.tuples(YEARS, st.integers(0, 13)).map(lambda t: f"{t[0]}-{t[1]:02d}"),
    st.tuples(YEARS, st.integers(0, 13), st.integers(0, 32), TIMES).map(
        lambda t: f"{t[0]}-{t[1]:02d}-{t[2]:02d}{t[3]}"),
    st.text(alphabet="0123456789-SQsq :T.+Z", max_size=16),
    st.text(max_size=12),
)
TEXTS = st.tuples(BLANKS, PERIOD_LIKE, BLANKS).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(TEXTS)
def test_python_and_sql_bounds_agree(con, text):
    assert _py_bounds(text) == _sql_bounds(con, text), text


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=D(1, 1, 1), max_value=D(9998, 12, 31)))
def test_every_day_lies_in_its_year_semester_quarter_and_month(day):
    half, quarter = (day.month - 1) // 6 + 1, (day.month - 1) // 3 + 1
    for text in (f"{day.year:04d}", f"{day.year:04d}-S{half}", f"{day.year:04d}-Q{quarter}",
                 f"{day.year:04d}-{day.month:02d}", day.isoformat()):
        start, end = bounds(text)
        assert start <= day < end, text
