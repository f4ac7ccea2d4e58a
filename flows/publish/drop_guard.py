"""The drop guard: a release never silently drops a regency-period that the previous
release had (`dropped_pairs`), unless a newer accepted submission replaced it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.common.marts import CoverageSpec
from flows.common.sql import quote_ident
from flows.publish.column_types import _parquet_types


def dropped_pairs(con: duckdb.DuckDBPyConnection, new_parquet: Path, old_parquet: Path,
                  spec: CoverageSpec) -> list[tuple[str, str | None]]:
    """(region, period) pairs the previous release had and the new content lacks
    (regions only for a mart without a period column).

    The rule: a release never drops a regency-period that an earlier release had, unless
    a newer accepted submission replaced it. `_publish` refuses the new release (outcome
    "failed", the previous release stays `latest`) when a pair disappears and the
    regency has no accepted submission of the mart's datasets received after the
    previous release was published (`resubmitted_regencies`). A regency that sent again
    may change its own slices, rows gone included; a regency that sent nothing since
    cannot lose rows (a fresh or restored warehouse, a changed model)."""
    cols = [spec.region] + ([spec.period] if spec.period else [])
    if any(c not in _parquet_types(con, old_parquet) for c in cols):
        return []                 # the previous release has no such column to compare
    sel = ", ".join(f"cast({quote_ident(c)} as varchar)" for c in cols)
    where = f"{quote_ident(spec.region)} is not null"
    rows = con.execute(
        f"select * from (select {sel} from read_parquet($old) where {where} except "
        f"select {sel} from read_parquet($new) where {where}) order by all",
        {"old": str(old_parquet), "new": str(new_parquet)}).fetchall()
    return [(r[0], r[1] if spec.period else None) for r in rows]


def _drop_message(slug: str, drops: list[tuple[str, str | None]], previous: str) -> str:
    shown = [f"{code} {period}" if period else code for code, period in drops[:10]]
    more = f" and {len(drops) - 10} more" if len(drops) > 10 else ""
    codes = sorted({code for code, _ in drops})
    return (
        f"dataset '{slug}': would drop {', '.join(shown)}{more}, which release {previous} "
        f"had, and no newer submission from {', '.join(codes)} replaced "
        f"{'it' if len(drops) == 1 else 'them'}; the previous release stays published "
        "(latest unchanged). Find out why the mart lost these rows (e.g. a fresh or restored "
        "warehouse); a newer accepted submission from the regency lets the change through."
    )
