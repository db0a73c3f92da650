"""Near threshold: attached families that a final push could get over a payment-by-results claim.

The page reads top to bottom as it draws: filters and the what-if margins; headline numbers; then
three tabs: the near families (the analysts' list) and each measure blocking them; one family in
detail, with the evidence its measures were judged on; which measures block most claims, by place
and over time.
What "near" means is the outcomes plan's: the page only passes another margin to
data_model.read.plan, which re-applies it with the model's own rule. Every number comes from
there.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_model.read import plan as plan_read
from data_model.read import programme, sources
from pages.ui import access, charts, model
from pages.ui.absent import never_counted, stop_if_not_available
from pages.ui.charts import Series
from pages.ui.filters import ATTACHED_CLUSTER, cluster_filter, pick, ward_filter
from pages.ui.formats import (
    blocking_measures_words,
    fmt_choices,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_number,
    fmt_quantity,
    fmt_status,
    number_word,
    plain,
    slug,
)
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import NOT_APPLICABLE, Col, Missing, table

access.require("near_threshold")  # first: who may open this page (data_model/access.yaml)

model.info()  # stops with a message when there is no model
plan = model.query(plan_read.active_plan)
as_at = fmt_date(plan["as_at_date"])
payment = plan["results_payment"]
most_blocking = int(plan["near_max_blocking_measures"])
blocked_by = blocking_measures_words(most_blocking)

st.title("Near threshold")
st.markdown(
    f"Attached families whose payment-by-results claim is blocked by {blocked_by}, each close "
    "to its threshold: a final push could get them over. What each family needs, and which "
    f"measures block most claims, by place and over time. Data current to **{as_at}**; outcomes "
    f"plan: *{plain(plan['plan_name'])}*."
)
# Every family here is an attached one: without the extract that says who was attached, "no
# family near" would look like a finding.
stop_if_not_available("Attached families are", model.query(sources.not_available, "attachment"))
never_counted(
    "Never met or near, since the council has no extract to measure them (a claim route that "
    "needs one cannot be met)",
    model.query(sources.unavailable_measures),
    "measure_title",
)


def problems_text(problems: object) -> str:
    """A family's problems in one line, joined with '; '."""
    return "; ".join(problems) if problems is not None and len(problems) else ""


# --- Filters and the what-if margins -------------------------------------------------------------
options = model.query(plan_read.plan_filter_options)
plan_measures = model.query(plan_read.plan_measures)
margins_by_unit = model.query(plan_read.near_margins)


def whole_units(unit: str) -> bool:
    """Whether a unit's distances are whole numbers (weeks, incidents, episodes): only a rate's
    percentage points have fractions."""
    return "percent" not in unit


def as_used(unit: str, margin: float) -> float:
    """A margin as it works: in whole units a fraction adds nothing (a fifth of 26 weeks, 5.2,
    lets in the families 5 weeks or less away), so it is shown and offered as the whole number."""
    return float(math.floor(margin + 1e-9)) if whole_units(unit) else float(margin)


# In the order the plan's measures come, so the inputs read like the plan.
plan_margins = {
    unit: as_used(unit, margins_by_unit[unit]) for unit in plan_measures["unit"].unique()
}
ward_names: dict[str, str] = options["wards"]

left, right = st.columns(2)
with left:
    clusters = cluster_filter(options["clusters"], key="near_clusters", whose=ATTACHED_CLUSTER)
with right:
    wards = ward_filter(ward_names, key="near_wards")

MARGIN_KEYS = {unit: f"near_margin_{slug(unit)}" for unit in plan_margins}


def back_to_the_plan() -> None:
    """Forget the what-if margins: the inputs show the plan's again."""
    for key in MARGIN_KEYS.values():
        st.session_state.pop(key, None)


with st.expander("What if “near” meant something else? Change the margins"):
    st.markdown(
        "A measure is **near** when it is not met, can still be met, and is within this margin "
        "of its threshold. The plan's margins are filled in: change one to see which families "
        "would count as near. Nothing is saved, and the plan is not changed."
    )
    chosen: dict[str, float] = {}
    with st.container(horizontal=True, gap="small"):
        for unit, margin in plan_margins.items():
            used_by = plan_measures.loc[plan_measures["unit"] == unit, "measure_title"]
            chosen[unit] = st.number_input(
                plain(unit.capitalize()),
                min_value=0.0,
                max_value=1000.0,
                value=float(margin),
                step=1.0,
                format="%.0f" if whole_units(unit) else "%.1f",
                key=MARGIN_KEYS[unit],
                width=150,
                help=plain(f"The plan's margin: {fmt_quantity(margin, unit)}. Used by: ")
                + "; ".join(plain(title) for title in used_by),
            )
    st.button("Back to the plan's margins", on_click=back_to_the_plan, key="near_margin_reset")

