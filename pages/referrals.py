"""Referrals & allocation: where referrals are, how long allocation takes, and who is waiting.

The page reads top to bottom as it draws: filters; headline numbers; allocation lag by cluster;
the waiting list at the end of the period and over time; lag by month and by team; referrals
received, decisions and the funnel; key-worker caseloads. Every number comes from
data_model.read.referrals.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_model.read import referrals, sources
from pages.ui import access, charts, model
from pages.ui.absent import stop_if_not_available
from pages.ui.charts import Series
from pages.ui.filters import describe_filter, period_label, referral_filter
from pages.ui.formats import fmt_date, fmt_int, fmt_number, plain
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import Col, table

access.require("referrals")  # first: who may open this page (data_model/access.yaml)

info = model.info()
threshold = referrals.default_waiting_threshold()

st.title("Referrals and allocation")
st.markdown(
    "How long referrals take to reach a lead practitioner, which clusters have backlogs, and who "
    "is waiting. Choose a period (one click), and optionally clusters and referral sources."
)
# Without the referrals, or the episodes that say when each was allocated, every figure below
# would be a zero (or everyone waiting) that looks like a measurement.
stop_if_not_available(
    "Referrals and their allocation are", model.query(sources.not_available, "allocation")
)

# --- Filters -------------------------------------------------------------------------------------
f = referral_filter(info)
period = period_label(f)
end = fmt_date(f.end)
st.caption(f"Showing {plain(describe_filter(f))}.")

lag_by_cluster = model.query(referrals.allocation_lag_by_cluster, f)
backlog = model.query(referrals.unallocated_backlog, f, threshold)
steps = model.query(referrals.funnel, f)
headline = model.query(referrals.headline, f, threshold)
waiting = headline["waiting"]
waiting_long = headline["waiting_over_threshold"]

# --- Headline numbers ----------------------------------------------------------------------------
metric_row(
    [
        Metric(
            "Referrals received",
            fmt_int(headline["received"]),
            f"Referrals received from {period}.",
        ),
        Metric(
            "Referrals allocated",
            fmt_int(headline["allocated"]),
            f"Referrals allocated to a lead practitioner from {period}, whenever received.",
        ),
        Metric(
            f"Waiting at {end}",
            fmt_int(waiting),
            "Received, not allocated, and not decided other than Accepted, at the end of the "
            "period.",
        ),
        Metric(
            f"Waiting over {threshold} working days",
            fmt_int(waiting_long),
            f"Of the referrals waiting at {end}, those received more than {threshold} working "
            "days before (weekends and bank holidays excluded).",
        ),
    ]
)

# --- Allocation lag by cluster -------------------------------------------------------------------
LAG_COLUMNS = {
    "allocated": Col(
        "Referrals allocated in the period",
        "count",
        help="Referrals allocated to a lead practitioner in the period (the lag is measured for "
        "these).",
    ),
    "median_working_days": Col(
        "Median working days, referral to allocation",
        "decimal",
        help="Half of the referrals allocated waited this long or less.",
    ),
    "p90_working_days": Col(
        "90th percentile working days",
        "decimal",
        help="Nine in ten of the referrals allocated waited this long or less.",
    ),
}
LAG_NOTES = (
    "Allocation lag: working days from the day a referral was received to the day it was "
    "allocated to a lead practitioner (weekends and England and Wales bank holidays excluded; "
    "allocated the same day = 0).",
    "Counted for referrals allocated in the period; referrals still waiting are in the waiting "
    "list instead.",
    f"Filters: {describe_filter(f)}.",
)


NONE_ALLOCATED = "No referrals were allocated in this period with these filters."


def lag_table(
    frame: pd.DataFrame, name: str, first: dict[str, Col], title: str, height: int | str = "auto"
) -> None:
    """Allocation lag per cluster, team or month: the `first` columns, then the lag's."""
    table(frame, name, {**first, **LAG_COLUMNS}, title=title, notes=LAG_NOTES, height=height)


def lag_bars(frame: pd.DataFrame, category: str, title: str, height: int) -> go.Figure:
    """Horizontal bars of the median lag with the 90th percentile beside it, per category."""
    return charts.by_category(
        frame,
        category,
        [
            Series(
                "median_working_days",
                "Median",
                charts.DARK_BLUE,
                "%{y}: median %{x:.1f} working days<extra></extra>",
            ),
            Series(
                "p90_working_days",
                "90th percentile",
                charts.TURQUOISE,
                "%{y}: 90th percentile %{x:.1f} working days<extra></extra>",
            ),
        ],
        title=title,
        height=height,
        value_axis={
            "title": "Working days from referral to allocation",
            "showgrid": True,
            "gridcolor": charts.GRID,
        },
        category_axis={"autorange": "reversed", "title": None},
        barmode="group",
    )


