"""Referrals & allocation: which clusters have backlogs, what the lag costs, and what more capacity
would buy.

The page reads top to bottom as it draws: filters; the worst backlog in one sentence; headline
numbers; the backlog by cluster. Then tabs: allocation lag by cluster; who is waiting; lag by month
and team; what the lag costs; what more capacity would buy; referrals and decisions; caseloads.
Only the open tab is drawn (st.tabs with on_change="rerun"): the first screen costs the top and
one tab, and each other tab runs when opened. Every number comes from data_model.read
(referrals, lag_cost, forecast); the page only draws.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_model.read import connection, forecast, lag_cost, referrals, sources
from data_model.read import plan as plan_read
from data_model.settings import caution_below_cases
from pages.ui import access, charts, model
from pages.ui.absent import stop_if_not_available
from pages.ui.charts import Series
from pages.ui.filters import describe_filter, period_label, pick, referral_filter
from pages.ui.formats import (
    fmt_choices,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_number,
    plain,
    slug,
)
from pages.ui.layout import tabs_drawn_when_open
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import Col, table

access.require("referrals")  # first: who may open this page (data_model/access.yaml)

info = model.info()
threshold = referrals.default_waiting_threshold()
few = caution_below_cases()
CAUTION = f"Fewer than {few} referrals: use with caution"
NOT_APPLICABLE = "z"  # the GSS symbol: not applicable
NOT_AVAILABLE = "x"  # the GSS symbol: not available

st.title("Referrals and allocation")
st.markdown(
    "Which clusters have backlogs and whether they are getting worse, how long allocation to a "
    "lead practitioner takes, what the wait costs in results claims, and what more capacity "
    "would buy. Choose a period (one click), and optionally clusters and referral sources."
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
day_before = fmt_date(f.start - timedelta(days=1))
filters = describe_filter(f)
st.caption(f"Showing {plain(filters)}.")

by_cluster = model.query(referrals.backlog_by_cluster, f, threshold)
headline = model.query(referrals.headline, f, threshold)
waiting = headline["waiting"]
waiting_long = headline["waiting_over_threshold"]


def caution(counts: pd.Series) -> pd.Series:
    """A caution beside each figure counted over fewer than `few` cases; empty otherwise."""
    return counts.map(lambda n: CAUTION if n < few else "")


def with_symbol(values: pd.Series, symbol: str, decimals: int = 1) -> pd.Series:
    """Numbers as text to one decimal place, the GSS symbol where there is none."""
    return values.map(lambda v: symbol if pd.isna(v) else f"{v:,.{decimals}f}")


def referrals_count(n: float) -> str:
    """A number of referrals in words: '1 referral', '5 referrals'."""
    return f"{fmt_int(n)} referral{'' if round(n) == 1 else 's'}"


def signed_number(value: float) -> str:
    """A figure to one decimal place with a true minus sign when below nought."""
    text = fmt_number(abs(value))
    return f"\u2212{text}" if value < 0 and text != "0" else text


def signed_money(value: float) -> str:
    """Whole pounds with the minus sign before the pound sign when below nought (−£532)."""
    text = fmt_money(abs(value))
    return f"\u2212{text}" if value < 0 and text != "£0" else text


# --- The worst backlog, in one sentence ----------------------------------------------------------
def change_words(change: int) -> str:
    if change > 0:
        return f"{fmt_int(change)} more than"
    if change < 0:
        return f"{fmt_int(-change)} fewer than"
    return "the same as"


worst = referrals.worst_backlog(by_cluster)
if worst is None:
    st.markdown(f"**Nobody was waiting for allocation at {end}** with these filters.")
else:
    over = int(worst["waiting_over_threshold"])
    lead = (
        f"**{plain(worst['cluster'])}** has the worst backlog: "
        if over
        else f"No referral had waited more than {threshold} working days at {end}; "
        f"**{plain(worst['cluster'])}** had the most waiting: "
    )
    st.markdown(
        lead
        + f"**{referrals_count(worst['waiting'])} waiting** at {end}"
        + (f", **{fmt_int(over)} of them more than {threshold} working days**" if over else "")
        + f", {change_words(int(worst['change']))} at the start of the period ({day_before})."
    )

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
            f"Referrals allocated to a lead practitioner from {period}, whenever received "
            "(the funnel counts the referrals received in the period instead).",
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

# --- Backlog by cluster --------------------------------------------------------------------------
st.header("Backlog by cluster")
st.markdown(
    f"Referrals waiting for allocation in each cluster at {end}, those waiting more than "
    f"{threshold} working days, and the change since the start of the period ({day_before}). "
    "Worst first: most waiting over the threshold, then most waiting."
)
table(
    by_cluster,
    "Backlog by cluster",
    {
        "cluster": Col("Cluster"),
        "waiting": Col(f"Waiting at {end}", "count"),
        "waiting_over_threshold": Col(f"Of them, over {threshold} working days", "count"),
        "waiting_at_start": Col(f"Waiting at {day_before}", "count"),
        "change": Col("Change since the start", "change"),
        "trend": Col(
            "Waiting, week by week",
            "trend",
            help=f"The waiting list at {day_before}, at each Friday of the period and at {end}.",
        ),
    },
    title=f"Referrals waiting for allocation by cluster at {end}, and the change since "
    f"{day_before}",
    notes=(
        "Waiting at a date: received by then, not allocated by then, and not decided other than "
        "Accepted by then.",
        f"The start of the period is counted at the end of {day_before}, the day before it.",
        "Waiting, week by week: the start, each Friday of the period and its end.",
        f"Filters: {filters}.",
    ),
)

# --- Allocation lag ------------------------------------------------------------------------------
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
    "caution": Col("Note"),
}
LAG_NOTES = (
    "Allocation lag: working days from the day a referral was received to the day it was "
    "allocated to a lead practitioner (weekends and England and Wales bank holidays excluded; "
    "allocated the same day = 0).",
    "Counted for referrals allocated in the period; referrals still waiting are in the waiting "
    "list instead.",
    f"Note: a median or percentile from fewer than {few} referrals can move a long way with one "
    "more; use it with caution.",
    f"Filters: {filters}.",
)
NONE_ALLOCATED = "No referrals were allocated in this period with these filters."


def lag_table(
    frame: pd.DataFrame, name: str, first: dict[str, Col], title: str, height: int | str = "auto"
) -> None:
    """Allocation lag per cluster, team or month: the `first` columns, then the lag's."""
    shown = frame.assign(caution=caution(frame["allocated"]))
    table(shown, name, {**first, **LAG_COLUMNS}, title=title, notes=LAG_NOTES, height=height)


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


