"""The officials' view (``?page=officials``): behind a log-in.

The session is a signed cookie set by the log-in page (app/login_routes.py, checked in
app/sessions.py), so it survives a refresh. Before log-in the public sees the page
title and a button to the log-in page, or, with no account configured, a short notice
to contact the walidata: no set-up instructions, paths or user names (those are in the
README and the server's log).

After login: the submission scoreboard (regency x dataset) from ``feeds.json`` and
``submissions.json``, the recent pipeline runs (``runs.json``), all in the internal tree
(``$SATUDATA_INTERNAL/meta/``, never served over HTTP, read here on the server), and a
province overview (population, complaints per 10,000 residents, service-level share)
computed with DuckDB from the published Parquet files. Nothing of it is read or rendered
before login.
"""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import auth, cache, charts, login_routes, sessions
from app.i18n import (
    current_lang,
    fmt_duration,
    fmt_num,
    frequency_label,
    has,
    pick,
    style_numbers,
    t,
)
from app.site_reader.catalog import latest_version_entry
from app.site_reader.internal import internal_dir
from app.site_reader.overview import COMPLAINT_COLUMNS, POPULATION_COLUMNS, find_by_columns
from app.site_reader.releases import data_docs_url
from app.text import format_time, md
from app.widgets import localized_choice

# Cell colours of the scoreboard (text says the same: colour is never the only signal).
STATUS_STYLES = {
    "on_time": "background-color: #e6f4ea; color: #14532d",
    "late": "background-color: #fff1d6; color: #7c4a03",
    "never": "background-color: #fde2e1; color: #7f1d1d",
}
QUARANTINE_LIST = 50
OVERVIEW_METRIC_KEY = "overview_metric"
log = logging.getLogger(__name__)
_WARNED: set[tuple[str, ...]] = set()


def _log_invalid_entries() -> None:
    """Tell the operator (server log, once per set of names) which secrets entries are
    ignored: the page itself says nothing about the configuration to the public."""
    bad = tuple(auth.invalid_entries())
    if bad and bad not in _WARNED:
        _WARNED.add(bad)
        log.warning("officials' view: [officials.users] entries %s are not PBKDF2 hashes "
                    "and are ignored (create one with `satudata hash-password`)",
                    ", ".join(bad))


_LINK_STYLE = ("display:inline-block;padding:.4rem .9rem;border-radius:.5rem;"
               "text-decoration:none;font-weight:600;border:1px solid #d0d4da;")
_PRIMARY = "background:#ff4b4b;color:#fff;border-color:#ff4b4b;"


def same_tab_link(label: str, url: str, *, primary: bool = False) -> None:
    """A button-like link that opens in this tab (`st.link_button` always opens a new
    one): the log-in and log-out pages are the server's own, and come back here."""
    style = _LINK_STYLE + (_PRIMARY if primary else "color:inherit;")
    st.html(f'<a href="{escape(url)}" style="{style}" data-testid="officials-link">'
            f"{escape(label)}</a>", width="content")


def render(site: Path, catalog: dict[str, Any] | None) -> None:
    """The officials' page: the login (or the notice), and after login the dashboard."""
    st.title(t("officials_title"), anchor=False)
    _log_invalid_entries()
    users = auth.configured_users()
    if not users:
        st.info(t("officials_no_users"), icon=":material/lock:")
        return
    login_url, logout_url, _ = login_routes.route_paths(st.get_option("server.baseUrlPath"))
    lang = current_lang()
    user = sessions.current_user(users)
    if user is None:
        if sessions.request_cookies().get(sessions.COOKIE):
            st.info(t("login_expired"), icon=":material/timer_off:")
        st.caption(t("officials_login_needed"))
        same_tab_link(t("login_title"), f"{login_url}?lang={lang}", primary=True)
        return

    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(t("logged_in_as", user=md(user)))
        st.space("stretch")
        same_tab_link(t("logout"), f"{logout_url}?lang={lang}")

    internal = internal_dir()   # only now, for a logged-in official
    overview, scoreboard_tab, runs_tab = st.tabs(
        [t("tab_overview"), t("tab_scoreboard"), t("tab_runs")]
    )
    with scoreboard_tab:
        scoreboard(site, internal)
    with runs_tab:
        recent_runs(internal)
    with overview:
        try:
            province_overview(site, catalog)
        except Exception as exc:  # a damaged or vanished file must not hide the rest
            st.warning(t("chart_failed", error=md(exc)))


