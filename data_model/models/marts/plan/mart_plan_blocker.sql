-- What blocks each attached family's claim on each evaluation date, per claim route: one row per
-- measure not yet met (or problem another member developed, or missing eligibility), with the
-- measured value, threshold, distance and margin, so a page can ask "near under another margin?"
-- and count which measures block most claims by cluster, ward and period. is_best_route marks the
-- route the family is closest to.
with blockers as (
    select * from {{ ref('int_plan_family_blocker') }}
),

measures as (
    select * from {{ ref('int_plan_family_measure') }}
),

status as (
    select family_key, evaluation_date, is_current, quarter_label, term_label, state,
           best_route, cluster, team, key_worker, ward_code, ward_name, area_committee
    from {{ ref('mart_plan_family_status') }}
),

titles as (
    select measure_id, title as measure_title from {{ source('config', 'cfg_plan_measure') }}
),

problem_titles as (
    select problem_id, title as problem_title from {{ source('config', 'cfg_plan_problem') }}
),

routes as (
    select route_id, title as route_title from {{ source('config', 'cfg_plan_route') }}
)

select
    blockers.family_key,
    blockers.evaluation_date,
    status.is_current,
    status.quarter_label,
    status.term_label,
    blockers.route_id,
    routes.route_title,
    blockers.route_id = status.best_route as is_best_route,
    status.state as family_state,
    blockers.problem_id,
    problem_titles.problem_title,
    blockers.measure_id,
    coalesce(titles.measure_title, case blockers.status
        when 'invalid' then 'Another member developed the problem'
        when 'not eligible' then 'Eligibility at attachment' end) as measure_title,
    blockers.status,
    measures.measured_value,
    measures.threshold_value,
    measures.unit,
    measures.distance_to_threshold,
    measures.near_margin,
    measures.can_still_be_met,
    measures.is_on_track,
    measures.progress,
    blockers.needs,
    status.cluster,
    status.team,
    status.key_worker,
    status.ward_code,
    status.ward_name,
    status.area_committee
from blockers
inner join status using (family_key, evaluation_date)
inner join routes using (route_id)
left join measures using (family_key, evaluation_date, measure_id)
left join titles using (measure_id)
left join problem_titles on problem_titles.problem_id = blockers.problem_id
