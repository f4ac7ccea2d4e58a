"""Guessing values the file does not hold as columns: a required period or year from the
title lines or the file name (`propose_fixed`: an `extract` pattern or a constant), and
the strptime formats of dates and times that are not ISO 8601 (`TIME_FORMATS`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

MONTHS = {
    "januari": 1, "februari": 2, "maret": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
    "agustus": 8, "september": 9, "oktober": 10, "november": 11, "desember": 12,
}
# Period forms the warehouse's sd_periode understands, most specific first: (what it
# looks like, the extract pattern proposed for it). Patterns are searched ignoring case
# (as `fixed_values` does); their one group is the value.
PERIOD_FORMS = [
    (r"(?<![A-Za-z])semester\s*(?:II|I|2|1)\s+\d{4}(?!\d)",
     r"(Semester\s*(?:II|I|2|1)\s+\d{4})"),
    (r"(?<![A-Za-z])smt\.?\s*(?:II|I|2|1)\s+\d{4}(?!\d)",
     r"(Smt\.?\s*(?:II|I|2|1)\s+\d{4})"),
    (r"(?<!\d)\d{4}\s*-?\s*S\s*[12](?![0-9A-Za-z])",
     r"(\d{4}\s*-?\s*S\s*[12])(?![0-9A-Za-z])"),
    (r"(?<!\d)\d{4}\s+semester\s*(?:II|I|2|1)(?![A-Za-z0-9])",
     r"(\d{4}\s+Semester\s*(?:II|I|2|1))(?![A-Za-z0-9])"),
]
YEAR_FORM = (r"(?<!\d)(?:19|20)\d{2}(?!\d)", r"(?<!\d)((?:19|20)\d{2})(?!\d)")
MONTH_FORM = r"(?<![A-Za-z])(" + "|".join(MONTHS) + r")\s+((?:19|20)\d{2})(?!\d)"
# How regency exports write dates and times that are not ISO 8601 (tried in order; the
# first that reads every sampled value is proposed as options.<type>_format).
TIME_FORMATS = {
    "timestamp": ["%d-%m-%Y %H.%M", "%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y %H.%M",
                  "%d-%m-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                  "%Y/%m/%d %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p"],
    "date": ["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y"],
}


def propose_fixed(column: str, ctype: str, title: list[str], name: str
              ) -> tuple[str, Any, str, str] | None:
    """Where the value of a required column the file lacks can come from, searching the
    title lines, then the file name: ("extract", {"from", "pattern"}, the text found,
    what it is) or ("constants", value, the text found, a note); None if nowhere. A period
    prefers a semester form (in the title, else the file name), then a month (which the
    warehouse does not store: its semester as a constant), then a year."""
    places = [("title", title), ("file_name", [name])]
    if ctype == "period":
        for source, texts in places:
            for look, pattern in PERIOD_FORMS:
                for text in texts:
                    m = re.search(look, text, flags=re.IGNORECASE)
                    if m:
                        return ("extract", {"from": source, "pattern": pattern}, m.group(0),
                                "a period such as 2024-S2")
        for _, texts in places:
            for text in texts:
                m = re.search(MONTH_FORM, text, flags=re.IGNORECASE)
                if m:
                    month, year = MONTHS[m.group(1).lower()], m.group(2)
                    value = f"{year}-S{1 if month <= 6 else 2}"
                    return ("constants", value, m.group(0),
                            f"a month is not a period of the warehouse: {m.group(0)} is in "
                            f"semester {1 if month <= 6 else 2}; a constant holds for this "
                            "file only, so change it with each file (or ask the regency "
                            "to write the semester in the title)")
    if ctype == "period" or (ctype == "integer" and column in ("tahun", "year")):
        for source, texts in places:
            for text in texts:
                m = re.search(YEAR_FORM[0], text)
                if m:
                    return ("extract", {"from": source, "pattern": YEAR_FORM[1]},
                            m.group(0), "the year")
    return None


def _parses(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True
