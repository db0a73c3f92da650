-- Each family's problems under the plan on each of its dates that matter (first eligible, first
-- referral, attachment (from its referral to the day), as at): the indicators that show it and
-- how many members they concern.
with held as (
    select * from {{ ref('int_plan_family_date_hit') }}
),

problems as (
    select problem_id, problem_order, title as problem_title from {{ source('config', 'cfg_plan_problem') }}
),

indicators as (
    select indicator_id, title as indicator_title from {{ source('config', 'cfg_plan_indicator') }}
)

select
    held.family_key,
    held.date_kind,
    held.period_from,
    held.evaluation_date,
    held.problem_id,
    problems.problem_title,
    problems.problem_order,
    list(distinct indicators.indicator_title order by indicators.indicator_title) as indicators,
    count(distinct held.person_key) as members_concerned,
    count(distinct held.hit_id) as hits
from held
inner join problems using (problem_id)
inner join indicators using (indicator_id)
group by all
