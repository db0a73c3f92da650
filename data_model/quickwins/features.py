"""What the ranking knows about a family on a date: features computed from the model's tables as
they stood that day (the day of attachment when training, the as-at date when scoring).

Every feature reads only records dated on or before the family's feature date. None is a
protected characteristic: ethnicity, religion, sex and disability are never read here (the
fairness check reads them, apart: data_model/quickwins/fairness.py); a test changes them in a
model and finds every feature unchanged.

A value that does not apply to a family (waiting time for a family never referred, attendance for
a family with no child at school) is missing (NaN); the model puts the training cohort's mean in
its place, so it adds nothing to the family's score or reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

# The characteristics that are never features (Equality Act 2010's protected characteristics
# that the extracts hold, or could), checked against every feature's name and source column.
PROTECTED_WORDS = ("ethnic", "religio", "faith", "sex", "gender", "disab")


@dataclass(frozen=True)
class Feature:
    """One column the model sees: its name, what it is in words, and how a value reads."""

    name: str
    label: str  # in words, for the model card and the reasons
    unit: str = ""  # "%", "points", "years"... ("" for a count)
    kind: str = "number"  # number, flag (0/1), category (one-hot: 1 = this category)
    # a distance in near margins, said in the measure's own unit: one margin is this many
    # `margin_unit` (5 percentage points, 5.2 weeks, 1 incident)
    margin_size: float | None = None
    margin_unit: str = ""
    # what the feature is about (a plan problem's id): a family's top reasons name each subject
    # once. Empty: the feature is its own subject.
    subject: str = ""


# Features that do not depend on the plan; the plan's problems and measures add more
# (plan_features), and each referral source seen in training one flag (referral_features).
BASE_FEATURES = (
    Feature("problem_count", "number of the plan's problems", ""),
    Feature("attendance_lowest", "lowest attendance last term of a child at school", "%"),
    Feature(
        "attendance_trend", "change in attendance over the last two terms", "percentage points"
    ),
    Feature("household_size", "people in the household", ""),
    Feature("children", "children in the household", ""),
    Feature("adults", "adults in the household", ""),
    Feature("youngest_child_age", "age of the youngest child", "years"),
    Feature("eldest_child_age", "age of the eldest child", "years"),
    Feature("years_known", "years known to services (earliest record of any member)", "years"),
    Feature("prior_episodes", "earlier early help episodes", ""),
    Feature("waiting_working_days", "working days waited for allocation", "working days"),
    Feature("cluster_caseload", "families worked with in the cluster at the time", ""),
)


@dataclass(frozen=True)
class ClaimShape:
    """What the plan says a results claim needs, as the features read it: the problems the plan
    asks for to be eligible, the problems whose own measure is a route to a claim by itself (an
    adult out of work can claim by moving into continuous employment), and the rest, which a
    family without such a route must all turn round."""

    eligibility_at_least: int
    route_problems: tuple[str, ...]
    other_problems: tuple[tuple[str, str], ...]  # (problem_id, title)


def claim_shape(con: duckdb.DuckDBPyConnection) -> ClaimShape:
    """The plan's claim shape, from cfg_plan, cfg_plan_route and cfg_plan_measure."""
    at_least = con.execute("select eligibility_at_least from cfg_plan").fetchone()[0]
    route_problems = tuple(
        row[0]
        for row in con.execute(
            """
            select distinct measure.problem_id
            from cfg_plan_route as route
            inner join cfg_plan_measure as measure on measure.measure_id = route.requires
            order by measure.problem_id
            """
        ).fetchall()
    )
    others = tuple(
        (problem_id, title)
        for problem_id, title in con.execute(
            "select problem_id, title from cfg_plan_problem order by problem_order"
        ).fetchall()
        if problem_id not in route_problems
    )
    return ClaimShape(int(at_least or 0), route_problems, others)


