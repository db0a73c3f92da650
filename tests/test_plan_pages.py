"""The outcomes plan pages (Near threshold, Claims & returns, Outcomes plan) in AppTest, checked
against the model with the tests' own SQL and arithmetic.

Independence: the pages read the plan marts through data_model.read.plan. These tests read the
marts beneath those functions with their own SQL and apply the plan's rules in pandas: which
families are near under a margin (from each blocker's distance, margin and status in
mart_plan_blocker, cross-checked with the engine's own family state in mart_plan_family_status),
barrier counts, claim and income totals from mart_claim, the quarterly return from the claims and
attachments, the prediction from the conversion rates. The plan text is read from the plan file.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pages import registry
from pages.ui.formats import fmt_status, slug
from tests.test_app_pages import (
    as_int,
    decode,
    leaves,
    metric,
    open_app,
    percent,
    plotly_traces,
    share_as_shown,
)
from tests.text_payloads import as_shown

ROOT = Path(__file__).resolve().parents[1]
NEAR = registry.BY_KEY["near_threshold"].file
CLAIMS = registry.BY_KEY["claims"].file
PLAN = registry.BY_KEY["outcomes_plan"].file
TITLES = {NEAR: "Near threshold", CLAIMS: "Claims and returns", PLAN: "Outcomes plan"}


# --- Helpers -------------------------------------------------------------------------------------


def table(at: AppTest, name: str) -> pd.DataFrame:
    """The table drawn with tables.table(..., name): the one its CSV download is named after."""
    elements = list(leaves(at.main))
    wanted = f"download_csv_{slug(name)}"
    for i, element in enumerate(elements):
        if type(element).__name__ != "Dataframe":
            continue
        after = [e for e in elements[i + 1 :] if type(e).__name__ == "DownloadButton"]
        if after and after[0].key == wanted:
            return element.value
    raise AssertionError(f"no table {name!r} on the page")


def has_table(at: AppTest, name: str) -> bool:
    """Whether the page drew the table (a table with no rows is a sentence, with no download)."""
    wanted = f"download_csv_{slug(name)}"
    return any(getattr(e, "key", None) == wanted for e in leaves(at.main))


def text(at: AppTest) -> str:
    return as_shown(" ".join(m.value for m in at.markdown))


def plan_row(con: duckdb.DuckDBPyConnection) -> dict:
    cursor = con.execute("select * from mart_plan")
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0], strict=True))


def blockers_now(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every blocker of every attached family not yet claimable, on the as-at date."""
    return con.execute(
        """
        select family_key, route_id, is_best_route, measure_id, measure_title, status, unit,
               distance_to_threshold, near_margin, can_still_be_met, needs, cluster, ward_code,
               ward_name, area_committee
        from mart_plan_blocker
        where is_current and family_state <> 'claimable'
        """
    ).df()


def near_under(
    con: duckdb.DuckDBPyConnection, margins: dict[str, float] | None = None
) -> pd.Series:
    """Families near a claim under these margins (plan's for units not given), worked out here
    from each blocker: a route is near when at most the plan's number of measures block it and
    each is not met, still possible and within its margin. Family -> fewest blocking measures."""
    plan = plan_row(con)
    margins = margins or {}
    blockers = blockers_now(con)
    margin = blockers["unit"].map({u: float(m) for u, m in margins.items()})
    margin = margin.fillna(blockers["near_margin"])
    is_measure = blockers["measure_id"].notna() & blockers["status"].isin(["near", "not met"])
    blockers["is_near"] = (
        is_measure
        & blockers["can_still_be_met"].fillna(False).astype(bool)
        & (blockers["distance_to_threshold"] <= margin)
    )
    blockers["is_measure"] = is_measure
    routes = blockers.groupby(["family_key", "route_id"]).agg(
        blocking=("is_near", "size"), near=("is_near", "sum"), measures=("is_measure", "all")
    )
    is_near_route = (routes["blocking"] <= plan["near_max_blocking_measures"]) & (
        routes["near"] == routes["blocking"]
    )
    if plan["near_all_met_but_one"]:
        is_near_route |= (routes["blocking"] == 1) & routes["measures"]
    near_routes = routes[is_near_route].reset_index()
    return near_routes.groupby("family_key")["blocking"].min()


