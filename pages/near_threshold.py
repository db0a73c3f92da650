"""Near threshold: attached families that a final push could get over a payment-by-results claim.

The page reads top to bottom as it draws: filters and the what-if margins; headline numbers; the
near families (the analysts' list) and each measure blocking them; one family in detail, with the
evidence its measures were judged on; which measures block most claims, by place and over time.
What "near" means is the outcomes plan's: the page only passes another margin to
data_model.plan_queries, which re-applies it. Every number comes from there.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_model import plan_queries, queries
from pages import common
from pages.common import Col

WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}

common.info()  # stops with a message when there is no model
plan = common.query(plan_queries.active_plan)
as_at = common.fmt_date(plan["as_at_date"])
payment = plan["results_payment"]
most_blocking = int(plan["near_max_blocking_measures"])
blocked_by = {1: "one measure", 2: "one or two measures"}.get(
    most_blocking, f"up to {most_blocking} measures"
)

st.title("Near threshold")
st.markdown(
    f"Attached families whose payment-by-results claim is blocked by {blocked_by}, each close "
    "to its threshold: a final push could get them over. What each family needs, and which "
    f"measures block most claims, by place and over time. Data current to **{as_at}**; outcomes "
    f"plan: *{plan['plan_name']}*."
)


def wrapped(text: str, width: int = 42) -> str:
    """A long measure title over several lines of a chart's axis."""
    return "<br>".join(textwrap.wrap(text, width)) or text


def problems_text(problems: object) -> str:
    return "; ".join(problems) if problems is not None and len(problems) else ""


# --- Filters and the what-if margins -------------------------------------------------------------
options = common.query(plan_queries.plan_filter_options)
plan_measures = common.query(plan_queries.plan_measures)
margins_by_unit = common.query(plan_queries.near_margins)
# In the order the plan's measures come, so the inputs read like the plan.
plan_margins = {unit: margins_by_unit[unit] for unit in plan_measures["unit"].unique()}
ward_names: dict[str, str] = options["wards"]

left, right = st.columns(2)
with left:
    clusters = st.multiselect(
        "Clusters",
        options["clusters"],
        key="near_clusters",
        placeholder="All clusters",
        help="The cluster of the family's attached episode. Leave empty for every cluster.",
    )
with right:
    wards = st.multiselect(
        "Wards",
        list(ward_names),
        format_func=ward_names.__getitem__,
        key="near_wards",
        placeholder="All wards",
        help="The ward of the family's latest address. Leave empty for every ward.",
    )

MARGIN_KEYS = {unit: f"near_margin_{common.slug(unit)}" for unit in plan_margins}


def back_to_the_plan() -> None:
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
                unit.capitalize(),
                min_value=0.0,
                max_value=1000.0,
                value=float(margin),
                step=1.0,
                format="%.1f",
                key=MARGIN_KEYS[unit],
                width=150,
                help=f"The plan's margin: {common.fmt_quantity(margin, unit)}. Used by: "
                + "; ".join(used_by),
            )
    st.button("Back to the plan's margins", on_click=back_to_the_plan, key="near_margin_reset")

# Only the margins changed from the plan's are passed on: the plan's own stay as written.
margins = {unit: value for unit, value in chosen.items() if value != plan_margins[unit]}
in_use = "; ".join(
    common.fmt_quantity(value, unit)
    + (f" (plan: {common.fmt_number(plan_margins[unit])})" if unit in margins else "")
    for unit, value in chosen.items()
)
places = " · ".join(
    [
        ", ".join(clusters) if clusters else "all clusters",
        ", ".join(ward_names[w] for w in wards) if wards else "all wards",
    ]
)
st.caption(
    f"Showing families near under {'what-if' if margins else 'the plan’s'} margins ({in_use}) "
    f"· {places}."
)

place_args = (tuple(clusters), tuple(wards))
NOT_KNOWN = "Not known"
near = common.query(plan_queries.near_families, margins, *place_args)
near = near.assign(ward_name=near["ward_name"].fillna(NOT_KNOWN))
near_measures = common.query(plan_queries.near_family_blockers, margins, *place_args)
near_measures = near_measures.assign(ward_name=near_measures["ward_name"].fillna(NOT_KNOWN))

