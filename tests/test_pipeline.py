"""The real flow (Prefect, DuckDB, Great Expectations, dbt) on the bundled sample data."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil

import duckdb
import pytest

from tests.helpers import PROJECT_ROOT, copy_sample_data

SLUG = "penduduk-kabupaten-kota"
REGENCIES = {"36.01", "36.02", "36.03", "36.04", "36.71", "36.72", "36.73", "36.74"}
DATASETS = ("penduduk", "indikator", "aduan", "fasilitas_kesehatan")
# 8 regencies: penduduk 2 files each, indikator 1, aduan 12 (a month each), facilities 1;
# plus two bad re-sends in the samples (Kabupaten Serang's population file without its
# total column, Kota Serang's indicators with an indicator the catalogue does not know)
# plus one province-wide file: the provincial Dukcapil office's DKB table of all 8
N_GOOD_FILES = 8 * (2 + 1 + 12 + 1) + 1
BAD_SAMPLES = {"penduduk_2024s2_koreksi.csv": r"required column\(s\) \['total'\] missing",
               "indikator_2024_2025_tambahan.csv": r"indikator.*Angka Harapan Hidup"}
N_SAMPLE_FILES = N_GOOD_FILES + len(BAD_SAMPLES)


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _reference_totals() -> dict[str, int]:
    totals = {}
    for name, period_col in (("penduduk_sp2020.csv", "tahun"),
                             ("penduduk_dukcapil_2024s2.csv", "periode")):
        for row in _read_csv(PROJECT_ROOT / "data" / "reference" / name):
            totals[row[period_col]] = totals.get(row[period_col], 0) + int(row["jumlah_penduduk"])
    return totals


def test_published_csv_reproduces_the_province_totals(sample_run):
    site = sample_run["settings"].site_dir
    rows = _read_csv(site / "datasets" / SLUG / "latest" / f"{SLUG}.csv")
    assert list(rows[0]) == ["kode_wilayah", "nama_wilayah", "periode", "laki_laki",
                             "perempuan", "jumlah_penduduk", "luas_km2", "kepadatan_per_km2"]
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["periode"]] = totals.get(r["periode"], 0) + int(r["jumlah_penduduk"])
    assert totals == {"2020": 11_904_562, "2024-S2": 12_881_374}
    assert totals == _reference_totals()


def test_each_regency_exactly_once_per_period(sample_run):
    site = sample_run["settings"].site_dir
    rows = _read_csv(site / "datasets" / SLUG / "latest" / f"{SLUG}.csv")
    for period in ("2020", "2024-S2"):
        codes = [r["kode_wilayah"] for r in rows if r["periode"] == period]
        assert sorted(codes) == sorted(REGENCIES)


def test_sex_split_adds_up_and_is_empty_without_a_source_split(sample_run):
    site = sample_run["settings"].site_dir
    rows = _read_csv(site / "datasets" / SLUG / "latest" / f"{SLUG}.csv")
    for r in rows:
        if r["laki_laki"] and r["perempuan"]:
            assert int(r["laki_laki"]) + int(r["perempuan"]) == int(r["jumlah_penduduk"])
    assert all(r["laki_laki"] == "" and r["perempuan"] == "" for r in rows
               if r["periode"] == "2020")
    assert all(r["laki_laki"] for r in rows if r["periode"] == "2024-S2")


def test_density_uses_the_reference_area(sample_run):
    site = sample_run["settings"].site_dir
    rows = _read_csv(site / "datasets" / SLUG / "latest" / f"{SLUG}.csv")
    areas = {r["kode_wilayah"]: float(r["luas_km2"])
             for r in _read_csv(PROJECT_ROOT / "data" / "reference" /
                                "wilayah_kabupaten_kota.csv")}
    for r in rows:
        assert float(r["luas_km2"]) == areas[r["kode_wilayah"]]
        expected = round(int(r["jumlah_penduduk"]) / areas[r["kode_wilayah"]], 2)
        assert float(r["kepadatan_per_km2"]) == pytest.approx(expected, abs=0.006)


def test_release_is_complete_and_verifiable(sample_run):
    site = sample_run["settings"].site_dir
    latest = site / "datasets" / SLUG / "latest"
    assert latest.is_symlink()
    names = {p.name for p in latest.iterdir()}
    assert {f"{SLUG}.csv", f"{SLUG}.parquet", "datapackage.json", "SHA256SUMS"} <= names
    import hashlib

    for line in (latest / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((latest / name).read_bytes()).hexdigest() == digest
    pkg = json.loads((latest / "datapackage.json").read_text())
    assert pkg["name"] == SLUG
    assert pkg["licenses"][0]["name"] == "CC-BY-4.0"
    assert {f["name"] for f in pkg["resources"][0]["schema"]["fields"]} >= {"kode_wilayah",
                                                                          "jumlah_penduduk"}
    parquet_rows = duckdb.connect().execute(
        "select count(*) from read_parquet(?)", [str(latest / f"{SLUG}.parquet")]).fetchone()[0]
    assert parquet_rows == 16


def test_catalog_lists_the_dataset_with_its_metadata(sample_run):
    site = sample_run["settings"].site_dir
    catalog = json.loads((site / "catalog.json").read_text())
    (entry,) = [d for d in catalog["datasets"] if d["slug"] == SLUG]
    assert entry["title"]["id"] == "Jumlah Penduduk per Kabupaten/Kota"
    assert entry["license"] == "CC-BY-4.0"
    assert entry["walidata"] and entry["produsen_data"]
    assert entry["temporal"] == "2020/2024-S2"
    assert entry["row_count"] == 16
    assert len(entry["versions"]) == 1
    assert entry["versions"][0]["version"] == entry["latest_version"]


def test_second_run_with_nothing_new_publishes_no_new_version(sample_run):
    first, second = sample_run["first"], sample_run["second"]
    assert {p["status"] for p in first["published"]} == {"published"}
    assert {p["status"] for p in second["published"]} == {"unchanged"}
    assert sum(f["accepted"] for f in second["feeds"]) == 0
    assert sum(f["skipped"] for f in second["feeds"]) == N_SAMPLE_FILES
    site = sample_run["settings"].site_dir
    versions = [d for d in (site / "datasets" / SLUG).iterdir() if not d.is_symlink()]
    assert len(versions) == 1
    # Nothing accepted, project unchanged: dbt is not run again; publication still is.
    assert first["dbt"]["nodes"] > 0
    assert second["dbt"] == {"skipped": True}
    assert any("dbt build skipped" in n for n in second["notes"])
    assert "dbt" in first["timings"] and "dbt" not in second["timings"]
    assert second["timings"]["publish"]["calls"] == 1


def test_every_received_file_is_snapshotted_and_logged(sample_run):
    settings = sample_run["settings"]
    snapshots = [p for p in settings.raw_dir.rglob("*")
                 if p.is_file() and not p.name.endswith(".meta.json")]
    assert len(snapshots) == N_SAMPLE_FILES
    for snap in snapshots:
        sidecar = json.loads(snap.with_name(f"{snap.stem}.meta.json").read_text())
        assert sidecar["sha256"] == snap.stem
        assert sidecar["feed"].split(".")[1] in DATASETS
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        statuses = con.execute(
            "select status, count(*) from meta.submissions group by 1").fetchall()
        lineage = con.execute(
            "select count(*) from raw.penduduk where _source_sha256 is null").fetchone()[0]
    assert sorted(statuses) == [("accepted", N_GOOD_FILES), ("quarantined", len(BAD_SAMPLES))]
    assert lineage == 0


def test_bad_file_is_quarantined_and_the_last_good_data_stays(prefect_harness, tmp_path,
                                                                monkeypatch):
    """Kota Serang re-sends its 2024-S2 file with a broken count: quarantined with a
    reason naming the file, row and column; its previous figures stay published; a later
    corrected file replaces them."""
    from flows.pipeline import pipeline

    feeds = copy_sample_data(tmp_path / "data")
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))
    pipeline(regency="36.73", dataset="penduduk")

    landing = tmp_path / "data" / "landing" / "36.73" / "penduduk"
    good = (landing / "penduduk_2024s2.csv").read_text(encoding="cp1252")
    (landing / "penduduk_2024s2_revisi.csv").write_text(
        good.replace("759.929", "7x9.929"), encoding="cp1252")
    result = pipeline(regency="36.73", dataset="penduduk")
    (summary,) = result["feeds"]
    assert summary["quarantined"] == 1
    reason = summary["reasons"][0]
    assert "penduduk_2024s2_revisi.csv" in reason
    assert "row 1" in reason and "Jumlah Penduduk (jiwa)" in reason and "7x9.929" in reason
    quarantined = list((tmp_path / "home" / "quarantine" / "kota-serang.penduduk").iterdir())
    assert any(p.name.endswith(".reason.txt") for p in quarantined)
    site = tmp_path / "home" / "site" / "datasets" / SLUG / "latest" / f"{SLUG}.csv"
    rows = {(r["kode_wilayah"], r["periode"]): r for r in _read_csv(site)}
    assert rows[("36.73", "2024-S2")]["jumlah_penduduk"] == "759929"

    # The regency corrects its count: the new file replaces that period, not appends.
    os.remove(landing / "penduduk_2024s2_revisi.csv")
    (landing / "penduduk_2024s2_revisi2.csv").write_text(
        good.replace("387.152", "387.153").replace("759.929", "759.930"), encoding="cp1252")
    result = pipeline(regency="36.73", dataset="penduduk")
    assert {p["slug"]: p["status"] for p in result["published"]}[SLUG] == "published"
    rows = _read_csv(site)
    serang = [r for r in rows if r["kode_wilayah"] == "36.73" and r["periode"] == "2024-S2"]
    assert [r["jumlah_penduduk"] for r in serang] == ["759930"]
    catalog = json.loads((tmp_path / "home" / "site" / "catalog.json").read_text())
    (entry,) = [d for d in catalog["datasets"] if d["slug"] == SLUG]
    assert len(entry["versions"]) == 2
    assert entry["versions"][0]["changelog"]["en"] == "1 row changed"
    shutil.rmtree(tmp_path / "home", ignore_errors=True)


def test_a_revision_in_the_same_run_replaces_the_original(prefect_harness, tmp_path,
                                                          monkeypatch):
    """A regency's first delivery holds a file and, later in the same folder, its
    revision of the same period: both are accepted in one run (one transaction, batch by
    batch in the order received), and only the revision's figures remain."""
    from flows.pipeline import pipeline

    feeds = copy_sample_data(tmp_path / "data")
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))
    landing = tmp_path / "data" / "landing" / "36.73" / "penduduk"
    good = (landing / "penduduk_2024s2.csv").read_text(encoding="cp1252")
    (landing / "penduduk_2024s2_revisi.csv").write_text(
        good.replace("387.152", "387.153").replace("759.929", "759.930"), encoding="cp1252")
    result = pipeline(regency="36.73", dataset="penduduk")
    (summary,) = result["feeds"]
    assert (summary["accepted"], summary["quarantined"]) == (3, 0)
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        totals = con.execute("select periode, jumlah_penduduk from raw.penduduk "
                             "order by periode").fetchall()
        accepted = con.execute("select file_name from meta.submissions where status = "
                               "'accepted' order by received_at, file_name").fetchall()
    assert totals == [("2020", 692101), ("2024-S2", 759930)]
    assert [a[0] for a in accepted] == ["penduduk_2020.csv", "penduduk_2024s2.csv",
                                        "penduduk_2024s2_revisi.csv"]
    shutil.rmtree(tmp_path / "home", ignore_errors=True)


