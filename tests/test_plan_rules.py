"""The plan's rules on hand-built families (Bradford 2015, the default plan): sustain windows, the
rule that another member developing a problem invalidates a result, evidence from three sources,
eligibility, claim routes, the claim table and its evidence, near families with a what-if margin,
and the quarterly return. Supporting Families' "sustained 6 months after closure" at the end.

Expected dates and figures are worked out here from the records written, with the plan's own
settings where they matter.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from data_model.plan import load_plan
from data_model.read import open_model, query_frame, query_row
from data_model.read import plan as read_plan
from tests.plan_fixtures import AS_AT, District, census_day, months_after, terms_before

PLAN = load_plan("bradford_2015")
ATTACHED = dt.date(2018, 3, 15)
SESSIONS = 120
GOOD, SHORT = 111, 102  # sessions attended: 92.5% and 85%
WEEKS = next(m for m in PLAN.measures if m.id == "continuous_employment").weeks


def _window_end(anchor: dt.date, months: int = 6) -> dt.date:
    """The last day of a window of `months` starting on `anchor` (as the engine counts)."""
    return months_after(anchor, months) - dt.timedelta(days=1)


def _school_problem(family, child) -> None:
    """Half the sessions missed in the three terms before attachment."""
    for year_term in terms_before(family.attached, 3):
        family.term(child, year_term, SESSIONS, SESSIONS // 2)


def _attended(family, child, values: dict[dt.date, int]) -> None:
    """Terms after attachment: census day -> sessions attended of SESSIONS."""
    for year_term in terms_before(AS_AT, 8):
        day = census_day(*year_term)
        if day in values:
            family.term(child, year_term, SESSIONS, SESSIONS - values[day])


@pytest.fixture(scope="module")
def district() -> District:
    d = District()
    post = [census_day(*t) for t in terms_before(AS_AT, 5)]  # five terms after 20 May 2018
    anchor5 = census_day(*terms_before(AS_AT, 6)[0])

    # Three consecutive terms: a short term restarts the count; so does a missed term.
    for name, attended in {
        "terms: broken by a short term": [GOOD, GOOD, SHORT, GOOD, GOOD],
        "terms: met, then a short term": [GOOD, GOOD, GOOD, SHORT - 6, GOOD],
        "terms: broken by a missed term": [SHORT, GOOD, GOOD, None, GOOD],
        "terms: no term missed": [SHORT, GOOD, GOOD, GOOD, GOOD],
    }.items():
        family = d.family(name, attached=anchor5)
        child = family.child()
        _school_problem(family, child)
        _attended(family, child, {day: a for day, a in zip(post, attended, strict=True) if a})

    # A child who left school (no term in the last 12 months) no longer holds the family back.
    family = d.family("terms: a child left school", attached=anchor5)
    stays, leaves = family.child("Stay"), family.child("Gone", dt.date(2002, 9, 1))
    _school_problem(family, stays)
    _attended(family, stays, dict(zip(post, [GOOD] * 5, strict=True)))
    _attended(family, leaves, {post[0]: SHORT})

    # 26 continuous weeks: a job started the day after the last ended continues it.
    for name, second_start in (
        ("spell: next-day start", dt.date(2018, 10, 1)),
        ("spell: a day off between", dt.date(2018, 10, 2)),
    ):
        family = d.family(name, attached=ATTACHED)
        adult = family.adult()
        family.dwp(adult, dt.date(2017, 6, 1), ATTACHED + dt.timedelta(days=30))
        family.dwp(adult, dt.date(2018, 6, 1), dt.date(2018, 9, 30), "Employment")
        family.dwp(adult, second_start, dt.date(2019, 1, 31), "Employment")
        # domestic abuse all along: the progress route stays blocked, the employment route not
        for month in range(26):
            family.police(adult, months_after(dt.date(2018, 2, 1), month), "Victim", dv=True)
    for name, weeks in (("spell: 21 weeks running", 21), ("spell: 20 weeks running", 20)):
        family = d.family(name, attached=ATTACHED)
        adult = family.adult()
        family.dwp(adult, dt.date(2017, 6, 1), ATTACHED + dt.timedelta(days=30))
        family.dwp(adult, AS_AT - dt.timedelta(days=7 * weeks + 3), None, "Employment")
    family = d.family("spell: started before attachment", attached=ATTACHED)
    adult = family.adult()
    family.dwp(adult, dt.date(2017, 6, 1), ATTACHED - dt.timedelta(days=20))
    family.dwp(adult, ATTACHED - dt.timedelta(days=14), None, "Employment")

    # Another member developing the problem: before the result (invalid) and after it (valid).
    # The same member offending again only delays the result.
    for name, who, offends in (
        ("member rule: son offends before the result", "son", dt.date(2018, 5, 15)),
        ("member rule: son offends after the result", "son", dt.date(2018, 10, 15)),
        ("member rule: mum offends again", "mum", dt.date(2018, 5, 15)),
    ):
        family = d.family(name, attached=ATTACHED)
        mum, son = family.adult("Jo"), family.child("Lee", dt.date(2003, 5, 1))
        family.police(mum, dt.date(2018, 1, 10), "Offender")
        family.police(mum, dt.date(2018, 2, 20), "Victim", dv=True)
        family.police(son if who == "son" else mum, offends, "Offender")

    # Evidence from three sources, for three members.
    family = d.family("three sources", attached=ATTACHED)
    mum, dad, child = family.adult("Kim"), family.adult("Ray"), family.child("Ali")
    family.police(mum, dt.date(2018, 1, 10), "Offender")
    family.dwp(dad, dt.date(2017, 9, 1), dt.date(2018, 4, 30))
    _school_problem(family, child)

    # Near: one measure near; two near; three near is too many; a result in this quarter.
    anchor3 = census_day(*terms_before(AS_AT, 4)[0])
    last3 = [census_day(*t) for t in terms_before(AS_AT, 3)]
    for name, blockers in (
        ("near: one", 1),
        ("near: two", 2),
        ("near: three", 3),
    ):
        family = d.family(name, attached=anchor3)
        mum, child = family.adult("Val"), family.child("Kit")
        _school_problem(family, child)
        # the last term 5 sessions short of 90% (108 of 120)
        _attended(family, child, dict(zip(last3, [GOOD, GOOD, 103], strict=True)))
        family.police(mum, anchor3 - dt.timedelta(days=20), "Victim", dv=True)
        family.police(mum, anchor3 - dt.timedelta(days=25), "Offender")
        # one incident in every six months since attachment keeps a measure one over
        for day in (dt.date(2019, 4, 1), dt.date(2019, 9, 1), dt.date(2020, 2, 1)):
            if blockers >= 2:
                family.police(mum, day, "Victim", dv=True)
            if blockers >= 3:
                family.police(mum, day + dt.timedelta(days=1), "Offender")
    # two measures, both on track at the end of December: near then, claimable in January
    family = d.family("result this quarter", attached=dt.date(2019, 7, 10))
    mum, child = family.adult("Mo"), family.child("Bo")
    family.police(mum, dt.date(2019, 6, 1), "Victim", dv=True)
    family.csc(child, dt.date(2019, 5, 1), dt.date(2019, 6, 15))
    return d


@pytest.fixture(scope="module")
def model(district, tmp_path_factory) -> duckdb.DuckDBPyConnection:
    path = district.build(tmp_path_factory.mktemp("plan_rules"))
    con = open_model(path)
    yield con
    con.close()


def _key(model, district, name: str) -> str:
    return District.family_key(model, district.families[name].members[0])


def _measure(model, district, name: str, measure_id: str) -> dict:
    frame = read_plan.family_measures(model, _key(model, district, name))
    rows = frame[frame["measure_id"] == measure_id].to_dict("records")
    assert len(rows) == 1, f"{name}: {measure_id} {rows}"
    return rows[0]


def _status(model, district, name: str) -> dict:
    return query_row(
        model,
        "select * from mart_plan_family_status where is_current and family_key = ?",
        [_key(model, district, name)],
    )


# --- Sustain windows ------------------------------------------------------------------------------


def test_three_consecutive_terms_restart_after_a_short_or_missed_term(model, district):
    broken = _measure(model, district, "terms: broken by a short term", "attendance_sustained")
    assert broken["status"] == "near" and broken["distance_to_threshold"] == 0
    assert broken["is_on_track"] and broken["periods_done"] == 2
    assert broken["progress"] == "2 of 3 terms met"
    assert broken["needs"] == "on track: needs 1 more term with sessions attended at least 90%"

    gap = _measure(model, district, "terms: broken by a missed term", "attendance_sustained")
    no_gap = _measure(model, district, "terms: no term missed", "attendance_sustained")
    assert (gap["status"], gap["periods_done"]) == ("near", 1)
    assert no_gap["status"] == "met"
    post = [census_day(*t) for t in terms_before(AS_AT, 5)]
    assert no_gap["achieved_date"].date() == post[3]  # the third good term in a row


def test_a_child_no_longer_at_school_drops_out_of_each_child(model, district):
    row = _measure(model, district, "terms: a child left school", "attendance_sustained")
    assert row["status"] == "met" and row["members_measured"] == 1
    history = query_frame(
        model,
        "select evaluation_date, members_measured from int_plan_family_measure"
        " where family_key = ? and measure_id = 'attendance_sustained' order by 1",
        [_key(model, district, "terms: a child left school")],
    )
    post = [census_day(*t) for t in terms_before(AS_AT, 5)]
    # both children count in the year after the one who left had a term, one after that
    days = history["evaluation_date"].dt.date
    while_both = history[(days >= post[0]) & (days < months_after(post[0], 12))]
    assert len(while_both) >= 3 and (while_both["members_measured"] == 2).all()
    assert history["members_measured"].iloc[-1] == 1


def test_a_result_once_met_stays_met_and_shows_the_terms_that_met_it(model, district):
    row = _measure(model, district, "terms: met, then a short term", "attendance_sustained")
    post = [census_day(*t) for t in terms_before(AS_AT, 5)]
    assert row["status"] == "met" and row["achieved_date"].date() == post[2]
    evidence = read_plan.family_measure_evidence(
        model, _key(model, district, "terms: met, then a short term")
    )
    assert sorted(d.date() for d in evidence["evidence_date"]) == post[:3]


def test_26_weeks_continue_across_a_next_day_start_but_not_a_day_off(model, district):
    joined = _measure(model, district, "spell: next-day start", "continuous_employment")
    assert joined["status"] == "met"
    assert joined["achieved_date"].date() == dt.date(2018, 6, 1) + dt.timedelta(weeks=WEEKS)
    broken = _measure(model, district, "spell: a day off between", "continuous_employment")
    longest = (dt.date(2018, 9, 30) - dt.date(2018, 6, 1)).days // 7
    assert broken["status"] == "not met" and not broken["can_still_be_met"]
    assert broken["measured_value"] == longest
    assert broken["needs"].startswith(f"the spell ended after {longest} weeks")


def test_a_running_job_is_near_within_a_fifth_of_the_weeks(model, district):
    margin = WEEKS * 0.2
    for name, weeks in (("spell: 21 weeks running", 21), ("spell: 20 weeks running", 20)):
        row = _measure(model, district, name, "continuous_employment")
        assert row["measured_value"] == weeks
        assert row["distance_to_threshold"] == WEEKS - weeks
        assert row["progress"].startswith(f"{weeks} of {WEEKS} weeks")
        assert row["status"] == ("near" if WEEKS - weeks <= margin else "not met")
    assert {"near", "not met"} == {
        _measure(model, district, n, "continuous_employment")["status"]
        for n in ("spell: 21 weeks running", "spell: 20 weeks running")
    }


def test_a_job_started_before_attachment_does_not_count(model, district):
    row = _measure(model, district, "spell: started before attachment", "continuous_employment")
    assert row["status"] == "not met" and row["measured_value"] == 0
    assert row["distance_to_threshold"] == WEEKS


# --- The member rule, routes and claims -----------------------------------------------------------


def test_another_member_offending_before_the_result_invalidates_it(model, district):
    invalid = _status(model, district, "member rule: son offends before the result")
    valid = _status(model, district, "member rule: son offends after the result")
    assert invalid["state"] == "blocked" and invalid["claimable_date"] is None
    assert "another member developed this problem" in invalid["blocked_by"]
    assert valid["state"] == "claimable" and valid["claim_route"] == "progress"
    assert valid["claimable_date"] == _window_end(ATTACHED)  # 6 months with no offence
    claims = read_plan.claims(model, claim_types=["results"])
    families = set(claims["family_key"])
    assert _key(model, district, "member rule: son offends after the result") in families
    assert _key(model, district, "member rule: son offends before the result") not in families
    # the first six months without an offence start the month after mum's: June to November
    again = _status(model, district, "member rule: mum offends again")
    assert again["state"] == "claimable"
    assert again["claimable_date"] == _window_end(months_after(ATTACHED, 3))


def test_employment_route_claims_when_progress_is_blocked(model, district):
    status = _status(model, district, "spell: next-day start")
    assert status["state"] == "claimable" and status["claim_route"] == "employment"
    claim = read_plan.claims(model, claim_types=["results"]).set_index("family_key")
    row = claim.loc[_key(model, district, "spell: next-day start")]
    assert row["amount"] == PLAN.results_payment
    assert row["claimable_date"].date() == dt.date(2018, 6, 1) + dt.timedelta(weeks=WEEKS)
    assert row["status"] == "claimed"  # a quarter before the as-at date's quarter
    evidence = read_plan.claim_evidence(model, row["claim_id"])
    assert set(evidence["source"]) == {"dwp_spells"}
    assert len(evidence) == 2  # both jobs of the continuous spell


def test_a_result_this_quarter_is_ready_and_its_attachment_fee_claimed(model, district):
    key = _key(model, district, "result this quarter")
    claims = read_plan.claims(model).set_index("claim_id")
    result = claims.loc[f"results-{key}"]
    assert result["claimable_date"].date() == _window_end(dt.date(2019, 7, 10))
    assert result["status"] == "ready"
    fee = claims.loc[f"attachment-{key}"]
    assert (fee["status"], fee["amount"]) == ("claimed", PLAN.attachment_fee)


def test_attachment_fee_needs_the_eligibility_rule_when_attached(model, district):
    claims = read_plan.claims(model, claim_types=["attachment fee"]).set_index("family_key")
    two = claims.loc[_key(model, district, "member rule: son offends after the result")]
    one = claims.loc[_key(model, district, "terms: no term missed")]  # school only
    assert (two["status"] != "not evidenced", two["amount"]) == (True, PLAN.attachment_fee)
    assert (one["status"], one["amount"]) == ("not evidenced", 0)
    status = _status(model, district, "terms: no term missed")
    assert status["state"] == "not eligible at attachment"


def test_evidence_from_three_sources_for_three_members(model, district):
    key = _key(model, district, "three sources")
    evidence = read_plan.family_problem_evidence(model, key, "attachment")
    assert set(evidence["source"]) == {"police_incidents", "school_census", "dwp_spells"}
    assert set(evidence["problem_id"]) == {"crime_asb", "school_attendance", "worklessness"}
    assert evidence.groupby("source")["person_key"].nunique().to_dict() == {
        "police_incidents": 1,
        "school_census": 1,
        "dwp_spells": 1,
    }
    assert evidence["person_key"].nunique() == 3
    claim = read_plan.claim_evidence(model, f"attachment-{key}")
    assert set(claim["source"]) == set(evidence["source"])
    assert (claim["evidence_for"] == "eligibility").all()
    # first eligible when a second problem began: absence from the first term's census day,
    # out of work from the benefit's start
    first = query_row(
        model,
        "select evaluation_date from mart_plan_family_eligibility"
        " where family_key = ? and date_kind = 'first eligible'",
        [key],
    )
    absence_from = census_day(*terms_before(ATTACHED, 3)[0])
    assert first["evaluation_date"] == max(absence_from, dt.date(2017, 9, 1))


# --- Near threshold -------------------------------------------------------------------------------


def test_near_families_are_blocked_by_one_or_two_near_measures(model, district):
    near = read_plan.near_families(model).set_index("family_key")
    one, two, three = (_key(model, district, f"near: {n}") for n in ("one", "two", "three"))
    assert one in near.index and two in near.index and three not in near.index
    assert near.loc[one, "blocking_measures"] == 1 and near.loc[two, "blocking_measures"] == 2
    assert "needs 5 more sessions attended this term" in near.loc[one, "needs"]
    # A short term starts the run of three again: after it, two more terms are still needed
    # (the family is at "0 of 3 terms met", not one term from a claim).
    assert near.loc[one, "needs"].endswith(
        ", then 2 more terms in a row with sessions attended at least 90%"
    ), near.loc[one, "needs"]
    blockers = read_plan.near_family_blockers(model)
    assert set(blockers[blockers["family_key"] == two]["measure_id"]) == {
        "attendance_sustained",
        "no_domestic_incident",
    }
    assert _status(model, district, "near: three")["state"] == "blocked"


def test_what_if_margin_reapplies_near(model, district):
    one = _key(model, district, "near: one")
    distance = _measure(model, district, "near: one", "attendance_sustained")
    assert distance["distance_to_threshold"] == pytest.approx(100 * 5 / SESSIONS)
    tighter = read_plan.near_families(model, margins={"percentage points": 4.0})
    looser = read_plan.near_families(model, margins={"percentage points": 4.2})
    assert one not in set(tighter["family_key"]) and one in set(looser["family_key"])
    # a wider margin for incidents lets the three-blocker family in? No: three is too many
    wide = read_plan.near_families(model, margins={"incidents": 5.0})
    assert _key(model, district, "near: three") not in set(wide["family_key"])


def test_barriers_count_families_by_blocking_measure(model, district):
    current = read_plan.barriers(model, group_by="measure only", current_only=True)
    blocked = current.set_index("measure_id")["families_blocked"].to_dict()
    statuses = query_frame(
        model,
        "select measure_id, count(*) as n from mart_plan_blocker"
        " where is_current and is_best_route and family_state <> 'claimable'"
        " and measure_id is not null group by 1",
    ).set_index("measure_id")["n"]
    assert {k: v for k, v in blocked.items() if k} == statuses.to_dict()
    with pytest.raises(ValueError):
        read_plan.barriers(model, group_by="ward_name; drop table claim")


# --- Returns and the plan itself -----------------------------------------------------------------


def test_quarterly_return_adds_up_to_the_claims_and_attachments(model, district):
    ret = read_plan.quarterly_return(model)
    claims = read_plan.claims(model)
    attached = sum(1 for f in district.families.values() if f.attached)
    assert ret["families_attached"].sum() == attached
    assert ret["results_claims"].sum() == (claims["claim_type"] == "results").sum()
    assert ret["income_to_date"].iloc[-1] == claims["amount"].sum()
    forecast = ret[ret["is_forecast"]]
    assert len(forecast) == 1 and forecast["quarter_start"].iloc[0].date() > AS_AT
    rates = read_plan.prediction_rates(model).set_index("state")
    states = query_frame(
        model,
        "select state, count(*) as n from mart_plan_family_status"
        " where is_current and state <> 'claimable' group by 1",
    ).set_index("state")["n"]
    predicted = sum(n * rates["conversion_rate"].get(s, 0) for s, n in states.items())
    assert forecast["predicted_results_claims"].iloc[0] == round(predicted)
    assert "share of families in that state" in forecast["prediction_method"].iloc[0]
    # "result this quarter" was near at the end of December and claimable in January
    assert rates.loc["near", "became_claimable"] >= 1


def test_the_active_plan_is_stored_with_its_text(model):
    plan = read_plan.active_plan(model)
    assert plan["plan_id"] == "bradford_2015"
    assert plan["plan_text"] == PLAN.file.read_text(encoding="utf-8")
    assert plan["eligibility_rule"] == f"at least {PLAN.eligibility_at_least} of 6 problems"
    assert read_plan.near_margins(model)["percentage points"] == PLAN.near.rate_points
    summary = read_plan.plan_summary(model)
    assert summary["results_claims"] == len(read_plan.claims(model, claim_types=["results"]))
    assert summary["target_income"] == plan["target_families"] * (
        PLAN.attachment_fee + PLAN.results_payment
    )


# --- Supporting Families: sustained 6 months after closure ----------------------------------------


def test_supporting_families_counts_the_six_months_after_closure(tmp_path):
    closed = dt.date(2019, 6, 30)
    last_day = _window_end(closed)
    d = District()
    for name, incident in (
        ("inside", last_day),
        ("outside", last_day + dt.timedelta(days=1)),
        ("still open", None),
    ):
        family = d.family(
            name, attached=dt.date(2018, 9, 1), closed=None if name == "still open" else closed
        )
        mum = family.adult()
        family.police(mum, dt.date(2018, 8, 1), "Victim", dv=True)
        if incident:
            family.police(mum, incident, "Victim", dv=True)
    model = open_model(d.build(tmp_path, "supporting_families_2022"))
    try:
        rows = {
            name: _measure(model, d, name, "no_domestic_incident_after_closure")
            for name in ("inside", "outside", "still open")
        }
    finally:
        model.close()
    assert rows["inside"]["status"] == "not met" and not rows["inside"]["can_still_be_met"]
    assert rows["inside"]["needs"].startswith("cannot now be met: 1 incident")
    assert rows["outside"]["status"] == "met"
    assert rows["outside"]["achieved_date"].date() == last_day
    assert rows["still open"]["status"] == "not met"
    assert rows["still open"]["needs"] == "measured after the case closes; still open"
