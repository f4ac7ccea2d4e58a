"""Write the bundled sample submissions of the regencies from the real reference data.

Each regency delivers its population figures the way it really does: its own file
format, header names, region-code style and period wording. The numbers are the real
ones in data/reference (BPS SP2020, Dukcapil DKB 2024-S2), so the published dataset
can be checked against them. Run: `.venv/bin/python data/make_samples.py`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import Workbook

DATA = Path(__file__).resolve().parent
REFERENCE = DATA / "reference"
LANDING = DATA / "landing"


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


def main() -> None:
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


if __name__ == "__main__":
    main()
