"""Shared UI for the pages: the model connection, formats, colours, tables with downloads, filters.

No business rules live here: every number comes from `data_model.queries` (or, for the outcomes
plan, `data_model.plan_queries`); this module only opens the model, calls those functions (with a
cache keyed on the model file) and draws what they return.
"""

from __future__ import annotations

import io
import os
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from data_model import plan_queries, queries

DEFAULT_MODEL = Path("data/model.duckdb")
DEFAULT_HOUSEHOLDS = 10_000

# --- Formats -------------------------------------------------------------------------------------

DATE_FORMAT = "%d %b %Y"  # 01 Jan 2020, everywhere on screen
GRID_DATE_FORMAT = "DD MMM YYYY"  # the same in st.dataframe (momentJS)
GRID_MONTH_FORMAT = "MMM YYYY"
EXCEL_DATE_FORMAT = "dd mmm yyyy"


def fmt_date(value: date | datetime | pd.Timestamp | None) -> str:
    """A date as DD Mon YYYY (01 Jan 2020); a dash when there is none."""
    if value is None or pd.isna(value):
        return "–"
    return pd.Timestamp(value).strftime(DATE_FORMAT)


def fmt_int(value: float | int | None) -> str:
    """A count with thousands separators (5,990)."""
    if value is None or pd.isna(value):
        return "–"
    return f"{int(round(value)):,}"


def fmt_number(value: float | int | None, decimals: int = 1) -> str:
    """A measure such as a median, to one decimal place unless it is whole (12, 12.5)."""
    if value is None or pd.isna(value):
        return "–"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def fmt_quantity(value: float | int, unit: str) -> str:
    """An amount of a plural unit, singular for one: '1 incident', '5.2 weeks', '5 percentage
    points'."""
    amount = fmt_number(value)
    return f"{amount} {unit.removesuffix('s') if amount == '1' else unit}"


def fmt_money(value: float | int | None) -> str:
    """An amount in whole pounds with thousands separators (£649,800)."""
    if value is None or pd.isna(value):
        return "–"
    return f"£{round(value):,}"


# --- Colours and the chart template --------------------------------------------------------------
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

_PLOTLY_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def chart(fig: go.Figure, alt: str, key: str | None = None) -> None:
    """Draw a Plotly figure with the template, its alt text, and no Streamlit restyling."""
    st.plotly_chart(fig, theme=None, config=_PLOTLY_CONFIG, alt=alt, key=key)


TITLE_WIDTH = 75  # characters; Plotly does not wrap titles itself


def figure(title: str, height: int = 380, **layout: Any) -> go.Figure:
    """An empty figure whose title says what the chart shows."""
    lines = textwrap.wrap(title, TITLE_WIDTH) or [""]
    fig = go.Figure()
    fig.update_layout(
        template="ffi",
        title={"text": "<br>".join(lines)},
        height=height + 22 * (len(lines) - 1),
        margin={"t": 80 + 22 * (len(lines) - 1)},
        **layout,
    )
    return fig


# --- The model -----------------------------------------------------------------------------------


def model_path() -> Path:
    """The model file: FFI_MODEL, else data/model.duckdb (relative to the working directory)."""
    return Path(os.environ.get("FFI_MODEL") or DEFAULT_MODEL)


@dataclass(frozen=True)
class ModelKey:
    """Which model file, and which version of it: a rebuilt file is a new inode, newly modified."""

    path: str
    inode: int
    mtime_ns: int


def model_key() -> ModelKey:
    path = model_path().resolve()
    stat = path.stat()
    return ModelKey(str(path), stat.st_ino, stat.st_mtime_ns)


@st.cache_resource(max_entries=2, show_spinner=False)
def _database(key: ModelKey) -> duckdb.DuckDBPyConnection:
    """One read-only database per model version, shared by every session.

    A replaced file gives a new cache entry, so a rebuilt model is picked up on the next run
    while runs in progress finish on the old one.
    """
    return queries.open_model(key.path)


def _cursor(key: ModelKey) -> duckdb.DuckDBPyConnection:
    """A connection of our own to the shared database (DuckDB connections are not thread-safe)."""
    cursor = _database(key).cursor()
    cursor.execute("use model")
    return cursor


# The modules whose functions a page may call through query(): looked up by name, never imported
# from what a cache key says.
_QUERY_MODULES = {module.__name__: module for module in (queries, plan_queries)}


@st.cache_data(max_entries=512, show_spinner=False)
def _query(key: ModelKey, module: str, name: str, args: tuple) -> Any:
    cursor = _cursor(key)
    try:
        return getattr(_QUERY_MODULES[module], name)(cursor, *args)
    finally:
        cursor.close()


def query(function: Callable[..., Any], *args: Any) -> Any:
    """Call a `data_model.queries` or `data_model.plan_queries` function on the current model;
    results are cached per model."""
    return _query(model_key(), function.__module__, function.__name__, args)


