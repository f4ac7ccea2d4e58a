"""Satu Data Banten: the public data catalogue (``streamlit run app/catalogue.py``).

Reads only the published site folder (see ``app/site_reader.py``); never the warehouse.

Routing and state:
- ``?dataset=<slug>`` shows a dataset page, no parameter shows the list.
- ``?lang=id|en`` picks the UI language (default Indonesian). The language switch is a
  segmented control with key ``lang``: the choice lives in ``st.session_state["lang"]``
  and is mirrored into the ``lang`` query parameter (see ``language_switch``).
- The search box (key ``q``) keeps its text for the whole session.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

# `streamlit run` puts app/ on sys.path, AppTest does not: import our modules as the
# `app` package from the repository root in both cases.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from app import site_reader as sr  # noqa: E402
from app.i18n import (  # noqa: E402
    DEFAULT_LANG,
    LANG_KEY,
    LANG_LABELS,
    LANGS,
    current_lang,
    has,
    normalize_lang,
    pick,
    t,
)

DATASET_PARAM = "dataset"
SEARCH_KEY = "q"
DESCRIPTION_CHARS = 180
LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "PDDL-1.0": "https://opendatacommons.org/licenses/pddl/1-0/",
}
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>$|~#"})


# --- cached reads ---------------------------------------------------------------------


@st.cache_data(max_entries=8, show_spinner=False)
def cached_catalog(path: str, signature: tuple[int, int]) -> dict[str, Any]:
    """catalog.json, cached per file version: ``signature`` is (mtime_ns, size)."""
    return sr.load_catalog(Path(path))


def get_catalog(site: Path) -> dict[str, Any] | None:
    """The current catalogue, or ``None`` when nothing was published yet."""
    path = sr.catalog_path(site)
    signature = sr.file_signature(path)
    if signature is None:
        return None
    return cached_catalog(str(path), signature)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_preview(
    parquet: str, slug: str, version: str, signature: tuple[int, int]
) -> pd.DataFrame:
    """First rows of one dataset version, keyed by (slug, version) and the file's
    signature (a same-day re-release rewrites the same version folder)."""
    return sr.read_preview(Path(parquet))


# --- small helpers ----------------------------------------------------------------


def md(text: Any) -> str:
    """Escape catalogue text for Markdown (no accidental bold, links or LaTeX)."""
    return str(text).translate(_MD_SPECIAL)


def one_line(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def theme_label(theme: str | None) -> str:
    if not theme:
        return ""
    key = f"theme_{theme}"
    return t(key) if has(key) else theme


def frequency_label(code: str | None) -> str:
    if not code:
        return "—"
    key = f"freq_{code}"
    return f"{t(key)} ({code})" if has(key) else code


def license_md(license_id: str | None) -> str:
    if not license_id:
        return "—"
    url = LICENSE_URLS.get(license_id)
    return f"[{md(license_id)}]({url})" if url else md(license_id)


def badges(ds: dict[str, Any]) -> str:
    """Markdown badges: theme, frequency, synthetic."""
    parts = []
    if ds.get("theme"):
        parts.append(f":blue-badge[{md(theme_label(ds['theme']))}]")
    if ds.get("frequency"):
        parts.append(f":gray-badge[{md(frequency_label(ds['frequency']))}]")
    if ds.get("synthetic"):
        parts.append(f":orange-badge[:material/science: {md(t('synthetic'))}]")
    return " ".join(parts)


def open_dataset(slug: str) -> None:
    st.query_params[DATASET_PARAM] = slug


def close_dataset() -> None:
    if DATASET_PARAM in st.query_params:
        del st.query_params[DATASET_PARAM]


def back_button() -> None:
    st.button(
        t("back"), key="back", on_click=close_dataset, type="tertiary", icon=":material/arrow_back:"
    )


def app_base_url() -> str | None:
    """The app's URL in the browser (no query string), when Streamlit knows it."""
    try:
        url = st.context.url
    except Exception:
        return None
    return url or None


# --- page parts -------------------------------------------------------------------


