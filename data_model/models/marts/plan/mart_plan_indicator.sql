-- The plan's indicators (the records that show a family has a problem), each with the source it
-- reads and whether the model has that source: an indicator whose extract the council does not
-- have cannot show the problem, and says so rather than finding no family with it.
with indicators as (
    select * from {{ source('config', 'cfg_plan_indicator') }}
),

problems as (
    select problem_id, problem_order, title as problem_title
    from {{ source('config', 'cfg_plan_problem') }}
),

availability as (
    select * from {{ ref('int_source_availability') }}
)

select
    indicators.indicator_id,
    indicators.problem_id,
    problems.problem_order,
    problems.problem_title,
    indicators.title as indicator_title,
    indicators.kind,
    indicators.source,
    coalesce(availability.is_available, true) as is_available,
    availability.not_available_text
from indicators
inner join problems using (problem_id)
left join availability using (source)
order by problems.problem_order, indicators.indicator_id
