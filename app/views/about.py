"""The about / API page (`?page=about`): how to harvest the catalogue (data.json), the
bulk download, the stable URLs, how to cite, the licence and privacy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app.i18n import fmt_bytes, t
from app.site_reader import catalog as catalog_file
from app.views.parts import app_base_url, citation
from flows.common import site_layout


def render(site: Path, catalog: dict[str, Any] | None) -> None:
    st.title(t("about_title"), anchor=False)
    st.markdown(t("about_intro"))
    base = app_base_url()
    data_json = site_layout.static_url(site_layout.DATA_JSON, base)
    bulk = ((catalog or {}).get("downloads") or {}).get("bulk_zip")
    bulk_path = bulk.get("path") if isinstance(bulk, dict) else site_layout.BULK_ZIP
    bulk_url = site_layout.static_url(bulk_path or site_layout.BULK_ZIP, base)

    st.subheader(t("about_harvest"), anchor=False)
    st.markdown(t("about_harvest_text", url=data_json))
    st.code(data_json, language=None)
    st.markdown(t("about_ckan"))
    st.code(
        "# ckan.ini\nckan.plugins = ... harvest datajson_harvest\n\n"
        f"# Harvest source (type: data.json)\nurl: {data_json}",
        language="ini",
    )
    if not (site / site_layout.DATA_JSON).is_file():
        st.caption(t("about_not_yet"))

    st.subheader(t("about_bulk"), anchor=False)
    size = fmt_bytes(bulk.get("bytes")) if isinstance(bulk, dict) else ""
    st.markdown(t("about_bulk_text", size=f" ({size})" if size else ""))
    st.code(f"curl -fLO {bulk_url}", language="bash")

    st.subheader(t("about_urls"), anchor=False)
    st.markdown(t("about_urls_text"))
    example = next((ds for ds in (catalog or {}).get("datasets") or []
                    if catalog_file.is_published(ds)), None)
    slug = example["slug"] if example else "<slug>"
    st.code(
        "\n".join(
            [
                site_layout.static_url(site_layout.CATALOG_JSON, base),
                site_layout.stable_url(slug, f"{slug}.csv", base),
                site_layout.stable_url(slug, f"{slug}.xlsx", base),
                site_layout.stable_url(slug, f"{slug}.json", base),
                site_layout.stable_url(slug, f"{slug}.parquet", base),
                site_layout.stable_url(slug, site_layout.DESCRIPTOR, base),
                site_layout.stable_url(slug, site_layout.SHA256SUMS, base),
                site_layout.version_url(slug, t("version_placeholder"), f"{slug}.csv", base),
            ]
        ),
        language=None,
        wrap_lines=True,
    )

    st.subheader(t("about_cite"), anchor=False)
    st.markdown(t("about_cite_text"))
    if example:
        url = site_layout.version_url(slug, example["latest_version"], site_layout.DESCRIPTOR,
                                      base)
        st.code(citation(example, example["latest_version"], url), language=None,
                wrap_lines=True)

    st.subheader(t("about_licence"), anchor=False)
    st.markdown(t("about_licence_text"))

    st.subheader(t("about_privacy"), anchor=False)
    st.markdown(t("about_privacy_text"))