# Only the margins changed from the plan's are passed on: the plan's own stay as written.
margins = {unit: value for unit, value in chosen.items() if value != plan_margins[unit]}
in_use = "; ".join(
    fmt_quantity(value, unit)
    + (f" (plan: {fmt_number(plan_margins[unit])})" if unit in margins else "")
    for unit, value in chosen.items()
)
places = " · ".join(
    [
        fmt_choices(clusters, "all clusters"),
        fmt_choices([ward_names[w] for w in wards], "all wards"),
    ]
)
st.caption(
    f"Showing families near under {'what-if' if margins else 'the plan’s'} margins "
    f"({plain(in_use)}) · {plain(places)}."
)

place_args = (tuple(clusters), tuple(wards))
NOT_KNOWN = "Not known"
near = model.query(plan_read.near_families, margins, *place_args)
near = near.assign(ward_name=near["ward_name"].fillna(NOT_KNOWN))
near_measures = model.query(plan_read.near_family_blockers, margins, *place_args)
near_measures = near_measures.assign(ward_name=near_measures["ward_name"].fillna(NOT_KNOWN))

# --- Headline numbers ----------------------------------------------------------------------------
headline = model.query(plan_read.near_summary, margins, *place_args)
families_near = headline["families_near"]
against_plan = headline["families_near_against_plan"]
metric_row(
    [
        Metric(
            "Families near a claim",
            fmt_int(families_near),
            f"Attached families, not yet claimable, with a claim route blocked by at most "
            f"{most_blocking} measures, each near.",
            delta=f"{against_plan:+,} against the plan's margins" if margins else None,
        ),
        *(
            Metric(
                "Blocked by "
                + ("one measure" if blocking == 1 else f"{number_word(blocking)} measures"),
                fmt_int(count),
            )
            for blocking, count in headline["blocked_by"].items()
        ),
        Metric(
            "Results payments within reach",
            fmt_money(headline["payments_within_reach"]),
            f"The near families × the plan's results payment of {fmt_money(payment)}: "
            "what they would earn if each made its claim.",
        ),
    ]
)

# The rest in three tabs, so that the first screen is the answer: how many are near, and who.
near_tab, family_tab, barriers_tab = st.tabs(
    ["Families near a claim", "A family in detail", "What blocks claims"]
)
NO_FAMILY_NEAR = (
    "No attached family is near a claim with these filters and margins. Widen the margins "
    "(above) to see families a little further off."
)
case_of = dict(zip(near["family_key"], near["case_id"], strict=True))
# A measure's status as a label starts ("Near", "Not met"), and words where a figure has none.
STATUS_WORDS = {"met": "nothing more: met", "not applicable": "not applicable"}


def with_words(measures: pd.DataFrame) -> pd.DataFrame:
    """A family's measures with the status capitalised and what each needs in words, also for a
    measure met (nothing) or not applicable (the family did not have its problem)."""
    needs = measures["needs"].where(measures["needs"].notna(), measures["status"].map(STATUS_WORDS))
    progress = measures["progress"].where(
        measures["progress"].notna(), measures["status"].map({"not applicable": "not applicable"})
    )
    return measures.assign(status=measures["status"].map(fmt_status), needs=needs,
                           progress=progress)  # fmt: skip


