"""Ingest on real files: every reader, the typing rules, and each bad input ending in a
clear SubmissionError that names the file and, where it applies, the row and column."""

from __future__ import annotations

import json

import duckdb
import pytest
import yaml
from openpyxl import Workbook

from flows.ingest import load_batch, sha256_of, snapshot, unseen_bytes
from flows.readers import SubmissionError
from flows.registry import load_registry
from flows.warehouse import connect, initialise
from tests.helpers import PROJECT_ROOT

REFERENCE = PROJECT_ROOT / "data" / "reference"
HEADER = "Kode;Nama;Periode;LK;PR;Jumlah\n"
COLUMNS = {"Kode": "kode_wilayah", "Nama": "nama_wilayah", "Periode": "periode",
           "LK": "laki_laki", "PR": "perempuan", "Jumlah": "jumlah_penduduk"}


@pytest.fixture
def make_feed(tmp_path):
    """Write a one-feed registry around the shared `penduduk` dataset definition and
    return (feed, spec) for it."""
    datasets = yaml.safe_load((PROJECT_ROOT / "data" / "feeds.yml").read_text())["datasets"]

    def _make(fmt="csv", region_code="bps_digits", options=None, columns=None, **extra):
        entry = {"id": "kota-serang.penduduk", "regency": "36.73", "dataset": "penduduk",
                 "channel": "landing", "path": "landing/*", "format": fmt,
                 "region_code": region_code,
                 "options": options if options is not None else
                 {"delimiter": ";", "thousands": ".", "decimal": ","},
                 "columns": columns or COLUMNS, **extra}
        path = tmp_path / "feeds.yml"
        path.write_text(yaml.safe_dump({"datasets": datasets, "feeds": [entry]}))
        registry = load_registry(path)
        return registry.feeds[0], registry.datasets["penduduk"]

    return _make


@pytest.fixture
def warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    spec = load_registry(PROJECT_ROOT / "data" / "feeds.yml").datasets
    initialise(db, spec, REFERENCE)
    return db


