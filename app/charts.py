"""Charts and maps of the catalogue (Altair and pydeck), built from small aggregated
frames: the app never hands a whole dataset to a chart.

Maps have no base map: no tiles or styles are fetched from the network (a government
site must not leak its visitors to a tile provider, and works offline). pydeck's
``map_style=None`` is not enough for that in Streamlit >= 1.40, whose frontend then
picks a Carto base map by itself; a ``Deck`` built with ``map_provider=None`` and the
default style serialises ``mapStyle: "__MAP_STYLE__"``, which Streamlit's frontend
reads as "no base map". :func:`no_basemap_deck` does that and tests check the JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import altair as alt
import pandas as pd
import pydeck as pdk

# ColorBrewer "Blues" (7 classes), light = low, dark = high.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (239, 243, 255), (198, 219, 239), (158, 202, 225), (107, 174, 214),
    (66, 146, 198), (33, 113, 181), (8, 69, 148),
)
NO_DATA = (220, 220, 220)
OUTLINE = (255, 255, 255)
CATEGORY_COLORS: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
VEGA_LOCALES = {
    "id": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["Rp", ""]},
    "en": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["$", ""]},
}
TOOLTIP_STYLE = {"backgroundColor": "#1f2937", "color": "white", "fontSize": "13px",
                 "padding": "6px 8px", "borderRadius": "4px"}
MAP_HEIGHT = 460
LINE_HEIGHT = 380
# Banten, when the boundaries give no better idea.
DEFAULT_VIEW = {"latitude": -6.42, "longitude": 106.1, "zoom": 8.2}


def color_for(value: float | None, lo: float, hi: float) -> list[int]:
    """Colour of ``value`` on the sequential palette between ``lo`` and ``hi``."""
    if value is None or value != value:
        return [*NO_DATA, 200]
    if hi <= lo:
        return [*PALETTE[len(PALETTE) // 2], 230]
    share = min(max((value - lo) / (hi - lo), 0.0), 1.0)
    position = share * (len(PALETTE) - 1)
    i = min(int(position), len(PALETTE) - 2)
    frac = position - i
    a, b = PALETTE[i], PALETTE[i + 1]
    return [round(a[k] + (b[k] - a[k]) * frac) for k in range(3)] + [230]


def legend_html(lo: str, hi: str, no_data: str | None = None) -> str:
    """A small colour-scale legend (static HTML, no script)."""
    stops = ", ".join(f"rgb{c}" for c in PALETTE)
    gap = (
        f'<span style="display:inline-block;width:14px;height:14px;margin-left:16px;'
        f'vertical-align:middle;background:rgb{NO_DATA}"></span> {no_data}'
        if no_data else ""
    )
    lo, hi = escape(lo), escape(hi)
    no_data = escape(no_data) if no_data else no_data
    return (
        '<div style="font-size:0.85rem;line-height:1.4">'
        f"{lo} "
        f'<span style="display:inline-block;width:160px;height:12px;vertical-align:middle;'
        f'border-radius:2px;background:linear-gradient(to right, {stops})"></span>'
        f" {hi}{gap}</div>"
    )


def _bbox(geojson: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        elif isinstance(coords, list | tuple):
            for c in coords:
                walk(c)

    for feature in geojson.get("features", []):
        walk((feature.get("geometry") or {}).get("coordinates"))
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def view_state(geojson: Mapping[str, Any] | None, width: int = 680,
               height: int = MAP_HEIGHT - 40) -> pdk.ViewState:
    """Centre on the boundaries and zoom so they fit ``width`` x ``height`` pixels
    (deck.gl's world is 512 px wide at zoom 0; Web Mercator near the equator)."""
    box = _bbox(geojson) if geojson else None
    if box is None:
        return pdk.ViewState(**DEFAULT_VIEW)
    x0, y0, x1, y1 = box
    y_mid = (y0 + y1) / 2

    def merc(lat: float) -> float:
        return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))

    dx = max(x1 - x0, 1e-6)
    dy = max(abs(merc(y1) - merc(y0)), 1e-6)
    zoom = math.log2(min(width * 360 / (512 * dx), height * 360 / (512 * dy)))
    return pdk.ViewState(latitude=y_mid, longitude=(x0 + x1) / 2,
                         zoom=round(min(max(zoom - 0.1, 1.0), 16.0), 2))


def no_basemap_deck(layers: Sequence[pdk.Layer], view: pdk.ViewState,
                    tooltip: dict[str, Any] | bool) -> pdk.Deck:
    """A deck that fetches nothing from the network (see the module docstring)."""
    return pdk.Deck(
        layers=list(layers),
        initial_view_state=view,
        map_provider=None,
        tooltip=tooltip,
        height=MAP_HEIGHT,
    )


def _outline_layer(geojson: Mapping[str, Any], filled: bool = False) -> pdk.Layer:
    return pdk.Layer(
        "GeoJsonLayer",
        data=geojson,
        id="batas-wilayah",
        filled=filled,
        stroked=True,
        get_fill_color=[245, 245, 245, 255],
        get_line_color=[150, 150, 150],
        line_width_min_pixels=1,
        pickable=False,
    )