# --- Headline numbers ----------------------------------------------------------------------------
under_plan = len(near)
if margins:
    under_plan = len(common.query(plan_queries.near_families, {}, *place_args))
by_count = near["blocking_measures"].value_counts()
with st.container(horizontal=True, gap="small"):
    st.metric(
        "Families near a claim",
        common.fmt_int(len(near)),
        delta=f"{len(near) - under_plan:+,} against the plan's margins" if margins else None,
        delta_color="off",
        help=f"Attached families, not yet claimable, with a claim route blocked by at most "
        f"{most_blocking} measures, each near.",
        border=True,
        width="content",
    )
    for blocking in range(1, most_blocking + 1):
        st.metric(
            "Blocked by "
            + ("one measure" if blocking == 1 else f"{WORDS.get(blocking, blocking)} measures"),
            common.fmt_int(by_count.get(blocking, 0)),
            border=True,
            width="content",
        )
    st.metric(
        "Results payments within reach",
        common.fmt_money(len(near) * payment),
        help=f"The near families × the plan's results payment of {common.fmt_money(payment)}: "
        "what they would earn if each made its claim.",
        border=True,
        width="content",
    )

# --- The near families ---------------------------------------------------------------------------
st.header("Families near a claim")
if near.empty:
    st.info(
        "No attached family is near a claim with these filters and margins. Widen the margins "
        "(above) to see families a little further off."
    )
else:
    st.markdown(
        f"**{common.fmt_int(len(near))} families**, fewest blocking measures first. *What the "
        "family needs* says, for each blocking measure, what would meet it: sessions to attend "
        "this term, weeks still to work, months still to go without an incident."
    )
common.table(
    near.assign(problems_at_attachment=near["problems_at_attachment"].map(problems_text)),
    "Near threshold families",
    {
        "family_key": Col("Family"),
        "case_id": Col("Case"),
        "cluster": Col("Cluster"),
        "team": Col("Team"),
        "key_worker": Col("Key worker"),
        "ward_name": Col("Ward"),
        "attached_date": Col("Attached", "date"),
        "route_title": Col("Claim route it is near"),
        "blocking_measures": Col("Measures blocking", "count"),
        "needs": Col("What the family needs"),
        "problems_at_attachment": Col("Problems when attached"),
    },
    title=f"Attached families near a claim on {as_at}",
    notes=(
        f"Outcomes plan: {plan['plan_name']}.",
        f"Near: a claim route is blocked by at most {most_blocking} measures, each not met, "
        "still possible to meet, and within the margin of its threshold.",
        f"Margins: {in_use}.",
        f"Filters: {places}.",
    ),
)

st.subheader("Each measure blocking them")
st.markdown(
    "The same families, one row for each measure in the way, with the figures it was judged on. "
    "*Distance* is how far the measured value is from the threshold in the measure's own unit; "
    "0 with *on track* means the threshold is met and only time is missing."
)
common.table(
    near_measures,
    "Near threshold measures",
    {
        "family_key": Col("Family"),
        "cluster": Col("Cluster"),
        "ward_name": Col("Ward"),
        "measure_title": Col("Measure"),
        "status": Col("Status"),
        "progress": Col("Progress"),
        "needs": Col("What it needs"),
        "measured_value": Col("Measured value", "decimal"),
        "threshold_value": Col("Threshold", "decimal"),
        "unit": Col("Unit"),
        "distance_to_threshold": Col("Distance to threshold", "decimal"),
        "margin": Col("Margin used", "decimal"),
        "is_on_track": Col("On track", "flag", help="Met so far: only time is missing."),
        "key_worker": Col("Key worker"),
    },
    title=f"Measures blocking the near families' claims on {as_at}",
    notes=(f"Margins: {in_use}.", f"Filters: {places}."),
)

# --- One family in detail ------------------------------------------------------------------------
st.header("A family in detail")
sources = common.query(queries.data_currency).set_index("source")["title"].to_dict()
measure_titles = plan_measures.set_index("measure_id")["measure_title"].to_dict()
if near.empty:
    st.info("Choose a family when there is one near a claim.")
