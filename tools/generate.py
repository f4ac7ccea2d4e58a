"""SYNTHETIC regency submissions for two datasets: `aduan` and `fasilitas_kesehatan`.

Everything this module writes is synthetic (made-up tickets, people and facilities laid on
the real Banten region codes, names and boundaries of data/reference). It exists to load-
test the pipeline at any size and to test that personal data is dropped. It is not data
about real people or real facilities.

`aduan` -- citizen complaints, one row per ticket, as exported by each city's call centre
or complaint app, one file per regency per month (`aduan_2024_01.csv`, ...), so a new
month is one new file. Every regency has its own shape: file format, delimiter, header
names, timestamp format, region-code style, ticket-number format. Each export carries
the reporter's name, NIK, phone and (in most regencies) e-mail, like the real ones do.

Calibration (real fact): Kota Tangerang (36.71) received 14,012 complaints in 2024, of
which 13,421 selesai, 20 proses and 571 menunggu. With `size=None` Kota Tangerang gets
exactly these counts and every other regency the same number per inhabitant (Dukcapil
2024-S2 population) with the same status shares. With `size=N` the N rows are shared by
population and the status shares are kept. Open tickets (menunggu/proses) concentrate
in the last weeks of the year; closing times follow SP4N-LAPOR! service levels (5 days
for information, 14 days without field inspection, 60 days with one) with a tail beyond,
and never pass the end of the year (the export is taken then).

Formats and size: the XLSX regencies (36.01, 36.72) write Excel only while a regency has
at most XLSX_MAX_ROWS tickets in the year, the CKAN-JSON regencies (36.03, 36.74) only up
to JSON_MAX_ROWS; above that (or with `formats="csv"`) they write CSV with the same
headers (see ADUAN_SHAPES[...].fallback and `registry_fragment`). Big sizes stream: each
regency-month draws its random numbers as numpy arrays, builds the text columns with
Arrow compute in batches of BATCH_ROWS rows and appends them to the file with pyarrow's
CSV writer, so memory depends on the size of a month, not of the run; regency-months
are written by `workers` threads.

`fasilitas_kesehatan` -- puskesmas (one or two per kecamatan), klinik pratama/utama,
rumah sakit umum/khusus, one file per regency, with coordinates drawn inside the
regency's boundary polygon (rejection sampling with our own ray casting). Points are
inside the regency, not necessarily inside the facility's kecamatan: the reference has
no kecamatan boundaries.

Deterministic: each regency-month draws from its own seeded generator, so the same
seed gives byte-identical CSV/JSON files (XLSX files carry a save time in their
metadata; their cell contents are identical), and a file does not depend on which
other months or regencies were written in the same call.

CLI: python -m tools.generate --landing DIR [--aduan-size N] [--seed S]
         [--only aduan|fasilitas_kesehatan] [--formats csv] [--registry-fragment FILE]
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

DATA = Path(__file__).resolve().parent.parent / "data"
REFERENCE = DATA / "reference"

# The note and the XLSX creator below still name flows/generate.py, the generator's old
# place: they are inside the bundled sample files (data/landing), which stay byte-identical
# (same sha256, so an existing home sees no new submissions). Change both when the samples
# are next regenerated on purpose.
SYNTHETIC_NOTE = (
    "DATA SINTETIS - dibuat oleh flows/generate.py untuk pengujian; bukan data sebenarnya "
    "(synthetic test data, not real people or facilities)."
)

# Calibration: Kota Tangerang 2024 (real counts).
CALIBRATION_REGENCY = "36.71"
CALIBRATION_STATUS = {"selesai": 13_421, "proses": 20, "menunggu": 571}
CALIBRATION_TOTAL = sum(CALIBRATION_STATUS.values())  # 14,012
STATUSES = ("selesai", "proses", "menunggu")

XLSX_MAX_ROWS = 50_000  # per regency and year; above it the regency falls back to CSV
JSON_MAX_ROWS = 500_000

ADUAN_COLUMNS = (
    "nomor_tiket", "diterima_pada", "diselesaikan_pada", "kanal", "kategori",
    "kode_kecamatan", "nama_kecamatan", "kode_desa_kelurahan", "nama_desa_kelurahan",
    "status", "nama_pelapor", "nik_pelapor", "telepon_pelapor", "email_pelapor",
)
PERSONAL_COLUMNS = ("nama_pelapor", "nik_pelapor", "telepon_pelapor", "email_pelapor")
FASKES_COLUMNS = (
    "kode_fasilitas", "nama_fasilitas", "jenis_fasilitas", "kode_kecamatan",
    "nama_kecamatan", "alamat", "lintang", "bujur",
)

CHANNELS = ("aplikasi", "whatsapp", "telepon 112", "media sosial", "SP4N-LAPOR!",
            "datang langsung")
CHANNEL_P = {
    "kota": (0.40, 0.20, 0.10, 0.13, 0.11, 0.06),
    "kabupaten": (0.17, 0.33, 0.10, 0.12, 0.10, 0.18),
}
EMAIL_P = np.array([0.55, 0.05, 0.01, 0.25, 0.70, 0.08])  # per channel

CATEGORIES = (
    "jalan rusak", "lampu PJU padam", "pohon tumbang", "sampah",
    "saluran/gorong-gorong mampet", "banjir", "kebakaran", "kependudukan", "perizinan",
    "ketenagakerjaan", "kesehatan", "pendidikan", "layanan darurat", "lainnya",
)
CATEGORY_BASE = np.array(
    [0.14, 0.08, 0.035, 0.12, 0.07, 0.045, 0.015, 0.13, 0.06, 0.05, 0.06, 0.07, 0.025, 0.10]
)
EMERGENCY = np.array([c in ("kebakaran", "layanan darurat") for c in CATEGORIES])
# Rainy season (Nov-Mar) brings floods, fallen trees and blocked drains; school admission
# (PPDB, Jun-Jul) brings education complaints; fires peak in the dry season.
_RAIN = np.array([1.8, 1.7, 1.3, 1.0, 0.7, 0.5, 0.4, 0.4, 0.5, 0.8, 1.2, 1.6])
_PPDB = np.array([0.8, 0.8, 0.9, 0.9, 1.2, 2.3, 1.9, 1.0, 0.9, 0.8, 0.8, 0.8])
_SEASON = {
    "jalan rusak": _RAIN ** 0.5, "pohon tumbang": _RAIN, "saluran/gorong-gorong mampet": _RAIN,
    "banjir": _RAIN ** 1.6, "kebakaran": 2.2 - _RAIN, "pendidikan": _PPDB,
}

# Closing time, hours: lognormal(median, sigma) per SP4N-LAPOR! service class.
#   emergency    minutes to hours
#   information  5 days      (kependudukan, perizinan)         ~95 % in time
#   complaint    14 days     (no field inspection)              ~94 % in time
#   field        60 days     (field inspection)                 ~99 % in time, 83 % < 14 d
_CLASS_OF = {
    "kebakaran": 0, "layanan darurat": 0, "pohon tumbang": 0,
    "kependudukan": 1, "perizinan": 1,
    "ketenagakerjaan": 2, "kesehatan": 2, "pendidikan": 2, "lainnya": 2,
}
_CLASS_MEDIAN_H = np.array([3.0, 20.0, 72.0, 120.0])
_CLASS_SIGMA = np.array([1.0, 1.1, 1.0, 1.1])
CATEGORY_CLASS = np.array([_CLASS_OF.get(c, 3) for c in CATEGORIES])

MONTH_WEIGHT = np.array([1.10, 1.05, 1.03, 0.97, 0.95, 0.93, 0.95, 0.97, 0.98, 1.00, 1.03, 1.05])
WEEKDAY_WEIGHT = np.array([1.15, 1.06, 1.04, 1.04, 0.95, 0.72, 0.62])  # Monday first
HOUR_WEIGHT = np.array([0.4, 0.25, 0.2, 0.2, 0.3, 0.6, 1.2, 2.5, 4.5, 5.5, 5.5, 5.0, 4.2, 4.6,
                        4.8, 4.4, 3.8, 3.2, 3.0, 3.4, 3.5, 2.8, 1.8, 0.9])
OPEN_TAU_DAYS = 9.0      # open tickets: weight exp(-(days before year end) / tau) ...
OPEN_FLOOR = 0.004       # ... plus a floor: a few old tickets stay open all year

MALE = ("Ahmad", "Agus", "Asep", "Budi", "Dedi", "Dadang", "Deden", "Eko", "Fajar", "Hendra",
        "Iwan", "Jajang", "Joko", "Kurniawan", "Lukman", "Muhamad", "Nana", "Rizky", "Rudi",
        "Saepul", "Supriyadi", "Taufik", "Ujang", "Wahyu", "Yusuf", "Andi", "Bayu", "Cecep",
        "Dimas", "Endang", "Firman", "Gilang", "Hasan", "Ilham", "Mulyadi", "Rohmat",
        "Sutisna", "Tatang", "Wawan", "Yayan")
FEMALE = ("Ani", "Ayu", "Dewi", "Eka", "Fitri", "Lina", "Ratna", "Siti", "Sri", "Nur",
          "Euis", "Neneng", "Yanti", "Rina", "Wulan", "Indah", "Putri", "Nurhayati", "Aisyah",
          "Dian", "Lilis", "Mira", "Novi", "Rahmawati", "Tuti", "Yuli", "Anisa", "Desi",
          "Eti", "Imas", "Kartini", "Maya")
SURNAMES = ("Hidayat", "Suryana", "Permana", "Setiawan", "Saputra", "Rahayu", "Kusuma",
            "Gunawan", "Hermawan", "Nugraha", "Wijaya", "Pratama", "Sutrisno", "Maulana",
            "Ramdani", "Hakim", "Firdaus", "Sulaeman", "Rohman", "Fauzi", "Purnama",
            "Susanti", "Lestari", "Handayani", "Wati", "Sopian", "Jaelani", "Syahputra",
            "Mulyana", "Nurdin", "Sunarya", "Irawan", "Kosasih", "Hamdani", "Anwar",
            "Hasanah", "Sari", "Rosita", "Iskandar", "Safitri")
OPERATORS = ("811", "812", "813", "821", "822", "823", "851", "852", "853", "855", "856",
             "857", "858", "877", "878", "817", "818", "819", "859", "895", "896", "897",
             "898", "899", "881", "882", "887", "888")
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "yahoo.co.id", "outlook.com", "ymail.com")
EMAIL_DOMAIN_P = np.array([0.78, 0.09, 0.06, 0.05, 0.02])
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
MONTHS_ID = ("JANUARI", "FEBRUARI", "MARET", "APRIL", "MEI", "JUNI", "JULI", "AGUSTUS",
             "SEPTEMBER", "OKTOBER", "NOVEMBER", "DESEMBER")


# --------------------------------------------------------------------------- reference


@dataclass(eq=False)
class Regency:
    index: int
    code: str            # Kemendagri "36.71"
    bps: str             # "3671"
    name: str            # "Kota Tangerang"
    kind: str            # kabupaten | kota
    population: int
    kec_codes: list[str]
    kec_names: list[str]
    desa_codes: list[str]
    desa_names: list[str]
    desa_kec: np.ndarray        # index into kec_codes
    desa_is_kelurahan: np.ndarray
    polygons: list[list[np.ndarray]]  # polygon -> rings -> (n, 2) [lng, lat]
    centroid: tuple[float, float]     # (lat, lng) from the geojson properties

    @property
    def slug(self) -> str:
        return self.name.lower().replace("kabupaten ", "kab-").replace(" ", "-")

    @property
    def kec_numbers(self) -> np.ndarray:
        return np.array([int(c.rsplit(".", 1)[1]) for c in self.kec_codes], dtype=np.int64)


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def load_regencies() -> dict[str, Regency]:
    """The 8 regencies/cities with their kecamatan, desa/kelurahan, population and boundary."""
    kab = sorted(_read_csv("wilayah_kabupaten_kota.csv"), key=lambda r: r["kode_wilayah"])
    pop = {r["kode_wilayah"]: int(r["jumlah_penduduk"])
           for r in _read_csv("penduduk_dukcapil_2024s2.csv")}
    kecs = sorted(_read_csv("wilayah_kecamatan.csv"), key=lambda r: r["kode_wilayah"])
    desas = sorted(_read_csv("wilayah_desa_kelurahan.csv"), key=lambda r: r["kode_wilayah"])
    geo = json.loads((REFERENCE / "batas_kabupaten_kota.geojson").read_text(encoding="utf-8"))
    shapes = {f["properties"]["kode_wilayah"]: f for f in geo["features"]}
    out: dict[str, Regency] = {}
    for i, r in enumerate(kab):
        code = r["kode_wilayah"]
        k = [x for x in kecs if x["kode_kabupaten_kota"] == code]
        kec_index = {x["kode_wilayah"]: j for j, x in enumerate(k)}
        d = [x for x in desas if x["kode_kabupaten_kota"] == code]
        feature = shapes[code]
        geom = feature["geometry"]
        coords = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        polygons = [[np.asarray(ring, dtype=np.float64)[:, :2] for ring in poly]
                    for poly in coords]
        props = feature["properties"]
        out[code] = Regency(
            index=i, code=code, bps=r["kode_bps"], name=r["nama"], kind=r["jenis"],
            population=pop[code],
            kec_codes=[x["kode_wilayah"] for x in k], kec_names=[x["nama"] for x in k],
            desa_codes=[x["kode_wilayah"] for x in d], desa_names=[x["nama"] for x in d],
            desa_kec=np.array([kec_index[x["kode_kecamatan"]] for x in d], dtype=np.int64),
            desa_is_kelurahan=np.array([x["jenis"] == "kelurahan" for x in d]),
            polygons=polygons,
            centroid=(float(props["centroid_lat"]), float(props["centroid_lng"])),
        )
    return out


# ----------------------------------------------------------------------- point in polygon


def _ring_crossings(lng: np.ndarray, lat: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd ray casting: for each point, whether a ray to +lng crosses `ring` an odd
    number of times. Vectorised over the points, one pass per edge."""
    inside = np.zeros(lng.shape, dtype=bool)
    xs, ys = ring[:, 0], ring[:, 1]
    n = len(ring)
    for i in range(n):
        x1, y1 = xs[i], ys[i]
        x2, y2 = xs[i - 1], ys[i - 1]
        if y1 == y2:
            continue  # a horizontal edge is never crossed by a horizontal ray
        straddles = (y1 > lat) != (y2 > lat)
        x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        inside ^= straddles & (lng < x_cross)
    return inside