def language_switch() -> None:
    """Language switch, top right of every page.

    The segmented control's key is the session-state key ``lang``. On a session's first
    run it is seeded from ``?lang=`` (so shared links keep their language); afterwards
    the URL follows the widget. Indonesian, the default, is not added to a URL that has
    no ``lang`` yet. (``bind="query-params"`` is not used: with a ``format_func`` it
    writes the display label, e.g. ``lang=English``, into the URL.)
    """
    if normalize_lang(st.session_state.get(LANG_KEY)) != st.session_state.get(LANG_KEY):
        st.session_state[LANG_KEY] = normalize_lang(st.query_params.get(LANG_KEY))
    with st.container(horizontal=True, horizontal_alignment="right"):
        st.segmented_control(
            "Bahasa / Language",
            options=list(LANGS),
            format_func=LANG_LABELS.__getitem__,
            required=True,
            key=LANG_KEY,
            label_visibility="collapsed",
        )
    lang = current_lang()
    in_url = st.query_params.get(LANG_KEY)
    if in_url != lang and not (in_url is None and lang == DEFAULT_LANG):
        st.query_params[LANG_KEY] = lang


def render_home(catalog: dict[str, Any] | None) -> None:
    st.title(t("app_title"), anchor=False)
    st.caption(t("subtitle"))

    datasets = (catalog or {}).get("datasets") or []
    if not datasets:
        st.info(t("nothing_published"), icon=":material/inventory_2:")
        return

    query = st.text_input(
        t("search_label"),
        key=SEARCH_KEY,
        placeholder=t("search_placeholder"),
        icon=":material/search:",
        persist_state="session",
    )
    query = (query or "").strip()
    lang = current_lang()
    found = sorted(
        sr.search_datasets(datasets, query),
        key=lambda ds: pick(ds.get("title"), lang).casefold() or ds["slug"],
    )
    if not found:
        st.warning(t("no_results", q=md(query)), icon=":material/search_off:")
    else:
        if query:
            st.caption(t("count_found", n=len(found), q=md(query)))
        else:
            st.caption(t("count_all", n=len(found)))
        for ds in found:
            dataset_card(ds)

    generated = catalog.get("generated_at") if catalog else None
    if generated:
        st.caption(t("catalog_generated", when=sr.format_time(generated)))


def dataset_card(ds: dict[str, Any]) -> None:
    slug = ds["slug"]
    with st.container(border=True):
        st.subheader(md(pick(ds.get("title")) or slug), anchor=False)
        marks = badges(ds)
        if marks:
            st.markdown(marks)
        description = pick(ds.get("description"))
        if description:
            st.markdown(md(one_line(description)))
        if sr.is_published(ds):
            meta = (
                f"{t('latest_version')}: **{md(ds['latest_version'])}** · "
                f"{t('updated')} {sr.format_time(ds.get('updated'))}"
            )
        else:
            meta = t("not_published_short")
        st.caption(meta)
        st.button(
            t("open_dataset"),
            key=f"open:{slug}",
            on_click=open_dataset,
            args=(slug,),
            icon=":material/arrow_forward:",
        )


def metadata_block(ds: dict[str, Any]) -> None:
    """The Satu Data Indonesia metadata fields."""
    rows = ds.get("row_count")
    fields = [
        ("f_produsen", ", ".join(md(p) for p in ds.get("produsen_data") or []) or "—"),
        ("f_walidata", md(ds.get("walidata") or "—")),
        ("f_unit", md(ds.get("unit") or "—")),
        ("f_frequency", md(frequency_label(ds.get("frequency")))),
        ("f_spatial", md(ds.get("spatial") or "—")),
        ("f_temporal", md(ds.get("temporal") or "—")),
        ("f_license", license_md(ds.get("license"))),
        ("f_source", md(pick(ds.get("source")) or "—")),
        ("f_updated", sr.format_time(ds.get("updated"))),
        ("f_version", md(ds.get("latest_version") or "—")),
        ("f_theme", md(theme_label(ds.get("theme")) or "—")),
        ("f_rows", f"{rows:,}".replace(",", ".") if isinstance(rows, int) else "—"),
    ]
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


def downloads(site: Path, ds: dict[str, Any], entry: dict[str, Any]) -> None:
    slug, version = ds["slug"], entry["version"]
    files = sr.version_files(ds, entry)
    st.subheader(t("download"), anchor=False)
    sums: dict[str, str] = {}
    missing = []
    with st.container(horizontal=True):
        for fmt in sr.FORMATS:
            info = files[fmt]
            path = sr.resolve_in_site(site, info["path"])
            present = path is not None and path.is_file()
            if not present:
                missing.append(fmt)
            elif not sums:
                sums = sr.read_sha256sums(path.parent)
            size = sr.format_bytes(info.get("bytes"))
            st.download_button(
                t(f"download_{fmt}") + (f" ({size})" if size else ""),
                data=partial(sr.read_bytes, path) if present else b"",
                file_name=f"{slug}.{fmt}",
                mime=sr.MIME_TYPES[fmt],
                key=f"download:{fmt}",
                on_click="ignore",
                disabled=not present,
                type="primary" if fmt == "csv" else "secondary",
                icon=":material/download:",
            )
    for fmt in missing:
        st.warning(t("file_missing", fmt=fmt.upper(), version=md(version)))

    base = app_base_url()
    st.markdown(t("stable_url"))
    st.code(
        "\n".join(sr.stable_url(slug, fmt, base) for fmt in sr.FORMATS),
        language=None,
        wrap_lines=True,
    )
    checksums = []
    for fmt in sr.FORMATS:
        sha = files[fmt].get("sha256") or sums.get(f"{slug}.{fmt}")
        if sha:
            checksums.append(f"{sha}  {slug}.{fmt}")
    if checksums:
        st.markdown(t("sha256", version=md(version)))
        st.code("\n".join(checksums), language=None, wrap_lines=True)


