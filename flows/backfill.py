"""Backfill: re-process received snapshots whose period lies in a range.

Files are normally skipped when their sha256 was seen before. After a quality rule, a
reader or a feed mapping is fixed, `satudata backfill --dataset D --from P --to P`
loads the snapshots kept under `$SATUDATA_HOME/raw/` again, with today's registry, reader
and suites, so the slices they cover are replaced.

Periods are written as flows.common.periods defines them (`2024`, `2024-S2`, `2024-Q3`,
`2024-03`, `2024-03-15`); a range (`PeriodRange`) is from the start of its first period
to the end of its last. A row's period comes from its dataset (`period_sql`): a `period` column
(`2020`, `2024-S2`), else the month of its first required timestamp/date column, else a
year column (`tahun`); a dataset without any (a complete list such as the facilities)
takes the day its snapshot was received. A snapshot covers the range when one of its
rows' periods overlaps it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from flows.common.periods import period_sql
from flows.registry import DatasetSpec, Registry
from flows.settings import Settings
from flows.warehouse import connect


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
