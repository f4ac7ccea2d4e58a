"""Intake you can trust: one file never stops its feed, a fixed feed re-processes what it
quarantined, forgiving values, the gate agrees with dbt, honest statuses. Real pipeline
runs (Prefect, DuckDB, GX, dbt) on copies of the bundled samples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.helpers import PROJECT_ROOT, copy_sample_data

PENDUDUK = "penduduk-kabupaten-kota"
ADUAN = "aduan-masyarakat-bulanan"


def _reference_totals() -> dict[str, int]:
    totals: dict[str, int] = {}
    for name, period_col in (("penduduk_sp2020.csv", "tahun"),
                             ("penduduk_dukcapil_2024s2.csv", "periode")):
        with open(PROJECT_ROOT / "data" / "reference" / name, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                totals[row[period_col]] = (totals.get(row[period_col], 0)
                                           + int(row["jumlah_penduduk"]))
    return totals


def _published(home: Path, slug: str) -> list[dict]:
    path = home / "site" / "datasets" / slug / "latest" / f"{slug}.csv"
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _registry(tmp_path: Path, monkeypatch, keep) -> tuple[Path, dict]:
    """A private copy of the samples whose registry keeps the feeds `keep(feed)` accepts;
    SATUDATA_FEEDS and SATUDATA_HOME point at it."""
    feeds_path = copy_sample_data(tmp_path / "data")
    doc = yaml.safe_load(feeds_path.read_text(encoding="utf-8"))
    doc["feeds"] = [f for f in doc["feeds"] if keep(f)]
    synthetic = yaml.safe_load((feeds_path.parent / "feeds_synthetic.yml").read_text())
    doc["feeds"] += [f for f in synthetic["feeds"] if keep(f)]
    doc["datasets"].update(synthetic["datasets"])
    doc.pop("include", None)
    feeds_path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                          encoding="utf-8")
    monkeypatch.setenv("SATUDATA_FEEDS", str(feeds_path))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))
    return feeds_path, doc


def _dukcapil_workbook(path: Path) -> None:
    """A real-shaped regency workbook: title block, two-row merged header."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["DATA PENDUDUK KABUPATEN PANDEGLANG"])
    ws.append(["SEMESTER I 2025"])
    ws.append([])
    ws.append(["No", "Wilayah", "Jumlah Penduduk", None, None])
    ws.append([None, None, "Laki-laki", "Perempuan", "Total"])
    ws.merge_cells("C4:E4")
    ws.append([1, "KABUPATEN PANDEGLANG", 740000, 700000, 1440000])
    wb.save(path)


def test_a_bad_and_a_crashing_file_never_stop_their_feed(prefect_harness, tmp_path,
                                                         monkeypatch):
    """Two files that sort before the good ones of Kabupaten Pandeglang: a workbook in a
    shape the feed is not configured for (quarantined with its reason) and one on which
    the pipeline itself fails (quarantined as an internal error, the run completes with
    errors). The good files are still accepted and the province totals are right."""
    from flows.ingest import load as ingest
    from flows.pipeline import pipeline
    from flows.report import EXIT_CODES

    _registry(tmp_path, monkeypatch, lambda f: f["dataset"] == "penduduk")
    landing = tmp_path / "data" / "landing" / "36.01" / "penduduk"
    _dukcapil_workbook(landing / "0_rekap_semester_i_2025.xlsx")
    (landing / "00_meledak.xlsx").write_bytes((landing / "penduduk_2020.xlsx").read_bytes()
                                              + b"\0")
    real_read = ingest.read_file

    def read_file(con, feed, path, table, name=None):
        if name == "00_meledak.xlsx":
            raise RuntimeError("simulated bug in a reader")
        return real_read(con, feed, path, table, name)

    monkeypatch.setattr(ingest, "read_file", read_file)

    result = pipeline(dataset="penduduk")

    assert result["status"] == "completed_with_errors"
    assert EXIT_CODES[result["status"]] == 3
    feeds = {f["feed_id"]: f for f in result["feeds"]}
    pandeglang = feeds["kab-pandeglang.penduduk"]
    assert pandeglang["accepted"] == 2 and pandeglang["quarantined"] == 2
    assert len(pandeglang["internal_errors"]) == 1
    assert "RuntimeError" in pandeglang["internal_errors"][0]
    reasons = {q["file_name"]: q["reason"] for q in pandeglang["quarantined_files"]}
    assert "INTERNAL ERROR" in reasons["00_meledak.xlsx"]
    assert "simulated bug in a reader" in reasons["00_meledak.xlsx"]
    assert "INTERNAL ERROR" not in reasons["0_rekap_semester_i_2025.xlsx"]
    assert "0_rekap_semester_i_2025.xlsx" in reasons["0_rekap_semester_i_2025.xlsx"]
    kept = tmp_path / "home" / "quarantine" / "kab-pandeglang.penduduk"
    assert any(p.name.endswith("00_meledak.xlsx.reason.txt") for p in kept.iterdir())

    totals: dict[str, int] = {}
    for r in _published(tmp_path / "home", PENDUDUK):
        totals[r["periode"]] = totals.get(r["periode"], 0) + int(r["jumlah_penduduk"])
    assert totals == _reference_totals()

    from flows.alerts import events_of, payload
    assert "internal_error" in events_of(result)
    assert "00_meledak.xlsx" in payload(result)["text"] or payload(result)["internal_errors"]