def test_catalogue_shows_the_published_dataset_with_its_downloads(sample_run, monkeypatch):
    """AppTest on the site the real pipeline published (not a fixture)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SATUDATA_SITE", str(sample_run["settings"].site_dir))
    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "app" / "catalogue.py"), default_timeout=30)
    at.run()
    assert not at.exception
    page = "\n".join(str(m.value) for kind in ("subheader", "markdown") for m in at.get(kind))
    assert "Jumlah Penduduk per Kabupaten/Kota" in page

    at = AppTest.from_file(str(PROJECT_ROOT / "app" / "catalogue.py"), default_timeout=30)
    at.query_params["dataset"] = SLUG
    at.run()
    assert not at.exception
    frame = at.dataframe[0].value          # the preview comes first
    assert len(frame) == 16
    assert frame["jumlah_penduduk"].sum() == 11_904_562 + 12_881_374
    labels = [b.label for b in at.get("download_button")]
    assert any("CSV" in label for label in labels)
    assert any("Parquet" in label for label in labels)
    st.cache_data.clear()


def test_indicators_reproduce_the_reference_series(sample_run):
    """Eight regencies, four shapes (named or coded indicators, decimal commas, XLSX,
    CKAN): the published long table equals the real reference figures, row for row."""
    site = sample_run["settings"].site_dir
    slug = "indikator-kabupaten-kota"
    published = {(r["kode_wilayah"], r["indikator"], r["tahun"]): r
                 for r in _read_csv(site / "datasets" / slug / "latest" / f"{slug}.csv")}
    reference = _read_csv(PROJECT_ROOT / "data" / "reference" / "indikator_kabupaten_kota.csv")
    assert len(published) == len(reference) == 77
    for ref in reference:
        row = published[(ref["kode_wilayah"], ref["indikator"], ref["tahun"])]
        assert float(row["nilai"]) == float(ref["nilai"])
        assert row["satuan"] == ref["satuan"]
    ipm = {r["seri"] for r in published.values() if r["indikator"].startswith("ipm")}
    assert ipm == {"ipm_metode_lama"}


def test_every_regency_sends_every_dataset_and_all_are_accepted(sample_run):
    feeds = sample_run["first"]["feeds"]
    accepted = {(f["regency"], f["dataset"]) for f in feeds if f["accepted"] and not f["error"]}
    assert accepted == {(r, d) for r in REGENCIES for d in DATASETS} | {("36", "penduduk")}
    reasons = [r for f in feeds for r in f["reasons"]]
    assert len(reasons) == len(BAD_SAMPLES)
    for name, pattern in BAD_SAMPLES.items():
        (reason,) = [r for r in reasons if name in r]
        assert re.search(pattern, reason), reason


def test_complaints_reproduce_the_kota_tangerang_2024_calibration(sample_run):
    """LAKSA, Kota Tangerang, 2024: 14,012 complaints, 13,421 selesai, 20 proses, 571
    menunggu (the synthetic sample is calibrated on these published totals)."""
    site = sample_run["settings"].site_dir
    slug = "aduan-masyarakat-bulanan"
    rows = [r for r in _read_csv(site / "datasets" / slug / "latest" / f"{slug}.csv")
            if r["kode_wilayah"] == "36.71" and r["bulan"].startswith("2024-")]
    totals = {k: sum(int(r[k]) for r in rows) for k in
              ("jumlah_diterima", "jumlah_selesai", "jumlah_proses", "jumlah_menunggu")}
    assert totals == {"jumlah_diterima": 14_012, "jumlah_selesai": 13_421,
                      "jumlah_proses": 20, "jumlah_menunggu": 571}
    assert {r["bulan"] for r in rows} == {f"2024-{m:02d}" for m in range(1, 13)}


def test_no_personal_data_in_any_published_file(sample_run):
    """The complaint exports carry names, NIKs, phones and e-mails; none is published."""
    import re

    site = sample_run["settings"].site_dir
    nik = re.compile(rb"(?<![0-9])36[0-9]{14}(?![0-9])")
    phone = re.compile(rb"(?<![0-9])(\+62|62|0)[ -]?8[1-9][0-9 -]{7,12}")
    email = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}")
    checked = 0
    for path in (site / "datasets").rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json"):
            body = path.read_bytes()
            assert not nik.search(body), path
            assert not phone.search(body), path
            assert not email.search(body), path
            checked += 1
    assert checked >= 10
    columns = {c["name"] for d in json.loads((site / "catalog.json").read_text())["datasets"]
               for c in d["columns"]}
    assert not columns & {"nama_pelapor", "nik_pelapor", "telepon_pelapor", "email_pelapor"}


def test_quarantine_reasons_speak_of_the_file_not_internal_tables(sample_run):
    """A data steward reads the reason: it names the file, the column and the rule, never
    the pipeline's own batch table."""
    reasons = [r for f in sample_run["first"]["feeds"] for r in f["reasons"]]
    assert len(reasons) == 2
    rejected = [r for r in reasons if "rejected by suite" in r]
    assert rejected and all("the file was rejected by suite 'indikator'" in r.lower()
                            for r in rejected)
    assert all("indikator_2024_2025_tambahan.csv" in r for r in rejected)
    assert not any("sd_scratch" in r or "b_" in r.split(":")[2] for r in reasons)


def test_the_province_wide_feed_replaces_each_regency_slice_and_skips_its_total(sample_run):
    """The provincial DKB workbook (title block with the period, two-row merged header, a
    province total row) is accepted as 8 regency rows: each regency's 2024-S2 slice now
    comes from it (the lineage names it), the total row is not counted, and the published
    totals still equal the reference."""
    feeds = {f["feed_id"]: f for f in sample_run["first"]["feeds"]}
    province = feeds["prov-banten.penduduk"]
    assert (province["accepted"], province["rows"], province["quarantined"]) == (1, 8, 0)
    with duckdb.connect(str(sample_run["settings"].warehouse), read_only=True) as con:
        rows = con.execute(
            "select _regency, _feed_id, jumlah_penduduk from raw.penduduk "
            "where periode = '2024-S2' order by 1").fetchall()
    assert [r[0] for r in rows] == sorted(REGENCIES)
    assert {r[1] for r in rows} == {"prov-banten.penduduk"}
    reference = {r["kode_wilayah"]: int(r["jumlah_penduduk"]) for r in _read_csv(
        PROJECT_ROOT / "data" / "reference" / "penduduk_dukcapil_2024s2.csv")}
    assert {r[0]: r[2] for r in rows} == reference
