-- The days each attached family's measures are evaluated on: every quarter end from its attachment
-- (for trends and the quarterly return) and the model's as-at date (is_current).
with as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

attached as (
    select family_key, attached_date from {{ ref('int_plan_attachment') }}
),

quarter_starts as (
    select
        attached.family_key,
        attached.attached_date,
        unnest(generate_series(
            date_trunc('quarter', attached.attached_date),
            as_at.as_at_date,
            interval 3 month
        ))::date as quarter_start
    from attached, as_at
    where attached.attached_date <= as_at.as_at_date
),

quarter_ends as (
    select family_key, (quarter_start + interval 3 month - interval 1 day)::date as evaluation_date
    from quarter_starts
)

select quarter_ends.family_key, quarter_ends.evaluation_date, false as is_current
from quarter_ends, as_at
where quarter_ends.evaluation_date < as_at.as_at_date
union all
select attached.family_key, as_at.as_at_date, true
from attached, as_at
where attached.attached_date <= as_at.as_at_date
