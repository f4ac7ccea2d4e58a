"""Open-data releases: formats, data.json (DCAT-US 1.1), Frictionless data packages, the
personal-data guard, atomic publication, versioning and spreadsheet safety.

Real DuckDB warehouses and real files throughout: the shared `sample_run` (the real flow
on the sample data, read only here) and small warehouses built in tmp_path with a
hand-written manifest of dbt's shape.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import socket
import zipfile
from pathlib import Path

import duckdb
import jsonschema
import openpyxl
import pandas as pd
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from flows import publish as pub
from flows.common import pii
from flows.settings import Settings
from flows.transform import manifest as dbt_manifest
from tests.helpers import PROJECT_ROOT

SLUG = "penduduk-kabupaten-kota"
SCHEMAS = PROJECT_ROOT / "tests" / "schemas" / "dcat-us-1.1-non-federal"
T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
NIK = "3671014501900001"          # NIK-shaped (Kota Tangerang, born 05-01-1990), invented
FORMULA = '=HYPERLINK("http://example.com/x","klik")'


# --- helpers ---------------------------------------------------------------------------


def dcat_validator() -> jsonschema.Draft4Validator:
    """The DCAT-US catalog schema with its sibling files resolvable by their ids."""
    resources = []
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource(contents=contents, specification=DRAFT4)
        resources.append((contents["id"].rstrip("#"), resource))
        resources.append((path.name, resource))
    registry = Registry().with_resources(resources)
    catalog = json.loads((SCHEMAS / "catalog.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(catalog)
    return jsonschema.Draft4Validator(
        catalog, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def verify_sha256sums(release: Path) -> None:
    lines = (release / "SHA256SUMS").read_text().splitlines()
    assert lines
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def xlsx_rows(path: Path, sheet: str = "data") -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [tuple(r) for r in wb[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def parquet_rows(path: Path) -> tuple[list[str], list[tuple]]:
    with duckdb.connect() as con:
        rel = con.execute("select * from read_parquet(?)", [str(path)])
        cols = [d[0] for d in rel.description]
        return cols, rel.fetchall()


def scan_release(release: Path, slug: str) -> list[pii.Finding]:
    """Every data file of a release through the personal-data scanners."""
    with duckdb.connect() as con:
        parquet = release / f"{slug}.parquet"
        types = {r[0]: r[1] for r in con.execute(
            "describe select * from read_parquet(?)", [str(parquet)]).fetchall()}
        findings = pii.scan_parquet(con, parquet)
        findings += pii.scan_csv(con, release / f"{slug}.csv", types)
        findings += pii.scan_json(con, release / f"{slug}.json", types)
    kinds = {c: k for c, t in types.items() if (k := pii.column_kind(t))}
    return findings + pii.scan_xlsx(release / f"{slug}.xlsx", kinds)


def no_network(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# A small warehouse: marts.x with public and restricted columns.

COLUMNS = {  # name: (Indonesian description, unit, classification)
    "kode_wilayah": ("Kode wilayah Kemendagri", None, "public"),
    "nama_wilayah": ("Nama wilayah", None, "public"),
    "periode": ("Periode", None, "public"),
    "jumlah_penduduk": ("Jumlah penduduk", "jiwa", "public"),
    "anggaran": ("Anggaran", "rupiah", "public"),
    "keterangan": ("Keterangan", None, "public"),
    "nik_pelapor": ("NIK petugas pelapor", None, "restricted"),
    "telepon_pelapor": ("Telepon petugas pelapor", None, "restricted"),
}
ROWS = [
    # 12,881,374 (a population), a 16-digit round budget and 628123456789 (a budget that
    # starts like a phone number) are measures, not personal data.
    ("36.01", "Kabupaten Pandeglang", "2024-S2", 1437046, 3325100000000000, "-", NIK,
     "0812-3456-7890"),
    ("36.02", "Kabupaten Lebak", "2024-S2", 1531564, 628123456789, FORMULA,
     "3602015003850002", "+62 812 1111 2222"),
    ("36.71", "Kota Tangerang", "2024-S2", 12881374, -5, "@SUM(A1)", "3671016007800003",
     "628129998887"),
]


def make_manifest(extra_meta: dict | None = None) -> dict:
    catalog = {
        "slug": "x", "title": {"id": "Data uji", "en": "Test data"},
        "description": {"id": "Data uji untuk penerbitan.", "en": "Test data for publishing."},
        "theme": "kependudukan", "keywords": ["uji", "test"], "unit": "jiwa",
        "frequency": "R/P6M", "produsen_data": ["Disdukcapil uji"], "walidata": "Diskominfo uji",
        "license": "CC-BY-4.0", "source": {"id": "Sumber uji", "en": "Test source"},
        "spatial": "Provinsi Banten", "synthetic": True, "temporal_column": "periode",
        "key": ["kode_wilayah", "periode"],
        "konsep": {"id": "Penduduk", "en": "Population"},
    } | (extra_meta or {})
    return {
        "nodes": {
            "model.satudata.x": {
                "resource_type": "model",
                "name": "x",
                "relation_name": '"warehouse"."marts"."x"',
                "config": {"meta": {"open_data": catalog}},
                "columns": {
                    name: {"name": name, "description": f"{desc} (en)",
                           "config": {"meta": {"id": desc, "unit": unit,
                                               "classification": cls}}}
                    for name, (desc, unit, cls) in COLUMNS.items()
                },
            },
            "model.satudata.unpublished": {
                "resource_type": "model", "name": "unpublished", "config": {"meta": {}},
                "columns": {}, "relation_name": '"warehouse"."marts"."unpublished"',
            },
        }
    }


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A warehouse with marts.x, its MartSpec and settings (site in tmp_path)."""
    monkeypatch.setenv("SATUDATA_BASE_URL", "https://data.bantenprov.go.id/")
    settings = Settings(home=tmp_path / "home", feeds_file=tmp_path / "feeds.yml")
    settings.home.mkdir()
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create schema marts")
        con.execute("""create table marts.x (kode_wilayah varchar, nama_wilayah varchar,
            periode varchar, jumlah_penduduk bigint, anggaran bigint, keterangan varchar,
            nik_pelapor varchar, telepon_pelapor varchar)""")
        con.executemany("insert into marts.x values (?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    (mart,) = pub.published_marts(make_manifest())
    return settings, mart


def sql(settings: Settings, statement: str) -> None:
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(statement)


def dataset_state(settings: Settings, slug: str = "x") -> tuple[str, list[str]]:
    folder = settings.site_dir / "datasets" / slug
    return (str((folder / "latest").readlink()),
            sorted(p.name for p in folder.iterdir() if p.name != "latest"))


# --- on the real output of the pipeline -------------------------------------------------


def test_real_release_has_every_format_and_readers_read_them(sample_run):
    site = sample_run["settings"].site_dir
    latest = site / "datasets" / SLUG / "latest"
    names = {p.name for p in latest.iterdir()}
    assert {f"{SLUG}.{fmt}" for fmt in ("csv", "xlsx", "json", "parquet")} <= names
    assert {"datapackage.json", "release.json", "SHA256SUMS"} <= names
    verify_sha256sums(latest)

    csv_rows = read_csv(latest / f"{SLUG}.csv")
    frame = pd.read_json(latest / f"{SLUG}.json", dtype={"kode_wilayah": str})
    assert len(frame) == len(csv_rows) == 16
    assert int(frame["jumlah_penduduk"].sum()) == 11_904_562 + 12_881_374
    assert sorted(frame["kode_wilayah"]) == sorted(r["kode_wilayah"] for r in csv_rows)

    sheet = xlsx_rows(latest / f"{SLUG}.xlsx")
    assert list(sheet[0]) == list(csv_rows[0])
    assert len(sheet) == 17
    assert sum(r[5] for r in sheet[1:]) == 11_904_562 + 12_881_374
    assert any(r[0] == "Walidata" for r in xlsx_rows(latest / f"{SLUG}.xlsx", "metadata"))

    pkg = json.loads((latest / "datapackage.json").read_text())
    assert [r["format"] for r in pkg["resources"]] == ["csv", "xlsx", "json", "parquet"]
    block = pkg["satudata"]
    assert block["walidata"] == "Diskominfo Provinsi Banten"
    assert block["produsen_data"] and block["unit"] == "jiwa" and block["frequency"]
    assert block["kode_referensi"] == {"kode_wilayah": pub.REFERENCE_CODES["kode_wilayah"]}
    assert block["spatial"] and block["temporal"] == "2020/2024-S2"

    with zipfile.ZipFile(site / pub.BULK_ZIP) as zf:
        assert zf.testzip() is None
        version = json.loads((latest / "release.json").read_text())["version"]
        assert json.loads(zf.comment)[SLUG] == version
        assert zf.read(f"{SLUG}/{SLUG}.csv") == (latest / f"{SLUG}.csv").read_bytes()


def test_real_data_json_validates_against_dcat_us(sample_run, monkeypatch):
    settings = sample_run["settings"]
    validator = dcat_validator()
    doc = json.loads((settings.site_dir / "data.json").read_text())
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, [e.message for e in errors]
    published = [d.name for d in (settings.site_dir / "datasets").iterdir()]
    assert sorted(d["identifier"] for d in doc["dataset"]) == sorted(
        f"satudata-banten:{slug}" for slug in published)
    (ds,) = [d for d in doc["dataset"] if d["identifier"] == f"satudata-banten:{SLUG}"]
    base = "http://localhost:8501/app/static"
    assert ds["identifier"] == f"satudata-banten:{SLUG}"
    assert ds["temporal"] == "2020-01-01/2024-12-31"
    assert ds["accrualPeriodicity"] == "R/P6M"
    assert ds["publisher"]["name"] == "Diskominfo Provinsi Banten"
    assert ds["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert ds["describedBy"] == f"{base}/datasets/{SLUG}/latest/datapackage.json"
    urls = {d["format"]: d["downloadURL"] for d in ds["distribution"]}
    for fmt in ("csv", "xlsx", "json", "parquet"):
        name = pub.FORMAT_NAMES[fmt]
        assert urls[name] == f"{base}/datasets/{SLUG}/latest/{SLUG}.{fmt}"
        # the stable URL maps onto the site folder the catalogue serves
        assert (settings.site_dir / urls[name].removeprefix(base + "/")).is_file()
    assert ds["satudata"]["produsen_data"] and ds["satudata"]["walidata"]

    # The schema really bites (its $refs are resolved): a non-ISO temporal, a missing
    # publisher and a bad media type are each rejected.
    breakages = {
        "temporal": lambda d: d.update(temporal="2020/2024-S2"),
        "publisher": lambda d: d.pop("publisher"),
        "mediaType": lambda d: d["distribution"].append({"downloadURL": "http://x",
                                                         "mediaType": "csv"}),
    }
    for name, breakage in breakages.items():
        broken = json.loads(json.dumps(doc))
        breakage(broken["dataset"][0])
        assert not validator.is_valid(broken), name

    # The base URL comes from SATUDATA_BASE_URL.
    monkeypatch.setenv("SATUDATA_BASE_URL", "https://data.bantenprov.go.id/")
    marts = pub.published_marts(dbt_manifest(settings))
    custom = pub.build_data_json(settings.site_dir, marts)
    validator.validate(custom)
    assert custom["@id"] == "https://data.bantenprov.go.id/app/static/data.json"
    assert all(d["downloadURL"].startswith("https://data.bantenprov.go.id/app/static/datasets/")
               for ds in custom["dataset"] for d in ds["distribution"])


def test_real_datapackages_pass_frictionless_offline(sample_run, monkeypatch):
    import frictionless

    no_network(monkeypatch)
    packages = sorted((sample_run["settings"].site_dir / "datasets").glob("*/*/datapackage.json"))
    packages = [p for p in packages if p.parent.name != "latest"]
    assert packages
    for path in packages:
        report = frictionless.validate(str(path))
        assert report.valid, (path, report.flatten(["type", "note"]))
        assert len(report.tasks) == 4


def test_real_coverage_names_the_regencies_each_period_lacks(sample_run):
    """The sample data: every regency sends every dataset, and BPS figures as quoted lack
    a few regency-years of the indicators; only those are partial, after the second
    (unchanged) run too."""
    site = sample_run["settings"].site_dir
    catalog = json.loads((site / "catalog.json").read_text())
    coverage = {d["slug"]: d["coverage"] for d in catalog["datasets"]}
    assert all(c["expected"] and len(c["expected"]) == 8 for c in coverage.values())
    assert {slug for slug, c in coverage.items() if c["partial"]} == {
        "indikator-kabupaten-kota"}
    assert [o["status"] for o in sample_run["second"]["published"]] == ["unchanged"] * 5

    with open(PROJECT_ROOT / "data" / "reference" / "indikator_kabupaten_kota.csv",
              newline="", encoding="utf-8") as f:
        reference = list(csv.DictReader(f))
    names = {r["kode_wilayah"]: r["nama"] for r in reference}
    sent: dict[tuple[str, str], set[str]] = {}
    for r in reference:
        sent.setdefault((r["tahun"], r["indikator"]), set()).add(r["kode_wilayah"])
    gaps = {f"{year} · {indicator}": sorted(set(names) - codes)
            for (year, indicator), codes in sent.items() if set(names) - codes}
    assert gaps                      # the reference series does lack some regency-years
    shown = {m["label"]: [r["kode"] for r in m["regencies"]]
             for m in coverage["indikator-kabupaten-kota"]["missing"]}
    assert shown == gaps
    (ds,) = [d for d in json.loads((site / "data.json").read_text())["dataset"]
             if d["identifier"] == "satudata-banten:indikator-kabupaten-kota"]
    assert "DATA BELUM LENGKAP" in ds["description"] and ds["dataQuality"] is False
    for codes in gaps.values():
        assert all(f"{names[c]} ({c})" in ds["description"] for c in codes)


def test_real_output_has_no_personal_data(sample_run):
    datasets = sorted((sample_run["settings"].site_dir / "datasets").iterdir())
    assert SLUG in [d.name for d in datasets]
    for folder in datasets:
        assert scan_release(folder / "latest", folder.name) == []


# --- on small warehouses built here -----------------------------------------------------


def test_restricted_columns_never_appear_in_any_format(small, monkeypatch):
    import frictionless

    settings, mart = small
    outcome = pub.publish_mart(settings, mart, now=T0)
    assert outcome.status == "published"
    pub.write_catalog(settings, [mart], now=T0)
    release = settings.site_dir / "datasets" / "x" / outcome.version
    public = [c for c in COLUMNS if COLUMNS[c][2] == "public"]
    secrets = [r[6] for r in ROWS] + [r[7] for r in ROWS] + ["nik_pelapor", "telepon_pelapor"]

    assert list(read_csv(release / "x.csv")[0]) == public
    assert list(xlsx_rows(release / "x.xlsx")[0]) == public
    assert parquet_rows(release / "x.parquet")[0] == public
    assert list(json.loads((release / "x.json").read_text())[0]) == public
    every_cell = [str(v) for sheet in ("data", "metadata")
                  for row in xlsx_rows(release / "x.xlsx", sheet) for v in row]
    every_cell += [str(v) for row in parquet_rows(release / "x.parquet")[1] for v in row]
    texts = [p.read_text(encoding="utf-8") for p in release.iterdir()
             if p.suffix in (".csv", ".json", "") and p.is_file()]
    texts += [(settings.site_dir / n).read_text() for n in ("catalog.json", "data.json")]
    with zipfile.ZipFile(settings.site_dir / pub.BULK_ZIP) as zf:
        texts += [zf.read(n).decode() for n in zf.namelist() if not n.endswith((".parquet",
                                                                                ".xlsx"))]
    for secret in secrets:
        assert not any(secret in t for t in texts), secret
        assert not any(secret in c for c in every_cell), secret
    # measures that merely look like numbers did not trip the guard
    assert scan_release(release, "x") == []

    no_network(monkeypatch)
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, report.flatten(["type", "note"])
    dcat_validator().validate(json.loads((settings.site_dir / "data.json").read_text()))


def test_formula_cells_are_neutralised_in_csv_and_xlsx_only(small):
    settings, mart = small
    outcome = pub.publish_mart(settings, mart, now=T0)
    release = settings.site_dir / "datasets" / "x" / outcome.version
    by_code = {r["kode_wilayah"]: r for r in read_csv(release / "x.csv")}
    assert by_code["36.02"]["keterangan"] == "'" + FORMULA
    assert by_code["36.01"]["keterangan"] == "'-"
    assert by_code["36.71"]["keterangan"] == "'@SUM(A1)"
    assert by_code["36.71"]["anggaran"] == "-5"          # numbers are never touched

    wb = openpyxl.load_workbook(release / "x.xlsx")
    ws = wb["data"]
    header = [c.value for c in ws[1]]
    cells = {ws.cell(r, 1).value: ws.cell(r, header.index("keterangan") + 1)
             for r in range(2, ws.max_row + 1)}
    assert cells["36.02"].value == "'" + FORMULA and cells["36.02"].data_type == "s"
    assert cells["36.71"].value == "'@SUM(A1)"
    assert ws.cell(4, header.index("anggaran") + 1).value == -5
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)

    cols, rows = parquet_rows(release / "x.parquet")
    parquet = {r[0]: dict(zip(cols, r, strict=True)) for r in rows}
    assert parquet["36.02"]["keterangan"] == FORMULA
    assert parquet["36.01"]["keterangan"] == "-"
    records = {r["kode_wilayah"]: r for r in json.loads((release / "x.json").read_text())}
    assert records["36.02"]["keterangan"] == FORMULA


@pytest.mark.parametrize(
    ("planted", "kind", "masked"),
    [
        (f"NIK pelapor {NIK}", "NIK", "3671**********"),
        ("hubungi 0812-3456-7890", "phone", "0812-****-**90"),
        ("kontak: budi.santoso@example.go.id", "e-mail", "b***@example.go.id"),
    ],
)
def test_personal_data_in_a_public_column_fails_and_keeps_the_previous_release(
        small, planted, kind, masked):
    settings, mart = small
    first = pub.publish_mart(settings, mart, now=T0)
    assert first.status == "published"
    sql(settings, f"update marts.x set keterangan = '{planted}' where kode_wilayah = '36.71'")

    with pytest.raises(pub.PublishError) as info:
        pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=1))
    message = str(info.value)
    assert "dataset 'x'" in message and "x.parquet" in message
    assert "column 'keterangan'" in message and kind in message and masked in message
    assert "restricted" in message and "previous release stays published" in message
    secret = planted.split()[-1]
    assert secret not in message

    latest, entries = dataset_state(settings)
    assert latest == first.version and entries == [first.version]     # nothing staged left
    verify_sha256sums(settings.site_dir / "datasets" / "x" / "latest")
    catalog = pub.write_catalog(settings, [mart], now=T0 + dt.timedelta(days=1))
    assert catalog["datasets"][0]["latest_version"] == first.version


