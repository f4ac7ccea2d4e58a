"""UI strings of the public catalogue, in Bahasa Indonesia (default) and English.

Every user-visible string of the app goes through :func:`t`. The current language is
per browser session: it lives in ``st.session_state["lang"]`` (the language switch
widget's key, bound to the ``lang`` query parameter), never in a module global,
because one Streamlit process serves many sessions at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGS: tuple[str, ...] = ("id", "en")
DEFAULT_LANG = "id"
LANG_KEY = "lang"  # session_state key and query parameter name
LANG_LABELS = {"id": "Indonesia", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    # --- header / home -------------------------------------------------------------
    "app_title": {"id": "Satu Data Banten", "en": "Satu Data Banten"},
    "subtitle": {
        "id": "Katalog data terbuka Pemerintah Provinsi Banten: unduh, periksa, gunakan ulang.",
        "en": "Open data catalogue of the Banten provincial government: download, inspect, reuse.",
    },
    "lang_switch": {"id": "Bahasa", "en": "Language"},
    "search_label": {"id": "Cari dataset", "en": "Search datasets"},
    "search_placeholder": {
        "id": "mis. penduduk, kemiskinan, kode_wilayah",
        "en": "e.g. population, poverty, kode_wilayah",
    },
    "count_all": {"id": "{n} dataset tersedia", "en": "{n} datasets available"},
    "count_found": {
        "id": "{n} dataset cocok dengan “{q}”",
        "en": "{n} datasets match “{q}”",
    },
    "no_results": {
        "id": "Tidak ada dataset yang cocok dengan “{q}”. Coba kata kunci lain.",
        "en": "No dataset matches “{q}”. Try another keyword.",
    },
    "nothing_published": {
        "id": "Belum ada dataset yang diterbitkan — jalankan `satudata run`.",
        "en": "No dataset published yet — run `satudata run`.",
    },
    "catalog_unreadable": {
        "id": "Katalog tidak dapat dibaca ({error}). Jalankan ulang `satudata run`.",
        "en": "The catalogue could not be read ({error}). Run `satudata run` again.",
    },
    "open_dataset": {"id": "Lihat dataset", "en": "View dataset"},
    "synthetic": {"id": "Data sintetis", "en": "Synthetic data"},
    "synthetic_note": {
        "id": "Dataset ini berisi data sintetis (contoh), bukan statistik resmi.",
        "en": "This dataset contains synthetic (sample) data, not official statistics.",
    },
    "latest_version": {"id": "Versi terbaru", "en": "Latest version"},
    "updated": {"id": "diperbarui", "en": "updated"},
    "not_published_short": {"id": "Belum diterbitkan", "en": "Not published yet"},
    "catalog_generated": {
        "id": "Katalog diperbarui {when}",
        "en": "Catalogue generated {when}",
    },
    # --- dataset page --------------------------------------------------------------
    "back": {"id": "Kembali ke daftar dataset", "en": "Back to the dataset list"},
    "unknown_dataset": {
        "id": "Dataset `{slug}` tidak ditemukan di katalog.",
        "en": "Dataset `{slug}` was not found in the catalogue.",
    },
    "not_published": {
        "id": "Dataset ini belum diterbitkan: belum ada versi yang dapat diunduh.",
        "en": "This dataset has not been published yet: there is no version to download.",
    },
    "metadata": {"id": "Metadata", "en": "Metadata"},
    "f_produsen": {"id": "Produsen data", "en": "Data producer"},
    "f_walidata": {"id": "Walidata", "en": "Data steward (walidata)"},
    "f_unit": {"id": "Satuan", "en": "Unit"},
    "f_frequency": {"id": "Frekuensi", "en": "Frequency"},
    "f_spatial": {"id": "Cakupan wilayah", "en": "Spatial coverage"},
    "f_temporal": {"id": "Cakupan waktu", "en": "Temporal coverage"},
    "f_license": {"id": "Lisensi", "en": "License"},
    "f_source": {"id": "Sumber", "en": "Source"},
    "f_updated": {"id": "Terakhir diperbarui", "en": "Last updated"},
    "f_version": {"id": "Versi", "en": "Version"},
    "f_theme": {"id": "Tema", "en": "Theme"},
    "f_rows": {"id": "Jumlah baris", "en": "Rows"},
    "f_keywords": {"id": "Kata kunci", "en": "Keywords"},
    "download": {"id": "Unduh", "en": "Download"},
    "download_csv": {"id": "Unduh CSV", "en": "Download CSV"},
    "download_parquet": {"id": "Unduh Parquet", "en": "Download Parquet"},
    "file_missing": {
        "id": "Berkas {fmt} versi {version} tidak ditemukan di folder situs.",
        "en": "The {fmt} file of version {version} is missing from the site folder.",
    },
    "stable_url": {
        "id": "Tautan tetap (selalu versi terbaru):",
        "en": "Stable link (always the latest version):",
    },
    "sha256": {"id": "SHA-256 versi {version}:", "en": "SHA-256 of version {version}:"},
    "preview": {"id": "Pratinjau data", "en": "Data preview"},
    "preview_caption": {
        "id": "Menampilkan {shown} dari {total} baris (versi {version}).",
        "en": "Showing {shown} of {total} rows (version {version}).",
    },
    "preview_failed": {
        "id": "Pratinjau tidak dapat dibaca: {error}",
        "en": "The preview could not be read: {error}",
    },
    "dictionary": {"id": "Kamus data", "en": "Data dictionary"},
    "col_name": {"id": "Kolom", "en": "Column"},
    "col_type": {"id": "Tipe", "en": "Type"},
    "col_unit": {"id": "Satuan", "en": "Unit"},
    "col_description": {"id": "Deskripsi", "en": "Description"},
    "no_columns": {
        "id": "Kamus data belum tersedia.",
        "en": "No data dictionary available.",
    },
    "versions": {"id": "Riwayat versi", "en": "Version history"},
    "version_line": {
        "id": "**{version}** · {rows} baris · diterbitkan {published}",
        "en": "**{version}** · {rows} rows · published {published}",
    },
    "latest_tag": {"id": "terbaru", "en": "latest"},
    "versioned_files": {"id": "Berkas versi ini:", "en": "Files of this version:"},
    # --- frequency (ISO 8601 repeating durations, as in DCAT accrualPeriodicity) ---------
    "freq_R/P1D": {"id": "Harian", "en": "Daily"},
    "freq_R/P1W": {"id": "Mingguan", "en": "Weekly"},
    "freq_R/P1M": {"id": "Bulanan", "en": "Monthly"},
    "freq_R/P3M": {"id": "Triwulanan", "en": "Quarterly"},
    "freq_R/P4M": {"id": "Caturwulanan", "en": "Every four months"},
    "freq_R/P6M": {"id": "Semesteran", "en": "Semi-annual"},
    "freq_R/P1Y": {"id": "Tahunan", "en": "Annual"},
    "freq_R/P2Y": {"id": "Dua tahunan", "en": "Biennial"},
    "freq_R/P5Y": {"id": "Lima tahunan", "en": "Every five years"},
    "freq_R/P10Y": {"id": "Sepuluh tahunan", "en": "Every ten years"},
    # --- themes (unknown themes are shown as they are) ---------------------------------
    "theme_kependudukan": {"id": "Kependudukan", "en": "Population"},
    "theme_kesehatan": {"id": "Kesehatan", "en": "Health"},
    "theme_pendidikan": {"id": "Pendidikan", "en": "Education"},
    "theme_ekonomi": {"id": "Ekonomi", "en": "Economy"},
    "theme_kemiskinan": {"id": "Kemiskinan", "en": "Poverty"},
    "theme_ketenagakerjaan": {"id": "Ketenagakerjaan", "en": "Labour"},
    "theme_pertanian": {"id": "Pertanian", "en": "Agriculture"},
    "theme_infrastruktur": {"id": "Infrastruktur", "en": "Infrastructure"},
    "theme_lingkungan": {"id": "Lingkungan hidup", "en": "Environment"},
    "theme_keuangan": {"id": "Keuangan daerah", "en": "Public finance"},
    "theme_pemerintahan": {"id": "Pemerintahan", "en": "Government"},
    "theme_sosial": {"id": "Sosial", "en": "Social affairs"},
}


def normalize_lang(value: object) -> str:
    """Return a supported language code for ``value`` (default: Indonesian)."""
    if isinstance(value, str) and value.strip().lower() in LANGS:
        return value.strip().lower()
    return DEFAULT_LANG


def current_lang() -> str:
    """The language of the current browser session."""
    import streamlit as st  # local import keeps this module importable without a session

    try:
        return normalize_lang(st.session_state.get(LANG_KEY))
    except Exception:  # no script run context (plain import, unit tests)
        return DEFAULT_LANG


def t(key: str, lang: str | None = None, **fmt: Any) -> str:
    """Translate ``key`` into ``lang`` (default: the session's language).

    Keyword arguments are substituted with ``str.format``. An unknown key raises
    ``KeyError`` so that typos fail loudly in tests.
    """
    entry = STRINGS[key]
    text = entry[normalize_lang(lang) if lang is not None else current_lang()]
    return text.format(**fmt) if fmt else text


def has(key: str) -> bool:
    """Whether ``key`` has a translation."""
    return key in STRINGS


def pick(value: object, lang: str | None = None) -> str:
    """Pick the ``lang`` text of a catalogue field such as ``{"id": ..., "en": ...}``.

    Falls back to the other language, then to the value itself when it is a plain
    string; ``None`` gives an empty string.
    """
    lang = normalize_lang(lang) if lang is not None else current_lang()
    if value is None:
        return ""
    if isinstance(value, Mapping):
        for code in (lang, *LANGS):
            text = value.get(code)
            if isinstance(text, str) and text.strip():
                return text
        return ""
    return str(value)
