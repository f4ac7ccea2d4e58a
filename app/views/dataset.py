"""The dataset page (`?dataset=<slug>`): title, badges, coverage warning, metadata,
licence and citation, then one tab each for the preview, chart, downloads, data
dictionary, quality and versions (the larger tabs have their own modules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import cache
from app.i18n import fmt_num, frequency_label, has, pick, t, theme_label
from app.navigation import back_button
from app.site_reader import catalog as catalog_file
from app.site_reader import coverage
from app.text import code, format_time, md, md_cell
from app.views import chart_tab, downloads_tab, preview_tab, quality_tab
from app.views.parts import app_base_url, badges, citation, license_md, rows_label
from flows.common import site_layout
from flows.common.licences import LICENSE_URLS


def period_list(labels: list[str], limit: int = 12) -> str:
    if len(labels) <= limit:
        return ", ".join(labels)
    return f"{', '.join(labels[:3])}, …, {labels[-1]} ({fmt_num(len(labels))})"


def coverage_warning(ds: dict[str, Any]) -> None:
    """A partial latest release: which regencies each period lacks, by name."""
    gaps = coverage.coverage_gaps(ds)
    if not gaps:
        return
    lines = []
    for gap in gaps:
        regions = md(coverage.region_names(gap["regencies"]))
        if gap["periods"]:
            key = "coverage_period" if len(gap["periods"]) == 1 else "coverage_periods"
            lines.append(t(key, periods=md(period_list(gap["periods"])), regions=regions))
        if gap["whole"]:
            lines.append(t("coverage_whole", regions=regions))
    expected = len(ds["coverage"].get("expected") or [])
    st.warning(
        t("coverage_partial", version=md(ds.get("latest_version") or "—"),
          expected=fmt_num(expected))
        + "\n\n" + "\n".join(f"- {line}" for line in lines),
        icon=":material/report:",
    )


def metadata_block(ds: dict[str, Any], extra: dict[str, Any]) -> None:
    """The Satu Data Indonesia metadata fields (plus those of the release's
    datapackage.json ``satudata`` block: kode referensi, konsep, definisi...)."""
    codes = extra.get("kode_referensi") or ds.get("kode_referensi")
    if isinstance(codes, dict):
        codes_md = "  \n".join(f"{code(k)}: {md(pick(v))}" for k, v in codes.items())
    else:
        codes_md = md(pick(codes)) if codes else "—"
    fields = [
        ("f_produsen", ", ".join(md(p) for p in ds.get("produsen_data") or []) or "—"),
        ("f_walidata", md(ds.get("walidata") or "—")),
        ("f_unit", md(ds.get("unit") or "—")),
        ("f_frequency", md(frequency_label(ds.get("frequency")))),
        ("f_spatial", md(ds.get("spatial") or "—")),
        ("f_temporal", md(ds.get("temporal") or "—")),
        ("f_license", license_md(ds.get("license"))),
        ("f_source", md(pick(ds.get("source")) or "—")),
        ("f_updated", format_time(ds.get("updated"))),
        ("f_version", md(ds.get("latest_version") or "—")),
        ("f_theme", md(theme_label(ds.get("theme")) or "—")),
        ("f_rows", rows_label(ds.get("row_count"))),
        ("f_reference_codes", codes_md),
    ]
    for key in ("konsep", "definisi", "metode_perhitungan", "klasifikasi_penyajian",
                "level_estimasi"):
        value = extra.get(key) or ds.get(key)
        if value:
            fields.append((f"f_{key}", md(pick(value))))
    keywords = ds.get("keywords") or []
    if keywords:
        fields.append(("f_keywords", ", ".join(md(k) for k in keywords)))
    with st.container(border=True):
        st.markdown(f"**{t('metadata')}**")
        left, right = st.columns(2)
        half = (len(fields) + 1) // 2
        for column, chunk in ((left, fields[:half]), (right, fields[half:])):
            with column:
                for key, value in chunk:
                    st.markdown(f"**{t(key)}**  \n{value}")


def licence_block(ds: dict[str, Any], entry: dict[str, Any] | None) -> None:
    with st.container(border=True):
        st.markdown(f"**:material/gavel: {t('licence_and_source')}**")
        license_id = ds.get("license")
        url = LICENSE_URLS.get(license_id or "")
        key = f"licence_{license_id}"
        explanation = t(key) if has(key) else t("licence_other")
        st.markdown(f"{license_md(license_id)} — {explanation}")
        source = pick(ds.get("source"))
        if source:
            st.markdown(f"**{t('f_source')}**: {md(source)}")
        if ds.get("synthetic"):
            st.caption(t("synthetic_note"))
        if entry is not None:
            version_url = site_layout.version_url(ds["slug"], entry["version"],
                                                  site_layout.DESCRIPTOR, app_base_url())
            st.markdown(t("cite_as"))
            st.code(citation(ds, entry["version"], version_url), language=None,
                    wrap_lines=True)
        if url:
            st.caption(t("licence_link", url=url))


def data_dictionary(ds: dict[str, Any]) -> None:
    columns = ds.get("columns") or []
    if not columns:
        st.caption(t("no_columns"))
        return
    table = pd.DataFrame(
        {
            t("col_name"): [md_cell(c.get("name")) for c in columns],
            t("col_type"): [md_cell(c.get("type") or "") for c in columns],
            t("col_unit"): [md_cell(c.get("unit") or "") for c in columns],
            t("col_description"): [md_cell(pick(c.get("description"))) for c in columns],
        }
    )
    st.table(table, hide_index=True)


def version_history(ds: dict[str, Any]) -> None:
    base = app_base_url()
    for i, entry in enumerate(ds.get("versions") or []):
        line = t(
            "version_line",
            version=md(entry["version"]),
            rows=rows_label(entry.get("rows")),
            published=format_time(entry.get("published_at")),
        )
        if entry["version"] == ds.get("latest_version") or (
            i == 0 and not ds.get("latest_version")
        ):
            line += f" :green-badge[{t('latest_tag')}]"
        if entry.get("partial"):
            line += f" :red-badge[{t('version_partial')}]"
        changelog = pick(entry.get("changelog"))
        links = " · ".join(
            f"[{md(f.get('format', '').upper())}]({site_layout.static_url(f['path'], base)})"
            for f in entry.get("files") or [] if isinstance(f, dict) and f.get("path")
        )
        st.markdown(
            line
            + (f"  \n{md(changelog)}" if changelog else "")
            + (f"  \n{t('versioned_files')} {links}" if links else "")
        )


def render(site: Path, catalog: dict[str, Any] | None, slug: str) -> None:
    back_button()
    ds = catalog_file.find_dataset(catalog, slug) if catalog else None
    if ds is None:
        shown = slug.replace("`", "")[:80]
        st.warning(t("unknown_dataset", slug=shown), icon=":material/help:")
        return

    title = pick(ds.get("title")) or slug
    st.title(md(title), anchor=False)
    marks = badges(ds)
    if marks:
        st.markdown(marks)
    description = pick(ds.get("description"))
    if description:
        st.markdown(md(description))
    coverage_warning(ds)

    entry = catalog_file.latest_version_entry(ds)
    extra = cache.satudata_block(site, ds, entry) if entry is not None else {}
    metadata_block(ds, extra)
    licence_block(ds, entry)
    if entry is None:
        st.info(t("not_published"), icon=":material/schedule:")
        st.subheader(t("dictionary"), anchor=False)
        data_dictionary(ds)
        return

    ref = cache.parquet_ref(site, ds, entry)
    sections = ["preview", "chart", "download", "dictionary", "quality", "versions"]
    tabs = dict(zip(sections, st.tabs([t(f"tab_{s}") for s in sections]), strict=True))
    with tabs["preview"]:
        preview_tab.preview(ds, entry, ref)
    with tabs["chart"]:
        try:
            chart_tab.visualise(site, ds, ref)
        except Exception as exc:  # e.g. a file replaced under our feet: say so, keep the page
            st.warning(t("chart_failed", error=md(exc)))
    with tabs["download"]:
        downloads_tab.downloads(site, ds, entry)
    with tabs["dictionary"]:
        data_dictionary(ds)
    with tabs["quality"]:
        quality_tab.quality_section(site, ds)
    with tabs["versions"]:
        version_history(ds)
