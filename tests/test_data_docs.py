"""GX Data Docs (flows/quality/data_docs/): real validations through Great Expectations on DuckDB,
rendered by GX's own site builder, checked for personal data with flows.common.pii and for
requests to other hosts, swapped in atomically. No mocks of GX."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import socket
import time
from pathlib import Path

import duckdb
import pytest

from flows import timing
from flows.common import pii
from flows.common.sql import quote_literal
from flows.quality import Verdict, data_docs, validate_table
from flows.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FEED = "kota-tangerang.aduan"
CHROMIUM = Path("/usr/bin/chromium")
VENDOR = ROOT / "flows" / "quality" / "data_docs" / "assets" / "vendor"
VENDOR_PREFIX = data_docs.offline.VENDOR_PREFIX     # in the published docs

# Personal data the batch carries: in personal-data columns (masked whole) and, as a
# regency's export can, pasted into an ordinary column (status) that fails its rule.
NAME, NIK, NIK_2 = "Siti Rahmawati", "3671014501900001", "3671016208850002"
PHONE, PHONE_2, EMAIL = "0812-3456-7890", "081298765432", "siti.rahmawati@example.com"
SECRETS = (NAME, "Rahmawati", NIK, NIK_2, PHONE, PHONE_2, "3456-7890", "98765432", EMAIL,
           "siti.rahmawati")

# The real aduan suite plus rules on personal-data columns (a suite may check them), one of
# them a query rule whose unexpected rows carry the reporter's name, phone and e-mail.
EXTRA_RULES = """
  - expect: expect_column_values_to_match_regex
    kwargs: {column: nik_pelapor, regex: '^9'}
    severity: warning

  - expect: expect_column_values_to_not_match_regex
    kwargs: {column: nama_pelapor, regex: '^[A-Z]'}
    severity: warning

  - expect: unexpected_rows
    column: telepon_pelapor
    description: a reporter left a phone number
    query: >-
      select nomor_tiket, nama_pelapor, nik_pelapor, telepon_pelapor, email_pelapor
      from {batch} where telepon_pelapor is not null
    severity: warning
"""
PARAMS = {"kecamatan": ["36.71.01", "36.71.02"],
          "desa_kelurahan": ["36.71.01.1001", "36.71.02.1002"],
          "half_previous_rows": 0}


def _batch(con: duckdb.DuckDBPyConnection, table: str, status_2: str) -> None:
    con.execute(f"""create table {table} (nomor_tiket varchar, diterima_pada timestamp,
        diselesaikan_pada timestamp, kanal varchar, kategori varchar, kode_kecamatan varchar,
        kode_desa_kelurahan varchar, status varchar, nama_pelapor varchar,
        nik_pelapor varchar, telepon_pelapor varchar, email_pelapor varchar,
        _regency varchar)""")
    con.executemany(f"insert into {table} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("TNG-1", "2024-03-01 08:00", "2024-03-02 09:00", "web", "sampah", "36.71.01",
         "36.71.01.1001", "selesai", NAME, NIK, PHONE, EMAIL, "36.71"),
        ("TNG-2", "2024-03-03 10:00", None, "telepon", "banjir", "36.71.02",
         "36.71.02.1002", status_2, "Budi Santoso", NIK_2, PHONE_2, "budi@example.org",
         "36.71"),
    ])


def _reference(con: duckdb.DuckDBPyConnection) -> None:
    """The reference lists the suite's region-code rules read (as the warehouse has them)."""
    con.execute("create schema reference")
    for name, codes in (("wilayah_kecamatan", PARAMS["kecamatan"]),
                        ("wilayah_desa_kelurahan", PARAMS["desa_kelurahan"])):
        con.execute(f"create table reference.{name} (kode_wilayah varchar, "
                    "kode_kabupaten_kota varchar)")
        con.executemany(f"insert into reference.{name} values (?, '36.71')",
                        [(c,) for c in codes])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("data-docs")
    suites = base / "expectations"
    suites.mkdir()
    (suites / "aduan.yml").write_text(
        (ROOT / "expectations" / "aduan.yml").read_text(encoding="utf-8") + EXTRA_RULES,
        encoding="utf-8")
    database = base / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    _reference(con)
    # status of ticket 2: the regency pasted the reporter's contact details into it.
    _batch(con, "bad", f"hubungi {PHONE_2} / {EMAIL} NIK {NIK_2}")
    _batch(con, "good", "proses")
    con.close()
    verdicts = {name: validate_table(database, name, "aduan", params=PARAMS,
                                     expectations_dir=suites)
                for name in ("bad", "good")}
    settings = Settings(home=base / "home", feeds_file=ROOT / "data" / "feeds.yml")
    return {"settings": settings, "verdicts": verdicts, "base": base}


