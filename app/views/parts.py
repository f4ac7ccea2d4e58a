"""Pieces more than one page shows: a dataset's badges and licence link, its citation,
row counts, and the app's own URL (the base of every link to the published site)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from app.i18n import current_lang, fmt_num, frequency_label, pick, t, theme_label
from app.site_reader import coverage
from app.text import md
from flows.common.licences import LICENSE_URLS


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
    if coverage.is_partial(ds):
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