# --- scoreboard -------------------------------------------------------------------------



def dataset_name(name: str) -> str:
    key = f"source_{name}"
    return t(key) if has(key) else name


def quality_text(q: Any) -> str:
    if not isinstance(q, dict):
        return "—"
    return t("quality_cell", passed=fmt_num(q.get("passed", 0)),
             failed=fmt_num(q.get("failed", 0)), warnings=fmt_num(q.get("warnings", 0)))


def scoreboard(site: Path, internal: Path) -> None:
    """Timeliness per regency x dataset, details per feed and the quarantined files with
    their reasons, from the internal tree; `site` only for the Data Docs link."""
    feeds_doc = cache.internal(internal, "feeds")
    feeds = [f for f in (feeds_doc or {}).get("feeds") or [] if isinstance(f, dict)]
    if not feeds:
        st.info(t("scoreboard_none"), icon=":material/hourglass_empty:")
        return
    states = [f.get("timeliness") for f in feeds]
    quarantined = sum(int(f.get("quarantined_files") or 0) for f in feeds)
    with st.container(horizontal=True):
        st.metric(t("state_on_time"), fmt_num(states.count("on_time")), border=True)
        st.metric(t("state_late"), fmt_num(states.count("late")), border=True)
        st.metric(t("state_never"), fmt_num(states.count("never")), border=True)
        st.metric(t("quarantined_files"), fmt_num(quarantined), border=True)

    st.subheader(t("scoreboard"), anchor=False)
    datasets = sorted({str(f.get("dataset")) for f in feeds})
    regions = sorted({(str(f.get("regency")), f.get("nama_wilayah") or str(f.get("regency")))
                      for f in feeds})
    cells: dict[tuple[str, str], str] = {}
    styles: dict[tuple[str, str], str] = {}
    for f in feeds:
        state = f.get("timeliness") if f.get("timeliness") in STATUS_STYLES else "never"
        period = f.get("last_accepted_period") or "—"
        text = {"on_time": period, "late": f"{t('state_late')}: {period}",
                "never": t("state_never")}[state]
        q = f.get("last_quality")
        if isinstance(q, dict) and (q.get("failed") or q.get("warnings")):
            text += f" · {t('quality_flag')}"
        if f.get("quarantined_files"):
            text += " · " + t("quarantined_cell", n=fmt_num(int(f["quarantined_files"])))
        key = (str(f.get("regency")), str(f.get("dataset")))
        cells[key], styles[key] = text, STATUS_STYLES[state]
    columns = {dataset_name(d): d for d in datasets}
    table = pd.DataFrame(
        {
            t("region"): [name for _, name in regions],
            **{label: [cells.get((kode, d), "") for kode, _ in regions]
               for label, d in columns.items()},
        }
    )
    css = pd.DataFrame("", index=table.index, columns=table.columns)
    for label, d in columns.items():
        css[label] = [styles.get((kode, d), "") for kode, _ in regions]
    st.dataframe(table.style.apply(lambda _: css, axis=None), hide_index=True,
                 width="stretch", key="scoreboard")
    st.caption(t("scoreboard_legend"))
    st.caption(t("status_generated", when=format_time((feeds_doc or {}).get("generated_at"))))

    st.subheader(t("scoreboard_details"), anchor=False)
    details = pd.DataFrame(
        {
            t("region"): [f.get("nama_wilayah") or f.get("regency") for f in feeds],
            t("dataset"): [dataset_name(str(f.get("dataset"))) for f in feeds],
            t("channel"): [f.get("channel") or "—" for f in feeds],
            t("f_frequency"): [frequency_label(f.get("frequency"), with_code=False)
                               for f in feeds],
            t("last_period"): [f.get("last_accepted_period") or "—" for f in feeds],
            t("last_accepted"): [format_time(f.get("last_accepted_at")) for f in feeds],
            t("timeliness"): [t(f"state_{f.get('timeliness')}")
                              if has(f"state_{f.get('timeliness')}") else "—" for f in feeds],
            t("last_quality"): [quality_text(f.get("last_quality")) for f in feeds],
            t("quarantined_files"): [fmt_num(int(f.get("quarantined_files") or 0))
                                     for f in feeds],
        }
    )
    st.dataframe(details, hide_index=True, width="stretch", key="scoreboard_details")

    st.subheader(t("quarantine"), anchor=False)
    data_docs = data_docs_url(site)
    if data_docs:
        st.markdown(t("officials_data_docs", url=data_docs))
    subs_doc = cache.internal(internal, "submissions")
    rows = [s for s in (subs_doc or {}).get("submissions") or []
            if isinstance(s, dict) and s.get("status") == "quarantined"]
    if not rows:
        st.success(t("quarantine_none"), icon=":material/check_circle:")
        return
    lines = []
    for row in rows[:QUARANTINE_LIST]:
        where = " · ".join(
            x for x in (
                format_time(row.get("received_at")),
                f"**{md(row.get('nama_wilayah') or row.get('regency') or '—')}**",
                md(dataset_name(str(row.get("dataset")))),
                f"`{str(row.get('file_name') or '—').replace('`', '')}`",
            ) if x
        )
        lines.append(f"- {where}  \n  {md(row.get('reason') or '—')}")
    st.markdown("\n".join(lines))
    if len(rows) > QUARANTINE_LIST:
        st.caption(t("quarantine_more", n=fmt_num(len(rows) - QUARANTINE_LIST)))


