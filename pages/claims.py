"""Claims & returns: what the programme has claimed and can claim, each claim's evidence, and the
quarterly return to government.

The page reads top to bottom as it draws: headline numbers, then four tabs: income against what the
plan's target would earn; the claims, filtered; one claim's evidence trail for internal audit and
spot checks; the quarterly return with next quarter's predicted claims and how they were
predicted. Which
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
from pages.ui.formats import (
    fmt_choices,
    fmt_date,
    fmt_int,
    fmt_money,
    fmt_quantity,
    fmt_share,
    fmt_status,
    plain,
)
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import NOT_APPLICABLE, Caution, Col, Missing, table

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
            plain(fmt_status(summary["claimed_basis"] or "no claim is taken as made yet")) + ".",
        ),
        Metric(
            "Income so far",
            fmt_money(summary["income"]),
            "Attachment fees and results payments, claimed and ready.",
        ),
        Metric(
            "Share of the target income",
            "Not known" if share is None else fmt_share(share),
            f"Of {fmt_money(target_income)}: what the plan's target of "
            f"{fmt_int(summary['target_families'])} families would earn if every one were "
            f"attached and claimed a result ({fmt_money(fee)} + {fmt_money(payment)} each).",
        ),
    ]
)

st.markdown(
    f"Income so far is **{fmt_money(summary['income'])}**"
    + (
        f", **{fmt_share(share)}** of the {fmt_money(target_income)} the plan's target of "
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

# The rest in tabs, so that the first screen is the answer: what is claimed, ready and earned.
income_tab, claims_tab, trail_tab, return_tab = st.tabs(
    ["Income against the target", "Claims", "A claim's evidence trail", "Quarterly return"]
)
ret = model.query(plan_read.quarterly_return)
actual = ret[~ret["is_forecast"]]
# A quarter on an axis by its name ("Q4 2019/20"), the months in brackets left to the tables.
quarter_names = ret["quarter_label"].str.split(" (", regex=False).str[0]

# --- Income against the target -------------------------------------------------------------------
with income_tab:
    st.header("Income against the target")
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
        title=f"Income from claims so far, quarter by quarter, against the "
        f"{fmt_money(target_income)} the plan's target would earn",
        lines=income_lines,
        x_axis=charts.period_axis(
            actual["quarter_end"], quarter_names[actual.index], title="Quarter", most=6
        ),
        y_axis={"title": "Income (£)", "tickformat": ",", "tickprefix": "£"},
        hovermode="x unified",
    )
    charts.draw(
        fig,
        alt=f"Line chart of income from claims so far at the end of each quarter, and the "
        f"results payments within it, against a dashed line at {fmt_money(target_income)}, what "
        f"the target would earn. {fmt_money(summary['income'])} by {as_at}. The quarterly "
        "return table (Quarterly return tab) gives every quarter.",
        key="chart_income",
    )

# --- The claims ----------------------------------------------------------------------------------
STATUSES = ["ready", "claimed", "not evidenced"]
options = model.query(plan_read.plan_filter_options)
with claims_tab:
    st.header("Claims")
    st.markdown(
        "Every claim, newest first. **Ready**: claimable, not yet taken as claimed. "
        "**Claimed**: no extract says which claims were submitted, so a claim is taken as "
        "claimed when it became claimable before the quarter of the as-at date. **Not "
        "evidenced**: an attachment the data do not show as eligible, worth nothing until they "
        "do."
    )
    left, middle, right = st.columns(3)
    with left:
        statuses = any_of(
            "Status",
            STATUSES,
            key="claims_status",
            placeholder="Every status",
            help="Leave empty for every status.",
            format_func=fmt_status,
        )
    with middle:
        claim_types = any_of(
            "Type",
            list(CLAIM_TYPES),
            key="claims_type",
            placeholder="Both types",
            help="Leave empty for both.",
            format_func=CLAIM_TYPES.__getitem__,
        )
    with right:
        clusters = cluster_filter(
            options["clusters"], key="claims_clusters", whose=ATTACHED_CLUSTER
        )
    chosen = " · ".join(
        [
            fmt_choices([fmt_status(s) for s in statuses], "every status"),
            fmt_choices([CLAIM_TYPES[t] for t in claim_types], "both types"),
            fmt_choices(clusters, "all clusters"),
        ]
    )
    shown = model.query(plan_read.claims, tuple(statuses), tuple(claim_types), tuple(clusters))
    shown_total = model.query(
        plan_read.claims_total, tuple(statuses), tuple(claim_types), tuple(clusters)
    )
    st.caption(
        f"Showing {fmt_int(shown_total['claims'])} claims worth "
        f"{fmt_money(shown_total['amount'])} · {plain(chosen)}."
    )
    table(
        shown.assign(
            status=shown["status"].map(fmt_status),
            claim_type=shown["claim_type"].map(lambda t: CLAIM_TYPES.get(t, t)),
            status_basis=shown["status_basis"].map(fmt_status),
        ),
        "Claims",
        {
            "case_id": Col("Case"),
            "claim_type": Col("Type"),
            "status": Col("Status"),
            "amount": Col("Amount (£)", "count"),
            "claimable_date": Col("Claimable from", "date"),
            "claim_quarter": Col("Quarter"),
            "route_title": Col("Route"),
            "cluster": Col("Cluster"),
            "team": Col("Team"),
            "key_worker": Col("Key worker"),
            "ward_name": Col("Ward"),
            "attached_date": Col("Attached", "date"),
            "status_basis": Col("Why this status", width="large"),
            "claim_id": Col("Claim id", help="The claim's id in the model, for analysts."),
        },
        title=f"Claims under the outcomes plan on {as_at}",
        notes=(
            f"Outcomes plan: {plan['plan_name']}.",
            f"Attachment fee {fmt_money(fee)}; results payment {fmt_money(payment)}.",
            f"Filters: {chosen}.",
        ),
        height=360,
        empty="No claim matches these filters.",
    )

# --- One claim's evidence trail ------------------------------------------------------------------
with trail_tab:
    st.header("A claim's evidence trail")
    if shown.empty:
        st.info("No claim matches the filters on the Claims tab.")
    else:
        st.markdown(
            "For internal audit and government spot checks: the records behind a claim. For an "
            "attachment fee, the records showing each problem the family had the day it was "
            "attached; for a results claim, the school terms, records and spells showing each "
            "measure its route needed was met (and, for a reduction, the records before "
            "attachment it is compared with). Choose from the claims the Claims tab lists."
        )
        by_claim = shown.set_index("claim_id")
        claim_labels = {
            claim_id: f"{row.case_id} · {CLAIM_TYPES.get(row.claim_type, row.claim_type)} · "
            f"{fmt_status(row.status)} · claimable {fmt_date(row.claimable_date)} · {claim_id}"
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
            f"{fmt_money(claim['amount'])}, **{plain(fmt_status(claim['status']))}** "
            f"({plain(claim['status_basis'])}). "
            f"**{fmt_quantity(len(evidence), 'records')}** of evidence."
        )
        source_titles = model.query(programme.data_currency).set_index("source")["title"]
        table(
            evidence.assign(
                source_title=evidence["source"].map(lambda s: source_titles.get(s, s)),
                role=evidence["role"].map(fmt_status),
            ),
            "Claim evidence",
            {
                "criterion": Col("What it shows", width="large"),
                "role": Col(
                    "How it counts",
                    help="Counted: in the window the criterion was judged on. Before "
                    "attachment: the months a reduction is compared with.",
                ),
                "evidence_date": Col("Date", "date"),
                "value": Col("What the record says", width="large"),
                "source_title": Col("Source"),
                "source_record_id": Col("Source record"),
                "person_key": Col("Person id"),
            },
            title=f"Evidence trail of case {claim['case_id']}'s "
            f"{CLAIM_TYPES.get(claim['claim_type'], claim['claim_type']).lower()}",
            notes=(
                f"Claim {claim_id}: {claim['claim_type']}, case {claim['case_id']}, claimable "
                f"from {fmt_date(claim['claimable_date'])}, {fmt_money(claim['amount'])}.",
                "Person id: the linked person's id in the model. Source record: the record's "
                "id in its source extract, to find it there.",
            ),
            empty="No record: the claim's measures are met by their windows alone (below).",
        )
        if claim["claim_type"] == "results":
            # A measure such as "no incident for 6 months" is met by records that are not
            # there: its window and count are the evidence, so they are listed beside them.
            st.markdown(
                "The family's outcome measures, each with the window it was judged on and what "
                "the records in it add up to. A measure met because nothing happened (no "
                "incident, no new episode) has no records above: this is its evidence."
            )
            measures = model.query(plan_read.family_measures, claim["family_key"])
            measures = measures[measures["status"] != "not applicable"]
            table(
                measures.assign(status=measures["status"].map(fmt_status)),
                "Claim measures",
                {
                    "measure_title": Col("Measure"),
                    "status": Col("Status"),
                    "progress": Col("What the records show", width="large"),
                    "window_from": Col("Judged from", "date"),
                    "window_to": Col("Judged to", "date"),
                    "achieved_date": Col("Met on", "date"),
                    "problem_title": Col("Problem"),
                },
                title=f"Outcome measures of case {claim['case_id']}'s family, on {as_at}",
                notes=(
                    "Measures of the problems the family did not have when attached are left out.",
                ),
                missing=Missing(NOT_APPLICABLE, "not applicable: the measure is not met yet"),
            )

# --- The quarterly return ------------------------------------------------------------------------
with return_tab:
    st.header("Quarterly return")
    latest, forecast = actual.iloc[-1], ret[ret["is_forecast"]].iloc[0]
    st.markdown(
        "What goes to government each quarter: families identified (first met the eligibility "
        "rule), families worked with (attached), claims made, and the results claims predicted "
        "for the next quarter. The latest quarter is "
        f"**{plain(latest['quarter_label'])}**"
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
        f"**How the prediction is made.** {plain(method[:1].upper() + method[1:])}, rounded to "
        "a whole claim. In words: each attached family not yet claimable is in a state on the "
        "as-at date (near a claim, blocked, or not eligible when attached); over the last four "
        "quarters, a share of the families in each state at a quarter's end became claimable in "
        "the next quarter; the prediction assumes the same shares for the families in each "
        "state now. The shares are in the table below the return."
    )

    drawn = ret.head(len(actual) + 1)  # every quarter so far and the one predicted
    fig = charts.over_time(
        actual,
        "quarter_start",
        title="Families identified and worked with, and results claims, each quarter, with "
        "next quarter's predicted claims",
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
        x_axis=charts.period_axis(
            drawn["quarter_start"], quarter_names[drawn.index], title="Quarter", most=6
        ),
        y_axis=charts.count_axis(
            actual[["families_identified", "families_attached", "results_claims"]].max().max(),
            title="Families or claims",
        ),
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
        ay=40,  # below the legend, which sits over the plot's top
        xanchor="left",
        align="left",
    )
    charts.draw(
        fig,
        alt="Bar chart of the families identified, families attached and results claims in "
        f"each quarter, with a hatched bar for the "
        f"{fmt_int(forecast['predicted_results_claims'])} results claims predicted for "
        f"{forecast['quarter_label']}; the table below gives every quarter.",
        key="chart_quarterly_return",
    )

    # The forecast quarter has not happened: its counts are not applicable, not nought.
    return_table = ret.sort_values("quarter_start", ascending=False)  # the latest quarter first
    happened = ["families_identified", "families_attached", "attachment_claims",
                "results_claims", "attachment_income", "results_income"]  # fmt: skip
    return_table[happened] = (
        return_table[happened].astype("Float64").mask(return_table["is_forecast"])
    )
    # Only the next quarter is predicted: the quarters before it have no prediction.
    return_table["predicted_results_claims"] = (
        return_table["predicted_results_claims"]
        .astype("Float64")
        .where(return_table["is_forecast"])
    )
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
        missing=Missing(
            NOT_APPLICABLE,
            f"not applicable: {forecast['quarter_label']} has not happened yet, so only its "
            "predicted results claims are given; the quarters before it have no prediction",
        ),
    )

    st.subheader("The shares behind the prediction")
    rates = model.query(plan_read.prediction_rates)
    table(
        rates.assign(state=rates["state"].map(fmt_status)),
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
        caution=Caution("families_observed", "families"),
    )