def test_an_interrupted_publish_leaves_the_previous_release_intact(small, monkeypatch):
    settings, mart = small
    first = pub.publish_mart(settings, mart, now=T0)
    pub.write_catalog(settings, [mart], now=T0)
    sql(settings, "update marts.x set jumlah_penduduk = jumlah_penduduk + 1")
    seen = {}

    def crash(parquet, out, *args, **kwargs):
        seen["csv_written"] = (out.parent / "x.csv").is_file()
        seen["staging"] = out.parent
        raise OSError("No space left on device")

    with monkeypatch.context() as m, pytest.raises(
            pub.PublishError, match="No space left on device.*stays latest"):
        m.setattr(pub.staging, "_write_xlsx", crash)
        pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=1))
    assert seen["csv_written"] and seen["staging"].name.startswith(".staging-")
    assert not seen["staging"].exists()
    latest, entries = dataset_state(settings)
    assert latest == first.version and entries == [first.version]
    verify_sha256sums(settings.site_dir / "datasets" / "x" / "latest")
    catalog = json.loads((settings.site_dir / "catalog.json").read_text())
    assert catalog["datasets"][0]["latest_version"] == first.version

    # A publisher killed outright leaves a hidden staging folder and a half-made link;
    # the next publication clears them and goes through.
    folder = settings.site_dir / "datasets" / "x"
    (folder / ".staging-0123abcd").mkdir()
    (folder / ".staging-0123abcd" / "x.csv").write_text("half")
    (folder / ".latest-0123abcd").symlink_to("nowhere")
    second = pub.publish_mart(settings, mart, now=T0 + dt.timedelta(days=1))
    assert second.status == "published" and second.version == "2026-01-06"
    latest, entries = dataset_state(settings)
    assert latest == second.version and entries == [first.version, second.version]
    verify_sha256sums(folder / "latest")