def claim_shape_features(shape: ClaimShape) -> list[Feature]:
    """A results claim is not the sum of a family's problems: it needs the plan's eligibility,
    and then either one route's measure (continuous employment) or progress on every problem.
    A model that adds features up cannot see that, so the shape is given as features of its
    own, each still one coefficient × one value (its reasons stay exact): eligible when attached
    (the plan engine's int_plan_attachment; a family never attached is on its list because it is
    eligible today), and for each problem without a route of its own, "has it, with no route to
    a claim open but progress on every problem"."""
    features = [
        Feature(
            "eligible_when_attached",
            "met the plan's eligibility when attached (at least "
            f"{shape.eligibility_at_least} of its problems)",
            "",
            "flag",
        )
    ]
    if shape.route_problems:
        features += [
            Feature(
                f"progress_only__{problem_id}",
                f"has the problem, with no route to a claim but progress on every problem: {title}",
                "",
                "flag",
                subject=problem_id,
            )
            for problem_id, title in shape.other_problems
        ]
    return features


def plan_features(con: duckdb.DuckDBPyConnection) -> list[Feature]:
    """Per problem of the plan: whether the family has it and how many records show it; per
    measure: its distance to threshold in the plan's near margins; and the claim's shape
    (claim_shape_features)."""
    problems = con.execute(
        "select problem_id, title from cfg_plan_problem order by problem_order"
    ).fetchall()
    measures = con.execute(
        """
        select measure.measure_id, measure.title, measure.near_within, measure.unit,
               measure.problem_id
        from cfg_plan_measure as measure
        inner join cfg_plan_problem as problem using (problem_id)
        order by problem.problem_order, measure.measure_order
        """
    ).fetchall()
    features = []
    for problem_id, title in problems:
        features.append(Feature(f"problem__{problem_id}", f"has the problem: {title}", "", "flag",
                                subject=problem_id))  # fmt: skip
        features.append(Feature(f"records__{problem_id}", f"records showing: {title}", "",
                                subject=problem_id))  # fmt: skip
    for measure_id, title, margin, unit, problem_id in measures:
        features.append(
            Feature(
                f"distance__{measure_id}",
                f"distance to threshold, in near margins: {title}",
                "margins",
                margin_size=float(margin) if margin is not None else None,
                margin_unit=unit or "",
                subject=problem_id,
            )
        )
    return features + claim_shape_features(claim_shape(con))


def referral_features(sources: list[str]) -> list[Feature]:
    """One flag per referral source (the categories are those of the training cohorts)."""
    return [
        Feature(f"referral__{source}", f"referred by: {source}", "", "category")
        for source in sorted(sources)
    ]


