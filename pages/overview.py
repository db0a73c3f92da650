"""Overview: families referred and attached, the trajectory to the target, and data currency."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_model import plan_queries, queries
from pages import common
from pages.common import Col

info = common.info()
as_at = info["as_at_date"]
end = info["programme_end"]

st.title("Overview")
st.markdown(
    f"How many families {info.get('programme_name') or 'the programme'} has reached, and whether "
    f"it is on course for its target. Data current to **{common.fmt_date(as_at)}**."
)

# --- The target (a what-if: change it to see what another target would take) ---------------------
target = int(
    st.number_input(
        f"Target: families attached by {common.fmt_date(end)}",
        min_value=1,
        max_value=1_000_000,
        value=int(info["target_families"]),
        step=10,
        key="target",
        help="The programme's target from the council's reference data. Change it to see what "
        "another target would take; nothing is saved.",
    )
)
summary = common.query(queries.programme_summary, target)

# --- Headline numbers ----------------------------------------------------------------------------
referred, attached, expected, gap = st.columns(4)
referred.metric(
    "Families referred",
    common.fmt_int(summary["families_referred"]),
    help="Families (early help cases) with at least one referral received by the as-at date.",
    border=True,
)
attached.metric(
    "Families attached",
    common.fmt_int(summary["families_attached"]),
    help="Families attached to the programme (one key worker, a whole-family assessment and a "
    "family plan), each counted once.",
    border=True,
)
expected.metric(
    "Expected by now",
    common.fmt_int(summary["expected_by_now"]),
    help="Where a straight line from none at the start to the target at the end stands at the "
    "as-at month.",
    border=True,
)
behind = summary["gap_families"]
gap.metric(
    "Behind the trajectory" if behind > 0 else "Ahead of the trajectory",
    common.fmt_int(abs(behind)),
    help="Expected by now minus families attached.",
    border=True,
)

months = summary["recent_months"]
recent = common.fmt_number(summary["recent_families_a_month"])
attached_so_far = common.fmt_int(summary["families_attached"])
recent_rate = f"**{recent} a month** over the last {months} months"
if summary["still_needed"] == 0:
    over = summary["families_attached"] - target
    st.markdown(
        f"The target of {common.fmt_int(target)} families has been reached: "
        f"**{attached_so_far} attached**"
        + (f", {common.fmt_int(over)} more than the target" if over else "")
        + f", with {recent_rate}."
    )
elif summary["families_a_month_needed"] is not None:
    st.markdown(
        f"**{common.fmt_int(summary['families_a_month_needed'])} families a month** needed to "
        f"reach the target of {common.fmt_int(target)} by {common.fmt_date(end)}, against "
        f"{recent_rate}."
    )
else:
    st.markdown(
        f"The programme ended on {common.fmt_date(end)} with **{attached_so_far} of "
        f"{common.fmt_int(target)} families attached**, "
        f"{common.fmt_int(summary['still_needed'])} short of the target; the last {months} "
        f"months averaged **{recent} a month** against "
        f"{common.fmt_number(summary['target_families_a_month'])} a month on the trajectory."
    )

# --- Attachment against the target ---------------------------------------------------------------
st.header("Families attached against the target")
trajectory = common.query(queries.attachment_trajectory, target)
months_so_far = pd.to_datetime(trajectory["month"]) <= pd.Timestamp(as_at)
actual = trajectory[months_so_far]

title = (
    f"Families attached so far, against a straight line to {common.fmt_int(target)} "
    f"by {common.fmt_date(end)}"
)
fig = common.figure(title, height=420, hovermode="x unified")
fig.add_trace(
    go.Scatter(
        x=trajectory["month"],
        y=trajectory["target_cumulative"],
        name=f"Trajectory to the target of {common.fmt_int(target)}",
        mode="lines",
        line={"color": common.ORANGE, "width": 3, "dash": "dash"},
        hovertemplate="%{y:,} expected<extra></extra>",
    )
)
fig.add_trace(
    go.Scatter(
        x=actual["month"],
        y=actual["attached_cumulative"],
        name="Families attached (cumulative)",
        mode="lines",
        line={"color": common.DARK_BLUE, "width": 3},
        hovertemplate="%{y:,} attached<extra></extra>",
    )
)
fig.update_xaxes(title="Month", tickformat="%b %Y")
fig.update_yaxes(title="Families", tickformat=",")
common.chart(
    fig,
    alt=f"Line chart: families attached each month, cumulative, against the trajectory to "
    f"{common.fmt_int(target)}. {common.fmt_int(summary['families_attached'])} attached by "
    f"{common.fmt_date(as_at)}. The table below gives every month.",
    key="chart_trajectory",
)

trajectory_table = trajectory.copy()
trajectory_table["attached_in_month"] = (
    trajectory_table["attached_in_month"].astype("Int64").where(months_so_far)
)
trajectory_table["attached_cumulative"] = (
    trajectory_table["attached_cumulative"].astype("Int64").where(months_so_far)
)
common.table(
    trajectory_table,
    "Attachment trajectory",
    {
        "month": Col("Month", "month"),
        "attached_in_month": Col("Families attached in the month", "count"),
        "attached_cumulative": Col("Families attached so far", "count"),
        "target_cumulative": Col("Trajectory to the target", "count"),
    },
    title="Families attached each month against the trajectory to the target",
    notes=(
        f"Target: {target:,} families by {common.fmt_date(end)}.",
        f"Data current to {common.fmt_date(as_at)}; later months show the trajectory only.",
        "A family is counted once, in the month it was first attached.",
    ),
    height=280,
)

# --- Eligibility, claims and income under the outcomes plan --------------------------------------
plan_name = common.active_plan_name()  # none for a model built before plans existed
if plan_name:
    st.header("Eligibility, claims and income")
    plan_figures = common.query(plan_queries.plan_summary)
    st.markdown(
        f"Under the outcomes plan *{plan_name}* (**Help → Outcomes plan**), on "
        f"{common.fmt_date(as_at)}."
    )
    with st.container(horizontal=True, gap="small"):
        st.metric(
            "Families eligible now",
            common.fmt_int(plan_figures["families_eligible"]),
            help="Families meeting the plan's eligibility rule on the as-at date, from their "
            f"records; {common.fmt_int(plan_figures['eligible_not_attached'])} of them are not "
            f"attached. {common.fmt_int(plan_figures['families_ever_eligible'])} families have "
            "met it at some time.",
            border=True,
            width="content",
        )
        st.metric(
            "Families near a claim",
            common.fmt_int(plan_figures["families_near"]),
            help="Attached families whose claim is blocked by one or two measures, each close "
            "to its threshold (see Near threshold).",
            border=True,
            width="content",
        )
        st.metric(
            "Results claims",
            common.fmt_int(plan_figures["results_claims"]),
            help="Families that met a claim route: "
            f"{common.fmt_int(plan_figures['results_claims_ready'])} ready to claim, "
            f"{common.fmt_int(plan_figures['results_claims_claimed'])} claimed.",
            border=True,
            width="content",
        )
        st.metric(
            "Income so far",
            common.fmt_money(plan_figures["income"]),
            help=f"Attachment fees {common.fmt_money(plan_figures['attachment_income'])} and "
            f"results payments {common.fmt_money(plan_figures['results_income'])}, claimed and "
            "ready.",
            border=True,
            width="content",
        )
    target_income = plan_figures["target_income"]
    if target_income:
        st.markdown(
            f"**{common.fmt_money(plan_figures['income'])}** so far: "
            f"**{plan_figures['share_of_target_income']:.0%}** of the "
            f"{common.fmt_money(target_income)} the plan's target of "
            f"{common.fmt_int(plan_figures['target_families'])} families would earn (an "
            "attachment fee and a results payment each)."
        )
    with st.container(horizontal=True, gap="small"):
        st.page_link("pages/near_threshold.py", label="Near threshold: what each family needs")
        st.page_link("pages/claims.py", label="Claims & returns: each claim and its evidence")

# --- How current each source is ------------------------------------------------------------------
st.header("How current the data is")
currency = common.query(queries.data_currency)
if currency["data_current_as_of"].notna().any():
    oldest = currency.loc[currency["data_current_as_of"].idxmin()]
    st.markdown(
        f"Each source as the model last loaded it. The least current is **{oldest['title']}**, "
        f"current to {common.fmt_date(oldest['data_current_as_of'])}."
    )
common.table(
    currency,
    "Data currency",
    {
        "title": Col("Source"),
        "system": Col("System"),
        "data_current_as_of": Col("Data current as of", "date"),
        "rows_read": Col("Rows read", "count"),
        "rows_loaded": Col("Rows loaded", "count"),
        "rows_rejected": Col(
            "Rows rejected",
            "count",
            help="Rows that broke the source's contract; kept with reasons.",
        ),
        "file": Col("File"),
    },
    title="How current each source is, and the rows read, loaded and rejected",
    notes=(f"Model data current to {common.fmt_date(as_at)}.",),
)
