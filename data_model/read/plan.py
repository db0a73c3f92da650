"""What the Near threshold, Claims & returns and Outcomes plan pages (and the Overview's plan
figures) show, read from the outcomes plan marts.

The rules (what "near" means, which route a claim takes, how the return's prediction is made) are
in the plan file and the mart_plan_* / mart_claim* models; these functions only select, filter
and re-apply a what-if margin through the model's own macros (measure_is_near, route_is_near in
models/macros/functions.sql), so the what-if and the model cannot disagree on what "near" means.
Values from users reach SQL only as parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

from data_model.read.connection import query_frame, query_row

# How a page may group barrier counts: a fixed list, never text from the user.
BARRIER_GROUPS = {
    "cluster": "cluster",
    "ward": "ward_name",
    "area committee": "area_committee",
    "measure only": "'District'",
}

# A what-if margin per unit ("percentage points", "weeks", "incidents"...); units not given keep
# the plan's own margin. Filters: empty means every cluster or ward.
_MARGINS = """
    margins as (
        select unnest(?::varchar[]) as unit, unnest(?::double[]) as what_if_margin
    )
"""
_WHERE_PLACE = """
    (len(?::varchar[]) = 0 or list_contains(?::varchar[], cluster))
    and (len(?::varchar[]) = 0 or list_contains(?::varchar[], ward_code))
"""


def _margin_params(margins: Mapping[str, float] | None) -> list[Any]:
    margins = dict(margins or {})
    return [list(margins), [float(v) for v in margins.values()]]


def _place_params(clusters: Sequence[str], wards: Sequence[str]) -> list[Any]:
    return [list(clusters), list(clusters), list(wards), list(wards)]


# --- The plan -----------------------------------------------------------------------------------


def active_plan(con: duckdb.DuckDBPyConnection) -> dict:
    """The plan the model was built with: id, name, file, full text, council, programme dates and
    target (and where they came from), payments, the eligibility rule, claim routes, near
    settings and the as-at date. Empty for a model built before plans existed."""
    return query_row(con, "select * from mart_plan")


def plan_problems(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The plan's problems in order, each with its indicators and progress measures in words."""
    return query_frame(con, "select * from mart_plan_problem order by problem_order")


