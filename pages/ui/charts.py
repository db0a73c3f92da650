"""The charts the pages draw, in the Government Analysis Function's accessible palette.

A chart is made by `over_time` (lines and bars against dates) or `by_category` (bars against
categories) from a DataFrame and the columns to draw (a Series each), then drawn with `draw`,
which gives it its alt text. `figure` starts a chart of another kind with the same title and
template. `count_axis` and `period_axis` give an axis of counts whole-number ticks and an axis of
months or quarters one label per period.

`draw` writes the chart's title above it as text, which wraps at any width (Plotly's own title
does not, and is cut off on a phone), and draws the chart without Plotly's toolbar: it covered
the title and added seven tab stops per chart; the table beside each chart has its figures, to
read and download.

Plotly reads a subset of HTML in titles, legend names, axis labels and hover text (<b>, <br>,
<a href>): text from data is escaped with `label` before it gets there. `figure` escapes the
title, a Series its name, and `by_category` its categories; a hover template is the caller's,
who escapes any data put into it with `label`.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from pages.ui.formats import plain

# The Government Analysis Function's categorical palette: each colour has at least 3:1 contrast
# with the white background and with its neighbour in this order (WCAG 2.2 non-text contrast).
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
DARK_BLUE, TURQUOISE, DARK_PINK, ORANGE, DARK_GREY, LIGHT_PURPLE = PALETTE
TEXT = "#0B0C0C"  # GOV.UK text colour
GRID = "#D9D9D9"

pio.templates["ffi"] = go.layout.Template(
    layout=go.Layout(
        colorway=list(PALETTE),
        font={"family": "Arial, Helvetica, sans-serif", "size": 14, "color": TEXT},
        title={"font": {"size": 17, "color": TEXT}, "x": 0, "xanchor": "left", "y": 0.97},
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        xaxis={
            "showgrid": False,
            "linecolor": TEXT,
            "ticks": "outside",
            "tickcolor": TEXT,
            "title": {"standoff": 8},
            "automargin": True,
        },
        yaxis={
            "gridcolor": GRID,
            "zerolinecolor": TEXT,
            "linecolor": TEXT,
            "automargin": True,
            "rangemode": "tozero",
        },
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0,
            "title": {"text": ""},
        },
        hoverlabel={"font": {"size": 14}},
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        bargap=0.2,
    ),
    data={"bar": [go.Bar(marker={"line": {"color": "#FFFFFF", "width": 1}})]},
)

_PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False}

# Characters of an axis title or a legend entry on one line: at 400 px wide (a phone, or 400%
# zoom) the chart is about 350 px across, some 45 characters of its 14 px text. A title under
# the plot is centred on it, and the plot may start 140 px in (after a bar chart's labels).
X_TITLE_WIDTH = 20
Y_TITLE_WIDTH = 40
LEGEND_WIDTH = 40
# A horizontal bar's label on one line: some 140 px, leaving the bars two thirds of a phone.
CATEGORY_WIDTH = 18
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def title_text(fig: go.Figure) -> str:
    """The figure's title as plain text (Plotly's is escaped and broken into lines)."""
    text = fig.layout.title.text or ""
    return html.unescape(_BREAK.sub(" ", text)).strip()


def _rewrapped(text: str | None, width: int) -> str | None:
    """A Plotly label (escaped, perhaps already over lines) over lines of at most `width`."""
    if not text or len(text) <= width:
        return text
    plain_text = html.unescape(_BREAK.sub(" ", text))
    return wrapped_label(plain_text, width)


def draw(fig: go.Figure, alt: str, key: str | None = None) -> None:
    """Draw a Plotly figure with the template, its alt text (what a screen reader says, ending
    with where the table of its figures is), and no Streamlit restyling. Its title goes above it
    as text; axis titles and legend entries are wrapped to fit a narrow screen."""
    title = title_text(fig)
    lines = max(1, len(_BREAK.findall(fig.layout.title.text or "")) + 1)
    if title:
        st.markdown(f"**{plain(title)}**")
    # The title's room at the top goes: the legend above the plot pushes the margin itself.
    top = fig.layout.margin.t
    fig.update_layout(
        title=None,
        margin={"t": 16 if top is None else max(16, top - 70 - 22 * (lines - 1))},
        height=None if fig.layout.height is None else fig.layout.height - 40 - 22 * (lines - 1),
    )
    fig.for_each_xaxis(
        lambda axis: axis.update(title_text=_rewrapped(axis.title.text, X_TITLE_WIDTH))
    )
    fig.for_each_yaxis(
        lambda axis: axis.update(title_text=_rewrapped(axis.title.text, Y_TITLE_WIDTH))
    )
    fig.for_each_trace(lambda trace: trace.update(name=_rewrapped(trace.name, LEGEND_WIDTH))
                       if getattr(trace, "name", None) else None)  # fmt: skip
    st.plotly_chart(fig, theme=None, config=_PLOTLY_CONFIG, alt=alt, key=key)


def count_axis(largest: float | int | None = None, **axis: Any) -> dict[str, Any]:
    """An axis of counts (families, referrals): whole-number ticks with thousands separators,
    from nought. Given the largest value drawn, a small one gets a tick at every whole number
    rather than Plotly's halves."""
    out: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero"}
    if largest is not None and not pd.isna(largest) and largest <= 6:
        out.update(dtick=1, tick0=0, range=[0, max(float(largest), 1.0) * 1.15])
    return {**out, **axis}


