"""Tests of the public catalogue (app/catalogue.py) with Streamlit's AppTest."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app import site_reader
from app.i18n import LANGS, STRINGS, pick, t
from tests.site_fixture import POPULATION_2024_S2, SLUG, UNPUBLISHED_SLUG, VERSION, write_site

# The repository root is on sys.path through `pythonpath = ["."]` in pyproject.toml.
APP_SCRIPT = Path(__file__).resolve().parent.parent / "app" / "catalogue.py"

TITLE_ID = "Jumlah Penduduk per Kabupaten/Kota"
TITLE_EN = "Population by Regency/City"


@pytest.fixture(autouse=True)
def _clear_streamlit_cache():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site_dir = tmp_path / "site"
    write_site(site_dir, with_unpublished=True)
    monkeypatch.setenv("SATUDATA_SITE", str(site_dir))
    return site_dir


def run_app(**query_params: str) -> AppTest:
    # An absolute path: AppTest resolves relative paths against this test file.
    at = AppTest.from_file(str(APP_SCRIPT), default_timeout=30)
    at.query_params.update(query_params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    """Every text a user reads on the page."""
    kinds = ("title", "subheader", "header", "markdown", "caption", "info", "warning", "error")
    return [str(node.value) for kind in kinds for node in at.get(kind)]


def page_text(at: AppTest) -> str:
    return "\n".join(texts(at))


def subheaders(at: AppTest) -> list[str]:
    return [s.value for s in at.subheader]


# --- list page ------------------------------------------------------------------------


def test_home_lists_datasets_in_indonesian_by_default(site: Path) -> None:
    at = run_app()
    assert at.title[0].value == "Satu Data Banten"
    assert TITLE_ID in subheaders(at)
    assert TITLE_EN not in subheaders(at)
    text = page_text(at)
    assert "Semesteran (R/P6M)" in text
    assert VERSION in text
    # the synthetic dataset carries the badge, the real one does not
    assert "Data sintetis" in text
    assert at.session_state["lang"] == "id"
    assert at.segmented_control(key="lang").value == "id"
    assert at.text_input(key="q").label == "Cari dataset"


def test_switching_to_english_translates_the_list(site: Path) -> None:
    at = run_app()
    at.segmented_control(key="lang").set_value("en").run()
    assert not at.exception
    assert TITLE_EN in subheaders(at)
    assert TITLE_ID not in subheaders(at)
    assert at.text_input(key="q").label == "Search datasets"
    assert "Synthetic data" in page_text(at)
    assert at.session_state["lang"] == "en"
    assert at.query_params["lang"] == "en"  # links and reloads keep the language
    at.segmented_control(key="lang").set_value("id").run()
    assert TITLE_ID in subheaders(at)
    assert at.query_params["lang"] == "id"


def test_lang_query_param_selects_english(site: Path) -> None:
    at = run_app(lang="en")
    assert at.segmented_control(key="lang").value == "en"
    assert TITLE_EN in subheaders(at)


def test_invalid_lang_falls_back_to_indonesian(site: Path) -> None:
    at = run_app(lang="fr")
    assert TITLE_ID in subheaders(at)
    assert at.query_params["lang"] == "id"


def test_search_without_results_says_so(site: Path) -> None:
    at = run_app()
    at.text_input(key="q").input("tidak-ada-yang-cocok").run()
    assert not at.exception
    assert not subheaders(at)
    warnings = [w.value for w in at.warning]
    assert warnings == [t("no_results", lang="id", q="tidak-ada-yang-cocok")]


def test_search_by_column_name_finds_the_dataset(site: Path) -> None:
    at = run_app()
    at.text_input(key="q").input("JUMLAH_PENDUDUK").run()
    assert subheaders(at) == [TITLE_ID]
    at.text_input(key="q").input("jumlah_keluarga").run()
    assert subheaders(at) == ["Keluarga Penerima Bantuan Sosial (Sintetis)"]


def test_search_matches_the_other_language_and_keywords(site: Path) -> None:
    at = run_app()
    at.text_input(key="q").input("regency").run()  # English title while the UI is Indonesian
    assert subheaders(at) == [TITLE_ID]
    at.text_input(key="q").input("bansos").run()  # keyword
    assert subheaders(at) == ["Keluarga Penerima Bantuan Sosial (Sintetis)"]


def test_empty_site_says_nothing_published(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SATUDATA_SITE", str(tmp_path / "no-site-yet"))
    at = run_app()
    assert [i.value for i in at.info] == [t("nothing_published", lang="id")]
    assert "satudata run" in at.info[0].value
    assert not at.text_input


def test_catalog_without_datasets_says_nothing_published(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "catalog.json").write_text('{"generated_at": null, "datasets": []}')
    monkeypatch.setenv("SATUDATA_SITE", str(tmp_path))
    at = run_app(lang="en")
    assert [i.value for i in at.info] == [t("nothing_published", lang="en")]


def test_corrupt_catalog_is_reported_not_raised(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "catalog.json").write_text('{"datasets": [')
    monkeypatch.setenv("SATUDATA_SITE", str(tmp_path))
    at = run_app()
    assert len(at.error) == 1
    assert "satudata run" in at.error[0].value


def test_new_release_is_picked_up_without_restart(site: Path) -> None:
    at = run_app()
    assert TITLE_ID in subheaders(at)
    catalog_file = site / "catalog.json"
    catalog = json.loads(catalog_file.read_text(encoding="utf-8"))
    catalog["datasets"][0]["title"]["id"] = "Jumlah Penduduk Banten (rilis baru)"
    before = catalog_file.stat().st_mtime_ns
    catalog_file.write_text(json.dumps(catalog), encoding="utf-8")
    os.utime(catalog_file, ns=(before + 2_000_000_000, before + 2_000_000_000))
    at.run()
    assert "Jumlah Penduduk Banten (rilis baru)" in subheaders(at)


# --- navigation -----------------------------------------------------------------------


def test_open_dataset_from_list_and_back(site: Path) -> None:
    at = run_app(lang="en")
    at.button(key=f"open:{SLUG}").click().run()
    assert not at.exception
    assert at.query_params.get("dataset") == SLUG
    assert at.query_params.get("lang") == "en"
    assert at.title[0].value == TITLE_EN
    at.button(key="back").click().run()
    assert "dataset" not in at.query_params
    assert TITLE_EN in subheaders(at)
    assert at.session_state["lang"] == "en"


def test_search_text_survives_a_visit_to_a_dataset(site: Path) -> None:
    at = run_app()
    at.text_input(key="q").input("penduduk").run()
    at.button(key=f"open:{SLUG}").click().run()
    at.button(key="back").click().run()
    assert at.text_input(key="q").value == "penduduk"


def test_unknown_slug_is_handled(site: Path) -> None:
    at = run_app(dataset="tidak-ada")
    assert [w.value for w in at.warning] == [t("unknown_dataset", lang="id", slug="tidak-ada")]
    back = at.button(key="back")
    assert back.label == "Kembali ke daftar dataset"
    back.click().run()
    assert TITLE_ID in subheaders(at)


def test_dataset_param_on_an_empty_site(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SATUDATA_SITE", str(tmp_path))
    at = run_app(dataset=SLUG)
    assert len(at.warning) == 1
    assert at.button(key="back")


# --- dataset page ---------------------------------------------------------------------


def test_dataset_page_shows_metadata(site: Path) -> None:
    at = run_app(dataset=SLUG)
    assert at.title[0].value == TITLE_ID
    text = page_text(at)
    expected = {
        "Produsen data": "Disdukcapil kabupaten/kota se-Banten, BPS",
        "Walidata": "Diskominfo Provinsi Banten",
        "Satuan": "jiwa",
        "Frekuensi": "Semesteran (R/P6M)",
        "Cakupan wilayah": "Provinsi Banten (36): 8 kabupaten/kota",
        "Cakupan waktu": "2024-S2",
        "Lisensi": "CC-BY-4.0",
        "Sumber": "DKB Dukcapil semester II 2024",
        "Terakhir diperbarui": "2026-11-28 12:00 UTC",
        "Versi": VERSION,
    }
    for label, value in expected.items():
        assert f"**{label}**  \n" in text, label
        assert value in text, value
    assert "Rilis pertama" in text  # version history with changelog


def test_dataset_page_preview_has_the_real_numbers(site: Path) -> None:
    at = run_app(dataset=SLUG)
    frame = at.dataframe[0].value
    assert len(frame) == 8
    assert list(frame.columns) == [
        "kode_wilayah",
        "nama_wilayah",
        "periode",
        "laki_laki",
        "perempuan",
        "jumlah_penduduk",
    ]
    assert list(frame["kode_wilayah"]) == [row[0] for row in POPULATION_2024_S2]
    by_code = frame.set_index("kode_wilayah")
    assert by_code.loc["36.03", "jumlah_penduduk"] == 3459706
    assert by_code.loc["36.72", "nama_wilayah"] == "Kota Cilegon"
    assert by_code.loc["36.72", "laki_laki"] == 243024
    assert by_code.loc["36.74", "perempuan"] == 734539
    assert int(frame["jumlah_penduduk"].sum()) == 12_881_374
    assert (frame["laki_laki"] + frame["perempuan"] == frame["jumlah_penduduk"]).all()
    assert "Menampilkan 8 dari 8 baris" in page_text(at)


def test_dataset_page_data_dictionary_follows_the_language(site: Path) -> None:
    at = run_app(dataset=SLUG)
    table = at.table[0].value
    assert list(table.columns) == ["Kolom", "Tipe", "Satuan", "Deskripsi"]
    assert list(table["Kolom"])[0] == "kode_wilayah"
    assert "Kode wilayah Kemendagri" in list(table["Deskripsi"])

    at.segmented_control(key="lang").set_value("en").run()
    table = at.table[0].value
    assert list(table.columns) == ["Column", "Type", "Unit", "Description"]
    assert "Kemendagri region code" in list(table["Description"])
    assert at.title[0].value == TITLE_EN
    assert "**Data producer**  \n" in page_text(at)


def test_dataset_page_download_buttons_stable_url_and_checksums(site: Path) -> None:
    at = run_app(dataset=SLUG)
    buttons = at.get("download_button")
    assert [b.key for b in buttons] == ["download:csv", "download:parquet"]
    assert at.download_button(key="download:csv").label.startswith("Unduh CSV")
    assert at.download_button(key="download:parquet").label.startswith("Unduh Parquet")
    assert not any(b.proto.disabled for b in buttons)

    code = "\n".join(c.value for c in at.code)
    assert f"/app/static/datasets/{SLUG}/latest/{SLUG}.csv" in code
    assert f"/app/static/datasets/{SLUG}/latest/{SLUG}.parquet" in code
    csv_file = site / "datasets" / SLUG / VERSION / f"{SLUG}.csv"
    assert f"{hashlib.sha256(csv_file.read_bytes()).hexdigest()}  {SLUG}.csv" in code

    at.segmented_control(key="lang").set_value("en").run()
    assert at.download_button(key="download:csv").label.startswith("Download CSV")


def test_missing_data_file_disables_its_download(site: Path) -> None:
    (site / "datasets" / SLUG / VERSION / f"{SLUG}.parquet").unlink()
    at = run_app(dataset=SLUG)
    assert at.download_button(key="download:parquet").proto.disabled
    assert not at.download_button(key="download:csv").proto.disabled
    assert not at.dataframe  # no preview without the Parquet file
    assert at.warning  # and the user is told why


def test_unpublished_dataset_shows_not_published(site: Path) -> None:
    at = run_app(dataset=UNPUBLISHED_SLUG)
    assert at.title[0].value == "Keluarga Penerima Bantuan Sosial (Sintetis)"
    assert [i.value for i in at.info] == [t("not_published", lang="id")]
    assert not at.get("download_button")
    assert not at.dataframe
    assert "Data sintetis" in page_text(at)


# --- modules --------------------------------------------------------------------------


def test_every_ui_string_has_both_languages() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGS), key
        assert all(entry[lang].strip() for lang in LANGS), key


def test_pick_falls_back_between_languages() -> None:
    assert pick({"id": "Satu", "en": "One"}, "en") == "One"
    assert pick({"id": "Satu"}, "en") == "Satu"
    assert pick("plain", "en") == "plain"
    assert pick(None, "id") == ""


def test_site_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATUDATA_SITE", str(tmp_path / "explicit"))
    monkeypatch.setenv("SATUDATA_HOME", str(tmp_path / "home"))
    assert site_reader.site_dir() == tmp_path / "explicit"
    monkeypatch.delenv("SATUDATA_SITE")
    assert site_reader.site_dir() == tmp_path / "home" / "site"
    monkeypatch.delenv("SATUDATA_HOME")
    monkeypatch.chdir(tmp_path)
    assert site_reader.site_dir() == tmp_path / "var" / "site"


def test_paths_outside_the_site_are_refused(site: Path) -> None:
    assert site_reader.resolve_in_site(site, "../etc/passwd") is None
    assert site_reader.resolve_in_site(site, f"datasets/{SLUG}/latest/{SLUG}.csv") is not None


def test_fixture_latest_symlink_and_sums(site: Path) -> None:
    latest = site / "datasets" / SLUG / "latest"
    assert latest.is_symlink() and os.readlink(latest) == VERSION
    sums = site_reader.read_sha256sums(latest)
    assert set(sums) == {f"{SLUG}.csv", f"{SLUG}.parquet"}