def points_in_polygons(lat, lng, polygons: list[list[np.ndarray]]) -> np.ndarray:
    """Whether each (lat, lng) lies inside a (multi)polygon given as polygon -> rings
    [lng, lat]; holes (rings after the first) are excluded by the even-odd rule."""
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    lng = np.atleast_1d(np.asarray(lng, dtype=np.float64))
    result = np.zeros(lat.shape, dtype=bool)
    for rings in polygons:
        lo, hi = rings[0].min(axis=0), rings[0].max(axis=0)
        box = (lng >= lo[0]) & (lng <= hi[0]) & (lat >= lo[1]) & (lat <= hi[1])
        if not box.any():
            continue
        inside = np.zeros(int(box.sum()), dtype=bool)
        for ring in rings:
            inside ^= _ring_crossings(lng[box], lat[box], ring)
        result[np.flatnonzero(box)[inside]] = True
    return result


def point_in_regency(lat: float, lng: float, code: str) -> bool:
    """Whether the point (lat, lng) lies inside the boundary of regency/city `code`."""
    return bool(points_in_polygons([lat], [lng], load_regencies()[code].polygons)[0])


def _random_points(rng: np.random.Generator, reg: Regency, k: int, digits: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """k points inside the regency, uniform over its area, rounded to `digits` decimals
    (the rounded point is the one tested, so what is written is inside)."""
    allpts = np.concatenate([rings[0] for rings in reg.polygons])
    (lng0, lat0), (lng1, lat1) = allpts.min(axis=0), allpts.max(axis=0)
    lats: list[np.ndarray] = []
    lngs: list[np.ndarray] = []
    got = 0
    while got < k:
        m = max(64, 4 * (k - got))
        la = np.round(rng.uniform(lat0, lat1, m), digits)
        ln = np.round(rng.uniform(lng0, lng1, m), digits)
        ok = points_in_polygons(la, ln, reg.polygons)
        lats.append(la[ok])
        lngs.append(ln[ok])
        got += int(ok.sum())
    return np.concatenate(lats)[:k], np.concatenate(lngs)[:k]


# ------------------------------------------------------------------------------ shapes


@dataclass(frozen=True)
class Shape:
    """How one regency delivers one dataset."""

    format: str                      # csv | xlsx | ckan_json
    headers: dict[str, str]          # canonical column -> the regency's header, file order
    delimiter: str = ","
    timestamp_format: str | None = "%Y-%m-%d %H:%M:%S"  # None: Excel datetime cells
    code_style: str = "dotted"       # dotted "36.71.01" | bps_digits "367101"
    row_number: str | None = None    # a leading "No" column (Excel habit)
    sheet: str | None = None
    title_rows: int = 0              # lines above the header (XLSX)
    names: str = "title"             # reporter names: title | upper
    phone: str = "08"                # 08 | 08-dash | +62 | +62-dash | mixed
    ticket: tuple[str, str, str] = ("", "seq", "")  # prefix, seq|perm, suffix
    decimal: str = "."
    coord_digits: int = 6
    line_terminator: str = "\n"
    fallback: Shape | None = None     # the CSV this regency writes instead, for big sizes
    note: str = ""

    @property
    def extension(self) -> str:
        return {"csv": "csv", "xlsx": "xlsx", "ckan_json": "json"}[self.format]


def _h(*names: str, columns: tuple[str, ...] = ADUAN_COLUMNS) -> dict[str, str]:
    """Map canonical columns to headers in order; None skips a column (not exported)."""
    return {c: n for c, n in zip(columns, names, strict=True) if n is not None}


ADUAN_SHAPES: dict[str, Shape] = {
    "36.01": Shape(
        "xlsx", _h("No. Tiket", "Tanggal Masuk", "Tanggal Selesai", "Sumber Aduan", "Kategori",
                   "Kode Kecamatan", "Kecamatan", "Kode Desa/Kelurahan", "Desa/Kelurahan",
                   "Status", "Nama Pelapor", "NIK", "No. HP", "Email"),
        timestamp_format=None, row_number="No", sheet="Rekap Aduan", title_rows=4,
        names="upper", phone="08", ticket=("ADU/PDG/{Y}/", "seq", ""),
        fallback=Shape("csv", {}, delimiter=",", timestamp_format="%Y-%m-%d %H:%M:%S"),
        note="Excel datetime cells: the xlsx reader yields ISO text",
    ),
    "36.02": Shape(
        "csv", _h("ID Aduan", "Tgl Aduan", "Tgl Selesai", "Media", "Kategori Aduan", "Kode Kec",
                  "Nama Kecamatan", "Kode Desa", "Nama Desa", "Status", "Pelapor",
                  "NIK Pelapor", "Telepon", None),
        delimiter=";", timestamp_format="%d-%m-%Y %H.%M", code_style="bps_digits",
        phone="08-dash", ticket=("LBK{yy}{mm}", "seq", ""), line_terminator="\r\n",
        note="Indonesian Excel locale: dd-mm-yyyy, time with a dot; no e-mail column",
    ),
    "36.03": Shape(
        "ckan_json", _h("no_tiket", "tgl_diterima", "tgl_selesai", "kanal", "kategori",
                        "kode_kecamatan", "kecamatan", "kode_kelurahan_desa",
                        "kelurahan_desa", "status", "nama_pelapor", "nik", "no_hp", "email"),
        timestamp_format="%Y-%m-%dT%H:%M:%S", phone="+62", ticket=("TGR-{Y}-", "perm", ""),
        fallback=Shape("csv", {}, delimiter=",", timestamp_format="%Y-%m-%dT%H:%M:%S"),
    ),
    "36.04": Shape(
        "csv", _h("nomor_tiket", "waktu_lapor", "waktu_selesai", "saluran", "kategori",
                  "kode_kecamatan", "nama_kecamatan", "kode_desa", "nama_desa", "status",
                  "nama_pelapor", "nik_pelapor", "no_telepon", "email"),
        delimiter=",", timestamp_format="%Y-%m-%d %H:%M:%S", phone="mixed",
        ticket=("SRG.{Y}.{mm}.", "seq", ""),
    ),
    "36.71": Shape(
        "csv", _h("No Tiket", "Tanggal Laporan", "Tanggal Selesai", "Kanal", "Kategori",
                  "Kode Kecamatan", "Kecamatan", "Kode Kelurahan", "Kelurahan", "Status",
                  "Nama Pelapor", "NIK", "No HP", "Email"),
        delimiter=";", timestamp_format="%d/%m/%Y %H:%M", phone="08",
        ticket=("TNG{Y}", "seq", ""),
    ),
    "36.72": Shape(
        "xlsx", _h("NOMOR ADUAN", "TANGGAL DITERIMA", "TANGGAL SELESAI", "SALURAN", "KATEGORI",
                   "KODE KEC", "KECAMATAN", "KODE KEL", "KELURAHAN", "STATUS", "NAMA",
                   "NIK", "NO. TELP", "E-MAIL"),
        timestamp_format="%d/%m/%Y %H:%M", row_number="NO", sheet="Sheet1", title_rows=3,
        names="upper", phone="08", ticket=("", "seq", "/ADU-CLG/{roman}/{Y}"),
        fallback=Shape("csv", {}, delimiter=";", timestamp_format="%d/%m/%Y %H:%M"),
        note="dates typed as text in Excel",
    ),
    "36.73": Shape(
        "csv", _h("id_laporan", "tanggal_masuk", "tanggal_selesai", "sumber", "kategori",
                  "kode_kec", "kecamatan", "kode_kel", "kelurahan", "status_laporan",
                  "pelapor_nama", "pelapor_nik", "pelapor_hp", "pelapor_email"),
        delimiter=",", timestamp_format="%d/%m/%Y %H:%M:%S", code_style="bps_digits",
        phone="+62-dash", ticket=("{Y}", "perm", ""),
    ),
    "36.74": Shape(
        "ckan_json", _h("ticket_id", "created_at", "resolved_at", "channel", "category",
                        "district_code", "district", "village_code", "village", "status",
                        "reporter_name", "reporter_nik", "reporter_phone", "reporter_email"),
        timestamp_format="%Y-%m-%dT%H:%M:%S", code_style="bps_digits", phone="+62",
        ticket=("TS{yy}-", "perm", ""),
        fallback=Shape("csv", {}, delimiter=",", timestamp_format="%Y-%m-%dT%H:%M:%S"),
    ),
}

_F = FASKES_COLUMNS
FASKES_SHAPES: dict[str, Shape] = {
    "36.01": Shape("csv", _h("Kode Faskes", "Nama Faskes", "Jenis", "Kode Kecamatan",
                             "Kecamatan", "Alamat", "Lintang", "Bujur", columns=_F),
                   delimiter=";", decimal=",", coord_digits=4, line_terminator="\r\n"),
    "36.02": Shape("csv", _h("kode_faskes", "nama_faskes", "jenis_faskes", "kode_kec",
                             "nama_kec", "alamat", "latitude", "longitude", columns=_F),
                   code_style="bps_digits"),
    "36.03": Shape("ckan_json", _h("kode", "nama", "jenis", "kode_kecamatan", "kecamatan",
                                   "alamat", "lat", "lon", columns=_F)),
    "36.04": Shape("xlsx", _h("Kode", "Nama Fasilitas", "Jenis Fasilitas", "Kode Kecamatan",
                              "Kecamatan", "Alamat", "Latitude", "Longitude", columns=_F),
                   row_number="No", sheet="Faskes", title_rows=3),
    "36.71": Shape("csv", _h("KODE", "NAMA FASKES", "TIPE", "KODE KEC", "KECAMATAN", "ALAMAT",
                             "LAT", "LNG", columns=_F),
                   delimiter=";", decimal=","),
    "36.72": Shape("csv", _h("kode_fasyankes", "nama_fasyankes", "jenis", "kode_wilayah_kecamatan",
                             "kecamatan", "alamat", "lintang", "bujur", columns=_F)),
    "36.73": Shape("csv", _h("Kode", "Nama", "Jenis", "Kode Kec", "Nama Kec", "Alamat",
                             "Lintang", "Bujur", columns=_F),
                   delimiter=";", decimal=",", coord_digits=5, code_style="bps_digits"),
    "36.74": Shape("csv", _h("id_faskes", "nama", "kategori", "kode_kecamatan", "kecamatan",
                             "alamat_lengkap", "koordinat_lat", "koordinat_lng", columns=_F)),
}


def _resolved_shape(shape: Shape, rows_in_year: int, formats: str | None) -> Shape:
    """The shape actually written: the regency's own, or its CSV fallback for big sizes."""
    too_big = (shape.format == "xlsx" and rows_in_year > XLSX_MAX_ROWS) or (
        shape.format == "ckan_json" and rows_in_year > JSON_MAX_ROWS)
    if shape.format != "csv" and (formats == "csv" or too_big):
        fb = shape.fallback or Shape("csv", {})
        return replace(shape, format="csv", delimiter=fb.delimiter,
                       timestamp_format=fb.timestamp_format, sheet=None, title_rows=0,
                       fallback=None,
                       note=f"CSV instead of {shape.format} (big size or formats=csv)")
    return shape


def _region_code(code: str, style: str) -> str:
    return code.replace(".", "") if style == "bps_digits" else code


# ------------------------------------------------------------------------------ plan


def _allocate(total: int, weights, caps=None) -> np.ndarray:
    """Split `total` into integers proportional to `weights` (largest remainder, ties to
    the lower index), never above `caps`."""
    w = np.asarray(weights, dtype=np.float64)
    caps_arr = None if caps is None else np.asarray(caps, dtype=np.int64)
    out = np.zeros(len(w), dtype=np.int64)
    free = w > 0
    remaining = int(total)
    while remaining > 0 and free.any():
        share = np.where(free, w, 0.0)
        quota = remaining * share / share.sum()
        base = np.floor(quota).astype(np.int64)
        left = remaining - int(base.sum())
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:left]] += 1
        take = base
        if caps_arr is not None:
            room = caps_arr - out
            over = take > room
            take = np.minimum(take, room)
            free &= ~over
        out += take
        remaining -= int(take.sum())
        if caps_arr is None or not over.any():
            break
    if remaining:
        raise ValueError(f"cannot place {remaining} of {total} within the caps")
    return out