def ingest(warehouse, tmp_path, feed, spec, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    received = snapshot(feed, path, tmp_path / "raw")
    with connect(warehouse) as con:
        table, _ = load_batch(con, feed, spec, received)
        return con.execute(
            f"select kode_wilayah, nama_wilayah, periode, laki_laki, perempuan, "
            f"jumlah_penduduk from {table} order by _row_number").fetchall()


def test_csv_with_thousands_dots_and_bps_codes(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    rows = ingest(warehouse, tmp_path, feed, spec, "a.csv",
                  HEADER + "3673;KOTA SERANG;Semester II 2024;387.152;372.777;759.929\n")
    assert rows == [("36.73", "KOTA SERANG", "2024-S2", 387152, 372777, 759929)]


@pytest.mark.parametrize("written, expected", [
    ("2020", "2020"), ("2024-S2", "2024-S2"), ("2024 S2", "2024-S2"), ("2024-s1", "2024-S1"),
    ("Semester II 2024", "2024-S2"), ("Semester I 2024", "2024-S1"), ("SMT 2 2024", "2024-S2"),
    ("2024 Semester II", "2024-S2"), ("Smt. 1 2023", "2023-S1"),
    # months, as Indonesian offices write them
    ("Desember 2024", "2024-12"), ("Des-24", "2024-12"), ("des 2024", "2024-12"),
    ("2024-12", "2024-12"), ("Mei 2025", "2025-05"), ("Agt 2024", "2024-08"),
    ("Nop 2023", "2023-11"), ("Desember", None), ("Foo 2024", None), ("2024-13", None),
])
def test_period_spellings_are_normalised(warehouse, written, expected):
    with connect(warehouse) as con:
        assert con.execute("select sd_periode(?)", [written]).fetchone()[0] == expected


def test_unknown_period_spelling_is_reported_with_its_row(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError,
                       match=r"b\.csv: column 'Periode'.*row 1: 'Triwulan III 2024'"):
        ingest(warehouse, tmp_path, feed, spec, "b.csv",
               HEADER + "3673;KOTA SERANG;Triwulan III 2024;1;1;2\n")


def test_region_given_by_name(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(region_code="name", columns={**COLUMNS, "Kode": "kode_wilayah"})
    rows = ingest(warehouse, tmp_path, feed, spec, "c.csv",
                  HEADER + "Kota  Serang;x;2020;;;692.101\n")
    assert rows[0][0] == "36.73"


def test_unknown_region_name_names_the_row(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(region_code="name")
    with pytest.raises(SubmissionError, match=r"column 'Kode'.*row 2: 'KOTA BANDUNG'"):
        ingest(warehouse, tmp_path, feed, spec, "d.csv",
               HEADER + "KOTA SERANG;x;2020;;;1\nKOTA BANDUNG;x;2020;;;1\n")


def test_code_of_another_regency_is_refused(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError, match=r"outside this feed's regency 36\.73: row 1: 36\.71"):
        ingest(warehouse, tmp_path, feed, spec, "e.csv",
               HEADER + "3671;KOTA TANGERANG;2020;;;1895486\n")


def test_bad_number_names_row_column_and_value(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError,
                       match=r"f\.csv: column 'Jumlah' \(→ jumlah_penduduk\) must be a whole "
                             r"number; row 2: '12\.3x4'"):
        ingest(warehouse, tmp_path, feed, spec, "f.csv",
               HEADER + "3673;A;2020;;;1\n3673;B;2021;;;12.3x4\n")


def test_empty_file(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError, match=r"g\.csv: the file is empty"):
        ingest(warehouse, tmp_path, feed, spec, "g.csv", b"")


def test_header_without_rows(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError, match=r"h\.csv: the file has a header but no data rows"):
        ingest(warehouse, tmp_path, feed, spec, "h.csv", HEADER)


def test_missing_required_column(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError, match=r"required column\(s\) \['Jumlah'\] missing"):
        ingest(warehouse, tmp_path, feed, spec, "i.csv",
               "Kode;Nama;Periode;LK;PR\n3673;A;2020;1;1\n")


def test_renamed_column_is_unexpected(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError,
                       match=r"unexpected column\(s\) \['Total Jiwa'\]; the feed "
                             r"'kota-serang.penduduk' expects"):
        ingest(warehouse, tmp_path, feed, spec, "j.csv",
               "Kode;Nama;Periode;LK;PR;Jumlah;Total Jiwa\n3673;A;2020;1;1;2;2\n")


def test_windows_1252_file_declared_as_utf8(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    content = (HEADER + "3673;Kota Serang – Cipocok Jaya;2020;;;692.101\n").encode("cp1252")
    with pytest.raises(SubmissionError, match=r"k\.csv: not valid UTF-8.*encoding: cp1252"):
        ingest(warehouse, tmp_path, feed, spec, "k.csv", content)


def test_windows_1252_file_with_declared_encoding(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(options={"delimiter": ";", "thousands": ".", "encoding": "cp1252"})
    content = (HEADER + "3673;Kota Serang – Cipocok Jaya;2020;;;692.101\n").encode("cp1252")
    rows = ingest(warehouse, tmp_path, feed, spec, "l.csv", content)
    assert rows[0][1] == "Kota Serang – Cipocok Jaya"


def test_html_error_page_instead_of_csv(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError, match=r"m\.csv: this is an HTML/XML page, not data"):
        ingest(warehouse, tmp_path, feed, spec, "m.csv",
               "<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")


def test_truncated_csv(warehouse, tmp_path, make_feed):
    feed, spec = make_feed()
    with pytest.raises(SubmissionError, match=r"n\.csv: cannot be read as CSV"):
        ingest(warehouse, tmp_path, feed, spec, "n.csv",
               HEADER + "3673;KOTA SERANG;2020;;;692.101\n3673;KOTA SER")


def test_total_rows_are_skipped(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(skip_rows_matching={"nama_wilayah": "^JUMLAH"})
    rows = ingest(warehouse, tmp_path, feed, spec, "o.csv",
                  HEADER + "3673;KOTA SERANG;2020;;;692.101\n;JUMLAH;;;;692.101\n\n")
    assert len(rows) == 1


def test_xlsx_with_title_rows(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(fmt="xlsx", region_code="dotted", options={})
    wb = Workbook()
    ws = wb.active
    ws.append(["JUMLAH PENDUDUK KOTA SERANG"])
    ws.append([])
    ws.append(list(COLUMNS))
    ws.append(["36.73", "Kota Serang", "Semester II 2024", 387152, 372777, 759929])
    wb.save(tmp_path / "p.xlsx")
    rows = ingest(warehouse, tmp_path, feed, spec, "p.xlsx", (tmp_path / "p.xlsx").read_bytes())
    assert rows == [("36.73", "Kota Serang", "2024-S2", 387152, 372777, 759929)]


def test_broken_xlsx(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(fmt="xlsx", options={})
    with pytest.raises(SubmissionError, match=r"q\.xlsx: cannot be opened as an Excel workbook"):
        ingest(warehouse, tmp_path, feed, spec, "q.xlsx", b"PK\x03\x04 not really a zip")


def test_ckan_json(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(fmt="ckan_json", region_code="dotted", options={},
                           columns={k.lower(): v for k, v in COLUMNS.items()},
                           ignore_columns=["_id"])
    body = {"success": True, "result": {
        "fields": [{"id": "_id"}] + [{"id": k.lower()} for k in COLUMNS],
        "records": [{"_id": 1, "kode": "36.73", "nama": "Kota Serang", "periode": "2024-S2",
                     "lk": 387152, "pr": 372777, "jumlah": 759929}]}}
    rows = ingest(warehouse, tmp_path, feed, spec, "r.json", json.dumps(body))
    assert rows == [("36.73", "Kota Serang", "2024-S2", 387152, 372777, 759929)]


def test_ckan_error_response(warehouse, tmp_path, make_feed):
    feed, spec = make_feed(fmt="ckan_json", options={})
    body = {"success": False, "error": {"message": "Not found"}}
    with pytest.raises(SubmissionError, match=r"s\.json: .*(success=false|no 'result')"):
        ingest(warehouse, tmp_path, feed, spec, "s.json", json.dumps(body))


def test_snapshot_is_immutable_and_content_addressed(tmp_path, make_feed):
    feed, _ = make_feed()
    src = tmp_path / "t.csv"
    src.write_text(HEADER)
    first = snapshot(feed, src, tmp_path / "raw")
    again = snapshot(feed, src, tmp_path / "raw")
    assert first.snapshot == again.snapshot
    assert first.snapshot.name == f"{first.sha256}.csv"
    meta = json.loads((first.snapshot.parent / f"{first.sha256}.meta.json").read_text())
    assert meta["feed"] == "kota-serang.penduduk" and meta["bytes"] == len(HEADER)


def test_reference_has_every_banten_region(warehouse):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = [con.execute(f"select count(*) from reference.{t}").fetchone()[0]
                  for t in ("wilayah_kabupaten_kota", "wilayah_kecamatan",
                            "wilayah_desa_kelurahan")]
    assert counts == [8, 155, 1552]


def test_streaming_and_materialised_loads_give_the_same_batch(warehouse, tmp_path):
    """A CSV file is loaded in one streaming pass when nothing is wrong with it; the
    thorough path (text first, then every check) must give exactly the same batch. Every
    CSV feed of the bundled registry (each regency's own shape) is loaded both ways."""
    from flows.ingest import load as ingest_module

    registry = load_registry(PROJECT_ROOT / "data" / "feeds.yml")
    compared = 0
    with connect(warehouse) as con:
        ingest_module._scratch(con)
        for feed in registry.feeds:
            if feed.format != "csv":
                continue
            spec = registry.datasets[feed.dataset]
            for path in sorted(feed.files())[:1]:
                received = snapshot(feed, path, tmp_path / "raw")
                table = ingest_module.batch_table(received)
                rows = ingest_module._load_csv_streaming(con, feed, spec, received, table)
                if "koreksi" in path.name or "tambahan" in path.name:
                    continue   # the bundled bad samples
                assert rows is not None, f"{feed.id}: {path.name} fell back"
                con.execute(f"create table sd_scratch.fast as select * from {table}")
                con.execute(f"drop table {table}")
                _, slow_rows = ingest_module._load_materialised(con, feed, spec, received,
                                                                table)
                assert slow_rows == rows
                differ = con.execute(
                    f"select count(*) from ((from sd_scratch.fast except all from {table}) "
                    f"union all (from {table} except all from sd_scratch.fast))").fetchone()
                assert differ == (0,), f"{feed.id}: {path.name}"
                con.execute("drop table sd_scratch.fast")
                con.execute(f"drop table {table}")
                compared += 1
    assert compared >= 15


def test_a_flagged_csv_file_is_reported_by_the_thorough_path(warehouse, tmp_path, make_feed):
    """The streaming pass only flags; the message still names the row and the value."""
    feed, spec = make_feed()
    body = HEADER + "3673;Kota Serang;2024-S2;1.000;1.100;2.100\n" \
                    "3673;Kota Serang;2024-S1;1.000;=SUM(A1);2.100\n"
    with pytest.raises(SubmissionError, match=r"row 2: '=SUM\(A1\)'"):
        ingest(warehouse, tmp_path, feed, spec, "p.csv", body)


def test_digests_are_remembered_across_runs_until_the_file_changes(tmp_path, monkeypatch):
    """A later run does not hash an unchanged landing file again; any change to the file
    (new change time) makes it hashed again."""
    import hashlib
    import time

    from flows.ingest import receive as ingest_module

    path = tmp_path / "aduan_2024_01.csv"
    path.write_text("nomor_tiket\nA-1\n", encoding="utf-8")
    cache = tmp_path / ".sha256-cache.json"
    first = ingest_module.sha256_of(path)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    ingest_module.save_digests(cache)

    monkeypatch.setattr(ingest_module, "_DIGESTS", {})          # a new process
    ingest_module.load_digests(cache)
    calls = []
    real = ingest_module._sha256_of
    monkeypatch.setattr(ingest_module, "_sha256_of", lambda p: calls.append(p) or real(p))
    assert ingest_module.sha256_of(path) == first and calls == []

    time.sleep(0.01)
    path.write_text("nomor_tiket\nA-2\n", encoding="utf-8")      # same size, new content
    assert ingest_module.sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert calls == [path]


def test_an_unwritable_digest_cache_does_not_stop_a_run(tmp_path):
    """The cache is only a shortcut: failing to write it is not an error."""
    from flows import ingest as ingest_module

    folder = tmp_path / "read-only"
    folder.mkdir()
    (folder / "x.csv").write_text("a\n1\n", encoding="utf-8")
    ingest_module.sha256_of(folder / "x.csv")
    target = folder / "missing-dir" / ".sha256-cache.json"
    (folder / "missing-dir").write_text("a file where the folder should be")
    ingest_module.save_digests(target)   # must not raise
    assert not target.exists()


@pytest.mark.parametrize("value", ["=SUM(A1)", " =1", "\t=1", "\n=1", "\r=1", "\x0c=1",
                                   "+cmd|' /C calc'!A0", "@HYPERLINK(", "- foo(", "-2+3",
                                   "abc", "a=b", "-abc", "\x0b=1", "", "\u00a0=1", "😀=1"])
def test_the_formula_check_with_its_first_character_test_is_the_pattern(value):
    """The streaming load tests a value's first character before FORMULA_PATTERN: the
    same answer for every value."""
    from flows.ingest import FORMULA_PATTERN, formula_sql

    con = duckdb.connect()
    fast = con.execute(f"select {formula_sql('v')} from (select ?::varchar as v)",
                       [value]).fetchone()[0]
    regex = con.execute("select regexp_matches(?, ?)", [value, FORMULA_PATTERN]).fetchone()[0]
    assert bool(fast) == regex


def test_unseen_bytes_counts_the_files_a_receive_may_find_new(tmp_path):
    """The estimate that decides whether dbt is prepared during a run: from `stat` and the
    remembered digests, the bytes of files not known to be received already."""
    old, new = tmp_path / "aduan_2024_01.csv", tmp_path / "aduan_2024_02.csv"
    old.write_text("nomor_tiket\nA-1\n")
    new.write_text("nomor_tiket\nB-1\nB-2\n")
    known = {sha256_of(old)}                      # received by an earlier run
    assert unseen_bytes([old, new], known) == new.stat().st_size
    assert unseen_bytes([old, new], set()) == old.stat().st_size + new.stat().st_size
    old.write_text("nomor_tiket\nA-1\nA-2\n")     # re-sent with other content
    assert unseen_bytes([old], known) == old.stat().st_size
    assert unseen_bytes([tmp_path / "gone.csv"], known) == 0