def allocation_lag_by_cluster_tab() -> None:
    """Allocation lag by cluster: the table and its chart."""
    lag_by_cluster = model.query(referrals.allocation_lag_by_cluster, f)
    st.header("How long allocation takes, by cluster")
    st.markdown(
        f"Working days from referral to allocation to a lead practitioner, for the "
        f"**{fmt_int(headline['allocated'])} referrals allocated** from {period}. "
        "Referrals still waiting are not in these figures: they are in the waiting list."
    )
    if lag_by_cluster.empty:
        st.info(NONE_ALLOCATED)
    else:
        lag_table(
            lag_by_cluster,
            "Allocation lag by cluster",
            {"cluster": Col("Cluster")},
            "Median and 90th percentile working days from referral to allocation, by cluster",
        )
        charts.draw(
            lag_bars(
                lag_by_cluster,
                "cluster",
                "Working days from referral to allocation in each cluster: median and 90th "
                "percentile",
                height=140 + 48 * len(lag_by_cluster),
            ),
            alt="Bar chart of the median and 90th percentile working days from referral to "
            "allocation in each cluster; the table above gives the figures.",
            key="chart_lag_cluster",
        )


# --- Waiting at the end of the period ------------------------------------------------------------
def who_is_waiting_tab() -> None:
    """The waiting list at the end of the period, its ages, and the list over time."""
    backlog = model.query(referrals.unallocated_backlog, f, threshold)
    st.header(f"Referrals waiting at {end}")
    st.markdown(
        f"**{referrals_count(waiting)}** waiting for allocation at the end of "
        f"{end}, **{fmt_int(waiting_long)} of them more than {threshold} working days**. "
        "Waiting means received, not yet allocated, and not decided other than Accepted; the "
        "start of the period does not apply."
    )
    if backlog.empty:
        st.info("Nobody was waiting at the end of the period with these filters.")
    else:
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
                f"Waiting at {end}: received by then, not allocated by then, and not decided "
                "other than Accepted by then.",
                "Working days waiting: after the day received, up to and including the as-at "
                "day, excluding weekends and bank holidays.",
                "Decision date: empty while awaiting a decision.",
                f"Filters: {filters}.",
            ),
            height=380,
        )
        # A band of working days per bar (settings.yaml) up to the last edge, then one bar for
        # longer waits; bars past the threshold in a second colour, named in the legend.
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
            value_axis={"title": "Referrals", **charts.count_ticks(age_bands["referrals"].max())},
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
            f"waited, in groups of {band_width}, with those over {threshold} in a second colour; "
            "the waiting list above has every referral.",
            key="chart_waiting_ages",
        )

    st.header("The waiting list over time")
    over_time = model.query(referrals.backlog_over_time, f, threshold)
    if over_time.empty:
        st.info("There is no Friday in this period to count the waiting list on.")
    else:
        largest = (over_time["awaiting_allocation"] + over_time["awaiting_decision"]).max()
        fig = charts.over_time(
            over_time,
            "week_end",
            title="Referrals waiting at the end of each week (Fridays), and those waiting more "
            f"than {threshold} working days",
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
            y_axis={"title": "Referrals waiting", **charts.count_ticks(largest)},
            barmode="stack",
            hovermode="x unified",
        )
        charts.draw(
            fig,
            alt="Stacked bar chart of referrals waiting at the end of each week, split into "
            "awaiting decision and awaiting allocation, with a line for those waiting more than "
            f"{threshold} working days; the table below gives each week.",
            key="chart_backlog_over_time",
        )
        table(
            over_time,
            "Waiting list by week",
            {
                "week_end": Col("Week ending (Friday)", "date"),
                "awaiting_decision": Col("Awaiting decision", "count"),
                "awaiting_allocation": Col("Accepted, awaiting allocation", "count"),
                "waiting_over_threshold": Col(
                    f"Waiting more than {threshold} working days", "count"
                ),
            },
            title="Referrals waiting at the end of each week",
            notes=(f"Filters: {filters}.",),
            height=250,
        )


