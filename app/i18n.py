"""UI strings of the public catalogue, in Bahasa Indonesia (default) and English, and
number formatting for each language.

Every user-visible string of the app goes through :func:`t`. The current language is
per browser session: it lives in ``st.session_state["lang"]`` (the language switch
widget's key, bound to the ``lang`` query parameter), never in a module global,
because one Streamlit process serves many sessions at once.

Numbers are written the way readers of each language expect: Indonesian
``12.881.374`` and ``2,5``; English ``12,881,374`` and ``2.5`` (:func:`fmt_num`).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

LANGS: tuple[str, ...] = ("id", "en")
DEFAULT_LANG = "id"
LANG_KEY = "lang"  # session_state key and query parameter name
LANG_LABELS = {"id": "Indonesia", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    # --- header / navigation -----------------------------------------------------------
    "app_title": {"id": "Satu Data Banten", "en": "Satu Data Banten"},
    "subtitle": {
        "id": "Katalog data terbuka Pemerintah Provinsi Banten: unduh, periksa, gunakan ulang.",
        "en": "Open data catalogue of the Banten provincial government: download, inspect, reuse.",
    },
    "nav_home": {"id": "Beranda", "en": "Home"},
    "nav_about": {"id": "Tentang & API", "en": "About & API"},
    "nav_officials": {"id": "Dasbor pejabat", "en": "Officials"},
    "lang_switch": {"id": "Bahasa", "en": "Language"},
    # --- home --------------------------------------------------------------------------
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
    "count_filtered": {
        "id": "{n} dataset sesuai filter",
        "en": "{n} datasets match the filters",
    },
    "no_results": {
        "id": "Tidak ada dataset yang cocok dengan “{q}”. Coba kata kunci lain.",
        "en": "No dataset matches “{q}”. Try another keyword.",
    },
    "no_results_facets": {
        "id": "Tidak ada dataset yang sesuai dengan filter ini. Hapus sebagian filter.",
        "en": "No dataset matches these filters. Remove some of them.",
    },
    "nothing_published": {
        "id": "Belum ada dataset yang diterbitkan — jalankan `satudata run`.",
        "en": "No dataset published yet — run `satudata run`.",
    },
    "catalog_unreadable": {
        "id": "Katalog tidak dapat dibaca ({error}). Jalankan ulang `satudata run`.",
        "en": "The catalogue could not be read ({error}). Run `satudata run` again.",
    },
    "facets": {"id": "Saring", "en": "Filter"},
    "facet_theme": {"id": "Tema", "en": "Theme"},
    "facet_producer": {"id": "Produsen data", "en": "Data producer"},
    "facet_format": {"id": "Format", "en": "Format"},
    "facet_frequency": {"id": "Frekuensi", "en": "Frequency"},
    "facet_year": {"id": "Tahun (cakupan waktu)", "en": "Year (temporal coverage)"},
    "facet_any": {"id": "Semua", "en": "Any"},
    "facet_clear": {"id": "Hapus semua filter", "en": "Clear all filters"},
    "sort_label": {"id": "Urutkan", "en": "Sort by"},
    "sort_title": {"id": "Judul (A–Z)", "en": "Title (A–Z)"},
    "sort_newest": {"id": "Terbaru", "en": "Newest"},
    "sort_complete": {"id": "Paling lengkap", "en": "Most complete"},
    "newest": {"id": "Terbaru", "en": "Newest"},
    "most_complete": {"id": "Paling lengkap", "en": "Most complete"},
    "updated_on": {"id": "diperbarui {when}", "en": "updated {when}"},
    "quality_score_short": {"id": "skor mutu {score}", "en": "quality score {score}"},
    "rows_short": {"id": "{rows} baris", "en": "{rows} rows"},
    "rows_word": {"id": "baris", "en": "rows"},
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
    "partial_badge": {"id": "Belum lengkap", "en": "Incomplete"},
    "coverage_partial": {
        "id": "**Data belum lengkap.** Versi {version} tidak memuat semua kabupaten/kota yang "
        "seharusnya mengirim data ini ({expected} wilayah); total provinsi yang dihitung dari "
        "data ini belum mencakup wilayah yang belum ada.",
        "en": "**Incomplete data.** Version {version} does not hold every regency/city that "
        "should send this data ({expected} expected); province totals computed from it "
        "leave the missing ones out.",
    },
    "coverage_period": {
        "id": "Periode {periods}: tidak ada data dari {regions}",
        "en": "Period {periods}: no data from {regions}",
    },
    "coverage_periods": {
        "id": "Periode {periods}: tidak ada data dari {regions}",
        "en": "Periods {periods}: no data from {regions}",
    },
    "coverage_whole": {
        "id": "Tidak ada data dari {regions}",
        "en": "No data from {regions}",
    },
    "version_partial": {"id": "belum lengkap", "en": "incomplete"},
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
    "f_reference_codes": {"id": "Kode referensi", "en": "Reference codes"},
    "f_konsep": {"id": "Konsep", "en": "Concept"},
    "f_definisi": {"id": "Definisi", "en": "Definition"},
    "f_metode_perhitungan": {"id": "Metode perhitungan", "en": "Calculation method"},
    "f_klasifikasi_penyajian": {"id": "Klasifikasi penyajian", "en": "Presentation breakdown"},
    "f_level_estimasi": {"id": "Level estimasi", "en": "Estimation level"},
    "licence_and_source": {"id": "Lisensi dan sumber", "en": "Licence and source"},
    "licence_CC-BY-4.0": {
        "id": "Anda bebas menyalin, menyebarluaskan, mengolah dan memakai data ini, termasuk "
        "untuk tujuan komersial, asalkan menyebutkan sumbernya.",
        "en": "You may copy, share, adapt and use this data, also commercially, provided "
        "you credit the source.",
    },
    "licence_CC-BY-SA-4.0": {
        "id": "Bebas dipakai dan diolah dengan menyebutkan sumber; hasil olahan dibagikan "
        "dengan lisensi yang sama.",
        "en": "Free to use and adapt with credit; adaptations are shared under the same "
        "licence.",
    },
    "licence_CC0-1.0": {
        "id": "Domain publik: bebas dipakai tanpa syarat.",
        "en": "Public domain: free to use without conditions.",
    },
    "licence_ODbL-1.0": {
        "id": "Bebas dipakai dengan menyebutkan sumber; basis data turunan dibagikan dengan "
        "lisensi yang sama.",
        "en": "Free to use with credit; derived databases are shared under the same licence.",
    },
    "licence_other": {
        "id": "Lihat ketentuan lisensi sebelum memakai data ini.",
        "en": "Read the licence terms before using this data.",
    },
    "licence_link": {"id": "Teks lisensi: {url}", "en": "Licence text: {url}"},
    "cite_as": {"id": "Cara mengutip versi ini:", "en": "How to cite this version:"},
    "citation_format": {
        "id": "{producers} ({year}). {title} (versi {version}) [Dataset]. {publisher}. "
        "{url}. Diakses {date}.",
        "en": "{producers} ({year}). {title} (version {version}) [Data set]. {publisher}. "
        "{url}. Accessed {date}.",
    },
    "tab_preview": {"id": "Pratinjau", "en": "Preview"},
    "tab_chart": {"id": "Grafik & peta", "en": "Charts & map"},
    "tab_download": {"id": "Unduh & API", "en": "Download & API"},
    "tab_dictionary": {"id": "Kamus data", "en": "Data dictionary"},
    "tab_quality": {"id": "Mutu & asal data", "en": "Quality & lineage"},
    "tab_versions": {"id": "Riwayat versi", "en": "Version history"},
    "download": {"id": "Unduh", "en": "Download"},
    "download_csv": {"id": "Unduh CSV", "en": "Download CSV"},
    "download_xlsx": {"id": "Unduh Excel", "en": "Download Excel"},
    "download_json": {"id": "Unduh JSON", "en": "Download JSON"},
    "download_parquet": {"id": "Unduh Parquet", "en": "Download Parquet"},
    "download_datapackage": {"id": "datapackage.json", "en": "datapackage.json"},
    "file_missing": {
        "id": "Berkas {fmt} versi {version} tidak ditemukan di folder situs.",
        "en": "The {fmt} file of version {version} is missing from the site folder.",
    },
    "stable_url": {
        "id": "Tautan tetap (selalu versi terbaru):",
        "en": "Stable links (always the latest version):",
    },
    "version_url": {
        "id": "Tautan versi {version} (tidak pernah berubah):",
        "en": "Links of version {version} (never change):",
    },
    "sha256": {"id": "SHA-256 versi {version}:", "en": "SHA-256 of version {version}:"},
    "snippets": {"id": "Pakai langsung dari kode:", "en": "Use it from code:"},
    "snippets_relative": {
        "id": "Tambahkan alamat situs di depan tautan (mis. https://data.bantenprov.go.id).",
        "en": "Prefix the links with the site's address (e.g. https://data.bantenprov.go.id).",
    },
    "snippets_codes": {
        "id": "Baca {cols} sebagai teks: kalau tidak, “36.01” menjadi angka 36,01.",
        "en": "Read {cols} as text: otherwise “36.01” becomes the number 36.01.",
    },
    "preview": {"id": "Pratinjau data", "en": "Data preview"},
    "preview_caption": {
        "id": "Baris {first}–{last} dari {total} (versi {version}).",
        "en": "Rows {first}–{last} of {total} (version {version}).",
    },
    "preview_failed": {
        "id": "Pratinjau tidak dapat dibaca: {error}",
        "en": "The preview could not be read: {error}",
    },
    "page_prev": {"id": "Sebelumnya", "en": "Previous"},
    "page_next": {"id": "Berikutnya", "en": "Next"},
    "page_label": {"id": "Halaman (dari {pages})", "en": "Page (of {pages})"},
    "page_of": {"id": "dari {pages} halaman", "en": "of {pages} pages"},
    "page_of_one": {"id": "dari {pages} halaman", "en": "of {pages} page"},
    "chart_measure": {"id": "Ukuran", "en": "Measure"},
    "chart_period": {"id": "Periode (peta & batang)", "en": "Period (map & bars)"},
    "chart_all_categories": {"id": "Semua (jumlah)", "en": "All (total)"},
    "chart_average": {
        "id": "Nilai ini tidak dapat dijumlahkan; ditampilkan rata-ratanya.",
        "en": "These values do not add up; their average is shown.",
    },
    "chart_none": {
        "id": "Dataset ini tidak memiliki kolom yang dapat digambarkan.",
        "en": "This dataset has no column that can be charted.",
    },
    "chart_failed": {
        "id": "Grafik tidak dapat dibuat: {error}",
        "en": "The chart could not be drawn: {error}",
    },
    "chart_empty": {"id": "Tidak ada data untuk pilihan ini.", "en": "No data for this choice."},
    "chart_for_period": {"id": "Periode {period}.", "en": "Period {period}."},
    "chart_tab_trend": {"id": "Tren per wilayah", "en": "Trend by regency"},
    "chart_tab_regions": {"id": "Per kabupaten/kota", "en": "By regency/city"},
    "chart_tab_map": {"id": "Peta", "en": "Map"},
    "chart_tab_categories": {"id": "Per kategori", "en": "By category"},
    "chart_tab_points": {"id": "Peta lokasi", "en": "Locations"},
    "measure_count": {"id": "Jumlah ({unit})", "en": "Count ({unit})"},
    "map_no_boundaries": {
        "id": "Batas wilayah (reference/batas_kabupaten_kota.geojson) belum diterbitkan.",
        "en": "The regency boundaries (reference/batas_kabupaten_kota.geojson) are not "
        "published yet.",
    },
    "map_no_data": {"id": "tidak ada data", "en": "no data"},
    "map_caption": {
        "id": "Warna makin gelap, nilai {label} makin tinggi.",
        "en": "The darker the colour, the higher {label}.",
    },
    "points_caption": {
        "id": "{shown} dari {total} lokasi ditampilkan.",
        "en": "{shown} of {total} locations shown.",
    },
    "region": {"id": "Kabupaten/kota", "en": "Regency/city"},
    "dictionary": {"id": "Kamus data", "en": "Data dictionary"},
    "col_name": {"id": "Kolom", "en": "Column"},
    "col_type": {"id": "Tipe", "en": "Type"},
    "col_unit": {"id": "Satuan", "en": "Unit"},
    "col_description": {"id": "Deskripsi", "en": "Description"},
    "no_columns": {
        "id": "Kamus data belum tersedia.",
        "en": "No data dictionary available.",
    },
    "quality_score": {"id": "Skor mutu", "en": "Quality score"},
    "quality_evaluated": {"id": "Pemeriksaan dijalankan", "en": "Checks run"},
    "quality_failures": {"id": "Pemeriksaan gagal", "en": "Checks failed"},
    "quality_explained": {
        "id": "Skor = persentase pemeriksaan Great Expectations yang lolos pada kiriman "
        "terakhir setiap kabupaten/kota (status {when}).",
        "en": "Score = share of Great Expectations checks passed on each regency's latest "
        "submission (status of {when}).",
    },
    "quality_none": {
        "id": "Belum ada hasil pemeriksaan mutu untuk dataset ini.",
        "en": "No quality results for this dataset yet.",
    },
    "quality_all_passed": {
        "id": "Semua pemeriksaan pada kiriman terakhir lolos.",
        "en": "Every check passed on the latest submissions.",
    },
    "q_file": {"id": "Berkas", "en": "File"},
    "q_check": {"id": "Pemeriksaan", "en": "Check"},
    "q_column": {"id": "Kolom", "en": "Column"},
    "q_severity": {"id": "Tingkat", "en": "Severity"},
    "q_rows": {"id": "Baris", "en": "Rows"},
    "q_message": {"id": "Keterangan", "en": "Message"},
    # A failed quality rule in words (public quality tab; app/catalogue.py rule_text).
    "rule_expect_column_values_to_not_be_null": {
        "id": "nilai tidak boleh kosong",
        "en": "values must not be empty",
    },
    "rule_expect_column_values_to_be_in_set": {
        "id": "nilai harus salah satu dari nilai yang diizinkan",
        "en": "values must be one of the allowed values",
    },
    "rule_expect_column_values_to_be_between": {
        "id": "nilai harus berada dalam rentang yang diizinkan",
        "en": "values must lie in the allowed range",
    },
    "rule_expect_column_values_to_be_unique": {
        "id": "nilai harus unik",
        "en": "values must be unique",
    },
    "rule_expect_column_values_to_match_regex": {
        "id": "nilai harus sesuai format yang ditentukan",
        "en": "values must have the required format",
    },
    "rule_expect_compound_columns_to_be_unique": {
        "id": "setiap kombinasi nilai hanya boleh muncul sekali",
        "en": "each combination of values must occur only once",
    },
    "rule_expect_table_columns_to_match_set": {
        "id": "berkas harus memuat kolom yang ditentukan",
        "en": "the file must have the required columns",
    },
    "rule_expect_table_row_count_to_be_between": {
        "id": "jumlah baris harus berada dalam rentang yang diizinkan",
        "en": "the row count must lie in the allowed range",
    },
    "quality_examples": {"id": "contoh: {values}", "en": "e.g. {values}"},
    "rule_what_values": {"id": "nilai", "en": "values"},
    "rule_what_rows": {"id": "jumlah baris", "en": "the row count"},
    "rule_between": {
        "id": "{what} harus antara {low} dan {high}",
        "en": "{what} must be between {low} and {high}",
    },
    "rule_at_least": {"id": "{what} minimal {low}", "en": "{what} must be at least {low}"},
    "rule_at_most": {"id": "{what} maksimal {high}", "en": "{what} must be at most {high}"},
    "severity_critical": {"id": "kritis", "en": "critical"},
    "severity_warning": {"id": "peringatan", "en": "warning"},
    "lineage": {"id": "Asal data (lineage)", "en": "Lineage"},
    "lineage_feeds": {"id": "{n} kiriman kabupaten/kota", "en": "{n} regency feeds"},
    "lineage_regencies": {"id": "kiriman kabupaten/kota", "en": "regency feeds"},
    "lineage_release": {"id": "rilis terbuka", "en": "open release"},
    "lineage_docs": {
        "id": "Dokumentasi model dan alur transformasinya: [dbt docs: {model}]({url})",
        "en": "The model and its transformation graph: [dbt docs: {model}]({url})",
    },
    "quality_data_docs": {
        "id": "Hasil lengkap pemeriksaan mutu, aturan demi aturan, per kiriman terakhir "
        "setiap kabupaten/kota (data pribadi disamarkan): [Great Expectations Data Docs]"
        "({url})",
        "en": "Full quality-check results, rule by rule, for each regency's latest "
        "submissions (personal data masked): [Great Expectations Data Docs]({url})",
    },
    "feed": {"id": "Kiriman (feed)", "en": "Feed"},
    "channel": {"id": "Kanal", "en": "Channel"},
    "last_period": {"id": "Periode terakhir diterima", "en": "Last accepted period"},
    "last_accepted": {"id": "Terakhir diterima", "en": "Last accepted"},
    "versions": {"id": "Riwayat versi", "en": "Version history"},
    "version_line": {
        "id": "**{version}** · {rows} baris · diterbitkan {published}",
        "en": "**{version}** · {rows} rows · published {published}",
    },
    "latest_tag": {"id": "terbaru", "en": "latest"},
    "versioned_files": {"id": "Berkas versi ini:", "en": "Files of this version:"},
    # --- short column names for chart axes and selectors -----------------------------
    "colname_periode": {"id": "Periode", "en": "Period"},
    "colname_tahun": {"id": "Tahun", "en": "Year"},
    "colname_bulan": {"id": "Bulan", "en": "Month"},
    "colname_kategori": {"id": "Kategori", "en": "Category"},
    "colname_jenis_fasilitas": {"id": "Jenis fasilitas", "en": "Facility type"},
    "colname_indikator": {"id": "Indikator", "en": "Indicator"},
    "colname_nama_indikator": {"id": "Indikator", "en": "Indicator"},
    # --- about / API ---------------------------------------------------------------------
    "about_title": {"id": "Tentang Satu Data Banten", "en": "About Satu Data Banten"},
    "about_intro": {
        "id": "Satu Data Banten adalah katalog data terbuka Pemerintah Provinsi Banten. "
        "Delapan kabupaten/kota mengirim datanya; setiap kiriman diperiksa mutunya, "
        "digabung menjadi dataset provinsi dan diterbitkan sebagai **versi yang tidak "
        "berubah** dengan metadata Satu Data Indonesia (produsen data, walidata, satuan, "
        "frekuensi, cakupan wilayah dan waktu, kode referensi). Semua berkas dapat diunduh "
        "tanpa akun dari tautan tetap di bawah ini.",
        "en": "Satu Data Banten is the open data catalogue of the Banten provincial "
        "government. The eight regencies/cities send their data; every submission is "
        "quality-checked, combined into provincial datasets and published as **immutable "
        "versions** with Satu Data Indonesia metadata (producer, steward, unit, frequency, "
        "spatial and temporal coverage, reference codes). Every file can be downloaded "
        "without an account from the stable links below.",
    },
    "about_harvest": {"id": "Panen metadata (data.json)", "en": "Harvesting (data.json)"},
    "about_harvest_text": {
        "id": "Seluruh katalog tersedia sebagai **DCAT-US 1.1** (Project Open Data, "
        "`data.json`), diperbarui pada setiap penerbitan. Portal lain — misalnya Satu Data "
        "Indonesia atau CKAN — dapat memanennya secara berkala:",
        "en": "The whole catalogue is available as **DCAT-US 1.1** (Project Open Data, "
        "`data.json`), refreshed on every publication. Other portals — such as Satu Data "
        "Indonesia or any CKAN — can harvest it periodically:",
    },
    "about_ckan": {
        "id": "Di CKAN, pasang ekstensi `ckanext-harvest` dan `ckanext-datajson`, lalu buat "
        "sumber panen bertipe **data.json** dengan URL di atas:",
        "en": "In CKAN, install the `ckanext-harvest` and `ckanext-datajson` extensions and "
        "create a harvest source of type **data.json** with the URL above:",
    },
    "about_not_yet": {
        "id": "data.json belum diterbitkan di situs ini; berkas muncul setelah `satudata run`.",
        "en": "data.json is not published on this site yet; it appears after `satudata run`.",
    },
    "about_bulk": {"id": "Unduh semuanya sekaligus", "en": "Bulk download"},
    "about_bulk_text": {
        "id": "Satu berkas zip{size} berisi semua berkas versi terbaru setiap dataset, "
        "masing-masing di folder `<slug>/`:",
        "en": "One zip file{size} holds every file of every dataset's latest version, each "
        "under `<slug>/`:",
    },
    "about_urls": {"id": "Tautan tetap", "en": "Stable URLs"},
    "about_urls_text": {
        "id": "`latest` selalu menunjuk ke versi terbaru; folder bertanggal (`<versi>`) tidak "
        "pernah berubah, jadi cocok untuk analisis yang harus dapat diulang. Setiap versi "
        "memuat `datapackage.json` (Frictionless Data Package) dan `SHA256SUMS`.",
        "en": "`latest` always points to the newest version; dated folders (`<version>`) "
        "never change, so use them for analyses that must be reproducible. Every version "
        "holds a `datapackage.json` (Frictionless Data Package) and `SHA256SUMS`.",
    },
    "version_placeholder": {"id": "<versi>", "en": "<version>"},
    "about_cite": {"id": "Cara mengutip", "en": "How to cite"},
    "about_cite_text": {
        "id": "Kutip **versi** yang Anda pakai, bukan hanya nama dataset: produsen data, "
        "judul, versi, URL versi dan tanggal akses. Contoh:",
        "en": "Cite the **version** you used, not just the dataset's name: producer, title, "
        "version, the version's URL and the date you accessed it. For example:",
    },
    "about_licence": {"id": "Lisensi", "en": "Licence"},
    "about_licence_text": {
        "id": "Kecuali disebutkan lain pada halaman dataset, data diterbitkan dengan lisensi "
        "[Creative Commons Atribusi 4.0 (CC-BY-4.0)]"
        "(https://creativecommons.org/licenses/by/4.0/deed.id): bebas dipakai, termasuk "
        "secara komersial, dengan menyebutkan sumbernya. Dataset bertanda *data sintetis* "
        "adalah contoh, bukan statistik resmi.",
        "en": "Unless the dataset page says otherwise, data is published under "
        "[Creative Commons Attribution 4.0 (CC-BY-4.0)]"
        "(https://creativecommons.org/licenses/by/4.0/): free to use, also commercially, "
        "with credit to the source. Datasets marked *synthetic data* are samples, not "
        "official statistics.",
    },
    "about_privacy": {"id": "Data pribadi", "en": "Personal data"},
    "about_privacy_text": {
        "id": "Hanya kolom berklasifikasi publik yang diterbitkan, dan setiap berkas diperiksa "
        "dari NIK, nomor telepon dan alamat surel sebelum terbit. Katalog ini tidak memakai "
        "peta dasar dari pihak ketiga dan tidak mengirim statistik pemakaian.",
        "en": "Only columns classified public are published, and every file is scanned for "
        "NIKs, phone numbers and e-mail addresses before release. This catalogue uses no "
        "third-party base maps and sends no usage statistics.",
    },
    # --- officials' view -------------------------------------------------------------------
    "officials_title": {"id": "Dasbor pejabat", "en": "Officials' dashboard"},
    "officials_no_users": {
        "id": "Dasbor ini belum dibuka. Hubungi walidata Satu Data Banten untuk "
        "mendapatkan akses.",
        "en": "This dashboard is not open yet. Contact the walidata (data steward) of Satu "
        "Data Banten for access.",
    },
    "officials_login_needed": {
        "id": "Dasbor ini hanya untuk pejabat dan walidata. Silakan masuk.",
        "en": "This dashboard is for officials and data stewards only. Please log in.",
    },
    "login_title": {"id": "Masuk", "en": "Log in"},
    "login_user": {"id": "Nama pengguna", "en": "User name"},
    "login_password": {"id": "Kata sandi", "en": "Password"},
    "login_submit": {"id": "Masuk", "en": "Log in"},
    "login_wrong": {
        "id": "Nama pengguna atau kata sandi salah.",
        "en": "Wrong user name or password.",
    },
    "login_locked_minutes": {
        "id": "Terlalu banyak percobaan yang gagal. Coba lagi dalam {minutes} menit.",
        "en": "Too many failed attempts. Try again in {minutes} minutes.",
    },
    "login_expired": {
        "id": "Sesi Anda telah berakhir. Silakan masuk lagi.",
        "en": "Your session has ended. Please log in again.",
    },
    "logged_in_as": {"id": "Masuk sebagai **{user}**", "en": "Logged in as **{user}**"},
    "logout": {"id": "Keluar", "en": "Log out"},
    "tab_overview": {"id": "Ringkasan provinsi", "en": "Province overview"},
    "tab_scoreboard": {"id": "Kiriman kabupaten/kota", "en": "Regency submissions"},
    "tab_runs": {"id": "Proses pipeline", "en": "Pipeline runs"},
    "scoreboard": {"id": "Papan kiriman", "en": "Submission scoreboard"},
    "scoreboard_none": {
        "id": "Status kiriman belum tersedia: pipeline belum pernah dijalankan.",
        "en": "No submission status yet: the pipeline has not run.",
    },
    "scoreboard_legend": {
        "id": "Isi sel = periode terakhir yang diterima. Hijau: tepat waktu · oranye: "
        "terlambat · merah: belum pernah diterima. “cek mutu”: pemeriksaan mutu terakhir "
        "gagal atau memberi peringatan.",
        "en": "Cell = last accepted period. Green: on time · orange: late · red: never "
        "received. “quality check”: the last quality check failed or warned.",
    },
    "quality_flag": {"id": "cek mutu", "en": "quality check"},
    "quarantined_cell": {"id": "{n} dikarantina", "en": "{n} quarantined"},
    "quarantine_more": {"id": "… dan {n} berkas lagi.", "en": "… and {n} more files."},
    "scoreboard_details": {"id": "Rincian per kiriman", "en": "Details per feed"},
    "status_generated": {"id": "Status per {when}.", "en": "Status as of {when}."},
    "dataset": {"id": "Dataset", "en": "Dataset"},
    "timeliness": {"id": "Ketepatan waktu", "en": "Timeliness"},
    "state_on_time": {"id": "Tepat waktu", "en": "On time"},
    "state_late": {"id": "Terlambat", "en": "Late"},
    "state_never": {"id": "Belum pernah", "en": "Never"},
    "last_quality": {"id": "Pemeriksaan mutu terakhir", "en": "Last quality result"},
    "quality_cell": {
        "id": "{passed} lolos · {failed} gagal · {warnings} peringatan",
        "en": "{passed} passed · {failed} failed · {warnings} warnings",
    },
    "quarantined_files": {"id": "Berkas dikarantina", "en": "Quarantined files"},
    "quarantine": {"id": "Berkas dikarantina", "en": "Quarantined files"},
    "officials_data_docs": {
        "id": "Setiap aturan mutu dengan nilai yang teramati dan contoh yang gagal, untuk "
        "kiriman terakhir yang diterima dan yang dikarantina per feed: "
        "[Great Expectations Data Docs]({url})",
        "en": "Every quality rule with its observed values and failing examples, for each "
        "feed's latest accepted and quarantined file: [Great Expectations Data Docs]({url})",
    },
    "quarantine_none": {
        "id": "Tidak ada berkas yang dikarantina.",
        "en": "No file is quarantined.",
    },
    "received_at": {"id": "Diterima", "en": "Received"},
    "reason": {"id": "Alasan", "en": "Reason"},
    "source_penduduk": {"id": "Penduduk", "en": "Population"},
    "source_indikator": {"id": "Indikator", "en": "Indicators"},
    "source_aduan": {"id": "Aduan", "en": "Complaints"},
    "source_fasilitas_kesehatan": {"id": "Fasilitas kesehatan", "en": "Health facilities"},
    "runs_none": {
        "id": "Riwayat proses belum tersedia: pipeline belum pernah dijalankan.",
        "en": "No run history yet: the pipeline has not run.",
    },
    "run_last": {"id": "Proses terakhir", "en": "Last run"},
    "run_started": {"id": "Mulai", "en": "Started"},
    "run_status": {"id": "Status", "en": "Status"},
    "run_duration": {"id": "Durasi", "en": "Duration"},
    "run_files": {"id": "Berkas", "en": "Files"},
    "run_files_cell": {
        "id": "{accepted} diterima · {quarantined} dikarantina",
        "en": "{accepted} accepted · {quarantined} quarantined",
    },
    "run_rows": {"id": "Baris diterima", "en": "Rows accepted"},
    "run_published": {"id": "Diterbitkan", "en": "Published"},
    "run_errors": {"id": "Galat", "en": "Errors"},
    "run_completed": {"id": "selesai", "en": "completed"},
    "run_failed": {"id": "gagal", "en": "failed"},
    "run_running": {"id": "berjalan", "en": "running"},
    "overview_none": {
        "id": "Dataset penduduk dan aduan belum diterbitkan.",
        "en": "The population and complaints datasets are not published yet.",
    },
    "ov_population": {"id": "Penduduk ({period})", "en": "Population ({period})"},
    "ov_complaints": {"id": "Aduan {start} s.d. {end}", "en": "Complaints {start} to {end}"},
    "ov_per_10000": {
        "id": "Aduan per 10.000 penduduk (12 bulan)",
        "en": "Complaints per 10,000 residents (12 months)",
    },
    "ov_service_level": {
        "id": "Selesai dalam batas waktu layanan",
        "en": "Closed within the service level",
    },
    "ov_map_metric": {"id": "Tampilkan di peta", "en": "Show on the map"},
    "ov_metric_penduduk": {"id": "Penduduk", "en": "Population"},
    "ov_metric_per_10000": {"id": "Aduan per 10.000 penduduk",
                            "en": "Complaints per 10,000 residents"},
    "ov_metric_persen_tepat_waktu": {"id": "Selesai tepat waktu",
                                     "en": "Closed within service level"},
    "ov_col_received": {"id": "Aduan diterima (12 bulan)", "en": "Complaints (12 months)"},
    "ov_source": {
        "id": "Sumber: {title} versi {version}",
        "en": "Source: {title}, version {version}",
    },
    "ov_window": {
        "id": "aduan: 12 bulan terakhir ({start} s.d. {end})",
        "en": "complaints: latest 12 months ({start} to {end})",
    },
    # --- units -----------------------------------------------------------------------------
    "bytes_B": {"id": "B", "en": "B"},
    "dur_s": {"id": "{s} dtk", "en": "{s} s"},
    "dur_ms": {"id": "{m} mnt {s} dtk", "en": "{m} min {s} s"},
    "dur_hm": {"id": "{h} jam {m} mnt", "en": "{h} h {m} min"},
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
    "theme_pelayanan-publik": {"id": "Pelayanan publik", "en": "Public services"},
    "theme_pembangunan": {"id": "Pembangunan", "en": "Development"},
    "theme_sosial-ekonomi": {"id": "Sosial ekonomi", "en": "Socio-economy"},
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


# --- catalogue vocabularies -----------------------------------------------------------


def theme_label(theme: str | None, lang: str | None = None) -> str:
    if not theme:
        return ""
    key = f"theme_{theme}"
    return t(key, lang) if has(key) else theme


def frequency_label(code: str | None, lang: str | None = None, with_code: bool = True) -> str:
    if not code:
        return "—"
    key = f"freq_{code}"
    if not has(key):
        return code
    return f"{t(key, lang)} ({code})" if with_code else t(key, lang)


def column_label(ds: Mapping[str, Any], name: str, lang: str | None = None) -> str:
    """A short label for a column: a known name (Periode, Kategori...), else its
    dictionary description up to the first ``;`` or ``.``, with its unit."""
    key = f"colname_{name}"
    if has(key):
        return t(key, lang)
    for col in ds.get("columns") or []:
        if col.get("name") == name:
            text = pick(col.get("description"), lang).split(";")[0].strip().rstrip(".")
            if not text:
                return name
            unit = col.get("unit")
            if unit and not re.search(rf"(?<!\w){re.escape(unit)}(?!\w)", text, re.IGNORECASE):
                text = f"{text} ({unit})"
            return text
    return name


# --- numbers --------------------------------------------------------------------------


def fmt_num(value: Any, decimals: int | None = None, lang: str | None = None,
            strip: bool = True) -> str:
    """``12881374`` -> ``12.881.374`` (id) / ``12,881,374`` (en); ``2.5`` -> ``2,5`` /
    ``2.5``. Integers get no decimals; other numbers ``decimals`` (default 2) with
    trailing zeros dropped (kept with ``strip=False``). ``None``/NaN -> ``—``."""
    if value is None or isinstance(value, bool):
        return "—" if value is None else str(value)
    if not isinstance(value, numbers.Number):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return "—" if str(value) in ("<NA>", "NaT", "nan", "None") else str(value)
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return "—"
    if isinstance(value, numbers.Integral) and decimals is None:
        text = f"{int(value):,}"
    else:
        places = 2 if decimals is None else max(int(decimals), 0)
        text = f"{number:,.{places}f}"
        if strip and "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", "-0.0"):
            text = "0"
    lang = normalize_lang(lang) if lang is not None else current_lang()
    if lang == "id":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


def style_numbers(frame: Any, decimals: Mapping[str, int] | None = None,
                  lang: str | None = None, plain: tuple[str, ...] = ("tahun", "year"),
                  suffix: Mapping[str, str] | None = None) -> Any:
    """A pandas Styler writing the frame's numbers the language's way (only the display
    changes: the grid still sorts by value). ``decimals`` fixes the decimals of some
    columns (zeros kept); other floats get up to 6, integers none. Codes (``kode_*``)
    and years stay as they are."""
    import pandas as pd

    lang = normalize_lang(lang) if lang is not None else current_lang()
    decimals = decimals or {}
    suffix = suffix or {}
    formats: dict[Any, Any] = {}
    for col in frame.columns:
        name = str(col)
        if name in plain or name.startswith("kode_"):
            continue
        dtype = frame[col].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            continue
        end = suffix.get(name, "")
        if name in decimals:
            places = decimals[name]
            formats[col] = lambda v, p=places, e=end: (
                fmt_num(v, p, lang, strip=False) + e if v == v and v is not None else "—")
        elif pd.api.types.is_integer_dtype(dtype):
            formats[col] = lambda v, e=end: fmt_num(v, None, lang) + e
        else:
            formats[col] = lambda v, e=end: (
                fmt_num(v, 6, lang) + e if v == v and v is not None else "—")
    if not formats:
        return frame
    return frame.style.format(formats, na_rep="—")


def fmt_bytes(size: Any, lang: str | None = None) -> str:
    """``1536`` -> ``1,5 KB`` (id) / ``1.5 KB`` (en); unknown -> empty string."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{fmt_num(value, 1, lang)} {unit}"
        value /= 1024
    return ""


def fmt_duration(seconds: Any, lang: str | None = None) -> str:
    """``85`` -> ``1 mnt 25 dtk`` / ``1 min 25 s``."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        return "—"
    total = round(float(seconds))
    if total < 60:
        if float(seconds) < 10:
            return t("dur_s", lang, s=fmt_num(float(seconds), 1, lang))
        return t("dur_s", lang, s=total)
    if total < 3600:
        return t("dur_ms", lang, m=total // 60, s=total % 60)
    return t("dur_hm", lang, h=total // 3600, m=(total % 3600) // 60)
