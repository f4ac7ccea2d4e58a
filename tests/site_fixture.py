"""Write a small published site folder (the publisher's contract) for tests.

``write_site(site_dir)`` produces::

    site_dir/catalog.json
    site_dir/datasets/penduduk-kabupaten-kota/2026-11-28/penduduk-kabupaten-kota.csv
    site_dir/datasets/penduduk-kabupaten-kota/2026-11-28/penduduk-kabupaten-kota.parquet
    site_dir/datasets/penduduk-kabupaten-kota/2026-11-28/datapackage.json
    site_dir/datasets/penduduk-kabupaten-kota/2026-11-28/SHA256SUMS
    site_dir/datasets/penduduk-kabupaten-kota/latest -> 2026-11-28

with the real semester II 2024 Dukcapil population of Banten's 8 regencies/cities.
``with_unpublished=True`` adds a second, synthetic dataset that has no version yet.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb

GENERATED_AT = "2026-11-28T12:00:00+00:00"
VERSION = "2026-11-28"
SLUG = "penduduk-kabupaten-kota"
UNPUBLISHED_SLUG = "penerima-bantuan-sosial-sintetis"

# kode_wilayah, nama_wilayah, laki_laki, perempuan, jumlah_penduduk (DKB Dukcapil 2024-S2)
POPULATION_2024_S2: list[tuple[str, str, int, int, int]] = [
    ("36.01", "Kabupaten Pandeglang", 738650, 698396, 1437046),
    ("36.02", "Kabupaten Lebak", 786683, 744881, 1531564),
    ("36.03", "Kabupaten Tangerang", 1761008, 1698698, 3459706),
    ("36.04", "Kabupaten Serang", 913981, 877814, 1791795),
    ("36.71", "Kota Tangerang", 983453, 973896, 1957349),
    ("36.72", "Kota Cilegon", 243024, 237354, 480378),
    ("36.73", "Kota Serang", 387152, 372777, 759929),
    ("36.74", "Kota Tangerang Selatan", 729068, 734539, 1463607),
]
PERIOD = "2024-S2"

COLUMNS: list[dict[str, Any]] = [
    {
        "name": "kode_wilayah",
        "type": "string",
        "unit": None,
        "description": {"id": "Kode wilayah Kemendagri", "en": "Kemendagri region code"},
    },
    {
        "name": "nama_wilayah",
        "type": "string",
        "unit": None,
        "description": {"id": "Nama kabupaten/kota", "en": "Regency/city name"},
    },
    {
        "name": "periode",
        "type": "string",
        "unit": None,
        "description": {"id": "Semester data (YYYY-Sn)", "en": "Data semester (YYYY-Sn)"},
    },
    {
        "name": "laki_laki",
        "type": "integer",
        "unit": "jiwa",
        "description": {"id": "Jumlah penduduk laki-laki", "en": "Male population"},
    },
    {
        "name": "perempuan",
        "type": "integer",
        "unit": "jiwa",
        "description": {"id": "Jumlah penduduk perempuan", "en": "Female population"},
    },
    {
        "name": "jumlah_penduduk",
        "type": "integer",
        "unit": "jiwa",
        "description": {"id": "Jumlah penduduk total", "en": "Total population"},
    },
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write_data_files(version_dir: Path) -> None:
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE penduduk (kode_wilayah VARCHAR, nama_wilayah VARCHAR, periode VARCHAR,"
            " laki_laki BIGINT, perempuan BIGINT, jumlah_penduduk BIGINT)"
        )
        con.executemany(
            "INSERT INTO penduduk VALUES (?, ?, ?, ?, ?, ?)",
            [
                (kode, nama, PERIOD, lk, pr, total)
                for kode, nama, lk, pr, total in POPULATION_2024_S2
            ],
        )
        csv = version_dir / f"{SLUG}.csv"
        parquet = version_dir / f"{SLUG}.parquet"
        con.execute(
            f"COPY (SELECT * FROM penduduk ORDER BY kode_wilayah) TO {_sql_string(str(csv))} "
            "(FORMAT csv, HEADER true, DELIMITER ',')"
        )
        con.execute(
            f"COPY (SELECT * FROM penduduk ORDER BY kode_wilayah) TO {_sql_string(str(parquet))} "
            "(FORMAT parquet)"
        )
    finally:
        con.close()


def write_site(site_dir: Path, *, with_unpublished: bool = False) -> dict:
    """Write the site folder and return the catalog dict that was written to catalog.json."""
    site_dir = Path(site_dir)
    version_dir = site_dir / "datasets" / SLUG / VERSION
    version_dir.mkdir(parents=True, exist_ok=True)
    _write_data_files(version_dir)

    descriptor = {
        "profile": "tabular-data-package",
        "name": SLUG,
        "version": VERSION,
        "licenses": [{"name": "CC-BY-4.0"}],
        "resources": [
            {
                "name": SLUG,
                "path": f"{SLUG}.csv",
                "format": "csv",
                "encoding": "utf-8",
                "schema": {"fields": [{"name": c["name"], "type": c["type"]} for c in COLUMNS]},
            }
        ],
    }
    (version_dir / "datapackage.json").write_text(
        json.dumps(descriptor, indent=2), encoding="utf-8"
    )

    files = []
    sums = []
    for fmt in ("csv", "parquet"):
        path = version_dir / f"{SLUG}.{fmt}"
        digest = _sha256(path)
        sums.append(f"{digest}  {path.name}")
        files.append(
            {
                "format": fmt,
                "path": f"datasets/{SLUG}/{VERSION}/{path.name}",
                "bytes": path.stat().st_size,
                "sha256": digest,
            }
        )
    (version_dir / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")

    latest = site_dir / "datasets" / SLUG / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    os.symlink(VERSION, latest, target_is_directory=True)

    datasets: list[dict[str, Any]] = [
        {
            "slug": SLUG,
            "title": {
                "id": "Jumlah Penduduk per Kabupaten/Kota",
                "en": "Population by Regency/City",
            },
            "description": {
                "id": "Jumlah penduduk laki-laki, perempuan dan total di 8 kabupaten/kota "
                "Provinsi Banten menurut data kependudukan Dukcapil.",
                "en": "Male, female and total population of the 8 regencies/cities of "
                "Banten province from Dukcapil population records.",
            },
            "theme": "kependudukan",
            "keywords": ["penduduk", "kependudukan", "population"],
            "unit": "jiwa",
            "frequency": "R/P6M",
            "produsen_data": ["Disdukcapil kabupaten/kota se-Banten", "BPS"],
            "walidata": "Diskominfo Provinsi Banten",
            "license": "CC-BY-4.0",
            "source": {
                "id": "DKB Dukcapil semester II 2024",
                "en": "Dukcapil consolidated population data, 2nd semester 2024",
            },
            "synthetic": False,
            "spatial": "Provinsi Banten (36): 8 kabupaten/kota",
            "temporal": PERIOD,
            "latest_version": VERSION,
            "updated": GENERATED_AT,
            "row_count": len(POPULATION_2024_S2),
            "columns": COLUMNS,
            "versions": [
                {
                    "version": VERSION,
                    "published_at": GENERATED_AT,
                    "rows": len(POPULATION_2024_S2),
                    "changelog": {"id": "Rilis pertama", "en": "First release"},
                    "files": files,
                }
            ],
        }
    ]
    if with_unpublished:
        datasets.append(
            {
                "slug": UNPUBLISHED_SLUG,
                "title": {
                    "id": "Keluarga Penerima Bantuan Sosial (Sintetis)",
                    "en": "Households Receiving Social Assistance (Synthetic)",
                },
                "description": {
                    "id": "Contoh data sintetis, belum diterbitkan.",
                    "en": "Synthetic sample data, not published yet.",
                },
                "theme": "sosial",
                "keywords": ["bansos", "social assistance"],
                "unit": "keluarga",
                "frequency": "R/P1Y",
                "produsen_data": ["Dinas Sosial Provinsi Banten"],
                "walidata": "Diskominfo Provinsi Banten",
                "license": "CC-BY-4.0",
                "source": {"id": "Data sintetis", "en": "Synthetic data"},
                "synthetic": True,
                "spatial": "Provinsi Banten (36)",
                "temporal": "2025",
                "latest_version": None,
                "updated": None,
                "row_count": None,
                "columns": [
                    {
                        "name": "jumlah_keluarga",
                        "type": "integer",
                        "unit": "keluarga",
                        "description": {"id": "Jumlah keluarga", "en": "Number of households"},
                    }
                ],
                "versions": [],
            }
        )

    catalog = {"generated_at": GENERATED_AT, "datasets": datasets}
    tmp = site_dir / "catalog.json.tmp"
    tmp.write_text(json.dumps(catalog, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, site_dir / "catalog.json")
    return catalog