def test_unchanged_content_publishes_nothing_and_a_changed_row_is_a_new_version(small):
    settings, mart = small
    first = pub.publish_mart(settings, mart, now=T0)
    again = pub.publish_mart(settings, mart, now=T0 + dt.timedelta(hours=1))
    assert (again.status, again.version) == ("unchanged", first.version)
    assert dataset_state(settings) == (first.version, [first.version])

    sql(settings, "update marts.x set jumlah_penduduk = 1437047 where kode_wilayah = '36.01'")
    changed = pub.publish_mart(settings, mart, now=T0 + dt.timedelta(hours=2))
    assert changed.status == "published"
    assert changed.version == "2026-01-05.2"            # same day: a suffixed version
    assert changed.message == "1 row changed"
    release = json.loads((settings.site_dir / "datasets" / "x" / "latest" /
                          "release.json").read_text())
    log = release["changelog"]
    assert (log["rows_added"], log["rows_removed"], log["rows_changed"]) == (0, 0, 1)
    assert log["id"] == "1 baris berubah" and release["sequence"] == 2

    sql(settings, "insert into marts.x values ('36.72', 'Kota Cilegon', '2024-S2', 480378, "
                  "0, 'baru', null, null)")
    sql(settings, "alter table marts.x drop column anggaran")
    (mart_without,) = pub.published_marts(_without_column(make_manifest(), "anggaran"))
    third = pub.publish_mart(settings, mart_without, now=T0 + dt.timedelta(days=1))
    log = json.loads((settings.site_dir / "datasets" / "x" / "latest" /
                      "release.json").read_text())["changelog"]
    assert (log["rows_added"], log["columns_removed"]) == (1, ["anggaran"])
    assert third.message == "1 row added; columns +[] -['anggaran']"

    catalog = pub.write_catalog(settings, [mart_without], now=T0 + dt.timedelta(days=1))
    versions = [v["version"] for v in catalog["datasets"][0]["versions"]]
    assert versions == [third.version, changed.version, first.version]
    assert dataset_state(settings)[0] == third.version


