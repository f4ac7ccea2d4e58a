"""The home page (no `?page=`/`?dataset=`): the search box, the facets in the sidebar,
the newest and most complete datasets, and one card per dataset found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app import cache
from app.i18n import current_lang, fmt_num, frequency_label, pick, t, theme_label
from app.navigation import open_dataset
from app.site_reader import catalog as catalog_file
from app.site_reader import search
from app.site_reader.quality import completeness
from app.text import format_date, format_time, md, one_line
from app.views.parts import badges, rows_label
from app.widgets import localized_choice

SEARCH_KEY = "q"
SORT_KEY = "sort"
HIGHLIGHTS = 3


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
    options = {facet: search.facet_options(datasets, facet) for facet in search.FACETS}
    selected = {
        facet: [v for v in values if st.session_state.get(facet_key(facet, v))]
        for facet, values in options.items()
    }
    with st.sidebar:
        st.header(t("facets"), anchor=False)
        for facet in search.FACETS:
            if not options[facet]:
                continue
            counts = search.facet_counts(found, selected, facet)
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
        return sorted(by_title, key=lambda ds: completeness(ds, quality), reverse=True)
    return by_title


def highlights(datasets: list[dict[str, Any]], quality: dict | None) -> None:
    """Newest and most complete datasets, side by side."""
    published = [ds for ds in datasets if catalog_file.is_published(ds)]
    if not published:
        return
    lang = current_lang()
    newest = sort_datasets(published, "newest", quality, lang)[:HIGHLIGHTS]
    complete = sort_datasets(published, "complete", quality, lang)[:HIGHLIGHTS]
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**:material/new_releases: {t('newest')}**")
        for ds in newest:
            highlight_link(ds, "new", t("updated_on", when=format_date(ds.get("updated"))))
    with right, st.container(border=True):
        st.markdown(f"**:material/verified: {t('most_complete')}**")
        for ds in complete:
            score, rows = completeness(ds, quality)
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


def render(site: Path, catalog: dict[str, Any] | None) -> None:
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
    searched = search.search_datasets(datasets, query)
    selected = facets_sidebar(datasets, searched)
    filtering = bool(query) or any(selected.values())
    if not filtering:
        highlights(datasets, quality)

    found = search.filter_facets(searched, selected)
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
        st.caption(t("catalog_generated", when=format_time(generated)))


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
        if catalog_file.is_published(ds):
            formats = " · ".join(f.upper() for f in search.dataset_formats(ds))
            meta = (
                f"{t('latest_version')}: **{md(ds['latest_version'])}** · "
                f"{t('updated')} {format_time(ds.get('updated'))} · "
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
