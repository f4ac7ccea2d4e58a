"""Write a small published site folder (the publisher's contract) for tests.

``write_site(site_dir)`` produces what ``satudata run`` publishes, in miniature::

    site_dir/catalog.json                       index (with the bulk zip under downloads)
    site_dir/data.json                          DCAT-US 1.1 catalogue
    site_dir/datasets/<slug>/<VERSION>/         <slug>.csv|.xlsx|.json|.parquet,
                                                datapackage.json, release.json, SHA256SUMS
    site_dir/datasets/<slug>/latest -> <VERSION>
    site_dir/downloads/satudata-banten-latest.zip
    site_dir/quality/summary.json               the public quality summary
    site_dir/reference/batas_kabupaten_kota.geojson   (8 squares around the real centroids)
    site_dir/dbt-docs/index.html

and, beside it (``internal_dir``, default ``site_dir/../internal``, as flows/settings.py
lays them out), the internal tree only the officials' view reads::

    internal_dir/meta/feeds.json|submissions.json|quality.json|runs.json

Datasets:
- ``penduduk-kabupaten-kota``: the real semester II 2024 Dukcapil population of Banten's
  8 regencies/cities (8 rows);
- ``aduan-masyarakat-bulanan``: synthetic complaints, 8 regencies x 12 months x 2
  categories (192 rows: 4 preview pages of 50);
- ``fasilitas-kesehatan``: 16 synthetic facilities with coordinates;
- with ``with_unpublished=True`` also a synthetic dataset that has no version yet.
The officials' status files say: every feed on time except Kota Serang's complaints
(late) and Kota Cilegon's facilities (never received, one file quarantined). The public
summary: the real suites' rules; every rule passed on every feed's latest submission
but Kota Cilegon's population names (a warning, 1 row) and Kota Cilegon's facility
latitudes (critical, 3 rows, the quarantined file).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import duckdb

GENERATED_AT = "2026-11-28T12:00:00+00:00"
VERSION = "2026-11-28"
SLUG = "penduduk-kabupaten-kota"
COMPLAINTS_SLUG = "aduan-masyarakat-bulanan"
FACILITIES_SLUG = "fasilitas-kesehatan"
UNPUBLISHED_SLUG = "penerima-bantuan-sosial-sintetis"
FORMATS = ("csv", "xlsx", "json", "parquet")

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
CENTROIDS = {
    "36.01": (-6.590233, 105.74297),
    "36.02": (-6.64202, 106.212422),
    "36.03": (-6.174465, 106.518929),
    "36.04": (-6.141738, 106.146076),
    "36.71": (-6.184371, 106.651994),
    "36.72": (-5.998896, 106.018492),
    "36.73": (-6.123324, 106.166751),
    "36.74": (-6.30212, 106.707385),
}
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
CATEGORIES = ["jalan rusak", "sampah"]
FACILITY_TYPES = ["puskesmas", "rumah sakit umum"]

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


def _col(name: str, typ: str, id_: str, en: str, unit: str | None = None) -> dict[str, Any]:
    return {"name": name, "type": typ, "unit": unit, "description": {"id": id_, "en": en}}


COMPLAINT_COLUMNS: list[dict[str, Any]] = [
    _col("kode_wilayah", "string", "Kode wilayah Kemendagri", "Kemendagri region code"),
    _col("nama_wilayah", "string", "Nama kabupaten/kota", "Regency/city name"),
    _col("bulan", "string", "Bulan aduan diterima (TTTT-BB)", "Month received (YYYY-MM)"),
    _col("kategori", "string", "Kategori aduan", "Complaint category"),
    _col("jumlah_diterima", "integer", "Jumlah aduan diterima", "Complaints received", "aduan"),
    _col("jumlah_selesai", "integer", "Jumlah aduan selesai", "Complaints done", "aduan"),
    _col("persen_selesai_tepat_waktu", "number", "Persentase selesai tepat waktu",
         "Share closed within the service level", "persen"),
    _col("aduan_per_10000_penduduk", "number", "Aduan per 10.000 penduduk",
         "Complaints per 10,000 residents", "aduan per 10.000 penduduk"),
]
FACILITY_COLUMNS: list[dict[str, Any]] = [
    _col("kode_fasilitas", "string", "Kode fasilitas", "Facility code"),
    _col("nama_fasilitas", "string", "Nama fasilitas", "Facility name"),
    _col("jenis_fasilitas", "string", "Jenis fasilitas", "Facility type"),
    _col("kode_wilayah", "string", "Kode wilayah Kemendagri", "Kemendagri region code"),
    _col("nama_wilayah", "string", "Nama kabupaten/kota", "Regency/city name"),
    _col("lintang", "number", "Lintang (WGS84)", "Latitude (WGS84)", "derajat"),
    _col("bujur", "number", "Bujur (WGS84)", "Longitude (WGS84)", "derajat"),
]


def complaint_rows() -> list[tuple[str, str, str, str, int, int, float, float]]:
    """The synthetic complaints, deterministic: (kode, nama, bulan, kategori, diterima,
    selesai, persen_selesai_tepat_waktu, aduan_per_10000_penduduk)."""
    rows = []
    for i, (kode, nama, _, _, population) in enumerate(POPULATION_2024_S2):
        for m, month in enumerate(MONTHS):
            for c, category in enumerate(CATEGORIES):
                received = 20 + (i * 7 + m * 3 + c * 11) % 50
                done = received - (m % 3)
                share = float(80 + (i + m) % 15)
                rate = round(received / population * 10_000, 4)
                rows.append((kode, nama, month, category, received, done, share, rate))
    return rows


def facility_rows() -> list[tuple[str, str, str, str, str, float, float]]:
    rows = []
    for i, (kode, nama, _, _, _) in enumerate(POPULATION_2024_S2):
        lat, lng = CENTROIDS[kode]
        for j, kind in enumerate(FACILITY_TYPES):
            rows.append(
                (f"F{i + 1:02d}{j + 1}", f"{kind.title()} {nama.split(' ', 1)[1]}", kind, kode,
                 nama, round(lat + 0.01 * (j + 1), 6), round(lng - 0.01 * (j + 1), 6))
            )
    return rows


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _write_table(version_dir: Path, slug: str, ddl: str, rows: list[tuple],
                 order: str) -> None:
    """CSV, JSON, Parquet (DuckDB) and XLSX (openpyxl) of one table."""
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TABLE t ({ddl})")
        placeholders = ", ".join("?" for _ in rows[0])
        con.executemany(f"INSERT INTO t VALUES ({placeholders})", rows)
        query = f"SELECT * FROM t ORDER BY {order}"
        base = version_dir / slug
        con.execute(f"COPY ({query}) TO {_sql_string(str(base) + '.csv')} "
                    "(FORMAT csv, HEADER true, DELIMITER ',')")
        con.execute(f"COPY ({query}) TO {_sql_string(str(base) + '.parquet')} (FORMAT parquet)")
        con.execute(f"COPY ({query}) TO {_sql_string(str(base) + '.json')} "
                    "(FORMAT json, ARRAY true)")
        cursor = con.execute(query)
        header = [d[0] for d in cursor.description]
        data = cursor.fetchall()
    finally:
        con.close()
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(header)
    for row in data:
        sheet.append(list(row))
    book.save(str(base) + ".xlsx")


def _release(site_dir: Path, slug: str, columns: list[dict[str, Any]], rows: int,
             title: dict[str, str], temporal: str | None) -> list[dict[str, Any]]:
    """datapackage.json, release.json, SHA256SUMS and `latest` of a written version;
    returns its catalog `files`."""
    version_dir = site_dir / "datasets" / slug / VERSION
    files = []
    for fmt in FORMATS:
        path = version_dir / f"{slug}.{fmt}"
        files.append(
            {
                "format": fmt,
                "path": f"datasets/{slug}/{VERSION}/{path.name}",
                "bytes": path.stat().st_size,
                "sha256": _sha256(path),
            }
        )
    descriptor = {
        "profile": "tabular-data-package",
        "name": slug,
        "version": VERSION,
        "licenses": [{"name": "CC-BY-4.0"}],
        "resources": [
            {
                "name": slug,
                "path": f"{slug}.csv",
                "format": "csv",
                "encoding": "utf-8",
                "schema": {"fields": [{"name": c["name"], "type": c["type"]} for c in columns]},
            }
        ],
        "satudata": {
            "title": title,
            "temporal": temporal,
            "kode_referensi": {
                "kode_wilayah": "Kode wilayah administrasi pemerintahan (Kemendagri)"
            },
            "konsep": {"id": f"Konsep {title['id']}", "en": f"Concept of {title['en']}"},
            "definisi": {"id": f"Definisi {title['id']}", "en": f"Definition of {title['en']}"},
        },
    }
    (version_dir / "datapackage.json").write_text(
        json.dumps(descriptor, indent=2), encoding="utf-8"
    )
    release = {
        "slug": slug,
        "version": VERSION,
        "sequence": 1,
        "published_at": GENERATED_AT,
        "rows": rows,
        "temporal": temporal,
        "changelog": {"id": "Rilis pertama", "en": "First release"},
        "files": {f["format"]: f for f in files},
    }
    (version_dir / "release.json").write_text(json.dumps(release, indent=2), encoding="utf-8")
    sums = [
        f"{_sha256(p)}  {p.name}"
        for p in sorted(version_dir.iterdir())
        if p.name != "SHA256SUMS"
    ]
    (version_dir / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    latest = site_dir / "datasets" / slug / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    os.symlink(VERSION, latest, target_is_directory=True)
    return files


def _dataset(slug: str, title: dict[str, str], description: dict[str, str], theme: str,
             keywords: list[str], unit: str, frequency: str, produsen: list[str],
             source: dict[str, str], synthetic: bool, temporal: str | None, rows: int,
             columns: list[dict[str, Any]], files: list[dict[str, Any]], model: str,
             updated: str = GENERATED_AT) -> dict[str, Any]:
    return {
        "slug": slug,
        "model": model,
        "title": title,
        "description": description,
        "theme": theme,
        "keywords": keywords,
        "unit": unit,
        "frequency": frequency,
        "produsen_data": produsen,
        "walidata": "Diskominfo Provinsi Banten",
        "license": "CC-BY-4.0",
        "source": source,
        "synthetic": synthetic,
        "spatial": "Provinsi Banten (36): 8 kabupaten/kota",
        "temporal": temporal,
        "latest_version": VERSION,
        "updated": updated,
        "row_count": rows,
        "columns": columns,
        "versions": [
            {
                "version": VERSION,
                "published_at": updated,
                "rows": rows,
                "changelog": {"id": "Rilis pertama", "en": "First release"},
                "files": files,
            }
        ],
    }


def _geojson() -> dict[str, Any]:
    features = []
    for kode, nama, *_ in POPULATION_2024_S2:
        lat, lng = CENTROIDS[kode]
        d = 0.06
        ring = [[lng - d, lat - d], [lng + d, lat - d], [lng + d, lat + d], [lng - d, lat + d],
                [lng - d, lat - d]]
        features.append(
            {
                "type": "Feature",
                "properties": {"kode_wilayah": kode, "nama": nama, "centroid_lat": lat,
                               "centroid_lng": lng},
                "geometry": {"type": "MultiPolygon", "coordinates": [[ring]]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _feeds() -> list[dict[str, Any]]:
    feeds = []
    for kode, nama, *_ in POPULATION_2024_S2:
        short = nama.lower().replace("kabupaten ", "kab-").replace("kota ", "kota-")
        short = short.replace(" ", "-")
        for dataset, frequency, period in (
            ("penduduk", "R/P6M", PERIOD),
            ("aduan", "R/P1M", "2024-12"),
            ("fasilitas_kesehatan", "R/P1Y", "2026-11-28"),
        ):
            state, last_period, quarantined = "on_time", period, 0
            accepted: str | None = "2026-11-28 11:58:00+00:00"
            if kode == "36.73" and dataset == "aduan":
                state, last_period = "late", "2024-09"
                accepted = "2026-06-01 08:00:00+00:00"
            if kode == "36.72" and dataset == "fasilitas_kesehatan":
                state, last_period, accepted, quarantined = "never", None, None, 1
            feeds.append(
                {
                    "feed_id": f"{short}.{dataset}",
                    "regency": kode,
                    "nama_wilayah": nama,
                    "dataset": dataset,
                    "channel": "landing",
                    "frequency": frequency,
                    "last_received_at": "2026-11-28 11:58:00+00:00",
                    "last_accepted_at": accepted,
                    "last_accepted_period": last_period,
                    "timeliness": state,
                    "last_status": "quarantined" if quarantined else "accepted",
                    "quarantined_files": quarantined,
                    "last_quality": {"passed": 15, "failed": 0, "warnings": 0},
                }
            )
    return feeds


QUARANTINE_REASON = (
    "fasilitas_2026.csv row 4, column lintang: 'tidak ada' is not a number "
    "(contact 0812****7890)"
)


def _write_internal(internal_dir: Path) -> None:
    meta = internal_dir / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    docs = {
        "feeds": {"generated_at": GENERATED_AT, "feeds": _feeds()},
        "submissions": {
            "generated_at": GENERATED_AT,
            "submissions": [
                {
                    "received_at": "2026-11-28 11:58:00+00:00",
                    "feed_id": "kota-cilegon.fasilitas_kesehatan",
                    "regency": "36.72",
                    "nama_wilayah": "Kota Cilegon",
                    "dataset": "fasilitas_kesehatan",
                    "file_name": "fasilitas_2026.csv",
                    "sha256": "ab" * 32,
                    "bytes": 1234,
                    "rows": None,
                    "status": "quarantined",
                    "reason": QUARANTINE_REASON,
                },
                {
                    "received_at": "2026-11-28 11:57:00+00:00",
                    "feed_id": "kab-pandeglang.penduduk",
                    "regency": "36.01",
                    "nama_wilayah": "Kabupaten Pandeglang",
                    "dataset": "penduduk",
                    "file_name": "penduduk_2024s2.csv",
                    "sha256": "cd" * 32,
                    "bytes": 2345,
                    "rows": 1,
                    "status": "accepted",
                    "reason": None,
                },
            ],
        },
        "quality": {
            "generated_at": GENERATED_AT,
            "datasets": {
                "penduduk": {
                    "score": 99.2,
                    "expectations_evaluated": 120,
                    "failures": [
                        {
                            "regency": "36.72",
                            "feed_id": "kota-cilegon.penduduk",
                            "file_name": "penduduk_2024s2.xlsx",
                            "status": "accepted",
                            "expectation": "expect_column_values_to_not_be_null",
                            "column": "nama_wilayah",
                            "severity": "warning",
                            "unexpected_count": 1,
                            "message": "column 'nama_wilayah': values must not be empty",
                        }
                    ],
                },
                "aduan": {"score": 100.0, "expectations_evaluated": 96, "failures": []},
                "fasilitas_kesehatan": {
                    "score": 87.5, "expectations_evaluated": 64, "failures": []
                },
            },
        },
        "runs": {
            "generated_at": GENERATED_AT,
            "runs": [
                {
                    "run_id": "run-2",
                    "started_at": "2026-11-28 11:57:00+00:00",
                    "finished_at": "2026-11-28 11:58:25+00:00",
                    "status": "completed",
                    "duration_s": 85.0,
                    "files_accepted": 23,
                    "files_quarantined": 1,
                    "rows_accepted": 1234,
                    "published": [{"slug": SLUG, "status": "published", "version": VERSION,
                                   "message": "First release"}],
                    "errors": [],
                },
                {
                    "run_id": "run-1",
                    "started_at": "2026-11-27 10:00:00+00:00",
                    "finished_at": "2026-11-27 10:00:42+00:00",
                    "status": "failed",
                    "duration_s": 42.5,
                    "files_accepted": 0,
                    "files_quarantined": 0,
                    "rows_accepted": 0,
                    "published": [],
                    "errors": ["dbt build failed"],
                },
            ],
        },
    }
    for name, doc in docs.items():
        (meta / f"{name}.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")


# (regency, dataset) -> {(expectation, column): unexpected rows}: the rules that failed
# on that feed's latest submission in the public summary.
SUMMARY_FAILURES = {
    ("36.72", "penduduk"): {("expect_column_values_to_not_be_null", "nama_wilayah"): 1},
    ("36.72", "fasilitas_kesehatan"): {("expect_column_values_to_be_between", "lintang"): 3},
}
# The failing examples the summary publishes for them (flows.common.pii.public_examples).
SUMMARY_EXAMPLES = {"nama_wilayah": [None], "lintang": [-8.25, 61.0]}


def quality_summary() -> dict[str, Any]:
    """`site/quality/summary.json` as flows/status.py writes it, for the fixture's feeds
    and the real suites (expectations/*.yml): rule, pass/fail and counts only."""
    from flows.status import SUMMARY_FORMAT, suite_rules

    datasets: dict[str, Any] = {}
    for dataset in ("penduduk", "aduan", "fasilitas_kesehatan"):
        rules = suite_rules(dataset)
        regencies, passed, evaluated = [], 0, 0
        for feed in (f for f in _feeds() if f["dataset"] == dataset):
            failing = SUMMARY_FAILURES.get((feed["regency"], dataset), {})
            results = []
            for rule in rules:
                column = rule["column"] or (", ".join(rule["columns"]) if rule["columns"]
                                            else None)
                count = failing.get((rule["expectation"], column))
                results.append({
                    "rule": rule["index"], "expectation": rule["expectation"],
                    "column": column, "severity": rule["severity"], "success": count is None,
                    "unexpected_count": count if count is not None
                    else (None if rule["expectation"].startswith("expect_table") else 0),
                    "examples": [] if count is None else SUMMARY_EXAMPLES.get(column, []),
                })
            passed += sum(r["success"] for r in results)
            evaluated += len(results)
            regencies.append({
                "regency": feed["regency"], "nama_wilayah": feed["nama_wilayah"],
                "feed_id": feed["feed_id"], "channel": feed["channel"],
                "last_accepted_period": feed["last_accepted_period"],
                "passed": sum(r["success"] for r in results),
                "failed": sum(not r["success"] and r["severity"] == "critical"
                              for r in results),
                "warnings": sum(not r["success"] and r["severity"] == "warning"
                                for r in results),
                "results": results,
            })
        datasets[dataset] = {
            "suite": dataset, "score": round(100 * passed / evaluated, 1),
            "expectations_evaluated": evaluated, "rules": rules, "regencies": regencies,
        }
    return {"format": SUMMARY_FORMAT, "generated_at": GENERATED_AT, "datasets": datasets}


def _data_json(datasets: list[dict[str, Any]]) -> dict[str, Any]:
    base = "http://localhost:8501/app/static"
    return {
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "@id": f"{base}/data.json",
        "@type": "dcat:Catalog",
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "dataset": [
            {
                "@type": "dcat:Dataset",
                "identifier": f"satudata-banten:{ds['slug']}",
                "title": ds["title"]["id"],
                "description": ds["description"]["id"],
                "keyword": ds["keywords"],
                "modified": ds["updated"],
                "publisher": {"@type": "org:Organization", "name": ds["walidata"]},
                "accessLevel": "public",
                "license": "https://creativecommons.org/licenses/by/4.0/",
                "distribution": [
                    {
                        "@type": "dcat:Distribution",
                        "downloadURL": f"{base}/datasets/{ds['slug']}/latest/{ds['slug']}.csv",
                        "mediaType": "text/csv",
                    }
                ],
            }
            for ds in datasets
            if ds.get("latest_version")
        ],
    }


def write_site(site_dir: Path, *, with_unpublished: bool = False,
               internal_dir: Path | None = None) -> dict:
    """Write the site folder and the internal tree beside it (``internal_dir``, default
    ``site_dir/../internal``); return the catalog dict written to catalog.json."""
    site_dir = Path(site_dir)
    internal_dir = Path(internal_dir) if internal_dir is not None else (
        site_dir.parent / "internal")
    for slug in (SLUG, COMPLAINTS_SLUG, FACILITIES_SLUG):
        (site_dir / "datasets" / slug / VERSION).mkdir(parents=True, exist_ok=True)

    _write_table(
        site_dir / "datasets" / SLUG / VERSION, SLUG,
        "kode_wilayah VARCHAR, nama_wilayah VARCHAR, periode VARCHAR, laki_laki BIGINT,"
        " perempuan BIGINT, jumlah_penduduk BIGINT",
        [(kode, nama, PERIOD, lk, pr, total) for kode, nama, lk, pr, total in POPULATION_2024_S2],
        "kode_wilayah",
    )
    complaints = complaint_rows()
    _write_table(
        site_dir / "datasets" / COMPLAINTS_SLUG / VERSION, COMPLAINTS_SLUG,
        "kode_wilayah VARCHAR, nama_wilayah VARCHAR, bulan VARCHAR, kategori VARCHAR,"
        " jumlah_diterima BIGINT, jumlah_selesai BIGINT, persen_selesai_tepat_waktu DOUBLE,"
        " aduan_per_10000_penduduk DOUBLE",
        complaints,
        "kode_wilayah, bulan, kategori",
    )
    facilities = facility_rows()
    _write_table(
        site_dir / "datasets" / FACILITIES_SLUG / VERSION, FACILITIES_SLUG,
        "kode_fasilitas VARCHAR, nama_fasilitas VARCHAR, jenis_fasilitas VARCHAR,"
        " kode_wilayah VARCHAR, nama_wilayah VARCHAR, lintang DOUBLE, bujur DOUBLE",
        facilities,
        "kode_fasilitas",
    )

    population_title = {
        "id": "Jumlah Penduduk per Kabupaten/Kota",
        "en": "Population by Regency/City",
    }
    complaints_title = {
        "id": "Aduan Masyarakat per Bulan (data sintetis)",
        "en": "Citizen Complaints per Month (synthetic data)",
    }
    facilities_title = {
        "id": "Fasilitas Kesehatan (data sintetis)",
        "en": "Health Facilities (synthetic data)",
    }
    datasets: list[dict[str, Any]] = [
        _dataset(
            SLUG,
            population_title,
            {
                "id": "Jumlah penduduk laki-laki, perempuan dan total di 8 kabupaten/kota "
                "Provinsi Banten menurut data kependudukan Dukcapil.",
                "en": "Male, female and total population of the 8 regencies/cities of "
                "Banten province from Dukcapil population records.",
            },
            "kependudukan",
            ["penduduk", "kependudukan", "population"],
            "jiwa",
            "R/P6M",
            ["Disdukcapil kabupaten/kota se-Banten", "BPS"],
            {
                "id": "DKB Dukcapil semester II 2024",
                "en": "Dukcapil consolidated population data, 2nd semester 2024",
            },
            False,
            PERIOD,
            len(POPULATION_2024_S2),
            COLUMNS,
            _release(site_dir, SLUG, COLUMNS, len(POPULATION_2024_S2), population_title,
                     PERIOD),
            "penduduk_kabupaten_kota",
        ),
        _dataset(
            COMPLAINTS_SLUG,
            complaints_title,
            {
                "id": "Aduan masyarakat yang diterima kanal pengaduan setiap bulan, menurut "
                "kategori. DATA SINTETIS.",
                "en": "Citizen complaints received by the complaint channels each month, by "
                "category. SYNTHETIC DATA.",
            },
            "pelayanan-publik",
            ["aduan", "pengaduan", "complaints"],
            "aduan",
            "R/P1M",
            ["Diskominfo kabupaten/kota se-Banten"],
            {"id": "Kanal pengaduan (sintetis)", "en": "Complaint channels (synthetic)"},
            True,
            "2024-01/2024-12",
            len(complaints),
            COMPLAINT_COLUMNS,
            _release(site_dir, COMPLAINTS_SLUG, COMPLAINT_COLUMNS, len(complaints),
                     complaints_title, "2024-01/2024-12"),
            "aduan_bulanan",
            updated="2026-11-27T09:00:00+00:00",
        ),
        _dataset(
            FACILITIES_SLUG,
            facilities_title,
            {
                "id": "Puskesmas dan rumah sakit dengan koordinat. DATA SINTETIS.",
                "en": "Health centres and hospitals with coordinates. SYNTHETIC DATA.",
            },
            "kesehatan",
            ["puskesmas", "rumah sakit", "health facilities"],
            "fasilitas",
            "R/P1Y",
            ["Dinas Kesehatan kabupaten/kota se-Banten"],
            {"id": "Daftar fasilitas (sintetis)", "en": "Facility lists (synthetic)"},
            True,
            None,
            len(facilities),
            FACILITY_COLUMNS,
            _release(site_dir, FACILITIES_SLUG, FACILITY_COLUMNS, len(facilities),
                     facilities_title, None),
            "fasilitas_kesehatan",
            updated="2026-11-26T09:00:00+00:00",
        ),
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

    # catalogue-wide files: bulk zip, data.json, quality summary, boundaries, dbt docs;
    # the officials' status files go to the internal tree
    zip_path = site_dir / "downloads" / "satudata-banten-latest.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for slug in (SLUG, COMPLAINTS_SLUG, FACILITIES_SLUG):
            for path in sorted((site_dir / "datasets" / slug / VERSION).iterdir()):
                bundle.write(path, f"{slug}/{path.name}")
    (site_dir / "data.json").write_text(
        json.dumps(_data_json(datasets), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    _write_internal(internal_dir)
    summary = site_dir / "quality" / "summary.json"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.write_text(json.dumps(quality_summary(), indent=2), encoding="utf-8")
    reference = site_dir / "reference"
    reference.mkdir(parents=True, exist_ok=True)
    (reference / "batas_kabupaten_kota.geojson").write_text(json.dumps(_geojson()),
                                                            encoding="utf-8")
    docs = site_dir / "dbt-docs"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "index.html").write_text("<!doctype html><title>dbt docs</title>",
                                     encoding="utf-8")

    catalog = {
        "generated_at": GENERATED_AT,
        "datasets": datasets,
        "downloads": {
            "data_json": "data.json",
            "bulk_zip": {
                "path": "downloads/satudata-banten-latest.zip",
                "bytes": zip_path.stat().st_size,
            },
        },
    }
    tmp = site_dir / "catalog.json.tmp"
    tmp.write_text(json.dumps(catalog, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, site_dir / "catalog.json")
    return catalog