def _without_column(manifest: dict, column: str) -> dict:
    del manifest["nodes"]["model.satudata.x"]["columns"][column]
    return manifest


def test_catalogue_files_have_stable_urls_and_satudata_metadata(small):
    settings, mart = small
    pub.publish_mart(settings, mart, now=T0)
    catalog = pub.write_catalog(settings, [mart], now=T0)
    doc = json.loads((settings.site_dir / "data.json").read_text())
    (ds,) = doc["dataset"]
    base = "https://data.bantenprov.go.id/app/static"
    assert {d["downloadURL"] for d in ds["distribution"]} == {
        f"{base}/datasets/x/latest/x.{fmt}" for fmt in ("csv", "xlsx", "json", "parquet")
    } | {f"{base}/datasets/x/latest/datapackage.json"}
    assert ds["landingPage"] == "https://data.bantenprov.go.id/?dataset=x"
    assert ds["temporal"] == "2024-07-01/2024-12-31"
    assert ds["satudata"]["konsep"] == {"id": "Penduduk", "en": "Population"}
    assert catalog["downloads"]["bulk_zip"]["path"] == pub.BULK_ZIP
    assert not [p for p in settings.site_dir.rglob(".*")]        # no temporary files left

    # The bulk zip is rebuilt only when a latest version changes.
    zip_path = settings.site_dir / pub.BULK_ZIP
    before = zip_path.stat().st_mtime_ns
    pub.write_catalog(settings, [mart], now=T0)
    assert zip_path.stat().st_mtime_ns == before
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == sorted(
            f"x/{n}" for n in ("x.csv", "x.xlsx", "x.json", "x.parquet", "datapackage.json",
                               "release.json", "SHA256SUMS"))