def active_plan_name() -> str | None:
    """The name of the outcomes plan the model was built with (none for a model built before
    plans existed)."""
    if "mart_plan" not in query(queries.model_tables):
        return None
    return query(plan_queries.active_plan).get("plan_name")


def model_exists() -> bool:
    return model_path().exists()


def _hand_over_to_app_if_run_alone() -> None:
    """A page opened by its file name on a fresh server's first request runs without app.py.

    Because our pages live in a folder called pages/, Streamlit runs such a request in its old
    pages-folder mode until app.py has called st.navigation once in the process. Send that run
    to app.py, which wraps every page (banner, navigation, the first-start build).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        st.switch_page("app.py")


def info() -> dict:
    """model_info() of the current model; a page without a model stops with a message."""
    _hand_over_to_app_if_run_alone()
    if not model_exists():
        st.error(
            f"There is no model at {model_path()}. Start the app with `streamlit run app.py` to "
            "build the synthetic district, or build one from extracts (see the README)."
        )
        st.stop()
    return query(queries.model_info)


# --- Page furniture ------------------------------------------------------------------------------


def synthetic_banner(model_info: Mapping[str, Any]) -> None:
    """A warning on every page while the model holds the made-up district."""
    if not model_info.get("is_synthetic"):
        return
    made = []
    if model_info.get("households"):
        made.append(f"{fmt_int(model_info['households'])} households")
    if model_info.get("seed") is not None:
        made.append(f"seed {model_info['seed']}")
    detail = f" ({', '.join(made)})" if made else ""
    st.warning(
        f"**Synthetic data.** This dashboard is showing a made-up district{detail}. "
        "No real family is in it: do not use these figures for decisions.",
    )


def sidebar_details(model_info: Mapping[str, Any]) -> None:
    with st.sidebar:
        st.markdown(f"**{model_info.get('programme_name') or 'Families First'}**")
        st.markdown(f"Data current to **{fmt_date(model_info.get('as_at_date'))}**")
        if model_info.get("is_synthetic"):
            st.markdown("Synthetic district (demo)")
        plan_name = active_plan_name()
        if plan_name:
            st.markdown(f"Outcomes plan: **{plan_name}**")
        if model_info.get("built_at") is not None:
            st.caption(f"Model built {fmt_date(model_info['built_at'])}")


def sidebar_navigation(sections: Mapping[str, list[Any]]) -> None:
    """The page links, grouped under their section names, at the top of the sidebar."""
    with st.sidebar:
        for section, section_pages in sections.items():
            st.markdown(f"**{section}**")
            for page in section_pages:
                st.page_link(page)


def pick(label: str, labels: Mapping[str, str], key: str, help: str | None = None) -> Any:
    """A select box over the keys of `labels`, each shown by its label (type to find one). A
    choice no longer listed (a filter changed) falls back to the first. `labels` must be a dict,
    so the widget's state pickles."""
    options = list(labels)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    return st.selectbox(label, options, format_func=labels.__getitem__, key=key, help=help)


# --- Tables and downloads ------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """How to show a column: its label and kind (text, count, decimal, share, date, month, flag)."""

    label: str
    kind: str = "text"
    help: str | None = None