def test_a_fixed_feed_re_processes_what_it_quarantined(prefect_harness, tmp_path,
                                                      monkeypatch):
    """A renamed column quarantines Kabupaten Lebak's new file; once the mapping is added
    to the registry, a plain run (no backfill) accepts it; a third run takes nothing."""
    from flows.pipeline import pipeline

    feeds_path, doc = _registry(tmp_path, monkeypatch,
                                lambda f: f["id"] == "kab-lebak.penduduk")
    landing = tmp_path / "data" / "landing" / "36.02" / "penduduk"
    text = (landing / "penduduk_2024s2.csv").read_text(encoding="utf-8")
    (landing / "penduduk_2025s1.csv").write_text(
        text.replace("Jumlah Penduduk (jiwa)", "Jumlah Jiwa").replace("Semester II 2024",
                                                                  "SMT 1 2025"),
        encoding="utf-8")

    first = pipeline(dataset="penduduk")
    feed = first["feeds"][0]
    assert (feed["accepted"], feed["quarantined"]) == (2, 1)
    assert "Jumlah Jiwa" in feed["reasons"][0]

    doc["feeds"][0]["columns"]["Jumlah Jiwa"] = "jumlah_penduduk"
    feeds_path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                          encoding="utf-8")
    second = pipeline(dataset="penduduk")
    feed = second["feeds"][0]
    assert (feed["files"], feed["skipped"], feed["retried"], feed["accepted"]) == (3, 2, 1, 1)
    assert any("tried again" in n for n in second["notes"])
    periods = {r["periode"] for r in _published(tmp_path / "home", PENDUDUK)}
    assert "2025-S1" in periods

    third = pipeline(dataset="penduduk")
    feed = third["feeds"][0]
    assert (feed["skipped"], feed["retried"], feed["accepted"]) == (3, 0, 0)


