"""Overview: families referred and attached, the trajectory to the target, and data currency."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data_model.disclosure import disclosure_settings
from data_model.read import plan as plan_read
from data_model.read import programme, sources
from pages import registry
from pages.ui import access, charts, model
from pages.ui.absent import SEE_DATA_QUALITY, never_counted
from pages.ui.formats import (
    blocking_measures_words,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_number,
    fmt_share,
    plain,
)
from pages.ui.metrics import Metric, metric_row, not_available
from pages.ui.tables import NOT_APPLICABLE, NOT_AVAILABLE, Col, Missing, table

access.require("overview")  # first: who may open this page (data_model/access.yaml)

info = model.info()
as_at = info["as_at_date"]
end = info["programme_end"]
# A councillor (and any role wards.yaml does not let see exact counts) sees the counts as
# disclosure control publishes them (data_model.disclosure): c for a small number, and totals
# only, since months differenced could single out a family.
protected = not access.shows_exact_counts()
shown = model.query(programme.protected_overview) if protected else {}
WITHHELD = "c"


def count_shown(name: str, exact: int) -> int | None:
    """A count as this visitor may see it: exact, or protected (None: withheld)."""
    return shown.get(name) if protected else exact


def fmt_count(value: int | None) -> str:
    return WITHHELD if value is None else fmt_int(value)


def money_shown(value: float | None) -> str:
    return WITHHELD if value is None else fmt_money(value)


def protected_plan_figures(figures: dict) -> dict:
    """The plan's figures with each count as disclosure control publishes it, and income made
    from the published claims at the plan's fee and payment (withheld with either count)."""
    plan = model.query(plan_read.active_plan)
    fees, results = shown.get("attachment_claims"), shown.get("results_claims")
    attachment_income = None if fees is None else fees * plan["attachment_fee"]
    results_income = None if results is None else results * plan["results_payment"]
    income = (
        None
        if attachment_income is None or results_income is None
        else attachment_income + results_income
    )
    target_income = figures.get("target_income")
    counts = ("families_eligible", "eligible_not_attached", "families_ever_eligible",
              "families_near", "results_claims")  # fmt: skip
    return {
        **figures,
        **{name: shown.get(name) for name in counts},
        "attachment_income": attachment_income,
        "results_income": results_income,
        "income": income,
        "share_of_target_income": income / target_income if income and target_income else 0,
    }


st.title("Overview")
st.markdown(
    f"How many families {plain(info.get('programme_name') or 'the programme')} has reached, and "
    f"whether it is on course for its target. Data current to **{fmt_date(as_at)}**."
)

# --- The target (a what-if: change it to see what another target would take) ---------------------
target = int(
    st.number_input(
        f"Target: families attached by {fmt_date(end)}",
        min_value=1,
        max_value=1_000_000,
        value=int(info["target_families"]),
        step=10,
        key="target",
        help="The programme's target from the council's reference data. Change it to see what "
        "another target would take; nothing is saved.",
    )
)
summary = model.query(programme.programme_summary, target)
# Without the early help extracts these figures would be zeros that look like a count.
no_referrals = model.query(sources.not_available, "referrals")
no_attachment = model.query(sources.not_available, "attachment")

# --- Headline numbers ----------------------------------------------------------------------------
referred = count_shown("families_referred", summary["families_referred"])
attached_count = count_shown("families_attached", summary["families_attached"])
behind = None if attached_count is None else summary["expected_by_now"] - attached_count
metric_row(
    [
        not_available("Families referred", no_referrals)
        if no_referrals
        else Metric(
            "Families referred",
            fmt_count(referred),
            "Families (early help cases) with at least one referral received by the as-at date.",
        ),
        not_available("Families attached", no_attachment)
        if no_attachment
        else Metric(
            "Families attached",
            fmt_count(attached_count),
            "Families attached to the programme (one key worker, a whole-family assessment and a "
            "family plan), each counted once.",
        ),
        Metric(
            "Expected by now",
            fmt_int(summary["expected_by_now"]),
            "Where a straight line from none at the start to the target at the end stands at the "
            "as-at month.",
        ),
        not_available("Behind the trajectory", no_attachment)
        if no_attachment
        else Metric(
            "Behind the trajectory" if behind is None or behind > 0 else "Ahead of the trajectory",
            WITHHELD if behind is None else fmt_int(abs(behind)),
            "Expected by now minus families attached.",
        ),
    ],
    fill=True,
)
if protected:
    st.caption(
        "Figures protected against disclosure: **c** stands for a number too small to publish. "
        f"{plain(disclosure_settings().note)} Month-by-month figures "
        "are not shown here; the **Wards** page has each quarter, protected the same way."
    )