# --- Allocation lag by month and by team ---------------------------------------------------------
def lag_by_month_and_team_tab() -> None:
    """Allocation lag by month allocated and by team."""
    st.header("Allocation lag by month")
    by_month = model.query(referrals.allocation_lag_by_month, f)
    if by_month.empty:
        st.info(NONE_ALLOCATED)
    else:
        fig = charts.over_time(
            by_month,
            "month",
            title="Median and 90th percentile working days from referral to allocation, by "
            "month allocated",
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
            x_axis={"title": "Month allocated", **charts.month_ticks(len(by_month))},
            y_axis={"title": "Working days"},
            height=400,
            hovermode="x unified",
        )
        charts.draw(
            fig,
            alt="Line chart of the median and 90th percentile allocation lag in working days "
            "for each month; the table below gives each month.",
            key="chart_lag_month",
        )
        lag_table(
            by_month,
            "Allocation lag by month",
            {"month": Col("Month allocated", "month")},
            "Median and 90th percentile working days from referral to allocation, by month",
            height=250,
        )

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


# --- What the lag costs --------------------------------------------------------------------------
def what_the_lag_costs_tab() -> None:
    """What the lag costs: the estimate, its chart, table and method."""
    st.header("What the lag costs")
    absent = model.query(sources.not_available, "attachment")
    if absent:
        st.info(f"What the lag costs is {plain(absent)}: it follows attached families.")
    elif "mart_referral_lag_outcome" not in model.query(connection.model_tables):
        st.info("What the lag costs needs a model built by this release: build the model again.")
    else:
        plan = model.query(plan_read.active_plan)
        estimate = model.query(lag_cost.lag_cost)
        cost = model.query(lag_cost.cost_of_waiting, f)
        bands = estimate["bands"]
        months = estimate["follow_up_months"]
        allocated_by = fmt_date(estimate["allocated_by"])
        first = bands.iloc[0]
        payment = float(plan.get("results_payment") or 0)
        first_limit = first["band_words"].removeprefix("within ")
        where_now = plain(fmt_choices(f.clusters, "all clusters"))
        st.markdown(
            f"Among the **{fmt_int(estimate['families'])} families** attached after a referral "
            f"allocated by {allocated_by}, how often each reached a results claim within "
            f"{months} months of allocation, by how long its referral waited for allocation: "
            "as counted, and adjusted for the problems each family had when referred."
        )
        if not estimate["estimated"]:
            st.info(f"No adjusted comparison is possible: {plain(estimate['reason'])}.")
        else:
            estimated = bands[bands["gap"].notna()]
            longest = estimated.iloc[-1]
            st.markdown(
                "**" + lag_cost.gap_sentence(longest, first["band_words"]).replace(" (", "** (", 1)
            )
            for row in estimated.iloc[:-1].itertuples():
                st.markdown(lag_cost.gap_sentence(pd.Series(row._asdict()), first["band_words"]))
            if cost["estimated"] and cost["counted"]:
                claims, low, high = cost["claims"], cost["claims_low"], cost["claims_high"]
                worth = (
                    f", **{signed_money(claims * payment)}** at the plan's "
                    f"{fmt_money(payment)} a results claim (95% interval "
                    f"{signed_money(low * payment)} to {signed_money(high * payment)})"
                    if payment > 0
                    else " (the plan pays nothing for results, so the gap is shown in claims)"
                )
                unsure = (
                    " The interval includes no cost at all: the data cannot say there is one."
                    if low <= 0 <= high
                    else ""
                )
                st.markdown(
                    f"For the **{referrals_count(cost['counted'])} waiting now** "
                    f"(at {fmt_date(info['as_at_date'])}, {where_now}) "
                    f"that have already waited longer than {first_limit}, "
                    f"the gap represents about **{signed_number(claims)} results claims** "
                    f"(95% interval {signed_number(low)} to {signed_number(high)}){worth}, if "
                    "they are "
                    f"attached as often as allocated referrals have been "
                    f"({100 * cost['attachment_rate']:.1f}%). Each is counted in the band its "
                    "wait has reached so far, though it will wait longer still."
                    + (
                        f" {fmt_int(cost['not_estimated'])} waiting referrals are in bands too "
                        "small to estimate and are not counted."
                        if cost["not_estimated"]
                        else ""
                    )
                    + unsure
                )
            elif cost["waiting"]:
                st.markdown(
                    f"No referral waiting now has waited longer than {first_limit} in a band "
                    "that can be estimated, so the gap represents no claims for them yet."
                )
            figure = charts.figure(
                "Share of attached families reaching a results claim within "
                f"{months} months of allocation, by working days from referral to allocation "
                "(adjusted for problems at referral, with 95% intervals)",
                height=380,
            )
            figure.add_trace(
                go.Bar(
                    x=bands["band"],
                    y=100 * bands["share_adjusted"],
                    name="Adjusted",
                    marker={"color": charts.DARK_BLUE},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": 100 * (bands["share_high"] - bands["share_adjusted"]),
                        "arrayminus": 100 * (bands["share_adjusted"] - bands["share_low"]),
                        "color": charts.TEXT,
                    },
                    hovertemplate="%{x} working days: %{y:.1f}%<extra>Adjusted</extra>",
                )
            )
            figure.add_trace(
                go.Scatter(
                    x=bands["band"],
                    y=100 * bands["share_counted"],
                    name="As counted",
                    mode="markers",
                    marker={"color": charts.ORANGE, "symbol": "diamond", "size": 11},
                    hovertemplate="%{x} working days: %{y:.1f}%<extra>As counted</extra>",
                )
            )
            figure.update_xaxes(title="Working days from referral to allocation", type="category")
            figure.update_yaxes(title="Reached a results claim (%)", ticksuffix="%")
            charts.draw(
                figure,
                alt="Bar chart of the adjusted share of attached families reaching a results "
                "claim in each allocation lag band, with 95% intervals, and the share as counted "
                "as a marker; the table below gives the figures.",
                key="chart_lag_cost",
            )
        shown = bands.assign(
            gap=100 * bands["gap"],
            gap_low=100 * bands["gap_low"],
            gap_high=100 * bands["gap_high"],
            note=[
                f"Fewer than {few} families: use the share as counted with caution; not estimated"
                if row.families < few
                else ""
                if row.estimable
                else "Every family had the same outcome: not estimated"
                for row in bands.itertuples()
            ],
        )
        table(
            shown,
            "What the lag costs",
            {
                "band": Col("Working days from referral to allocation"),
                "families": Col("Attached families", "count"),
                "claims": Col(f"Reached a results claim within {months} months", "count"),
                "share_counted": Col("Share as counted", "share"),
                "share_adjusted": Col("Share adjusted for problems at referral", "share"),
                "share_low": Col("Adjusted: 95% interval from", "share"),
                "share_high": Col("Adjusted: 95% interval to", "share"),
                "gap": Col(
                    f"Gap from {first['band']} working days, percentage points",
                    "decimal",
                    help="The first band's adjusted share minus this band's: positive, this band "
                    "reached a claim less often.",
                ),
                "gap_low": Col("Gap: 95% interval from", "decimal"),
                "gap_high": Col("Gap: 95% interval to", "decimal"),
                "note": Col("Note"),
            },
            title="Attached families reaching a results claim, by allocation lag",
            notes=(
                f"Families attached after a referral allocated by {allocated_by}, each followed "
                f"for {months} months from allocation.",
                "Adjusted shares: logistic regression on the lag band and the problems at "
                "referral, averaged over every family in the estimate (marginal "
                "standardisation); intervals by the delta method.",
                "Empty cells: not estimated (see Note), or not applicable to the first band.",
                "Association, not proof: see How this is worked out.",
            ),
        )
        with st.expander("How this is worked out, and what it cannot tell you"):
            adjusted = estimate["adjusted_for"]
            left_out = estimate["left_out"]
            routes = plain(plan.get("claim_routes") or "")
            adjusted_text = (
                plain("; ".join(adjusted)) if adjusted else "no problem (none could be used)"
            )
            left_out_text = (
                "**Left out of the adjustment:** "
                + plain("; ".join(f"{title} ({why})" for title, why in left_out))
                + "."
                if left_out
                else ""
            )
            st.markdown(
                f"""
**Which families.** Every family attached to the programme whose referral was allocated by
{allocated_by}, {months} months before the data's as-at date, so each had the same {months}
months after allocation to reach a results claim (the plan's claim routes: *{routes}*).
Families whose attachment referral was not loaded are not included. The lag is the working days
from referral to allocation to a lead practitioner.

**The method.** A logistic regression of reaching a results claim on the lag band
({", ".join(bands["band"])} working days; {first["band"]} the comparison) and, for each of the
plan's problems, whether the family had it on the day it was referred. Each band's adjusted share
is the average, over every family in the estimate, of the chance the model gives it were it
allocated in that band: so every band is compared on the same mix of problems ("similar
families"). Intervals are the model's 95% intervals (delta method). A regression was chosen over
stratifying by problems and standardising: with {len(adjusted) + len(left_out)} problems there are
dozens of combinations, most of them empty in some band at a council's size, which direct
standardisation cannot use; the regression adjusts for every problem at once.

**Adjusted for:** {adjusted_text}.
{left_out_text}
Bands with fewer than {few} families, or where every family had the same outcome, are counted but
not estimated.

**Association, not proof.** The figures show how often families allocated sooner or later reached
a claim, allowing for their problems when referred. They do not show that the wait caused the
difference: referrals may wait longer for reasons that also make a claim less likely (a family
that is hard to reach, a cluster under strain), which problems at referral do not capture. Problems
that began during the wait are deliberately not adjusted for, since they may be part of what the
wait costs. Claims are those the model can evidence by the as-at date.
"""
            )