def period_axis(
    dates: Sequence[Any] | pd.Series,
    labels: Sequence[str] | None = None,
    *,
    most: int = 8,
    **axis: Any,
) -> dict[str, Any]:
    """An axis of periods with one label for each period it labels (never 'Jan 2020' three
    times): every period when there are at most `most`, else every second, third, ... so that
    no more than `most` are labelled. `labels` names each period (a quarter's 'Q4 2019/20'); by
    default a month is written 'Jan 2020'."""
    stamps = pd.to_datetime(pd.Series(list(dates))).drop_duplicates().sort_values()
    if labels is None:
        names = [stamp.strftime("%b %Y") for stamp in stamps]
    else:
        by_date = dict(zip(pd.to_datetime(pd.Series(list(dates))), labels, strict=True))
        names = [by_date[stamp] for stamp in stamps]
    step = max(1, -(-len(stamps) // most))  # ceiling
    # The last period is always labelled: it is the one people look for.
    chosen = list(range(len(stamps) - 1, -1, -step))[::-1]
    out: dict[str, Any] = {
        "tickmode": "array",
        "tickvals": [stamps.iloc[i] for i in chosen],
        "ticktext": [names[i] for i in chosen],
    }
    if len(stamps) > 1:  # room either side, so that no bar and no label is cut off at the ends
        period = (stamps.iloc[-1] - stamps.iloc[0]) / (len(stamps) - 1)
        out["range"] = [(stamps.iloc[0] - period / 2).floor("D"),
                        (stamps.iloc[-1] + period).ceil("D")]  # fmt: skip
    return {**out, **axis}


def label(text: object) -> str:
    """Text for Plotly to show as typed: <, > and & escaped, so no tag in it is read as one."""
    return html.escape(str(text), quote=False)


def wrapped_label(text: object, width: int) -> str:
    """Text over lines of at most `width` characters (Plotly does not wrap), each escaped."""
    return "<br>".join(label(line) for line in textwrap.wrap(str(text), width)) or label(text)


TITLE_WIDTH = 75  # characters; Plotly does not wrap titles itself


def figure(title: str, height: int = 380, **layout: Any) -> go.Figure:
    """An empty figure whose title says what the chart shows (as plain text: escaped)."""
    lines = [label(line) for line in textwrap.wrap(title, TITLE_WIDTH)] or [""]
    fig = go.Figure()
    fig.update_layout(
        template="ffi",
        title={"text": "<br>".join(lines)},
        height=height + 22 * (len(lines) - 1),
        margin={"t": 80 + 22 * (len(lines) - 1)},
        **layout,
    )
    return fig


def count_ticks(largest: float) -> dict[str, Any]:
    """A count axis's ticks: whole numbers only (Plotly would put 0.5 between 0 and 1 on a short
    axis), with thousands separators."""
    ticks: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero"}
    if largest <= 8:
        ticks.update(tick0=0, dtick=1)
    return ticks


def month_ticks(months: int) -> dict[str, Any]:
    """A monthly axis's ticks: one label per month, or per quarter, half year or year when there
    are many, each written once ("Jan 2020", never three ticks in one month)."""
    step = 1 if months <= 12 else 3 if months <= 36 else 6 if months <= 72 else 12
    return {"tickformat": "%b %Y", "dtick": f"M{step}", "ticklabelmode": "instant"}


@dataclass(frozen=True)
class Series:
    """One line or set of bars: the column of values, its legend name, colour and hover text.

    `data` gives it rows of its own (the months so far, one source); else it draws the chart's.
    """

    column: str
    name: str | None
    colour: str
    hover: str
    data: pd.DataFrame | None = None
    dash: str | None = None  # a line's dash style
    symbol: str | None = None  # a line's marker symbol
    markers: bool = False  # a line with a marker at each point
    text: Sequence[str] | None = None  # a label beside each bar
    marker: Mapping[str, Any] | None = None  # bars' own marker (e.g. hatched), not the colour


def _line(series: Series, frame: pd.DataFrame, x: str) -> go.Scatter:
    rows = frame if series.data is None else series.data
    line = {"color": series.colour, "width": 3}
    if series.dash:
        line["dash"] = series.dash
    return go.Scatter(
        x=rows[x],
        y=rows[series.column],
        name=None if series.name is None else label(series.name),
        mode="lines+markers" if series.markers else "lines",
        line=line,
        marker={"symbol": series.symbol} if series.symbol else None,
        hovertemplate=series.hover,
    )


def _bars(
    series: Series,
    frame: pd.DataFrame,
    category: str,
    horizontal: bool,
    as_label: Callable[[Any], str] | None = None,
) -> go.Bar:
    """Bars of `series` against column `category`; `as_label` writes each category (text) as
    Plotly is to show it; dates are left as they are."""
    rows = frame if series.data is None else series.data
    categories, values = rows[category], rows[series.column]
    if as_label is not None:
        categories = categories.map(as_label)
    return go.Bar(
        x=values if horizontal else categories,
        y=categories if horizontal else values,
        name=None if series.name is None else label(series.name),
        orientation="h" if horizontal else None,
        marker=series.marker if series.marker is not None else {"color": series.colour},
        text=series.text,
        textposition="outside" if series.text is not None else None,
        cliponaxis=False if series.text is not None else None,
        hovertemplate=series.hover,
    )


def over_time(
    frame: pd.DataFrame,
    x: str,
    *,
    title: str,
    x_axis: Mapping[str, Any],
    y_axis: Mapping[str, Any],
    lines: Sequence[Series] = (),
    bars: Sequence[Series] = (),
    height: int = 420,
    **layout: Any,
) -> go.Figure:
    """Bars (stacked or grouped as `layout` says) and lines over the dates in column `x`."""
    fig = figure(title, height=height, **layout)
    for series in bars:
        fig.add_trace(_bars(series, frame, x, horizontal=False))
    for series in lines:
        fig.add_trace(_line(series, frame, x))
    fig.update_xaxes(**x_axis)
    fig.update_yaxes(**y_axis)
    return fig


def by_category(
    frame: pd.DataFrame,
    category: str,
    bars: Sequence[Series],
    *,
    title: str,
    height: int,
    value_axis: Mapping[str, Any],
    category_axis: Mapping[str, Any] | None = None,
    horizontal: bool = True,
    wrap: int | None = None,
    **layout: Any,
) -> go.Figure:
    """Bars for each category in column `category`, horizontal (first category at the top)
    unless `horizontal` is false. Categories are text shown as typed (escaped), over lines of
    `wrap` characters (by default CATEGORY_WIDTH for horizontal bars, whose labels would
    otherwise leave a narrow screen no room for the bars); a `categoryarray` in `category_axis`
    names them as in `frame`."""
    if wrap is None and horizontal:
        wrap = CATEGORY_WIDTH

    def as_label(category: object) -> str:
        return label(category) if wrap is None else wrapped_label(category, wrap)

    fig = figure(title, height=height, **layout)
    for series in bars:
        fig.add_trace(_bars(series, frame, category, horizontal, as_label))
    if category_axis is None:
        category_axis = {"autorange": "reversed"} if horizontal else {}
    elif "categoryarray" in category_axis:
        order = [as_label(c) for c in category_axis["categoryarray"]]
        category_axis = {**category_axis, "categoryarray": order}
    value_axes, category_axes = (
        (fig.update_xaxes, fig.update_yaxes) if horizontal else (fig.update_yaxes, fig.update_xaxes)
    )
    category_axes(**category_axis)
    value_axes(**value_axis)
    return fig


def histogram(
    frame: pd.DataFrame, column: str, *, name: str, hover: str, title: str, height: int,
    x_title: str, y_title: str,
) -> go.Figure:  # fmt: skip
    """How many rows have each whole number in `column`, one bar per number."""
    fig = figure(title, height=height)
    fig.add_trace(
        go.Histogram(
            x=frame[column],
            xbins={"start": 0.5, "size": 1},
            marker={"color": DARK_BLUE, "line": {"color": "#FFFFFF", "width": 1}},
            hovertemplate=hover,
            name=name,
        )
    )
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title)
    return fig
