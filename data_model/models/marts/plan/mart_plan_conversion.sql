-- How often attached families in each state at a quarter end (near, blocked, ...) became claimable
-- by the next quarter end, over the last four quarters the data can show it for: the rates the
-- quarterly return's prediction multiplies by today's families in each state.
with status as (
    select * from {{ ref('mart_plan_family_status') }}
),

as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

claimable as (
    select family_key, claimable_date from status where is_current
),

quarter_ends as (
    -- quarter ends whose following quarter has ended by the as-at date
    select distinct
        status.evaluation_date as quarter_end,
        (status.evaluation_date + interval 1 day + interval 3 month - interval 1 day)::date
            as next_quarter_end
    from status, as_at
    where not status.is_current
      and status.evaluation_date + interval 1 day + interval 3 month - interval 1 day
          <= as_at.as_at_date
),

recent as (
    select * from quarter_ends order by quarter_end desc limit 4
),

observed as (
    select
        status.state,
        status.evaluation_date as quarter_end,
        coalesce(
            claimable.claimable_date > recent.quarter_end
                and claimable.claimable_date <= recent.next_quarter_end,
            false
        ) as became_claimable
    from status
    inner join recent on recent.quarter_end = status.evaluation_date
    left join claimable using (family_key)
    where status.state <> 'claimable'
)

select
    state,
    count(distinct quarter_end) as quarters_observed,
    min(quarter_end) as first_quarter_end,
    max(quarter_end) as last_quarter_end,
    count(*) as families_observed,
    count(*) filter (where became_claimable) as became_claimable,
    count(*) filter (where became_claimable) / count(*) as conversion_rate
from observed
group by state