def plan_measures(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The plan's outcome measures: threshold, unit, sustain window, near margin, routes."""
    return query_frame(con, "select * from mart_plan_measure order by measure_order")


def plan_routes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The plan's claim routes in order: id, title and what each requires ('every_problem' or
    one measure's id)."""
    return query_frame(
        con, "select route_id, route_title, requires from mart_plan_route order by route_order"
    )


def near_margins(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The plan's near margin per unit (the what-if control's starting values)."""
    frame = query_frame(
        con, "select unit, max(near_margin) as margin from mart_plan_measure group by unit"
    )
    return dict(zip(frame["unit"], frame["margin"].astype(float), strict=True))


def plan_filter_options(con: duckdb.DuckDBPyConnection) -> dict:
    """The clusters and wards (code: name) of the families attached by the as-at date, for the
    filters of the plan pages."""
    places = query_frame(
        con,
        """
        select distinct cluster, ward_code, ward_name
        from mart_plan_family_status
        where is_current
        """,
    )
    clusters = sorted(places["cluster"].dropna().unique())
    wards = places.dropna(subset=["ward_code"]).drop_duplicates("ward_code")
    wards = wards.sort_values(["ward_name", "ward_code"])
    names = dict(zip(wards["ward_code"], wards["ward_name"], strict=True))
    return {"clusters": clusters, "wards": names}


# --- Near threshold -----------------------------------------------------------------------------

_NEAR_BLOCKERS = f"""
    with {_MARGINS},

    plan as (
        select near_max_blocking_measures, near_all_met_but_one from mart_plan
    ),

    blockers as (
        select
            blocker.*,
            coalesce(margins.what_if_margin, blocker.near_margin) as margin,
            blocker.measure_id is not null and blocker.status in ('near', 'not met')
                as is_measure
        from mart_plan_blocker as blocker
        left join margins using (unit)
        where blocker.is_current and blocker.family_state <> 'claimable'
          and {_WHERE_PLACE}
    ),

    judged as (
        select
            *,
            is_measure and measure_is_near(can_still_be_met, distance_to_threshold, margin)
                as is_near
        from blockers
    ),

    routes as (
        select
            family_key,
            route_id,
            any_value(is_best_route) as is_best_route,
            count(*) as blocking_measures,
            count(*) filter (where is_near) as near_measures,
            count(*) filter (where is_measure) as measure_blockers
        from judged
        group by family_key, route_id
    ),

    near_route as (
        select routes.*
        from routes, plan
        where route_is_near(
            routes.blocking_measures, routes.near_measures, routes.measure_blockers,
            plan.near_max_blocking_measures, plan.near_all_met_but_one
        )
        qualify row_number() over (
            partition by family_key
            order by blocking_measures, is_best_route desc, route_id
        ) = 1
    )

    select judged.*, near_route.blocking_measures
    from judged
    inner join near_route using (family_key, route_id)
"""


def near_family_blockers(
    con: duckdb.DuckDBPyConnection,
    margins: Mapping[str, float] | None = None,
    clusters: Sequence[str] = (),
    wards: Sequence[str] = (),
) -> pd.DataFrame:
    """Attached families whose claim is blocked by at most the plan's number of measures
    (mart_plan.near_max_blocking_measures), each near: one row per family and blocking measure,
    with the measured value, threshold, distance (in the measure's unit), the margin used, and
    what the family needs in words.

    `margins` re-applies another near margin per unit ({"percentage points": 3}); units not
    given keep the plan's. A family with more than one near route shows the one with the fewest
    blocking measures. The analysts' downloadable list.
    """
    return query_frame(
        con,
        f"""
        {_NEAR_BLOCKERS}
        order by blocking_measures, distance_to_threshold / nullif(margin, 0), family_key,
                 measure_id
        """,
        [*_margin_params(margins), *_place_params(clusters, wards)],
    )[
        [
            "family_key", "route_id", "route_title", "blocking_measures", "problem_title",
            "measure_id", "measure_title", "status", "measured_value", "threshold_value", "unit",
            "distance_to_threshold", "margin", "is_on_track", "progress", "needs", "cluster",
            "team", "key_worker", "ward_code", "ward_name", "area_committee",
        ]
    ]  # fmt: skip


def near_families(
    con: duckdb.DuckDBPyConnection,
    margins: Mapping[str, float] | None = None,
    clusters: Sequence[str] = (),
    wards: Sequence[str] = (),
) -> pd.DataFrame:
    """The same families, one row each: where they are, who works with them, the route they are
    near, how many measures block it and what each needs (joined with '; ')."""
    return query_frame(
        con,
        f"""
        with near as ({_NEAR_BLOCKERS}),

        status as (
            select family_key, case_id, attached_date, problems_at_attachment
            from mart_plan_family_status
            where is_current
        )

        select
            near.family_key,
            status.case_id,
            status.attached_date,
            any_value(near.cluster) as cluster,
            any_value(near.team) as team,
            any_value(near.key_worker) as key_worker,
            any_value(near.ward_code) as ward_code,
            any_value(near.ward_name) as ward_name,
            any_value(near.route_title) as route_title,
            any_value(near.blocking_measures) as blocking_measures,
            string_agg(near.measure_title || ': ' || near.needs, '; '
                       order by near.measure_id) as needs,
            status.problems_at_attachment
        from near
        inner join status using (family_key)
        group by near.family_key, status.case_id, status.attached_date,
                 status.problems_at_attachment
        order by blocking_measures, near.family_key
        """,
        [*_margin_params(margins), *_place_params(clusters, wards)],
    )


def _near_family_counts(
    con: duckdb.DuckDBPyConnection,
    margins: Mapping[str, float] | None,
    clusters: Sequence[str],
    wards: Sequence[str],
) -> dict:
    """Near families (as near_families lists them), by how many measures block each."""
    return query_row(
        con,
        f"""
        with near as ({_NEAR_BLOCKERS}),

        families as (
            select near.family_key, any_value(near.blocking_measures) as blocking_measures
            from near
            inner join mart_plan_family_status as status using (family_key)
            where status.is_current
            group by near.family_key
        )

        select
            count(*) as families_near,
            count(*) * (select results_payment from mart_plan) as payments_within_reach,
            coalesce(histogram(blocking_measures), map()) as blocked_by
        from families
        """,
        [*_margin_params(margins), *_place_params(clusters, wards)],
    )


def near_summary(
    con: duckdb.DuckDBPyConnection,
    margins: Mapping[str, float] | None = None,
    clusters: Sequence[str] = (),
    wards: Sequence[str] = (),
) -> dict:
    """The Near threshold page's headline figures under these margins and places: families near a
    claim; `blocked_by`, how many of them each number of blocking measures leaves (1 up to the
    plan's near_max_blocking_measures); the results payments within their reach (the families ×
    the plan's results payment); and `families_near_under_plan`, the count under the plan's own
    margins, to set a what-if against (`families_near_against_plan`, the difference)."""
    counts = _near_family_counts(con, margins, clusters, wards)
    most_blocking = int(
        query_row(con, "select near_max_blocking_measures from mart_plan")[
            "near_max_blocking_measures"
        ]
    )
    under_plan = _near_family_counts(con, {}, clusters, wards) if margins else counts
    return {
        "families_near": int(counts["families_near"]),
        "blocked_by": {n: int(counts["blocked_by"].get(n, 0)) for n in range(1, most_blocking + 1)},
        "payments_within_reach": counts["payments_within_reach"],
        "families_near_under_plan": int(under_plan["families_near"]),
        "families_near_against_plan": int(counts["families_near"])
        - int(under_plan["families_near"]),
    }


def barriers(
    con: duckdb.DuckDBPyConnection,
    group_by: str = "cluster",
    margins: Mapping[str, float] | None = None,
    current_only: bool = False,
    clusters: Sequence[str] = (),
    wards: Sequence[str] = (),
) -> pd.DataFrame:
    """Which measures block most claims, per evaluation date (quarter ends and the as-at date) and
    group (BARRIER_GROUPS: cluster, ward, area committee, or the district): families whose closest
    route a measure blocks, how many of those are within the margin (plan's, or `margins`) and
    how many further off.
    `quarter_label` and `term_label` name each date for a chart. `clusters` and `wards` (ward
    codes) narrow it to families there; empty means all."""
    if group_by not in BARRIER_GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(BARRIER_GROUPS)}")
    group_column = BARRIER_GROUPS[group_by]
    return query_frame(
        con,
        f"""
        with {_MARGINS}

        select
            blocker.evaluation_date,
            blocker.is_current,
            blocker.quarter_label,
            blocker.term_label,
            {group_column} as group_name,
            blocker.measure_id,
            blocker.measure_title,
            count(distinct blocker.family_key) as families_blocked,
            count(distinct blocker.family_key) filter (
                where measure_is_near(
                    blocker.can_still_be_met, blocker.distance_to_threshold,
                    coalesce(margins.what_if_margin, blocker.near_margin)
                )
            ) as families_near,
            families_blocked - families_near as families_further
        from mart_plan_blocker as blocker
        left join margins using (unit)
        where blocker.is_best_route and blocker.family_state <> 'claimable'
          and (not ? or blocker.is_current)
          and {_WHERE_PLACE}
        group by all
        order by blocker.evaluation_date, group_name, families_blocked desc, blocker.measure_id
        """,
        [*_margin_params(margins), current_only, *_place_params(clusters, wards)],
    )


def family_measures(con: duckdb.DuckDBPyConnection, family_key: str) -> pd.DataFrame:
    """Every measure of one attached family on the as-at date, applicable ones first."""
    return query_frame(
        con,
        """
        select * from mart_plan_family_measure
        where is_current and family_key = ?
        order by status = 'not applicable', problem_id, measure_id
        """,
        [family_key],
    )


def family_measure_evidence(con: duckdb.DuckDBPyConnection, family_key: str) -> pd.DataFrame:
    """The terms, records and spells each of a family's measures was judged on (as-at date)."""
    return query_frame(
        con,
        """
        select * from mart_plan_measure_evidence
        where family_key = ?
        order by measure_id, role, evidence_date, source_record_id
        """,
        [family_key],
    )


def family_problem_evidence(
    con: duckdb.DuckDBPyConnection, family_key: str, date_kind: str = "attachment"
) -> pd.DataFrame:
    """The evidence trail of a family's problems on one of its dates that matter ('first
    eligible', 'first referral', 'attachment' or 'as at')."""
    return query_frame(
        con,
        """
        select * from mart_plan_problem_evidence
        where family_key = ? and date_kind = ?
        order by problem_id, evidence_date, source, source_record_id
        """,
        [family_key, date_kind],
    )


# --- Claims and returns -------------------------------------------------------------------------


# The same fixed predicate for the claims list and its totals; values go in as parameters.
_CLAIM_FILTER = """
    (len(?::varchar[]) = 0 or list_contains(?::varchar[], status))
    and (len(?::varchar[]) = 0 or list_contains(?::varchar[], claim_type))
    and (len(?::varchar[]) = 0 or list_contains(?::varchar[], cluster))
"""


def _claim_filter_params(
    statuses: Sequence[str], claim_types: Sequence[str], clusters: Sequence[str]
) -> list[Any]:
    return [
        list(statuses), list(statuses), list(claim_types), list(claim_types),
        list(clusters), list(clusters),
    ]  # fmt: skip


def claims(
    con: duckdb.DuckDBPyConnection,
    statuses: Sequence[str] = (),
    claim_types: Sequence[str] = (),
    clusters: Sequence[str] = (),
) -> pd.DataFrame:
    """Claims (attachment fees and results), newest first. Status is ready, claimed (assumed: see
    status_basis) or not evidenced; empty filters mean all."""
    return query_frame(
        con,
        f"""
        select * from mart_claim
        where {_CLAIM_FILTER}
        order by claimable_date desc, claim_id
        """,
        _claim_filter_params(statuses, claim_types, clusters),
    )


def claims_total(
    con: duckdb.DuckDBPyConnection,
    statuses: Sequence[str] = (),
    claim_types: Sequence[str] = (),
    clusters: Sequence[str] = (),
) -> dict:
    """How many claims `claims` lists with the same filters, and what they are worth."""
    return query_row(
        con,
        f"""
        select count(*) as claims, coalesce(sum(amount), 0) as amount
        from mart_claim
        where {_CLAIM_FILTER}
        """,
        _claim_filter_params(statuses, claim_types, clusters),
    )


def claim_evidence(con: duckdb.DuckDBPyConnection, claim_id: str) -> pd.DataFrame:
    """The evidence trail of one claim: the criterion each row supports, the source, the record,
    the person, the date and what the record says."""
    return query_frame(
        con,
        """
        select * from mart_claim_evidence
        where claim_id = ?
        order by evidence_for, problem_id, measure_id, evidence_date, source_record_id
        """,
        [claim_id],
    )


def claims_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """Claims and income to the as-at date against what the plan's target would earn: counts by
    status and type (and claimed_basis, why claims are taken as claimed), income, and the target
    income (target families × (fee + results payment)) with the share of it earned so far (null
    without a target)."""
    return query_row(
        con,
        """
        with plan as (select * from mart_plan),
        totals as (
            select
                plan.as_at_date,
                plan.target_families,
                count(*) filter (where claim_type = 'attachment fee' and status <> 'not evidenced')
                    as attachment_claims,
                count(*) filter (where claim_type = 'attachment fee' and status = 'not evidenced')
                    as attachments_not_evidenced,
                count(*) filter (where claim_type = 'results') as results_claims,
                count(*) filter (where claim_type = 'results' and status = 'ready')
                    as results_claims_ready,
                count(*) filter (where claim_type = 'results' and status = 'claimed')
                    as results_claims_claimed,
                count(*) filter (where status = 'ready') as claims_ready,
                count(*) filter (where claim_type = 'attachment fee' and status = 'ready')
                    as attachment_claims_ready,
                count(*) filter (where status = 'claimed') as claims_claimed,
                -- why claims count as claimed (the plan's assumption), from the newest claimed
                first(status_basis order by claimable_date desc, claim_id)
                    filter (where status = 'claimed') as claimed_basis,
                coalesce(sum(amount) filter (where claim_type = 'attachment fee'), 0)
                    as attachment_income,
                coalesce(sum(amount) filter (where claim_type = 'results'), 0) as results_income,
                coalesce(sum(amount), 0) as income,
                coalesce(sum(amount) filter (where status = 'ready'), 0) as income_ready,
                plan.target_families * (plan.attachment_fee + plan.results_payment) as target_income
            from plan
            left join mart_claim on true
            group by all
        )
        select *, income / nullif(target_income, 0) as share_of_target_income from totals
        """,
    )


def quarterly_return(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The quarterly return: per quarter, families identified, worked with (attached), claims and
    income, with running totals; the last row is the forecast quarter with the predicted results
    claims and the prediction method in words. `results_income_to_date` is the running total of
    results payments over the quarters so far (null on the forecast row)."""
    return query_frame(
        con,
        """
        select *,
               case when not is_forecast then sum(results_income) filter (where not is_forecast)
                   over (order by quarter_start) end as results_income_to_date
        from mart_plan_quarterly_return
        order by quarter_start
        """,
    )


def prediction_rates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The conversion rates behind the prediction: per state, families observed at the last four
    quarter ends and the share that became claimable in the following quarter."""
    return query_frame(con, "select * from mart_plan_conversion order by state")


def plan_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """For the Overview: families eligible under the plan on the as-at date (and how many of them
    are attached), families attached, near (and the plan's most blocking measures for near),
    claimable, claims and income against the target."""
    counts = query_row(
        con,
        """
        select
            count(*) filter (where date_kind = 'as at' and is_eligible) as families_eligible,
            count(*) filter (where date_kind = 'as at' and is_eligible and not is_attached)
                as eligible_not_attached,
            count(*) filter (where date_kind = 'first eligible') as families_ever_eligible
        from mart_plan_family_eligibility
        """,
    )
    states = query_row(
        con,
        """
        select
            count(*) as families_attached,
            count(*) filter (where state = 'near') as families_near,
            count(*) filter (where state = 'claimable') as families_claimable,
            (select near_max_blocking_measures from mart_plan) as near_max_blocking_measures
        from mart_plan_family_status
        where is_current
        """,
    )
    return {**counts, **states, **claims_summary(con)}