def preview(site: Path, ds: dict[str, Any], entry: dict[str, Any]) -> None:
    slug, version = ds["slug"], entry["version"]
    st.subheader(t("preview"), anchor=False)
    path = sr.resolve_in_site(site, sr.version_files(ds, entry)["parquet"]["path"])
    signature = sr.file_signature(path) if path is not None else None
    if path is None or signature is None:
        st.warning(t("file_missing", fmt="Parquet", version=md(version)))
        return
    try:
        frame = cached_preview(str(path), slug, version, signature)
    except Exception as exc:  # a corrupt file must not take the page down
        st.warning(t("preview_failed", error=md(exc)))
        return
    st.dataframe(frame, hide_index=True)
    total = entry.get("rows")
    if not isinstance(total, int):
        total = ds.get("row_count") if isinstance(ds.get("row_count"), int) else len(frame)
    st.caption(t("preview_caption", shown=len(frame), total=total, version=md(version)))


def data_dictionary(ds: dict[str, Any]) -> None:
    st.subheader(t("dictionary"), anchor=False)
    columns = ds.get("columns") or []
    if not columns:
        st.caption(t("no_columns"))
        return
    table = pd.DataFrame(
        {
            t("col_name"): [str(c.get("name")) for c in columns],
            t("col_type"): [str(c.get("type") or "") for c in columns],
            t("col_unit"): [str(c.get("unit") or "") for c in columns],
            t("col_description"): [pick(c.get("description")) for c in columns],
        }
    )
    st.table(table, hide_index=True)


def version_history(ds: dict[str, Any]) -> None:
    st.subheader(t("versions"), anchor=False)
    for i, entry in enumerate(ds.get("versions") or []):
        rows = entry.get("rows")
        line = t(
            "version_line",
            version=md(entry["version"]),
            rows=rows if isinstance(rows, int) else "—",
            published=sr.format_time(entry.get("published_at")),
        )
        if entry["version"] == ds.get("latest_version") or (
            i == 0 and not ds.get("latest_version")
        ):
            line += f" :green-badge[{t('latest_tag')}]"
        changelog = pick(entry.get("changelog"))
        st.markdown(line + (f"  \n{md(changelog)}" if changelog else ""))


def render_dataset(site: Path, catalog: dict[str, Any] | None, slug: str) -> None:
    back_button()
    ds = sr.find_dataset(catalog, slug) if catalog else None
    if ds is None:
        shown = slug.replace("`", "")[:80]
        st.warning(t("unknown_dataset", slug=shown), icon=":material/help:")
        return

    title = pick(ds.get("title")) or slug
    st.title(md(title), anchor=False)
    marks = badges(ds)
    if marks:
        st.markdown(marks)
    if ds.get("synthetic"):
        st.caption(t("synthetic_note"))
    description = pick(ds.get("description"))
    if description:
        st.markdown(md(description))
    metadata_block(ds)

    entry = sr.latest_version_entry(ds)
    if entry is None:
        st.info(t("not_published"), icon=":material/schedule:")
        data_dictionary(ds)
        return
    downloads(site, ds, entry)
    preview(site, ds, entry)
    data_dictionary(ds)
    version_history(ds)


def main() -> None:
    st.set_page_config(page_title="Satu Data Banten", page_icon=":material/dataset:")
    language_switch()
    site = sr.site_dir()
    slug = st.query_params.get(DATASET_PARAM)
    try:
        catalog = get_catalog(site)
    except sr.CatalogError as exc:
        st.title(t("app_title"), anchor=False)
        st.error(t("catalog_unreadable", error=md(exc)))
        return
    if slug:
        render_dataset(site, catalog, slug)
    else:
        render_home(catalog)


main()