def families_where(con: duckdb.DuckDBPyConnection, column: str, value: str) -> set[str]:
    rows = con.execute(
        f"select family_key from mart_plan_family_status where is_current and {column} = ?",
        [value],
    ).fetchall()
    return {key for (key,) in rows}


def barrier_counts(
    con: duckdb.DuckDBPyConnection, group: str | None = None, current: bool = True
) -> pd.DataFrame:
    """Families each measure blocks on the closest route (and how many within the plan's
    margin), per group column and date."""
    groups = f"{group}," if group else ""
    return con.execute(
        f"""
        select {groups} evaluation_date, measure_title,
               count(distinct family_key) as blocked,
               count(distinct family_key) filter (
                   where can_still_be_met and distance_to_threshold <= near_margin) as near
        from mart_plan_blocker
        where is_best_route and family_state <> 'claimable' {"and is_current" if current else ""}
        group by all
        """
    ).df()


# --- Every new page ------------------------------------------------------------------------------


def test_each_plan_page_draws_with_banner_plan_name_and_downloads(
    app_model: Path, model_sql
) -> None:
    plan = plan_row(model_sql)
    synthetic = model_sql.execute("select is_synthetic from mart_model_info").fetchall()[0][0]
    at = open_app()
    links = [link.proto.label for link in at.sidebar.get("page_link")]
    programme = links[: links.index("User guide")]
    near = programme.index("Near threshold")  # the plan pages, together, in the programme list
    assert programme[near : near + 2] == ["Near threshold", "Claims & returns"]
    assert links[links.index("User guide") + 1] == "Outcomes plan"
    for page, title in TITLES.items():
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title[0].value == title
        banners = [w for w in at.warning if "Synthetic data" in w.value]
        assert len(banners) == (1 if synthetic else 0), page
        sidebar = as_shown(" ".join(m.value for m in at.sidebar.markdown))
        assert f"Outcomes plan: **{plan['plan_name']}**" in sidebar
        # Every table is followed by its CSV and Excel downloads.
        elements = list(leaves(at.main))
        kinds = [type(e).__name__ for e in elements]
        assert kinds.count("Dataframe") >= 1, page
        for i, kind in enumerate(kinds):
            if kind == "Dataframe":
                after = [e for e in elements[i + 1 :] if type(e).__name__ == "DownloadButton"]
                assert [b.label for b in after[:2]] == ["Download CSV", "Download Excel"], page
        assert kinds.count("DownloadButton") == 2 * kinds.count("Dataframe"), page


def test_the_user_guide_explains_the_plan_pages(app_model: Path) -> None:
    at = open_app("pages/user_guide.py")
    guide = text(at)
    for section in ("## Near threshold", "## Claims & returns", "## Outcomes plan"):
        assert section in guide, section
    for term in ("**Distance to threshold**", "**near**", "**Claimed** or **ready**",
                 "**Predicted results claims next quarter**"):  # fmt: skip
        assert term in guide, term


# --- Near threshold ------------------------------------------------------------------------------


def test_near_families_match_the_blockers_and_the_engines_own_state(
    app_model: Path, model_sql
) -> None:
    expected = near_under(model_sql)
    engine = families_where(model_sql, "state", "near")
    assert set(expected.index) == engine  # two routes to the same answer
    assert len(engine) >= 1, "the test model should have a family near a claim"
    payment = plan_row(model_sql)["results_payment"]

    at = open_app(NEAR)
    assert as_int(metric(at, "Families near a claim")) == len(expected)
    assert as_int(metric(at, "Blocked by one measure")) == int((expected == 1).sum())
    assert as_int(metric(at, "Blocked by two measures")) == int((expected == 2).sum())
    assert metric(at, "Results payments within reach") == f"£{round(len(expected) * payment):,}"

    listed = table(at, "Near threshold families").set_index("family_key")
    assert set(listed.index) == set(expected.index)
    assert (listed["blocking_measures"] == expected.reindex(listed.index)).all()
    # What each needs, in words, from the blocker rows of its near route.
    blockers = blockers_now(model_sql)
    for family_key, row in listed.iterrows():
        needs = blockers.loc[blockers["family_key"] == family_key, "needs"].dropna()
        assert any(need in row["needs"] for need in needs), family_key
        assert re.search(r"needs \d+|on track", row["needs"]), row["needs"]
    measures = table(at, "Near threshold measures")
    assert set(measures["family_key"]) == set(expected.index)
    assert measures.groupby("family_key").size().to_dict() == expected.to_dict()
    caption = " ".join(c.value for c in at.caption)
    assert "the plan’s margins" in caption and "all clusters · all wards" in caption