st.header("How long allocation takes, by cluster")
st.markdown(
    f"Working days from referral to allocation to a lead practitioner, for the "
    f"**{fmt_int(headline['allocated'])} referrals allocated** from {period}. "
    "Referrals still waiting are not in these figures: they are in the waiting list below."
)
lag_table(
    lag_by_cluster,
    "Allocation lag by cluster",
    {"cluster": Col("Cluster")},
    "Median and 90th percentile working days from referral to allocation, by cluster",
)
if lag_by_cluster.empty:
    st.info(NONE_ALLOCATED)
else:
    charts.draw(
        lag_bars(
            lag_by_cluster,
            "cluster",
            "Working days from referral to allocation in each cluster: median and 90th percentile",
            height=140 + 48 * len(lag_by_cluster),
        ),
        alt="Bar chart of the median and 90th percentile working days from referral to "
        "allocation in each cluster; the table above gives the figures.",
        key="chart_lag_cluster",
    )

# --- Waiting at the end of the period ------------------------------------------------------------
st.header(f"Referrals waiting at {end}")
st.markdown(
    f"**{fmt_int(waiting)} referrals** were waiting for allocation at the end of "
    f"{end}, **{fmt_int(waiting_long)} of them more than {threshold} working days**. "
    "Waiting means received, not yet allocated, and not decided other than Accepted; the start "
    "of the period does not apply."
)
table(
    backlog,
    "Waiting list",
    {
        "referral_id": Col("Referral"),
        "cluster": Col("Cluster"),
        "referral_source": Col("Referral source"),
        "received_date": Col("Received", "date"),
        "status": Col("Status"),
        "decision_date": Col("Decision date", "date"),
        "waiting_working_days": Col("Working days waiting", "count"),
        "over_threshold": Col(f"Over {threshold} working days", "flag"),
    },
    title=f"Referrals waiting for allocation at {end}, oldest first",
    notes=(
        f"Waiting at {end}: received by then, not allocated by then, and not decided other "
        "than Accepted by then.",
        "Working days waiting: after the day received, up to and including the as-at day, "
        "excluding weekends and bank holidays.",
        f"Filters: {describe_filter(f)}.",
    ),
    height=380,
)
if backlog.empty:
    st.info("Nobody was waiting at the end of the period with these filters.")
else:
    # A band of working days per bar (settings.yaml) up to the last edge, then one bar for longer
    # waits; bars past the threshold in a second colour, named in the legend.
    age_bands = model.query(referrals.waiting_time_bands, f, threshold)
    band_width, _ = referrals.waiting_band_settings()
    ages = charts.by_category(
        age_bands,
        "band",
        [
            Series(
                "referrals",
                name,
                colour,
                "%{x} working days: %{y:,} referrals<extra></extra>",
                data=age_bands[age_bands["within"] == is_within],
            )
            for is_within, name, colour in (
                (True, f"Up to {threshold} working days", charts.DARK_BLUE),
                (False, f"More than {threshold} working days", charts.DARK_PINK),
            )
        ],
        title=f"How long the referrals waiting at {end} had waited, in working days",
        height=380,
        value_axis={"title": "Referrals", "tickformat": ","},
        category_axis={
            "title": "Working days waiting",
            "categoryorder": "array",
            "categoryarray": list(age_bands["band"]),
        },
        horizontal=False,
    )
    charts.draw(
        ages,
        alt=f"Bar chart of the referrals waiting at {end} by how many working days they had "
        f"waited, in groups of {band_width}, with those over {threshold} in a second colour; the "
        "waiting list above has every referral.",
        key="chart_waiting_ages",
    )

# --- The waiting list over time ------------------------------------------------------------------
st.header("The waiting list over time")
over_time = model.query(referrals.backlog_over_time, f, threshold)
if over_time.empty:
    st.info("There is no Friday in this period to count the waiting list on.")
else:
    fig = charts.over_time(
        over_time,
        "week_end",
        title="Referrals waiting at the end of each week (Fridays), and those waiting more than "
        f"{threshold} working days",
        bars=[
            Series(
                "awaiting_allocation",
                "Accepted, awaiting allocation",
                charts.DARK_BLUE,
                "%{y:,}<extra>Awaiting allocation</extra>",
            ),
            Series(
                "awaiting_decision",
                "Awaiting decision",
                charts.TURQUOISE,
                "%{y:,}<extra>Awaiting decision</extra>",
            ),
        ],
        lines=[
            Series(
                "waiting_over_threshold",
                f"Waiting more than {threshold} working days",
                charts.DARK_PINK,
                "%{y:,}<extra>Over " + str(threshold) + " working days</extra>",
            )
        ],
        x_axis={"title": "Week ending", "tickformat": "%d %b %Y"},
        y_axis={"title": "Referrals waiting", "tickformat": ","},
        barmode="stack",
        hovermode="x unified",
    )
    charts.draw(
        fig,
        alt="Stacked bar chart of referrals waiting at the end of each week, split into awaiting "
        f"decision and awaiting allocation, with a line for those waiting more than {threshold} "
        "working days; the table below gives each week.",
        key="chart_backlog_over_time",
    )