# --- release groups: datasets built from the same sources publish together ---------------

FASKES, FASKES_KK = "fasilitas-kesehatan", "fasilitas-kesehatan-kabupaten-kota"


@pytest.fixture
def sample_copy(sample_run, tmp_path):
    """What publishing reads of the shared sample run (warehouse, releases, dbt manifest),
    copied, so that its marts can be changed here; with its published marts."""
    source = sample_run["settings"]
    settings = Settings(home=tmp_path / "home", feeds_file=source.feeds_file)
    shutil.copytree(source.site_dir, settings.site_dir, symlinks=True)
    shutil.copy2(source.warehouse, settings.warehouse)
    target = settings.dbt_target_dir
    target.mkdir(parents=True)
    shutil.copy2(source.dbt_target_dir / "manifest.json", target / "manifest.json")
    return settings, pub.published_marts(dbt_manifest(settings))


def site_state(settings: Settings) -> dict[str, tuple[str, list[str]]]:
    """slug -> (where latest points, its versions and any hidden leftover)."""
    return {d.name: (str((d / "latest").readlink()),
                     sorted(p.name for p in d.iterdir() if p.name != "latest"
                            and (p.is_dir() or p.name.startswith("."))))
            for d in (settings.site_dir / "datasets").iterdir()}


def test_release_groups_are_the_marts_sharing_a_source_dataset(sample_copy):
    _, marts = sample_copy
    groups = [[m.slug for m in g] for g in pub.release_groups(marts)]
    assert groups == [["aduan-masyarakat-bulanan"], [FASKES, FASKES_KK],
                      ["indikator-kabupaten-kota"], [SLUG]]
    # Complaints per 10,000 residents read raw.penduduk, but count complaints only.
    (aduan,) = [m for m in marts if m.slug == "aduan-masyarakat-bulanan"]
    assert set(aduan.sources) == {"aduan", "penduduk"}
    assert pub.source_datasets(aduan) == ("aduan",)

    # Without coverage, the raw sources decide; a chain of shared sources is one group.
    def mart(slug: str, *sources: str) -> pub.MartSpec:
        return pub.MartSpec(slug, slug, {"slug": slug}, [], None, sources)

    chained = pub.release_groups([mart("a", "x"), mart("b", "x", "y"), mart("c", "y"),
                                  mart("d", "z"), mart("e")])
    assert [[m.slug for m in g] for g in chained] == [["a", "b", "c"], ["d"], ["e"]]