# --- The near families ---------------------------------------------------------------------------
with near_tab:
    st.header("Families near a claim")
    if near.empty:
        st.info(NO_FAMILY_NEAR)
    else:
        st.markdown(
            f"**{fmt_int(len(near))} families**, fewest blocking measures first. *What the "
            "family needs* says, for each blocking measure, what would meet it: sessions to "
            "attend this term (and the terms to keep it up after), weeks still to work, months "
            "still to go without an incident."
        )
        table(
            near.assign(problems_at_attachment=near["problems_at_attachment"].map(problems_text)),
            "Near threshold families",
            {
                "case_id": Col("Case"),
                "needs": Col("What the family needs", width="large"),
                "route_title": Col("Claim route it is near"),
                "blocking_measures": Col("Measures blocking", "count"),
                "cluster": Col("Cluster"),
                "team": Col("Team"),
                "key_worker": Col("Key worker"),
                "ward_name": Col("Ward"),
                "attached_date": Col("Attached", "date"),
                "problems_at_attachment": Col("Problems when attached"),
                "family_key": Col("Family id", help="The family's id in the model, for analysts."),
            },
            title=f"Attached families near a claim on {as_at}",
            notes=(
                f"Outcomes plan: {plan['plan_name']}.",
                f"Near: a claim route is blocked by at most {most_blocking} measures, each not "
                "met, still possible to meet, and within the margin of its threshold.",
                f"Margins: {in_use}.",
                f"Filters: {places}.",
            ),
        )

        st.subheader("Each measure blocking them")
        st.markdown(
            "The same families, one row for each measure in the way, with the figures it was "
            "judged on. *Distance* is how far the measured value is from the threshold in the "
            "measure's own unit; 0 with *on track* means the threshold is met and only time is "
            "missing."
        )
        table(
            near_measures.assign(
                case_id=near_measures["family_key"].map(case_of),
                status=near_measures["status"].map(fmt_status),
            ),
            "Near threshold measures",
            {
                "case_id": Col("Case"),
                "measure_title": Col("Measure"),
                "needs": Col("What it needs", width="large"),
                "status": Col("Status"),
                "progress": Col("Progress"),
                "measured_value": Col("Measured value", "decimal"),
                "threshold_value": Col("Threshold", "decimal"),
                "unit": Col("Unit"),
                "distance_to_threshold": Col("Distance to threshold", "decimal"),
                "margin": Col("Margin used", "decimal"),
                "is_on_track": Col("On track", "flag", help="Met so far: only time is missing."),
                "cluster": Col("Cluster"),
                "ward_name": Col("Ward"),
                "key_worker": Col("Key worker"),
                "family_key": Col("Family id"),
            },
            title=f"Measures blocking the near families' claims on {as_at}",
            notes=(f"Margins: {in_use}.", f"Filters: {places}."),
        )

# --- One family in detail ------------------------------------------------------------------------
source_titles = model.query(programme.data_currency).set_index("source")["title"].to_dict()
measure_titles = plan_measures.set_index("measure_id")["measure_title"].to_dict()
with family_tab:
    st.header("A family in detail")
    if near.empty:
        st.info(f"{NO_FAMILY_NEAR} A family near a claim can be looked at here.")
    else:
        by_family = near.set_index("family_key")
        family_labels = {
            family_key: f"{row.case_id} · {row.cluster} · {row.ward_name} · "
            f"{fmt_quantity(row.blocking_measures, 'measures')} blocking · {family_key}"
            for family_key, row in by_family.iterrows()
        }
        family = pick(
            "Family (type a case, cluster or ward to find one)", family_labels, key="near_family"
        )
        chosen_family = by_family.loc[family]
        case = chosen_family["case_id"]
        st.markdown(
            f"Case **{plain(case)}**, attached "
            f"{fmt_date(chosen_family['attached_date'])}; key worker "
            f"{plain(chosen_family['key_worker'])} ({plain(chosen_family['team'])}). Problems "
            "when attached: "
            f"{plain(problems_text(chosen_family['problems_at_attachment']) or 'none recorded')}. "
            f"The claim route it is near: *{plain(chosen_family['route_title'])}*, which needs: "
            f"{plain(chosen_family['needs'])}."
        )
        family_measures = with_words(model.query(plan_read.family_measures, family))
        table(
            family_measures,
            "Family measures",
            {
                "measure_title": Col("Measure"),
                "status": Col("Status"),
                "progress": Col("Progress"),
                "needs": Col("What it needs", width="large"),
                "problem_title": Col("Problem"),
                "measured_value": Col("Measured value", "decimal"),
                "threshold_value": Col("Threshold", "decimal"),
                "unit": Col("Unit"),
                "distance_to_threshold": Col("Distance to threshold", "decimal"),
                "window_from": Col("Judged from", "date"),
                "window_to": Col("Judged to", "date"),
            },
            title=f"Every outcome measure of case {case} on {as_at}",
            missing=Missing(
                NOT_APPLICABLE,
                "not applicable: the family did not have the measure's problem when attached",
            ),
        )
        evidence = model.query(plan_read.family_measure_evidence, family)
        st.markdown(
            f"The **{fmt_quantity(len(evidence), 'records')}** the measures were judged on: "
            "school terms, incidents, episodes or spells in each measure's window (*counted*), "
            "and for a reduction the records in the months before attachment it is compared "
            "with. A measure met because nothing happened (no incident, no new episode) has no "
            "records: its window and count, in the table above, are its evidence."
        )
        table(
            evidence.assign(
                measure_title=evidence["measure_id"].map(measure_titles),
                source_title=evidence["source"].map(lambda s: source_titles.get(s, s)),
                role=evidence["role"].map(fmt_status),
            ),
            "Family measure evidence",
            {
                "evidence_date": Col("Date", "date"),
                "value": Col("What the record says", width="large"),
                "role": Col("How it counts"),
                "measure_title": Col("Measure"),
                "source_title": Col("Source"),
                "source_record_id": Col("Source record"),
                "person_key": Col("Person id"),
            },
            title=f"The evidence behind case {case}'s measures on {as_at}",
            notes=("Person id: the linked person's id in the model.",),
            empty="No record: every measure of this family is judged on its window alone.",
        )

