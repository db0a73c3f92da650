"""The Wards page's map: ward outlines coloured by a measure's rate, drawn by pydeck with no
basemap, so nothing leaves the server's machine.

- `pdk.Deck(map_provider=None)` and no `map_style` at all: pydeck then writes its placeholder
  style, which Streamlit removes; `map_style=None` or `""` would make Streamlit fetch a Carto
  basemap from the internet (../shared/WARDS_NOTES.md). The GeoJSON is passed inline, never a URL.
- Rates in five classes (mapclassify's quantiles: a fifth of the wards in each) of a sequential
  blue palette; wards whose figures are withheld (`c`) in grey with a "c" on them; the chosen
  ward outlined. pydeck draws no legend, so `legend_html` draws one beside the map, and the
  ranking table on the page is the accessible alternative.
- Tooltips come from each feature's properties, as display-ready text (Streamlit escapes it).

`ward_layers` and `legend_html` are plain functions of their inputs (tested without a browser);
`draw_ward_map` puts them on the page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

# ColorBrewer's five-class Blues, light to dark: sequential, safe for colour-blind readers and in
# greyscale print. Darker always means a higher rate, whichever way is better (the legend and
# the page say which).
PALETTE = ("#EFF3FF", "#BDD7E7", "#6BAED6", "#3182BD", "#08519C")
WITHHELD = "#B1B4B6"  # GOV.UK mid grey: no blue in it, and labelled "c" on the map
NO_FIGURE = "#FFFFFF"  # a ward with no rate (no denominator): white, labelled in the legend
OUTLINE = "#505A5F"  # GOV.UK dark grey: every ward's edge
CHOSEN = "#0B0C0C"  # GOV.UK text colour: the chosen ward's outline, over a white halo
CLASSES = 5
LAYER_ID = "wards"  # the layer a click picks a ward from
MAP_HEIGHT = 520
_ASSUMED_WIDTH = 760  # pixels: the map's width in the page's wide layout, to fit the view


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def _fmt(value: float) -> str:
    return f"{value:,.1f}"


@dataclass(frozen=True)
class LegendClass:
    """One row of the legend: its colour, words and how many wards it holds."""

    colour: str
    words: str
    wards: int


@dataclass(frozen=True)
class MapData:
    """What the map draws: the coloured features, the withheld wards' labels, the legend rows,
    the chosen ward's feature (or None) and the view that fits the district."""

    features: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    legend: list[LegendClass]
    chosen: dict[str, Any] | None
    view: pdk.ViewState


def class_breaks(rates: Sequence[float], classes: int = CLASSES) -> list[float]:
    """The upper bound of each class (mapclassify's quantiles: about the same number of wards in
    each); fewer classes when there are fewer different rates; none without rates."""
    import mapclassify  # imported here: only the Wards page needs it

    values = np.asarray([r for r in rates if r is not None and not math.isnan(r)], dtype=float)
    distinct = len(np.unique(values))
    if distinct == 0:
        return []
    if distinct == 1:
        return [float(values[0])]
    return [float(b) for b in mapclassify.Quantiles(values, k=min(classes, distinct)).bins]


def class_of(rate: float, breaks: Sequence[float]) -> int:
    """The class a rate falls in: the first whose upper bound it does not exceed."""
    return next((i for i, upper in enumerate(breaks) if rate <= upper), len(breaks) - 1)


def class_colours(count: int) -> list[str]:
    """`count` colours of the palette, spread from light to dark."""
    if count <= 0:
        return []
    if count == 1:
        return [PALETTE[-1]]
    return [PALETTE[round(i * (len(PALETTE) - 1) / (count - 1))] for i in range(count)]