def _save(settings: Settings, verdict: Verdict, *, status: str, submission: str,
          received: dt.datetime, file_name: str = "aduan_2024-03.csv",
          feed: str = FEED) -> None:
    data_docs.save_result(settings, submission_id=submission, feed_id=feed, regency="36.71",
                          dataset="aduan", file_name=file_name, status=status,
                          received_at=received, verdict=verdict)


def _texts(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix != ".ico"
            and p.suffix != ".png"}


@pytest.fixture(scope="module")
def built(env: dict) -> dict:
    settings = env["settings"]
    bad, good = env["verdicts"]["bad"], env["verdicts"]["good"]
    assert not bad.accepted and good.accepted
    march = dt.datetime(2024, 4, 1, 3, 0, tzinfo=dt.UTC)
    _save(settings, good, status="accepted", submission="a0" * 16, received=march,
          file_name="aduan_2024-02.csv")
    _save(settings, bad, status="quarantined", submission="b1" * 16, received=march)
    before = timing.totals().get("data_docs.build", {"seconds": 0.0, "calls": 0})
    cwd = env["base"] / "cwd"
    cwd.mkdir()

    def refuse(self: socket.socket, address: object) -> None:
        raise AssertionError(f"network access to {address!r} while building Data Docs")

    with pytest.MonkeyPatch.context() as patch:   # no network, nothing in the cwd
        patch.setattr(socket.socket, "connect", refuse)
        patch.chdir(cwd)
        started = time.perf_counter()
        docs = data_docs.build(settings)
        elapsed = time.perf_counter() - started
    assert list(cwd.iterdir()) == [] and not (ROOT / "gx").exists()
    after = timing.totals()["data_docs.build"]
    assert after["calls"] == before["calls"] + 1
    return {"docs": docs, "seconds": elapsed, "texts": _texts(docs)}


# --- masking (no GX) ---------------------------------------------------------------------------


def test_mask_result_of_a_personal_dataset_keeps_rules_counts_and_positions_only() -> None:
    """A batch of a dataset with personal-data columns: no sampled value at all, in any
    column (a name or phone number pasted into `status` included); counts and row
    numbers stay."""
    gx_result = {"suite_name": "aduan", "results": [
        {"expectation_config": {"type": "expect_column_values_to_match_regex",
                                "kwargs": {"column": "nik_pelapor", "regex": "^9"}},
         "result": {"element_count": 2, "unexpected_count": 1, "unexpected_percent": 50.0,
                    "partial_unexpected_list": [NIK, 3671014501900001],
                    "partial_unexpected_counts": [{"value": NIK, "count": 1}]},
         "exception_info": {"raised_exception": True, "exception_message": f"bad {EMAIL}",
                            "exception_traceback": f"Traceback ... {NAME}"}},
        {"expectation_config": {"type": "expect_column_values_to_be_in_set",
                                "kwargs": {"column": "status", "value_set": ["selesai"]}},
         "result": {"partial_unexpected_list": [f"hubungi {PHONE}", NAME, "menunggu"],
                    "partial_unexpected_index_list": [3, 9]}},
        {"expectation_config": {"type": "unexpected_rows_expectation", "kwargs": {}},
         "result": {"observed_value": 30, "details": {"unexpected_rows": [
             {"_row_number": i + 1, "nomor_tiket": f"T{i}", "nama_pelapor": NAME,
              "no_hp": PHONE} for i in range(30)]}}},
    ]}
    original = json.dumps(gx_result)
    masked = data_docs.mask_result(gx_result, {"nik_pelapor", "nama_pelapor"},
                                   dataset_personal=True)
    assert json.dumps(gx_result) == original          # the verdict's copy is not changed
    text = json.dumps(masked)
    for secret in (NAME, NIK, "3671014501900001", PHONE, EMAIL, "hubungi", "menunggu", "T0"):
        assert secret not in text, secret
    first, second, third = masked["results"]
    assert first["result"]["partial_unexpected_list"] == [data_docs.MASK, data_docs.MASK]
    assert first["result"]["partial_unexpected_counts"] == [{"value": data_docs.MASK,
                                                              "count": 1}]
    assert first["result"]["unexpected_count"] == 1          # counts stay readable
    assert first["exception_info"]["exception_traceback"] is None
    assert second["expectation_config"]["kwargs"]["value_set"] == ["selesai"]   # the rule
    assert second["result"]["partial_unexpected_list"] == [data_docs.MASK] * 3
    assert second["result"]["partial_unexpected_index_list"] == [3, 9]          # positions
    rows = third["result"]["details"]["unexpected_rows"]
    assert len(rows) == data_docs.MAX_ROWS and third["result"]["observed_value"] == 30
    assert rows[0] == {"_row_number": 1, "nomor_tiket": data_docs.MASK,
                       "nama_pelapor": data_docs.MASK, "no_hp": data_docs.MASK}