table(
    over_time,
    "Waiting list by week",
    {
        "week_end": Col("Week ending (Friday)", "date"),
        "awaiting_decision": Col("Awaiting decision", "count"),
        "awaiting_allocation": Col("Accepted, awaiting allocation", "count"),
        "waiting_over_threshold": Col(f"Waiting more than {threshold} working days", "count"),
    },
    title="Referrals waiting at the end of each week",
    notes=(f"Filters: {describe_filter(f)}.",),
    height=250,
)

# --- Allocation lag by month ---------------------------------------------------------------------
st.header("Allocation lag by month")
by_month = model.query(referrals.allocation_lag_by_month, f)
if by_month.empty:
    st.info(NONE_ALLOCATED)
else:
    fig = charts.over_time(
        by_month,
        "month",
        title="Median and 90th percentile working days from referral to allocation, by month "
        "allocated",
        lines=[
            Series(
                "median_working_days",
                "Median",
                charts.DARK_BLUE,
                "%{y:.1f} working days<extra>Median</extra>",
                markers=True,
            ),
            Series(
                "p90_working_days",
                "90th percentile",
                charts.TURQUOISE,
                "%{y:.1f} working days<extra>90th percentile</extra>",
                markers=True,
                dash="dash",
                symbol="diamond",
            ),
        ],
        x_axis={"title": "Month allocated", "tickformat": "%b %Y"},
        y_axis={"title": "Working days"},
        height=400,
        hovermode="x unified",
    )
    charts.draw(
        fig,
        alt="Line chart of the median and 90th percentile allocation lag in working days for "
        "each month; the table below gives each month.",
        key="chart_lag_month",
    )
lag_table(
    by_month,
    "Allocation lag by month",
    {"month": Col("Month allocated", "month")},
    "Median and 90th percentile working days from referral to allocation, by month",
    height=250,
)

# --- Allocation lag by team ----------------------------------------------------------------------
st.header("Allocation lag by team")
by_team = model.query(referrals.allocation_lag_by_team, f)
if by_team.empty:
    st.info(NONE_ALLOCATED)
else:
    charts.draw(
        lag_bars(
            by_team,
            "team",
            "Working days from referral to allocation in each team: median and 90th percentile",
            height=140 + 36 * len(by_team),
        ),
        alt="Bar chart of the median and 90th percentile working days from referral to "
        "allocation for each team; the table below gives the figures.",
        key="chart_lag_team",
    )
lag_table(
    by_team,
    "Allocation lag by team",
    {"cluster": Col("Cluster"), "team": Col("Team")},
    "Median and 90th percentile working days from referral to allocation, by team",
    height=300,
)

# --- Referrals received --------------------------------------------------------------------------
st.header("Referrals received")
weekly = model.query(referrals.referrals_by_week, f)
if weekly.empty:
    st.info("No referrals were received in this period with these filters.")
else:
    # Six colours at most keep every colour distinguishable: the largest five sources, then the
    # rest together. The table below has every source.
    top_sources = model.query(referrals.referrals_by_week_top_sources, f, 5)
    grouped, sources = top_sources["by_week"], top_sources["sources"]
    fig = charts.over_time(
        grouped,
        "week_start",
        title="Referrals received each week, by referral source",
        bars=[
            Series(
                "referrals",
                source,
                charts.PALETTE[i % len(charts.PALETTE)],
                "%{y:,}<extra>" + charts.label(source) + "</extra>",
                data=grouped[grouped["source"] == source],
            )
            for i, source in enumerate(sources)
        ],
        x_axis={"title": "Week beginning (Monday)", "tickformat": "%d %b %Y"},
        y_axis={"title": "Referrals", "tickformat": ","},
        barmode="stack",
        hovermode="x unified",
    )
    charts.draw(
        fig,
        alt="Stacked bar chart of referrals received each week by referral source (the five "
        "largest sources, then all others together); the table below has every source.",
        key="chart_referrals_weekly",
    )
