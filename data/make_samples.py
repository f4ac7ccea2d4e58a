"""Write the bundled sample submissions of the regencies from the real reference data.

Each regency delivers its population figures the way it really does: its own file
format, header names, region-code style and period wording. The numbers are the real
ones in data/reference (BPS SP2020, Dukcapil DKB 2024-S2), so the published dataset
can be checked against them. Run: `.venv/bin/python data/make_samples.py`. (XLSX files
carry their write time, so rewriting them gives new bytes, hence new submissions.)
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import Workbook

DATA = Path(__file__).resolve().parent
REFERENCE = DATA / "reference"
LANDING = DATA / "landing"


INDIKATOR_LABELS = {  # how regency offices write the indicator names
    "persentase_penduduk_miskin": "Persentase Penduduk Miskin (%)",
    "jumlah_penduduk_miskin": "Jumlah Penduduk Miskin (ribu jiwa)",
    "ipm_metode_lama": "Indeks Pembangunan Manusia (metode lama)",
    "tingkat_pengangguran_terbuka": "Tingkat Pengangguran Terbuka (%)",
}


def _read(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _thousands_dot(n: str) -> str:
    return f"{int(n):,}".replace(",", ".") if n else ""


def _periods() -> dict[str, list[dict]]:
    """Per regency code: [{periode, laki_laki, perempuan, jumlah_penduduk, nama}], 2020 first."""
    out: dict[str, list[dict]] = {}
    for r in _read("penduduk_sp2020.csv"):
        out.setdefault(r["kode_wilayah"], []).append(
            {"periode": r["tahun"], "nama": r["nama"], "laki_laki": "", "perempuan": "",
             "jumlah_penduduk": r["jumlah_penduduk"]}
        )
    for r in _read("penduduk_dukcapil_2024s2.csv"):
        out.setdefault(r["kode_wilayah"], []).append(
            {"periode": r["periode"], "nama": r["nama"], "laki_laki": r["laki_laki"],
             "perempuan": r["perempuan"], "jumlah_penduduk": r["jumlah_penduduk"]}
        )
    return out


def _semester_words(periode: str) -> str:
    """'2024-S2' -> 'Semester II 2024'; '2020' stays."""
    if "-S" in periode:
        year, sem = periode.split("-S")
        return f"Semester {'I' * int(sem)} {year}"
    return periode


def _file_stem(periode: str) -> str:
    return "penduduk_" + periode.lower().replace("-", "")


CSV_HEADER = ["Kode Wilayah", "Nama Wilayah", "Periode", "Laki-laki", "Perempuan",
              "Jumlah Penduduk (jiwa)"]


def write_csv(code: str, rows: list[dict], *, delimiter: str, thousands: bool,
              code_style: str, encoding: str = "utf-8", header: list[str] = CSV_HEADER) -> None:
    folder = LANDING / code / "penduduk"
    folder.mkdir(parents=True, exist_ok=True)
    for r in rows:
        kode = code.replace(".", "") if code_style == "bps" else code
        fmt = _thousands_dot if thousands else (lambda v: v)
        values = [kode, r["nama"].upper(), _semester_words(r["periode"]),
                  fmt(r["laki_laki"]), fmt(r["perempuan"]), fmt(r["jumlah_penduduk"])]
        with open(folder / f"{_file_stem(r['periode'])}.csv", "w", newline="",
                  encoding=encoding) as f:
            w = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
            w.writerow(header)
            w.writerow(values)
            # Regency exports often end with a total row; the feed skips it.
            w.writerow(["", "JUMLAH", "", "", "", fmt(r["jumlah_penduduk"])])


def write_xlsx(code: str, rows: list[dict], *, by_name: bool) -> None:
    folder = LANDING / code / "penduduk"
    folder.mkdir(parents=True, exist_ok=True)
    for r in rows:
        wb = Workbook()
        ws = wb.active
        ws.title = "Penduduk"
        ws.append([f"JUMLAH PENDUDUK {r['nama'].upper()} {_semester_words(r['periode']).upper()}"])
        ws.append(["Sumber: Dinas Kependudukan dan Pencatatan Sipil"])
        ws.append([])
        ws.append(["Wilayah" if by_name else "Kode", "Tahun/Semester", "Laki-Laki",
                   "Perempuan", "Total"])
        ws.append([
            r["nama"].upper() if by_name else code,
            _semester_words(r["periode"]),
            int(r["laki_laki"]) if r["laki_laki"] else None,
            int(r["perempuan"]) if r["perempuan"] else None,
            int(r["jumlah_penduduk"]),
        ])
        wb.save(folder / f"{_file_stem(r['periode'])}.xlsx")


def write_ckan_json(code: str, rows: list[dict], *, code_style: str) -> None:
    """Shaped like a CKAN `datastore_search` response."""
    folder = LANDING / code / "penduduk"
    folder.mkdir(parents=True, exist_ok=True)
    for r in rows:
        records = [{
            "_id": 1,
            "kode_wilayah": code.replace(".", "") if code_style == "bps" else code,
            "nama_wilayah": r["nama"],
            "periode": r["periode"],
            "jumlah_laki_laki": int(r["laki_laki"]) if r["laki_laki"] else None,
            "jumlah_perempuan": int(r["perempuan"]) if r["perempuan"] else None,
            "jumlah_penduduk": int(r["jumlah_penduduk"]),
        }]
        fields = [{"id": k, "type": "int" if k.startswith(("_", "jumlah")) else "text"}
                  for k in records[0]]
        body = {
            "help": "https://data.example.go.id/api/3/action/help_show?name=datastore_search",
            "success": True,
            "result": {"resource_id": f"penduduk-{code}-{r['periode']}", "fields": fields,
                       "records": records, "total": len(records),
                       "_links": {"start": "/api/3/action/datastore_search", "next": None}},
        }
        (folder / f"{_file_stem(r['periode'])}.json").write_text(
            json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _indikator(code: str) -> list[dict]:
    return [r for r in _read("indikator_kabupaten_kota.csv") if r["kode_wilayah"] == code]


def write_indikator_csv(code: str, *, delimiter: str, decimal_comma: bool,
                        labels: bool, encoding: str = "utf-8") -> None:
    folder = LANDING / code / "indikator"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "indikator_2020_2025.csv", "w", newline="", encoding=encoding) as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator="\r\n")
        w.writerow(["Indikator", "Tahun", "Nilai", "Satuan", "Sumber"])
        for r in _indikator(code):
            value = r["nilai"].replace(".", ",") if decimal_comma else r["nilai"]
            name = INDIKATOR_LABELS[r["indikator"]] if labels else r["indikator"]
            w.writerow([name, r["tahun"], value, r["satuan"], r["sumber"]])


def write_indikator_xlsx(code: str, nama: str) -> None:
    folder = LANDING / code / "indikator"
    folder.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "Indikator"
    ws.append([f"INDIKATOR MAKRO {nama.upper()}"])
    ws.append(["Sumber: BPS, diolah Bappeda"])
    ws.append(["Uraian", "Tahun", "Angka", "Satuan"])
    for r in _indikator(code):
        ws.append([INDIKATOR_LABELS[r["indikator"]], int(r["tahun"]), float(r["nilai"]),
                   r["satuan"]])
    wb.save(folder / "indikator_2020_2025.xlsx")


def write_indikator_ckan(code: str) -> None:
    folder = LANDING / code / "indikator"
    folder.mkdir(parents=True, exist_ok=True)
    records = [{"_id": i, "kode_wilayah": code, "indikator": r["indikator"],
                "tahun": int(r["tahun"]), "nilai": float(r["nilai"]), "satuan": r["satuan"],
                "sumber": r["sumber"]} for i, r in enumerate(_indikator(code), start=1)]
    fields = [{"id": "_id", "type": "int"}, {"id": "kode_wilayah", "type": "text"},
              {"id": "indikator", "type": "text"}, {"id": "tahun", "type": "int"},
              {"id": "nilai", "type": "numeric"}, {"id": "satuan", "type": "text"},
              {"id": "sumber", "type": "text"}]
    body = {"success": True, "result": {"resource_id": f"indikator-{code}", "fields": fields,
                                        "records": records, "total": len(records)}}
    (folder / "indikator_2020_2025.json").write_text(
        json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_provincial_dukcapil_xlsx() -> Path:
    """The province's own Dukcapil table (DKB Semester II 2024), as the provincial office
    sends it: one workbook for all 8 regencies/cities, a title block that alone says the
    period, a two-row header ("Jumlah Penduduk" merged over Laki-laki / Perempuan /
    Total; "No" and "Kabupaten/Kota" merged down both rows) and a province total row.
    Written with fixed document times, so the same figures give the same bytes."""
    import datetime as dt

    rows = [r for r in _read("penduduk_dukcapil_2024s2.csv")]
    wb = Workbook()
    ws = wb.active
    ws.title = "DKB"
    ws.append(["DATA AGREGAT KEPENDUDUKAN (DKB) PROVINSI BANTEN"])
    ws.append(["SEMESTER II 2024"])
    ws.append(["Sumber: Dinas Kependudukan dan Pencatatan Sipil Provinsi Banten"])
    ws.append([])
    ws.append(["No", "Kabupaten/Kota", "Jumlah Penduduk", None, None])
    ws.append([None, None, "Laki-laki", "Perempuan", "Total"])
    ws.merge_cells("A5:A6")
    ws.merge_cells("B5:B6")
    ws.merge_cells("C5:E5")
    totals = [0, 0, 0]
    for i, r in enumerate(rows, start=1):
        name = r["nama"].upper().replace("KABUPATEN ", "KAB. ")
        values = [int(r["laki_laki"]), int(r["perempuan"]), int(r["jumlah_penduduk"])]
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        ws.append([i, name, *values])
    ws.append([None, "JUMLAH PROVINSI BANTEN", *totals])
    fixed = dt.datetime(2025, 1, 31, 8, 0, 0)
    wb.properties.created = wb.properties.modified = fixed
    folder = LANDING / "36" / "penduduk"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dkb_provinsi_banten_2024s2.xlsx"
    wb.save(path)
    return path


def main() -> None:
    write_provincial_dukcapil_xlsx()
    by_code = _periods()
    write_xlsx("36.01", by_code["36.01"], by_name=True)          # Kabupaten Pandeglang
    write_csv("36.02", by_code["36.02"], delimiter=";", thousands=True, code_style="bps")
    write_ckan_json("36.03", by_code["36.03"], code_style="dotted")
    write_csv("36.04", by_code["36.04"], delimiter=",", thousands=False, code_style="dotted",
              header=["kode_kemendagri", "wilayah", "tahun", "pria", "wanita", "total"])
    write_ckan_json("36.71", by_code["36.71"], code_style="bps")
    write_xlsx("36.72", by_code["36.72"], by_name=False)
    write_csv("36.73", by_code["36.73"], delimiter=";", thousands=True, code_style="bps",
              encoding="cp1252")
    write_xlsx("36.74", by_code["36.74"], by_name=True)

    names = {r["kode_wilayah"]: r["nama"] for r in _read("wilayah_kabupaten_kota.csv")}
    write_indikator_csv("36.01", delimiter=";", decimal_comma=True, labels=True)
    write_indikator_xlsx("36.02", names["36.02"])
    write_indikator_ckan("36.03")
    write_indikator_csv("36.04", delimiter=",", decimal_comma=False, labels=False)
    write_indikator_ckan("36.71")
    write_indikator_xlsx("36.72", names["36.72"])
    write_indikator_csv("36.73", delimiter=";", decimal_comma=True, labels=True,
                        encoding="cp1252")
    write_indikator_csv("36.74", delimiter=",", decimal_comma=False, labels=True)


if __name__ == "__main__":
    main()