else:
    by_family = near.set_index("family_key")
    family_labels = {
        family_key: f"{row.case_id} · {row.cluster} · {row.ward_name} · "
        f"{common.fmt_quantity(row.blocking_measures, 'measures')} blocking · {family_key}"
        for family_key, row in by_family.iterrows()
    }
    family = common.pick(
        "Family (type a case, cluster or ward to find one)", family_labels, key="near_family"
    )
    chosen_family = by_family.loc[family]
    st.markdown(
        f"Case **{chosen_family['case_id']}**, attached "
        f"{common.fmt_date(chosen_family['attached_date'])}; key worker "
        f"{chosen_family['key_worker']} ({chosen_family['team']}). Problems when attached: "
        f"{problems_text(chosen_family['problems_at_attachment']) or 'none recorded'}. The claim "
        f"route it is near: *{chosen_family['route_title']}*, which needs: "
        f"{chosen_family['needs']}."
    )
    family_measures = common.query(plan_queries.family_measures, family)
    # A measure that does not apply has no progress to show: blank, not "None".
    family_measures = family_measures.fillna({"progress": "", "needs": ""})
    common.table(
        family_measures,
        "Family measures",
        {
            "measure_title": Col("Measure"),
            "status": Col("Status"),
            "progress": Col("Progress"),
            "needs": Col("What it needs"),
            "problem_title": Col("Problem"),
            "measured_value": Col("Measured value", "decimal"),
            "threshold_value": Col("Threshold", "decimal"),
            "unit": Col("Unit"),
            "distance_to_threshold": Col("Distance to threshold", "decimal"),
            "window_from": Col("Judged from", "date"),
            "window_to": Col("Judged to", "date"),
        },
        title=f"Every outcome measure of family {family} on {as_at}",
        notes=("Not applicable: the family did not have the measure's problem when attached.",),
    )
    evidence = common.query(plan_queries.family_measure_evidence, family)
    st.markdown(
        f"The **{common.fmt_quantity(len(evidence), 'records')}** the measures were judged on: "
        "school terms, incidents, episodes or spells in each measure's window (*counted*), and "
        "for a reduction the records in the months before attachment it is compared with. A "
        "measure met because nothing happened (no incident, no new episode) has no records: its "
        "window and count, in the table above, are its evidence."
    )
    common.table(
        evidence.assign(
            measure_title=evidence["measure_id"].map(measure_titles),
            source_title=evidence["source"].map(lambda s: sources.get(s, s)),
        ),
        "Family measure evidence",
        {
            "evidence_date": Col("Date", "date"),
            "value": Col("What the record says"),
            "role": Col("How it counts"),
            "measure_title": Col("Measure"),
            "source_title": Col("Source"),
            "source_record_id": Col("Source record"),
            "person_key": Col("Person"),
        },
        title=f"The evidence behind family {family}'s measures on {as_at}",
        notes=("Person: the linked person's key in the model.",),
    )

# --- Which measures block most claims ------------------------------------------------------------
st.header("Which measures block most claims")
st.markdown(
    "Every attached family not yet claimable counts once under each measure that blocks its "
    "closest claim route (a family blocked by two measures counts under both). *Within the "
    "margin*: the measure is near for that family under the margins above. Barriers that are not "
    "measures are shown too: a family that did not meet the eligibility rule when attached, or "
    "another member developing the same problem."
)
district = common.query(plan_queries.barriers, "measure only", margins, False, *place_args)
now = district[district["is_current"]].sort_values("families_blocked", ascending=False)

BARRIER_COLUMNS = {
    "measure_title": Col("Measure"),
    "families_blocked": Col("Families it blocks", "count"),
    "families_near": Col("Of which within the margin", "count"),
}


def near_and_further(fig: go.Figure, labels: pd.Series, frame: pd.DataFrame) -> None:
    """Horizontal bars: families within the margin, then those further off, stacked."""
    for name, values, colour in (
        ("Within the margin", frame["families_near"], common.TURQUOISE),
        ("Further off", frame["families_blocked"] - frame["families_near"], common.DARK_BLUE),
    ):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=values,
                name=name,
                orientation="h",
                marker_color=colour,
                hovertemplate="%{x:,} families<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(legend={"traceorder": "normal"})
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="Families", tickformat=",", showgrid=True, gridcolor=common.GRID)


if now.empty:
    st.info("No attached family's claim is blocked with these filters.")