def test_a_what_if_margin_reapplies_near_and_goes_back_to_the_plan(
    app_model: Path, model_sql
) -> None:
    margins = dict(
        model_sql.execute(
            "select unit, max(near_margin) from mart_plan_measure group by unit"
        ).fetchall()
    )
    wider = {unit: margin * 4 + 2 for unit, margin in margins.items()}
    plan_near = near_under(model_sql)
    wide_near = near_under(model_sql, wider)
    assert set(wide_near.index) > set(plan_near.index), "wider margins should add families"

    # A margin in whole units (weeks, records) is offered as the whole number it works as: a fifth
    # of 26 weeks (5.2) lets in the same families as 5 weeks, since distances there are whole.
    offered = {u: m if "percent" in u else math.floor(m + 1e-9) for u, m in margins.items()}
    assert set(near_under(model_sql, offered).index) == set(plan_near.index)
    at = open_app(NEAR)
    for unit, margin in wider.items():
        field = at.number_input(key=f"near_margin_{slug(unit)}")
        assert field.value == pytest.approx(offered[unit])
        field.set_value(margin)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert as_int(metric(at, "Families near a claim")) == len(wide_near)
    box = next(m for m in at.metric if m.label == "Families near a claim")
    assert box.delta == f"+{len(wide_near) - len(plan_near)} against the plan's margins"
    listed = table(at, "Near threshold families").set_index("family_key")
    assert set(listed.index) == set(wide_near.index)
    used = table(at, "Near threshold measures")
    assert set(used["margin"].round(6)) <= {round(m, 6) for m in wider.values()}
    assert "what-if margins" in " ".join(c.value for c in at.caption)

    # A tight attendance margin alone: only that unit changes.
    at.button(key="near_margin_reset").click().run()
    assert as_int(metric(at, "Families near a claim")) == len(plan_near)
    at.number_input(key="near_margin_percentage-points").set_value(0.0).run()
    tight = near_under(model_sql, {"percentage points": 0.0})
    assert as_int(metric(at, "Families near a claim")) == len(tight)
    assert "(plan: 5)" in as_shown(" ".join(c.value for c in at.caption))


def test_cluster_and_ward_filters_narrow_the_list_and_the_barriers(
    app_model: Path, model_sql
) -> None:
    expected = near_under(model_sql)
    places = model_sql.execute(
        "select family_key, cluster, ward_code, ward_name from mart_plan_family_status"
        " where is_current"
    ).df().set_index("family_key")  # fmt: skip
    family = expected.index[0]
    cluster, ward_code = places.loc[family, "cluster"], places.loc[family, "ward_code"]

    at = open_app(NEAR)
    at.multiselect(key="near_clusters").set_value([cluster]).run()
    assert not at.exception
    in_cluster = {k for k in expected.index if places.loc[k, "cluster"] == cluster}
    assert set(table(at, "Near threshold families")["family_key"]) == in_cluster
    now = table(at, "Barriers now").set_index("measure_title")["families_blocked"]
    counts = barrier_counts(model_sql, "cluster")
    counts = counts[counts["cluster"] == cluster].set_index("measure_title")["blocked"]
    assert now.sort_index().to_dict() == counts.sort_index().to_dict()

    if pd.notna(ward_code):
        at.multiselect(key="near_wards").set_value([ward_code]).run()
        assert not at.exception
        both = {k for k in in_cluster if places.loc[k, "ward_code"] == ward_code}
        assert set(table(at, "Near threshold families")["family_key"]) == both
        assert places.loc[family, "ward_name"] in " ".join(c.value for c in at.caption)

    # A cluster with no near family: an empty list that says so, and no drill-down.
    empty = sorted(set(places["cluster"].dropna()) - set(places.loc[expected.index, "cluster"]))
    assert empty, "the test model should have a cluster with no near family"
    at.multiselect(key="near_wards").set_value([]).run()
    at.multiselect(key="near_clusters").set_value([empty[0]]).run()
    assert not at.exception
    assert not has_table(at, "Near threshold families")  # a sentence, nothing to download
    assert any("No attached family is near a claim" in i.value for i in at.info)
    assert as_int(metric(at, "Families near a claim")) == 0


