"""Coverage and the drop guard: a published period that lacks a regency says so in
release.json, catalog.json and data.json, and a release never silently loses a
regency-period an earlier release had.

Real DuckDB warehouses (initialised by flows/warehouse.py, with `meta.submissions` and the
reference tables), a real feed registry read by flows/registry.py, a hand-written
manifest of dbt's shape (model -> staging -> source raw.penduduk), and real releases
written by flows/publish.py. `published_site` is also used by tests/test_app.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from flows import publish as pub
from flows.registry import load_registry
from flows.settings import Settings
from flows.warehouse import initialise
from tests.helpers import PROJECT_ROOT
from tests.test_publish import dcat_validator

SLUG = "penduduk-kabupaten-kota"
MODEL = "penduduk_kabupaten_kota"
T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
REFERENCE = PROJECT_ROOT / "data" / "reference"
CODES = ["36.01", "36.02", "36.03", "36.04", "36.71", "36.72", "36.73", "36.74"]
DESCRIPTION_ID = "Jumlah penduduk setiap kabupaten/kota di Provinsi Banten per periode."


def _reference(name: str, period_column: str) -> list[tuple[str, str, str, int]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return [(r["kode_wilayah"], r["nama"], r[period_column], int(r["jumlah_penduduk"]))
                for r in csv.DictReader(f)]


# The real figures: SP2020 (11,904,562) and Dukcapil DKB 2024-S2 (12,881,374).
ROWS = (_reference("penduduk_sp2020.csv", "tahun")
        + _reference("penduduk_dukcapil_2024s2.csv", "periode"))
NAMES = {code: name for code, name, _, _ in ROWS}


def registry_yaml(regencies: list[str]) -> str:
    """A feed registry with dataset penduduk and one feed per regency in `regencies`
    ("36" is a province-wide feed)."""
    feeds = "".join(
        f"""
  - id: r{code.replace('.', '')}.penduduk
    regency: "{code}"
    dataset: penduduk
    channel: landing
    path: landing/{code}/penduduk/*.csv
    format: csv
    columns: {{Kode: kode_wilayah, Periode: periode, Jumlah: jumlah_penduduk}}
""" for code in regencies)
    return f"""datasets:
  penduduk:
    frequency: R/P6M
    key: [kode_wilayah, periode]
    replace_by: [periode]
    columns:
      kode_wilayah: {{type: region_code, required: true}}
      periode: {{type: period, required: true}}
      jumlah_penduduk: {{type: integer, required: true}}
feeds:{feeds}"""


def manifest(coverage: dict | None = None) -> dict:
    """dbt's manifest in miniature: the mart reads stg_penduduk, which reads raw.penduduk,
    and dim_wilayah, which reads the reference source."""
    meta = {
        "slug": SLUG, "title": {"id": "Jumlah Penduduk per Kabupaten/Kota",
                                "en": "Population by Regency/City"},
        "description": {"id": DESCRIPTION_ID,
                        "en": "Population of each regency/city of Banten per period."},
        "theme": "kependudukan", "keywords": ["penduduk", "population"], "unit": "jiwa",
        "frequency": "R/P6M", "produsen_data": ["Disdukcapil kabupaten/kota se-Banten"],
        "walidata": "Diskominfo Provinsi Banten", "license": "CC-BY-4.0",
        "source": {"id": "DKB Dukcapil", "en": "Dukcapil DKB"},
        "spatial": "Provinsi Banten (36): 8 kabupaten/kota", "synthetic": False,
        "temporal_column": "periode", "key": ["kode_wilayah", "periode"],
        "coverage": coverage if coverage is not None else {
            "region": "kode_wilayah", "period": "periode", "datasets": ["penduduk"]},
    }
    columns = {
        "kode_wilayah": "Kode wilayah Kemendagri", "nama_wilayah": "Nama kabupaten/kota",
        "periode": "Periode", "jumlah_penduduk": "Jumlah penduduk",
    }
    return {
        "nodes": {
            f"model.satudata_banten.{MODEL}": {
                "resource_type": "model", "name": MODEL,
                "relation_name": f'"warehouse"."marts"."{MODEL}"',
                "config": {"meta": {"open_data": meta}},
                "depends_on": {"nodes": ["model.satudata_banten.stg_penduduk",
                                         "model.satudata_banten.dim_wilayah"]},
                "columns": {name: {"name": name, "description": f"{desc} (en)",
                                   "config": {"meta": {"id": desc,
                                                       "classification": "public"}}}
                            for name, desc in columns.items()},
            },
            "model.satudata_banten.stg_penduduk": {
                "resource_type": "model", "name": "stg_penduduk", "config": {"meta": {}},
                "columns": {}, "relation_name": '"warehouse"."staging"."stg_penduduk"',
                "depends_on": {"nodes": ["source.satudata_banten.raw.penduduk"]},
            },
            "model.satudata_banten.dim_wilayah": {
                "resource_type": "model", "name": "dim_wilayah", "config": {"meta": {}},
                "columns": {}, "relation_name": '"warehouse"."marts"."dim_wilayah"',
                "depends_on": {"nodes": [
                    "source.satudata_banten.reference.wilayah_kabupaten_kota"]},
            },
        },
        "sources": {
            "source.satudata_banten.raw.penduduk": {"source_name": "raw", "name": "penduduk"},
            "source.satudata_banten.reference.wilayah_kabupaten_kota": {
                "source_name": "reference", "name": "wilayah_kabupaten_kota"},
        },
    }


def warehouse(tmp_path: Path, *, regencies: list[str] = CODES,
              leave_out: tuple[tuple[str, str], ...] = ()) -> tuple[Settings, pub.MartSpec]:
    """A warehouse initialised as the pipeline does (meta.submissions, reference tables),
    the mart `marts.penduduk_kabupaten_kota` with the real figures except the
    (regency, period) pairs in `leave_out`, and a registry with a penduduk feed for each
    of `regencies`."""
    feeds = tmp_path / "feeds.yml"
    feeds.write_text(registry_yaml(regencies), encoding="utf-8")
    settings = Settings(home=tmp_path / "home", feeds_file=feeds)
    initialise(settings.warehouse, load_registry(feeds).datasets, settings.reference_dir)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("alter table meta.submissions add column if not exists periods varchar[]")
        con.execute("create schema marts")
        con.execute(f"create table marts.{MODEL} (kode_wilayah varchar, nama_wilayah varchar, "
                    "periode varchar, jumlah_penduduk bigint)")
        con.executemany(f"insert into marts.{MODEL} values (?, ?, ?, ?)",
                        [r for r in ROWS if (r[0], r[2]) not in leave_out])
    (mart,) = pub.published_marts(manifest())
    return settings, mart


def mart_sql(settings: Settings, statement: str, params: list | None = None) -> None:
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(statement, params or [])


def submit(settings: Settings, regency: str, received_at: dt.datetime, *,
           dataset: str = "penduduk", status: str = "accepted") -> None:
    """A row of meta.submissions as the pipeline records one."""
    mart_sql(settings, """insert into meta.submissions (submission_id, feed_id, regency,
        dataset, file_name, source, sha256, bytes, received_at, rows, status, periods)
        values (?, ?, ?, ?, 'penduduk_2024s2.csv', 'landing', ?, 100, ?, 1, ?, ['2024-S2'])""",
             [uuid.uuid4().hex, f"r{regency}.{dataset}", regency, dataset, "ab" * 32,
              received_at, status])


def release_json(settings: Settings, version: str = "latest") -> dict:
    return json.loads((settings.site_dir / "datasets" / SLUG / version / "release.json")
                      .read_text(encoding="utf-8"))


def site_files(settings: Settings) -> tuple[dict, dict]:
    """(the dataset's catalog.json entry, its data.json dataset)."""
    catalog = json.loads((settings.site_dir / "catalog.json").read_text(encoding="utf-8"))
    data = json.loads((settings.site_dir / "data.json").read_text(encoding="utf-8"))
    dcat_validator().validate(data)
    (entry,) = [d for d in catalog["datasets"] if d["slug"] == SLUG]
    (dcat,) = [d for d in data["dataset"] if d["identifier"] == f"satudata-banten:{SLUG}"]
    return entry, dcat


def dataset_state(settings: Settings) -> tuple[str, list[str]]:
    folder = settings.site_dir / "datasets" / SLUG
    return (str((folder / "latest").readlink()),
            sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.is_symlink()))


def published_site(tmp_path: Path, leave_out: tuple[tuple[str, str], ...] = ()) -> Path:
    """A site published by flows/publish.py from the real figures without `leave_out`;
    returns the site folder."""
    settings, mart = warehouse(tmp_path, leave_out=leave_out)
    assert pub.publish_mart(settings, mart, now=T0).status == "published"
    pub.write_catalog(settings, [mart], now=T0)
    return settings.site_dir


def total(settings: Settings, period: str) -> int:
    parquet = settings.site_dir / "datasets" / SLUG / "latest" / f"{SLUG}.parquet"
    with duckdb.connect() as con:
        return con.execute("select sum(jumlah_penduduk) from read_parquet(?) where periode = ?",
                           [str(parquet), period]).fetchone()[0]


# --- coverage ---------------------------------------------------------------------------


def test_a_period_missing_a_regency_is_partial_in_every_published_file(tmp_path):
    """The issue's run: 2024-S2 without Kabupaten Pandeglang (11,444,328 instead of
    12,881,374) was published with no warning. Now it is published and says so."""
    settings, mart = warehouse(tmp_path, leave_out=(("36.01", "2024-S2"),))
    outcome = pub.publish_mart(settings, mart, now=T0)
    pub.write_catalog(settings, [mart], now=T0)
    assert outcome.status == "published"
    assert total(settings, "2024-S2") == 11_444_328
    assert "period 2024-S2 lacks Kabupaten Pandeglang (36.01)" in outcome.message

    coverage = release_json(settings)["coverage"]
    assert coverage["partial"] is True
    assert coverage["expected"] == CODES and coverage["datasets"] == ["penduduk"]
    assert coverage["periods"] == {
        "2020": {"period": "2020", "covered": 8, "missing": []},
        "2024-S2": {"period": "2024-S2", "covered": 7, "missing": ["36.01"]},
    }
    assert coverage["names"]["36.01"] == "Kabupaten Pandeglang"

    entry, dcat = site_files(settings)
    assert entry["coverage"]["partial"] is True
    assert entry["coverage"]["missing"] == [
        {"label": "2024-S2", "period": "2024-S2", "covered": 7,
         "regencies": [{"kode": "36.01", "nama": "Kabupaten Pandeglang"}]}]
    assert len(entry["coverage"]["expected"]) == 8
    assert entry["versions"][0]["partial"] is True
    assert entry["source_datasets"] == ["penduduk"]

    assert dcat["description"].startswith(DESCRIPTION_ID)
    assert ("DATA BELUM LENGKAP: periode 2024-S2 tanpa Kabupaten Pandeglang (36.01)."
            in dcat["description"])
    assert ("INCOMPLETE DATA: period 2024-S2 lacks Kabupaten Pandeglang (36.01)."
            in dcat["description"])
    assert dcat["dataQuality"] is False
    assert dcat["satudata"]["coverage"] == entry["coverage"]


def test_a_complete_dataset_is_not_partial(tmp_path):
    settings, mart = warehouse(tmp_path)
    outcome = pub.publish_mart(settings, mart, now=T0)
    pub.write_catalog(settings, [mart], now=T0)
    assert outcome.message == "First release"
    assert total(settings, "2024-S2") == 12_881_374

    coverage = release_json(settings)["coverage"]
    assert coverage["partial"] is False
    assert [p["covered"] for p in coverage["periods"].values()] == [8, 8]
    entry, dcat = site_files(settings)
    assert entry["coverage"]["partial"] is False and entry["coverage"]["missing"] == []
    assert entry["versions"][0]["partial"] is False
    assert dcat["description"] == DESCRIPTION_ID
    assert "dataQuality" not in dcat and dcat["satudata"]["coverage"]["partial"] is False


def test_unchanged_content_is_assessed_again_against_the_registry(tmp_path):
    """Kabupaten Pandeglang has no feed yet: its missing 2024-S2 is no gap. Once a
    province-wide feed is registered, every regency is expected: the same content, not
    published again, is now partial in the catalogue and data.json."""
    others = [c for c in CODES if c != "36.01"]
    settings, mart = warehouse(tmp_path, regencies=others,
                               leave_out=(("36.01", "2024-S2"),))
    first = pub.publish_mart(settings, mart, now=T0)
    pub.write_catalog(settings, [mart], now=T0)
    assert release_json(settings)["coverage"]["partial"] is False
    assert "36.01" not in release_json(settings)["coverage"]["expected"]
    assert site_files(settings)[0]["coverage"]["partial"] is False

    settings.feeds_file.write_text(registry_yaml(["36"]), encoding="utf-8")
    again = pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=1))
    pub.write_catalog(settings, [mart], now=T0 + dt.timedelta(days=1))
    assert (again.status, again.version) == ("unchanged", first.version)
    assert "36.01" in again.message
    assert dataset_state(settings) == (first.version, [first.version])
    assert release_json(settings)["coverage"]["partial"] is False     # releases are immutable
    entry, dcat = site_files(settings)
    assert entry["latest_version"] == first.version
    assert entry["coverage"]["partial"] is True
    assert entry["coverage"]["missing"][0]["regencies"] == [
        {"kode": "36.01", "nama": "Kabupaten Pandeglang"}]
    assert "Kabupaten Pandeglang (36.01)" in dcat["description"]

    # Back to the first registry: the re-assessment goes, the release's own stands.
    settings.feeds_file.write_text(registry_yaml(others), encoding="utf-8")
    pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=2))
    pub.write_catalog(settings, [mart], now=T0 + dt.timedelta(days=2))
    assert not (settings.site_dir / "datasets" / SLUG / pub.COVERAGE_JSON).exists()
    assert site_files(settings)[0]["coverage"]["partial"] is False


def test_province_wide_feeds_expand_to_every_regency_of_the_province():
    def feed(regency, dataset="penduduk"):
        return SimpleNamespace(regency=regency, dataset=dataset)

    assert list(pub.expected_regencies([feed("36")], ("penduduk",), NAMES)) == CODES
    assert pub.expected_regencies([feed("36.71"), feed("36", "aduan")], ("penduduk",),
                                  NAMES) == {"36.71": "Kota Tangerang"}
    assert pub.expected_regencies([feed("36.71"), feed("36.72", "aduan")],
                                  ("penduduk", "aduan"), NAMES) == {
        "36.71": "Kota Tangerang", "36.72": "Kota Cilegon"}


def test_a_mart_without_a_period_column_is_covered_as_a_whole(tmp_path):
    settings, _ = warehouse(tmp_path)
    mart_sql(settings, f"delete from marts.{MODEL} where kode_wilayah = '36.72'")
    (mart,) = pub.published_marts(manifest({"region": "kode_wilayah"}))
    assert mart.coverage.period is None and mart.coverage.datasets == ("penduduk",)
    pub.publish_mart(settings, mart, now=T0)
    pub.write_catalog(settings, [mart], now=T0)
    assert release_json(settings)["coverage"]["periods"] == {
        "all": {"period": None, "covered": 7, "missing": ["36.72"]}}
    entry, dcat = site_files(settings)
    assert entry["coverage"]["missing"][0]["regencies"][0]["nama"] == "Kota Cilegon"
    assert "DATA BELUM LENGKAP: tanpa data dari Kota Cilegon (36.72)." in dcat["description"]
    assert "INCOMPLETE DATA: no data from Kota Cilegon (36.72)." in dcat["description"]


def test_coverage_metadata_is_checked_against_the_manifest():
    assert pub.raw_sources(manifest(), f"model.satudata_banten.{MODEL}") == ("penduduk",)
    bad = {
        "region": {"region": "kode", "period": "periode"},
        "period": {"region": "kode_wilayah", "period": "tahun"},
        "does not read": {"region": "kode_wilayah", "datasets": ["aduan"]},
    }
    for expected, coverage in bad.items():
        with pytest.raises(pub.PublishError, match=f"coverage.*{expected}"):
            pub.published_marts(manifest(coverage))
    # A mart that reads two raw datasets must name the one(s) it covers.
    two = manifest({"region": "kode_wilayah"})
    two["nodes"][f"model.satudata_banten.{MODEL}"]["depends_on"]["nodes"].append(
        "source.satudata_banten.raw.aduan")
    two["sources"]["source.satudata_banten.raw.aduan"] = {"source_name": "raw",
                                                          "name": "aduan"}
    with pytest.raises(pub.PublishError, match=r"datasets is missing.*raw\.aduan, raw\.pend"):
        pub.published_marts(two)


def test_every_published_mart_of_the_project_declares_its_coverage():
    """The dbt YAMLs: each `open_data` mart names its region, period and datasets."""
    import yaml

    declared = {}
    for path in (PROJECT_ROOT / "dbt" / "models" / "marts").glob("*.yml"):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models") or []:
            meta = ((model.get("config") or {}).get("meta") or {}).get("open_data")
            if meta:
                declared[model["name"]] = meta.get("coverage")
    assert declared == {
        "penduduk_kabupaten_kota": {"region": "kode_wilayah", "period": "periode",
                                    "datasets": ["penduduk"]},
        "indikator_kabupaten_kota": {"region": "kode_wilayah", "period": "tahun",
                                     "by": ["indikator"], "datasets": ["indikator"]},
        "aduan_bulanan": {"region": "kode_wilayah", "period": "bulan", "datasets": ["aduan"]},
        "fasilitas_kesehatan": {"region": "kode_wilayah", "datasets": ["fasilitas_kesehatan"]},
        "fasilitas_kesehatan_kabupaten_kota": {"region": "kode_wilayah",
                                               "datasets": ["fasilitas_kesehatan"]},
    }


# --- the drop guard -----------------------------------------------------------------------


def test_a_release_that_would_drop_a_regency_period_is_refused(tmp_path):
    settings, mart = warehouse(tmp_path)
    submit(settings, "36.04", T0 - dt.timedelta(days=3))      # before the first release
    first = pub.publish_mart(settings, mart, now=T0)
    pub.write_catalog(settings, [mart], now=T0)
    mart_sql(settings, f"delete from marts.{MODEL} where kode_wilayah = '36.04' "
                       "and periode = '2024-S2'")
    # Newer, but none replaces 36.04's penduduk: quarantined, another dataset, another
    # regency.
    later = T0 + dt.timedelta(hours=1)
    submit(settings, "36.04", later, status="quarantined")
    submit(settings, "36.04", later, dataset="aduan")
    submit(settings, "36.71", later)

    outcome = pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=1))
    assert (outcome.slug, outcome.status, outcome.version) == (SLUG, "failed", None)
    assert (f"dataset '{SLUG}': would drop 36.04 2024-S2, which release {first.version} "
            "had, and no newer submission from 36.04 replaced it; the previous release "
            "stays published") in outcome.message
    assert dataset_state(settings) == (first.version, [first.version])
    assert not [p for p in (settings.site_dir / "datasets" / SLUG).iterdir()
                if p.name.startswith(".")]
    catalog = pub.write_catalog(settings, [mart], now=T0 + dt.timedelta(days=1))
    assert catalog["datasets"][0]["latest_version"] == first.version
    assert total(settings, "2024-S2") == 12_881_374


def test_a_newer_accepted_submission_lets_a_regency_period_go(tmp_path):
    settings, mart = warehouse(tmp_path)
    first = pub.publish_mart(settings, mart, now=T0)
    mart_sql(settings, f"delete from marts.{MODEL} where kode_wilayah = '36.04' "
                       "and periode = '2024-S2'")
    submit(settings, "36.04", T0 + dt.timedelta(hours=1))

    outcome = pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=1))
    assert outcome.status == "published" and outcome.version != first.version
    assert dataset_state(settings) == (outcome.version, sorted([first.version,
                                                                outcome.version]))
    coverage = release_json(settings)["coverage"]         # allowed, and still said
    assert coverage["partial"] is True
    assert coverage["periods"]["2024-S2"]["missing"] == ["36.04"]
    assert "Kabupaten Serang (36.04)" in outcome.message


def test_a_province_wide_submission_replaces_any_of_its_regencies(tmp_path):
    settings, mart = warehouse(tmp_path, regencies=["36"])
    pub.publish_mart(settings, mart, now=T0)
    mart_sql(settings, f"delete from marts.{MODEL} where kode_wilayah in ('36.04', '36.73') "
                       "and periode = '2020'")
    refused = pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=1))
    assert refused.status == "failed"
    assert "would drop 36.04 2020, 36.73 2020" in refused.message
    assert "no newer submission from 36.04, 36.73 replaced them" in refused.message

    submit(settings, "36", T0 + dt.timedelta(days=1, hours=1))
    assert pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=2)).status == \
        "published"