def _column_config(spec: Mapping[str, Col]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, col in spec.items():
        if col.kind == "date":
            config[name] = st.column_config.DateColumn(
                col.label, format=GRID_DATE_FORMAT, help=col.help
            )
        elif col.kind == "month":
            config[name] = st.column_config.DateColumn(
                col.label, format=GRID_MONTH_FORMAT, help=col.help
            )
        elif col.kind == "count":
            config[name] = st.column_config.NumberColumn(
                col.label, format="localized", help=col.help
            )
        elif col.kind == "decimal":  # one decimal place: working days, match weights
            config[name] = st.column_config.NumberColumn(col.label, format="%.1f", help=col.help)
        elif col.kind == "share":
            config[name] = st.column_config.NumberColumn(col.label, format="percent", help=col.help)
        elif col.kind == "flag":
            config[name] = st.column_config.CheckboxColumn(col.label, help=col.help)
        else:
            config[name] = st.column_config.TextColumn(col.label, help=col.help)
    return config


def _labelled(df: pd.DataFrame, spec: Mapping[str, Col]) -> pd.DataFrame:
    """The table as downloaded: only the shown columns, with their labels as headers."""
    columns = [c for c in spec if c in df.columns]
    out = df[columns].copy()
    for name in columns:
        kind = spec[name].kind
        if kind in ("date", "month"):
            out[name] = pd.to_datetime(out[name]).dt.date
        elif kind == "flag":
            out[name] = out[name].map({True: "Yes", False: "No"})
    return out.rename(columns={c: spec[c].label for c in columns})


def to_csv(df: pd.DataFrame, spec: Mapping[str, Col]) -> bytes:
    """CSV with a byte-order mark so Excel reads UTF-8; dates as YYYY-MM-DD for any tool."""
    return _labelled(df, spec).to_csv(index=False).encode("utf-8-sig")


def to_excel(
    df: pd.DataFrame, spec: Mapping[str, Col], title: str, notes: tuple[str, ...] = ()
) -> bytes:
    """An Excel workbook: the table with real dates shown as DD Mon YYYY, and a notes sheet."""
    table = _labelled(df, spec)
    buffer = io.BytesIO()
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        date_format=EXCEL_DATE_FORMAT,
        datetime_format=EXCEL_DATE_FORMAT,
    ) as writer:
        table.to_excel(writer, sheet_name="Table", index=False)
        sheet = writer.sheets["Table"]
        sheet.freeze_panes(1, 0)
        for i, column in enumerate(table.columns):
            values = table[column].astype(str)
            width = max([len(str(column)), *values.str.len().head(500).tolist()]) + 2
            sheet.set_column(i, i, min(max(width, 10), 60))
        pd.DataFrame({"About this table": [title, *notes]}).to_excel(
            writer, sheet_name="Notes", index=False
        )
        writer.sheets["Notes"].set_column(0, 0, 100)
    return buffer.getvalue()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def download_buttons(
    df: pd.DataFrame,
    name: str,
    spec: Mapping[str, Col] | None = None,
    title: str | None = None,
    notes: tuple[str, ...] = (),
) -> None:
    """CSV and Excel downloads of a table; the files are made only when a button is pressed."""
    spec = spec or {c: Col(c) for c in df.columns}
    file = slug(name)
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Download CSV",
            data=lambda: to_csv(df, spec),
            file_name=f"{file}.csv",
            mime="text/csv",
            key=f"download_csv_{file}",
            on_click="ignore",
            help=f"{title or name}, as CSV",
        )
        st.download_button(
            "Download Excel",
            data=lambda: to_excel(df, spec, title or name, notes),
            file_name=f"{file}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"download_xlsx_{file}",
            on_click="ignore",
            help=f"{title or name}, as an Excel workbook",
        )


def table(
    df: pd.DataFrame,
    name: str,
    spec: Mapping[str, Col],
    *,
    title: str | None = None,
    notes: tuple[str, ...] = (),
    height: int | str = "auto",
) -> None:
    """A table with labelled, formatted columns and its CSV and Excel downloads."""
    st.dataframe(
        df,
        column_order=[c for c in spec if c in df.columns],
        column_config=_column_config(spec),
        hide_index=True,
        height=height,
        alt=title or name,
        key=f"table_{slug(name)}",
    )
    download_buttons(df, name, spec, title=title, notes=notes)


# --- Filters for the Referrals page --------------------------------------------------------------

CUSTOM = "Custom dates"
DEFAULT_PERIOD = "Last 12 months"


def period_label(f: queries.ReferralFilter) -> str:
    return f"{fmt_date(f.start)} to {fmt_date(f.end)}"


def describe_filter(f: queries.ReferralFilter) -> str:
    clusters = ", ".join(f.clusters) if f.clusters else "all clusters"
    sources = ", ".join(f.sources) if f.sources else "all referral sources"
    return f"{period_label(f)} · {clusters} · {sources}"


def referral_filter(model_info: Mapping[str, Any]) -> queries.ReferralFilter:
    """The period, cluster and referral-source choices at the top of the Referrals page."""
    as_at: date = model_info["as_at_date"]
    presets = queries.period_presets(as_at, model_info.get("programme_start"))
    options = query(queries.filter_options)
    labels = [*presets, CUSTOM]
    default = next((i for i, label in enumerate(labels) if label.startswith(DEFAULT_PERIOD)), 0)
    choice = st.radio(
        "Period",
        labels,
        index=default,
        horizontal=True,
        key="period",
        help="Referrals received, decided and allocated in these dates; waiting lists and "
        "caseloads are counted on the last day.",
    )
    picked: Any = presets.get(choice)
    if choice == CUSTOM:
        left, middle, right = st.columns([2, 3, 3])
        first = options.get("first_date") or model_info.get("programme_start") or as_at
        start_default, end_default = next(iter(presets.values()))
        with left:
            picked = st.date_input(
                "From and to",
                value=(start_default, end_default),
                min_value=min(first, start_default),
                max_value=as_at,
                format="DD/MM/YYYY",
                key="custom_period",
            )
    else:
        middle, right = st.columns(2)
    with middle:
        clusters = st.multiselect(
            "Clusters",
            options["clusters"],
            key="clusters",
            placeholder="All clusters",
            help="Leave empty for every cluster.",
        )
    with right:
        sources = st.multiselect(
            "Referral sources",
            options["referral_sources"],
            key="sources",
            placeholder="All referral sources",
            help="Leave empty for every source.",
        )
    if not isinstance(picked, tuple | list) or len(picked) < 2:
        st.info("Choose the last date of the period as well as the first.")
        st.stop()
    start, end = picked[0], picked[1]
    return queries.ReferralFilter(start, end, tuple(clusters), tuple(sources))
