"""Backfill: re-process received snapshots whose period lies in a range.

Files are normally skipped when their sha256 was seen before. After a quality rule, a
reader or a feed mapping is fixed, `satudata backfill --dataset D --from P --to P`
loads the snapshots kept under `$SATUDATA_HOME/raw/` again, with today's registry, reader
and suites, so the slices they cover are replaced.

Periods are written `2024` (a year), `2024-S2` (a semester), `2024-03` (a month) or
`2024-03-15` (a day); a range is from the start of its first period to the end of its
last. A row's period comes from its dataset (`period_sql`): a `period` column
(`2020`, `2024-S2`), else the month of its first required timestamp/date column, else a
year column (`tahun`); a dataset without any (a complete list such as the facilities)
takes the day its snapshot was received. A snapshot covers the range when one of its
rows' periods overlaps it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from flows.registry import DatasetSpec, Registry
from flows.settings import Settings
from flows.warehouse import connect

_PERIOD = re.compile(
    r"^(?P<y>\d{4})(?:-(?:(?P<s>[Ss][12])|(?P<m>\d{2})(?:-(?P<d>\d{2}))?))?$")


class PeriodError(ValueError):
    """A period or range that cannot be understood; the message says how to write it."""


def period_interval(text: str) -> tuple[dt.date, dt.date]:
    """[start, end) of a period such as 2024, 2024-S2, 2024-03 or 2024-03-15."""
    match = _PERIOD.match(str(text).strip())
    if not match:
        raise PeriodError(f"period {text!r}: write 2024 (year), 2024-S2 (semester), "
                          "2024-03 (month) or 2024-03-15 (day)")
    y = int(match["y"])
    try:
        if match["s"]:
            half = int(match["s"][1])
            return dt.date(y, 1 + 6 * (half - 1), 1), (
                dt.date(y, 7, 1) if half == 1 else dt.date(y + 1, 1, 1))
        if match["d"]:
            start = dt.date(y, int(match["m"]), int(match["d"]))
            return start, start + dt.timedelta(days=1)
        if match["m"]:
            m = int(match["m"])
            return dt.date(y, m, 1), (dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1))
    except ValueError as e:
        raise PeriodError(f"period {text!r}: {e}") from None
    return dt.date(y, 1, 1), dt.date(y + 1, 1, 1)


@dataclass(frozen=True)
class PeriodRange:
    start: dt.date
    end: dt.date        # exclusive
    label: str

    @classmethod
    def parse(cls, first: str, last: str) -> PeriodRange:
        start, _ = period_interval(first)
        _, end = period_interval(last)
        if end <= start:
            raise PeriodError(f"the range {first}..{last} is empty: --from comes after --to")
        return cls(start, end, f"{first}..{last}")

    def covers(self, period: str | None) -> bool:
        """Whether the period overlaps the range (unknown periods do not)."""
        if period is None:
            return False
        try:
            start, end = period_interval(period)
        except PeriodError:
            return False
        return start < self.end and self.start < end


def period_sql(spec: DatasetSpec) -> str | None:
    """SQL giving a row's period for this dataset (None: the dataset has no period)."""
    for c in spec.columns:
        if c.type == "period":
            return c.name
    for c in spec.columns:
        if c.type in ("timestamp", "date") and c.required:
            return f"strftime({c.name}, '%Y-%m')"
    for c in spec.columns:
        if c.type == "integer" and c.name in ("tahun", "year"):
            return f"cast({c.name} as varchar)"
    return None


def batch_periods(con, table: str, spec: DatasetSpec, received_at: dt.datetime) -> list[str]:
    """The distinct periods of a loaded batch table."""
    expr = period_sql(spec)
    if expr is None:
        return [received_at.strftime("%Y-%m-%d")]
    return [r[0] for r in con.execute(
        f"select distinct {expr} as p from {table} where {expr} is not null order by 1"
    ).fetchall()]


@dataclass(frozen=True)
class Snapshot:
    """A received file kept under raw/, as its sidecar describes it."""

    sha256: str
    path: Path
    feed_id: str
    regency: str
    dataset: str
    file_name: str
    source: str
    received_at: str                 # first received (ISO)
    known_periods: tuple[str, ...] | None   # recorded at an earlier load, if any
    last_status: str | None           # of its latest submission


def snapshots(settings: Settings, registry: Registry, dataset: str,
              regency: str | None = None) -> list[Snapshot]:
    """The dataset's snapshots (of one regency, if given), in the order first received."""
    recorded: dict[str, tuple] = {}
    if settings.warehouse.exists():
        with connect(settings.warehouse, read_only=True) as con:
            cols = {r[0] for r in con.execute("describe meta.submissions").fetchall()}
            periods = "periods" if "periods" in cols else "null"
            for sha, per, status in con.execute(
                f"""select sha256,
                           arg_max({periods}, received_at) filter (where {periods} is not null),
                           arg_max(status, received_at)
                    from meta.submissions where dataset = ? group by sha256""",
                [dataset],
            ).fetchall():
                recorded[sha] = (tuple(per) if per is not None else None, status)
    out = []
    for sidecar in sorted(settings.raw_dir.glob("??/*.meta.json")):
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if meta.get("dataset") != dataset or (regency and meta.get("regency") != regency):
            continue
        sha = meta["sha256"]
        path = sidecar.with_name(sha + Path(meta.get("file_name", "")).suffix.lower())
        if not path.exists():
            continue
        known, status = recorded.get(sha, (None, None))
        out.append(Snapshot(sha, path, meta["feed"], meta["regency"], dataset,
                            meta.get("file_name") or path.name, meta.get("source") or "",
                            meta.get("received_at") or "", known, status))
    return sorted(out, key=lambda s: (s.received_at, s.file_name))
