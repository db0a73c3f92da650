-- Each claim route for each attached family on each evaluation date: the day it was achieved, or
-- how many measures still block it and whether all of those are near (the family is "near").
with routes as (
    select * from {{ source('config', 'cfg_plan_route') }}
),

plan as (
    select * from {{ source('config', 'cfg_plan') }}
),

attached as (
    select family_key, eligible_at_attachment from {{ ref('int_plan_attachment') }}
),

dates as (
    select * from {{ ref('int_plan_evaluation_date') }}
),

progress as (
    select
        family_key,
        evaluation_date,
        case when count(*) filter (where achieved_date <= evaluation_date) = count(*)
            then max(achieved_date) end as every_problem_achieved
    from {{ ref('int_plan_family_problem_progress') }}
    group by all
),

measures as (
    select * from {{ ref('int_plan_family_measure') }}
),

blockers as (
    select
        route_id,
        family_key,
        evaluation_date,
        count(*) as blocking,
        count(*) filter (where status = 'near') as blocking_near,
        count(*) filter (where status in ('near', 'not met')) as blocking_measures
    from {{ ref('int_plan_family_blocker') }}
    group by all
),

routes_on_dates as (
    select
        dates.family_key,
        dates.evaluation_date,
        dates.is_current,
        routes.route_id,
        routes.route_order,
        routes.title as route_title,
        case
            when routes.requires = 'every_problem' then progress.every_problem_achieved
            else measures.achieved_date
        end as candidate_achieved_date
    from dates
    inner join attached using (family_key)
    cross join routes
    left join progress using (family_key, evaluation_date)
    left join measures
        on measures.family_key = dates.family_key
        and measures.evaluation_date = dates.evaluation_date
        and measures.measure_id = routes.requires
)

select
    routes_on_dates.family_key,
    routes_on_dates.evaluation_date,
    routes_on_dates.is_current,
    routes_on_dates.route_id,
    routes_on_dates.route_order,
    routes_on_dates.route_title,
    -- blockers is empty exactly when the route is achieved and valid
    case when blockers.blocking is null then routes_on_dates.candidate_achieved_date end
        as achieved_date,
    coalesce(blockers.blocking, 0) as blocking,
    coalesce(blockers.blocking_near, 0) as blocking_near,
    route_is_near(
        blockers.blocking,
        blockers.blocking_near,
        blockers.blocking_measures,
        plan.near_max_blocking_measures,
        plan.near_all_met_but_one
    ) as is_near
from routes_on_dates
cross join plan
left join blockers using (route_id, family_key, evaluation_date)
