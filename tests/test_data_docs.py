"""GX Data Docs (flows/data_docs.py): real validations through Great Expectations on DuckDB,
rendered by GX's own site builder, checked for personal data with flows.pii and for
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

from flows import data_docs, pii, timing
from flows.quality import Verdict, validate_table
from flows.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FEED = "kota-tangerang.aduan"
CHROMIUM = Path("/usr/bin/chromium")

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


def test_mask_result_masks_personal_columns_and_redacts_the_rest() -> None:
    gx_result = {"suite_name": "aduan", "results": [
        {"expectation_config": {"type": "expect_column_values_to_match_regex",
                                "kwargs": {"column": "nik_pelapor", "regex": "^9"}},
         "result": {"element_count": 2, "unexpected_count": 1, "unexpected_percent": 50.0,
                    "partial_unexpected_list": [NIK, 3671014501900001],
                    "partial_unexpected_counts": [{"value": NIK, "count": 1}]},
         "exception_info": {"raised_exception": True, "exception_message": f"bad {EMAIL}",
                            "exception_traceback": f"Traceback ... {NAME}"}},
        {"expectation_config": {"type": "expect_column_values_to_be_in_set",
                                "kwargs": {"column": "status"}},
         "result": {"partial_unexpected_list": [f"hubungi {PHONE}", 3671016208850002]}},
        {"expectation_config": {"type": "unexpected_rows_expectation", "kwargs": {}},
         "result": {"observed_value": 30, "details": {"unexpected_rows": [
             {"nomor_tiket": f"T{i}", "nama_pelapor": NAME, "no_hp": PHONE}
             for i in range(30)]}}},
    ]}
    original = json.dumps(gx_result)
    masked = data_docs.mask_result(gx_result, {"nik_pelapor", "nama_pelapor"})
    assert json.dumps(gx_result) == original          # the verdict's copy is not changed
    text = json.dumps(masked)
    for secret in (NAME, NIK, "3671014501900001", "3671016208850002", PHONE, EMAIL):
        assert secret not in text
    first, second, third = masked["results"]
    assert first["result"]["partial_unexpected_list"] == [data_docs.MASK, data_docs.MASK]
    assert first["result"]["partial_unexpected_counts"] == [{"value": data_docs.MASK,
                                                              "count": 1}]
    assert first["result"]["unexpected_count"] == 1          # counts stay readable
    assert first["exception_info"]["exception_traceback"] is None
    assert second["result"]["partial_unexpected_list"][0].startswith("hubungi 0812")
    rows = third["result"]["details"]["unexpected_rows"]
    assert len(rows) == data_docs.MAX_ROWS and third["result"]["observed_value"] == 30
    assert rows[0] == {"nomor_tiket": "T0", "nama_pelapor": data_docs.MASK,
                       "no_hp": data_docs.MASK}               # no_hp: personal by its name


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
    assert "hubungi 0812" in text                          # redacted, still recognisable
    # nik_pelapor (personal data) failed: its examples are masked whole.
    assert "nik_pelapor" in text and data_docs.MASK in text


def test_no_personal_data_in_docs_or_store(env: dict, built: dict) -> None:
    # The batch really carries personal data flows.pii detects.
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
    texts = built["texts"]
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
    real = data_docs._swap_in

    def watched(staging: Path, target: Path) -> Path:
        assert staging.parent == target.parent and (staging / "index.html").is_file()
        assert (target / "index.html").is_file()           # still the old docs
        swaps.append(staging.name)
        return real(staging, target)

    monkeypatch.setattr(data_docs, "_swap_in", watched)
    assert data_docs.build(settings) == docs
    assert len(swaps) == 1 and docs.stat().st_ino != first_inode
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "aduan_2024-04.csv" in index and "aduan_2024-02.csv" not in index
    assert [p.name for p in docs.parent.iterdir()] == ["data-docs"]   # nothing left aside

    # A build that fails its personal-data check publishes nothing and leaves the docs.
    _save(settings, env["verdicts"]["good"], status="accepted", submission="e3" * 16,
          received=dt.datetime(2024, 6, 1, tzinfo=dt.UTC), file_name="aduan_2024-05.csv")
    finding = pii.Finding("index.html", "page", "nik", 1, "3671************")
    monkeypatch.setattr(data_docs, "scan_for_personal_data", lambda root: [finding])
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
    found = pii.scan_relation(con, f"(select {pii._sql_literal(text)} as page)",
                              {"page": "text"}, "page")
    assert {f.kind for f in found} == kinds