# --- Which measures block most claims ------------------------------------------------------------
district = model.query(plan_read.barriers, "measure only", margins, False, *place_args)
now = district[district["is_current"]].sort_values("families_blocked", ascending=False)
NOT_BLOCKED = "No attached family's claim is blocked with these filters."
WITHIN, FURTHER = "This measure within the margin", "Further off"
BARRIER_COLUMNS = {
    "measure_title": Col("Measure"),
    "families_blocked": Col("Families it blocks", "count"),
    "families_near": Col(
        "Of which this measure is within the margin",
        "count",
        help="The measure is near for the family. The family is near a claim only when every "
        f"measure blocking it is near, and no more than {most_blocking} block it.",
    ),
}


def near_and_further(
    frame: pd.DataFrame, labels: str, title: str, height: int, wrap: int | None = None
) -> go.Figure:
    """Horizontal bars: families with this measure within the margin, then those further off,
    stacked; the labels over lines of `wrap` characters if given."""
    return charts.by_category(
        frame,
        labels,
        [
            Series(column, name, colour, "%{x:,} families<extra>" + name + "</extra>")
            for column, name, colour in (
                ("families_near", WITHIN, charts.TURQUOISE),
                ("families_further", FURTHER, charts.DARK_BLUE),
            )
        ],
        title=title,
        height=height,
        value_axis=charts.count_axis(frame["families_blocked"].max(), title="Families",
                                     showgrid=True, gridcolor=charts.GRID),
        category_axis={"autorange": "reversed", "title": None},
        barmode="stack",
        legend={"traceorder": "normal"},
        wrap=wrap,
    )  # fmt: skip


