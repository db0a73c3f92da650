-- The plan's problems as written: each with its indicators and progress measures in plain words.
with problems as (
    select * from {{ source('config', 'cfg_plan_problem') }}
),

indicators as (
    select problem_id, list(title order by indicator_id) as indicators
    from {{ source('config', 'cfg_plan_indicator') }}
    group by problem_id
),

measures as (
    select problem_id, list(title order by measure_order) as measures
    from {{ source('config', 'cfg_plan_measure') }}
    group by problem_id
)

select
    problems.problem_id,
    problems.problem_order,
    problems.title as problem_title,
    problems.note,
    problems.progress_rule,
    coalesce(indicators.indicators, []) as indicators,
    coalesce(measures.measures, []) as measures
from problems
left join indicators using (problem_id)
left join measures using (problem_id)
order by problems.problem_order