def test_the_family_drill_down_shows_its_measures_and_their_evidence(
    app_model: Path, model_sql
) -> None:
    margins = dict(
        model_sql.execute(
            "select unit, 100.0::double from mart_plan_measure group by unit"
        ).fetchall()
    )
    near = near_under(model_sql, margins)
    assert len(near) >= 2, "wide margins should give two families to choose between"

    at = open_app(NEAR)
    for unit, margin in margins.items():
        at.number_input(key=f"near_margin_{slug(unit)}").set_value(margin)
    at.run()
    picker = at.selectbox(key="near_family")
    assert len(picker.options) == len(near)
    family = sorted(near.index)[-1]
    picker.set_value(family).run()
    assert not at.exception

    measures = table(at, "Family measures").set_index("measure_id")
    expected = model_sql.execute(
        "select measure_id, status, distance_to_threshold, needs from mart_plan_family_measure"
        " where is_current and family_key = ?",
        [family],
    ).df().set_index("measure_id")  # fmt: skip
    assert sorted(measures.index) == sorted(expected.index)
    statuses = expected["status"].reindex(measures.index).map(fmt_status)
    assert (measures["status"] == statuses).all()
    applicable = measures[measures["status"] != "Not applicable"]
    assert applicable.index.tolist() == measures.index[: len(applicable)].tolist()

    evidence = table(at, "Family measure evidence")
    records = model_sql.execute(
        "select measure_id, source_record_id, role from mart_plan_measure_evidence"
        " where family_key = ?",
        [family],
    ).df()
    assert sorted(zip(evidence["measure_id"], evidence["source_record_id"], strict=True)) == sorted(
        zip(records["measure_id"], records["source_record_id"], strict=True)
    )
    assert f"**{len(records):,} record{'' if len(records) == 1 else 's'}**" in text(at)
    case = model_sql.execute(
        "select case_id from mart_plan_family_status where is_current and family_key = ?",
        [family],
    ).fetchall()[0][0]
    assert f"Case **{case}**" in text(at)


def test_barriers_by_measure_place_and_quarter_match_the_blocker_mart(
    app_model: Path, model_sql
) -> None:
    now = barrier_counts(model_sql)
    at = open_app(NEAR)
    shown = table(at, "Barriers now").set_index("measure_title")
    assert (
        shown["families_blocked"].to_dict() == now.set_index("measure_title")["blocked"].to_dict()
    )
    assert shown["families_near"].to_dict() == now.set_index("measure_title")["near"].to_dict()
    assert shown["families_blocked"].is_monotonic_decreasing
    bars = plotly_traces(at, "chart_barriers_now")
    total = sum(decode(t["x"]).astype(float) for t in bars)
    assert total.sum() == now["blocked"].sum()

    # By ward: one row per ward and measure; the chart follows the measure chosen.
    at.radio(key="near_barrier_group").set_value("Ward").run()
    assert not at.exception
    by_ward = barrier_counts(model_sql, "ward_name")
    by_ward["ward_name"] = by_ward["ward_name"].fillna("Not known")
    shown = table(at, "Barriers by Ward")
    merged = shown.merge(
        by_ward, left_on=["group_name", "measure_title"], right_on=["ward_name", "measure_title"]
    )
    assert len(merged) == len(shown) == len(by_ward)
    assert (merged["families_blocked"] == merged["blocked"]).all()
    measure = shown["measure_title"].value_counts().index[-1]
    at.selectbox(key="near_barrier_measure").set_value(measure).run()
    traces = plotly_traces(at, "chart_barriers_by_place")
    one = by_ward[by_ward["measure_title"] == measure]
    # a long name is drawn over lines (<br>) so the bars keep their room on a narrow screen
    assert sorted(y.replace("<br>", " ") for y in traces[0]["y"]) == sorted(one["ward_name"])
    heights = sum(decode(t["x"]).astype(float) for t in traces)
    assert heights.sum() == one["blocked"].sum()

    # Over time: every quarter end and the as-at date, every measure.
    history = barrier_counts(model_sql, current=False)
    shown = table(at, "Barriers over time")
    assert len(shown) == len(history)
    assert shown["families_blocked"].sum() == history["blocked"].sum()
    assert shown["evaluation_date"].nunique() == history["evaluation_date"].nunique() > 4


