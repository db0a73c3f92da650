"""Every threshold of every shipped plan, at, just above and just below it.

The families are made from each plan's own settings (thresholds, windows, margins), so a plan
change is tested without editing this file. What each family should come to is worked out here
from the rule's meaning (at least 90% met at exactly 90%; "below 15%" not met at exactly 15%; one
session short is 100/sessions percentage points away), not read from the engine.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from data_model.plan import SOURCES, TERM_FIGURES, Indicator, Measure, Plan, load_plan
from tests.plan_fixtures import (
    AS_AT,
    District,
    Family,
    add_record,
    census_day,
    member_for,
    months_after,
    months_before,
    terms_before,
)

PLANS = ["bradford_2015", "warwickshire_2015", "supporting_families_2022"]
SESSIONS = 120  # a term's sessions possible: every shipped rate threshold is whole sessions of it


@dataclass
class Expected:
    family: Family
    measure: Measure
    case: str  # at, above, below: the measured value against the threshold
    met: bool
    distance: float | None  # when not met, in the measure's unit
    can_still_be_met: bool = True

    @property
    def status(self) -> str:
        if self.met:
            return "met"
        near = self.can_still_be_met and self.distance <= self.measure.near_within + 1e-9
        return "near" if near else "not met"


def _meets(comparison: str, case: str) -> bool:
    """Whether a value at, above or below the threshold meets a comparison."""
    return {
        "at_least": case in ("at", "above"),
        "at_most": case in ("at", "below"),
        "above": case == "above",
        "below": case == "below",
    }[comparison]


def _establish(family: Family, measure: Measure, plan: Plan, on: dt.date) -> None:
    """Evidence that the family had the measure's problem when attached: the problem's first
    indicator, records from `on` (before any window the measure counts)."""
    problem = next(p for p in plan.problems if p.id == measure.problem_id)
    indicator = problem.indicators[0]
    if indicator.kind == "terms":
        child = member_for(family, "child")
        rule = indicator.term_rule
        for year_term in terms_before(family.attached, rule.terms):
            figure = {"rate": SESSIONS // 2, "count": 3}[TERM_FIGURES[rule.figure][1]]
            _term(family, child, year_term, rule.figure, figure)
        return
    member = member_for(family, indicator.selector.who)
    for i in range(indicator.at_least):
        day = on + dt.timedelta(days=i)
        add_record(family, member, indicator.selector, day, day + dt.timedelta(days=1))


def _term(family, child, year_term, figure: str, value: int) -> None:
    """A term whose `figure` is `value` (sessions attended or missed, or exclusions)."""
    if figure == "attendance":
        family.term(child, year_term, SESSIONS, SESSIONS - value)
    elif figure in ("absence", "unauthorised_absence"):
        family.term(child, year_term, SESSIONS, value, unauthorised=value)
    elif figure == "fixed_term_exclusions":
        family.term(child, year_term, SESSIONS, 0, exclusions=value)
    else:
        family.term(child, year_term, SESSIONS, 0, permanent=value > 0)


def _measured_family(district: District, m: Measure, case: str, anchor: dt.date) -> Family:
    """A family whose measure is counted from `anchor`: attached that day, or (for a measure
    after closure) attached over a year before and closed that day."""
    if m.after == "closure":
        return district.family(
            f"{m.id} {case}", attached=anchor - dt.timedelta(days=400), closed=anchor
        )
    return district.family(f"{m.id} {case}", attached=anchor)


def _window_values(rule, step: int) -> list[int] | None:
    """A figure per term of the rule's window that puts the judged value at the threshold, moved
    by `step` sessions (or exclusions) in the last term; None when that would be negative.
    A rate's threshold is in every term (so each term and the terms together are at it); a count
    is all in the last term."""
    if TERM_FIGURES[rule.figure][1] == "rate":
        per_term = rule.threshold * SESSIONS
        assert per_term == int(per_term), "pick SESSIONS so thresholds are whole sessions"
        values = [int(per_term)] * rule.terms
    else:
        values = [0] * (rule.terms - 1) + [int(rule.threshold)]
    values[-1] += step
    return values if values[-1] >= 0 else None


def _record_cases(district: District, plan: Plan, m: Measure) -> list[Expected]:
    # one complete window before the as-at date (and the next one still running)
    anchor = months_before(AS_AT, m.window_months) - dt.timedelta(days=15)
    baseline = 0
    if m.comparison == "reduction":
        baseline = next(b for b in range(1, 50) if math.floor(b * (1 - m.threshold) + 1e-9) >= 1)
        baseline = max(baseline, 3)  # enough to be a problem under an "at least 3" indicator
        allowed = math.floor(baseline * (1 - m.threshold) + 1e-9)
    else:
        allowed = int(m.threshold)
    counts = {"at": allowed, "above": allowed + 1, "below": allowed - 1}
    expected = []
    for case, count in counts.items():
        if count < 0:
            continue
        family = _measured_family(district, m, case, anchor)
        member = member_for(family, m.selector.who)
        # before the months a reduction compares with, so only the test's records are counted
        _establish(
            family,
            m,
            plan,
            months_before(family.attached, m.window_months) - dt.timedelta(days=10)
            if m.comparison == "reduction"
            else family.referred,
        )
        for i in range(baseline):
            day = family.attached - dt.timedelta(days=30 + i)
            add_record(family, member, m.selector, day, day)
        for i in range(count):
            day = anchor + dt.timedelta(days=20 + i)
            add_record(family, member, m.selector, day, day + dt.timedelta(days=3))
        met = count >= allowed if m.comparison == "at_least" else count <= allowed
        expected.append(
            Expected(
                family,
                m,
                case,
                met,
                None if met else float(abs(count - allowed)),
                # every window here has ended: only a rolling one can come round again
                can_still_be_met=m.window == "rolling",
            )
        )
    return expected


def _term_cases(district: District, plan: Plan, m: Measure) -> list[Expected]:
    rule = m.term_rule
    kind = TERM_FIGURES[rule.figure][1]
    # exactly `terms` census days fall after the anchor, up to the as-at date
    anchor = census_day(*terms_before(AS_AT, rule.terms + 1)[0])
    window = terms_before(AS_AT, rule.terms)
    expected = []
    for case, step in (("at", 0), ("above", 1), ("below", -1)):
        values = _window_values(rule, step)
        if values is None:
            continue
        family = _measured_family(district, m, case, anchor)
        _establish(family, m, plan, family.referred)
        child = member_for(family, "child")
        for year_term, value in zip(window, values, strict=True):
            _term(family, child, year_term, rule.figure, value)
        met = _meets(rule.comparison, case)
        if met:
            distance = None
        elif kind == "count":
            # sessions or exclusions to move: one past a strict threshold at it
            distance = abs(step) + (1 if rule.comparison in ("above", "below") else 0)
        else:
            sessions = abs(step) + (1 if rule.comparison in ("above", "below") else 0)
            judged = SESSIONS if rule.over == "each_term" else SESSIONS * rule.terms
            distance = 100 * sessions / judged
        expected.append(Expected(family, m, case, met, distance))
    return expected


def _spell_cases(district: District, plan: Plan, m: Measure) -> list[Expected]:
    expected = []
    for case, extra_days in (("at", 0), ("above", 1), ("below", -1)):
        family = district.family(f"{m.id} {case}", attached=dt.date(2019, 1, 10))
        _establish(family, m, plan, family.referred)
        adult = member_for(family, "adult")
        start = family.attached + dt.timedelta(days=20)
        end = start + dt.timedelta(days=7 * m.weeks + extra_days)
        add_record(family, adult, m.selector, start, end)
        met = extra_days >= 0
        # one day short of the weeks is a whole week short, and the job has ended
        expected.append(Expected(family, m, case, met, None if met else 1.0, False))
    return expected


CASES = {"records": _record_cases, "terms": _term_cases, "continuous_spell": _spell_cases}


@pytest.fixture(scope="module", params=PLANS)
def measure_district(request, tmp_path_factory) -> tuple[Plan, list[Expected], Path]:
    plan = load_plan(request.param)
    district = District()
    expected = [e for m in plan.measures for e in CASES[m.kind](district, plan, m)]
    model = district.build(tmp_path_factory.mktemp(request.param), plan)
    return plan, expected, model


def test_every_measure_at_just_above_and_just_below_its_threshold(measure_district) -> None:
    plan, expected, model = measure_district
    assert {e.measure.id for e in expected} == {m.id for m in plan.measures}
    problems = []
    with duckdb.connect(str(model), read_only=True) as con:
        for e in expected:
            family_key = District.family_key(con, e.family.members[0])
            row = con.execute(
                """
                select status, distance_to_threshold, threshold_value, needs, progress,
                       achieved_date
                from mart_plan_family_measure
                where is_current and family_key = ? and measure_id = ?
                """,
                [family_key, e.measure.id],
            ).fetchall()
            assert len(row) == 1, f"{e.measure.id} {e.case}: {row}"
            status, distance, threshold, needs, progress, achieved = row[0]
            label = f"{plan.id} {e.measure.id} {e.case}: {status} {distance} ({needs})"
            if status != e.status:
                problems.append(f"{label}, expected {e.status}")
            elif e.met:
                if needs is not None or achieved is None:
                    problems.append(f"{label}: met without a date, or with needs")
            elif abs(distance - e.distance) > 1e-6 or not needs:
                problems.append(f"{label}: expected distance {e.distance}")
    assert not problems, "\n".join(problems)


def test_thresholds_reported_in_the_measures_units(measure_district) -> None:
    """The threshold beside each value is the plan's: a rate as a percentage, a count, weeks."""
    plan, expected, model = measure_district
    with duckdb.connect(str(model), read_only=True) as con:
        for e in expected:
            family_key = District.family_key(con, e.family.members[0])
            threshold, unit = con.execute(
                "select threshold_value, unit from mart_plan_family_measure"
                " where is_current and family_key = ? and measure_id = ?",
                [family_key, e.measure.id],
            ).fetchall()[0]
            m = e.measure
            if m.kind == "terms" and TERM_FIGURES[m.term_rule.figure][1] == "rate":
                assert threshold == pytest.approx(100 * m.term_rule.threshold)
                assert unit == "percentage points"
            elif m.kind == "terms":
                assert threshold == m.term_rule.threshold
            elif m.kind == "continuous_spell":
                assert (threshold, unit) == (m.weeks, "weeks")
            elif m.comparison != "reduction":
                assert threshold == m.threshold


