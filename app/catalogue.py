"""Satu Data Banten: the public data catalogue (``satudata serve``).

Reads only the published site folder (see ``app/site_reader.py``); never the warehouse.

Routing is URL-driven, so every page can be linked and reloaded:
- ``?page=about`` the about / API page, ``?page=officials`` the officials' view (login);
- ``?dataset=<slug>`` a dataset page; no parameter: the home page (search and facets).
- ``?lang=id|en`` picks the UI language (default Indonesian). The language switch is a
  segmented control with key ``lang``: the choice lives in ``st.session_state["lang"]``
  and is mirrored into the ``lang`` query parameter (see ``language_switch``).
Navigation buttons change the query parameters in callbacks (no full page reload), so
the session (search text, facets, login) survives moving between pages.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, charts
from app import site_reader as sr
from app.i18n import (
    DEFAULT_LANG,
    LANG_KEY,
    LANG_LABELS,
    LANGS,
    column_label,
    current_lang,
    fmt_bytes,
    fmt_num,
    frequency_label,
    has,
    normalize_lang,
    pick,
    style_numbers,
    t,
    theme_label,
)
from app.widgets import localized_choice

DATASET_PARAM = "dataset"
PAGE_PARAM = "page"
PAGES = ("about", "officials")
SEARCH_KEY = "q"
SORT_KEY = "sort"
DESCRIPTION_CHARS = 180
HIGHLIGHTS = 3
PREVIEW_HEIGHT = 460
LICENSE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
    "PDDL-1.0": "https://opendatacommons.org/licenses/pddl/1-0/",
}
DOWNLOAD_ORDER = (*sr.FORMATS, "datapackage")
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>$|~#"})


# --- small helpers ----------------------------------------------------------------


def md(text: Any) -> str:
    """Escape catalogue text for Markdown (no accidental bold, links or LaTeX)."""
    return str(text).translate(_MD_SPECIAL)


def md_cell(text: Any) -> str:
    """`md` for a cell of ``st.table`` (cells are Markdown too), keeping a ``_`` inside a
    word as it is (it never starts emphasis): the table's data still reads kode_wilayah."""
    return re.sub(r"(?<=[^\W_])\\_(?=[^\W_])", "_", md(text))


def code(text: Any) -> str:
    """Inline code (nothing is escaped inside backticks, so backticks are dropped)."""
    return "`" + str(text).replace("`", "") + "`"


