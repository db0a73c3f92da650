"""Outcomes plan: which plan the model was built with, in words, and the plan file in full.

Every eligibility, near-threshold and claim figure in the dashboard follows this plan; the page
reads it from the model (mart_plan, mart_plan_problem, mart_plan_measure) through
data_model.read.plan, so it shows the plan as it was when the model was built.
"""

from __future__ import annotations

import streamlit as st

from data_model.read import plan as plan_read
from data_model.read import sources
from pages.ui import access, model
from pages.ui.formats import fmt_date, fmt_int, fmt_money, fmt_quantity, plain
from pages.ui.tables import Col, table

access.require("outcomes_plan")  # first: who may open this page (data_model/access.yaml)

model.info()  # stops with a message when there is no model
plan = model.query(plan_read.active_plan)
problems = model.query(plan_read.plan_problems)
measures = model.query(plan_read.plan_measures)
margins = model.query(plan_read.near_margins)
routes = model.query(plan_read.plan_routes)
# indicators and measures whose source the council has no extract of: (problem, title) → why
unseen = model.query(sources.unavailable_indicators)
not_shown = dict(
    zip(
        zip(unseen["problem_title"], unseen["indicator_title"], strict=True),
        unseen["not_available_text"],
        strict=True,
    )
)
unmeasured = model.query(sources.unavailable_measures)
not_measured = dict(zip(unmeasured["measure_title"], unmeasured["not_available_text"], strict=True))

st.title("Outcomes plan")
st.markdown(
    "The rules behind every eligibility, near-threshold and claim figure in this dashboard: "
    "which records show that a family has each problem, how many problems make it eligible, and "
    "what counts as significant and sustained progress. Each council writes its own plan; this "
    "is the one the model was built with. To use another, rebuild the model with `--plan` "
    "(see the README, *Outcomes plans*)."
)

# --- The plan in brief ---------------------------------------------------------------------------
st.header(plain(plan["plan_name"]))
problem_titles = problems.set_index("problem_id")["problem_title"].to_dict()
claimed_through = plan["assume_claimed_through"]
if claimed_through == "never":
    claimed_words = "none: no claim is taken as made"
elif claimed_through == "last_complete_quarter":
    claimed_words = (
        "claims that became claimable before the quarter of the as-at date are taken as made"
    )
else:
    claimed_words = f"claims claimable on or before {fmt_date(claimed_through)}"
measure_titles = measures.set_index("measure_id")["measure_title"].to_dict()
route_needs = [
    (
        plain(route.route_title),
        "every measure of every problem the family had when attached"
        if route.requires == "every_problem"
        else f"the measure “{plain(measure_titles.get(route.requires, route.requires))}”",
    )
    for route in routes.itertuples()
]
route_titles = routes.set_index("route_id")["route_title"].to_dict()
invalidated = [plain(problem_titles.get(p, p)) for p in plan["invalid_if_another_member_develops"]]
near_rule = (
    f"one of its claim routes is blocked by at most {plan['near_max_blocking_measures']} "
    "measures, each near"
    + (", or by one measure however far" if plan["near_all_met_but_one"] else "")
)
margin_words = "; ".join(
    plain(fmt_quantity(margins[unit], unit))
    for unit in measures["unit"].unique()
    if unit in margins
)
target_from = (
    "the council's reference/programme.csv"
    if plan["programme_origin"] == "reference/programme"
    else "the plan"
)
st.markdown(
    "\n".join(
        [
            f"- **Council**: {plain(plan['council'])}",
            f"- **File**: {plain(plan['plan_file'])}",
            f"- **Programme**: {fmt_date(plan['programme_start'])} to "
            f"{fmt_date(plan['programme_end'])}, target "
            f"{fmt_int(plan['target_families'])} families (dates and target from "
            f"{target_from})",
            f"- **Eligible**: a family with {plain(plan['eligibility_rule'])} below",
            f"- **Payments**: {fmt_money(plan['attachment_fee'])} attachment fee for each "
            f"family attached; {fmt_money(plan['results_payment'])} results payment for "
            "each family that meets a claim route",
            "- **Claim routes** (a family meeting any one earns the results payment):\n"
            + "\n".join(f"  - {title}: {needs}" for title, needs in route_needs),
            "- **A result is invalid** when another member develops the same problem, for: "
            + ("; ".join(invalidated) if invalidated else "no problem"),
            f"- **Near a claim**: {near_rule}. A measure is near when it is not met, can still "
            f"be met, and is within {margin_words} of its threshold",
            f"- **Claims taken as made** (no extract says which were submitted): {claimed_words}",
        ]
    )
)
if plan.get("notes"):
    st.markdown(f"*Where the rules come from:* {plain(plan['notes'])}")

# --- The problems --------------------------------------------------------------------------------
st.header("The problems, how each is shown, and what counts as progress")
for problem in problems.itertuples():
    st.subheader(f"{problem.problem_order}. {plain(problem.problem_title)}")
    if problem.note:
        st.markdown(plain(problem.note))
    shown_by = "\n".join(
        f"  - {plain(title)}"
        + (
            f" — *{plain(not_shown[problem.problem_title, title])}*"
            if (problem.problem_title, title) in not_shown
            else ""
        )
        for title in problem.indicators
    ) or ("  - (no indicator: no extract shows it, so no family is counted with it)")
    needs = "every measure met" if problem.progress_rule == "all" else "any one measure met"
    progress = "\n".join(
        f"  - {plain(title)}"
        + (f" — *{plain(not_measured[title])}*" if title in not_measured else "")
        for title in problem.measures
    ) or ("  - (none)")
    st.markdown(
        f"- **The family has it when** a member meets any of:\n{shown_by}\n"
        f"- **Progress** ({needs}):\n{progress}"
    )

# --- The measures --------------------------------------------------------------------------------
st.header("The outcome measures")
st.markdown(
    "Each measure with the window it is sustained over, the unit its distance to the threshold "
    "is counted in (what the Near threshold page shows), the margin within which it counts as "
    "near, and the claim routes that need it."
)
table(
    measures.assign(
        claim_routes=measures["claim_routes"].map(
            lambda ids: "; ".join(route_titles.get(i, i) for i in ids)
        ),
        measured_after=measures["measured_after"].map(lambda after: f"after {after}"),
        availability=measures["measure_title"].map(not_measured).fillna("available"),
    ),
    "Plan measures",
    {
        "measure_title": Col("Measure"),
        "problem_title": Col("Problem"),
        "sustain_window": Col("Sustained over"),
        "measured_after": Col("Measured"),
        "unit": Col("Distance counted in"),
        "near_margin": Col("Near within", "decimal"),
        "claim_routes": Col("Claim routes"),
        "availability": Col(
            "Data", help="Whether the model has the extract the measure is measured from"
        ),
    },
    title=f"The outcome measures of {plan['plan_name']}",
    notes=(f"From {plan['plan_file']}.",),
)

with st.expander("The plan file in full (YAML)"):
    st.markdown(
        f"{plain(plan['plan_file'])} as it was when the model was built. Its schema is in "
        "`data_model/plan/plans/README.md`."
    )
    st.code(plan["plan_text"], language="yaml", line_numbers=True)