# The population: one row per family to describe, registered as a relation named `population`
# with family_key, feature_date, and for an attached family its attachment's episode_id.
_CTES = """
with population as (
    -- typed: a frame of no rows (or of empty episodes) has no types of its own
    select family_key::varchar as family_key, feature_date::date as feature_date,
           episode_id::varchar as episode_id
    from qw_population
),

members as (
    -- who was in the family on the feature date, with their age then
    select population.family_key, population.feature_date, member.person_key,
           date_diff('day', person.dob, population.feature_date) / 365.25 as age,
           person.first_seen
    from population
    inner join mart_family_member as member
        on member.family_key = population.family_key
        and population.feature_date between member.valid_from and member.valid_to
    left join mart_person as person using (person_key)
    -- a child not yet born on the date is not yet in the household
    where person.dob is null or person.dob <= population.feature_date
),

household as (
    select family_key, feature_date,
           count(*) as household_size,
           count(*) filter (where age < 18) as children,
           count(*) filter (where age >= 18) as adults,
           min(age) filter (where age < 18) as youngest_child_age,
           max(age) filter (where age < 18) as eldest_child_age,
           greatest(
               date_diff('day', min(first_seen), any_value(feature_date)) / 365.25, 0
           ) as years_known
    from members
    group by family_key, feature_date
),

problems_then as (
    select population.family_key, population.feature_date, hit.problem_id,
           count(*) as records
    from population
    inner join int_plan_hit as hit
        on hit.family_key = population.family_key
        and population.feature_date between hit.holds_from and hit.holds_until
    group by all
),

problem_count as (
    select family_key, feature_date, count(*) as problem_count
    from problems_then group by all
),

pupil_terms as (
    -- each member's school terms in the year before the feature date, newest first
    select members.family_key, members.feature_date, members.person_key, term.term_index,
           term.sessions_attended / nullif(term.sessions_possible, 0) as attendance,
           term.sessions_possible,
           term.sessions_attended, term.sessions_missed, term.sessions_unauthorised,
           term.fixed_term_exclusions, term.permanent_exclusions,
           max(term.census_date) over (
               partition by members.family_key, members.feature_date, members.person_key
           ) as latest_census,
           row_number() over (
               partition by members.family_key, members.feature_date, members.person_key
               order by term.term_index desc
           ) as terms_back
    from members
    inner join int_plan_term as term
        on term.person_key = members.person_key
        and term.census_date <= members.feature_date
        and term.census_date > members.feature_date - interval 12 month
),

latest_terms as (
    -- pupils still at school: their latest term within six months of the date (the summer
    -- holiday is the longest gap between census days)
    select * from pupil_terms
    where latest_census > feature_date - interval 6 month
),

attendance as (
    select family_key, feature_date,
           100 * min(attendance) filter (where terms_back = 1) as attendance_lowest,
           100 * (
               avg(attendance) filter (where terms_back = 1)
               - avg(attendance) filter (where terms_back = 3)
           ) as attendance_trend
    from latest_terms
    group by all
),

measures as (
    select measure.*, coalesce(availability.is_available, true) as is_available
    from cfg_plan_measure as measure
    left join int_source_availability as availability using (source)
),

term_distance as (
    -- school-census measures: the child furthest from the threshold in the latest term
    select latest_terms.family_key, latest_terms.feature_date, measures.measure_id,
           max(greatest(
               case when measures.figure_kind = 'rate' then 100 else 1 end
               * measures.direction * (
                   measures.threshold
                   - case measures.figure_column
                       when 'sessions_attended' then latest_terms.sessions_attended
                       when 'sessions_missed' then latest_terms.sessions_missed
                       when 'sessions_unauthorised' then latest_terms.sessions_unauthorised
                       when 'fixed_term_exclusions' then latest_terms.fixed_term_exclusions
                       when 'permanent_exclusions' then latest_terms.permanent_exclusions
                   end / case when measures.figure_kind = 'rate'
                       then latest_terms.sessions_possible else 1 end
               ),
               0
           )) / any_value(measures.near_within) as distance
    from latest_terms
    inner join measures on measures.kind = 'terms'
    where latest_terms.terms_back = 1
    group by latest_terms.family_key, latest_terms.feature_date, measures.measure_id
),

record_counts as (
    -- records measures: the measure's records in its window before the feature date
    select population.family_key, population.feature_date, measures.measure_id,
           count(event.item_id) as records
    from population
    cross join measures
    left join int_plan_event as event
        on event.family_key = population.family_key
        and event.item_id = measures.measure_id
        and event.record_date <= population.feature_date
        and event.record_date > population.feature_date - to_months(measures.window_months)
    where measures.kind = 'records'
    group by all
),

record_distance as (
    -- records over the number allowed; for a reduction, how many fewer the next window needs
    -- if the last one repeated
    select record_counts.family_key, record_counts.feature_date, record_counts.measure_id,
           case measures.comparison
               when 'reduction' then
                   records - floor(records * (1 - measures.threshold) + 1e-9)
               else greatest(records - measures.threshold, 0)
           end / measures.near_within as distance
    from record_counts
    inner join measures using (measure_id)
),

spell_distance as (
    -- continuous employment: the weeks still needed by the adult furthest into a spell
    select population.family_key, population.feature_date, measures.measure_id,
           greatest(
               any_value(measures.weeks) - coalesce(max(
                   date_diff('day', event.record_date, population.feature_date) / 7
               ), 0),
               0
           ) / any_value(measures.near_within) as distance
    from population
    cross join measures
    left join int_plan_event as event
        on event.family_key = population.family_key
        and event.item_id = measures.measure_id
        and event.record_date <= population.feature_date
        and coalesce(event.end_date, population.feature_date) >= population.feature_date
    where measures.kind = 'continuous_spell'
    group by population.family_key, population.feature_date, measures.measure_id
),

distances as (
    -- a measure counts only where the family has its problem then, and its source was sent
    select distance_rows.family_key, distance_rows.feature_date, distance_rows.measure_id,
           case when problems_then.problem_id is not null and measures.is_available
               then distance_rows.distance else 0 end as distance
    from (
        select * from term_distance
        union all select * from record_distance
        union all select * from spell_distance
    ) as distance_rows
    inner join measures using (measure_id)
    left join problems_then
        on problems_then.family_key = distance_rows.family_key
        and problems_then.feature_date = distance_rows.feature_date
        and problems_then.problem_id = measures.problem_id
),

attaching as (
    -- the referral and episode that led to the attachment
    select population.family_key, population.feature_date,
           referral.referral_source,
           referral.allocation_lag_working_days as waiting_working_days,
           referral.allocated_date,
           referral.cluster,
           referral.case_id
    from population
    inner join mart_referral as referral using (episode_id)
),

eligibility as (
    -- the plan engine's judgement on the day the family was attached (its referral may be
    -- missing from the extract; its attachment is not)
    select population.family_key, population.feature_date, attachment.eligible_at_attachment
    from population
    inner join int_plan_attachment as attachment
        on attachment.family_key = population.family_key
        and attachment.episode_id = population.episode_id
),

prior_episodes as (
    -- episodes allocated before the one that led to the attachment (or before the date)
    select population.family_key, population.feature_date,
           count(episode.episode_id) as prior_episodes
    from population
    left join attaching using (family_key, feature_date)
    left join int_plan_family_case as family_case
        on family_case.family_key = population.family_key
    left join stg_ehm_episodes as episode
        on episode.case_id = family_case.case_id
        and episode.allocated_date
            < coalesce(attaching.allocated_date, population.feature_date)
        and episode.episode_id is distinct from population.episode_id
    group by all
),

caseload as (
    select attaching.family_key, attaching.feature_date, count(other.family_key) as cluster_caseload
    from attaching
    left join int_plan_attachment as other
        on other.cluster = attaching.cluster
        and other.attached_date <= attaching.feature_date
        and coalesce(other.closure_date, attaching.feature_date + 1) > attaching.feature_date
    group by all
)
"""

