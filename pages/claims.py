"""Claims & returns: what the programme has claimed and can claim, each claim's evidence, and the
quarterly return to government.

The page reads top to bottom as it draws: headline numbers; income against what the plan's target
would earn; the claims, filtered; one claim's evidence trail for internal audit and spot checks;
the quarterly return with next quarter's predicted claims and how they were predicted. Which
claims exist, their status and the prediction are the outcomes plan engine's (mart_claim*,
mart_plan_quarterly_return), read through data_model.plan_queries.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_model import plan_queries, queries
from pages import common
from pages.common import Col

CLAIM_TYPES = {"attachment fee": "Attachment fee", "results": "Results claim"}

common.info()  # stops with a message when there is no model
plan = common.query(plan_queries.active_plan)
summary = common.query(plan_queries.claims_summary)
as_at = common.fmt_date(plan["as_at_date"])
fee, payment = plan["attachment_fee"], plan["results_payment"]

st.title("Claims and returns")
st.markdown(
    f"Claims the programme has made and can make under *{plan['plan_name']}*: an attachment fee "
    f"of {common.fmt_money(fee)} for each family attached, and a results payment of "
    f"{common.fmt_money(payment)} for each family that meets a claim route. Each claim carries "
    "its evidence trail for internal audit and government spot checks. Then the quarterly "
    f"return. Data current to **{as_at}**."
)

all_claims = common.query(plan_queries.claims)
ready = all_claims[all_claims["status"] == "ready"]
ready_by_type = ready["claim_type"].value_counts()
claimed = all_claims[all_claims["status"] == "claimed"]

# --- Headline numbers ----------------------------------------------------------------------------
target_income = summary["target_income"]
share = summary["share_of_target_income"]
with st.container(horizontal=True, gap="small"):
    st.metric(
        "Claims ready",
        common.fmt_int(len(ready)),
        help=f"{common.fmt_int(ready_by_type.get('results', 0))} results claims and "
        f"{common.fmt_int(ready_by_type.get('attachment fee', 0))} attachment fees, worth "
        f"{common.fmt_money(summary['income_ready'])}, not yet in a claim window.",
        border=True,
        width="content",
    )
    st.metric(
        "Claimed",
        common.fmt_int(len(claimed)),
        help="Claims taken as made: "
        + (claimed["status_basis"].iloc[0] if len(claimed) else "none yet")
        + ".",
        border=True,
        width="content",
    )
    st.metric(
        "Income so far",
        common.fmt_money(summary["income"]),
        help="Attachment fees and results payments, claimed and ready.",
        border=True,
        width="content",
    )
    st.metric(
        "Share of the target income",
        "–" if share is None else f"{share:.0%}",
        help=f"Of {common.fmt_money(target_income)}: what the plan's target of "
        f"{common.fmt_int(summary['target_families'])} families would earn if every one were "
        f"attached and claimed a result ({common.fmt_money(fee)} + {common.fmt_money(payment)} "
        "each).",
        border=True,
        width="content",
    )

st.markdown(
    f"Income so far is **{common.fmt_money(summary['income'])}**"
    + (
        f", **{share:.0%}** of the {common.fmt_money(target_income)} the plan's target of "
        f"{common.fmt_int(summary['target_families'])} families would earn"
        if share is not None
        else ""
    )
    + f": {common.fmt_money(summary['attachment_income'])} in attachment fees and "
    f"{common.fmt_money(summary['results_income'])} in results payments "
    f"({common.fmt_int(summary['results_claims'])} results claims). "
    f"**{common.fmt_int(summary['attachments_not_evidenced'])} attachments are not evidenced**: "
    "the data do not show those families meeting the eligibility rule on the day they were "
    "attached, so they earn no fee until the records do."
)

# --- Income against the target -------------------------------------------------------------------
st.header("Income against the target")
ret = common.query(plan_queries.quarterly_return)
actual = ret[~ret["is_forecast"]]
fig = common.figure(
    f"Income from claims so far, quarter by quarter, against the {common.fmt_money(target_income)} "
    "the plan's target would earn",
    height=420,
    hovermode="x unified",
)
fig.add_trace(
    go.Scatter(
        x=actual["quarter_end"],
        y=actual["income_to_date"],
        name="Income so far (attachment fees and results)",
        mode="lines+markers",
        line={"color": common.DARK_BLUE, "width": 3},
        hovertemplate="£%{y:,.0f}<extra>Income so far</extra>",
    )
)
fig.add_trace(
    go.Scatter(
        x=actual["quarter_end"],
        y=actual["results_income"].cumsum(),
        name="Of which results payments",
        mode="lines+markers",
        line={"color": common.TURQUOISE, "width": 3, "dash": "dot"},
        marker={"symbol": "diamond"},
        hovertemplate="£%{y:,.0f}<extra>Results payments so far</extra>",
    )
)
if target_income:
    fig.add_trace(
        go.Scatter(
            x=[actual["quarter_end"].min(), actual["quarter_end"].max()],
            y=[target_income, target_income],
            name=f"What the target would earn ({common.fmt_money(target_income)})",
            mode="lines",
            line={"color": common.ORANGE, "width": 3, "dash": "dash"},
            hovertemplate="£%{y:,.0f}<extra>Target</extra>",
        )
    )
fig.update_xaxes(title="Quarter end", tickformat="%b %Y")
fig.update_yaxes(title="Income (£)", tickformat=",", tickprefix="£")
common.chart(
    fig,
    alt=f"Line chart of income from claims so far at the end of each quarter, and the results "
    f"payments within it, against a dashed line at {common.fmt_money(target_income)}, what the "
    f"target would earn. {common.fmt_money(summary['income'])} by {as_at}. The quarterly return "
    "table below gives every quarter.",
    key="chart_income",
)

# --- The claims ----------------------------------------------------------------------------------
st.header("Claims")
st.markdown(
    "Every claim, newest first. **Ready**: claimable, not yet in a claim window. **Claimed**: no "
    "extract says which claims were submitted, so a claim is taken as claimed when it became "
    "claimable before the quarter of the as-at date (the plan's *assume claimed through*). "
    "**Not evidenced**: an attachment the data do not show as eligible, worth nothing until "
    "they do."
)
options = common.query(plan_queries.plan_filter_options)
left, middle, right = st.columns(3)
with left:
    statuses = st.multiselect(
        "Status",
        ["ready", "claimed", "not evidenced"],
        key="claims_status",
        placeholder="Every status",
        help="Leave empty for every status.",
    )
with middle:
    claim_types = st.multiselect(
        "Type",
        ["attachment fee", "results"],
        key="claims_type",
        placeholder="Both types",
        help="Leave empty for both.",
    )
with right:
    clusters = st.multiselect(
        "Clusters",
        options["clusters"],
        key="claims_clusters",
        placeholder="All clusters",
        help="The cluster of the family's attached episode. Leave empty for every cluster.",
    )
chosen = " · ".join(
    [
        ", ".join(statuses) if statuses else "every status",
        ", ".join(claim_types) if claim_types else "both types",
        ", ".join(clusters) if clusters else "all clusters",
    ]
)
shown = common.query(plan_queries.claims, tuple(statuses), tuple(claim_types), tuple(clusters))
st.caption(
    f"Showing {common.fmt_int(len(shown))} claims worth {common.fmt_money(shown['amount'].sum())} "
    f"· {chosen}."
)
common.table(
    shown,
    "Claims",
    {
        "claim_id": Col("Claim"),
        "case_id": Col("Case"),
        "claim_type": Col("Type"),
        "route_title": Col("Route"),
        "claimable_date": Col("Claimable from", "date"),
        "claim_quarter": Col("Quarter"),
        "status": Col("Status"),
        "amount": Col("Amount (£)", "count"),
        "cluster": Col("Cluster"),
        "team": Col("Team"),
        "key_worker": Col("Key worker"),
        "ward_name": Col("Ward"),
        "attached_date": Col("Attached", "date"),
        "status_basis": Col("Why this status"),
    },
    title=f"Claims under the outcomes plan on {as_at}",
    notes=(
        f"Outcomes plan: {plan['plan_name']}.",
        f"Attachment fee {common.fmt_money(fee)}; results payment {common.fmt_money(payment)}.",
        f"Filters: {chosen}.",
    ),
    height=360,
)

# --- One claim's evidence trail ------------------------------------------------------------------
st.header("A claim's evidence trail")
if shown.empty:
    st.info("No claim matches these filters.")
else:
    st.markdown(
        "For internal audit and government spot checks: the records behind a claim. For an "
        "attachment fee, the records showing each problem the family had the day it was "
        "attached; for a results claim, the school terms, records and spells showing each "
        "measure its route needed was met (and, for a reduction, the records before attachment "
        "it is compared with). Choose from the claims listed above."
    )
    by_claim = shown.set_index("claim_id")
    claim_labels = {
        claim_id: f"{row.case_id} · {row.claim_type} · {row.status} · claimable "
        f"{common.fmt_date(row.claimable_date)} · {claim_id}"
        for claim_id, row in by_claim.iterrows()
    }
    claim_id = common.pick("Claim (type a case to find one)", claim_labels, key="claim_pick")
    claim = by_claim.loc[claim_id]
    evidence = common.query(plan_queries.claim_evidence, claim_id)
    st.markdown(
        f"**{CLAIM_TYPES.get(claim['claim_type'], claim['claim_type'])}** for case "
        f"{claim['case_id']} "
        f"({claim['cluster']}; key worker {claim['key_worker']}): *{claim['route_title']}*. "
        f"Claimable from {common.fmt_date(claim['claimable_date'])}, "
        f"{common.fmt_money(claim['amount'])}, **{claim['status']}** ({claim['status_basis']}). "
        f"**{common.fmt_quantity(len(evidence), 'records')}** of evidence."
    )
    sources = common.query(queries.data_currency).set_index("source")["title"].to_dict()
    common.table(
        evidence.assign(source_title=evidence["source"].map(lambda s: sources.get(s, s))),
        "Claim evidence",
        {
            "criterion": Col("What it shows"),
            "role": Col(
                "How it counts",
                help="Counted: in the window the criterion was judged on. Before attachment: "
                "the months a reduction is compared with.",
            ),
            "evidence_date": Col("Date", "date"),
            "value": Col("What the record says"),
            "source_title": Col("Source"),
            "source_record_id": Col("Source record"),
            "person_key": Col("Person"),
        },
        title=f"Evidence trail of claim {claim_id}",
        notes=(
            f"Claim {claim_id}: {claim['claim_type']}, case {claim['case_id']}, claimable from "
            f"{common.fmt_date(claim['claimable_date'])}, {common.fmt_money(claim['amount'])}.",
            "Person: the linked person's key in the model. Source record: the record's id in its "
            "source extract, to find it there.",
        ),
    )
    if claim["claim_type"] == "results":
        # A measure such as "no incident for 6 months" is met by records that are not there:
        # its window and count are the evidence, so they are listed beside the records.
        st.markdown(
            "The family's outcome measures, each with the window it was judged on and what the "
            "records in it add up to. A measure met because nothing happened (no incident, no "
            "new episode) has no records above: this is its evidence."
        )
        measures = common.query(plan_queries.family_measures, claim["family_key"])
        common.table(
            measures[measures["status"] != "not applicable"],
            "Claim measures",
            {
                "measure_title": Col("Measure"),
                "status": Col("Status"),
                "progress": Col("What the records show"),
                "window_from": Col("Judged from", "date"),
                "window_to": Col("Judged to", "date"),
                "achieved_date": Col("Met on", "date"),
                "problem_title": Col("Problem"),
            },
            title=f"Outcome measures of the family behind claim {claim_id}, on {as_at}",
            notes=("Measures of the problems the family did not have when attached are left out.",),
        )

# --- The quarterly return ------------------------------------------------------------------------
st.header("Quarterly return")
latest, forecast = actual.iloc[-1], ret[ret["is_forecast"]].iloc[0]
st.markdown(
    f"What goes to government each quarter: families identified (first met the eligibility rule), "
    f"families worked with (attached), claims made, and the results claims predicted for the "
    f"next quarter. The latest quarter is **{latest['quarter_label']}**"
    + (f", up to {as_at}." if latest["quarter_end"] > pd.Timestamp(plan["as_at_date"]) else ".")
)
with st.container(horizontal=True, gap="small"):
    st.metric(
        "Families identified",
        common.fmt_int(latest["families_identified"]),
        help="Families that first met the plan's eligibility rule in the quarter.",
        border=True,
        width="content",
    )
    st.metric(
        "Families worked with",
        common.fmt_int(latest["families_attached"]),
        help=f"Families attached in the quarter; "
        f"{common.fmt_int(latest['families_attached_to_date'])} since the programme started.",
        border=True,
        width="content",
    )
    st.metric(
        "Claims made",
        common.fmt_int(latest["attachment_claims"] + latest["results_claims"]),
        help=f"{common.fmt_int(latest['attachment_claims'])} attachment fees and "
        f"{common.fmt_int(latest['results_claims'])} results claims that became claimable in "
        "the quarter.",
        border=True,
        width="content",
    )
    st.metric(
        "Results claims predicted next quarter",
        common.fmt_int(forecast["predicted_results_claims"]),
        help=f"For {forecast['quarter_label']}: see how the prediction is made, below.",
        border=True,
        width="content",
    )
method = str(forecast["prediction_method"] or "")
st.markdown(
    f"**How the prediction is made.** {method[:1].upper()}{method[1:]}, rounded to a whole "
    "claim. In words: each attached family not yet claimable is in a state on the as-at date "
    "(near a claim, blocked, or not eligible when attached); over the last four quarters, a "
    "share of the families in each state at a quarter's end became claimable in the next "
    "quarter; the prediction assumes the same shares for the families in each state now. The "
    "shares are in the table below the return."
)

fig = common.figure(
    "Families identified and worked with, and results claims, each quarter, with next quarter's "
    "predicted claims",
    height=440,
    barmode="group",
    hovermode="x unified",
)
for column, name, colour in (
    ("families_identified", "Families identified", common.DARK_BLUE),
    ("families_attached", "Families worked with (attached)", common.TURQUOISE),
    ("results_claims", "Results claims", common.DARK_PINK),
):
    fig.add_trace(
        go.Bar(
            x=actual["quarter_start"],
            y=actual[column],
            name=name,
            marker_color=colour,
            hovertemplate="%{y:,}<extra>" + name + "</extra>",
        )
    )
fig.add_trace(
    go.Bar(
        x=[forecast["quarter_start"]],
        y=[forecast["predicted_results_claims"]],
        name="Results claims predicted",
        marker={"color": "#FFFFFF", "line": {"color": common.DARK_PINK, "width": 2},
                "pattern": {"shape": "/", "fgcolor": common.DARK_PINK}},
        hovertemplate="%{y:,}<extra>Predicted</extra>",
    )
)  # fmt: skip
first = actual.iloc[0]
fig.add_annotation(
    x=first["quarter_start"],
    y=first["families_identified"],
    text="Includes families identified<br>before the programme started",
    showarrow=True,
    arrowhead=0,
    ax=90,
    ay=10,
    xanchor="left",
    align="left",
)
fig.update_xaxes(title="Quarter beginning", tickformat="%b %Y")
fig.update_yaxes(title="Families or claims", tickformat=",")
common.chart(
    fig,
    alt="Bar chart of the families identified, families attached and results claims in each "
    f"quarter, with a hatched bar for the {common.fmt_int(forecast['predicted_results_claims'])} "
    f"results claims predicted for {forecast['quarter_label']}; the table below gives every "
    "quarter.",
    key="chart_quarterly_return",
)

# The forecast quarter has not happened: its counts are blank, not nought.
return_table = ret.sort_values("quarter_start", ascending=False)  # the latest quarter first
happened = ["families_identified", "families_attached", "attachment_claims", "results_claims",
            "attachment_income", "results_income"]  # fmt: skip
return_table[happened] = return_table[happened].astype("Float64").mask(return_table["is_forecast"])
common.table(
    return_table,
    "Quarterly return",
    {
        "quarter_label": Col("Quarter"),
        "families_identified": Col("Families identified", "count"),
        "families_attached": Col("Families worked with (attached)", "count"),
        "families_attached_to_date": Col("Worked with since the start", "count"),
        "attachment_claims": Col("Attachment fees claimable", "count"),
        "results_claims": Col("Results claims", "count"),
        "results_claims_to_date": Col("Results claims since the start", "count"),
        "predicted_results_claims": Col("Results claims predicted", "count"),
        "attachment_income": Col("Attachment fees (£)", "count"),
        "results_income": Col("Results payments (£)", "count"),
        "income_to_date": Col("Income since the start (£)", "count"),
    },
    title="Quarterly return: families identified, worked with, claims and income, latest first",
    notes=(
        "Quarters are financial-year quarters (Q1 is April to June).",
        "Events before the programme started count in its first quarter.",
        f"Predicted results claims: {method}.",
    ),
    height=360,
)

st.subheader("The shares behind the prediction")
rates = common.query(plan_queries.prediction_rates)
common.table(
    rates,
    "Prediction rates",
    {
        "state": Col("State at a quarter end"),
        "families_observed": Col("Families observed", "count"),
        "became_claimable": Col("Became claimable the next quarter", "count"),
        "conversion_rate": Col("Share", "share"),
        "quarters_observed": Col("Quarters observed", "count"),
        "first_quarter_end": Col("From the quarter ending", "date"),
        "last_quarter_end": Col("To the quarter ending", "date"),
    },
    title="How often families in each state at a quarter end became claimable the next quarter",
    notes=(f"Predicted results claims: {method}.",),
)
