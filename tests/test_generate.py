"""The synthetic-data generator (tools/generate.py): calibration, determinism, region codes,
timestamps, ticket ids, facility coordinates, size scaling and the registry fragment.

Files are written for real into tmp_path and read back through the project's own readers
(flows.readers) using the feed entries of the registry fragment the generator proposes, so
the fragment is checked against the files too.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc
import pytest
import yaml

from flows.readers import header_key, read_file
from flows.registry import Feed, load_registry
from tests.helpers import PROJECT_ROOT
from tools import generate as g

REFERENCE = PROJECT_ROOT / "data" / "reference"
EXAMPLE = PROJECT_ROOT / "data" / "feeds_synthetic.yml"
SQL_TYPES = {"timestamp": "timestamp", "number": "double", "integer": "bigint"}


# ------------------------------------------------------------------------------ helpers


def _feeds(fragment: str, base_dir: Path) -> list[Feed]:
    doc = yaml.safe_load(fragment)
    return [
        Feed(id=e["id"], regency=e["regency"], dataset=e["dataset"], channel=e["channel"],
             path=e["path"], format=e["format"], columns=dict(e["columns"]),
             base_dir=base_dir, region_code=e.get("region_code", "dotted"),
             options=dict(e.get("options") or {}),
             ignore_columns=tuple(e.get("ignore_columns") or ()))
        for e in doc["feeds"]
    ]


def _code_sql(expr: str, style: str) -> str:
    x = f"nullif(trim({expr}), '')"
    if style == "dotted":
        return x
    assert style == "bps_digits"
    return (f"case length({x}) when 6 then regexp_replace({x}, '^(..)(..)(..)$', '\\1.\\2.\\3') "
            f"when 10 then regexp_replace({x}, '^(..)(..)(..)(....)$', '\\1.\\2.\\3.\\4') "
            f"else 'BAD:' || {x} end")


def load_canonical(con: duckdb.DuckDBPyConnection, fragment: str, base_dir: Path,
                   dataset: str) -> int:
    """Read every file of `dataset` with the project's readers and the fragment's feeds
    into table `dataset` (canonical columns, typed, plus regency and file). Returns the
    number of files read."""
    doc = yaml.safe_load(fragment)
    spec = doc["datasets"][dataset]["columns"]
    cols = ", ".join(f"{c} {SQL_TYPES.get(s['type'], 'varchar')}" for c, s in spec.items())
    con.execute(f"create or replace table {dataset} (regency varchar, file varchar, {cols})")
    n_files = 0
    for feed in _feeds(fragment, base_dir):
        if feed.dataset != dataset:
            continue
        files = feed.files()
        assert files, f"{feed.id}: no files at {feed.path}"
        for path in files:
            read_file(con, feed, path, "src")
            headers = [r[0] for r in con.execute("describe src").fetchall()]
            headers.remove("_row_number")
            by_key = {header_key(h): h for h in headers}
            declared = [*feed.columns, *feed.ignore_columns]
            assert set(by_key) == {header_key(h) for h in declared}, (feed.id, headers)
            select = []
            for c, s in spec.items():
                src = next((h for h, dst in feed.columns.items() if dst == c), None)
                if src is None:
                    select.append(f"null as {c}")
                    continue
                q = '"' + by_key[header_key(src)] + '"'
                if s["type"] == "region_code":
                    select.append(f"{_code_sql(q, feed.region_code)} as {c}")
                elif s["type"] == "timestamp":
                    fmt = feed.options["timestamp_format"]
                    select.append(f"strptime(nullif(trim({q}), ''), '{fmt}') as {c}")
                elif s["type"] == "number":
                    dec = feed.options.get("decimal", ".")
                    select.append(f"cast(replace(trim({q}), '{dec}', '.') as double) as {c}")
                else:
                    select.append(f"nullif(trim({q}), '') as {c}")
            con.execute(f"insert into {dataset} select '{feed.regency}', '{path.name}', "
                        f"{', '.join(select)} from src")
            n_files += 1
    return n_files


def _reference(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def default_set(tmp_path_factory):
    """The default (calibrated) set of both datasets, read back into DuckDB."""
    root = tmp_path_factory.mktemp("synthetic")
    landing = root / "landing"
    aduan = g.write_aduan(landing)
    faskes = g.write_fasilitas_kesehatan(landing)
    fragment = g.registry_fragment()
    con = duckdb.connect()
    load_canonical(con, fragment, root, "aduan")
    load_canonical(con, fragment, root, "fasilitas_kesehatan")
    for table in ("kec", "desa"):
        name = "wilayah_kecamatan.csv" if table == "kec" else "wilayah_desa_kelurahan.csv"
        con.execute(f"create table {table} as select * from read_csv(?, all_varchar=true)",
                    [str(REFERENCE / name)])
    yield {"root": root, "landing": landing, "aduan": aduan, "faskes": faskes, "con": con}
    con.close()


# ------------------------------------------------------------------------ calibration


def test_default_size_reproduces_kota_tangerang_2024(default_set):
    con = default_set["con"]
    rows = dict(con.execute(
        "select status, count(*) from aduan where regency = '36.71' group by 1").fetchall())
    assert rows == {"selesai": 13_421, "proses": 20, "menunggu": 571}
    assert sum(rows.values()) == 14_012
    assert con.execute("select min(diterima_pada), max(diterima_pada) from aduan "
                       "where regency = '36.71'").fetchone()[0].year == 2024
    assert default_set["aduan"]["per_regency"]["36.71"] == 14_012
    assert default_set["aduan"]["status"]["36.71"] == rows
    # one file per regency per month
    assert len(default_set["aduan"]["files"]) == 8 * 12
    assert sorted(p.name for p in (default_set["landing"] / "36.71" / "aduan").iterdir()) == [
        f"aduan_2024_{m:02d}.csv" for m in range(1, 13)]


def test_other_regencies_scale_with_population(default_set):
    con = default_set["con"]
    pop = {r["kode_wilayah"]: int(r["jumlah_penduduk"])
           for r in _reference("penduduk_dukcapil_2024s2.csv")}
    got = dict(con.execute("select regency, count(*) from aduan group by 1").fetchall())
    for code, n in got.items():
        assert n == round(pop[code] * 14_012 / 1_957_349), code
        shares = dict(con.execute(
            "select status, count(*) / ? from aduan where regency = ? group by 1", [n, code]
        ).fetchall())
        assert abs(shares["selesai"] - 13_421 / 14_012) < 0.005
        assert abs(shares["menunggu"] - 571 / 14_012) < 0.005
    assert set(got) == set(pop)
    formats = default_set["aduan"]["formats"]
    assert sorted(set(formats.values())) == ["ckan_json", "csv", "xlsx"]


# ------------------------------------------------------------------------ determinism


def _file_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.suffix in (".csv", ".json")}


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = g.write_aduan(tmp_path / "a", size=3_000, workers=1)
    g.write_aduan(tmp_path / "b", size=3_000, workers=2)
    g.write_fasilitas_kesehatan(tmp_path / "a")
    g.write_fasilitas_kesehatan(tmp_path / "b")
    first, second = _file_bytes(tmp_path / "a"), _file_bytes(tmp_path / "b")
    assert len(first) == 6 * 12 + 7  # 6 CSV/JSON aduan regencies, 7 such faskes files
    assert first == second
    assert a["rows"] == 3_000

    g.write_aduan(tmp_path / "c", size=3_000, seed=7)
    g.write_fasilitas_kesehatan(tmp_path / "c", seed=7)
    other = _file_bytes(tmp_path / "c")
    assert other.keys() == first.keys()
    assert all(other[k] != first[k] for k in first)


def test_a_month_written_alone_equals_the_same_month_of_the_full_year(default_set, tmp_path):
    res = g.write_aduan(tmp_path, months=range(12, 13), regencies=["36.71", "36.02"])
    assert [p.name for p in res["files"]] == ["aduan_2024_12.csv"] * 2
    for p in res["files"]:
        full = default_set["landing"] / p.parent.parent.name / "aduan" / p.name
        assert p.read_bytes() == full.read_bytes()


# ---------------------------------------------------------------------- region codes


def test_region_codes_exist_and_belong_to_the_files_regency(default_set):
    con = default_set["con"]
    assert con.execute("select count(*) from aduan where kode_kecamatan is null "
                       "or kode_desa_kelurahan is null").fetchone()[0] == 0
    bad_kec = con.execute("""
        select a.regency, a.kode_kecamatan, count(*) from aduan a
        left join kec k on k.kode_wilayah = a.kode_kecamatan
        where k.kode_wilayah is null or k.kode_kabupaten_kota <> a.regency
           or k.nama <> a.nama_kecamatan
        group by all limit 5""").fetchall()
    assert bad_kec == []
    bad_desa = con.execute("""
        select a.regency, a.kode_desa_kelurahan, count(*) from aduan a
        left join desa d on d.kode_wilayah = a.kode_desa_kelurahan
        where d.kode_wilayah is null or d.kode_kabupaten_kota <> a.regency
           or d.kode_kecamatan <> a.kode_kecamatan or d.nama <> a.nama_desa_kelurahan
        group by all limit 5""").fetchall()
    assert bad_desa == []
    bad_faskes = con.execute("""
        select f.regency, f.kode_kecamatan from fasilitas_kesehatan f
        left join kec k on k.kode_wilayah = f.kode_kecamatan
        where k.kode_wilayah is null or k.kode_kabupaten_kota <> f.regency""").fetchall()
    assert bad_faskes == []
    # every regency's files reach a good part of its kecamatan
    spread = con.execute("""
        select a.regency, count(distinct a.kode_kecamatan) * 1.0 / any_value(n.n) from aduan a
        join (select kode_kabupaten_kota r, count(*) n from kec group by 1) n on n.r = a.regency
        group by 1""").fetchall()
    assert all(share == 1.0 for _, share in spread)


# ------------------------------------------------------------------------ timestamps


def test_closed_after_received_and_only_when_selesai(default_set):
    con = default_set["con"]
    assert con.execute("select count(*) from aduan where diterima_pada is null").fetchone()[0] == 0
    assert con.execute("""select count(*) from aduan where status = 'selesai'
        and (diselesaikan_pada is null or diselesaikan_pada < diterima_pada)""").fetchone()[0] == 0
    assert con.execute("""select count(*) from aduan where status <> 'selesai'
        and diselesaikan_pada is not null""").fetchone()[0] == 0
    lo, hi = con.execute("select min(diterima_pada), max(coalesce(diselesaikan_pada, "
                         "diterima_pada)) from aduan").fetchone()
    assert lo.year == hi.year == 2024
    assert con.execute("select count(*) from aduan where month(diterima_pada) "
                       "<> cast(substr(file, 12, 2) as int)").fetchone()[0] == 0


def test_closing_times_follow_service_levels(default_set):
    con = default_set["con"]
    days = "date_diff('second', diterima_pada, diselesaikan_pada) / 86400.0"
    within = dict(con.execute(f"""
        select case when kategori in ('kependudukan', 'perizinan') then 'info'
                    when kategori in ('kebakaran', 'layanan darurat') then 'darurat'
                    when kategori in ('ketenagakerjaan', 'kesehatan', 'pendidikan', 'lainnya')
                         then 'aduan' else 'lapangan' end,
               avg(case when kategori in ('kependudukan', 'perizinan') then {days} <= 5
                        when kategori in ('kebakaran', 'layanan darurat') then {days} <= 1
                        when kategori in ('ketenagakerjaan', 'kesehatan', 'pendidikan',
                                          'lainnya') then {days} <= 14
                        else {days} <= 60 end::int)
        from aduan where status = 'selesai' group by 1""").fetchall())
    assert within["info"] > 0.9 and within["aduan"] > 0.9 and within["lapangan"] > 0.97
    assert within["darurat"] > 0.95
    assert con.execute(f"select max({days}) from aduan").fetchone()[0] > 60  # a tail beyond


def test_open_tickets_concentrate_in_the_last_weeks(default_set):
    con = default_set["con"]
    late, total = con.execute("""select count(*) filter (where diterima_pada >= '2024-12-01'),
        count(*) from aduan where status <> 'selesai'""").fetchone()
    assert late / total > 0.75
    last_week = con.execute("""select avg((status <> 'selesai')::int) from aduan
        where diterima_pada >= '2024-12-25'""").fetchone()[0]
    assert last_week > 0.7


# ------------------------------------------------------------------------ ticket ids


def test_ticket_ids_unique_per_regency_and_overall(default_set):
    con = default_set["con"]
    dupes = con.execute("""select regency, nomor_tiket, count(*) from aduan
        group by all having count(*) > 1 limit 5""").fetchall()
    assert dupes == []
    assert con.execute("select count(distinct nomor_tiket) = count(*) from aduan").fetchone()[0]
    patterns = dict(con.execute(
        "select regency, any_value(nomor_tiket) from aduan group by 1").fetchall())
    assert re.fullmatch(r"TNG2024\d{6}", patterns["36.71"])
    assert re.fullmatch(r"\d{6}/ADU-CLG/[IVX]+/2024", patterns["36.72"])


def test_perm_ticket_numbers_stay_unique_at_big_sizes():
    seq = np.arange(1, 2_000_001)
    ids = g._ticket_ids(g.ADUAN_SHAPES["36.73"], seq, 2024, 1, 7, salt=5)
    assert pc.count_distinct(ids).as_py() == len(seq)
    assert pc.min_max(pc.utf8_length(ids)).as_py() == {"min": 11, "max": 11}


# -------------------------------------------------------------------- personal data


def test_exports_carry_reporters_personal_data(default_set):
    con = default_set["con"]
    bps = {r["kode_wilayah"]: r["kode_bps"] for r in _reference("wilayah_kabupaten_kota.csv")}
    for code, nik, phone in con.execute(
            "select regency, nik_pelapor, telepon_pelapor from aduan using sample 3000 "
            "(reservoir, 1)").fetchall():
        if nik is not None:
            assert re.fullmatch(r"\d{16}", nik) and nik.startswith(bps[code]), nik
        assert re.fullmatch(r"(08\d{2}-?\d{4}-?\d{3,5}|\+62 ?8\d{2}-?\d{4}-?\d{3,5})", phone)
    share = dict(con.execute("""select regency,
        avg(coalesce(email_pelapor like '%_@_%.%', false)::int)
        from aduan group by 1""").fetchall())
    assert share["36.02"] == 0  # Lebak's export has no e-mail column
    assert all(0.05 < s < 0.6 for c, s in share.items() if c != "36.02")
    assert con.execute("select count(*) from aduan where nama_pelapor is null").fetchone()[0] == 0


# ------------------------------------------------------------------------ facilities


def test_every_facility_lies_inside_its_regency(default_set):
    con = default_set["con"]
    rows = con.execute("select regency, lintang, bujur from fasilitas_kesehatan").fetchall()
    assert len(rows) == default_set["faskes"]["rows"] > 155
    regs = g.load_regencies()
    by_code: dict[str, list] = {}
    for code, lat, lng in rows:
        assert -7.1 < lat < -5.7 and 105.0 < lng < 106.9
        by_code.setdefault(code, []).append((lat, lng))
    for code, pts in by_code.items():
        lat, lng = np.array(pts).T
        assert g.points_in_polygons(lat, lng, regs[code].polygons).all(), code
    assert set(by_code) == set(regs)


def test_facility_list_shape(default_set):
    con = default_set["con"]
    assert con.execute("select count(distinct kode_fasilitas) = count(*) "
                       "from fasilitas_kesehatan").fetchone()[0]
    kinds = dict(con.execute(
        "select jenis_fasilitas, count(*) from fasilitas_kesehatan group by 1").fetchall())
    assert set(kinds) == {"puskesmas", "klinik pratama", "klinik utama", "rumah sakit umum",
                          "rumah sakit khusus"}
    assert 155 <= kinds["puskesmas"] <= 2 * 155
    missing = con.execute("""select k.kode_wilayah from kec k where not exists (
        select 1 from fasilitas_kesehatan f where f.kode_kecamatan = k.kode_wilayah
        and f.jenis_fasilitas = 'puskesmas')""").fetchall()
    assert missing == []
    assert con.execute("""select count(*) from fasilitas_kesehatan f join kec k
        on k.kode_wilayah = f.kode_kecamatan where f.jenis_fasilitas = 'puskesmas'
        and f.nama_fasilitas = 'Puskesmas ' || k.nama""").fetchone()[0] == 155
    # decimal-comma files really use a comma
    text = (default_set["landing"] / "36.71" / "fasilitas_kesehatan"
            / "fasilitas_kesehatan.csv").read_text(encoding="utf-8")
    assert re.search(r";-6,\d{6};106,\d{6}\n", text)


def test_ray_casting_on_known_points():
    regs = g.load_regencies()
    lat, lng = regs["36.71"].centroid
    assert g.point_in_regency(lat, lng, "36.71")
    assert not g.point_in_regency(lat, lng, "36.01")
    for code, reg in regs.items():
        if code not in ("36.01", "36.04"):  # convex-ish: the centroid lies inside
            assert g.point_in_regency(*reg.centroid, code), code
    landmarks = {                          # (lat, lng) -> the one regency it lies in
        (-6.1256, 106.6558): "36.71",      # Bandara Soekarno-Hatta, terminal 3
        (-6.1203, 106.1503): "36.73",      # alun-alun Kota Serang
        (-5.9300, 105.9970): "36.72",      # Pelabuhan Merak, Cilegon
        (-6.3590, 106.2510): "36.02",      # Rangkasbitung
        (-6.2650, 106.4750): "36.03",      # Tigaraksa
        (-6.3420, 106.7380): "36.74",      # Pamulang
        (-6.3080, 106.1030): "36.01",      # Pandeglang town
        (-6.5900, 105.2200): "36.01",      # Pulau Panaitan (a separate polygon)
    }
    for (lat, lng), code in landmarks.items():
        assert [c for c in regs if g.point_in_regency(lat, lng, c)] == [code], (lat, lng)
    monas = (-6.1754, 106.8272)           # Jakarta, outside Banten
    java_sea = (-5.75, 106.40)
    for code in regs:
        assert not g.point_in_regency(*monas, code)
        assert not g.point_in_regency(*java_sea, code)
    # a square with a square hole, rings [lng, lat]
    outer = np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], dtype=float)
    hole = np.array([[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]], dtype=float)
    got = g.points_in_polygons([0.5, 2, 2, 5, 3.5], [0.5, 2, 3.5, 2, 3.5], [[outer, hole]])
    assert got.tolist() == [True, False, True, False, True]


# ------------------------------------------------------------------------ size scaling


def test_size_scaling_keeps_total_and_status_shares(tmp_path):
    res = g.write_aduan(tmp_path / "landing", size=100_000, formats="csv")
    assert res["rows"] == 100_000
    assert all(p.suffix == ".csv" for p in res["files"])
    con = duckdb.connect()
    load_canonical(con, g.registry_fragment(100_000, "csv"), tmp_path, "aduan")
    total = con.execute("select count(*) from aduan").fetchone()[0]
    assert total == 100_000
    shares = dict(con.execute(
        "select status, count(*) / 100000 from aduan group by 1").fetchall())
    for status, n in g.CALIBRATION_STATUS.items():
        assert abs(shares[status] - n / 14_012) < 0.01, status
    per = dict(con.execute("select regency, count(*) from aduan group by 1").fetchall())
    assert per == res["per_regency"]
    assert per["36.03"] > per["36.71"] > per["36.72"]  # by population


def test_big_sizes_fall_back_to_csv():
    small = g.aduan_shapes(None)
    big = g.aduan_shapes(10_000_000)
    assert small["36.01"].format == small["36.72"].format == "xlsx"
    assert small["36.03"].format == small["36.74"].format == "ckan_json"
    assert {s.format for s in big.values()} == {"csv"}
    assert g.aduan_rows_per_regency(10_000_000)["36.71"] == round(
        10_000_000 * 1_957_349 / 12_881_374)
    assert sum(g.aduan_rows_per_regency(1_234_567).values()) == 1_234_567


# -------------------------------------------------------------------- registry fragment


def test_example_fragment_is_the_generated_one_and_loads(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text == g.registry_fragment()
    (tmp_path / "feeds.yml").write_text(text, encoding="utf-8")
    registry = load_registry(tmp_path / "feeds.yml")
    assert set(registry.datasets) == {"aduan", "fasilitas_kesehatan"}
    assert len(registry.feeds) == 16
    assert registry.datasets["aduan"].key == ("nomor_tiket",)
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    personal = [c for c, s in doc["datasets"]["aduan"]["columns"].items()
                if s.get("personal_data")]
    assert personal == ["nama_pelapor", "nik_pelapor", "telepon_pelapor", "email_pelapor"]
    for feed in doc["feeds"]:
        if feed["dataset"] == "aduan":
            assert "timestamp_format" in feed["options"], feed["id"]


def test_cli_writes_both_datasets(tmp_path, capsys):
    assert g.main(["--landing", str(tmp_path / "landing"), "--aduan-size", "1200",
                   "--seed", "3", "--formats", "csv",
                   "--registry-fragment", str(tmp_path / "frag.yml")]) == 0
    out = capsys.readouterr().out
    assert "aduan: 1,200 rows in 96 files" in out
    assert len(list((tmp_path / "landing").glob("*/fasilitas_kesehatan/*"))) == 8
    assert (tmp_path / "frag.yml").read_text() == g.registry_fragment(1200, "csv")