# --- Claims & returns ----------------------------------------------------------------------------


def test_claims_headline_and_income_against_the_target(app_model: Path, model_sql) -> None:
    plan = plan_row(model_sql)
    claims = model_sql.execute("select * from mart_claim").df()
    income = claims["amount"].sum()
    target = plan["target_families"] * (plan["attachment_fee"] + plan["results_payment"])

    at = open_app(CLAIMS)
    assert as_int(metric(at, "Claims ready")) == (claims["status"] == "ready").sum()
    assert as_int(metric(at, "Claimed")) == (claims["status"] == "claimed").sum()
    assert metric(at, "Income so far") == f"£{round(income):,}"
    assert metric(at, "Share of the target income") == percent(income / target)
    not_evidenced = ((claims["claim_type"] == "attachment fee") & (claims["amount"] == 0)).sum()
    assert f"**{not_evidenced:,} attachments are not evidenced**" in text(at)
    traces = {t["name"]: t for t in plotly_traces(at, "chart_income")}
    so_far = decode(traces["Income so far (attachment fees and results)"]["y"])
    assert so_far[-1] == income
    target_line = next(t for name, t in traces.items() if name.startswith("What the target"))
    assert decode(target_line["y"])[0] == target

    every = table(at, "Claims")
    assert len(every) == len(claims)
    assert every["claimable_date"].is_monotonic_decreasing


def test_claim_filters_and_a_claims_evidence_trail(app_model: Path, model_sql) -> None:
    results = model_sql.execute(
        "select claim_id, case_id, amount from mart_claim where claim_type = 'results'"
        " order by claim_id"
    ).df()  # fmt: skip
    assert len(results) >= 2, "the test model should have results claims"

    at = open_app(CLAIMS)
    at.multiselect(key="claims_type").set_value(["results"]).run()
    assert not at.exception
    shown = table(at, "Claims")
    assert sorted(shown["claim_id"]) == results["claim_id"].tolist()
    caption = " ".join(c.value for c in at.caption)
    assert f"Showing {len(results):,} claims worth £{round(results['amount'].sum()):,}" in caption

    # A claim whose outcome rests on records (one resting only on records' absence, no
    # offence in six months, has none to list: its measures below are its evidence).
    on_records = set(
        model_sql.execute(
            "select distinct claim_id from mart_claim_evidence where evidence_for = 'outcome'"
        ).df()["claim_id"]
    )
    with_records = results[results["claim_id"].isin(on_records)]
    assert len(with_records), "the test model should have a results claim resting on records"
    claim, case = with_records["claim_id"].iloc[-1], with_records["case_id"].iloc[-1]
    at.selectbox(key="claim_pick").set_value(claim).run()
    assert not at.exception
    evidence = table(at, "Claim evidence")
    expected = model_sql.execute(
        "select evidence_for, measure_id, source_record_id from mart_claim_evidence"
        " where claim_id = ?",
        [claim],
    ).df()
    assert len(evidence) == len(expected) > 0
    assert set(evidence["evidence_for"]) == {"outcome"}
    assert sorted(evidence["source_record_id"]) == sorted(expected["source_record_id"])
    assert f"**{len(expected):,} record{'' if len(expected) == 1 else 's'}** of evidence" in text(
        at
    )
    assert f"**Results claim** for case {case}" in text(at)
    # The measures it rests on, with their windows: the evidence of a record's absence.
    family_key = claim.removeprefix("results-")
    met = model_sql.execute(
        "select measure_id, progress from mart_plan_family_measure"
        " where is_current and family_key = ? and status <> 'not applicable'",
        [family_key],
    ).df()
    rests_on = table(at, "Claim measures")
    assert sorted(rests_on["measure_id"]) == sorted(met["measure_id"])
    assert "Met" in set(rests_on["status"])

    # An attachment fee's evidence is the problems the family had when attached.
    at.multiselect(key="claims_type").set_value(["attachment fee"]).run()
    at.multiselect(key="claims_status").set_value(["claimed"]).run()
    shown = table(at, "Claims")
    assert set(shown["claim_type"]) == {"Attachment fee"} and set(shown["status"]) == {"Claimed"}
    claim = at.selectbox(key="claim_pick").value
    evidence = table(at, "Claim evidence")
    expected = model_sql.execute(
        "select count(*) from mart_plan_problem_evidence"
        " where date_kind = 'attachment' and 'attachment-' || family_key = ?",
        [claim],
    ).fetchall()[0][0]
    assert len(evidence) == expected > 0 and set(evidence["evidence_for"]) == {"eligibility"}
    with pytest.raises(AssertionError, match="no table"):
        table(at, "Claim measures")  # only a result rests on outcome measures

    # Results claims are never "not evidenced": nothing to show, and no trail to pick.
    at.multiselect(key="claims_type").set_value(["results"]).run()
    at.multiselect(key="claims_status").set_value(["not evidenced"]).run()
    assert not has_table(at, "Claims")
    assert any("No claim matches these filters" in m.value for m in at.markdown)
    assert any("No claim matches the filters" in i.value for i in at.info)