_FEATURES_SQL = (
    _CTES
    + """
select
    population.family_key,
    population.feature_date,
    coalesce(problem_count.problem_count, 0) as problem_count,
    attendance.attendance_lowest,
    attendance.attendance_trend,
    coalesce(household.household_size, 0) as household_size,
    coalesce(household.children, 0) as children,
    coalesce(household.adults, 0) as adults,
    household.youngest_child_age,
    household.eldest_child_age,
    coalesce(household.years_known, 0) as years_known,
    coalesce(prior_episodes.prior_episodes, 0) as prior_episodes,
    attaching.waiting_working_days,
    caseload.cluster_caseload,
    -- a family never attached is on its list (unreferred eligible) because it is eligible today
    coalesce(eligibility.eligible_at_attachment, population.episode_id is null)::double
        as eligible_when_attached,
    attaching.referral_source
from population
left join problem_count using (family_key, feature_date)
left join attendance using (family_key, feature_date)
left join household using (family_key, feature_date)
left join prior_episodes using (family_key, feature_date)
left join attaching using (family_key, feature_date)
left join caseload using (family_key, feature_date)
left join eligibility using (family_key, feature_date)
order by population.family_key, population.feature_date
"""
)

_PROBLEMS_SQL = _CTES + "select family_key, feature_date, problem_id, records from problems_then"
_DISTANCES_SQL = _CTES + "select family_key, feature_date, measure_id, distance from distances"


