"""The changelog of a new release against the previous one (rows added, removed and
changed by key; columns added, removed and retyped; new formats), in Indonesian and
English."""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.common.sql import quote_ident
from flows.publish.column_types import _parquet_types
from flows.publish.formats import FORMATS


def _changelog(con: duckdb.DuckDBPyConnection, new_parquet: Path, previous: dict | None,
               site: Path, key: list[str]) -> dict:
    if previous is None:
        return {"id": "Rilis pertama", "en": "First release", "rows_added": None,
                "rows_removed": None, "rows_changed": None, "columns_added": [],
                "columns_removed": [], "columns_retyped": [], "formats_added": []}
    old = site / previous["files"]["parquet"]["path"]
    new_types = _parquet_types(con, new_parquet)
    old_types = _parquet_types(con, old)
    common = [c for c in new_types if c in old_types]
    key = [k for k in key if k in common] or common
    keys = ", ".join(quote_ident(k) for k in key)
    vals = ", ".join(quote_ident(c) for c in common)
    q = f"""
        with n as (select {vals} from read_parquet($new)),
             o as (select {vals} from read_parquet($old)),
             nk as (select distinct {keys} from n), ok as (select distinct {keys} from o)
        select
            (select count(*) from (select * from nk except select * from ok)),
            (select count(*) from (select * from ok except select * from nk)),
            (select count(*) from (select {keys} from (select * from n except select * from o)
                                   intersect select * from ok))
    """
    added, removed, changed = con.execute(q, {"new": str(new_parquet), "old": str(old)}
                                          ).fetchone()
    cols_added = [c for c in new_types if c not in old_types]
    cols_removed = [c for c in old_types if c not in new_types]
    retyped = [c for c in common if new_types[c] != old_types[c]]
    formats_added = [f for f in FORMATS if f not in previous["files"]]
    parts_id, parts_en = [], []
    for n, id_, en in ((added, "baris baru", "added"), (removed, "baris dihapus", "removed"),
                       (changed, "baris berubah", "changed")):
        if n:
            parts_id.append(f"{n} {id_}")
            parts_en.append(f"{n} {'row' if n == 1 else 'rows'} {en}")
    if cols_added or cols_removed:
        parts_id.append(f"kolom +{cols_added} -{cols_removed}")
        parts_en.append(f"columns +{cols_added} -{cols_removed}")
    if retyped:
        parts_id.append(f"tipe kolom berubah {retyped}")
        parts_en.append(f"column types changed {retyped}")
    if formats_added and not parts_en:
        parts_id.append(f"format baru {formats_added}")
        parts_en.append(f"new formats {formats_added}")
    return {
        "id": "; ".join(parts_id) or "Tidak ada perubahan isi",
        "en": "; ".join(parts_en) or "No content change",
        "rows_added": added, "rows_removed": removed, "rows_changed": changed,
        "columns_added": cols_added, "columns_removed": cols_removed,
        "columns_retyped": retyped, "formats_added": formats_added,
    }
