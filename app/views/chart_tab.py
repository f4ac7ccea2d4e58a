"""The dataset page's chart tab: a chart that fits the data, chosen from its columns
(trend, regencies, map, categories, located points), with its measure, category and
period pickers. The aggregates run in SQL on the published Parquet (app/cache.py)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import cache, charts
from app.i18n import column_label, current_lang, fmt_num, t
from app.site_reader.chart_queries import COUNT_MEASURE, ChartPlan, chart_plan, summable
from app.text import md
from app.widgets import localized_choice


def measure_label(ds: dict[str, Any], measure: str, lang: str | None = None) -> str:
    if measure == COUNT_MEASURE:
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
    """A chart that fits the data, chosen from its columns (see ``chart_plan``)."""
    if ref is None:
        st.caption(t("chart_none"))
        return
    try:
        plan = chart_plan(cache.schema(ref))
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
        additive = summable(measure, units.get(measure), ds.get("unit"))
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
    if not additive and measure != COUNT_MEASURE and plan.category and category is None:
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
                if not additive and measure != COUNT_MEASURE:
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


def point_map(site: Path, ref: cache.ParquetRef, plan: ChartPlan, category: Any) -> None:
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