def family_features(
    con: duckdb.DuckDBPyConnection, population: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """The features of each family in `population` (family_key, feature_date, episode_id: the
    attachment's episode, empty for a family never attached) on its feature date.

    Returns the wide frame (one row per family and date, in the population's order; every plan
    problem and measure a column, referral source as text in `referral_source`) and the rule's
    score: the total distance to threshold over the measures, in near margins.
    """
    frame = population[["family_key", "feature_date", "episode_id"]].copy()
    frame["feature_date"] = pd.to_datetime(frame["feature_date"]).dt.date
    con.register("qw_population", frame)
    try:
        base = con.execute(_FEATURES_SQL).df()
        problems = con.execute(_PROBLEMS_SQL).df()
        distances = con.execute(_DISTANCES_SQL).df()
    finally:
        con.unregister("qw_population")
    keys = ["family_key", "feature_date"]
    for table in (base, problems, distances):
        table["feature_date"] = pd.to_datetime(table["feature_date"]).dt.date
    wide = frame[keys].merge(base, on=keys, how="left")
    problem_ids = [row[0] for row in con.execute(
        "select problem_id from cfg_plan_problem order by problem_order"
    ).fetchall()]  # fmt: skip
    measure_ids = [f.name.removeprefix("distance__") for f in plan_features(con)
                   if f.name.startswith("distance__")]  # fmt: skip
    if len(problems):
        records = problems.pivot_table(
            index=keys, columns="problem_id", values="records", aggfunc="sum"
        )
    else:
        records = pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=keys))
    records = records.reindex(columns=problem_ids).fillna(0)
    records.columns = [f"records__{p}" for p in records.columns]
    has = (records > 0).astype(float)
    has.columns = [c.replace("records__", "problem__") for c in has.columns]
    wide = wide.merge(pd.concat([has, records], axis=1).reset_index(), on=keys, how="left")
    if len(distances):
        distance = distances.pivot_table(
            index=keys, columns="measure_id", values="distance", aggfunc="max"
        )
    else:
        distance = pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=keys))
    distance = distance.reindex(columns=measure_ids).fillna(0)
    distance.columns = [f"distance__{m}" for m in distance.columns]
    wide = wide.merge(distance.reset_index(), on=keys, how="left")
    plan_columns = [
        c for c in wide.columns if c.startswith(("problem__", "records__", "distance__"))
    ]
    wide[plan_columns] = wide[plan_columns].fillna(0.0)
    shape = claim_shape(con)
    route_open = (
        wide[[f"problem__{p}" for p in shape.route_problems]].max(axis=1)
        if shape.route_problems
        else pd.Series(0.0, index=wide.index)
    )
    for problem_id, _ in shape.other_problems:
        wide[f"progress_only__{problem_id}"] = wide[f"problem__{problem_id}"] * (1 - route_open)
    # DuckDB's parallel sums may differ in the last bits from run to run (a trend of 0 comes out
    # as 2e-14): rounded, the same data give the same features, model and data hash.
    numbers = wide.select_dtypes("number").columns
    wide[numbers] = wide[numbers].astype(float).round(9)
    rule_score = wide[[c for c in wide.columns if c.startswith("distance__")]].sum(axis=1)
    return wide, rule_score


def feature_matrix(wide: pd.DataFrame, features: list[Feature]) -> np.ndarray:
    """The model's input, columns in `features` order: referral flags made from
    referral_source (missing for a family never referred, so they add nothing)."""
    columns = []
    for feature in features:
        if feature.name.startswith("referral__"):
            source = feature.name.removeprefix("referral__")
            referred = wide["referral_source"].notna()
            column = np.where(referred, (wide["referral_source"] == source).astype(float), np.nan)
        else:
            column = wide[feature.name].astype(float).to_numpy()
        columns.append(column)
    return np.column_stack(columns) if columns else np.empty((len(wide), 0))