def aduan_rows_per_regency(size: int | None = None) -> dict[str, int]:
    """Tickets per regency for the year: calibrated (size=None) or `size` shared by
    population."""
    regs = load_regencies()
    if size is None:
        ref = regs[CALIBRATION_REGENCY].population
        return {c: int(r.population * CALIBRATION_TOTAL / ref + 0.5) for c, r in regs.items()}
    counts = _allocate(size, [r.population for r in regs.values()])
    return dict(zip(regs, (int(x) for x in counts), strict=True))


@dataclass
class _YearPlan:
    rows: np.ndarray       # per month
    offset: np.ndarray     # tickets before the month (for sequence numbers)
    open_: np.ndarray      # menunggu + proses per month
    proses: np.ndarray
    status: dict[str, int] = field(default_factory=dict)


def _year_plan(total: int, year: int) -> _YearPlan:
    status = _allocate(total, [CALIBRATION_STATUS[s] for s in STATUSES])
    days = np.array([calendar.monthrange(year, m)[1] for m in range(1, 13)])
    rows = _allocate(total, days * MONTH_WEIGHT)
    # mean open-ticket weight over each month's days
    day_end = np.cumsum(days)
    to_end = np.arange(day_end[-1])[::-1] + 0.5
    wday = OPEN_FLOOR + np.exp(-to_end / OPEN_TAU_DAYS)
    mean_w = np.array([wday[e - d:e].mean() for d, e in zip(days, day_end, strict=True)])
    n_open = int(status[1] + status[2])
    open_ = _allocate(n_open, rows * mean_w, caps=rows)
    proses = _allocate(int(status[1]), open_, caps=open_)
    offset = np.concatenate([[0], np.cumsum(rows)[:-1]])
    return _YearPlan(rows, offset, open_, proses,
                     dict(zip(STATUSES, (int(x) for x in status), strict=True)))


