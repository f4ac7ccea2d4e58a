"""The dataset page's preview tab: one page (50 rows) of the published Parquet at a
time, with paging."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import cache
from app.i18n import fmt_num, style_numbers, t
from app.site_reader import parquet
from app.text import md

PREVIEW_HEIGHT = 460


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
        pages = parquet.page_count(total)
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
    first = (number - 1) * parquet.PAGE_SIZE + 1 if total else 0
    last = min(number * parquet.PAGE_SIZE, total)
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
