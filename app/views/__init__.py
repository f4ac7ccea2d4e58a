"""The catalogue's pages, one module each, rendered by app/catalogue.py's routing:
`home` (search, facets, cards), `dataset` (the dataset page, with its tabs in
`preview_tab`, `chart_tab`, `downloads_tab`, `quality_tab`), `about`, `officials`
(behind a log-in); `parts` holds the pieces several pages show.

Why `views/` and not `pages/`: Streamlit treats a folder named `pages/` beside the main
script (app/catalogue.py) as a version-1 multipage app. In Streamlit 1.67,
`PagesManager` sets `uses_pages_directory` when `<main script folder>/pages` exists, and
the script runner then wraps the app in `st.navigation` with every `*.py` of that folder
(except `__init__.py`) as a page in the sidebar: these modules would appear as pages
and run as scripts on their own.
"""
