"""Claims & returns: what the programme has claimed and can claim, each claim's evidence, and the
quarterly return to government.

The page reads top to bottom as it draws: headline numbers; income against what the plan's target
would earn; the claims, filtered; one claim's evidence trail for internal audit and spot checks;
the quarterly return with next quarter's predicted claims and how they were predicted. Which
claims exist, their status and the prediction are the outcomes plan engine's (mart_claim*,
mart_plan_quarterly_return), read through data_model.read.plan.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data_model.read import plan as plan_read
from data_model.read import programme, sources
from pages.ui import access, charts, model
from pages.ui.absent import never_counted, stop_if_not_available
from pages.ui.charts import Series
from pages.ui.filters import ATTACHED_CLUSTER, any_of, cluster_filter, pick
from pages.ui.formats import fmt_choices, fmt_date, fmt_int, fmt_money, fmt_quantity, plain
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import Col, table

access.require("claims")  # first: who may open this page (data_model/access.yaml)

CLAIM_TYPES = {"attachment fee": "Attachment fee", "results": "Results claim"}

model.info()  # stops with a message when there is no model
plan = model.query(plan_read.active_plan)
summary = model.query(plan_read.claims_summary)
as_at = fmt_date(plan["as_at_date"])
fee, payment = plan["attachment_fee"], plan["results_payment"]

st.title("Claims and returns")
st.markdown(
    "Claims the programme has made and can make under "
    f"*{plain(plan['plan_name'])}*: an attachment fee of {fmt_money(fee)} for each family "
    "attached, and a results payment of "
    f"{fmt_money(payment)} for each family that meets a claim route. Each claim carries "
    "its evidence trail for internal audit and government spot checks. Then the quarterly "
    f"return. Data current to **{as_at}**."
)
# Claims are for attached families: without the extract that says who was attached, "no claims"
# would look like a finding.
stop_if_not_available("Attached families are", model.query(sources.not_available, "attachment"))
never_counted(
    "No results claim can rest on these measures, since the council has no extract to measure them",
    model.query(sources.unavailable_measures),
    "measure_title",
)

# --- Headline numbers ----------------------------------------------------------------------------
target_income = summary["target_income"]
share = summary["share_of_target_income"]
metric_row(
    [
        Metric(
            "Claims ready",
            fmt_int(summary["claims_ready"]),
            f"{fmt_int(summary['results_claims_ready'])} results claims and "
            f"{fmt_int(summary['attachment_claims_ready'])} attachment fees, worth "
            f"{fmt_money(summary['income_ready'])}, not yet in a claim window.",
        ),
        Metric(
            "Claimed",
            fmt_int(summary["claims_claimed"]),
            f"Claims taken as made: {plain(summary['claimed_basis'] or 'none yet')}.",
        ),
        Metric(
            "Income so far",
            fmt_money(summary["income"]),
            "Attachment fees and results payments, claimed and ready.",
        ),
        Metric(
            "Share of the target income",
            "–" if share is None else f"{share:.0%}",
            f"Of {fmt_money(target_income)}: what the plan's target of "
            f"{fmt_int(summary['target_families'])} families would earn if every one were "
            f"attached and claimed a result ({fmt_money(fee)} + {fmt_money(payment)} each).",
        ),
    ]
)

st.markdown(
    f"Income so far is **{fmt_money(summary['income'])}**"
    + (
        f", **{share:.0%}** of the {fmt_money(target_income)} the plan's target of "
        f"{fmt_int(summary['target_families'])} families would earn"
        if share is not None
        else ""
    )
    + f": {fmt_money(summary['attachment_income'])} in attachment fees and "
    f"{fmt_money(summary['results_income'])} in results payments "
    f"({fmt_int(summary['results_claims'])} results claims). "
    f"**{fmt_int(summary['attachments_not_evidenced'])} attachments are not evidenced**: "
    "the data do not show those families meeting the eligibility rule on the day they were "
    "attached, so they earn no fee until the records do."
)

# --- Income against the target -------------------------------------------------------------------
st.header("Income against the target")
ret = model.query(plan_read.quarterly_return)
actual = ret[~ret["is_forecast"]]
income_lines = [
    Series(
        "income_to_date",
        "Income so far (attachment fees and results)",
        charts.DARK_BLUE,
        "£%{y:,.0f}<extra>Income so far</extra>",
        markers=True,
    ),
    Series(
        "results_income_to_date",
        "Of which results payments",
        charts.TURQUOISE,
        "£%{y:,.0f}<extra>Results payments so far</extra>",
        data=actual,
        markers=True,
        dash="dot",
        symbol="diamond",
    ),
]
if target_income:  # a flat line across the quarters at what the target would earn
    income_lines.append(
        Series(
            "target_income",
            f"What the target would earn ({fmt_money(target_income)})",
            charts.ORANGE,
            "£%{y:,.0f}<extra>Target</extra>",
            data=pd.DataFrame(
                {
                    "quarter_end": [actual["quarter_end"].min(), actual["quarter_end"].max()],
                    "target_income": [target_income, target_income],
                },
                dtype=object,  # two points: drawn as they are, not as arrays
            ),
            dash="dash",
        )
    )
fig = charts.over_time(
    actual,
    "quarter_end",
    title=f"Income from claims so far, quarter by quarter, against the {fmt_money(target_income)} "
    "the plan's target would earn",
    lines=income_lines,
    x_axis={"title": "Quarter end", "tickformat": "%b %Y"},
    y_axis={"title": "Income (£)", "tickformat": ",", "tickprefix": "£"},
    hovermode="x unified",
)
charts.draw(
    fig,
    alt=f"Line chart of income from claims so far at the end of each quarter, and the results "
    f"payments within it, against a dashed line at {fmt_money(target_income)}, what the "
    f"target would earn. {fmt_money(summary['income'])} by {as_at}. The quarterly return "
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
options = model.query(plan_read.plan_filter_options)
left, middle, right = st.columns(3)
with left:
    statuses = any_of(
        "Status",
        ["ready", "claimed", "not evidenced"],
        key="claims_status",
        placeholder="Every status",
        help="Leave empty for every status.",
    )
with middle:
    claim_types = any_of(
        "Type",
        ["attachment fee", "results"],
        key="claims_type",
        placeholder="Both types",
        help="Leave empty for both.",
    )
with right:
    clusters = cluster_filter(options["clusters"], key="claims_clusters", whose=ATTACHED_CLUSTER)
chosen = " · ".join(
    [
        fmt_choices(statuses, "every status"),
        fmt_choices(claim_types, "both types"),
        fmt_choices(clusters, "all clusters"),
    ]
)
shown = model.query(plan_read.claims, tuple(statuses), tuple(claim_types), tuple(clusters))
shown_total = model.query(
    plan_read.claims_total, tuple(statuses), tuple(claim_types), tuple(clusters)
)
st.caption(
    f"Showing {fmt_int(shown_total['claims'])} claims worth {fmt_money(shown_total['amount'])}"
    f" · {plain(chosen)}."
)
table(
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
        f"Attachment fee {fmt_money(fee)}; results payment {fmt_money(payment)}.",
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
        f"{fmt_date(row.claimable_date)} · {claim_id}"
        for claim_id, row in by_claim.iterrows()
    }
    claim_id = pick("Claim (type a case to find one)", claim_labels, key="claim_pick")
    claim = by_claim.loc[claim_id]
    evidence = model.query(plan_read.claim_evidence, claim_id)
    st.markdown(
        f"**{plain(CLAIM_TYPES.get(claim['claim_type'], claim['claim_type']))}** for case "
        f"{plain(claim['case_id'])} "
        f"({plain(claim['cluster'])}; key worker {plain(claim['key_worker'])}): "
        f"*{plain(claim['route_title'])}*. "
        f"Claimable from {fmt_date(claim['claimable_date'])}, "
        f"{fmt_money(claim['amount'])}, **{plain(claim['status'])}** "
        f"({plain(claim['status_basis'])}). "
        f"**{fmt_quantity(len(evidence), 'records')}** of evidence."
    )
    sources = model.query(programme.data_currency).set_index("source")["title"].to_dict()
    table(
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
            f"{fmt_date(claim['claimable_date'])}, {fmt_money(claim['amount'])}.",
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
        measures = model.query(plan_read.family_measures, claim["family_key"])
        table(
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
    f"next quarter. The latest quarter is **{plain(latest['quarter_label'])}**"
    + (f", up to {as_at}." if latest["quarter_end"] > pd.Timestamp(plan["as_at_date"]) else ".")
)
metric_row(
    [
        Metric(
            "Families identified",
            fmt_int(latest["families_identified"]),
            "Families that first met the plan's eligibility rule in the quarter.",
        ),
        Metric(
            "Families worked with",
            fmt_int(latest["families_attached"]),
            f"Families attached in the quarter; "
            f"{fmt_int(latest['families_attached_to_date'])} since the programme started.",
        ),
        Metric(
            "Claims made",
            fmt_int(latest["attachment_claims"] + latest["results_claims"]),
            f"{fmt_int(latest['attachment_claims'])} attachment fees and "
            f"{fmt_int(latest['results_claims'])} results claims that became claimable in "
            "the quarter.",
        ),
        Metric(
            "Results claims predicted next quarter",
            fmt_int(forecast["predicted_results_claims"]),
            f"For {plain(forecast['quarter_label'])}: see how the prediction is made, below.",
        ),
    ]
)
method = str(forecast["prediction_method"] or "")
st.markdown(
    f"**How the prediction is made.** {plain(method[:1].upper() + method[1:])}, rounded to a whole "
    "claim. In words: each attached family not yet claimable is in a state on the as-at date "
    "(near a claim, blocked, or not eligible when attached); over the last four quarters, a "
    "share of the families in each state at a quarter's end became claimable in the next "
    "quarter; the prediction assumes the same shares for the families in each state now. The "
    "shares are in the table below the return."
)

fig = charts.over_time(
    actual,
    "quarter_start",
    title="Families identified and worked with, and results claims, each quarter, with next "
    "quarter's predicted claims",
    bars=[
        *(
            Series(column, name, colour, "%{y:,}<extra>" + name + "</extra>")
            for column, name, colour in (
                ("families_identified", "Families identified", charts.DARK_BLUE),
                ("families_attached", "Families worked with (attached)", charts.TURQUOISE),
                ("results_claims", "Results claims", charts.DARK_PINK),
            )
        ),
        Series(
            "predicted_results_claims",
            "Results claims predicted",
            charts.DARK_PINK,
            "%{y:,}<extra>Predicted</extra>",
            data=ret[ret["is_forecast"]].head(1).astype(object),  # one bar, drawn as it is
            marker={"color": "#FFFFFF", "line": {"color": charts.DARK_PINK, "width": 2},
                    "pattern": {"shape": "/", "fgcolor": charts.DARK_PINK}},
        ),
    ],
    x_axis={"title": "Quarter beginning", "tickformat": "%b %Y"},
    y_axis={"title": "Families or claims", "tickformat": ","},
    height=440,
    barmode="group",
    hovermode="x unified",
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
charts.draw(
    fig,
    alt="Bar chart of the families identified, families attached and results claims in each "
    f"quarter, with a hatched bar for the {fmt_int(forecast['predicted_results_claims'])} "
    f"results claims predicted for {forecast['quarter_label']}; the table below gives every "
    "quarter.",
    key="chart_quarterly_return",
)

# The forecast quarter has not happened: its counts are blank, not nought.
return_table = ret.sort_values("quarter_start", ascending=False)  # the latest quarter first
happened = ["families_identified", "families_attached", "attachment_claims", "results_claims",
            "attachment_income", "results_income"]  # fmt: skip
return_table[happened] = return_table[happened].astype("Float64").mask(return_table["is_forecast"])
table(
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
rates = model.query(plan_read.prediction_rates)
table(
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