# --------------------------------------------------------------------------- generation


def _s(values) -> pa.Array:
    return pa.array(list(values), type=pa.string())


@lru_cache(maxsize=64)
def _const(values: tuple[str, ...], lower: bool = False) -> pa.Array:
    """A cached Arrow dictionary of a tuple of words (names, channels, ...)."""
    arr = _s(values)
    return pc.utf8_lower(arr) if lower else arr


@lru_cache(maxsize=64)
def _regency_arrays(code: str, style: str) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Kecamatan codes and names, desa codes and names of a regency, codes in `style`."""
    reg = load_regencies()[code]
    return (_s(_region_code(c, style) for c in reg.kec_codes), _s(reg.kec_names),
            _s(_region_code(c, style) for c in reg.desa_codes), _s(reg.desa_names))


def _join(*parts, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


@lru_cache(maxsize=64)
def _desa_weights(seed: int, code: str) -> np.ndarray:
    """Complaint intensity per desa/kelurahan, fixed for a regency and seed."""
    reg = load_regencies()[code]
    rng = np.random.default_rng(np.random.SeedSequence([seed, reg.index, 0xD35A]))
    w = rng.gamma(2.0, 1.0, len(reg.desa_codes)) * np.where(reg.desa_is_kelurahan, 1.6, 1.0)
    return w / w.sum()


def _category_p(month: int) -> np.ndarray:
    p = CATEGORY_BASE.copy()
    for name, season in _SEASON.items():
        p[CATEGORIES.index(name)] *= season[month - 1]
    return p / p.sum()


def _phone(nums: dict[str, np.ndarray], sl: slice, style: str) -> pa.Array:
    op = _const(OPERATORS).take(pa.array(nums["phone_op"][sl]))
    sub8 = pc.utf8_lpad(pc.cast(pa.array(nums["phone_sub"][sl]), pa.string()), 8, "0")
    kind = nums["phone_len"][sl]  # 7, 8 or 9 digits after the operator prefix
    extra = pc.cast(pa.array(nums["phone_extra"][sl]), pa.string())
    sub = pc.if_else(pa.array(kind == 0), pc.utf8_slice_codeunits(sub8, 0, 7),
                     pc.if_else(pa.array(kind == 2), _join(sub8, extra), sub8))
    if style == "08":
        return _join("0", op, sub)
    if style == "+62":
        return _join("+62", op, sub)
    head, tail = pc.utf8_slice_codeunits(sub, 0, 4), pc.utf8_slice_codeunits(sub, 4, 9)
    if style == "08-dash":
        return _join("0", op, "-", head, "-", tail)
    intl_dashed = _join("+62 ", op, "-", head, "-", tail)
    if style == "+62-dash":
        return intl_dashed
    return pc.if_else(pa.array(nums["phone_mix"][sl]), _join("0", op, sub), intl_dashed)


def _ticket_ids(shape: Shape, seq: np.ndarray, year: int, month: int, width: int,
                salt: int) -> pa.Array:
    prefix, kind, suffix = shape.ticket
    values = dict(Y=f"{year}", yy=f"{year % 100:02d}", mm=f"{month:02d}",
                  roman=ROMAN[month - 1])
    if kind == "perm":
        # a bijection of 0..10^w-1 (multiplier coprime to 10): unique, random-looking
        width = max(width, 7)
        mod = 10**width
        seq = (seq * 7_654_321 + salt % mod) % mod  # fits int64 up to width 11
    number = pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), width, "0")
    return _join(prefix.format(**values), number, suffix.format(**values))


def _aduan_numbers(reg: Regency, plan: _YearPlan, year: int, month: int, seed: int
                   ) -> dict[str, np.ndarray]:
    """Every random draw of one regency-month, as numpy arrays (one row per ticket, in
    export order). Strings are built from these in slices (`_aduan_batch`), so a file's
    bytes do not depend on the slice size."""
    n = int(plan.rows[month - 1])
    rng = np.random.default_rng(np.random.SeedSequence([seed, year, month, reg.index, 0xAD]))

    # when: weekday and hour-of-day profile, sorted like an export
    ndays = calendar.monthrange(year, month)[1]
    first_dow = dt.date(year, month, 1).weekday()
    day_p = WEEKDAY_WEIGHT[(np.arange(ndays) + first_dow) % 7]
    start = int(dt.datetime(year, month, 1, tzinfo=dt.UTC).timestamp())
    received = np.sort(
        start + rng.choice(ndays, n, p=day_p / day_p.sum()) * 86_400
        + rng.choice(24, n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum()) * 3_600
        + rng.integers(0, 3_600, n)
    )
    year_end = int(dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC).timestamp())

    # where and what
    desa = rng.choice(len(reg.desa_codes), n, p=_desa_weights(seed, reg.code))
    kec = reg.desa_kec[desa]
    cat = rng.choice(len(CATEGORIES), n, p=_category_p(month))
    chan = rng.choice(len(CHANNELS), n, p=CHANNEL_P[reg.kind])
    to_112 = EMERGENCY[cat] & (rng.random(n) < 0.85)
    chan = np.where(to_112, CHANNELS.index("telepon 112"), chan)

    # status: open tickets drawn with weight rising towards the end of the year
    # (Efraimidis-Spirakis weighted sampling without replacement)
    status = np.zeros(n, dtype=np.int64)
    n_open = int(plan.open_[month - 1])
    if n_open:
        w = OPEN_FLOOR + np.exp(-(year_end - received) / 86_400 / OPEN_TAU_DAYS)
        keys = np.log1p(-rng.random(n)) / w
        chosen = np.sort(np.argpartition(-keys, n_open - 1)[:n_open])
        status[chosen] = 2
        status[chosen[rng.permutation(n_open)[: int(plan.proses[month - 1])]]] = 1

    # closing time of the selesai tickets, before the export (end of year)
    done = np.flatnonzero(status == 0)
    limit = (year_end - 1 - received[done]).astype(np.float64)
    mu = np.log(_CLASS_MEDIAN_H[CATEGORY_CLASS[cat[done]]] * 3_600)
    sigma = _CLASS_SIGMA[CATEGORY_CLASS[cat[done]]]
    dur = np.exp(mu + sigma * rng.standard_normal(len(done)))
    for _ in range(30):
        late = np.flatnonzero(dur > limit)
        if not len(late):
            break
        dur[late] = np.exp(mu[late] + sigma[late] * rng.standard_normal(len(late)))
    late = dur > limit
    dur[late] = rng.random(int(late.sum())) * limit[late]
    dur = np.minimum(np.maximum(dur, 60.0), limit)
    closed = np.zeros(n, dtype=np.int64)
    closed[done] = received[done] + dur.astype(np.int64)

    # who: name, NIK (regency BPS code + kecamatan + birth date, +40 for women), phone, e-mail
    female = rng.random(n) < 0.49
    first_i = np.where(female, len(MALE) + rng.integers(0, len(FEMALE), n),
                       rng.integers(0, len(MALE), n))
    home_kec = np.where(rng.random(n) < 0.8, kec, rng.integers(0, len(reg.kec_codes), n))
    birth_year = rng.integers(1950, 2008, n)
    nik = (int(reg.bps) * 10**12 + reg.kec_numbers[home_kec] * 10**10
           + (rng.integers(1, 29, n) + 40 * female) * 10**8 + rng.integers(1, 13, n) * 10**6
           + (birth_year % 100) * 10**4 + rng.integers(1, 10_000, n))
    return {
        "seq": plan.offset[month - 1] + np.arange(1, n + 1),
        "received": received, "closed": closed, "status": status,
        "desa": desa, "kec": kec, "cat": cat, "chan": chan,
        "first": first_i, "last": rng.integers(0, len(SURNAMES), n),
        "single": rng.random(n) < 0.15,
        "nik": nik,
        "no_nik": rng.random(n) < np.where(chan == CHANNELS.index("telepon 112"), 0.5, 0.02),
        "phone_op": rng.integers(0, len(OPERATORS), n),
        "phone_sub": rng.integers(0, 10**8, n),
        "phone_extra": rng.integers(0, 10, n),
        "phone_len": rng.choice(3, n, p=[0.2, 0.7, 0.1]),
        "phone_mix": rng.random(n) < 0.6,
        "has_email": rng.random(n) < EMAIL_P[chan],
        "email_style": rng.integers(0, 3, n),
        "email_number": rng.integers(1, 1000, n),
        "email_domain": rng.choice(len(EMAIL_DOMAINS), n, p=EMAIL_DOMAIN_P),
    }


_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)])
_YEARS = pa.array([str(y) for y in range(1900, 2200)])
_DIRECTIVE = re.compile(r"%[YmdHMS]")


def _format_ts(seconds: np.ndarray, fmt: str | None, mask: np.ndarray | None = None
               ) -> pa.Array:
    """Epoch seconds as text in strptime format `fmt` (directives %Y %m %d %H %M %S),
    built from lookup tables: several times faster than strftime. fmt=None keeps
    timestamp[s] (Excel datetime cells). Masked entries are null."""
    if fmt is None:
        return pa.array(seconds, pa.int64(), mask=mask).cast(pa.timestamp("s"))
    t = seconds.astype("datetime64[s]")
    days = t.astype("datetime64[D]")
    months = t.astype("datetime64[M]")
    secs = (t - days).astype(np.int64)
    fields = {
        "%Y": (_YEARS, t.astype("datetime64[Y]").astype(np.int64) + 70),
        "%m": (_TWO_DIGITS, months.astype(np.int64) % 12 + 1),
        "%d": (_TWO_DIGITS, (days - months.astype("datetime64[D]")).astype(np.int64) + 1),
        "%H": (_TWO_DIGITS, secs // 3600),
        "%M": (_TWO_DIGITS, secs // 60 % 60),
        "%S": (_TWO_DIGITS, secs % 60),
    }
    parts: list = []
    pos = 0
    for match in _DIRECTIVE.finditer(fmt):
        if match.start() > pos:
            parts.append(fmt[pos:match.start()])
        table, index = fields[match.group()]
        parts.append(table.take(pa.array(index, mask=mask)))
        pos = match.end()
    if pos < len(fmt):
        parts.append(fmt[pos:])
    if "%" in "".join(p for p in parts if isinstance(p, str)):
        raise ValueError(f"unsupported directive in timestamp format {fmt!r}")
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, "")


def _aduan_batch(reg: Regency, shape: Shape, nums: dict[str, np.ndarray], sl: slice,
                 year: int, month: int, width: int) -> pa.RecordBatch:
    """Rows `sl` of a regency-month in the regency's own columns and formats."""
    def col(name: str) -> pa.Array:
        return pa.array(nums[name][sl])

    first = _const(MALE + FEMALE).take(col("first"))
    last = _const(SURNAMES).take(col("last"))
    name = pc.if_else(col("single"), first, _join(first, last, sep=" "))
    if shape.names == "upper":
        name = pc.utf8_upper(name)
    # e-mail: built for the rows that have one, then spread out (null elsewhere)
    has = nums["has_email"][sl]
    rows = np.flatnonzero(has)

    def pick(name: str) -> pa.Array:
        return pa.array(nums[name][sl][rows])

    lower_first = _const(MALE + FEMALE, lower=True).take(pick("first"))
    lower_last = _const(SURNAMES, lower=True).take(pick("last"))
    style = nums["email_style"][sl][rows]
    local = pc.if_else(pa.array(style == 0), _join(lower_first, lower_last, sep="."),
                       pc.if_else(pa.array(style == 1),
                                  _join(lower_first, pc.cast(pick("email_number"), pa.string())),
                                  _join(lower_first, lower_last, sep="_")))
    some = _join(local, _const(EMAIL_DOMAINS).take(pick("email_domain")), sep="@")
    spread = np.cumsum(has) - 1
    email = some.take(pa.array(spread, mask=~has))
    status = nums["status"][sl]
    kec_codes, kec_names, desa_codes, desa_names = _regency_arrays(reg.code, shape.code_style)
    columns = {
        "nomor_tiket": _ticket_ids(shape, nums["seq"][sl], year, month, width,
                                   salt=reg.index * 1_000_003),
        "diterima_pada": _format_ts(nums["received"][sl], shape.timestamp_format),
        "diselesaikan_pada": _format_ts(nums["closed"][sl], shape.timestamp_format,
                                        mask=status != 0),
        "kanal": _const(CHANNELS).take(col("chan")),
        "kategori": _const(CATEGORIES).take(col("cat")),
        "kode_kecamatan": kec_codes.take(col("kec")),
        "nama_kecamatan": kec_names.take(col("kec")),
        "kode_desa_kelurahan": desa_codes.take(col("desa")),
        "nama_desa_kelurahan": desa_names.take(col("desa")),
        "status": _const(STATUSES).take(pa.array(status)),
        "nama_pelapor": name,
        "nik_pelapor": pc.cast(pa.array(nums["nik"][sl], mask=nums["no_nik"][sl]), pa.string()),
        "telepon_pelapor": _phone(nums, sl, shape.phone),
        "email_pelapor": email,
    }
    arrays, names = [], []
    if shape.row_number:
        start, stop, _ = sl.indices(len(nums["seq"]))
        arrays.append(pa.array(np.arange(start + 1, stop + 1)))
        names.append(shape.row_number)
    for canonical, header in shape.headers.items():
        arrays.append(columns[canonical])
        names.append(header)
    return pa.RecordBatch.from_arrays(arrays, names=names)