# --- What more capacity would buy -----------------------------------------------------------------
def what_more_capacity_would_buy_tab() -> None:
    """The forecast by cluster, its what-if, and the forecast replayed on the last quarter."""
    st.header("What more capacity would buy")
    config = forecast.forecast_settings()
    clusters_known = list(model.query(referrals.filter_options)["clusters"])
    shown_clusters = list(f.clusters) or clusters_known
    st.markdown(
        f"Each cluster's waiting list and allocation lag for the next {config['weeks']} weeks, "
        "forecast from the referrals waiting now, the seasonal pattern of referrals over the "
        f"last {config['seasonality_years']} years and the cluster's allocations a week over the "
        f"last {config['capacity_weeks']} weeks. Change a cluster's allocations a week to see "
        "what more capacity would buy; a negative number takes capacity away, so moving two a "
        "week from one cluster to another is −2 in one and +2 in the other. Every referral "
        "source is counted."
    )
    columns = st.columns(4)
    extra: list[tuple[str, float]] = []
    for i, name in enumerate(shown_clusters):
        with columns[i % 4]:
            more = st.number_input(
                plain(name),
                min_value=-50,
                max_value=50,
                value=0,
                step=1,
                key=f"extra_{slug(name)}",
                help=f"Extra allocations a week in {plain(name)} (negative: fewer).",
            )
        if more:
            extra.append((name, float(more)))
    run = model.query(forecast.capacity_forecast, tuple(extra))
    if run["summary"].empty:
        st.info("There are no referrals in any cluster to forecast from.")
        return
    summary = run["summary"][run["summary"]["cluster"].isin(shown_clusters)]
    weekly = run["weekly"][run["weekly"]["cluster"].isin(shown_clusters)]
    horizon = fmt_date(run["end"])
    now_waiting = int(summary["waiting_now"].sum())
    now = fmt_int(now_waiting)
    current_end = summary["waiting_end_current"].sum()
    what_if_end = summary["waiting_end_what_if"].sum()
    text = (
        f"At current allocations a week, **{referrals_count(current_end)}** would be waiting "
        f"on {horizon} in {plain(fmt_choices(tuple(f.clusters), 'all clusters'))}, against "
        f"{now} waiting now ({fmt_date(run['start'])})."
    )
    if extra:
        text += (
            f" With the changes above, **{fmt_int(what_if_end)}** "
            f"({change_words(round(what_if_end) - round(current_end))} at current capacity)."
        )
    st.markdown(text)
    table(
        summary.assign(
            allocations_a_week=summary["allocations_a_week"].round(1),
            median_lag_current=with_symbol(summary["median_lag_current"], NOT_AVAILABLE, 0),
            median_lag_what_if=with_symbol(summary["median_lag_what_if"], NOT_AVAILABLE, 0),
            caution=[
                f"Fewer than {few} allocations forecast: use the median lag with caution"
                if min(current, what_if) < few
                else ""
                for current, what_if in zip(
                    summary["allocated_current"], summary["allocated_what_if"], strict=True
                )
            ],
        ),
        "Capacity forecast",
        {
            "cluster": Col("Cluster"),
            "waiting_now": Col(f"Waiting at {fmt_date(run['start'])}", "count"),
            "allocations_a_week": Col("Allocations a week now", "decimal"),
            "extra_a_week": Col("Extra a week (what-if)", "count"),
            "waiting_end_current": Col(f"Waiting at {horizon}: current capacity", "count"),
            "waiting_end_what_if": Col(f"Waiting at {horizon}: with the what-if", "count"),
            "over_threshold_end_current": Col(
                f"Over {threshold} working days at {horizon}: current", "count"
            ),
            "over_threshold_end_what_if": Col(
                f"Over {threshold} working days at {horizon}: with the what-if", "count"
            ),
            "median_lag_current": Col("Median lag, working days: current"),
            "median_lag_what_if": Col("Median lag, working days: with the what-if"),
            "caution": Col("Note"),
        },
        title=f"Forecast waiting list and allocation lag by cluster to {horizon}",
        notes=(
            f"Forecast from {fmt_date(run['start'])} for {config['weeks']} weeks; waiting "
            "lists rounded to whole referrals.",
            "Median lag: over the referrals the forecast allocates in the weeks; x: not "
            "available (the cluster allocated nobody in the weeks its capacity is taken from).",
            "Every referral source is counted; the cluster filter chooses the rows.",
        ),
    )
    choices = {"": "All the clusters shown", **{c: c for c in shown_clusters}}
    chosen = pick("Cluster to draw", choices, key="forecast_cluster")
    drawn = [chosen] if chosen else shown_clusters
    history = model.query(forecast.recent_waiting)
    history = history[history["cluster"].isin(drawn)]
    mine = weekly[weekly["cluster"].isin(drawn)]
    paths = mine.groupby(["scenario", "week_end"], as_index=False)["waiting"].sum()
    past = history.groupby("week_end", as_index=False)["waiting"].sum()
    where = plain(chosen) if chosen else "the clusters shown"
    fig = charts.figure(
        f"Referrals waiting in {chosen or 'the clusters shown'}: the last {config['weeks']} "
        f"weeks, and the forecast to {horizon}",
        height=400,
    )
    fig.add_trace(
        go.Scatter(
            x=past["week_end"], y=past["waiting"], name="Waiting (counted)", mode="lines+markers",
            line={"color": charts.DARK_GREY, "width": 3},
            hovertemplate="%{y:,}<extra>Counted</extra>",
        )
    )  # fmt: skip
    for scenario, name, colour, dash in (
        ("current", "Forecast at current capacity", charts.DARK_BLUE, "dash"),
        ("what_if", "Forecast with the what-if", charts.DARK_PINK, None),
    ):
        if scenario == "what_if" and not extra:
            continue
        # from the waiting list now, so the forecast continues the counted line
        path = pd.concat(
            [
                pd.DataFrame({"week_end": [run["start"]], "waiting": [now_waiting]}),
                paths.loc[paths["scenario"] == scenario, ["week_end", "waiting"]],
            ]
        )
        fig.add_trace(
            go.Scatter(
                x=path["week_end"], y=path["waiting"], name=name, mode="lines",
                line={"color": colour, "width": 3, "dash": dash},
                hovertemplate="%{y:,.0f}<extra>" + name + "</extra>",
            )
        )  # fmt: skip
    fig.update_xaxes(title="Week ending (Friday)", tickformat="%d %b %Y")
    top = max(past["waiting"].max(), paths["waiting"].max() if len(paths) else 0)
    fig.update_yaxes(title="Referrals waiting", **charts.count_ticks(top))
    charts.draw(
        fig,
        alt=f"Line chart of the referrals waiting in {where} at each Friday of the last "
        f"{config['weeks']} weeks, then the forecast at current capacity and with the what-if; "
        "the table above gives each cluster's figures.",
        key="chart_capacity_forecast",
    )

    st.subheader("How far off the forecast runs")
    replay = model.query(forecast.forecast_replay)
    replayed = replay["summary"]
    rows = replayed[replayed["cluster"].isin(shown_clusters)]
    district = replayed[replayed["cluster"] == "All clusters"].iloc[0]
    st.markdown(
        f"The same forecast made as if on {fmt_date(replay['start'])}, with only what was known "
        f"then, against what happened to {fmt_date(replay['end'])}: the district's waiting list "
        f"was off by **{fmt_number(district['mean_absolute_error'])} referrals** a week on "
        "average"
        + (
            f" ({100 * district['relative_error']:.1f}% of the waiting list)"
            if pd.notna(district["relative_error"])
            else ""
        )
        + f"; it forecast {fmt_int(district['forecast_end'])} waiting on "
        f"{fmt_date(replay['end'])} against {fmt_int(district['actual_end'])}. Read the forecast "
        "above with that margin in mind."
    )
    replay_weekly = replay["weekly"][replay["weekly"]["cluster"].isin(drawn)]
    replay_paths = replay_weekly.groupby("week_end", as_index=False)[["forecast", "actual"]].sum()
    fig = charts.figure(
        f"Referrals waiting in {chosen or 'the clusters shown'} from "
        f"{fmt_date(replay['start'])}: the forecast made then, and the waiting list counted",
        height=380,
    )
    for column, name, colour, dash in (
        ("actual", "Waiting (counted)", charts.DARK_GREY, None),
        ("forecast", "Forecast made then", charts.DARK_BLUE, "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=replay_paths["week_end"], y=replay_paths[column], name=name,
                mode="lines+markers", line={"color": colour, "width": 3, "dash": dash},
                hovertemplate="%{y:,.0f}<extra>" + name + "</extra>",
            )
        )  # fmt: skip
    fig.update_xaxes(title="Week ending (Friday)", tickformat="%d %b %Y")
    fig.update_yaxes(
        title="Referrals waiting",
        **charts.count_ticks(replay_paths[["forecast", "actual"]].max().max()),
    )
    charts.draw(
        fig,
        alt=f"Line chart of the referrals waiting in {where} at each Friday from "
        f"{fmt_date(replay['start'])}, as the forecast made then said and as counted; the table "
        "below gives each cluster's error.",
        key="chart_forecast_replay",
    )
    table(
        pd.concat([rows, replayed[replayed["cluster"] == "All clusters"]]).assign(
            relative_error=lambda d: 100 * d["relative_error"],
            forecast_median_lag=lambda d: with_symbol(d["forecast_median_lag"], NOT_AVAILABLE, 0),
            actual_median_lag=lambda d: with_symbol(d["actual_median_lag"], NOT_AVAILABLE, 1),
            caution=lambda d: d["actual_allocated"].map(
                lambda n: (
                    f"Fewer than {few} allocated: use the medians with caution" if n < few else ""
                )
            ),
        ),
        "Forecast replayed",
        {
            "cluster": Col("Cluster"),
            "mean_absolute_error": Col(
                "Mean absolute error, referrals waiting",
                "decimal",
                help="The average over the weeks' Fridays of how far the forecast waiting list "
                "was from the one counted.",
            ),
            "relative_error": Col("Error as a share of the waiting list (%)", "decimal"),
            "forecast_end": Col(f"Forecast waiting at {fmt_date(replay['end'])}", "count"),
            "actual_end": Col(f"Counted waiting at {fmt_date(replay['end'])}", "count"),
            "forecast_median_lag": Col("Forecast median lag, working days"),
            "actual_median_lag": Col("Counted median lag, working days"),
            "actual_allocated": Col("Referrals allocated", "count"),
            "caution": Col("Note"),
        },
        title=f"The forecast replayed from {fmt_date(replay['start'])} against what happened",
        notes=(
            f"Made with what was known on {fmt_date(replay['start'])} and the same method; "
            f"compared at each Friday to {fmt_date(replay['end'])}.",
            "x: not available (no allocation forecast, or none counted).",
        ),
    )
    with st.expander("How the forecast is made"):
        st.markdown(
            f"""
A deterministic simulation of each cluster's queue, one working day at a time, first come first
served, treating referrals as a flow (so it has no luck in it; figures are rounded on the page):

- It starts from the referrals waiting at {fmt_date(run["start"])}.
- Referrals arrive on each working day at the cluster's average over the last
  {config["seasonality_years"]} years, times the month's seasonal index (referrals a working
  day in that calendar month across the district, against the average).
- The share the cluster decided other than Accepted over those years leaves the list at the
  median working days such decisions took; the rest can be allocated once the median working days
  to an acceptance have passed.
- Each working day the cluster allocates a fifth of its allocations a week (its average over
  the last {config["capacity_weeks"]} weeks, plus the what-if), to those who have waited longest.

It assumes referrals keep their level and seasonal pattern and capacity stays as it has been;
it does not know about leave, vacancies or a change in demand. A cluster whose waiting list was
empty for part of those weeks allocated fewer than it could have, so its capacity is understated.
The replay shows how far such a forecast ran from what happened last quarter.
"""
        )