def test_the_quarterly_return_adds_up_and_states_its_prediction(app_model: Path, model_sql) -> None:
    plan = plan_row(model_sql)
    first_quarter = pd.Timestamp(plan["programme_start"]).to_period("Q").start_time
    claims = model_sql.execute("select claim_type, claimable_date from mart_claim").df()
    quarter = pd.to_datetime(claims["claimable_date"]).dt.to_period("Q").dt.start_time
    results_by_quarter = quarter[claims["claim_type"] == "results"].clip(lower=first_quarter)
    attached = model_sql.execute(
        "select attached_date from mart_plan_family_status where is_current"
    ).df()
    attached_quarter = pd.to_datetime(attached["attached_date"]).dt.to_period("Q").dt.start_time
    states = dict(
        model_sql.execute(
            "select state, count(*) from mart_plan_family_status"
            " where is_current and state <> 'claimable' group by 1"
        ).fetchall()
    )
    rates = {
        state: Fraction(became, observed)
        for state, became, observed in model_sql.execute(
            "select state, became_claimable, families_observed from mart_plan_conversion"
        ).fetchall()
    }
    # Summed exactly, then rounded half up as a reader would (0.5 is 1; Python's round gives 0)
    expected = sum(n * rates.get(state, 0) for state, n in states.items())
    predicted = math.floor(expected + Fraction(1, 2))

    at = open_app(CLAIMS)
    ret = table(at, "Quarterly return")
    assert ret["quarter_start"].is_monotonic_decreasing  # the latest quarter first
    actual = ret[~ret["is_forecast"]].set_index("quarter_start").sort_index()
    counted = results_by_quarter.value_counts()
    assert actual["results_claims"].sum() == len(results_by_quarter)
    for start, n in counted.items():
        assert actual.loc[start, "results_claims"] == n, start
    assert actual["families_attached"].sum() == len(attached)
    assert actual["families_attached"].iloc[-1] == (attached_quarter == actual.index[-1]).sum()
    forecast = ret[ret["is_forecast"]]
    assert len(forecast) == 1
    assert forecast["families_identified"].isna().all()  # not nought: it has not happened
    assert forecast["predicted_results_claims"].iloc[0] == predicted

    assert as_int(metric(at, "Results claims predicted next quarter")) == predicted
    latest = actual.iloc[-1]
    assert as_int(metric(at, "Families worked with")) == latest["families_attached"]
    assert as_int(metric(at, "Claims made")) == (
        latest["attachment_claims"] + latest["results_claims"]
    )
    method = as_shown(
        " ".join(m.value for m in at.markdown if "How the prediction is made" in m.value)
    )
    for state, n in states.items():
        assert f"{n} {state} × {100 * float(rates.get(state, 0)):.1f}%" in method, state
    shares = table(at, "Prediction rates").set_index("state")["conversion_rate"]
    assert all(shares[fmt_status(s)] == share_as_shown(r) for s, r in rates.items())
    bars = {t["name"]: t for t in plotly_traces(at, "chart_quarterly_return")}
    assert decode(bars["Results claims predicted"]["y"])[0] == predicted