def test_a_blocked_mart_holds_its_release_group_and_the_others_publish(sample_copy):
    """The scanner blocks fasilitas-kesehatan (a NIK in a facility's name): the
    per-regency counts built from the same facility lists publish no new version either,
    although their own content changed; population, a separate group, publishes."""
    settings, marts = sample_copy
    before = site_state(settings)
    sql(settings, f"""update marts.fasilitas_kesehatan set nama_fasilitas =
        'Klinik Pratama (pemilik NIK {NIK})' where kode_fasilitas =
        (select min(kode_fasilitas) from marts.fasilitas_kesehatan)""")
    sql(settings, """update marts.fasilitas_kesehatan_kabupaten_kota
        set jumlah_fasilitas = jumlah_fasilitas + 1 where kode_wilayah = '36.73'""")
    sql(settings, """update marts.penduduk_kabupaten_kota set jumlah_penduduk =
        jumlah_penduduk + 1 where kode_wilayah = '36.73' and periode = '2024-S2'""")
    logged: list[str] = []

    outcomes = {o.slug: o for o in pub.publish_groups(
        settings, marts, log=lambda o: logged.append(o.slug))}

    blocked, held = outcomes[FASKES], outcomes[FASKES_KK]
    assert (blocked.status, blocked.version, blocked.held_by) == ("failed", None, (FASKES,))
    assert "column 'nama_fasilitas'" in blocked.message and "NIK" in blocked.message
    assert NIK not in blocked.message
    assert (held.status, held.version, held.held_by) == ("failed", None, (FASKES,))
    assert "held back with its release group" in held.message
    assert "same source data: fasilitas_kesehatan" in held.message
    assert "stays latest" in held.message
    assert outcomes[SLUG].status == "published"
    assert outcomes[SLUG].version not in before[SLUG][1]
    assert {outcomes[s].status for s in ("aduan-masyarakat-bulanan",
                                         "indikator-kabupaten-kota")} == {"unchanged"}
    assert sorted(logged) == sorted(outcomes)

    after = site_state(settings)
    assert after[FASKES] == before[FASKES]           # no new version, nothing staged left
    assert after[FASKES_KK] == before[FASKES_KK]     # latest unchanged
    assert after[SLUG] == (outcomes[SLUG].version,
                           sorted(before[SLUG][1] + [outcomes[SLUG].version]))
    verify_sha256sums(settings.site_dir / "datasets" / SLUG / "latest")
    assert not (settings.home / pub.SWITCH_JOURNAL).exists()

    # dbt held the per-regency counts back: the facility list waits with them, although
    # it is clean now; nothing of the group is even staged.
    sql(settings, f"""update marts.fasilitas_kesehatan set nama_fasilitas = 'Klinik Pratama'
        where nama_fasilitas like '%{NIK}%'""")
    outcomes = {o.slug: o for o in pub.publish_groups(
        settings, marts, held={"fasilitas_kesehatan_kabupaten_kota": "dbt test failed"})}
    assert outcomes[FASKES_KK].message.startswith("not published: dbt test failed")
    assert (outcomes[FASKES].status, outcomes[FASKES].held_by) == ("failed", (FASKES_KK,))
    assert outcomes[SLUG].status == "unchanged"
    assert site_state(settings)[FASKES] == before[FASKES]

    # Both pass: both publish, in one group switch.
    outcomes = {o.slug: o for o in pub.publish_groups(settings, marts)}
    assert outcomes[FASKES].status == outcomes[FASKES_KK].status == "published"
    for slug in (FASKES, FASKES_KK):
        assert site_state(settings)[slug][0] == outcomes[slug].version
        verify_sha256sums(settings.site_dir / "datasets" / slug / "latest")


