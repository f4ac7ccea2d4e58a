"""The officials' province overview: the published datasets it reads (found by their
columns) and its aggregates, population and complaints per regency."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from app.site_reader.catalog import is_published
from app.site_reader.parquet import fetchone, query
from app.site_reader.quality import source_datasets

_DUKCAPIL_PERIOD = r"^\d{4}-S[12]$"


def find_by_columns(catalog: dict[str, Any] | None, needed: Sequence[str],
                    source: str | None = None) -> dict[str, Any] | None:
    """The first published dataset that has all ``needed`` columns (preferring one built
    from registry dataset ``source``)."""
    candidates = []
    for ds in (catalog or {}).get("datasets", []):
        names = {c.get("name") for c in ds.get("columns", [])}
        if is_published(ds) and set(needed) <= names:
            candidates.append(ds)
    preferred = [ds for ds in candidates if source and source in source_datasets(ds)]
    return (preferred or candidates or [None])[0]


def population_by_region(parquet: Path) -> tuple[str | None, pd.DataFrame]:
    """Population per regency in the newest Dukcapil semester (``YYYY-Sn``; the newest
    period of any kind when there is none): ``(period, frame[kode, nama, penduduk])``."""
    row = fetchone(
        "SELECT coalesce(max(periode) FILTER (WHERE regexp_matches(periode, ?)), max(periode)) "
        "FROM read_parquet(?)",
        [_DUKCAPIL_PERIOD, str(parquet)],
    )
    period = row[0] if row else None
    if period is None:
        return None, pd.DataFrame(columns=["kode", "nama", "penduduk"])
    frame = query(
        "SELECT kode_wilayah AS kode, any_value(nama_wilayah) AS nama, "
        "sum(jumlah_penduduk) AS penduduk FROM read_parquet(?) WHERE periode = ? "
        "GROUP BY 1 ORDER BY 1",
        [str(parquet), period],
    )
    return str(period), frame


def complaints_by_region(parquet: Path, months: int = 12
                         ) -> tuple[tuple[str, str] | None, pd.DataFrame]:
    """Complaints per regency over the newest ``months`` months: received, done, the
    share done within the service level (weighted by done complaints) and the sum of the
    per-10,000 rates (used when no population is published). Returns
    ``((first month, last month), frame)``."""
    frame = query(
        """
        WITH a AS (SELECT * FROM read_parquet($p)),
             m AS (SELECT DISTINCT bulan FROM a WHERE bulan IS NOT NULL
                   ORDER BY bulan DESC LIMIT $n)
        SELECT kode_wilayah AS kode, any_value(nama_wilayah) AS nama,
               sum(jumlah_diterima) AS diterima, sum(jumlah_selesai) AS selesai,
               sum(persen_selesai_tepat_waktu * jumlah_selesai)
                 / nullif(sum(jumlah_selesai) FILTER
                          (WHERE persen_selesai_tepat_waktu IS NOT NULL), 0)
                 AS persen_tepat_waktu,
               sum(aduan_per_10000_penduduk) AS per_10000_dari_data,
               min(bulan) AS dari, max(bulan) AS sampai
        FROM a WHERE bulan IN (SELECT bulan FROM m)
        GROUP BY 1 ORDER BY 1
        """,
        {"p": str(parquet), "n": int(months)},
    )
    if frame.empty:
        return None, frame
    span = (str(frame["dari"].min()), str(frame["sampai"].max()))
    return span, frame.drop(columns=["dari", "sampai"])


COMPLAINT_COLUMNS = ("kode_wilayah", "nama_wilayah", "bulan", "jumlah_diterima",
                     "jumlah_selesai", "persen_selesai_tepat_waktu",
                     "aduan_per_10000_penduduk")
POPULATION_COLUMNS = ("kode_wilayah", "nama_wilayah", "periode", "jumlah_penduduk")