# ------------------------------------------------------------------------------ writers


def _write_ckan_json(table: pa.Table, path: Path, resource_id: str,
                     types: dict[str, str] | None = None) -> None:
    records = table.to_pylist()
    for i, r in enumerate(records, start=1):
        r["_id"] = i
    names = ["_id", *table.column_names]
    records = [{k: r[k] for k in names} for r in records]
    types = types or {}
    fields = [{"id": "_id", "type": "int"}] + [
        {"id": name, "type": types.get(name, "text")} for name in table.column_names]
    body = {
        "help": "https://data.example.go.id/api/3/action/help_show?name=datastore_search",
        "_comment": SYNTHETIC_NOTE,
        "success": True,
        "result": {
            "include_total": True,
            "resource_id": resource_id,
            "fields": fields,
            "records_format": "objects",
            "records": records,
            "_links": {"start": f"/api/3/action/datastore_search?resource_id={resource_id}",
                       "next": None},
            "total": len(records),
        },
    }
    path.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n",
                    encoding="utf-8")


def _write_xlsx(table: pa.Table, path: Path, shape: Shape, title: list[str]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.title = title[0]
    wb.properties.description = SYNTHETIC_NOTE
    wb.properties.creator = "flows/generate.py"   # see SYNTHETIC_NOTE
    wb.properties.created = dt.datetime(2025, 1, 1)
    ws = wb.create_sheet(shape.sheet or "Sheet1")
    for line in title[: shape.title_rows]:
        ws.append([line])
    for _ in range(shape.title_rows - len(title)):
        ws.append([])
    ws.append(table.column_names)
    columns = []
    for col in table.columns:
        if pa.types.is_timestamp(col.type):
            columns.append(col.cast(pa.timestamp("us")).to_pylist())
        else:
            columns.append(col.to_pylist())
    for row in zip(*columns, strict=True):
        ws.append(list(row))
    wb.save(path)


# -------------------------------------------------------------------------------- aduan


def _regency_codes(regencies: list[str] | None) -> list[str]:
    regs = load_regencies()
    codes = list(regs) if regencies is None else list(regencies)
    unknown = [c for c in codes if c not in regs]
    if unknown:
        raise ValueError(f"unknown regency code(s) {unknown}; use {list(regs)}")
    return codes


def aduan_shapes(size: int | None = None, formats: str | None = None) -> dict[str, Shape]:
    """The shape each regency's `aduan` files get at this size (after any CSV fallback)."""
    per = aduan_rows_per_regency(size)
    return {c: _resolved_shape(s, per[c], formats) for c, s in ADUAN_SHAPES.items()}


BATCH_ROWS = 65_536  # rows per Arrow batch streamed to a CSV file


def _write_aduan_month(reg: Regency, shape: Shape, plan: _YearPlan, year: int, month: int,
                       seed: int, width: int, folder: Path) -> tuple[Path, list[int]]:
    nums = _aduan_numbers(reg, plan, year, month, seed)
    n = len(nums["seq"])
    path = folder / f"aduan_{year}_{month:02d}.{shape.extension}"
    if shape.format == "csv":
        # Streamed batch by batch. No value contains a delimiter, quote or line break, so
        # nothing is quoted (pyarrow would raise rather than write a broken file).
        options = pacsv.WriteOptions(delimiter=shape.delimiter, eol=shape.line_terminator,
                                     quoting_style="none", quoting_header="none")
        writer = None
        try:
            for lo in range(0, n, BATCH_ROWS):
                batch = _aduan_batch(reg, shape, nums, slice(lo, lo + BATCH_ROWS), year,
                                     month, width)
                if writer is None:
                    writer = pacsv.CSVWriter(str(path), batch.schema, write_options=options)
                writer.write_batch(batch)
        finally:
            if writer is not None:
                writer.close()
    else:
        table = pa.Table.from_batches(
            [_aduan_batch(reg, shape, nums, slice(0, n), year, month, width)])
        if shape.format == "ckan_json":
            _write_ckan_json(
                table, path, resource_id=f"aduan-{reg.bps}-{year}-{month:02d}",
                types={shape.headers["diterima_pada"]: "timestamp",
                       shape.headers["diselesaikan_pada"]: "timestamp"})
        else:
            title = [f"REKAP PENGADUAN MASYARAKAT {reg.name.upper()}",
                     f"BULAN {MONTHS_ID[month - 1]} {year}", SYNTHETIC_NOTE]
            _write_xlsx(table, path, shape, title)
    counts = np.bincount(nums["status"], minlength=len(STATUSES))
    return path, [int(c) for c in counts]


def write_aduan(landing: Path, *, size: int | None = None, seed: int = 2024, year: int = 2024,
                months: range | None = None, regencies: list[str] | None = None,
                formats: str | None = None, workers: int = 2) -> dict:
    """Write synthetic complaint tickets to `<landing>/<kode>/aduan/aduan_<year>_<mm>.<ext>`.

    size=None is the calibrated default (Kota Tangerang 14,012 tickets in the year); an
    integer spreads exactly that many rows over the 8 regencies by population. `months`
    (default 1..12) and `regencies` (default all) pick the files to write; a file's
    contents do not depend on them, nor on `workers` (threads writing regency-months in
    parallel). formats="csv" forces CSV everywhere (for benchmarks that must stream).
    A year is generated as exported at its end: open tickets cluster in its last weeks
    and closing times stay inside it (`year=2025, months=range(1, 2)` adds January 2025
    as one new file per regency).
    Returns {"rows", "files", "per_regency", "formats", "status"}.
    """
    if formats not in (None, "csv"):
        raise ValueError("formats must be None (each regency's own) or 'csv'")
    if size is not None and size < 0:
        raise ValueError("size must be >= 0")
    months = range(1, 13) if months is None else months
    if any(not 1 <= m <= 12 for m in months):
        raise ValueError("months must lie in 1..12")
    regs = load_regencies()
    per_year = aduan_rows_per_regency(size)
    shapes = aduan_shapes(size, formats)
    codes = _regency_codes(regencies)
    tasks = []
    for code in codes:
        plan = _year_plan(per_year[code], year)
        folder = Path(landing) / code / "aduan"
        folder.mkdir(parents=True, exist_ok=True)
        width = max(6, len(str(per_year[code])))
        tasks += [(code, plan, month, width, folder) for month in months
                  if plan.rows[month - 1] > 0]

    def run(task):
        code, plan, month, width, folder = task
        path, counts = _write_aduan_month(regs[code], shapes[code], plan, year, month, seed,
                                          width, folder)
        return code, path, int(plan.rows[month - 1]), counts

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(run, tasks))
    files: list[Path] = []
    per_regency = dict.fromkeys(codes, 0)
    status_counts = {c: dict.fromkeys(STATUSES, 0) for c in codes}
    for code, path, n, counts in results:
        files.append(path)
        per_regency[code] += n
        for s, k in zip(STATUSES, counts, strict=True):
            status_counts[code][s] += k
    return {
        "rows": sum(per_regency.values()),
        "files": files,
        "per_regency": per_regency,
        "formats": {c: shapes[c].format for c in codes},
        "status": status_counts,
    }