months = summary["recent_months"]
recent = fmt_number(summary["recent_families_a_month"])
attached_so_far = fmt_int(summary["families_attached"])
recent_rate = f"**{recent} a month** over the last {months} months"
if protected and not no_attachment and attached_count is not None:
    # Totals only: the recent rate counts the last months' attachments.
    still_needed = max(target - attached_count, 0)
    st.markdown(
        f"The target of {fmt_int(target)} families has been reached: **{fmt_int(attached_count)} "
        "attached**."
        if still_needed == 0
        else f"**{fmt_int(still_needed)} more families** to attach to reach the target of "
        f"{fmt_int(target)} by {fmt_date(end)}."
    )
elif not no_attachment and not protected:  # else said under the heading below
    if summary["still_needed"] == 0:
        over = summary["over_target"]
        st.markdown(
            f"The target of {fmt_int(target)} families has been reached: "
            f"**{attached_so_far} attached**"
            + (f", {fmt_int(over)} more than the target" if over else "")
            + f", with {recent_rate}."
        )
    elif summary["families_a_month_needed"] is not None:
        st.markdown(
            f"**{fmt_int(summary['families_a_month_needed'])} families a month** needed to "
            f"reach the target of {fmt_int(target)} by {fmt_date(end)}, against "
            f"{recent_rate}."
        )
    else:
        st.markdown(
            f"The programme ended on {fmt_date(end)} with **{attached_so_far} of "
            f"{fmt_int(target)} families attached**, "
            f"{fmt_int(summary['still_needed'])} short of the target; the last {months} "
            f"months averaged **{recent} a month** against "
            f"{fmt_number(summary['target_families_a_month'])} a month on the trajectory."
        )

# --- Attachment against the target ---------------------------------------------------------------
st.header("Families attached against the target")
if protected:
    st.info(
        "The month-by-month trajectory is not shown to your role: a month's attachments can be "
        "few enough to single out a family. The figures above are protected totals."
    )
elif no_attachment:
    st.info(
        f"Families attached to the programme are {plain(no_attachment)}, so progress against "
        f"the target cannot be shown. {SEE_DATA_QUALITY}"
    )
else:
    trajectory = model.query(programme.attachment_trajectory, target)
    months_so_far = pd.to_datetime(trajectory["month"]) <= pd.Timestamp(as_at)
    charts.draw(
        charts.over_time(
            trajectory,
            "month",
            title=f"Families attached so far, against a straight line to {fmt_int(target)} "
            f"by {fmt_date(end)}",
            lines=[
                charts.Series(
                    "target_cumulative",
                    f"Trajectory to the target of {fmt_int(target)}",
                    charts.ORANGE,
                    "%{y:,} expected<extra></extra>",
                    dash="dash",
                ),
                charts.Series(
                    "attached_cumulative",
                    "Families attached (cumulative)",
                    charts.DARK_BLUE,
                    "%{y:,} attached<extra></extra>",
                    data=trajectory[months_so_far],
                ),
            ],
            x_axis=charts.period_axis(trajectory["month"], title="Month"),
            y_axis=charts.count_axis(trajectory["target_cumulative"].max(), title="Families"),
            hovermode="x unified",
        ),
        alt=f"Line chart: families attached each month, cumulative, against the trajectory to "
        f"{fmt_int(target)}. {fmt_int(summary['families_attached'])} attached by "
        f"{fmt_date(as_at)}. The table below gives every month.",
        key="chart_trajectory",
    )

    # Months after the as-at date show the trajectory only: blank, not nought, for what is to come.
    trajectory_table = trajectory.copy()
    for column in ("attached_in_month", "attached_cumulative"):
        trajectory_table[column] = trajectory_table[column].astype("Int64").where(months_so_far)
    table(
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
            f"Target: {target:,} families by {fmt_date(end)}.",
            f"Data current to {fmt_date(as_at)}; later months show the trajectory only.",
            "A family is counted once, in the month it was first attached.",
        ),
        height=280,
        missing=Missing(NOT_APPLICABLE, "not applicable: the month is after the date the data "
                        "are current to"),
    )  # fmt: skip