with barriers_tab:
    st.header("Which measures block most claims")
    st.markdown(
        "Every attached family not yet claimable counts once under each measure that blocks its "
        "closest claim route (a family blocked by two measures counts under both). *This measure "
        "within the margin*: the measure is near for that family under the margins above; the "
        "family itself is near a claim only if every measure blocking it is near and no more "
        f"than {number_word(most_blocking)} block it, so a place can have families with a "
        "measure within the margin and none near a claim. Barriers that are not measures are "
        "shown too: a family that did not meet the eligibility rule when attached, or another "
        "member developing the same problem."
    )
    if now.empty:
        st.info(NOT_BLOCKED)
    else:
        fig = near_and_further(
            now,
            "measure_title",
            f"Measures blocking claims on {as_at}: families whose closest claim route each blocks",
            height=140 + 64 * len(now),
            wrap=30,  # a long measure title over several lines of the axis
        )
        top = now.iloc[0]
        charts.draw(
            fig,
            alt=f"Bar chart of the families each measure blocks on {as_at}, split into those "
            f"with the measure within the margin and those further off. Most: "
            f"{top['measure_title']}, {fmt_int(top['families_blocked'])} families. The table "
            "below gives each measure.",
            key="chart_barriers_now",
        )
        table(
            now,
            "Barriers now",
            BARRIER_COLUMNS,
            title=f"Measures blocking claims on {as_at}",
            notes=(f"Margins: {in_use}.", f"Filters: {places}."),
        )

    # --- By cluster, ward or area committee ------------------------------------------------------
    st.subheader("By cluster, ward or area committee")
    GROUPS = {"Cluster": "cluster", "Ward": "ward", "Area committee": "area committee"}
    group_choice = st.radio(
        "Compare", list(GROUPS), horizontal=True, key="near_barrier_group", help="Where the "
        "families are: the cluster of their attached episode, or the ward and area committee of "
        "their latest address."
    )  # fmt: skip
    by_place = model.query(plan_read.barriers, GROUPS[group_choice], margins, True, *place_args)
    by_place = by_place.assign(group_name=by_place["group_name"].fillna(NOT_KNOWN))
    if by_place.empty:
        st.info(NOT_BLOCKED)
    else:
        barrier = pick(
            "Measure",
            {title: title for title in now["measure_title"]},
            key="near_barrier_measure",
            help="Measures in order of how many claims they block across the places shown.",
        )
        one = by_place[by_place["measure_title"] == barrier]
        one = one.sort_values(["families_blocked", "group_name"], ascending=[False, True])
        place_word = group_choice.lower()
        fig = near_and_further(
            one,
            "group_name",
            f"Families whose claim is blocked by “{barrier}” in each {place_word}, on {as_at}",
            height=160 + 34 * max(len(one), 1),
        )
        charts.draw(
            fig,
            alt=f"Bar chart of the families whose claim the chosen measure blocks in each "
            f"{place_word}, with the measure within the margin and further off; the table below "
            f"gives every measure in every {place_word}.",
            key="chart_barriers_by_place",
        )
        table(
            by_place,
            f"Barriers by {group_choice}",
            {"group_name": Col(group_choice), **BARRIER_COLUMNS},
            title=f"Measures blocking claims in each {group_choice.lower()} on {as_at}",
            notes=(f"Margins: {in_use}.", f"Filters: {places}."),
            height=320,
        )

    # --- Over time -------------------------------------------------------------------------------
    st.subheader("Over time")
    st.markdown(
        "The same count at the end of each quarter, so a barrier that grows or shrinks shows. The "
        "chart follows the five measures blocking most claims now; the table has every measure."
    )
    history = district.sort_values(["evaluation_date", "families_blocked"], ascending=[True, False])
    followed = list(now["measure_title"].head(5))
    if followed:
        # Five measures at most, each told apart by its colour, dash and marker, not colour alone.
        dashes = ("solid", "dash", "dot", "dashdot", "longdash")
        symbols = ("circle", "diamond", "square", "triangle-up", "x")
        fig = charts.over_time(
            history,
            "evaluation_date",
            title="Families blocked by each of the five measures blocking most claims now, at "
            "the end of each quarter",
            lines=[
                Series(
                    "families_blocked",
                    textwrap.shorten(title, 60, placeholder="…"),
                    charts.PALETTE[i],
                    "%{y:,} families<extra>"
                    + charts.label(textwrap.shorten(title, 40))
                    + "</extra>",
                    data=history[history["measure_title"] == title],
                    markers=True,
                    dash=dashes[i],
                    symbol=symbols[i],
                )
                for i, title in enumerate(followed)
            ],
            x_axis=charts.period_axis(
                history["evaluation_date"], history["quarter_label"], title="Quarter", most=6
            ),
            y_axis=charts.count_axis(history["families_blocked"].max(), title="Families blocked"),
            height=460,
            hovermode="x unified",
            legend={"orientation": "v", "y": -0.2, "yanchor": "top"},
        )
        charts.draw(
            fig,
            alt="Line chart of the families each of the five measures blocking most claims now "
            "blocked at the end of each quarter; the table below gives every measure at every "
            "quarter end.",
            key="chart_barriers_over_time",
        )
    table(
        history,
        "Barriers over time",
        {
            "evaluation_date": Col("Date", "date"),
            "quarter_label": Col("Quarter"),
            "term_label": Col("Latest school term"),
            **BARRIER_COLUMNS,
        },
        title="Measures blocking claims at the end of each quarter and on the as-at date",
        notes=(
            "Each quarter end, and the as-at date, with the plan applied to the data known then.",
            f"Margins: {in_use}.",
            f"Filters: {places}.",
        ),
        height=320,
        empty=NOT_BLOCKED,
    )