# ---------------------------------------------------------------------- fasilitas kesehatan

_CLINIC_WORDS = ("Sehat", "Medika", "Husada", "Sentosa", "Keluarga", "Bunda", "Permata",
                 "Mitra", "Citra", "Bakti", "Annisa", "Al-Ikhlas", "Prima", "Utama", "Sejahtera",
                 "Harapan", "Kasih", "Insani", "Amanah", "Nusantara")
_STREETS = ("Raya {desa}", "KH. Hasyim Ashari", "Jenderal Sudirman", "Ahmad Yani",
            "Diponegoro", "Sultan Ageng Tirtayasa", "Syekh Nawawi Al-Bantani", "Veteran",
            "Pahlawan", "Merdeka", "Kihajar Dewantara", "Masjid {desa}", "Pasar {desa}",
            "Raya Serang", "Mayor Syafei", "Siliwangi")
_SPECIAL = ("RSIA", "RS Khusus Mata", "RS Khusus Bedah", "RS Khusus Jiwa",
            "RS Khusus Gigi dan Mulut")


def _facility_rows(reg: Regency, seed: int, coord_digits: int) -> list[dict]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, reg.index, 0xFA5]))
    city = reg.kind == "kota"
    rows: list[dict] = []
    used: set[str] = set()

    def unique(name: str, kec_name: str) -> str:
        candidate = name if name not in used else f"{name} {kec_name}"
        i = 2
        while candidate in used:
            candidate = f"{name} {i}"
            i += 1
        used.add(candidate)
        return candidate

    def address(kec_i: int) -> tuple[str, str]:
        desas = np.flatnonzero(reg.desa_kec == kec_i)
        d = int(desas[rng.integers(0, len(desas))])
        street = _STREETS[rng.integers(0, len(_STREETS))].format(desa=reg.desa_names[d])
        prefix = "Kel." if reg.desa_is_kelurahan[d] else "Desa"
        return (f"Jl. {street} No. {rng.integers(1, 250)}, {prefix} {reg.desa_names[d]}, "
                f"Kec. {reg.kec_names[kec_i]}", reg.desa_names[d])

    def add(code: str, name: str, kind: str, kec_i: int, addr: str) -> None:
        rows.append({"kode_fasilitas": code, "nama_fasilitas": name, "jenis_fasilitas": kind,
                     "kode_kecamatan": reg.kec_codes[kec_i],
                     "nama_kecamatan": reg.kec_names[kec_i], "alamat": addr})

    kk = reg.kec_numbers
    used.update(f"Puskesmas {name}" for name in reg.kec_names)  # each kecamatan's own
    for k, kec_name in enumerate(reg.kec_names):
        count = 1 + int(rng.random() < (0.6 if city else 0.35))
        for i in range(count):
            addr, desa_name = address(k)
            name = f"Puskesmas {kec_name}" if i == 0 else unique(f"Puskesmas {desa_name}",
                                                                  kec_name)
            add(f"P{reg.bps}{kk[k]:02d}01{i + 1:02d}", name, "puskesmas", k, addr)
    for k, kec_name in enumerate(reg.kec_names):
        n_pratama = int(rng.poisson(4.0 if city else 1.5))
        n_utama = int(rng.poisson(0.5 if city else 0.12))
        for j in range(n_pratama + n_utama):
            kind = "klinik pratama" if j < n_pratama else "klinik utama"
            w1, w2 = rng.choice(len(_CLINIC_WORDS), 2, replace=False)
            label = "Klinik Pratama" if j < n_pratama else "Klinik Utama"
            name = unique(f"{label} {_CLINIC_WORDS[w1]} {_CLINIC_WORDS[w2]}", kec_name)
            add(f"K{reg.bps}{kk[k]:02d}{j + 1:03d}", name, kind, k, address(k)[0])
    urban = np.bincount(reg.desa_kec, weights=np.where(reg.desa_is_kelurahan, 3.0, 1.0),
                        minlength=len(reg.kec_codes))
    urban_p = urban / urban.sum()
    n_umum = max(2, round(reg.population / (150_000 if city else 300_000)))
    n_khusus = max(1, round(n_umum * 0.3))
    for s in range(n_umum + n_khusus):
        k = int(rng.choice(len(reg.kec_codes), p=urban_p))
        kec_name = reg.kec_names[k]
        if s == 0:
            name, kind = f"RSUD {reg.name}", "rumah sakit umum"
        elif s == 1 and not city:
            name, kind = f"RSUD {kec_name}", "rumah sakit umum"
        elif s < n_umum:
            w1, w2 = rng.choice(len(_CLINIC_WORDS), 2, replace=False)
            name, kind = f"RS {_CLINIC_WORDS[w1]} {_CLINIC_WORDS[w2]}", "rumah sakit umum"
        else:
            w1 = rng.integers(0, len(_CLINIC_WORDS))
            name = f"{_SPECIAL[rng.integers(0, len(_SPECIAL))]} {_CLINIC_WORDS[w1]}"
            kind = "rumah sakit khusus"
        add(f"{reg.bps}{s + 1:03d}", unique(name, kec_name), kind, k, address(k)[0])
    lat, lng = _random_points(rng, reg, len(rows), coord_digits)
    for r, la, ln in zip(rows, lat, lng, strict=True):
        r["lintang"], r["bujur"] = float(la), float(ln)
    return rows


