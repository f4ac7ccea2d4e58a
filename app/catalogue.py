"""Satu Data Banten: the public data catalogue (``satudata serve``), entry point and
routing only.

Reads only the published site folder (see ``app/site_reader/``); never the warehouse.

Routing is URL-driven, so every page can be linked and reloaded (app/navigation.py):
- ``?page=about`` the about / API page, ``?page=officials`` the officials' view (login);
- ``?dataset=<slug>`` a dataset page; no parameter: the home page (search and facets).
- ``?lang=id|en`` picks the UI language (default Indonesian). The language switch is a
  segmented control with key ``lang``: the choice lives in ``st.session_state["lang"]``
  and is mirrored into the ``lang`` query parameter (see ``language_switch``).
Navigation buttons change the query parameters in callbacks (no full page reload), so
the session (search text, facets, login) survives moving between pages.

Each page is a module of ``app/views/`` (home, dataset and its tabs, about, officials).
The folder is not called ``pages/``: Streamlit treats a ``pages/`` folder beside the
main script as a multipage app (every ``.py`` in it becomes a page in the sidebar).
"""

from __future__ import annotations

import streamlit as st

from app import cache
from app.i18n import DEFAULT_LANG, LANG_KEY, LANG_LABELS, LANGS, current_lang, normalize_lang, t
from app.navigation import DATASET_PARAM, PAGE_PARAM, PAGES, go
from app.site_reader import catalog as catalog_file
from app.site_reader import files
from app.text import md
from app.views import about, dataset, home


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


def main() -> None:
    st.set_page_config(
        page_title="Satu Data Banten", page_icon="📊", layout="wide"
    )
    route, slug = current_route()
    header(route)
    site = files.site_dir()
    try:
        catalog = cache.catalog(site)
    except catalog_file.CatalogError as exc:
        st.title(t("app_title"), anchor=False)
        st.error(t("catalog_unreadable", error=md(exc)))
        return
    if route == "about":
        about.render(site, catalog)
    elif route == "officials":
        from app.views import officials

        officials.render(site, catalog)
    elif route == "dataset" and slug:
        dataset.render(site, catalog, slug)
    else:
        home.render(site, catalog)


main()
