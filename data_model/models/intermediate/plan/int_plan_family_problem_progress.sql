-- Progress on each problem an attached family had when it was attached, on each evaluation date:
-- met when its measures are (all of them, or any one, as the plan says), and whether another
-- member has since developed it.
with measures as (
    select * from {{ ref('int_plan_family_measure') }} where status <> 'not applicable'
),

problems as (
    select problem_id, progress_rule from {{ source('config', 'cfg_plan_problem') }}
),

progress as (
    select
        measures.family_key,
        measures.evaluation_date,
        measures.problem_id,
        any_value(problems.progress_rule) as progress_rule,
        count(*) as measures,
        count(*) filter (where measures.status = 'met') as measures_met,
        case
            when any_value(problems.progress_rule) = 'any' then min(measures.achieved_date)
            when count(*) filter (where measures.status = 'met') = count(*)
                then max(measures.achieved_date)
        end as achieved_date
    from measures
    inner join problems using (problem_id)
    group by all
)

select
    progress.*,
    invalidation.developed_on,
    invalidation.person_key as developed_by_person_key,
    invalidation.hit_id as developed_hit_id
from progress
left join {{ ref('int_plan_invalidation') }} as invalidation
    on invalidation.family_key = progress.family_key
    and invalidation.problem_id = progress.problem_id
    and invalidation.developed_on <= progress.evaluation_date