def _four_years_on(src: Path, dst: Path, delimiter: str, *, id_prefix: str,
               edit=lambda i, row: row) -> None:
    """A month of complaints four years on (2028: a leap year too, so 29 February stays a
    date): every 2024 date becomes 2028, ticket numbers get a prefix (new tickets);
    `edit` may change a row."""
    with open(src, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    header, body = rows[0], rows[1:]
    out = [header]
    for i, row in enumerate(body):
        row = [c.replace("2024", "2028") if "/" in c or "-" in c[:5] else c for c in row]
        row[0] = id_prefix + row[0]
        out.append(edit(i, row))
    with open(dst, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(out)


def test_unknown_category_is_quarantined_alone_and_case_variants_are_mapped(
        prefect_harness, tmp_path, monkeypatch):
    """Kota Tangerang's new month has a category nobody knows: the file is quarantined at
    the gate, and Kota Serang's new month (with categories in other capitalisations) is
    published in the same run; what was mapped is recorded."""
    from flows.pipeline import pipeline

    _registry(tmp_path, monkeypatch,
              lambda f: f["id"] in ("kota-tangerang.aduan", "kota-serang.aduan"))
    tng = tmp_path / "data" / "landing" / "36.71" / "aduan"
    srg = tmp_path / "data" / "landing" / "36.73" / "aduan"

    def unknown(i, row):
        if i == 3:
            row[4] = "Jalan Berlubang"
        return row

    def capitalised(i, row):
        if i % 2 == 0:
            row[4] = "  " + row[4].upper() + " "
        return row

    _four_years_on(tng / "aduan_2024_01.csv", tng / "aduan_2028_01.csv", ";", id_prefix="X",
               edit=unknown)
    _four_years_on(srg / "aduan_2024_01.csv", srg / "aduan_2028_01.csv", ",", id_prefix="9",
               edit=capitalised)

    result = pipeline(dataset="aduan")

    feeds = {f["feed_id"]: f for f in result["feeds"]}
    assert feeds["kota-tangerang.aduan"]["quarantined"] == 1
    assert "Jalan Berlubang" in feeds["kota-tangerang.aduan"]["reasons"][0]
    assert feeds["kota-serang.aduan"]["quarantined"] == 0
    assert feeds["kota-serang.aduan"]["accepted"] == 13
    mapped = feeds["kota-serang.aduan"]["mapped_values"]
    from flows.ingest import value_key
    assert {m["stored"] for m in mapped} >= {"banjir", "lampu PJU padam"}
    assert all(m["column"] == "kategori" and value_key(m["stored"]) == value_key(m["sent"])
               and m["stored"] != m["sent"] for m in mapped)
    assert result["status"] == "completed"
    months = {(r["kode_wilayah"], r["bulan"][:7]) for r in _published(tmp_path / "home",
                                                                       ADUAN)}
    assert ("36.73", "2028-01") in months
    assert ("36.71", "2028-01") not in months and ("36.71", "2024-12") in months
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        stored = con.execute("select count(*), sum(rows) from meta.value_mappings "
                             "where feed_id = 'kota-serang.aduan'").fetchone()
    assert stored[0] == len(mapped) and stored[1] > 0


def test_a_dbt_failure_in_one_dataset_does_not_stop_the_others(prefect_harness, tmp_path,
                                                               monkeypatch):
    """A new month that repeats tickets of an earlier month passes the gate (unique within
    its file) but fails dbt's uniqueness test: the complaint datasets keep their last
    release (none yet here) and the run completes with errors, while the population
    dataset is published in the same run."""
    from flows.pipeline import pipeline

    _registry(tmp_path, monkeypatch,
              lambda f: f["id"] in ("kota-tangerang.aduan", "kab-lebak.penduduk"))
    tng = tmp_path / "data" / "landing" / "36.71" / "aduan"
    _four_years_on(tng / "aduan_2024_01.csv", tng / "aduan_2028_01.csv", ";", id_prefix="")

    result = pipeline()

    assert result["status"] == "completed_with_errors"
    published = {p["slug"]: p for p in result["published"]}
    assert published[PENDUDUK]["status"] == "published"
    assert published[ADUAN]["status"] == "failed"
    assert "unique" in published[ADUAN]["message"]
    assert any("aduan" in e for e in result["dataset_errors"])
    assert (tmp_path / "home" / "site" / "datasets" / PENDUDUK / "latest").exists()
    assert not (tmp_path / "home" / "site" / "datasets" / ADUAN / "latest").exists()


# --- fast units --------------------------------------------------------------------------


@pytest.mark.parametrize("sent, stored", [
    ("Banjir", "banjir"), ("  LAMPU   pju PADAM ", "lampu PJU padam"), ("bánjir", "banjir"),
    ("Jalan Berlubang", "Jalan Berlubang"), ("banjir", "banjir"), (None, None),
])
def test_categorical_values_match_ignoring_case_accents_and_spaces(sent, stored):
    from flows.ingest.plan import _canonical_expr

    sql = _canonical_expr("x", ("banjir", "lampu PJU padam", "sampah"))
    got = duckdb.execute(f"select trim({sql}) from (select ?::varchar as x)",
                         [sent]).fetchone()[0]
    assert got == stored


def test_values_fixed_by_title_and_file_name():
    from flows.ingest import fixed_values
    from flows.readers import SubmissionError
    from flows.registry import Extract, Feed

    feed = Feed(id="x.penduduk", regency="36.04", dataset="penduduk", channel="landing",
                format="xlsx", columns={}, base_dir=Path("."),
                constants={"nama_wilayah": "Kabupaten Serang"},
                extract={"periode": Extract("title", r"(semester\s+[iv]+\s+\d{4})")})
    values = fixed_values(feed, "rekap.xlsx", ["DATA PENDUDUK", "SEMESTER II 2024"])
    assert values == {"nama_wilayah": "Kabupaten Serang", "periode": "SEMESTER II 2024"}
    with pytest.raises(SubmissionError, match=r"rekap.xlsx: extract.periode .* found nothing"):
        fixed_values(feed, "rekap.xlsx", ["DATA PENDUDUK"])
    by_name = Feed(id="x.penduduk", regency="36.04", dataset="penduduk", channel="landing",
                   format="csv", columns={}, base_dir=Path("."),
                   extract={"periode": Extract("file_name", r"_(\d{4}-s[12])\.")})
    assert fixed_values(by_name, "dkb_2025-S1.csv", []) == {"periode": "2025-S1"}


@pytest.mark.parametrize("cell, total", [
    ("36", True), ("Banten", True), ("PROVINSI BANTEN", True), ("prov. banten", True),
    ("36.04", False), ("KAB. SERANG", False), ("Banten Lama", False),
])
def test_province_total_row_is_recognised(cell, total):
    from flows.ingest import province_total_pattern

    got = duckdb.execute("select regexp_matches(lower(trim(?)), ?)",
                         [cell, province_total_pattern("36")]).fetchone()[0]
    assert got is total


def test_quarantined_files_come_back_only_when_their_fingerprint_changed():
    from flows.retry import known_hashes

    con = duckdb.connect()
    con.execute("create schema meta")
    con.execute("create table meta.submissions (sha256 varchar, feed_id varchar, "
                "status varchar, fingerprint varchar, received_at timestamptz)")
    con.executemany("insert into meta.submissions values (?, ?, ?, ?, now() + "
                    "to_seconds(?))", [
                        ["a", "f1", "accepted", "fp1", 0],
                        ["b", "f1", "quarantined", "fp0", 1],   # judged by an old entry
                        ["c", "f1", "quarantined", "fp1", 2],   # judged by today's
                        ["d", "f2", "quarantined", "fp0", 3],   # another feed, not selected
                        ["e", "f1", "quarantined", "fp0", 4],
                        ["e", "f1", "accepted", "fp1", 5],      # accepted since
                    ])

    class F:
        def __init__(self, id_):
            self.id = id_

    known, retry = known_hashes(con, [F("f1")], {"f1": "fp1"})
    assert known == {"a", "b", "c", "d", "e"}
    assert retry == {"f1": {"b"}}


def test_held_back_names_the_models_a_failed_test_touches(tmp_path):
    from flows.settings import Settings
    from flows.transform import DbtResult, held_back

    settings = Settings(home=tmp_path, feeds_file=tmp_path / "feeds.yml")
    settings.dbt_target_dir.mkdir(parents=True)
    nodes = {
        "model.p.dim_wilayah": {"resource_type": "model", "name": "dim_wilayah"},
        "model.p.stg_aduan": {"resource_type": "model", "name": "stg_aduan"},
        "model.p.fct_aduan": {"resource_type": "model", "name": "fct_aduan"},
        "model.p.aduan_bulanan": {"resource_type": "model", "name": "aduan_bulanan"},
        "model.p.penduduk": {"resource_type": "model", "name": "penduduk"},
        "test.p.relationships_fct_aduan": {
            "resource_type": "test", "attached_node": "model.p.fct_aduan",
            "depends_on": {"nodes": ["model.p.fct_aduan", "model.p.dim_wilayah"]}},
    }
    parents = {"model.p.fct_aduan": ["model.p.stg_aduan", "model.p.dim_wilayah"],
               "model.p.aduan_bulanan": ["model.p.fct_aduan"],
               "model.p.penduduk": ["model.p.dim_wilayah"]}
    (settings.dbt_target_dir / "manifest.json").write_text(
        json.dumps({"nodes": nodes, "parent_map": parents}))
    result = DbtResult("build", 1.0, [
        {"unique_id": "test.p.relationships_fct_aduan", "status": "fail", "message": "1"},
        {"unique_id": "model.p.aduan_bulanan", "status": "skipped", "message": None},
        {"unique_id": "model.p.penduduk", "status": "success", "message": None},
    ])
    held = held_back(settings, result)
    assert set(held) == {"fct_aduan", "aduan_bulanan"}
    assert "relationships_fct_aduan" in held["fct_aduan"]


def test_run_status_is_honest():
    from flows.report import EXIT_CODES, FeedSummary, RunSummary

    run = RunSummary(run_id="r", started_at="now")
    run.feeds.append(FeedSummary("f", "36.01", "penduduk", quarantined=1))
    run.settle()
    assert run.status == "completed" and EXIT_CODES[run.status] == 0
    run.feeds[0].internal_errors.append("feed f: x.csv: KeyError: 'a'")
    run.settle()
    assert run.status == "completed_with_errors" and EXIT_CODES[run.status] == 3
    run.errors.append("dbt could not start")
    run.settle()
    assert run.status == "failed" and EXIT_CODES[run.status] == 1


def _dbt_value_tests():
    """(model, column, accepted values) for each dbt test that pins a mart column to a
    list: `accepted_values`, and `relationships` to a seed (its CSV's column)."""
    found = []
    for path in sorted((PROJECT_ROOT / "dbt" / "models").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            for column in model.get("columns") or []:
                for test in column.get("data_tests") or []:
                    if not isinstance(test, dict):
                        continue
                    args = next(iter(test.values())).get("arguments", {})
                    if "accepted_values" in test:
                        found.append((model["name"], column["name"], set(args["values"])))
                    elif "relationships" in test:
                        seed = PROJECT_ROOT / "dbt" / "seeds" / (
                            args["to"].split("'")[1] + ".csv")
                        if seed.is_file():
                            with open(seed, encoding="utf-8") as f:
                                found.append((model["name"], column["name"],
                                              {r[args["field"]] for r in csv.DictReader(f)}))
    return found


def test_every_dbt_value_test_on_regency_rows_has_a_critical_rule_at_the_gate():
    """A dbt test that one regency's rows can fail (a category or status outside the
    list) must be a critical rule of that dataset's suite with the same list, so the file
    is quarantined alone instead of stopping the dataset for every regency."""
    from flows.quality import load_suite
    from flows.registry import load_registry

    datasets = load_registry(PROJECT_ROOT / "data" / "feeds.yml").datasets
    checked = 0
    for model, column, values in _dbt_value_tests():
        owners = [d for d in datasets.values() if column in d.column_names]
        if not owners:
            continue   # a column the marts make themselves (dim_wilayah.tingkat)
        (dataset,) = owners
        rules = [e for e in load_suite(dataset.name)["expectations"]
                 if e["expect"] == "expect_column_values_to_be_in_set"
                 and e["kwargs"].get("column") == column]
        assert rules, f"{model}.{column}: dbt pins its values, suite '{dataset.name}' does not"
        assert all(r["severity"] == "critical" for r in rules), f"{dataset.name}.{column}"
        assert {set(r["kwargs"]["value_set"]) == values for r in rules} == {True}, (
            f"{model}.{column}: the suite's list differs from dbt's")
        checked += 1
    assert checked >= 3   # aduan.kategori, aduan.status, fasilitas_kesehatan.jenis_fasilitas