table(
    weekly,
    "Referrals by week and source",
    {
        "week_start": Col("Week beginning (Monday)", "date"),
        "referral_source": Col("Referral source"),
        "referrals": Col("Referrals received", "count"),
    },
    title="Referrals received each week, by referral source",
    notes=(f"Filters: {describe_filter(f)}.",),
    height=250,
)

# --- Decisions -----------------------------------------------------------------------------------
st.header("Decisions on these referrals")
decided = model.query(referrals.decisions, f)
st.markdown(
    f"The decision recorded by {fmt_date(info['as_at_date'])} on each referral received "
    f"from {period}."
)
if not decided.empty:
    fig = charts.by_category(
        decided,
        "decision",
        [
            Series(
                "referrals",
                None,
                charts.DARK_BLUE,
                "%{y}: %{x:,} referrals<extra></extra>",
                text=[
                    f"{n:,} ({s:.0%})"
                    for n, s in zip(decided["referrals"], decided["share"], strict=True)
                ],
            )
        ],
        title="Referrals received in the period, by decision",
        height=140 + 45 * len(decided),
        value_axis={
            "title": "Referrals",
            "tickformat": ",",
            "range": [0, decided["referrals"].max() * 1.2],
        },
    )
    charts.draw(
        fig,
        alt="Bar chart of the number of referrals with each decision; the table below gives the "
        "numbers and shares.",
        key="chart_decisions",
    )
table(
    decided,
    "Decisions",
    {
        "decision": Col("Decision"),
        "referrals": Col("Referrals", "count"),
        "share": Col("Share of referrals received", "share"),
    },
    title="Decisions on the referrals received in the period",
    notes=(f"Filters: {describe_filter(f)}.",),
)

# --- From referral to family plan ----------------------------------------------------------------
st.header("From referral to family plan")
st.markdown(
    f"How far the referrals received from {period} have got by "
    f"{fmt_date(info['as_at_date'])}, and the median working days each step took."
)
fig = charts.by_category(
    steps,
    "stage",
    [
        Series(
            "referrals",
            None,
            charts.DARK_BLUE,
            "%{y}: %{x:,} referrals<extra></extra>",
            text=[
                f"{n:,} ({s:.0%})" if pd.notna(s) else f"{n:,}"
                for n, s in zip(steps["referrals"], steps["share_of_referred"], strict=True)
            ],
        )
    ],
    title="Referrals received in the period that reached each step",
    height=140 + 45 * len(steps),
    value_axis={
        "title": "Referrals",
        "tickformat": ",",
        "range": [0, max(steps["referrals"].max(), 1) * 1.2],
    },
)
charts.draw(
    fig,
    alt="Bar chart of how many of the referrals received reached each step from referral to "
    "family plan; the table below gives the numbers and median times.",
    key="chart_funnel",
)
table(
    steps,
    "Referral funnel",
    {
        "stage": Col("Step"),
        "referrals": Col("Referrals reaching the step", "count"),
        "share_of_referred": Col("Share of referrals received", "share"),
        "median_working_days_from_previous": Col(
            "Median working days from the previous step",
            "decimal",
            help="Over the referrals that reached the step. Accepted is part of the decision.",
        ),
    },
    title="How far the referrals received in the period have got",
    notes=(f"Filters: {describe_filter(f)}.",),
)

# --- Key-worker caseloads -----------------------------------------------------------------------
st.header(f"Key-worker caseloads at {end}")
loads = model.query(referrals.caseloads, f)
if not loads.empty:
    held = model.query(referrals.caseload_summary, f)
    st.markdown(
        f"Open cases held by each of the **{fmt_int(held['key_workers'])} key workers** with any, "
        f"at the end of {end}; the median key worker held "
        f"**{fmt_number(held['median_open_cases'])}**."
    )
    fig = charts.histogram(
        loads,
        "open_cases",
        name="Key workers",
        hover="%{x} open cases: %{y} key workers<extra></extra>",
        title=f"Key workers by the number of open cases they held at {end}",
        height=360,
        x_title="Open cases",
        y_title="Key workers",
    )
    charts.draw(
        fig,
        alt="Histogram of how many key workers held each number of open cases; the table below "
        "lists every key worker, largest caseload first.",
        key="chart_caseloads",
    )
else:
    st.info("No key worker held an open case at the end of the period with these filters.")
table(
    loads,
    "Caseloads",
    {
        "cluster": Col("Cluster"),
        "team": Col("Team"),
        "key_worker": Col("Key worker"),
        "open_cases": Col("Open cases", "count"),
    },
    title=f"Open cases per key worker at {end}, largest first",
    notes=(
        "Open: allocated by the date and not closed by it.",
        f"Filters: {describe_filter(f)}.",
    ),
    height=300,
)