def one_line(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def license_md(license_id: str | None) -> str:
    if not license_id:
        return "—"
    url = LICENSE_URLS.get(license_id)
    return f"[{md(license_id)}]({url})" if url else md(license_id)


def badges(ds: dict[str, Any]) -> str:
    """Markdown badges: theme, frequency, synthetic, incomplete."""
    parts = []
    if ds.get("theme"):
        parts.append(f":blue-badge[{md(theme_label(ds['theme']))}]")
    if ds.get("frequency"):
        parts.append(f":gray-badge[{md(frequency_label(ds['frequency']))}]")
    if ds.get("synthetic"):
        parts.append(f":orange-badge[:material/science: {md(t('synthetic'))}]")
    if sr.is_partial(ds):
        parts.append(f":red-badge[:material/report: {md(t('partial_badge'))}]")
    return " ".join(parts)


def app_base_url() -> str | None:
    """The app's URL in the browser (no query string), else ``$SATUDATA_BASE_URL``."""
    try:
        url = st.context.url
    except Exception:
        url = None
    if url:
        return url.split("?", 1)[0].split("#", 1)[0]
    return os.environ.get("SATUDATA_BASE_URL", "").strip() or None


def rows_label(n: Any) -> str:
    return fmt_num(n) if isinstance(n, int) else "—"


# --- navigation ---------------------------------------------------------------------


def go(page: str | None = None, dataset: str | None = None) -> None:
    """Callback of the navigation buttons: rewrite the query parameters."""
    for key in (PAGE_PARAM, DATASET_PARAM):
        if key in st.query_params:
            del st.query_params[key]
    if page:
        st.query_params[PAGE_PARAM] = page
    if dataset:
        st.query_params[DATASET_PARAM] = dataset


def open_dataset(slug: str) -> None:
    go(dataset=slug)


def close_dataset() -> None:
    go()


def back_button() -> None:
    st.button(
        t("back"), key="back", on_click=close_dataset, type="tertiary", icon=":material/arrow_back:"
    )


def current_route() -> tuple[str, str | None]:
    """``("about"|"officials"|"dataset"|"home", slug)`` from the query parameters."""
    page = st.query_params.get(PAGE_PARAM)
    if page in PAGES:
        return page, None
    slug = st.query_params.get(DATASET_PARAM)
    if slug:
        return "dataset", slug
    return "home", None


def header(route: str) -> None:
    """Navigation (left) and the language switch (right), on every page."""
    with st.container(horizontal=True, vertical_alignment="center"):
        for target, key, icon in (
            ("home", "nav_home", ":material/home:"),
            ("about", "nav_about", ":material/info:"),
            ("officials", "nav_officials", ":material/shield_person:"),
        ):
            active = route == target or (route == "dataset" and target == "home")
            st.button(
                t(key),
                key=f"nav:{target}",
                on_click=go,
                kwargs={"page": None if target == "home" else target},
                type="primary" if active else "tertiary",
                icon=icon,
            )
        st.space("stretch")
        language_switch()


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


# --- home ----------------------------------------------------------------------------


def facet_label(facet: str, value: str, lang: str | None = None) -> str:
    if facet == "theme":
        return theme_label(value, lang)
    if facet == "frequency":
        return frequency_label(value, lang, with_code=False)
    if facet == "format":
        return value.upper()
    return value


def facet_key(facet: str, value: str) -> str:
    return f"facet:{facet}:{value}"


def facets_sidebar(datasets: list[dict[str, Any]], found: list[dict[str, Any]]
                   ) -> dict[str, list[str]]:
    """A checkbox per facet value, labelled with the number of results it gives.

    Checkboxes rather than a multiselect: a checkbox keeps its value when its label (the
    count, the language) changes, a multiselect's browser state is its labels."""
    options = {facet: sr.facet_options(datasets, facet) for facet in sr.FACETS}
    selected = {
        facet: [v for v in values if st.session_state.get(facet_key(facet, v))]
        for facet, values in options.items()
    }
    with st.sidebar:
        st.header(t("facets"), anchor=False)
        for facet in sr.FACETS:
            if not options[facet]:
                continue
            counts = sr.facet_counts(found, selected, facet)
            expanded = len(options[facet]) <= 6 or bool(selected[facet])
            with st.expander(t(f"facet_{facet}"), expanded=expanded):
                for value in options[facet]:
                    st.checkbox(
                        f"{facet_label(facet, value)} ({counts.get(value, 0)})",
                        key=facet_key(facet, value),
                        persist_state="session",
                    )
        if any(selected.values()):
            st.button(t("facet_clear"), key="facet_clear", on_click=clear_facets,
                      type="tertiary", icon=":material/filter_alt_off:")
    return selected


def clear_facets() -> None:
    for key in list(st.session_state.keys()):
        if str(key).startswith("facet:") and st.session_state[key]:
            st.session_state[key] = False


def sort_datasets(found: list[dict[str, Any]], order: str, quality: dict | None,
                  lang: str) -> list[dict[str, Any]]:
    by_title = sorted(found, key=lambda ds: pick(ds.get("title"), lang).casefold() or ds["slug"])
    if order == "newest":
        return sorted(by_title, key=lambda ds: ds.get("updated") or "", reverse=True)
    if order == "complete":
        return sorted(by_title, key=lambda ds: sr.completeness(ds, quality), reverse=True)
    return by_title


def highlights(datasets: list[dict[str, Any]], quality: dict | None) -> None:
    """Newest and most complete datasets, side by side."""
    published = [ds for ds in datasets if sr.is_published(ds)]
    if not published:
        return
    lang = current_lang()
    newest = sort_datasets(published, "newest", quality, lang)[:HIGHLIGHTS]
    complete = sort_datasets(published, "complete", quality, lang)[:HIGHLIGHTS]
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**:material/new_releases: {t('newest')}**")
        for ds in newest:
            highlight_link(ds, "new", t("updated_on", when=sr.format_date(ds.get("updated"))))
    with right, st.container(border=True):
        st.markdown(f"**:material/verified: {t('most_complete')}**")
        for ds in complete:
            score, rows = sr.completeness(ds, quality)
            note = (t("quality_score_short", score=fmt_num(score)) if score >= 0
                    else t("rows_short", rows=rows_label(rows)))
            highlight_link(ds, "top", note)


def highlight_link(ds: dict[str, Any], prefix: str, note: str) -> None:
    with st.container(gap=None):
        st.button(
            md(pick(ds.get("title")) or ds["slug"]),   # a label is markdown too
            key=f"{prefix}:{ds['slug']}",
            on_click=open_dataset,
            args=(ds["slug"],),
            type="tertiary",
            icon=":material/chevron_right:",
        )
        st.caption(note)


def render_home(site: Path, catalog: dict[str, Any] | None) -> None:
    st.title(t("app_title"), anchor=False)
    st.caption(t("subtitle"))

    datasets = (catalog or {}).get("datasets") or []
    if not datasets:
        st.info(t("nothing_published"), icon=":material/inventory_2:")
        return

    quality = cache.quality_summary(site)
    query = st.text_input(
        t("search_label"),
        key=SEARCH_KEY,
        placeholder=t("search_placeholder"),
        icon=":material/search:",
        persist_state="session",
    )
    query = (query or "").strip()
    searched = sr.search_datasets(datasets, query)
    selected = facets_sidebar(datasets, searched)
    filtering = bool(query) or any(selected.values())
    if not filtering:
        highlights(datasets, quality)

    found = sr.filter_facets(searched, selected)
    lang = current_lang()
    if not found:
        if query:
            st.warning(t("no_results", q=md(query)), icon=":material/search_off:")
        else:
            st.warning(t("no_results_facets"), icon=":material/filter_alt_off:")
        return

    with st.container(horizontal=True, vertical_alignment="bottom"):
        if query:
            st.caption(t("count_found", n=len(found), q=md(query)))
        elif filtering:
            st.caption(t("count_filtered", n=len(found)))
        else:
            st.caption(t("count_all", n=len(found)))
        st.space("stretch")
        order = localized_choice(
            t("sort_label"),
            ["title", "newest", "complete"],
            SORT_KEY,
            lambda o: t(f"sort_{o}", lang),
            width=220,
        )
    for ds in sort_datasets(found, order or "title", quality, lang):
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
            formats = " · ".join(f.upper() for f in sr.dataset_formats(ds))
            meta = (
                f"{t('latest_version')}: **{md(ds['latest_version'])}** · "
                f"{t('updated')} {sr.format_time(ds.get('updated'))} · "
                f"{t('rows_short', rows=rows_label(ds.get('row_count')))} · {formats}"
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


# --- dataset page ---------------------------------------------------------------------


def period_list(labels: list[str], limit: int = 12) -> str:
    if len(labels) <= limit:
        return ", ".join(labels)
    return f"{', '.join(labels[:3])}, …, {labels[-1]} ({fmt_num(len(labels))})"


def coverage_warning(ds: dict[str, Any]) -> None:
    """A partial latest release: which regencies each period lacks, by name."""
    gaps = sr.coverage_gaps(ds)
    if not gaps:
        return
    lines = []
    for gap in gaps:
        regions = md(sr.region_names(gap["regencies"]))
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
        ("f_updated", sr.format_time(ds.get("updated"))),
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


def citation(ds: dict[str, Any], version: str | None, url: str, lang: str | None = None
             ) -> str:
    """``Producer (year). Title (version X) [Dataset]. Walidata. URL. Accessed date.``"""
    lang = lang or current_lang()
    producers = "; ".join(ds.get("produsen_data") or []) or ds.get("walidata") or "Satu Data Banten"
    year = (ds.get("updated") or "")[:4] or datetime.now(UTC).strftime("%Y")
    title = pick(ds.get("title"), lang) or ds["slug"]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    return t(
        "citation_format",
        lang,
        producers=producers,
        year=year,
        title=title,
        version=version or "—",
        publisher=ds.get("walidata") or "Satu Data Banten",
        url=url,
        date=today,
    )


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
            version_url = sr.version_url(ds["slug"], entry["version"], "datapackage.json",
                                         app_base_url())
            st.markdown(t("cite_as"))
            st.code(citation(ds, entry["version"], version_url), language=None,
                    wrap_lines=True)
        if url:
            st.caption(t("licence_link", url=url))


def downloads(site: Path, ds: dict[str, Any], entry: dict[str, Any]) -> None:
    slug, version = ds["slug"], entry["version"]
    files = sr.version_files(ds, entry, site)
    folder = sr.resolve_in_site(site, f"datasets/{slug}/{version}")
    sums = cache.sha256sums(str(folder), sr.file_signature(folder / "SHA256SUMS")) if (
        folder is not None) else {}
    missing = []
    with st.container(horizontal=True):
        for fmt in DOWNLOAD_ORDER:
            info = files.get(fmt)
            if info is None:
                continue
            path = sr.resolve_in_site(site, info["path"])
            present = path is not None and path.is_file()
            if not present:
                missing.append(fmt)
            size = fmt_bytes(info.get("bytes"))
            st.download_button(
                t(f"download_{fmt}") + (f" ({size})" if size else ""),
                data=partial(sr.read_bytes, path) if present else b"",
                file_name=info["name"] if fmt == "datapackage" else f"{slug}.{fmt}",
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
    present = [fmt for fmt in DOWNLOAD_ORDER if fmt in files and fmt not in missing]
    st.markdown(t("stable_url"))
    st.code("\n".join(sr.stable_url(slug, fmt, base) for fmt in present) or "—",
            language=None, wrap_lines=True)
    st.markdown(t("version_url", version=md(version)))
    st.code(
        "\n".join(sr.version_url(slug, version, files[fmt]["name"], base) for fmt in present)
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
    csv_url = sr.stable_url(slug, "csv", base)
    names = {c.get("name") for c in ds.get("columns") or []}
    codes = sorted(n for n in names if n and str(n).startswith("kode_"))
    st.markdown(t("snippets"))
    if not base:
        st.caption(t("snippets_relative"))
    curl_tab, py_tab, r_tab = st.tabs(["curl", "Python (pandas)", "R"])
    folder = sr.static_url(f"datasets/{slug}/latest/", base)
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


def page_key(slug: str) -> str:
    return f"page:{slug}"


def step_page(slug: str, delta: int, pages: int) -> None:
    key = page_key(slug)
    st.session_state[key] = min(max(int(st.session_state.get(key, 1)) + delta, 1), pages)


def preview(ds: dict[str, Any], entry: dict[str, Any], ref: cache.ParquetRef | None) -> None:
    """One page (50 rows) of the published Parquet, with paging."""
    slug, version = ds["slug"], entry["version"]
    if ref is None:
        st.warning(t("file_missing", fmt="Parquet", version=md(version)))
        return
    try:
        total = cache.count(ref)
        pages = sr.page_count(total)
        key = page_key(slug)
        current = int(st.session_state.get(key, 1))
        if not 1 <= current <= pages:
            st.session_state[key] = min(max(current, 1), pages)
        number = int(st.session_state.get(key, 1))
        frame = cache.page(ref, number)
    except Exception as exc:  # a corrupt file must not take the page down
        st.warning(t("preview_failed", error=md(exc)))
        return
    height = min(PREVIEW_HEIGHT, 35 * (len(frame) + 1) + 3)
    st.dataframe(style_numbers(frame), hide_index=True, width="stretch", height=height)
    first = (number - 1) * sr.PAGE_SIZE + 1 if total else 0
    last = min(number * sr.PAGE_SIZE, total)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(t("preview_caption", first=fmt_num(first), last=fmt_num(last),
                     total=fmt_num(total), version=md(version)))
        st.space("stretch")
        st.button(t("page_prev"), key="page_prev", on_click=step_page, args=(slug, -1, pages),
                  disabled=number <= 1, icon=":material/chevron_left:", type="tertiary")
        st.number_input(
            t("page_label", pages=fmt_num(pages)),
            min_value=1,
            max_value=pages,
            step=1,
            key=key,
            width=150,
            label_visibility="collapsed",
        )
        st.caption(t("page_of" if pages > 1 else "page_of_one", pages=fmt_num(pages)))
        st.button(t("page_next"), key="page_next", on_click=step_page, args=(slug, 1, pages),
                  disabled=number >= pages, icon=":material/chevron_right:", type="tertiary")


def measure_label(ds: dict[str, Any], measure: str, lang: str | None = None) -> str:
    if measure == sr.COUNT_MEASURE:
        return t("measure_count", lang, unit=ds.get("unit") or t("rows_word", lang))
    return column_label(ds, measure, lang)


def preferred_measures(ds: dict[str, Any], measures: tuple[str, ...]) -> list[str]:
    """Counts in the dataset's own unit first (jumlah_penduduk before laki_laki)."""
    units = {c.get("name"): c.get("unit") for c in ds.get("columns") or []}
    unit = ds.get("unit")

    def rank(m: str) -> int:
        return 0 if m.startswith("jumlah") and unit and units.get(m) == unit else 1

    return sorted(measures, key=rank)


def _formatted(frame: pd.DataFrame, column: str = "nilai") -> pd.DataFrame:
    return frame.assign(nilai_fmt=[fmt_num(v, 2) for v in frame[column]])


def visualise(site: Path, ds: dict[str, Any], ref: cache.ParquetRef | None) -> None:
    """A chart that fits the data, chosen from its columns (see ``sr.chart_plan``)."""
    if ref is None:
        st.caption(t("chart_none"))
        return
    try:
        plan = sr.chart_plan(cache.schema(ref))
    except Exception as exc:
        st.warning(t("preview_failed", error=md(exc)))
        return
    if plan.is_empty or not plan.measures:
        st.caption(t("chart_none"))
        return
    slug, lang = ds["slug"], current_lang()
    units = {c.get("name"): c.get("unit") for c in ds.get("columns") or []}

    measures = preferred_measures(ds, plan.measures)
    with st.container(horizontal=True):
        measure = measures[0]
        if len(measures) > 1:
            measure = localized_choice(
                t("chart_measure"), measures, f"measure:{slug}",
                lambda m: measure_label(ds, m, lang),
            )
        additive = sr.summable(measure, units.get(measure), ds.get("unit"))
        category = None
        if plan.category:
            # the most frequent first: the default shows the longest series
            values = cache.distinct(ref, plan.category, plan.category_label, by_count=True)
            labels = dict(values)
            options: list[Any] = [v for v, _ in values]
            if additive and plan.category != "indikator":
                options = [None, *options]
            category = localized_choice(
                column_label(ds, plan.category_label or plan.category),
                options,
                f"category:{slug}:{'all' if additive else 'one'}",
                lambda v: t("chart_all_categories", lang) if v is None else labels.get(v, str(v)),
            )
        period = None
        periods: list[Any] = []
        if plan.time and plan.region:
            periods = [v for v, _ in cache.distinct(ref, plan.time, None, plan.category,
                                                    category)]
            if periods:
                period = st.selectbox(
                    t("chart_period"), list(reversed(periods)), key=f"period:{slug}",
                    format_func=str,
                )
    label = measure_label(ds, measure)
    if plan.unit_column and category is not None:
        unit = cache.distinct(ref, plan.unit_column, None, plan.category, category)
        if len(unit) == 1:
            label = f"{label} ({unit[0][0]})"
    if not additive and measure != sr.COUNT_MEASURE and plan.category and category is None:
        st.caption(t("chart_average"))

    tabs = []
    if plan.region and plan.time and len(periods) > 1:
        tabs.append("trend")
    if plan.region:
        tabs += ["regions", "map"]
    if plan.category and plan.category != "indikator":
        tabs.append("categories")
    if plan.has_points:
        tabs.append("points")
    if not tabs:
        st.caption(t("chart_none"))
        return
    containers = dict(zip(tabs, st.tabs([t(f"chart_tab_{k}") for k in tabs]), strict=True))
    time_label = column_label(ds, plan.time) if plan.time else ""
    region_label = t("region")

    if "trend" in containers:
        with containers["trend"]:
            frame = cache.region_series(ref, plan, measure, additive, category, by_time=True)
            frame = _formatted(frame.assign(waktu=frame["waktu"].astype(str)))
            st.altair_chart(
                charts.line_chart(frame, x_title=time_label, y_title=label,
                                  color_title=region_label, lang=lang),
                height=charts.LINE_HEIGHT + 60,
            )
    if "regions" in containers or "map" in containers:
        frame = _formatted(cache.region_series(ref, plan, measure, additive, category, period))
        with containers["regions"]:
            if frame.empty:
                st.caption(t("chart_empty"))
            else:
                st.altair_chart(
                    charts.bar_chart(frame, label_field="nama", label_title=region_label,
                                     value_title=label, lang=lang),
                    height=charts.bar_height(len(frame)) + 50,
                )
                if period is not None:
                    st.caption(t("chart_for_period", period=md(period)))
        with containers["map"]:
            choropleth(site, frame, label, period)
    if "categories" in containers:
        with containers["categories"]:
            frame = cache.category_series(ref, plan, measure, additive, period)
            if frame.empty:
                st.caption(t("chart_empty"))
            else:
                frame = _formatted(frame.assign(kategori=frame["kategori"].astype(str)))
                if not additive and measure != sr.COUNT_MEASURE:
                    st.caption(t("chart_average"))
                st.altair_chart(
                    charts.bar_chart(frame, label_field="kategori",
                                     label_title=column_label(ds, plan.category),
                                     value_title=label, lang=lang),
                    height=charts.bar_height(len(frame)) + 50,
                )
                if period is not None:
                    st.caption(t("chart_for_period", period=md(period)))
    if "points" in containers:
        with containers["points"]:
            point_map(site, ref, plan, category)


def choropleth(site: Path, frame: pd.DataFrame, label: str, period: Any) -> None:
    geo = cache.geojson(site)
    if geo is None:
        st.caption(t("map_no_boundaries"))
        return
    if frame.empty:
        st.caption(t("chart_empty"))
        return
    values = {str(k): (float(v) if v == v and v is not None else None)
              for k, v in zip(frame["kode"], frame["nilai"], strict=True)}
    labels = {str(k): f"{label}: {s}"
              for k, s in zip(frame["kode"], frame["nilai_fmt"], strict=True)}
    st.pydeck_chart(charts.choropleth(geo, values, labels, t("map_no_data")), height=460)
    present = [v for v in values.values() if v is not None]
    if present:
        st.html(charts.legend_html(fmt_num(min(present), 2), fmt_num(max(present), 2),
                                   t("map_no_data")))
    st.caption(t("map_caption", label=md(label)) + (
        " " + t("chart_for_period", period=md(period)) if period is not None else ""))


def point_map(site: Path, ref: cache.ParquetRef, plan: sr.ChartPlan, category: Any) -> None:
    frame = cache.points(ref, plan, category)
    if frame.empty:
        st.caption(t("chart_empty"))
        return
    categories = ([str(v) for v, _ in cache.distinct(ref, plan.category)] if plan.category
                  else [])
    shown_categories = {str(c) for c in frame["kategori"].dropna()}
    st.pydeck_chart(charts.point_map(cache.geojson(site), frame, categories), height=460)
    if categories:
        swatches = " ".join(
            f'<span style="white-space:nowrap;margin-right:12px">'
            f'<span style="display:inline-block;width:11px;height:11px;border-radius:50%;'
            f'background:rgb{tuple(charts.category_color(i)[:3])}"></span> {escape(c)}</span>'
            for i, c in enumerate(categories) if c in shown_categories
        )
        st.html(f'<div style="font-size:0.85rem">{swatches}</div>')
    total = cache.count_where(ref, plan.category, category)
    shown = len(frame)
    st.caption(t("points_caption", shown=fmt_num(shown), total=fmt_num(total)))


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


def rule_text(failure: dict[str, Any]) -> str:
    """A failed rule in words, in the page's language: the suite's own description for a
    query rule, else the rule type's translation (with its range when it has one), else
    the rule type as GX names it."""
    expectation = str(failure.get("expectation") or "")
    if expectation.startswith("unexpected_rows") and failure.get("description"):
        return md(failure["description"])
    kwargs = failure.get("kwargs") or {}
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    plain = (low is None or isinstance(low, int | float)) and (
        high is None or isinstance(high, int | float))
    if expectation.endswith("_to_be_between") and plain and (low is not None
                                                            or high is not None):
        what = t("rule_what_rows") if "table_row_count" in expectation else t(
            "rule_what_values")
        if low is not None and high is not None:
            return t("rule_between", what=what, low=fmt_num(low), high=fmt_num(high))
        if low is not None:
            return t("rule_at_least", what=what, low=fmt_num(low))
        return t("rule_at_most", what=what, high=fmt_num(high))
    key = f"rule_{expectation}"
    if has(key):
        return t(key)
    return md(failure.get("description") or expectation or "—")


def examples_text(examples: Any, limit: int = 5) -> str:
    """Failing examples as the summary publishes them (masked values, or row positions
    for a dataset with personal data), as code; "" when there are none to show."""
    shown = []
    for value in (examples if isinstance(examples, list) else [])[:limit]:
        if value is None:
            continue   # an empty value: the rule's text already says so
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        shown.append(code(value))
    return t("quality_examples", values=", ".join(shown)) if shown else ""


def quality_section(site: Path, ds: dict[str, Any]) -> None:
    summary = cache.quality_summary(site)
    known = set(((summary or {}).get("datasets") or {}).keys())
    sources = sr.source_datasets(ds, known)
    result = sr.quality_for(summary, sources)
    if not result["found"]:
        st.caption(t("quality_none"))
    else:
        with st.container(horizontal=True):
            st.metric(t("quality_score"), fmt_num(result["score"]) if result["score"] is not None
                      else "—", border=True)
            st.metric(t("quality_evaluated"), fmt_num(result["evaluated"]), border=True)
            st.metric(t("quality_failures"), fmt_num(len(result["failures"])), border=True)
        st.caption(t("quality_explained", when=sr.format_time((summary or {}).get(
            "generated_at"))))
        if result["failures"]:
            lines = []
            for f in result["failures"][:100]:
                severity = f.get("severity")
                label = t(f"severity_{severity}") if has(f"severity_{severity}") else severity
                icon = ":red[:material/error:]" if severity == "critical" else (
                    ":orange[:material/warning:]")
                where = " · ".join(
                    x for x in (
                        f"**{md(f.get('nama_wilayah') or f.get('regency') or '—')}**",
                        code(f.get("column")) if f.get("column") else "",
                        md(label or ""),
                        t("rows_short", rows=fmt_num(f.get("unexpected_count")))
                        if f.get("unexpected_count") is not None else "",
                    ) if x
                )
                shown = examples_text(f.get("examples"))
                lines.append(f"- {icon} {where}  \n  {rule_text(f)}"
                             + (f" ({shown})" if shown else ""))
            st.markdown("\n".join(lines))
        else:
            st.success(t("quality_all_passed"), icon=":material/check_circle:")
    data_docs = sr.data_docs_url(site)
    if data_docs:
        st.markdown(t("quality_data_docs", url=data_docs))

    st.markdown(f"**{t('lineage')}**")
    model = ds.get("model")
    feed_rows = sr.feeds_for(summary, sources)
    chain = [t("lineage_feeds", n=len(feed_rows)) if feed_rows else t("lineage_regencies")]
    chain += [f"`raw.{s}`" for s in sources] or []
    chain += [f"`stg_{s}`" for s in sources]
    if model:
        chain.append(code(model))
    chain.append(t("lineage_release"))
    st.markdown(" → ".join(chain))
    docs = sr.dbt_docs_url(model)
    if docs and (site / sr.DBT_DOCS).is_file():
        st.markdown(t("lineage_docs", url=docs, model=md(model)))
    if feed_rows:
        table = pd.DataFrame(
            {
                t("feed"): [f.get("feed_id") for f in feed_rows],
                t("region"): [f.get("nama_wilayah") or f.get("regency") for f in feed_rows],
                t("channel"): [f.get("channel") for f in feed_rows],
                t("last_period"): [f.get("last_accepted_period") or "—" for f in feed_rows],
            }
        )
        st.dataframe(table, hide_index=True, width="stretch")


def version_history(ds: dict[str, Any]) -> None:
    base = app_base_url()
    for i, entry in enumerate(ds.get("versions") or []):
        line = t(
            "version_line",
            version=md(entry["version"]),
            rows=rows_label(entry.get("rows")),
            published=sr.format_time(entry.get("published_at")),
        )
        if entry["version"] == ds.get("latest_version") or (
            i == 0 and not ds.get("latest_version")
        ):
            line += f" :green-badge[{t('latest_tag')}]"
        if entry.get("partial"):
            line += f" :red-badge[{t('version_partial')}]"
        changelog = pick(entry.get("changelog"))
        links = " · ".join(
            f"[{md(f.get('format', '').upper())}]({sr.static_url(f['path'], base)})"
            for f in entry.get("files") or [] if isinstance(f, dict) and f.get("path")
        )
        st.markdown(
            line
            + (f"  \n{md(changelog)}" if changelog else "")
            + (f"  \n{t('versioned_files')} {links}" if links else "")
        )


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
    description = pick(ds.get("description"))
    if description:
        st.markdown(md(description))
    coverage_warning(ds)

    entry = sr.latest_version_entry(ds)
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
        preview(ds, entry, ref)
    with tabs["chart"]:
        try:
            visualise(site, ds, ref)
        except Exception as exc:  # e.g. a file replaced under our feet: say so, keep the page
            st.warning(t("chart_failed", error=md(exc)))
    with tabs["download"]:
        downloads(site, ds, entry)
    with tabs["dictionary"]:
        data_dictionary(ds)
    with tabs["quality"]:
        quality_section(site, ds)
    with tabs["versions"]:
        version_history(ds)


# --- about / API -------------------------------------------------------------------------


def render_about(site: Path, catalog: dict[str, Any] | None) -> None:
    st.title(t("about_title"), anchor=False)
    st.markdown(t("about_intro"))
    base = app_base_url()
    data_json = sr.static_url(sr.DATA_JSON, base)
    bulk = ((catalog or {}).get("downloads") or {}).get("bulk_zip")
    bulk_path = bulk.get("path") if isinstance(bulk, dict) else sr.BULK_ZIP
    bulk_url = sr.static_url(bulk_path or sr.BULK_ZIP, base)

    st.subheader(t("about_harvest"), anchor=False)
    st.markdown(t("about_harvest_text", url=data_json))
    st.code(data_json, language=None)
    st.markdown(t("about_ckan"))
    st.code(
        "# ckan.ini\nckan.plugins = ... harvest datajson_harvest\n\n"
        f"# Harvest source (type: data.json)\nurl: {data_json}",
        language="ini",
    )
    if not (site / sr.DATA_JSON).is_file():
        st.caption(t("about_not_yet"))

    st.subheader(t("about_bulk"), anchor=False)
    size = fmt_bytes(bulk.get("bytes")) if isinstance(bulk, dict) else ""
    st.markdown(t("about_bulk_text", size=f" ({size})" if size else ""))
    st.code(f"curl -fLO {bulk_url}", language="bash")

    st.subheader(t("about_urls"), anchor=False)
    st.markdown(t("about_urls_text"))
    example = next((ds for ds in (catalog or {}).get("datasets") or []
                    if sr.is_published(ds)), None)
    slug = example["slug"] if example else "<slug>"
    st.code(
        "\n".join(
            [
                sr.static_url("catalog.json", base),
                sr.static_url(f"datasets/{slug}/latest/{slug}.csv", base),
                sr.static_url(f"datasets/{slug}/latest/{slug}.xlsx", base),
                sr.static_url(f"datasets/{slug}/latest/{slug}.json", base),
                sr.static_url(f"datasets/{slug}/latest/{slug}.parquet", base),
                sr.static_url(f"datasets/{slug}/latest/datapackage.json", base),
                sr.static_url(f"datasets/{slug}/latest/SHA256SUMS", base),
                sr.static_url(f"datasets/{slug}/{t('version_placeholder')}/{slug}.csv", base),
            ]
        ),
        language=None,
        wrap_lines=True,
    )

    st.subheader(t("about_cite"), anchor=False)
    st.markdown(t("about_cite_text"))
    if example:
        url = sr.version_url(slug, example["latest_version"], "datapackage.json", base)
        st.code(citation(example, example["latest_version"], url), language=None,
                wrap_lines=True)

    st.subheader(t("about_licence"), anchor=False)
    st.markdown(t("about_licence_text"))

    st.subheader(t("about_privacy"), anchor=False)
    st.markdown(t("about_privacy_text"))


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(
        page_title="Satu Data Banten", page_icon="📊", layout="wide"
    )
    route, slug = current_route()
    header(route)
    site = sr.site_dir()
    try:
        catalog = cache.catalog(site)
    except sr.CatalogError as exc:
        st.title(t("app_title"), anchor=False)
        st.error(t("catalog_unreadable", error=md(exc)))
        return
    if route == "about":
        render_about(site, catalog)
    elif route == "officials":
        from app import officials

        officials.render(site, catalog)
    elif route == "dataset" and slug:
        render_dataset(site, catalog, slug)
    else:
        render_home(site, catalog)


main()