# --- Eligibility, claims and income under the outcomes plan --------------------------------------
plan_name = model.active_plan_name()  # none for a model built before plans existed
if plan_name:
    st.header("Eligibility, claims and income")
    plan_figures = model.query(plan_read.plan_summary)
    if protected:
        plan_figures = protected_plan_figures(plan_figures)
    # point only to pages this visitor can open
    plan_page = " (**Help → Outcomes plan**)" if access.may_open("outcomes_plan") else ""
    st.markdown(f"Under the outcomes plan *{plain(plan_name)}*{plan_page}, on {fmt_date(as_at)}.")
    blocked_by = blocking_measures_words(int(plan_figures["near_max_blocking_measures"]))
    not_attached = (
        ""
        if no_attachment
        else f"; {fmt_count(plan_figures['eligible_not_attached'])} of them are not attached"
    )
    # near families, claims and income are all about attached families
    if no_attachment:
        attached_figures = [
            not_available(label, no_attachment)
            for label in ("Families near a claim", "Results claims", "Income so far")
        ]
    else:
        attached_figures = [
            Metric(
                "Families near a claim",
                fmt_count(plan_figures["families_near"]),
                f"Attached families whose claim is blocked by {blocked_by}, each close "
                "to its threshold (see Near threshold).",
            ),
            Metric(
                "Results claims",
                fmt_count(plan_figures["results_claims"]),
                "Families that met a claim route"
                + (
                    "."
                    if protected
                    else f": {fmt_int(plan_figures['results_claims_ready'])} ready to claim, "
                    f"{fmt_int(plan_figures['results_claims_claimed'])} claimed."
                ),
            ),
            Metric(
                "Income so far",
                money_shown(plan_figures["income"]),
                f"Attachment fees {money_shown(plan_figures['attachment_income'])} and "
                f"results payments {money_shown(plan_figures['results_income'])}, claimed and "
                "ready.",
            ),
        ]
    no_evidence = model.query(sources.eligibility_not_available)
    metric_row(
        [
            not_available("Families eligible now", no_evidence)
            if no_evidence
            else Metric(
                "Families eligible now",
                fmt_count(plan_figures["families_eligible"]),
                "Families meeting the plan's eligibility rule on the as-at date, from their "
                f"records{not_attached}. {fmt_count(plan_figures['families_ever_eligible'])} "
                "families have met it at some time.",
            ),
            *attached_figures,
        ]
    )
    never_counted(
        "Eligibility counts only the problems the model's extracts can show. Never counted, "
        "since the council has no extract for them",
        model.query(sources.unavailable_indicators),
        "indicator_title",
    )
    # Against the target typed above (the plan's unless changed): what it would earn at the
    # plan's fee and payment per family.
    plan = model.query(plan_read.active_plan)
    per_family = plan["attachment_fee"] + plan["results_payment"]
    target_income = target * per_family
    whose = "the plan's target of" if target == plan_figures["target_families"] else "a target of"
    if target_income and not no_attachment and plan_figures["income"] is not None:
        st.markdown(
            f"**{fmt_money(plan_figures['income'])}** so far: "
            f"**{fmt_share(plan_figures['income'] / target_income)}** of the "
            f"{fmt_money(target_income)} {whose} {fmt_int(target)} families would earn (an "
            f"attachment fee and a results payment each, {fmt_money(per_family)})."
        )
    with st.container(horizontal=True, gap="small"):
        for key, label in (
            ("near_threshold", "Near threshold: what each family needs"),
            ("claims", "Claims & returns: each claim and its evidence"),
        ):
            if access.may_open(key):  # only links the visitor can follow
                st.page_link(registry.BY_KEY[key].file, label=label)

# --- How current each source is ------------------------------------------------------------------
st.header("How current the data is")
currency = model.query(programme.data_currency)
if currency["data_current_as_of"].notna().any():
    oldest = currency.loc[currency["data_current_as_of"].idxmin()]
    st.markdown(
        "Each source as the model last loaded it. The least current is "
        f"**{plain(oldest['title'])}**, current to {fmt_date(oldest['data_current_as_of'])}."
    )
table(
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
    notes=(f"Model data current to {fmt_date(as_at)}.",),
    missing=Missing(NOT_AVAILABLE, "not available: the extract carries no dates to say how "
                    "current it is"),
)  # fmt: skip
absent = model.query(sources.absent_sources)
if not absent.empty:
    st.markdown(
        "No extract of: "
        + "; ".join(
            f"{plain(row.title)} ({plain(row.absent_reason)})" for row in absent.itertuples()
        )
        + ". What needs them says *not available* rather than counting nothing"
        + (" (**Data quality** lists them)." if access.may_open("data_quality") else ".")
    )