def write_fasilitas_kesehatan(landing: Path, *, seed: int = 2024,
                              regencies: list[str] | None = None) -> dict:
    """Write one synthetic health-facility list per regency to
    `<landing>/<kode>/fasilitas_kesehatan/fasilitas_kesehatan.<ext>`.
    Returns {"rows", "files", "per_regency", "formats"}."""
    regs = load_regencies()
    files: list[Path] = []
    per_regency: dict[str, int] = {}
    for code in _regency_codes(regencies):
        reg, shape = regs[code], FASKES_SHAPES[code]
        rows = _facility_rows(reg, seed, shape.coord_digits)
        folder = Path(landing) / code / "fasilitas_kesehatan"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"fasilitas_kesehatan.{shape.extension}"
        for r in rows:
            r["kode_kecamatan"] = _region_code(r["kode_kecamatan"], shape.code_style)
        if shape.format == "csv":
            fmt = f"{{:.{shape.coord_digits}f}}"
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, delimiter=shape.delimiter, lineterminator=shape.line_terminator)
                w.writerow(shape.headers.values())
                for r in rows:
                    values = []
                    for c in shape.headers:
                        v = r[c]
                        if c in ("lintang", "bujur"):
                            v = fmt.format(v).replace(".", shape.decimal)
                        values.append(v)
                    w.writerow(values)
        else:
            table = pa.table({h: pa.array([r[c] for r in rows])
                              for c, h in shape.headers.items()})
            if shape.format == "ckan_json":
                _write_ckan_json(table, path, resource_id=f"faskes-{reg.bps}",
                                 types={shape.headers["lintang"]: "numeric",
                                        shape.headers["bujur"]: "numeric"})
            else:
                if shape.row_number:
                    table = table.add_column(0, shape.row_number,
                                             pa.array(np.arange(1, len(rows) + 1)))
                _write_xlsx(table, path, shape, [
                    f"DAFTAR FASILITAS PELAYANAN KESEHATAN {reg.name.upper()}",
                    SYNTHETIC_NOTE,
                ])
        files.append(path)
        per_regency[code] = len(rows)
    return {"rows": sum(per_regency.values()), "files": files, "per_regency": per_regency,
            "formats": {c: FASKES_SHAPES[c].format for c in per_regency}}


