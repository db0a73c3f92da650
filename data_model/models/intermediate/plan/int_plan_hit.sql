-- When each person meets each indicator of the plan: one row per span of days an indicator holds
-- for a person ("a hit"), with the records or terms that make it hold.
-- A record counts from its date until its look-back runs out after it ends; with at_least n, from
-- the nth record within the look-back. A school-census indicator holds from a term's census day
-- until the next term's.
with record_indicators as (
    select indicator_id, problem_id, look_back_months, at_least
    from {{ source('config', 'cfg_plan_indicator') }}
    where kind = 'records'
),

records as (
    select event.*, record_indicators.*
    from {{ ref('int_plan_event') }} as event
    inner join record_indicators on record_indicators.indicator_id = event.item_id
),

record_groups as (
    -- each record with the (at_least - 1)th record before it: together they are at_least records
    select
        *,
        lag(record_date, at_least - 1) over by_person as group_first_date,
        lag(coalesce(end_date, date '2999-12-31'), at_least - 1) over by_person as group_first_end
    from records
    window by_person as (
        partition by indicator_id, person_key order by record_date, source_record_id
    )
),

record_hits as (
    -- two records of one person on the same day with the same end make the same hit, once
    select distinct
        family_key,
        person_key,
        problem_id,
        indicator_id,
        record_date as holds_from,
        (group_first_end + to_months(look_back_months))::date as holds_until,
        group_first_date as evidence_from,
        record_date as evidence_to,
        cast(null as integer) as first_term_index,
        cast(null as integer) as last_term_index
    from record_groups
    where group_first_date is not null
      and record_date <= group_first_end + to_months(look_back_months)
),

term_hits as (
    select
        family_key,
        person_key,
        problem_id,
        indicator_id,
        holds_from,
        holds_until,
        cast(null as date) as evidence_from,
        cast(null as date) as evidence_to,
        first_term_index,
        last_term_index
    from {{ ref('int_plan_term_window') }}
),

hits as (
    select * from record_hits
    union all
    select * from term_hits
)

select
    -- a key from what the hit is (its span included: two records from one day may hold for
    -- different spans), so no sort of every hit is needed to number them
    hash(indicator_id, person_key, holds_from, holds_until, evidence_from, first_term_index)
        as hit_id,
    *
from hits