# --- runs -------------------------------------------------------------------------------


def recent_runs(internal: Path) -> None:
    """The newest pipeline runs, from the internal tree."""
    doc = cache.internal(internal, "runs")
    runs = [r for r in (doc or {}).get("runs") or [] if isinstance(r, dict)]
    if not runs:
        st.info(t("runs_none"), icon=":material/hourglass_empty:")
        return
    last = runs[0]
    status = str(last.get("status") or "")
    with st.container(horizontal=True):
        st.metric(t("run_last"), t(f"run_{status}") if has(f"run_{status}") else status,
                  border=True)
        st.metric(t("run_duration"), fmt_duration(last.get("duration_s")), border=True)
        st.metric(t("run_rows"), fmt_num(last.get("rows_accepted")), border=True)
    table = pd.DataFrame(
        {
            t("run_started"): [format_time(r.get("started_at")) for r in runs],
            t("run_status"): [
                t(f"run_{r.get('status')}") if has(f"run_{r.get('status')}")
                else str(r.get("status"))
                for r in runs
            ],
            t("run_duration"): [fmt_duration(r.get("duration_s")) for r in runs],
            t("run_files"): [
                t("run_files_cell", accepted=fmt_num(r.get("files_accepted") or 0),
                  quarantined=fmt_num(r.get("files_quarantined") or 0))
                for r in runs
            ],
            t("run_rows"): [fmt_num(r.get("rows_accepted")) for r in runs],
            t("run_published"): [
                ", ".join(f"{p.get('slug')} {p.get('version') or ''}".strip()
                          for p in r.get("published") or [] if isinstance(p, dict)) or "—"
                for r in runs
            ],
            t("run_errors"): ["; ".join(str(e) for e in r.get("errors") or []) or "—"
                              for r in runs],
        }
    )
    status = t("run_status")
    colours = [STATUS_STYLES["on_time"] if r.get("status") == "completed"
               else STATUS_STYLES["late"] if r.get("status") == "running"
               else STATUS_STYLES["never"] for r in runs]
    styled = table.style.apply(lambda column: colours if column.name == status
                               else [""] * len(column))
    st.dataframe(styled, hide_index=True, width="stretch", key="runs")
    st.caption(t("status_generated", when=format_time((doc or {}).get("generated_at"))))


# --- province overview --------------------------------------------------------------------


def _ref(site: Path, ds: dict[str, Any] | None) -> cache.ParquetRef | None:
    if ds is None:
        return None
    entry = latest_version_entry(ds)
    return cache.parquet_ref(site, ds, entry) if entry else None