def fit_view(collection: Mapping[str, Any], width: int, height: int) -> pdk.ViewState:
    """The centre and zoom that fit every ward into a map of this size (web Mercator, where the
    world is 512 pixels wide at zoom 0)."""
    points = np.array(
        [
            point
            for feature in collection["features"]
            for point in _points(feature["geometry"]["coordinates"])
        ]
    )
    if not len(points):
        return pdk.ViewState(latitude=54.0, longitude=-2.0, zoom=5)
    west, south = points.min(axis=0)
    east, north = points.max(axis=0)

    def mercator_y(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    across = max(east - west, 1e-6) / 360
    down = max(mercator_y(north) - mercator_y(south), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(width / 512 / across), math.log2(height / 512 / down)) - 0.15
    middle_y = (mercator_y(north) + mercator_y(south)) / 2
    latitude = math.degrees(2 * math.atan(math.exp(middle_y)) - math.pi / 2)
    return pdk.ViewState(
        latitude=round(latitude, 5),
        longitude=round((west + east) / 2, 5),
        zoom=round(zoom, 2),
        min_zoom=round(max(zoom - 2, 0), 2),
        max_zoom=round(zoom + 5, 2),
    )


def _points(coordinates: Any) -> list[list[float]]:
    if coordinates and isinstance(coordinates[0], int | float):
        return [coordinates[:2]]
    return [point for part in coordinates for point in _points(part)]


def map_data(
    boundaries: Mapping[str, Any],
    wards: pd.DataFrame,
    chosen: str | None,
    *,
    unit: str,
    width: int = _ASSUMED_WIDTH,
    height: int = MAP_HEIGHT,
) -> MapData:
    """Colour each ward of `boundaries` (ward_boundaries()) by its rate in `wards` (one row per
    ward: area_code, area_name, rate, rate_text, rank_text, suppressed), give it its tooltip
    lines, and make the legend. A ward of the boundaries without a row has no figure."""
    by_code = {row.area_code: row for row in wards.itertuples(index=False)}
    shown = [
        float(row.rate)
        for row in by_code.values()
        if not row.suppressed and row.rate is not None and not pd.isna(row.rate)
    ]
    breaks = class_breaks(shown)
    colours = class_colours(len(breaks))
    counts = [0] * len(breaks)
    withheld = missing = 0
    features, labels = [], []
    chosen_feature = None
    for feature in boundaries["features"]:
        code = feature["properties"]["ward_code"]
        row = by_code.get(code)
        name = row.area_name if row is not None else feature["properties"]["ward_name"]
        if row is not None and row.suppressed:
            fill, rate_line, rank_line = WITHHELD, "c: withheld (a small number)", "Not ranked"
            withheld += 1
            labels.append({"position": feature["properties"]["label_position"], "text": "c"})
        elif row is None or row.rate is None or pd.isna(row.rate):
            fill, rate_line, rank_line = NO_FIGURE, "No figure", "Not ranked"
            missing += 1
        else:
            band = class_of(float(row.rate), breaks)
            counts[band] += 1
            fill = colours[band]
            rate_line = f"{row.rate_text} {unit}"
            rank_line = f"Ranked {row.rank_text} (1st: the highest rate)"
        drawn = {
            "type": "Feature",
            "geometry": feature["geometry"],
            "properties": {
                "ward_code": code,
                "ward_name": str(name),
                "rate_line": rate_line,
                "rank_line": rank_line,
                "fill": _rgb(fill),
            },
        }
        features.append(drawn)
        if code == chosen:
            chosen_feature = drawn
    legend = []
    for band, (colour, upper, count) in enumerate(zip(colours, breaks, counts, strict=True)):
        # Each class holds rates over the last one's upper bound, up to and including its own.
        lower = f"{_fmt(min(shown))} to " if band == 0 else f"over {_fmt(breaks[band - 1])} to "
        alone = len(breaks) == 1 or (band == 0 and min(shown) == upper)
        words = _fmt(upper) if alone else lower + _fmt(upper)
        legend.append(LegendClass(colour, words, count))
    if withheld:
        legend.append(LegendClass(WITHHELD, "c: withheld, a small number", withheld))
    if missing:
        legend.append(LegendClass(NO_FIGURE, "No figure", missing))
    return MapData(features, labels, legend, chosen_feature, fit_view(boundaries, width, height))


TOOLTIP = {
    "html": "<b>{ward_name}</b><br/>{rate_line}<br/>{rank_line}",
    "style": {"backgroundColor": "#0B0C0C", "color": "#FFFFFF", "fontSize": "14px"},
}


def ward_deck(data: MapData) -> pdk.Deck:
    """The deck: the wards coloured by class, the withheld wards' "c", and the chosen ward's
    outline over a white halo. No basemap and no map style (see the module's note)."""
    layers = [
        pdk.Layer(
            "GeoJsonLayer",
            id=LAYER_ID,
            data={"type": "FeatureCollection", "features": data.features},
            filled=True,
            stroked=True,
            get_fill_color="properties.fill",
            get_line_color=_rgb(OUTLINE),
            # Widths in pixels through the minimum: pydeck turns every string argument (such as
            # line_width_units="pixels") into an expression, which deck.gl cannot read.
            get_line_width=0,
            line_width_min_pixels=1,
            pickable=True,
            auto_highlight=True,
            highlight_color=[255, 221, 0, 160],  # GOV.UK focus yellow, under the pointer
        )
    ]
    if data.labels:
        layers.append(
            pdk.Layer(
                "TextLayer",
                id="withheld",
                data=data.labels,
                get_position="position",
                get_text="text",
                get_size=18,
                get_color=_rgb(CHOSEN),
                font_weight=700,
                pickable=False,
            )
        )
    if data.chosen is not None:
        chosen = {"type": "FeatureCollection", "features": [data.chosen]}
        for layer_id, colour, width in (("chosen-halo", "#FFFFFF", 7), ("chosen", CHOSEN, 3.5)):
            layers.append(
                pdk.Layer(
                    "GeoJsonLayer",
                    id=layer_id,
                    data=chosen,
                    filled=False,
                    stroked=True,
                    get_line_color=_rgb(colour),
                    get_line_width=0,
                    line_width_min_pixels=width,
                    pickable=False,
                )
            )
    # map_provider=None and no map_style: no basemap, no request (see the module's note).
    return pdk.Deck(
        layers=layers,
        initial_view_state=data.view,
        map_provider=None,
        tooltip=TOOLTIP,
    )


def legend_html(
    data: MapData,
    *,
    title: str,
    unit: str,
    chosen_name: str | None,
    note: str | None = None,
) -> str:
    """The map's key as HTML (every text escaped): the measure and its unit, each class's
    colour, range and number of wards, the withheld grey, and the chosen ward's outline."""
    e = html.escape
    swatch = (
        "display:inline-block;width:1.6em;height:1.1em;margin-right:0.5em;"
        "vertical-align:middle;border:1px solid " + OUTLINE + ";background:"
    )
    rows = [
        f'<li style="margin:0.2em 0"><span style="{swatch}{c.colour}" aria-hidden="true">'
        f"</span>{e(c.words)} ({c.wards} ward{'' if c.wards == 1 else 's'})</li>"
        for c in data.legend
    ]
    if chosen_name:
        rows.append(
            f'<li style="margin:0.2em 0"><span style="{swatch}#FFFFFF;border:3px solid {CHOSEN}"'
            f' aria-hidden="true"></span>Outlined: {e(chosen_name)}</li>'
        )
    about = f'<p style="margin:0.5em 0 0 0;font-size:0.9em">{e(note)}</p>' if note else ""
    return (
        '<div role="group" aria-label="Map key" style="font-size:0.95rem;line-height:1.4">'
        f'<p style="margin:0"><strong>{e(title)}</strong><br/>{e(unit[:1].upper() + unit[1:])}'
        "</p>"
        f'<ul style="list-style:none;padding:0;margin:0.5em 0 0 0">{"".join(rows)}</ul>'
        f"{about}</div>"
    )


def draw_ward_map(
    boundaries: Mapping[str, Any],
    wards: pd.DataFrame,
    chosen: str | None,
    *,
    title: str,
    unit: str,
    alt: str,
    key: str,
    on_pick: Callable[[str], None] | None = None,
    note: str | None = None,
) -> MapData:
    """The map with its key beside it. A click on a ward calls `on_pick` with its code (a
    rerun follows); the chart's key changes with the chosen ward, so Streamlit's own dimming
    of the other wards after a click never outlives the click."""
    data = map_data(boundaries, wards, chosen, unit=unit)
    chosen_name = (data.chosen or {}).get("properties", {}).get("ward_name")
    chart_key = f"{key}_{chosen or 'none'}"

    def picked() -> None:
        state = st.session_state.get(chart_key)
        objects = (state or {}).get("selection", {}).get("objects", {}).get(LAYER_ID) or []
        code = (objects[0].get("properties") or {}).get("ward_code") if objects else None
        if code and on_pick is not None:
            on_pick(code)

    left, right = st.columns([3, 1], gap="medium")
    with left:
        st.pydeck_chart(
            ward_deck(data),
            height=MAP_HEIGHT,
            on_select=picked if on_pick is not None else "ignore",
            selection_mode="single-object",
            key=chart_key,
            alt=alt,
        )
    with right:
        st.html(legend_html(data, title=title, unit=unit, chosen_name=chosen_name, note=note))
    return data