# --- Referrals received, decisions and the funnel -------------------------------------------------
def referrals_and_decisions_tab() -> None:
    """Referrals received by week and source, decisions and the funnel."""
    st.header("Referrals received")
    weekly_received = model.query(referrals.referrals_by_week, f)
    if weekly_received.empty:
        st.info("No referrals were received in this period with these filters.")
    else:
        # Six colours at most keep every colour distinguishable: the largest five sources, then
        # the rest together. The table below has every source.
        top_sources = model.query(referrals.referrals_by_week_top_sources, f, 5)
        grouped, source_names = top_sources["by_week"], top_sources["sources"]
        most_a_week = grouped.groupby("week_start")["referrals"].sum().max()
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
                for i, source in enumerate(source_names)
            ],
            x_axis={"title": "Week beginning (Monday)", "tickformat": "%d %b %Y"},
            y_axis={"title": "Referrals", **charts.count_ticks(most_a_week)},
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
            weekly_received,
            "Referrals by week and source",
            {
                "week_start": Col("Week beginning (Monday)", "date"),
                "referral_source": Col("Referral source"),
                "referrals": Col("Referrals received", "count"),
            },
            title="Referrals received each week, by referral source",
            notes=(f"Filters: {filters}.",),
            height=250,
        )

    st.header("Decisions on these referrals")
    decided = model.query(referrals.decisions, f)
    st.markdown(
        f"The decision recorded by {fmt_date(info['as_at_date'])} on each referral received "
        f"from {period}."
        + (
            f" Shares of fewer than {few} referrals received: use with caution."
            if 0 < headline["received"] < few
            else ""
        )
    )
    if decided.empty:
        st.info("No referrals were received in this period with these filters.")
    else:
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
                        f"{n:,} ({s:.1%})"
                        for n, s in zip(decided["referrals"], decided["share"], strict=True)
                    ],
                )
            ],
            title="Referrals received in the period, by decision",
            height=140 + 45 * len(decided),
            value_axis={
                "title": "Referrals",
                **charts.count_ticks(decided["referrals"].max()),
                "range": [0, decided["referrals"].max() * 1.2],
            },
        )
        charts.draw(
            fig,
            alt="Bar chart of the number of referrals with each decision; the table below gives "
            "the numbers and shares.",
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
            notes=(f"Filters: {filters}.",),
        )

    st.header("From referral to family plan")
    steps = model.query(referrals.funnel, f)
    st.markdown(
        f"How far the referrals received from {period} have got by "
        f"{fmt_date(info['as_at_date'])}, and the median working days each step took. These are "
        "the referrals *received* in the period: the headline's referrals allocated counts "
        "allocations made in the period, whenever the referral came, so the two differ."
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
                    f"{n:,} ({s:.1%})" if pd.notna(s) else f"{n:,}"
                    for n, s in zip(steps["referrals"], steps["share_of_referred"], strict=True)
                ],
            )
        ],
        title="Referrals received in the period that reached each step",
        height=140 + 45 * len(steps),
        value_axis={
            "title": "Referrals",
            **charts.count_ticks(steps["referrals"].max()),
            "range": [0, max(steps["referrals"].max(), 1) * 1.2],
        },
    )
    charts.draw(
        fig,
        alt="Bar chart of how many of the referrals received reached each step from referral to "
        "family plan; the table below gives the numbers and median times.",
        key="chart_funnel",
    )
    first_steps = steps["stage_order"].isin([1, 3])  # no previous step of its own to time
    table(
        steps.assign(
            median_working_days_from_previous=[
                NOT_APPLICABLE if not_timed else (NOT_AVAILABLE if pd.isna(v) else f"{v:.1f}")
                for not_timed, v in zip(
                    first_steps, steps["median_working_days_from_previous"], strict=True
                )
            ],
            caution=caution(steps["referrals"]).where(~first_steps, ""),
        ),
        "Referral funnel",
        {
            "stage": Col("Step"),
            "referrals": Col("Referrals reaching the step", "count"),
            "share_of_referred": Col("Share of referrals received", "share"),
            "median_working_days_from_previous": Col(
                "Median working days from the previous step",
                help="Over the referrals that reached the step. Accepted is part of the decision.",
            ),
            "caution": Col("Note"),
        },
        title="How far the referrals received in the period have got",
        notes=(
            "z: not applicable (Referred is the first step; Accepted is part of the decision). "
            "x: not available (no referral reached the step).",
            f"Filters: {filters}.",
        ),
    )