# --- The outcomes plan ---------------------------------------------------------------------------


def test_the_plan_page_shows_the_active_plan_in_words_and_in_full(
    app_model: Path, model_sql
) -> None:
    plan = plan_row(model_sql)
    problems = [t for (t,) in model_sql.execute(
        "select title from cfg_plan_problem order by problem_order").fetchall()]  # fmt: skip
    measures = model_sql.execute("select count(*) from cfg_plan_measure").fetchall()[0][0]

    at = open_app(PLAN)
    assert as_shown(at.header[0].value) == plan["plan_name"]
    page = text(at)
    assert f"**File**: {plan['plan_file']}" in page
    assert f"at least {plan['eligibility_at_least']} of {len(problems)} problems" in page
    assert f"£{round(plan['attachment_fee']):,} attachment fee" in page
    assert [as_shown(s.value) for s in at.subheader] == [
        f"{i}. {t}" for i, t in enumerate(problems, 1)
    ]
    assert len(table(at, "Plan measures")) == measures
    code = at.get("code")
    assert len(code) == 1
    on_disk = (ROOT / plan["plan_file"]).read_text(encoding="utf-8")
    assert code[0].proto.code_text.rstrip("\n") == on_disk.rstrip("\n")  # st.code trims the end


# --- Page timings stay in the benchmark ----------------------------------------------------------


def test_the_page_benchmark_times_the_plan_pages() -> None:
    from data_model.tools import page_bench

    assert {NEAR, CLAIMS, PLAN} <= set(page_bench.PAGES.values())
    assert np.all([(ROOT / p).exists() for p in page_bench.PAGES.values()])


def test_claims_total_is_the_count_and_amount_of_the_claims_listed(model_sql) -> None:
    from data_model.read import plan as read_plan

    claims = model_sql.execute("select status, claim_type, cluster, amount from mart_claim").df()
    clusters = sorted(claims["cluster"].dropna().unique())[:2]
    for statuses, types, places in [
        ((), (), ()),
        (("ready",), (), ()),
        ((), ("results",), tuple(clusters)),
        (("claimed", "not evidenced"), ("attachment fee",), tuple(clusters[:1])),
        (("no such status",), (), ()),
    ]:
        keep = pd.Series(True, index=claims.index)
        for column, values in (("status", statuses), ("claim_type", types), ("cluster", places)):
            if values:
                keep &= claims[column].isin(values)
        chosen = claims[keep]
        total = read_plan.claims_total(model_sql, statuses, types, places)
        assert total == {"claims": len(chosen), "amount": pytest.approx(chosen["amount"].sum())}
        listed = read_plan.claims(model_sql, statuses, types, places)
        assert total["claims"] == len(listed)


def test_results_payments_so_far_run_up_to_each_quarter_end(app_model: Path, model_sql) -> None:
    results = model_sql.execute(
        "select claimable_date, amount from mart_claim where claim_type = 'results'"
    ).df()
    assert len(results), "the test model should have results claims"
    at = open_app(CLAIMS)
    traces = {t["name"]: t for t in plotly_traces(at, "chart_income")}
    line = traces["Of which results payments"]
    quarter_ends = pd.to_datetime(pd.Series(line["x"]))
    running = decode(line["y"]).astype(float)
    dates = pd.to_datetime(results["claimable_date"])
    expected = [results.loc[dates <= end, "amount"].sum() for end in quarter_ends]
    assert running.tolist() == pytest.approx(expected)
    assert running[-1] == pytest.approx(results["amount"].sum())


def test_barrier_bars_split_into_within_the_margin_and_further_off(
    app_model: Path, model_sql
) -> None:
    now = barrier_counts(model_sql).set_index("measure_title")
    at = open_app(NEAR)
    traces = {t["name"]: t for t in plotly_traces(at, "chart_barriers_now")}
    shown = table(at, "Barriers now")["measure_title"]
    further = decode(traces["Further off"]["x"]).astype(int)
    within = decode(traces["This measure within the margin"]["x"]).astype(int)
    assert len(further) == len(within) == len(shown)
    expected = now.loc[shown, "blocked"] - now.loc[shown, "near"]
    assert further.tolist() == expected.tolist()
    assert within.tolist() == now.loc[shown, "near"].tolist()