# --- Indicators: does the family have the problem on the as-at date? -----------------------------


def _indicator_cases(district: District, indicator: Indicator) -> list[tuple[Family, bool, str]]:
    cases = []
    if indicator.kind == "records":
        selector = indicator.selector
        # the earliest day a record can end and still count: it counts for look_back_months
        # after (calendar months; 30 Sep + 6 months is 30 Mar, so 30 Sep is out on 31 Mar)
        boundary = months_before(AS_AT, indicator.look_back_months)
        while months_after(boundary, indicator.look_back_months) < AS_AT:
            boundary += dt.timedelta(days=1)
        spells = SOURCES[selector.source].end_date is not None
        for label, first_day, count, holds in (
            ("from the look-back's first day", boundary, indicator.at_least, True),
            ("a day before the look-back", boundary - dt.timedelta(days=1), indicator.at_least,
             False),
            ("one record too few", AS_AT - dt.timedelta(days=10), indicator.at_least - 1, False),
        ):  # fmt: skip
            if count == 0:
                continue  # a person with no records is in no extract
            family = district.family(f"{indicator.id}: {label}")
            member = member_for(family, selector.who)
            for i in range(count):
                # a record counts until the look-back after it ends (an incident ends that day)
                ends = first_day + dt.timedelta(days=i)
                starts = ends - dt.timedelta(days=20) if spells else ends
                add_record(family, member, selector, starts, ends)
            cases.append((family, holds, label))
        return cases
    rule = indicator.term_rule
    for case, step in (("at", 0), ("above", 1), ("below", -1)):
        values = _window_values(rule, step)
        if values is None:
            continue
        family = district.family(f"{indicator.id} {case}")
        child = family.child()
        window = terms_before(AS_AT, rule.terms)
        for year_term, value in zip(window, values, strict=True):
            _term(family, child, year_term, rule.figure, value)
        holds = _meets(rule.comparison, case)
        cases.append((family, holds, f"{case} the threshold"))
    return cases


