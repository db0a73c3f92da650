-- The spans of days each family has each problem: its members' hits merged where they overlap or
-- touch. Whether a family has a problem on a day is whether a span covers it.
with hits as (
    select family_key, problem_id, holds_from, holds_until from {{ ref('int_plan_hit') }}
),

ordered as (
    select
        *,
        max(holds_until) over (
            partition by family_key, problem_id
            order by holds_from, holds_until
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from hits
),

islands as (
    select
        *,
        sum(case when covered_until is null or holds_from > covered_until + 1 then 1 else 0 end)
            over (
                partition by family_key, problem_id
                order by holds_from, holds_until
                rows unbounded preceding
            ) as span_number
    from ordered
)

select
    family_key,
    problem_id,
    span_number,
    min(holds_from) as span_from,
    max(holds_until) as span_until
from islands
group by family_key, problem_id, span_number