# ---------------------------------------------------------------------- registry fragment


def _yq(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


ADUAN_TYPES = {"diterima_pada": "timestamp", "diselesaikan_pada": "timestamp",
               "kode_kecamatan": "region_code", "kode_desa_kelurahan": "region_code"}
ADUAN_REQUIRED = ("nomor_tiket", "diterima_pada", "status")
FASKES_TYPES = {"kode_kecamatan": "region_code", "lintang": "number", "bujur": "number"}
FASKES_REQUIRED = ("kode_fasilitas", "nama_fasilitas")


def _dataset_yaml(name: str, description: str, key: str, columns: tuple[str, ...],
                  types: dict[str, str], required: tuple[str, ...], *, frequency: str,
                  schedule: str, replace_by: str) -> list[str]:
    lines = [f"  {name}:", f"    description: {_yq(description)}",
             f"    frequency: {frequency}", f'    schedule: "{schedule}"', f"    key: [{key}]",
             f"    replace_by: {replace_by}", "    columns:"]
    for c in columns:
        attrs = [f"type: {types.get(c, 'text')}"]
        if c in required:
            attrs.append("required: true")
        if c in PERSONAL_COLUMNS:
            attrs.append("personal_data: true")
        lines.append(f"      {c}: {{{', '.join(attrs)}}}")
    return lines


def _feed_yaml(reg: Regency, dataset: str, shape: Shape) -> list[str]:
    opts = []
    if shape.format == "csv":
        opts += [f"delimiter: {_yq(shape.delimiter)}", "encoding: utf-8"]
        if shape.decimal != ".":
            opts.append(f"decimal: {_yq(shape.decimal)}")
    if shape.format == "xlsx":
        opts.append(f"sheet: {_yq(shape.sheet or 'Sheet1')}")
    if dataset == "aduan":
        fmt = shape.timestamp_format or "%Y-%m-%dT%H:%M:%S"
        opts.append(f"timestamp_format: {_yq(fmt)}")
    notes = [shape.note] if shape.note else []
    if shape.code_style == "bps_digits":
        example = reg.kec_codes[0]
        notes.append(f"codes without dots: {_region_code(example, 'bps_digits')} = {example}")
    lines = [
        f"  - id: {reg.slug}.{dataset}",
        *(f"    # {note}" for note in notes),
        f"    regency: {_yq(reg.code)}",
        f"    dataset: {dataset}",
        "    channel: landing",
        f"    path: landing/{reg.code}/{dataset}/*.{shape.extension}",
        f"    format: {shape.format}",
    ]
    if opts:
        lines.append(f"    options: {{{', '.join(opts)}}}")
    lines += [f"    region_code: {shape.code_style}", "    columns:"]
    lines += [f"      {_yq(h)}: {c}" for c, h in shape.headers.items()]
    ignore = ([shape.row_number] if shape.row_number else []) + (
        ["_id"] if shape.format == "ckan_json" else [])
    if ignore:
        lines.append(f"    ignore_columns: [{', '.join(_yq(i) for i in ignore)}]")
    return lines


def registry_fragment(size: int | None = None, formats: str | None = None) -> str:
    """The feed-registry entries (YAML text) for the files `write_aduan(size=size,
    formats=formats)` and `write_fasilitas_kesehatan()` write."""
    regs = load_regencies()
    shapes = aduan_shapes(size, formats)
    lines = [
        "# Feed registry fragment for the SYNTHETIC datasets written by tools/generate.py",
        "# (aduan, fasilitas_kesehatan). Generated by:",
        "#   python -m tools.generate --registry-fragment data/feeds_synthetic.yml"
        + (f" --aduan-size {size}" if size is not None else "")
        + (f" --formats {formats}" if formats else ""),
        "# Do not edit by hand: tests/test_generate.py checks this file against the generator.",
        "#",
        "# New column type used here: timestamp (feed option timestamp_format, strptime /",
        "# DuckDB syntax). XLSX feeds with real Excel datetime cells are read by the xlsx",
        "# reader as ISO text, hence %Y-%m-%dT%H:%M:%S there.",
        "# region_code applies to kecamatan and desa/kelurahan codes too:",
        '#   dotted      "36.71.01" / "36.71.01.1001"  (Kemendagri)',
        '#   bps_digits  "367101"   / "3671011001"     (the same Kemendagri code without dots;',
        "#               NOT the BPS kecamatan numbering, which needs a crosswalk we lack)",
        "# personal_data: true marks columns the pipeline must drop before publishing.",
        "# Values (kanal, kategori, status, jenis_fasilitas) are lower-case canonical words",
        "# in every feed. Empty closing time = ticket not selesai.",
    ]
    if size is None and formats is None:
        lines.append("# For big sizes (or --formats csv) the xlsx/ckan_json regencies write CSV;")
        lines.append("# regenerate this fragment with the same --aduan-size/--formats then.")
    lines += ["", "datasets:"]
    lines += _dataset_yaml(
        "aduan", "SYNTHETIC citizen complaints, one row per ticket (call centre / app "
        "export).", "nomor_tiket", ADUAN_COLUMNS, ADUAN_TYPES, ADUAN_REQUIRED,
        frequency="R/P1M",   # a file per month; a re-sent month replaces that month
        schedule="0 6 * * *",   # complaints arrive any day: checked every morning
        replace_by="[\"strftime(diterima_pada, '%Y-%m')\"]")
    lines += _dataset_yaml(
        "fasilitas_kesehatan", "SYNTHETIC health facilities (puskesmas, klinik, rumah "
        "sakit) with coordinates.", "kode_fasilitas", FASKES_COLUMNS, FASKES_TYPES,
        FASKES_REQUIRED, frequency="R/P1Y", schedule="0 8 1 * *",
        replace_by="[]")   # each file: the full list
    lines += ["", "feeds:"]
    for code, reg in regs.items():
        lines += _feed_yaml(reg, "aduan", shapes[code])
        lines.append("")
        lines += _feed_yaml(reg, "fasilitas_kesehatan", FASKES_SHAPES[code])
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------- CLI


def _bytes(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate",
        description="Write SYNTHETIC regency submissions (aduan, fasilitas_kesehatan).")
    parser.add_argument("--landing", type=Path, help="landing folder to write into")
    parser.add_argument("--aduan-size", type=int, default=None,
                        help="total tickets over all regencies (default: calibrated, "
                             "Kota Tangerang 14,012)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--only", choices=["aduan", "fasilitas_kesehatan"])
    parser.add_argument("--formats", choices=["csv"], default=None,
                        help="write every regency as CSV (benchmarks)")
    parser.add_argument("--workers", type=int, default=2,
                        help="threads writing regency-months in parallel (default 2)")
    parser.add_argument("--registry-fragment", type=Path, default=None,
                        help="also write the matching feed-registry fragment (YAML) here")
    args = parser.parse_args(argv)
    if args.landing is None and args.registry_fragment is None:
        parser.error("give --landing and/or --registry-fragment")
    if args.registry_fragment is not None:
        args.registry_fragment.write_text(registry_fragment(args.aduan_size, args.formats),
                                          encoding="utf-8")
        print(f"registry fragment: {args.registry_fragment}")
    if args.landing is None:
        return 0
    if args.only in (None, "aduan"):
        t0 = time.perf_counter()
        res = write_aduan(args.landing, size=args.aduan_size, seed=args.seed, year=args.year,
                          formats=args.formats, workers=args.workers)
        print(f"aduan: {res['rows']:,} rows in {len(res['files'])} files, "
              f"{_bytes(res['files']):,} bytes, {time.perf_counter() - t0:.1f} s")
        for code, n in res["per_regency"].items():
            print(f"  {code} {res['formats'][code]:9} {n:>10,}  {res['status'][code]}")
    if args.only in (None, "fasilitas_kesehatan"):
        res = write_fasilitas_kesehatan(args.landing, seed=args.seed)
        print(f"fasilitas_kesehatan: {res['rows']:,} rows in {len(res['files'])} files, "
              f"{_bytes(res['files']):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