def test_a_result_on_a_personal_column_makes_the_batch_personal() -> None:
    """Even when the registry does not say so, a rule on a column named like personal
    data (nik_pelapor) means the batch carries personal data: nothing is sampled."""
    gx_result = {"results": [
        {"expectation_config": {"kwargs": {"column": "nik_pelapor"}},
         "result": {"partial_unexpected_list": ["x"]}},
        {"expectation_config": {"kwargs": {"column": "status"}},
         "result": {"partial_unexpected_list": ["Budi Santoso"]}},
    ]}
    masked = data_docs.mask_result(gx_result)
    assert [r["result"]["partial_unexpected_list"] for r in masked["results"]] == [
        [data_docs.MASK], [data_docs.MASK]]


def test_mask_result_of_another_dataset_masks_samples() -> None:
    """A dataset without personal-data columns keeps its sampled values readable, with
    long digit runs, phone numbers, e-mail addresses and the names passed in masked,
    however they are written; a personal column of a joined query rule is masked whole."""
    gx_result = {"results": [
        {"expectation_config": {"kwargs": {"column": "jenis_fasilitas"}},
         "result": {"partial_unexpected_list": [
             f"hubungi {PHONE}", "siti  rahmawati datang", 3671016208850002,
             "NIK 3671 0963 0261 7803", "kontak siti(at)example(dot)com", "klinik gigi",
             "kode 36.71.01.1001", "nomor 12345678"]}},
        {"expectation_config": {"type": "unexpected_rows_expectation", "kwargs": {}},
         "result": {"details": {"unexpected_rows": [
             {"_row_number": 4, "nama_pelapor": "Budi",
              "alamat": "Jl. Raya, telp 0812.3456.7890"}]}}},
    ]}
    masked = data_docs.mask_result(gx_result, {"nama_pelapor"}, dataset_personal=False,
                                   names={NAME})
    first, second = masked["results"]
    assert first["result"]["partial_unexpected_list"] == [
        "hubungi 0812-****-**90", "*** datang", "3671**********02",
        "NIK 3671 **** **** **03", "kontak s***@example.com", "klinik gigi",
        "kode 36.71.01.1001", "nomor ********"]
    assert second["result"]["details"]["unexpected_rows"] == [
        {"_row_number": 4, "nama_pelapor": data_docs.MASK,
         "alamat": "Jl. Raya, telp 0812.****.**90"}]