@pytest.mark.parametrize("plan_name", PLANS)
def test_every_indicator_at_its_threshold_and_look_back(plan_name, tmp_path) -> None:
    plan = load_plan(plan_name)
    district = District()
    cases = [
        (indicator, family, holds, label)
        for indicator in plan.indicators
        for family, holds, label in _indicator_cases(district, indicator)
    ]
    model = district.build(tmp_path, plan)
    wrong = []
    with duckdb.connect(str(model), read_only=True) as con:
        for indicator, family, holds, label in cases:
            family_key = District.family_key(con, family.members[0])
            found = con.execute(
                """
                select count(*) from mart_plan_family_problem
                where family_key = ? and date_kind = 'as at' and problem_id = ?
                  and list_contains(indicators, ?)
                """,
                [family_key, indicator.problem_id, indicator.title],
            ).fetchall()[0][0]
            if bool(found) != holds:
                wrong.append(f"{plan_name} {indicator.id} {label}: holds {bool(found)}")
    assert not wrong, "\n".join(wrong)


def test_the_date_helpers_agree_with_the_calendar() -> None:
    assert months_before(dt.date(2020, 3, 31), 1) == dt.date(2020, 2, 29)
    assert months_after(dt.date(2019, 9, 15), 6) == dt.date(2020, 3, 15)
    assert [census_day(*t) for t in terms_before(AS_AT, 3)] == [
        dt.date(2019, 5, 20),
        dt.date(2019, 10, 5),
        dt.date(2020, 1, 20),
    ]
