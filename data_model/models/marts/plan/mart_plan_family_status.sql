-- Each attached family's standing under the plan on each evaluation date (is_current: the as-at
-- date; otherwise quarter ends): claimable (and by which route, from when), near (its best route
-- blocked by one or two measures, each near), or blocked, with what blocks it.
with routes as (
    select * from {{ ref('int_plan_family_route') }}
),

attached as (
    select * from {{ ref('int_plan_attachment') }}
),

families as (
    select family.family_key, family.ward_code, family.ward_name, wards.area_committee
    from {{ ref('mart_family') }} as family
    left join {{ ref('stg_wards') }} as wards using (ward_code)
),

problem_titles as (
    select problem_id, title from {{ source('config', 'cfg_plan_problem') }}
),

terms as (
    select census_date, term_label from {{ ref('int_plan_term_calendar') }}
),

best_route as (
    -- achieved first (earliest), then near, then the plan's order: a route of one measure far
    -- off (no job yet) is not "closer" than progress on every problem for having one blocker
    select *
    from routes
    qualify row_number() over (
        partition by family_key, evaluation_date
        order by achieved_date is null, achieved_date, is_near desc, route_order
    ) = 1
),

blocked_by as (
    select
        blockers.family_key,
        blockers.evaluation_date,
        blockers.route_id,
        string_agg(
            coalesce(measures.title, problem_titles.title, 'eligibility') || ': '
                || blockers.needs,
            '; ' order by blockers.problem_id, blockers.measure_id
        ) as blocked_by
    from {{ ref('int_plan_family_blocker') }} as blockers
    left join {{ source('config', 'cfg_plan_measure') }} as measures using (measure_id)
    left join problem_titles on problem_titles.problem_id = blockers.problem_id
    -- in words on the as-at date; mart_plan_blocker has every date's blockers
    where blockers.evaluation_date = (select as_at_date from {{ ref('int_as_at_date') }})
    group by all
),

problems_at_attachment as (
    select attached.family_key, list(problem_titles.title order by problem_titles.problem_id)
        as problems_at_attachment
    from attached, unnest(attached.problems_at_attachment) as problem(problem_id)
    inner join problem_titles using (problem_id)
    group by attached.family_key
)

select
    best_route.family_key,
    best_route.evaluation_date,
    best_route.is_current,
    strftime(date_trunc('quarter', best_route.evaluation_date), '%b') || ' to '
        || strftime(best_route.evaluation_date, '%b %Y') as quarter_label,
    terms.term_label,
    attached.case_id,
    attached.attached_date,
    attached.closure_date,
    attached.cluster,
    attached.team,
    attached.key_worker,
    families.ward_code,
    families.ward_name,
    families.area_committee,
    attached.eligible_at_attachment,
    coalesce(problems_at_attachment.problems_at_attachment, []) as problems_at_attachment,
    case
        when best_route.achieved_date is not null then 'claimable'
        when not attached.eligible_at_attachment then 'not eligible at attachment'
        when best_route.is_near then 'near'
        else 'blocked'
    end as state,
    best_route.achieved_date as claimable_date,
    case when best_route.achieved_date is not null then best_route.route_id end as claim_route,
    best_route.route_id as best_route,
    best_route.route_title as best_route_title,
    best_route.blocking as blocking_measures,
    best_route.blocking_near as blocking_near,
    blocked_by.blocked_by
from best_route
inner join attached using (family_key)
left join families using (family_key)
left join problems_at_attachment using (family_key)
left join blocked_by using (family_key, evaluation_date, route_id)
asof left join terms on best_route.evaluation_date >= terms.census_date