def test_results_of_an_unknown_or_unreadable_registry_show_no_values(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", feeds_file=tmp_path / "missing.yml")
    assert data_docs.dataset_has_personal(settings, "penduduk")
    real = Settings(home=tmp_path / "home", feeds_file=ROOT / "data" / "feeds.yml")
    assert data_docs.dataset_has_personal(real, "aduan")
    assert not data_docs.dataset_has_personal(real, "fasilitas_kesehatan")
    assert data_docs.dataset_has_personal(real, "no_such_dataset")


def test_save_result_skips_an_empty_result_and_never_raises(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", feeds_file=tmp_path / "missing.yml")
    empty = Verdict(suite="aduan", table="t", accepted=True, results=[])
    _save(settings, empty, status="accepted", submission="c" * 32,
          received=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert not data_docs.store_dir(settings).exists()
    assert data_docs.build(settings) is None


def test_store_keeps_the_newest_results_per_feed_and_status(env: dict, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", feeds_file=ROOT / "data" / "feeds.yml")
    verdict = env["verdicts"]["good"]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for month in range(6):
        _save(settings, verdict, status="accepted", submission=f"{month:032x}",
              received=start + dt.timedelta(days=31 * month))
    _save(settings, verdict, status="quarantined", submission="f" * 32, received=start)
    folder = data_docs.store_dir(settings) / "aduan" / FEED
    kept = sorted(p.name for p in folder.glob("*.json"))
    assert len(kept) == data_docs.KEEP_PER_STATUS + 1
    chosen = data_docs.select_results(settings)
    assert [p.name.split("__")[2] for p in chosen] == ["accepted", "quarantined"]
    assert chosen[0].name.endswith(f"{5:032x}.json")      # the newest accepted file


# --- real GX Data Docs ---------------------------------------------------------------------------


def test_index_lists_the_suite_and_both_batches(built: dict) -> None:
    docs, texts = built["docs"], built["texts"]
    assert docs == built["docs"].parent / "data-docs" and (docs / "index.html").is_file()
    index = texts["index.html"]
    assert "Satu Data Banten" in index
    assert "expectations/aduan.html" in index              # the suite
    assert f"{FEED} · aduan_2024-03.csv" in index          # the quarantined batch
    assert f"{FEED} · aduan_2024-02.csv" in index          # the accepted one
    assert "b1b1b1b1b1b1" in index and "a0a0a0a0a0a0" in index   # batch ids
    pages = sorted(p for p in texts if p.startswith("validations/"))
    assert len(pages) == 2
    assert any("/quarantined/" in p for p in pages) and any("/accepted/" in p for p in pages)
    assert "expectations/aduan.html" in texts


def test_failing_expectations_appear_with_their_columns(built: dict) -> None:
    page = next(t for p, t in built["texts"].items() if "/quarantined/" in p)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Failed" in text
    # status (critical) failed: the value set and the masked example are shown.
    assert "status" in text and "menunggu" in text
    assert "1 unexpected values found" in text
    # aduan has personal-data columns: the sampled value (a pasted phone number, e-mail
    # and NIK) is not shown at all, only the rule and the counts.
    assert "hubungi" not in text and "example.com" not in text
    assert "nik_pelapor" in text and data_docs.MASK in text


def test_no_personal_data_in_docs_or_store(env: dict, built: dict) -> None:
    # The batch really carries personal data flows.common.pii detects.
    raw = json.dumps(env["verdicts"]["bad"].gx_result)
    scanner = pii.ValueScanner("gx_result", {"raw": "text"})
    scanner.add("raw", [raw])
    assert {f.kind for f in scanner.findings()} == {"nik", "phone", "email"}
    assert NAME in raw
    # None of it reaches the published docs, nor the stored results.
    stored = _texts(data_docs.store_dir(env["settings"]))
    for name, text in {**built["texts"], **stored}.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in {name}"
    assert data_docs.scan_for_personal_data(built["docs"]) == []
    for name, text in stored.items():
        scanner = pii.ValueScanner(name, {"text": "text"})
        scanner.add("text", [text])
        assert scanner.findings() == [], name


def test_pages_load_nothing_from_other_hosts(built: dict) -> None:
    # The vendored libraries (and their licences) name their sites in strings and comments:
    # they are checked to be the package's files, byte for byte, and in a browser below.
    texts = {n: t for n, t in built["texts"].items() if not n.startswith(VENDOR_PREFIX)}
    vendored = {n[len(VENDOR_PREFIX):] for n in built["texts"] if n.startswith(VENDOR_PREFIX)}
    assert vendored == {p.name for p in VENDOR.iterdir()}
    for name in vendored:
        assert (built["docs"] / VENDOR_PREFIX / name).read_bytes() == (
            VENDOR / name).read_bytes(), name
    for name, text in texts.items():
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.I), name
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text, re.I), name
        assert "http://" not in text and "https://" not in text, name
    # What the pages refer to is there.
    docs = built["docs"]
    for name, text in texts.items():
        if not name.endswith(".html"):
            continue
        for ref in re.findall(r"""(?:src|href)="([^"#?]+)""", text):
            assert (docs / name).parent.joinpath(ref).resolve().is_file(), (name, ref)


def test_build_time(built: dict) -> None:
    assert built["seconds"] < 30


def test_rebuild_swaps_atomically_and_keeps_old_docs_on_failure(
        env: dict, built: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = env["settings"]
    docs = built["docs"]
    # Nothing new: the published folder is kept as it is.
    first_inode = docs.stat().st_ino
    assert data_docs.build(settings) == docs and docs.stat().st_ino == first_inode

    # A new file for the feed: a new folder replaces the old one in one rename.
    _save(settings, env["verdicts"]["good"], status="accepted", submission="d2" * 16,
          received=dt.datetime(2024, 5, 1, tzinfo=dt.UTC), file_name="aduan_2024-04.csv")
    swaps = []
    real = data_docs.building.swap_dir

    def watched(staging: Path, target: Path, *, old_prefix: str) -> Path:
        assert staging.parent == target.parent and (staging / "index.html").is_file()
        assert (target / "index.html").is_file()           # still the old docs
        swaps.append(staging.name)
        return real(staging, target, old_prefix=old_prefix)

    monkeypatch.setattr(data_docs.building, "swap_dir", watched)
    assert data_docs.build(settings) == docs
    assert len(swaps) == 1 and docs.stat().st_ino != first_inode
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "aduan_2024-04.csv" in index and "aduan_2024-02.csv" not in index
    assert [p.name for p in docs.parent.iterdir()] == ["data-docs"]   # nothing left aside

    # A build that fails its personal-data check publishes nothing and leaves the docs.
    _save(settings, env["verdicts"]["good"], status="accepted", submission="e3" * 16,
          received=dt.datetime(2024, 6, 1, tzinfo=dt.UTC), file_name="aduan_2024-05.csv")
    finding = pii.Finding("index.html", "page", "nik", 1, "3671**********01")
    monkeypatch.setattr(data_docs.building, "scan_for_personal_data",
                        lambda root: [finding])
    with pytest.raises(data_docs.DataDocsError, match="personal data"):
        data_docs.build(settings)
    assert (docs / "index.html").read_text(encoding="utf-8") == index
    assert [p.name for p in docs.parent.iterdir()] == ["data-docs"]


@pytest.mark.e2e
def test_docs_work_offline_in_a_browser(built: dict, tmp_path: Path) -> None:
    """Headless Chromium opens the docs from disk with every other request refused: the
    validation table is filled, a row leads to its page, and nothing was requested."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    docs = tmp_path / "docs"
    shutil.copytree(built["docs"], docs)
    outside, errors = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto((docs / "index.html").as_uri())
            row = page.locator("tr.clickable-row", has_text="aduan_2024-03.csv")
            row.wait_for(timeout=10_000)
            row.click()
            page.wait_for_url("**/validations/aduan/quarantined/**")
            page.get_by_text("Failed Only").click()
            assert page.locator("h5", has_text="nik_pelapor").is_visible()
            assert page.locator("nav a", has_text="nik_pelapor").is_visible()
            page.goto((docs / "index.html").as_uri())
            page.locator("#Expectation-Suites-tab").click()
            page.locator("#Expectation-Suites tr.clickable-row", has_text="aduan").click()
            page.wait_for_url("**/expectations/aduan.html")
            assert "kode_desa_kelurahan" in page.inner_text("body")
        finally:
            browser.close()
    assert outside == [] and errors == []


@pytest.mark.parametrize("text, kinds", [
    ("ratio 12.0848123456734 of the batch", set()),          # a decimal fraction
    ("share 0.3601234512650001", set()),                    # ... NIK-shaped digits too
    ("hubungi Tel.081234567890 segera", {"phone"}),
    ("call 0812-3456-7890", {"phone"}),
    ("NIK 3601234512650001", {"nik"}),
])
def test_personal_data_patterns_tell_decimals_from_numbers(text: str, kinds: set) -> None:
    """Rendered quality pages are full of ratios; a ratio's digits after the decimal point
    are not a phone number or NIK (that made Data Docs refuse to publish, at random), while
    a number after 'Tel.' still is. Python's and DuckDB's regex engines agree."""
    scanner = pii.ValueScanner("page", {"page": "text"})
    scanner.add("page", [text])
    assert {f.kind for f in scanner.findings()} == kinds
    con = duckdb.connect()
    found = pii.scan_relation(con, f"(select {quote_literal(text)} as page)",
                              {"page": "text"}, "page")
    assert {f.kind for f in found} == kinds


# --- a dataset without personal-data columns, with hostile names and values ----------------

XSS_FILE = "<img src=x onerror=alert(8)>.csv"
XSS_VALUE = "<script>alert(1)</script>"
XSS_FEED = "<b onmouseover=alert(7)>kota-x</b>.fasilitas_kesehatan"
FASKES_SUITE = """
dataset: fasilitas_kesehatan
description: jenis_fasilitas only
expectations:
  - expect: expect_column_values_to_be_in_set
    kwargs: {column: jenis_fasilitas, value_set: [puskesmas, klinik pratama]}
    severity: critical
"""


@pytest.fixture(scope="module")
def faskes_built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Data Docs of a fasilitas_kesehatan batch (no personal-data column) whose file name,
    feed id and failing values carry markup, a phone number, a NIK and a name."""
    base = tmp_path_factory.mktemp("data-docs-faskes")
    suites = base / "expectations"
    suites.mkdir()
    (suites / "fasilitas_kesehatan.yml").write_text(FASKES_SUITE, encoding="utf-8")
    database = base / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    con.execute("create table batch (kode_fasilitas varchar, jenis_fasilitas varchar)")
    con.executemany("insert into batch values (?, ?)", [
        ("P1", "puskesmas"), ("P2", XSS_VALUE), ("P3", f"klinik, hubungi {PHONE}"),
        ("P4", "NIK 3671 0963 0261 7803"), ("P5", "a & b"),
    ])
    con.close()
    verdict = validate_table(database, "batch", "fasilitas_kesehatan",
                             expectations_dir=suites)
    assert not verdict.accepted
    settings = Settings(home=base / "home", feeds_file=ROOT / "data" / "feeds.yml")
    data_docs.save_result(settings, submission_id="c3" * 16, feed_id=XSS_FEED,
                          regency="36.71", dataset="fasilitas_kesehatan", file_name=XSS_FILE,
                          status="quarantined", received_at=dt.datetime(2024, 4, 1,
                                                                        tzinfo=dt.UTC),
                          verdict=verdict)
    docs = data_docs.build(settings)
    return {"docs": docs, "texts": _texts(docs), "settings": settings}


def test_markup_from_file_names_feeds_and_values_is_escaped(faskes_built: dict) -> None:
    """A landing file named `<img src=x onerror=alert(8)>.csv` and a submitted value
    `<script>alert(1)</script>` appear in the pages only escaped: no element, no script
    from data, in the breadcrumb, the index table (filled through innerHTML) or a cell."""
    texts = {n: t for n, t in faskes_built["texts"].items() if n.endswith(".html")}
    page = next(t for n, t in texts.items() if n.startswith("validations/"))
    for name, text in texts.items():
        lowered = text.lower()
        assert "<img src=x" not in lowered, name
        assert "<script>alert" not in lowered, name
        assert "<b onmouseover" not in lowered, name
        # the escaped text is not unescaped by a second layer either (JSON in scripts)
        assert "\\u003cimg" not in lowered and "\\u003cscript" not in lowered, name
    index = texts["index.html"]
    assert "&lt;img src=x onerror=alert(8)&gt;.csv" in index       # shown, as text
    assert "&lt;img src=x onerror=alert(8)&gt;.csv" in page         # breadcrumb / header
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page          # the sampled value
    assert "a &amp; b" in page and "a &amp;amp; b" not in page      # escaped once


def test_samples_of_a_dataset_without_personal_columns_are_masked(faskes_built: dict
                                                                   ) -> None:
    page = next(t for n, t in faskes_built["texts"].items() if n.startswith("validations/"))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "klinik, hubungi 0812-****-**90" in text                 # readable, masked
    assert "NIK 3671 **** **** **03" in text
    for secret in (PHONE, "3456-7890", "0963 0261 7803"):
        assert secret not in page
    stored = _texts(data_docs.store_dir(faskes_built["settings"]))
    assert len(stored) == 1
    (doc,) = [json.loads(t) for t in stored.values()]
    assert doc["file_name"] == XSS_FILE          # stored plain: escaped when rendered
    assert PHONE not in json.dumps(doc) and "0261 7803" not in json.dumps(doc)
    assert data_docs.scan_for_personal_data(faskes_built["docs"]) == []


def test_results_stored_by_an_older_version_are_masked_again(env: dict, tmp_path: Path
                                                             ) -> None:
    """A result kept before today's rules (here: not masked at all) is masked again when
    the pages are built: no sampled value of a personal dataset reaches them."""
    settings = Settings(home=tmp_path / "home", feeds_file=ROOT / "data" / "feeds.yml")
    folder = data_docs.store_dir(settings) / "aduan" / FEED
    folder.mkdir(parents=True)
    doc = {"submission_id": "e4" * 16, "feed_id": FEED, "regency": "36.71",
           "dataset": "aduan", "file_name": f"aduan {NIK}.csv", "status": "quarantined",
           "received_at": "2024-04-01T00:00:00+00:00",
           "validated_at": "2024-04-01T00:00:00+00:00",
           "gx_result": env["verdicts"]["bad"].gx_result}
    name = "20240401T000000000000Z__20240401T000000000000Z__quarantined__e4.json"
    (folder / name).write_text(json.dumps(doc, default=str), encoding="utf-8")
    docs = data_docs.build(settings)
    for page, text in _texts(docs).items():
        for secret in (*SECRETS, "hubungi"):
            assert secret not in text, f"{secret!r} in {page}"


def test_hex_ids_in_rendered_pages_are_not_taken_for_phone_numbers(tmp_path):
    """GX writes batch ids as bare hex ("…e057679749d49…" holds the phone-like run
    057679749); the page scan skips such ids but still finds a real number beside them."""
    from flows.quality.data_docs import scan_for_personal_data

    page = tmp_path / "validation.html"
    page.write_text('<span>5f48e057679749d49d2fe064ad7b01cc</span><span>6049f9c8dcfb</span>',
                    encoding="utf-8")
    assert scan_for_personal_data(tmp_path) == []
    page.write_text('<span>5f48e057679749d49d2fe064ad7b01cc</span> HP 0812-3456-7890',
                    encoding="utf-8")
    assert len(scan_for_personal_data(tmp_path)) == 1


# --- charts: the vendored Vega libraries, under the site's Content-Security-Policy -------------

CHART_SUITE = """
dataset: fasilitas_kesehatan
description: a distribution rule, whose GX pages draw charts
expectations:
  - expect: expect_column_kl_divergence_to_be_less_than
    kwargs:
      column: jumlah_tempat_tidur
      partition_object: {bins: [0, 10, 20, 30], weights: [0.3, 0.4, 0.3]}
      threshold: 0.1
    severity: warning
"""


@pytest.fixture(scope="module")
def chart_built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Data Docs of a batch checked with a rule GX draws (our suites have none such today:
    only GX's distribution rules have charts): its validation page holds two charts."""
    base = tmp_path_factory.mktemp("data-docs-chart")
    suites = base / "expectations"
    suites.mkdir()
    (suites / "fasilitas_kesehatan.yml").write_text(CHART_SUITE, encoding="utf-8")
    database = base / "warehouse.duckdb"
    con = duckdb.connect(str(database))
    con.execute("create table batch as select (i * 7) % 30 as jumlah_tempat_tidur "
                "from range(100) t(i)")
    con.close()
    verdict = validate_table(database, "batch", "fasilitas_kesehatan",
                             expectations_dir=suites)
    settings = Settings(home=base / "home", feeds_file=ROOT / "data" / "feeds.yml")
    data_docs.save_result(settings, submission_id="c5" * 16,
                          feed_id="kota-tangerang.fasilitas_kesehatan", regency="36.71",
                          dataset="fasilitas_kesehatan", file_name="faskes_2024-03.csv",
                          status="accepted", received_at=dt.datetime(2024, 4, 1,
                                                                     tzinfo=dt.UTC),
                          verdict=verdict)
    docs = data_docs.build(settings)
    (page,) = docs.rglob("validations/**/*.html")
    return {"docs": docs, "home": settings.home, "page": page}


def test_vendored_libraries_are_the_recorded_files() -> None:
    """Each vendored library is the file its README and `VENDORED` record (sha256), with
    its licence beside it."""
    import hashlib

    readme = (VENDOR / "README.md").read_text(encoding="utf-8")
    for name, digest in data_docs.offline.VENDORED.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        assert f"`{name}`" in readme and digest in readme, name
    for licence in ("LICENSE-vega.txt", "LICENSE-vega-lite.txt", "LICENSE-vega-embed.txt"):
        assert "Redistribution and use" in (VENDOR / licence).read_text(encoding="utf-8")


def test_a_page_with_a_chart_loads_the_vendored_libraries(chart_built: dict) -> None:
    docs, page = chart_built["docs"], chart_built["page"]
    text = page.read_text(encoding="utf-8")
    assert text.count("vegaEmbed(") == 2
    scripts = re.findall(r'<script src="([^"]+)"', text)
    names = list(data_docs.offline.VENDORED)
    assert [s.rsplit("/", 1)[-1] for s in scripts] == [*names, "docs.js"]   # in this order
    for ref in scripts:
        assert page.parent.joinpath(ref).resolve().is_file(), ref
    # A page without a chart does not load them.
    assert "vendor/" not in (docs / "index.html").read_text(encoding="utf-8")
    # The personal-data scan leaves out the vendored files only while they are unchanged.
    assert data_docs.scan_for_personal_data(docs) == []
    vega = docs / VENDOR_PREFIX / "vega.min.js"
    vega.write_bytes(vega.read_bytes() + b"\n// 0812-3456-7890\n")
    try:
        assert {f.file for f in data_docs.scan_for_personal_data(docs)} == {
            f"{VENDOR_PREFIX}vega.min.js"}
    finally:
        vega.write_bytes((VENDOR / "vega.min.js").read_bytes())


@pytest.mark.e2e
def test_charts_render_under_the_sites_csp(chart_built: dict) -> None:
    """Served by the real server (so the site's Content-Security-Policy, which forbids
    eval, applies), the validation page draws its charts with the vendored Vega, and
    requests nothing from another host."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.helpers import served_home

    home = chart_built["home"]
    rel = chart_built["page"].relative_to(home / "site").as_posix()
    errors, outside = [], []
    with served_home(home) as (port, _), sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("request", lambda r: r.url.startswith(f"http://127.0.0.1:{port}/")
                    or outside.append(r.url))
            response = page.goto(f"http://127.0.0.1:{port}/app/static/{rel}")
            csp = response.headers["content-security-policy"]
            assert "script-src 'self' 'unsafe-inline'" in csp and "unsafe-eval" not in csp
            charts = page.locator("[id*='-graph'] svg, [id*='-graph'] canvas")
            charts.first.wait_for(timeout=15_000)
            page.wait_for_function(
                "document.querySelectorAll(\"[id*='-graph'] canvas, [id*='-graph'] svg\")"
                ".length >= 2", timeout=15_000)
            assert page.locator(".sd-chart-offline").count() == 0
            assert "chart not available" not in page.inner_text("body")
        finally:
            browser.close()
    assert errors == [] and outside == []