def test_a_group_switch_cut_short_is_finished_by_the_next_publisher(sample_copy,
                                                                    monkeypatch):
    """Both marts of a group passed and their releases are in place, but the switch
    stops after the first `latest` (a crash, here an error): the journal stays, and the
    next publisher (here the catalogue's) finishes the switch before anything else."""
    settings, marts = sample_copy
    before = site_state(settings)
    sql(settings, """update marts.fasilitas_kesehatan set nama_fasilitas = nama_fasilitas
        || ' (baru)' where kode_fasilitas = (select min(kode_fasilitas)
        from marts.fasilitas_kesehatan)""")
    sql(settings, """update marts.fasilitas_kesehatan_kabupaten_kota
        set jumlah_fasilitas = jumlah_fasilitas + 1 where kode_wilayah = '36.73'""")
    group = [m for m in marts if m.slug in (FASKES, FASKES_KK)]
    real = pub.groups._point_latest
    calls = []

    def cut_short(folder, version):
        calls.append(folder.name)
        if len(calls) == 2:
            raise OSError("simulated power cut")
        real(folder, version)

    monkeypatch.setattr(pub.groups, "_point_latest", cut_short)
    outcomes = pub.publish_groups(settings, group)
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert "simulated power cut" in outcomes[0].message
    assert (settings.home / pub.SWITCH_JOURNAL).exists()
    half = site_state(settings)
    assert half[FASKES][0] != before[FASKES][0]          # switched
    assert half[FASKES_KK][0] == before[FASKES_KK][0]    # not yet
    assert len(half[FASKES_KK][1]) == len(before[FASKES_KK][1]) + 1   # but in place

    catalog = pub.write_catalog(settings, marts)
    assert not (settings.home / pub.SWITCH_JOURNAL).exists()
    for slug in (FASKES, FASKES_KK):
        latest, entries = site_state(settings)[slug]
        assert set(entries) - set(before[slug][1]) == {latest}
        (entry,) = [d for d in catalog["datasets"] if d["slug"] == slug]
        assert entry["latest_version"] == latest
        verify_sha256sums(settings.site_dir / "datasets" / slug / "latest")