# --- Key-worker caseloads -----------------------------------------------------------------------
def caseloads_tab() -> None:
    """Key-worker caseloads at the end of the period."""
    st.header(f"Key-worker caseloads at {end}")
    loads = model.query(referrals.caseloads, f)
    if loads.empty:
        st.info("No key worker held an open case at the end of the period with these filters.")
    else:
        held = model.query(referrals.caseload_summary, f)
        st.markdown(
            f"Open cases held by each of the **{fmt_int(held['key_workers'])} key workers** "
            f"with any, at the end of {end}; the median key worker held "
            f"**{fmt_number(held['median_open_cases'])}**"
            + (
                f" (from fewer than {few} key workers: use with caution)."
                if held["key_workers"] < few
                else "."
            )
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
        fig.update_xaxes(**charts.count_ticks(loads["open_cases"].max()))
        fig.update_yaxes(**charts.count_ticks(loads["open_cases"].value_counts().max()))
        charts.draw(
            fig,
            alt="Histogram of how many key workers held each number of open cases; the table "
            "below lists every key worker, largest caseload first.",
            key="chart_caseloads",
        )
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
                f"Filters: {filters}.",
            ),
            height=300,
        )


# --- The tabs: only the open one is drawn (the rest run when opened) -----------------------------
SECTIONS = {
    "Lag by cluster": allocation_lag_by_cluster_tab,
    "Who is waiting": who_is_waiting_tab,
    "Lag by month and team": lag_by_month_and_team_tab,
    "What the lag costs": what_the_lag_costs_tab,
    "What more capacity would buy": what_more_capacity_would_buy_tab,
    "Referrals and decisions": referrals_and_decisions_tab,
    "Caseloads": caseloads_tab,
}
TAB_KEY = "referrals_tab"  # the open tab, kept in the session
tabs_drawn_when_open(SECTIONS, TAB_KEY)