def choropleth(geojson: Mapping[str, Any], values: Mapping[str, float | None],
               labels: Mapping[str, str], no_data: str) -> pdk.Deck:
    """The regencies coloured by ``values`` (by kode_wilayah); the tooltip shows the
    regency's name and ``labels[kode]`` (the value, formatted for the language)."""
    present = [v for v in values.values() if v is not None and v == v]
    lo, hi = (min(present), max(present)) if present else (0.0, 0.0)
    features = []
    for feature in geojson.get("features", []):
        props = dict(feature.get("properties") or {})
        kode = str(props.get("kode_wilayah"))
        value = values.get(kode)
        props["nilai"] = labels.get(kode, no_data)
        props["fill"] = color_for(value, lo, hi)
        props["nama"] = props.get("nama") or kode
        features.append({"type": "Feature", "geometry": feature["geometry"], "properties": props})
    data = {"type": "FeatureCollection", "features": features}
    layer = pdk.Layer(
        "GeoJsonLayer",
        data=data,
        id="choropleth",
        filled=True,
        stroked=True,
        get_fill_color="properties.fill",
        get_line_color=[*OUTLINE],
        line_width_min_pixels=1.5,
        pickable=True,
        auto_highlight=True,
    )
    tooltip = {"html": "<b>{nama}</b><br/>{nilai}", "style": TOOLTIP_STYLE}
    return no_basemap_deck([layer], view_state(geojson), tooltip)


def category_color(index: int) -> list[int]:
    return [*CATEGORY_COLORS[index % len(CATEGORY_COLORS)], 210]


def point_map(geojson: Mapping[str, Any] | None, frame: pd.DataFrame,
              categories: Sequence[str]) -> pdk.Deck:
    """Located rows (``lat``, ``lng``, ``label``, ``kategori``, ``nama``) over the regency
    outlines, coloured by category."""
    index = {c: i for i, c in enumerate(categories)}
    data = frame.assign(
        color=[category_color(index.get(c, 0)) for c in frame["kategori"]],
        label=frame["label"].fillna(""),
        kategori=frame["kategori"].fillna(""),
        nama=frame["nama"].fillna(""),
    )
    layers = [_outline_layer(geojson, filled=True)] if geojson else []
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            data=data[["lat", "lng", "label", "kategori", "nama", "color"]],
            id="titik",
            get_position=["lng", "lat"],
            get_fill_color="color",
            get_radius=350,
            radius_min_pixels=2.5,
            radius_max_pixels=9,
            pickable=True,
        )
    )
    tooltip = {"html": "<b>{label}</b><br/>{kategori}<br/>{nama}", "style": TOOLTIP_STYLE}
    return no_basemap_deck(layers, view_state(geojson), tooltip)


# --- Altair -----------------------------------------------------------------------------


def _configure(chart: alt.TopLevelMixin, lang: str) -> alt.TopLevelMixin:
    return chart.configure(locale={"number": VEGA_LOCALES.get(lang, VEGA_LOCALES["en"])})


def line_chart(frame: pd.DataFrame, *, x_title: str, y_title: str, color_title: str,
               lang: str, y_format: str = ",~f") -> alt.TopLevelMixin:
    """``waktu`` (ordinal) x ``nilai`` per ``nama``; ``nilai_fmt`` in the tooltip."""
    chart = (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("waktu:O", title=x_title, sort="ascending", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("nilai:Q", title=y_title, axis=alt.Axis(format=y_format)),
            color=alt.Color("nama:N", title=color_title,
                            legend=alt.Legend(orient="right", labelLimit=220)),
            tooltip=[
                alt.Tooltip("nama:N", title=color_title),
                alt.Tooltip("waktu:O", title=x_title),
                alt.Tooltip("nilai_fmt:N", title=y_title),
            ],
        )
        .properties(height=LINE_HEIGHT)
    )
    return _configure(chart, lang)


def bar_height(rows: int) -> int:
    return max(120, 28 * rows + 50)


def bar_chart(frame: pd.DataFrame, *, label_field: str, label_title: str, value_title: str,
              lang: str, x_format: str = ",~f") -> alt.TopLevelMixin:
    """Horizontal bars, largest first, with the formatted value (``nilai_fmt``) at the
    end of each bar."""
    height = bar_height(len(frame))
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{label_field}:N", title=None, sort="-x",
                axis=alt.Axis(labelLimit=260)),
        x=alt.X("nilai:Q", title=value_title, axis=alt.Axis(format=x_format)),
        tooltip=[
            alt.Tooltip(f"{label_field}:N", title=label_title),
            alt.Tooltip("nilai_fmt:N", title=value_title),
        ],
    )
    bars = base.mark_bar(color="#2171b5")
    text = base.mark_text(align="left", dx=4, color="#374151").encode(text="nilai_fmt:N")
    return _configure(alt.layer(bars, text).properties(height=height), lang)
