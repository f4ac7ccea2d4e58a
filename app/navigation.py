"""URL-driven navigation: the query parameters that pick a page (`?page=`, `?dataset=`)
and the callbacks of the navigation buttons, which rewrite them without a page reload
(so the session survives). app/catalogue.py reads the route from the same parameters."""

from __future__ import annotations

import streamlit as st

from app.i18n import t

DATASET_PARAM = "dataset"
PAGE_PARAM = "page"
PAGES = ("about", "officials")


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
