"""`satudata feeds try`: reading a regency's file with the registry's rules, on real files
written here (openpyxl workbooks, CSV bytes), through the real CLI, the real readers,
ingest and registry, in a throwaway warehouse."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from flows.cli import main
from flows.ingest import load_batch, snapshot
from flows.onboard import (
    detect_header,
    number_marks,
    propose_fixed,
    regency_slug,
)
from flows.onboard.entry_yaml import _yaml_scalar
from flows.onboard.sniff import _Grid
from flows.registry import load_registry
from flows.settings import Settings
from flows.warehouse import connect, initialise
from tests.helpers import PROJECT_ROOT

REGISTRY = PROJECT_ROOT / "data" / "feeds.yml"
SECTIONS = ["1. The file", "2. ", "3. Title and file name", "4. Total rows", "5. Preview",
            "6. Feed entry"]


# ------------------------------------------------------------------------ files


@pytest.fixture
def dukcapil_xlsx(tmp_path: Path) -> Path:
    """A Dukcapil aggregate workbook: a title block, a blank row, a header over rows 5-6
    ("Jumlah Penduduk" merged over Laki-laki / Perempuan / Total; nothing above "No" and
    "Wilayah"), one data row and the regency's total row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Agregat"
    ws.append(["DATA AGREGAT KEPENDUDUKAN"])
    ws.append(["KABUPATEN SERANG"])
    ws.append(["SEMESTER II 2024"])
    ws.append([])
    ws.append([None, None, "Jumlah Penduduk", None, None])
    ws.merge_cells("C5:E5")
    ws.append(["No", "Wilayah", "Laki-laki", "Perempuan", "Total"])
    ws.append([1, "KABUPATEN SERANG", 913981, 877814, 1791795])
    ws.append([None, "JUMLAH", 913981, 877814, 1791795])
    path = tmp_path / "agregat_kab_serang.xlsx"
    wb.save(path)
    return path


@pytest.fixture
def lebak_csv(tmp_path: Path) -> Path:
    """Kabupaten Lebak's usual CSV (`;`, 1.234.567) with one header renamed."""
    path = tmp_path / "penduduk_lebak_2024s2.csv"
    path.write_text(
        "Kode Wilayah;Nama Wilayah;Periode;Laki-laki;Perempuan;Jml Penduduk (jiwa)\n"
        "3602;KABUPATEN LEBAK;Semester II 2024;786.683;744.881;1.531.564\n"
        ";JUMLAH;;;;1.531.564\n", encoding="utf-8")
    return path


