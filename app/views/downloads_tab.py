"""The dataset page's downloads tab: a button per file of the latest version, its
stable and versioned URLs, checksums, and code snippets (curl, pandas, R)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st

from app import cache
from app.i18n import fmt_bytes, t
from app.site_reader import releases
from app.site_reader.files import file_signature, read_bytes, resolve_in_site
from app.text import md
from app.views.parts import app_base_url
from flows.common import site_layout

DOWNLOAD_ORDER = (*site_layout.FORMATS, "datapackage")


def downloads(site: Path, ds: dict[str, Any], entry: dict[str, Any]) -> None:
    slug, version = ds["slug"], entry["version"]
    files = releases.version_files(ds, entry, site)
    folder = resolve_in_site(site, site_layout.version_path(slug, version))
    sums = cache.sha256sums(str(folder), file_signature(folder / site_layout.SHA256SUMS)) if (
        folder is not None) else {}
    missing = []
    with st.container(horizontal=True):
        for fmt in DOWNLOAD_ORDER:
            info = files.get(fmt)
            if info is None:
                continue
            path = resolve_in_site(site, info["path"])
            present = path is not None and path.is_file()
            if not present:
                missing.append(fmt)
            size = fmt_bytes(info.get("bytes"))
            st.download_button(
                t(f"download_{fmt}") + (f" ({size})" if size else ""),
                data=partial(read_bytes, path) if present else b"",
                file_name=info["name"] if fmt == "datapackage" else f"{slug}.{fmt}",
                mime=releases.MIME_TYPES[fmt],
                key=f"download:{fmt}",
                on_click="ignore",
                disabled=not present,
                type="primary" if fmt == "csv" else "secondary",
                icon=":material/download:",
            )
    for fmt in missing:
        st.warning(t("file_missing", fmt=fmt.upper(), version=md(version)))

    base = app_base_url()
    present = [fmt for fmt in DOWNLOAD_ORDER if fmt in files and fmt not in missing]
    st.markdown(t("stable_url"))
    st.code("\n".join(site_layout.stable_url(slug, site_layout.file_name(slug, fmt), base)
                      for fmt in present) or "—",
            language=None, wrap_lines=True)
    st.markdown(t("version_url", version=md(version)))
    st.code(
        "\n".join(site_layout.version_url(slug, version, files[fmt]["name"], base)
                  for fmt in present)
        or "—",
        language=None,
        wrap_lines=True,
    )
    checksums = []
    for fmt in DOWNLOAD_ORDER:
        if fmt not in files:
            continue
        name = files[fmt]["name"]
        sha = files[fmt].get("sha256") or sums.get(name)
        if sha:
            checksums.append(f"{sha}  {name}")
    if checksums:
        st.markdown(t("sha256", version=md(version)))
        st.code("\n".join(checksums), language=None, wrap_lines=True)
    if "csv" in present:
        snippets(ds, base)


def snippets(ds: dict[str, Any], base: str | None) -> None:
    slug = ds["slug"]
    csv_url = site_layout.stable_url(slug, f"{slug}.csv", base)
    names = {c.get("name") for c in ds.get("columns") or []}
    codes = sorted(n for n in names if n and str(n).startswith("kode_"))
    st.markdown(t("snippets"))
    if not base:
        st.caption(t("snippets_relative"))
    curl_tab, py_tab, r_tab = st.tabs(["curl", "Python (pandas)", "R"])
    folder = site_layout.static_url(site_layout.latest_path(slug), base)
    with curl_tab:
        st.code(
            f"curl -fLO {csv_url}\ncurl -fLO {folder}SHA256SUMS\n"
            f"sha256sum -c --ignore-missing SHA256SUMS",
            language="bash",
        )
    dtype = ", dtype={" + ", ".join(f'"{c}": str' for c in codes) + "}" if codes else ""
    with py_tab:
        st.code(
            f'import pandas as pd\n\nurl = "{csv_url}"\ndf = pd.read_csv(url{dtype})\n',
            language="python",
        )
    classes = (", colClasses = c(" + ", ".join(f'{c} = "character"' for c in codes) + ")"
               if codes else "")
    with r_tab:
        st.code(f'url <- "{csv_url}"\ndf <- read.csv(url{classes})\n', language="r")
    if codes:
        st.caption(t("snippets_codes", cols=", ".join(f"`{c}`" for c in codes)))