else:
    fig = common.figure(
        f"Measures blocking claims on {as_at}: families whose closest claim route each blocks",
        height=140 + 52 * len(now),
        barmode="stack",
    )
    near_and_further(fig, now["measure_title"].map(wrapped), now)
    top = now.iloc[0]
    common.chart(
        fig,
        alt=f"Bar chart of the families each measure blocks on {as_at}, split into those within "
        f"the margin and those further off. Most: {top['measure_title']}, "
        f"{common.fmt_int(top['families_blocked'])} families. The table below gives each measure.",
        key="chart_barriers_now",
    )
common.table(
    now,
    "Barriers now",
    BARRIER_COLUMNS,
    title=f"Measures blocking claims on {as_at}",
    notes=(f"Margins: {in_use}.", f"Filters: {places}."),
)

# --- By cluster, ward or area committee ----------------------------------------------------------
st.subheader("By cluster, ward or area committee")
GROUPS = {"Cluster": "cluster", "Ward": "ward", "Area committee": "area committee"}
group_choice = st.radio(
    "Compare", list(GROUPS), horizontal=True, key="near_barrier_group", help="Where the families "
    "are: the cluster of their attached episode, or the ward and area committee of their latest "
    "address."
)  # fmt: skip
by_place = common.query(plan_queries.barriers, GROUPS[group_choice], margins, True, *place_args)
by_place = by_place.assign(group_name=by_place["group_name"].fillna(NOT_KNOWN))
if by_place.empty:
    st.info("No attached family's claim is blocked with these filters.")
else:
    barrier = common.pick(
        "Measure",
        {title: title for title in now["measure_title"]},
        key="near_barrier_measure",
        help="Measures in order of how many claims they block across the places shown.",
    )
    one = by_place[by_place["measure_title"] == barrier]
    one = one.sort_values(["families_blocked", "group_name"], ascending=[False, True])
    place_word = group_choice.lower()
    fig = common.figure(
        f"Families whose claim is blocked by “{barrier}” in each {place_word}, on {as_at}",
        height=160 + 34 * max(len(one), 1),
        barmode="stack",
    )
    near_and_further(fig, one["group_name"], one)
    common.chart(
        fig,
        alt=f"Bar chart of the families whose claim the chosen measure blocks in each "
        f"{place_word}, within the margin and further off; the table below gives every measure "
        f"in every {place_word}.",
        key="chart_barriers_by_place",
    )
common.table(
    by_place,
    f"Barriers by {group_choice}",
    {"group_name": Col(group_choice), **BARRIER_COLUMNS},
    title=f"Measures blocking claims in each {group_choice.lower()} on {as_at}",
    notes=(f"Margins: {in_use}.", f"Filters: {places}."),
    height=320,
)

# --- Over time -----------------------------------------------------------------------------------
st.subheader("Over time")
st.markdown(
    "The same count at the end of each quarter, so a barrier that grows or shrinks shows. The "
    "chart follows the five measures blocking most claims now; the table has every measure."
)
history = district.sort_values(["evaluation_date", "families_blocked"], ascending=[True, False])
followed = list(now["measure_title"].head(5))
if followed:
    fig = common.figure(
        "Families blocked by each of the five measures blocking most claims now, at the end of "
        "each quarter",
        height=460,
        hovermode="x unified",
    )
    for i, title in enumerate(followed):
        line = history[history["measure_title"] == title]
        fig.add_trace(
            go.Scatter(
                x=line["evaluation_date"],
                y=line["families_blocked"],
                name=textwrap.shorten(title, 60, placeholder="…"),
                mode="lines+markers",
                line={"color": common.PALETTE[i], "width": 3, "dash": ("solid", "dash", "dot",
                      "dashdot", "longdash")[i]},
                marker={"symbol": ("circle", "diamond", "square", "triangle-up", "x")[i]},
                hovertemplate="%{y:,} families<extra>" + textwrap.shorten(title, 40) + "</extra>",
            )
        )  # fmt: skip
    fig.update_layout(legend={"orientation": "v", "y": -0.2, "yanchor": "top"})
    fig.update_xaxes(title="Quarter end", tickformat="%b %Y")
    fig.update_yaxes(title="Families blocked", tickformat=",")
    common.chart(
        fig,
        alt="Line chart of the families each of the five measures blocking most claims now "
        "blocked at the end of each quarter; the table below gives every measure at every "
        "quarter end.",
        key="chart_barriers_over_time",
    )
common.table(
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
)