def run_try(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["feeds", "try", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def printed_entry(out: str) -> str:
    """The YAML entry as printed, from its `  - id:` line to the blank line after it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  - id: "))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return "\n".join(lines[start:end]) + "\n"


def parsed_entry(out: str) -> dict:
    return yaml.safe_load("feeds:\n" + printed_entry(out))["feeds"][0]


def paste(registry_text: str, feed_id: str, entry: str) -> str:
    """`entry` in place of the registry's entry `feed_id` (its lines up to the next entry
    or section comment), as a steward would paste it."""
    block = re.compile(rf"^  - id: {re.escape(feed_id)}\n(?:(?!  - id:|  #).*\n)*", re.M)
    assert block.search(registry_text), f"{feed_id} is not in the registry"
    return block.sub(lambda _: entry + "\n", registry_text, count=1)


def copy_registry(dest: Path) -> Path:
    """The registry and the files it includes (only those: no landing data) in `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in REGISTRY.parent.glob("*.yml"):
        shutil.copy(path, dest / path.name)
    return dest / REGISTRY.name


def load_with(registry_path: Path, feed_id: str, file: Path, tmp: Path):
    """Load `file` as feed `feed_id` of the registry at `registry_path` would in a run:
    snapshot, then `load_batch`, in a fresh warehouse. Returns (rows, feed)."""
    registry = load_registry(registry_path)
    feed = next(f for f in registry.feeds if f.id == feed_id)
    database = tmp / "warehouse.duckdb"
    initialise(database, registry.datasets, Settings.from_env().reference_dir)
    with connect(database) as con:
        received = snapshot(feed, file, tmp / "raw")
        table, _ = load_batch(con, feed, registry.datasets[feed.dataset], received)
        columns = registry.datasets[feed.dataset].column_names
        rows = con.execute(f"select {', '.join(columns)} from {table} order by _row_number"
                           ).fetchall()
    return [dict(zip(columns, r, strict=True)) for r in rows], feed


def assert_in_order(out: str, parts: list[str]) -> None:
    where = [out.find(p) for p in parts]
    assert -1 not in where, [p for p, w in zip(parts, where, strict=True) if w == -1]
    assert where == sorted(where), f"sections out of order: {where}"


# ------------------------------------------------------------------------ (a) a workbook


def test_dukcapil_workbook_proposes_an_entry_that_loads(capsys, dukcapil_xlsx, tmp_path,
                                                        monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))

    code, out, err = run_try(capsys, str(dukcapil_xlsx), "--dataset", "penduduk",
                             "--regency", "36.04")

    assert code == 0, out + err
    assert_in_order(out, SECTIONS)
    # 1. what was found
    assert "header      rows 5, 6 (found)" in out
    assert "header_rows: [5, 6]" in out
    assert "title       DATA AGREGAT KEPENDUDUKAN | KABUPATEN SERANG | SEMESTER II 2024" in out
    # 2. the mapping, lowest parts of the two-row header included
    assert re.search(r"^   Wilayah\s+-> kode_wilayah\b", out, re.M)
    assert re.search(r"^   Jumlah Penduduk / Laki-laki\s+-> laki_laki\b", out, re.M)
    assert re.search(r"^   Jumlah Penduduk / Perempuan\s+-> perempuan\b", out, re.M)
    assert re.search(r"^   Jumlah Penduduk / Total\s+-> jumlah_penduduk\b", out, re.M)
    assert re.search(r"^   No\s+unmapped: map it or add it to ignore_columns", out, re.M)
    assert "-> region_code: name" in out
    # 3. the period from the title; 4. the total row
    assert "the title says 'SEMESTER II 2024' -> extract: {periode: {from: title" in out
    assert "data row 2 'JUMLAH' in 'Wilayah'" in out
    assert '-> skip_rows_matching: {"*": "^(JUMLAH|TOTAL)"}' in out
    # 5. the typed row, as the ingest code types it; the total row is not there
    assert re.search(r"^   1\s+36\.04\s+KABUPATEN SERANG\s+2024-S2\s+913981\s+877814\s+1791795$",
                     out, re.M)
    assert "loads cleanly: 1 row(s)" in out
    # 6. the entry
    entry = parsed_entry(out)
    assert entry["id"] == "kab-serang.penduduk"
    assert entry["regency"] == "36.04" and entry["format"] == "xlsx"
    assert entry["path"] == "landing/36.04/penduduk/*.xlsx"
    assert entry["options"] == {"header_rows": [5, 6]}
    assert entry["region_code"] == "name"
    assert entry["columns"] == {"Wilayah": "kode_wilayah", "Laki-laki": "laki_laki",
                                "Perempuan": "perempuan", "Total": "jumlah_penduduk"}
    assert entry["ignore_columns"] == ["No"]
    assert entry["skip_rows_matching"] == {"*": "^(JUMLAH|TOTAL)"}
    rule = entry["extract"]["periode"]
    assert rule["from"] == "title"
    assert re.search(rule["pattern"], "SEMESTER II 2024", re.I).group(1) == "SEMESTER II 2024"
    assert "this entry validates" in out
    assert "exists already: this entry replaces it" in out
    # nothing of the real state was touched, and the throwaway warehouse is gone
    assert not (tmp_path / "home").exists()
    assert list(scratch.iterdir()) == []


# ------------------------------------------------------------------------ (b) --feed


def test_renamed_header_is_reported_with_its_fix(capsys, lebak_csv):
    code, out, err = run_try(capsys, str(lebak_csv), "--dataset", "penduduk",
                             "--feed", "kab-lebak.penduduk")

    assert code == 1, out + err
    assert_in_order(out, SECTIONS)
    assert "delimiter   ';' (sniffed)" in out
    assert "numbers     thousands '.', decimal ','" in out
    # the header the feed does not know, what it looks like, and the fix
    assert re.search(r"^   Jml Penduduk \(jiwa\)\s+UNKNOWN to feed kab-lebak\.penduduk: it looks "
                     r"like jumlah_penduduk .*-> add \"Jml Penduduk \(jiwa\)\": jumlah_penduduk "
                     r"under columns, or list it under ignore_columns", out, re.M)
    assert "the feed maps 'Jumlah Penduduk (jiwa)' (-> jumlah_penduduk), which the file lacks" \
        in out
    # the real ingest's refusal, naming the file and the column
    assert "PROBLEM: penduduk_lebak_2024s2.csv: unexpected column(s) ['Jml Penduduk (jiwa)']" \
        in out
    assert "Result: 1 problem(s)" in out
    # the amended entry keeps the old spelling (older files) and adds the new one
    entry = parsed_entry(out)
    assert entry["columns"]["Jumlah Penduduk (jiwa)"] == "jumlah_penduduk"
    assert entry["columns"]["Jml Penduduk (jiwa)"] == "jumlah_penduduk"
    assert entry["skip_rows_matching"] == {"nama_wilayah": "^JUMLAH"}
    assert "this entry validates" in out
    assert "with this entry the file loads cleanly (1 row(s))" in out


# ------------------------------------------------------------------------ (c) round trip


def test_printed_entry_pasted_into_the_registry_loads_the_file(capsys, dukcapil_xlsx,
                                                               lebak_csv, tmp_path):
    registry = copy_registry(tmp_path / "data")
    text = registry.read_text(encoding="utf-8")

    code, out, _ = run_try(capsys, str(dukcapil_xlsx), "--dataset", "penduduk",
                           "--regency", "36.04")
    assert code == 0
    text = paste(text, "kab-serang.penduduk", printed_entry(out))
    code, out, _ = run_try(capsys, str(lebak_csv), "--dataset", "penduduk",
                           "--feed", "kab-lebak.penduduk")
    assert code == 1
    text = paste(text, "kab-lebak.penduduk", printed_entry(out))
    registry.write_text(text, encoding="utf-8")

    rows, feed = load_with(registry, "kab-serang.penduduk", dukcapil_xlsx, tmp_path / "a")
    assert feed.options == {"header_rows": [5, 6]} and feed.region_code == "name"
    assert rows == [{"kode_wilayah": "36.04", "nama_wilayah": "KABUPATEN SERANG",
                     "periode": "2024-S2", "laki_laki": 913981, "perempuan": 877814,
                     "jumlah_penduduk": 1791795}]
    rows, _ = load_with(registry, "kab-lebak.penduduk", lebak_csv, tmp_path / "b")
    assert rows == [{"kode_wilayah": "36.02", "nama_wilayah": "KABUPATEN LEBAK",
                     "periode": "2024-S2", "laki_laki": 786683, "perempuan": 744881,
                     "jumlah_penduduk": 1531564}]
    # and the pasted registry is the whole registry: every other feed is still there
    assert len(load_registry(registry).feeds) == len(load_registry(REGISTRY).feeds)


def test_feed_whose_header_moved_gets_the_header_found(capsys, tmp_path):
    """Pandeglang's workbook, now with its header over two rows: the feed's own rule
    fails (its exit code says so), the entry printed places the header and loads it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Penduduk"
    ws.append(["JUMLAH PENDUDUK KABUPATEN PANDEGLANG SEMESTER I 2025"])
    ws.append([])
    ws.append(["Wilayah", "Tahun/Semester", "Jumlah Penduduk", None, None])
    ws.append([None, None, "Laki-Laki", "Perempuan", "Total"])
    for cells in ("A3:A4", "B3:B4", "C3:E3"):
        ws.merge_cells(cells)
    ws.append(["KABUPATEN PANDEGLANG", "Semester I 2025", 740000, 700000, 1440000])
    path = tmp_path / "penduduk_2025s1.xlsx"
    wb.save(path)

    code, out, _ = run_try(capsys, str(path), "--dataset", "penduduk",
                           "--feed", "kab-pandeglang.penduduk")

    assert code == 1
    assert "header      rows 3, 4 (found)" in out
    assert "note        feed kab-pandeglang.penduduk cannot read it as it is" in out
    assert re.search(r"^   Jumlah Penduduk / Laki-Laki\s+-> laki_laki$", out, re.M)
    assert "PROBLEM: penduduk_2025s1.xlsx: row 4 has a value in column 4 (D)" in out
    assert parsed_entry(out)["options"] == {"sheet": "Penduduk", "header_rows": [3, 4]}
    assert "with this entry the file loads cleanly (1 row(s))" in out


# ------------------------------------------------------------------------ the command


def test_entry_point_runs_as_a_subprocess(lebak_csv):
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "satudata"), "feeds", "try", str(lebak_csv),
         "--dataset", "penduduk", "--feed", "kab-lebak.penduduk", "--rows", "1"],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "UNKNOWN to feed kab-lebak.penduduk" in result.stdout
    assert "with this entry the file loads cleanly" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "pendudok", "--regency", "36.04"], "unknown dataset 'pendudok'"),
    (["--dataset", "penduduk", "--regency", "36.99"], "unknown regency '36.99'"),
    (["--dataset", "penduduk", "--feed", "kab-lebk.penduduk"],
     "unknown feed 'kab-lebk.penduduk' in"),
    (["--dataset", "indikator", "--feed", "kab-lebak.penduduk"],
     "is a feed of dataset 'penduduk', not 'indikator'"),
    (["--dataset", "penduduk", "--regency", "36.04", "--header-rows", "6,5"],
     "--header-rows '6,5'"),
])
def test_usage_errors_exit_2(capsys, lebak_csv, args, message):
    code, out, err = run_try(capsys, str(lebak_csv), *args)
    assert code == 2
    assert message in err and out == ""


def test_missing_file_exits_2(capsys, tmp_path):
    code, _, err = run_try(capsys, str(tmp_path / "nope.csv"), "--dataset", "penduduk",
                           "--regency", "36.02")
    assert code == 2 and "no such file" in err


def test_unreadable_file_says_what_to_configure(capsys, tmp_path):
    path = tmp_path / "penduduk.xlsx"
    path.write_bytes(b"%PDF-1.4 not a workbook")
    code, out, _ = run_try(capsys, str(path), "--dataset", "penduduk", "--regency", "36.72")
    assert code == 1
    assert "cannot read it: penduduk.xlsx: cannot be opened as an Excel workbook" in out


def test_csv_with_title_two_row_header_cp1252_and_period_in_file_name(capsys, tmp_path):
    """Windows Excel's CSV: cp1252, a title, a header over two rows without merge
    information, 243.024-style numbers, the semester only in the file name."""
    path = tmp_path / "pddk_cilegon_2024-S2.csv"
    path.write_bytes(
        "JUMLAH PENDUDUK KOTA CILEGON;;;;\n"
        "Sumber: Disdukcapil \u2013 Kota Cilegon;;;;\n"
        ";;;;\n"
        "Kode Wilayah;Nama Wilayah;Jumlah Penduduk;;\n"
        ";;L;P;Total\n"
        "3672;KOTA CILEGON;243.024;237.354;480.378\n"
        ";JUMLAH;243.024;237.354;480.378\n".encode("cp1252"))

    code, out, err = run_try(capsys, str(path), "--dataset", "penduduk", "--regency", "36.72")

    assert code == 0, out + err
    assert "encoding    cp1252" in out
    assert "header      rows 4, 5 (found)" in out
    assert re.search(r"^   Jumlah Penduduk / L\s+-> laki_laki\b", out, re.M)
    assert re.search(r"^   1\s+36\.72\s+KOTA CILEGON\s+2024-S2\s+243024\s+237354\s+480378$",
                     out, re.M)
    entry = parsed_entry(out)
    assert entry["id"] == "kota-cilegon.penduduk"
    assert entry["options"] == {"delimiter": ";", "encoding": "cp1252", "thousands": ".",
                                "decimal": ",", "header_rows": [4, 5]}
    assert entry["region_code"] == "bps_digits"
    assert entry["extract"]["periode"]["from"] == "file_name"
    assert entry["skip_rows_matching"] == {"*": "^(JUMLAH|TOTAL)"}


def test_province_wide_file_skips_the_province_total(capsys, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["DKB PROVINSI BANTEN SEMESTER I 2025"])
    ws.append([])
    ws.append(["Kode", "Kabupaten/Kota", "Jumlah Penduduk"])
    ws.append(["36.01", "KAB. PANDEGLANG", 1437046])
    ws.append(["36.71", "KOTA TANGERANG", 1957349])
    ws.append(["36", "PROVINSI BANTEN", 3394395])
    path = tmp_path / "dkb.xlsx"
    wb.save(path)

    code, out, err = run_try(capsys, str(path), "--dataset", "penduduk", "--regency", "36")

    assert code == 0, out + err
    assert "a province-wide feed skips the province's own total row automatically" in out
    assert "data row 3 '36'" in out
    assert re.search(r"^   2\s+36\.71\s+KOTA TANGERANG\s+2025-S1\s+null\s+null\s+1957349\s+36\.71$",
                     out, re.M)
    assert "loads cleanly: 2 row(s)" in out
    entry = parsed_entry(out)
    assert entry["id"] == "prov-banten.penduduk" and entry["regency"] == "36"
    assert entry["columns"] == {"Kode": "kode_wilayah", "Kabupaten/Kota": "nama_wilayah",
                                "Jumlah Penduduk": "jumlah_penduduk"}


def test_a_column_of_region_names_is_the_region_code(capsys, tmp_path):
    """A file that names its regency but has no code column: the names are the codes
    (region_code name), resolved against the reference list."""
    path = tmp_path / "penduduk_kota_serang.csv"
    path.write_text("Nama Wilayah;Periode;Jumlah Penduduk\nKOTA SERANG;2020;692.101\n",
                    encoding="utf-8")
    code, out, err = run_try(capsys, str(path), "--dataset", "penduduk", "--regency", "36.73")
    assert code == 0, out + err
    assert re.search(r"^   Nama Wilayah\s+-> kode_wilayah\b.*it names the regions", out, re.M)
    assert re.search(r"^   1\s+36\.73\s+KOTA SERANG\s+2020\s+null\s+null\s+692101$", out, re.M)
    entry = parsed_entry(out)
    assert entry["region_code"] == "name"
    assert entry["columns"] == {"Nama Wilayah": "kode_wilayah", "Periode": "periode",
                                "Jumlah Penduduk": "jumlah_penduduk"}


# ------------------------------------------------------------------------ the pieces


@pytest.mark.parametrize(("values", "marks"), [
    (["1.531.564", "12"], {"thousands": ".", "decimal": ","}),
    (["1.234,5"], {"thousands": ".", "decimal": ","}),
    (["744.881", "36.02"], {"thousands": ".", "decimal": ","}),
    (["9,82", "12"], {"decimal": ","}),
    (["1,531,564"], {"thousands": ","}),
    (["12.5", "744.881"], {}),
    (["1531564", "36.02"], {}),
])
def test_number_marks(values, marks):
    assert number_marks(values)[0] == marks


def grid(rows: list[list[str]], merges=()) -> _Grid:
    numeric = [[bool(c) and bool(re.fullmatch(r"[\d.,]+", c)) for c in r] for r in rows]
    return _Grid(rows, numeric, list(merges))


@pytest.mark.parametrize(("rows", "merges", "found"), [
    # a title in the first column, then a one-row header
    ([["Judul", "", ""], ["", "", ""], ["Kode", "Nama", "Jumlah"], ["3601", "X", "5"]], [],
     [3]),
    # a title in the first column right above the header: still a title
    ([["DATA PENDUDUK", "", ""], ["Kode", "Nama", "Jumlah"], ["3601", "X", "5"]], [], [2]),
    # a title merged over the whole width right above the header: still a title
    ([["DATA PENDUDUK", "", ""], ["Kode", "Nama", "Jumlah"], ["3601", "X", "5"]],
     [(1, 1, 3, 1)], [2]),
    # a group label merged over some columns
    ([["", "", "Jumlah", "", ""], ["No", "Nama", "L", "P", "Total"], ["1", "X", "2", "3", "5"]],
     [(3, 1, 5, 1)], [1, 2]),
    # labels merged down into the header row (No, Nama) and a group label
    ([["No", "Nama", "Jumlah", "", ""], ["", "", "L", "P", "Total"], ["1", "X", "2", "3", "5"]],
     [(1, 1, 1, 2), (2, 1, 2, 2), (3, 1, 5, 1)], [1, 2]),
    # CSV (no merges): labels over every column, each group's label repeated
    ([["Wilayah", "Wilayah", "Jumlah", "Jumlah", "Jumlah"], ["Kode", "Nama", "L", "P", "Total"],
      ["3601", "X", "2", "3", "5"]], [], [1, 2]),
    # no row of text followed by a number
    ([["a", "b"], ["c", "d"]], [], None),
])
def test_detect_header(rows, merges, found):
    assert detect_header(grid(rows, merges)) == found


@pytest.mark.parametrize(("title", "name", "kind", "value"), [
    (["SEMESTER II 2024"], "x.xlsx", "extract", "SEMESTER II 2024"),
    (["DATA SMT 2 2024"], "x.xlsx", "extract", "SMT 2 2024"),
    (["Rekap"], "penduduk_2024-S2.csv", "extract", "2024-S2"),
    (["Keadaan Desember 2024"], "x.csv", "constants", "2024-S2"),
    (["Keadaan Juni 2025"], "x.csv", "constants", "2025-S1"),
    (["Sensus Penduduk 2020"], "x.csv", "extract", "2020"),
    (["Rekap"], "x.csv", None, None),
])
def test_period_proposals(title, name, kind, value):
    found = propose_fixed("periode", "period", title, name)
    if kind is None:
        assert found is None
        return
    assert found[0] == kind
    if kind == "constants":
        assert found[1] == value
    else:
        texts = title if found[1]["from"] == "title" else [name]
        match = next(m for t in texts if (m := re.search(found[1]["pattern"], t, re.I)))
        assert match.group(1) == value


def test_regency_slugs():
    assert regency_slug("Kabupaten Serang") == "kab-serang"
    assert regency_slug("Kota Tangerang Selatan") == "kota-tangerang-selatan"


@pytest.mark.parametrize("value", ["No", "36.04", "yes", "Jumlah Penduduk (jiwa)", "a: b",
                                   "^(JUMLAH|TOTAL)", r"(\d{4})", "it's", "x #y", "*"])
def test_yaml_scalars_read_back(value):
    text = _yaml_scalar(value)
    assert yaml.safe_load(f"k: {text}") == {"k": value}
    assert yaml.safe_load(f"{{k: {text}}}") == {"k": value}
