"""The hostile-input corpus: files a regency (or an attacker) might send, each with the
feed it arrives on and what must happen to it.

Small files are kept in `tests/hostile/files/` (written by `python -m tests.hostile.corpus`);
the three big ones (a 10 MB field, a million empty lines, a zip bomb) are written at test
time by `write_large`, so the repository stays small.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

FILES = Path(__file__).resolve().parent / "files"
LEBAK = "kab-lebak.penduduk"          # CSV ; thousands . decimal , BPS codes
SERANG = "kab-serang.penduduk"        # CSV , dotted codes
PANDEGLANG = "kab-pandeglang.penduduk"  # XLSX with title rows, regency by name
TANGERANG = "kab-tangerang.penduduk"  # CKAN datastore_search JSON
ADUAN = "kota-tangerang.aduan"        # CSV ; dates dd/mm/yyyy HH:MM

LEBAK_HEADER = "Kode Wilayah;Nama Wilayah;Periode;Laki-laki;Perempuan;Jumlah Penduduk (jiwa)"
LEBAK_ROW = "3602;KABUPATEN LEBAK;Semester II 2024;786.683;744.881;1.531.564"
SERANG_HEADER = "kode_kemendagri,wilayah,tahun,pria,wanita,total"
SERANG_ROW = "36.04,KABUPATEN SERANG,2020,,,1622630"


@dataclass(frozen=True)
class Case:
    name: str
    feed: str
    expect: str            # regex the quarantine reason must match; "" = accepted
    what: str              # what the file is, for the README table


CASES = [
    Case("empty.csv", LEBAK, r"the file is empty", "empty file"),
    Case("only_header.csv", LEBAK, r"header but no data rows", "header, no rows"),
    Case("html_error_page.csv", LEBAK, r"HTML/XML page, not data", "HTML error page as CSV"),
    Case("html_error_page.json", TANGERANG, r"HTML/XML page, not data", "HTML page as JSON"),
    Case("malformed_quoting.csv", LEBAK, r"cannot be read as CSV", "unclosed quote"),
    Case("nul_bytes.csv", LEBAK, r"NUL bytes", "NUL bytes"),
    Case("utf16_bom.csv", LEBAK, r"UTF-16", "UTF-16 with BOM"),
    Case("utf8_bom.csv", LEBAK, r"", "UTF-8 with BOM (handled: accepted)"),
    Case("mixed_line_endings.csv", SERANG, r"", "CRLF, LF and CR mixed (handled: accepted)"),
    Case("windows_1252.csv", LEBAK, r"not valid UTF-8 .*encoding: cp1252", "Windows-1252 text"),
    Case("missing_column.csv", LEBAK, r"required column\(s\) \['Jumlah Penduduk \(jiwa\)'\]",
         "required column missing"),
    Case("renamed_column.csv", LEBAK, r"unexpected column\(s\) \['Total Jiwa'\]",
         "renamed column"),
    Case("duplicate_header.csv", LEBAK, r"column 'Periode' appears twice", "header twice"),
    Case("other_province_code.csv", SERANG, r"kode_wilayah.*32\.73", "code of another province"),
    Case("other_regency_code.csv", SERANG, r"outside this feed's regency 36\.04",
         "code of another regency"),
    Case("duplicate_rows.csv", SERANG, r"kode_wilayah, periode.*only once", "duplicate rows"),
    Case("truncated.csv", LEBAK, r"cannot be read as CSV", "file cut mid-row"),
    Case("mixed_number_formats.csv", LEBAK, r"must be a whole number; row 2: '1,531,564.00'",
         "1.234.567 and 1,234,567.00 in one column"),
    Case("decimal_population.csv", SERANG, r"'total'.*whole number.*1622630\.5",
         "decimal in a count"),
    Case("overflowing_number.csv", SERANG, r"whole number.*99999999999999999999999",
         "number too large"),
    Case("negative_population.csv", SERANG, r"jumlah_penduduk.*between", "negative count"),
    Case("sex_split_mismatch.csv", SERANG, r"laki_laki \+ perempuan must equal",
         "male + female != total"),
    Case("bad_period.csv", SERANG, r"'tahun'.*period.*Triwulan III 2024", "unknown period"),
    Case("formula_cells.csv", SERANG, r"spreadsheet formulas", "formula in a cell"),
    Case("sql_in_code.csv", SERANG, r"Kemendagri code with dots.*DROP TABLE",
         "SQL in the code column"),
    Case("sql_in_name.csv", SERANG, r"", "SQL in a text field (stored as text: accepted)"),
    Case("..\\..\\etc\\passwd.csv", LEBAK, r"unexpected column", "path traversal in the name"),
    Case("png_image.csv", LEBAK, r"PNG image", "binary file (PNG)"),
    Case("gzip_archive.csv", LEBAK, r"gzip archive", "gzip archive"),
    Case("not_a_zip.xlsx", PANDEGLANG, r"cannot be opened as an Excel workbook", "not a zip"),
    Case("macros.xlsx", PANDEGLANG, r"contains macros", "workbook with macros"),
    Case("external_links.xlsx", PANDEGLANG, r"external links", "workbook with external links"),
    Case("no_header.xlsx", PANDEGLANG, r"no header row with the expected columns",
         "sheet without the header"),
    Case("formula_without_value.xlsx", PANDEGLANG, r"'Total'.*whole number.*empty",
         "formula cell, no cached value"),
    Case("deep_nesting.json", TANGERANG, r"nested too deeply", "JSON nested 10,000 deep"),
    Case("not_ckan.json", TANGERANG, r"not a CKAN datastore_search response", "JSON, not CKAN"),
    Case("success_false.json", TANGERANG, r"success=false", "CKAN error answer"),
    Case("truncated.json", TANGERANG, r"not valid JSON", "JSON cut short"),
    Case("dates_three_formats.csv", ADUAN, r"date and time written as %d/%m/%Y %H:%M",
         "dates in three formats"),
    Case("big_field_10mb.csv", LEBAK, r"cannot be read as CSV", "a 10 MB field"),
    Case("million_empty_lines.csv", LEBAK, r"header but no data rows", "1,000,000 empty lines"),
    Case("zip_bomb.xlsx", PANDEGLANG, r"zip bomb", "XLSX zip bomb"),
]
LARGE = {"big_field_10mb.csv", "million_empty_lines.csv", "zip_bomb.xlsx"}


def _csv(header: str, *rows: str, sep: str = "\r\n") -> bytes:
    return (sep.join([header, *rows]) + sep).encode()


def _xlsx(rows: list[list], extra: dict[str, bytes] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Penduduk"
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    if not extra:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        for name, body in extra.items():
            dst.writestr(name, body)
    return out.getvalue()


PANDEGLANG_ROWS = [["JUMLAH PENDUDUK KABUPATEN PANDEGLANG"], [],
                   ["Wilayah", "Tahun/Semester", "Laki-Laki", "Perempuan", "Total"]]


def small_files() -> dict[str, bytes]:
    ckan = {"success": True, "result": {"fields": [{"id": "kode_wilayah"}], "records": []}}
    aduan = (Path(__file__).resolve().parents[2] / "data" / "landing" / "36.71" / "aduan" /
             "aduan_2024_01.csv").read_text(encoding="utf-8").splitlines()
    aduan_rows = aduan[1:6]
    aduan_rows[1] = aduan_rows[1].replace("01/01/2024", "2024-01-01", 1)
    aduan_rows[3] = aduan_rows[3].replace("01/01/2024", "1 Januari 2024", 1)
    return {
        "empty.csv": b"",
        "only_header.csv": _csv(LEBAK_HEADER),
        "html_error_page.csv": b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
                               b"</head><body><h1>502 Bad Gateway</h1></body></html>\n",
        "html_error_page.json": b"<html><body>Login required</body></html>",
        "malformed_quoting.csv": _csv(LEBAK_HEADER, '3602;"KABUPATEN LEBAK;2020;;;1.386.793',
                                      "3602;KABUPATEN LEBAK;2021;;;1.386.793"),
        "nul_bytes.csv": _csv(LEBAK_HEADER, LEBAK_ROW).replace(b"LEBAK", b"LE\x00\x00BAK"),
        "utf16_bom.csv": (LEBAK_HEADER + "\r\n" + LEBAK_ROW + "\r\n").encode("utf-16"),
        "utf8_bom.csv": b"\xef\xbb\xbf" + _csv(LEBAK_HEADER, LEBAK_ROW),
        "mixed_line_endings.csv": (SERANG_HEADER + "\r\n" + SERANG_ROW + "\n"
                                   + ",JUMLAH,,,,1622630\r").encode(),
        "windows_1252.csv": _csv(LEBAK_HEADER, LEBAK_ROW.replace(
            "KABUPATEN LEBAK", "Kab. Lebak – Rangkasbitung")).decode().encode("cp1252"),
        "missing_column.csv": _csv(LEBAK_HEADER.rsplit(";", 1)[0],
                                   LEBAK_ROW.rsplit(";", 1)[0]),
        "renamed_column.csv": _csv(LEBAK_HEADER + ";Total Jiwa", LEBAK_ROW + ";1.531.564"),
        "duplicate_header.csv": _csv(LEBAK_HEADER + ";Periode", LEBAK_ROW + ";2024-S2"),
        "other_province_code.csv": _csv(SERANG_HEADER, "32.73,KOTA BANDUNG,2020,,,2444160"),
        "other_regency_code.csv": _csv(SERANG_HEADER, "36.71,KOTA TANGERANG,2020,,,1895486"),
        "duplicate_rows.csv": _csv(SERANG_HEADER, SERANG_ROW, SERANG_ROW),
        "truncated.csv": (LEBAK_HEADER + "\r\n" + LEBAK_ROW + "\r\n3602;KABUPATEN LEB").encode(),
        "mixed_number_formats.csv": _csv(LEBAK_HEADER, LEBAK_ROW,
                                         "3602;KABUPATEN LEBAK;2020;;;1,531,564.00"),
        "decimal_population.csv": _csv(SERANG_HEADER, "36.04,KABUPATEN SERANG,2020,,,1622630.5"),
        "overflowing_number.csv": _csv(SERANG_HEADER,
                                       "36.04,KABUPATEN SERANG,2020,,,99999999999999999999999"),
        "negative_population.csv": _csv(SERANG_HEADER, "36.04,KABUPATEN SERANG,2020,,,-5"),
        "sex_split_mismatch.csv": _csv(SERANG_HEADER,
                                       "36.04,KABUPATEN SERANG,2024-S2,913981,877814,1791796"),
        "bad_period.csv": _csv(SERANG_HEADER,
                               "36.04,KABUPATEN SERANG,Triwulan III 2024,,,1622630"),
        "formula_cells.csv": _csv(SERANG_HEADER, '36.04,"=HYPERLINK(""http://evil.example"",'
                                  '""klik"")",2020,,,1622630'),
        "sql_in_code.csv": _csv(SERANG_HEADER,
                                "36.04'); DROP TABLE raw.penduduk; --,X,2020,,,1622630"),
        "sql_in_name.csv": _csv(SERANG_HEADER,
                                "36.04,Robert'); DROP TABLE raw.penduduk;--,2020,,,1622630"),
        "..\\..\\etc\\passwd.csv": b"root:x:0:0:root:/root:/bin/bash\n"
                                   b"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
        "png_image.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "gzip_archive.csv": b"\x1f\x8b\x08\x00" + bytes(64),
        "not_a_zip.xlsx": b"this was meant to be a spreadsheet\n",
        "macros.xlsx": _xlsx(PANDEGLANG_ROWS + [["KABUPATEN PANDEGLANG", "2020", None, None,
                                                1272687]],
                             {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake vba"}),
        "external_links.xlsx": _xlsx(PANDEGLANG_ROWS + [["KABUPATEN PANDEGLANG", "2020", None,
                                                         None, 1272687]],
                                     {"xl/externalLinks/externalLink1.xml":
                                      b"<externalLink/>"}),
        "no_header.xlsx": _xlsx([["REKAP"], ["KABUPATEN PANDEGLANG", "2020", 1272687]]),
        "formula_without_value.xlsx": _xlsx(PANDEGLANG_ROWS + [
            ["KABUPATEN PANDEGLANG", "Semester II 2024", 738650, 698396, "=SUM(C4:D4)"]]),
        "deep_nesting.json": b"[" * 10_000 + b"]" * 10_000,
        "not_ckan.json": json.dumps([{"kode_wilayah": "36.03"}]).encode(),
        "success_false.json": json.dumps({"success": False, "error": {
            "message": "Not found", "__type": "Not Found Error"}}).encode(),
        "truncated.json": json.dumps(ckan).encode()[:40],
        "dates_three_formats.csv": ("\r\n".join([aduan[0], *aduan_rows]) + "\r\n").encode(),
    }


def write_large(dest: Path) -> dict[str, Path]:
    """The big hostile files, written where the test needs them."""
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    path = dest / "big_field_10mb.csv"
    with open(path, "wb") as f:
        f.write(_csv(LEBAK_HEADER))
        f.write(b"3602;" + b"A" * (10 * 1024**2) + b";2020;;;1.386.793\r\n")
    out[path.name] = path
    path = dest / "million_empty_lines.csv"
    with open(path, "wb") as f:
        f.write(_csv(LEBAK_HEADER))
        f.write(b"\r\n" * 1_000_000)
    out[path.name] = path
    path = dest / "zip_bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<sheetData>" + b" " * (100 * 1024**2))
    out[path.name] = path
    return out


def main() -> None:
    FILES.mkdir(parents=True, exist_ok=True)
    for name, body in small_files().items():
        (FILES / name).write_bytes(body)


if __name__ == "__main__":
    main()