def province_overview(site: Path, catalog: dict[str, Any] | None) -> None:
    pop_ds = find_by_columns(catalog, POPULATION_COLUMNS, "penduduk")
    adu_ds = find_by_columns(catalog, COMPLAINT_COLUMNS, "aduan")
    pop_ref, adu_ref = _ref(site, pop_ds), _ref(site, adu_ds)
    period, population = cache.population(pop_ref) if pop_ref else (None, pd.DataFrame())
    span, complaints = cache.complaints(adu_ref) if adu_ref else (None, pd.DataFrame())
    if population.empty and complaints.empty:
        st.info(t("overview_none"), icon=":material/hourglass_empty:")
        return

    frame = _overview_frame(population, complaints)
    total_pop = float(frame["penduduk"].sum()) if "penduduk" in frame else 0.0
    with st.container(horizontal=True):
        if not population.empty:
            st.metric(t("ov_population", period=period), fmt_num(int(total_pop)), border=True)
        if not complaints.empty:
            received = float(frame["diterima"].sum())
            st.metric(t("ov_complaints", start=span[0], end=span[1]), fmt_num(int(received)),
                      border=True)
            if total_pop:
                st.metric(t("ov_per_10000"), fmt_num(received / total_pop * 10_000, 1),
                          border=True)
            done = float(frame["selesai"].sum())
            weighted = (frame["persen_tepat_waktu"] * frame["selesai"]).sum()
            if done:
                st.metric(t("ov_service_level"), fmt_num(weighted / done, 1, strip=False) + " %",
                          border=True)

    metrics = [m for m in ("penduduk", "per_10000", "persen_tepat_waktu")
               if m in frame and frame[m].notna().any()]
    lang = current_lang()
    metric = localized_choice(
        t("ov_map_metric"), metrics, OVERVIEW_METRIC_KEY,
        lambda m: t(f"ov_metric_{m}", lang), kind="segmented",
    ) if metrics else None
    geo = cache.geojson(site)
    if metric and geo is not None:
        values = {str(k): (float(v) if v == v else None)
                  for k, v in zip(frame["kode"], frame[metric], strict=True)}
        decimals = 0 if metric == "penduduk" else 1
        suffix = " %" if metric == "persen_tepat_waktu" else ""
        labels = {k: f"{t(f'ov_metric_{metric}')}: {fmt_num(v, decimals, strip=False)}{suffix}"
                  for k, v in values.items()}
        st.pydeck_chart(charts.choropleth(geo, values, labels, t("map_no_data")), height=460,
                        key="overview_map")
        present = [v for v in values.values() if v is not None]
        if present:
            st.html(charts.legend_html(fmt_num(min(present), decimals),
                                       fmt_num(max(present), decimals), t("map_no_data")))
    elif geo is None:
        st.caption(t("map_no_boundaries"))

    columns: dict[str, Any] = {t("region"): frame["nama"]}
    decimals: dict[str, int] = {}
    suffix: dict[str, str] = {}
    if "penduduk" in frame:
        name = t("ov_metric_penduduk") + (f" ({period})" if period else "")
        columns[name] = frame["penduduk"].astype("Int64")
    if "diterima" in frame:
        columns[t("ov_col_received")] = frame["diterima"].astype("Int64")
        columns[t("ov_metric_per_10000")] = frame["per_10000"].astype(float)
        columns[t("ov_metric_persen_tepat_waktu")] = frame["persen_tepat_waktu"].astype(float)
        decimals = {t("ov_metric_per_10000"): 1, t("ov_metric_persen_tepat_waktu"): 1}
        suffix = {t("ov_metric_persen_tepat_waktu"): " %"}
    table = pd.DataFrame(columns)
    st.dataframe(style_numbers(table, decimals, suffix=suffix), hide_index=True,
                 width="stretch", key="overview_table")
    notes = []
    if pop_ds:
        notes.append(t("ov_source", title=pick(pop_ds.get("title")),
                       version=pop_ds.get("latest_version")))
    if adu_ds:
        notes.append(t("ov_source", title=pick(adu_ds.get("title")),
                       version=adu_ds.get("latest_version")))
    if span:
        notes.append(t("ov_window", start=span[0], end=span[1]))
    st.caption(" · ".join(notes))


def _overview_frame(population: pd.DataFrame, complaints: pd.DataFrame) -> pd.DataFrame:
    if population.empty:
        frame = complaints.copy()
        frame["per_10000"] = frame["per_10000_dari_data"]
        return frame
    frame = population.copy()
    if complaints.empty:
        return frame
    frame = frame.merge(complaints.drop(columns=["nama"]), on="kode", how="outer")
    frame["nama"] = frame["nama"].fillna(frame["kode"])
    frame["per_10000"] = frame["diterima"] / frame["penduduk"] * 10_000
    frame["per_10000"] = frame["per_10000"].fillna(frame["per_10000_dari_data"])
    return frame.sort_values("kode").reset_index(drop=True)
