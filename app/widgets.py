"""Widgets shared by the catalogue's pages."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.i18n import current_lang


def localized_choice(label: str, options: list[Any], key: str, format_func: Any,
                     kind: str = "selectbox", **kwargs: Any) -> Any:
    """A selectbox (or segmented control) whose option labels depend on the language.

    The browser keeps showing the old label when the labels of a widget change, so the
    widget key carries the language; the chosen value is remembered under ``key`` and
    preselected in the other language's widget."""
    lang = current_lang()
    remembered = st.session_state.get(key)
    index = options.index(remembered) if remembered in options else 0
    widget_key = f"{key}@{lang}"
    if kind == "segmented":
        value = st.segmented_control(label, options, default=options[index], key=widget_key,
                                     format_func=format_func, required=True, **kwargs)
    else:
        value = st.selectbox(label, options, index=index, key=widget_key,
                             format_func=format_func, **kwargs)
    st.session_state[key] = value
    return value
