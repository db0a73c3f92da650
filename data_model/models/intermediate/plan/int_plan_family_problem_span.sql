-- The spans of days each family has each problem: its members' hits merged where they overlap or
-- touch. Whether a family has a problem on a day is whether a span covers it.
with hits as (
    select hit_id, family_key, problem_id, holds_from, holds_until from {{ ref('int_plan_hit') }}
),

-- Both windows order the hits the same way, to the last tie (hit_id): two members' hits on the
-- same days tie on their dates, and ties put in one order by the first window and in another by
-- the second could put a hit in the span before its own (seen at 70,000 households, on two
-- cores: a span taking in a hit a week after it ended, a year too long).
ordered as (
    select
        *,
        max(holds_until) over (
            partition by family_key, problem_id
            order by holds_from, holds_until, hit_id
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
                order by holds_from, holds_until, hit_id
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
