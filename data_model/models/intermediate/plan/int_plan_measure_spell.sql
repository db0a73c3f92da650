-- Continuous-spell measures of attached families (an adult in work for 26 consecutive weeks), per
-- adult and evaluation date: spells starting on or after attachment, joined where one follows the
-- next without a gap, and the weeks each has lasted.
with applicable as (
    select * from {{ ref('int_plan_measure_anchor') }} where kind = 'continuous_spell'
),

as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

spells as (
    select applicable.measure_id, applicable.weeks, applicable.anchor_date, event.*
        exclude (item_id)
    from applicable
    inner join {{ ref('int_plan_event') }} as event
        on event.item_id = applicable.measure_id
        and event.family_key = applicable.family_key
        and event.record_date >= applicable.anchor_date
    cross join as_at
    where event.record_date <= as_at.as_at_date
),

-- Each spell's place in its person's order, numbered once so that both windows below order
-- spells the same way: two spells on the same days (one recorded by two sources) tie on their
-- dates, and ties put in one order by the first window and in another by the second could put a
-- spell in the run before its own.
positioned as (
    select
        *,
        row_number() over (
            partition by family_key, measure_id, person_key
            order by record_date, end_date, source, source_record_id
        ) as spell_position
    from spells
),

ordered as (
    select
        *,
        max(coalesce(end_date, date '2999-12-31')) over (
            partition by family_key, measure_id, person_key
            order by spell_position
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from positioned
),

numbered as (
    select
        *,
        -- a spell starting more than a day after the last one ended is a new continuous spell
        sum(case when covered_until is null or record_date > covered_until + 1 then 1 else 0 end)
            over (
                partition by family_key, measure_id, person_key
                order by spell_position
                rows unbounded preceding
            ) as spell_number
    from ordered
),

continuous as (
    select
        family_key,
        measure_id,
        person_key,
        spell_number,
        any_value(weeks) as default_weeks,
        min(record_date) as spell_from,
        -- open (null) when any part is still running
        case when bool_or(end_date is null) then null else max(end_date) end as spell_to
    from numbered
    group by all
),

previous_benefit as (
    -- the out-of-work benefit the person was on before the spell, for plans that count fewer
    -- weeks after some benefits
    select continuous.family_key, continuous.measure_id, continuous.person_key,
           continuous.spell_number, shorter.weeks as shorter_weeks
    from continuous
    inner join {{ ref('mart_person_source_record') }} as person_record
        on person_record.person_key = continuous.person_key
        and person_record.source = 'dwp_spells'
    inner join {{ ref('stg_dwp_spells') }} as benefit
        on benefit.source_record_id = person_record.source_record_id
        and benefit.spell_type = 'Out-of-work benefit'
        and benefit.start_date < continuous.spell_from
    inner join {{ source('config', 'cfg_plan_shorter_weeks') }} as shorter
        on shorter.measure_id = continuous.measure_id
        and shorter.benefit_type = benefit.benefit_type
    qualify row_number() over (
        partition by continuous.family_key, continuous.measure_id, continuous.person_key,
            continuous.spell_number
        order by benefit.start_date desc
    ) = 1
),

thresholds as (
    select
        continuous.*,
        coalesce(previous_benefit.shorter_weeks, continuous.default_weeks) as weeks_needed,
        continuous.spell_from + 7 * coalesce(previous_benefit.shorter_weeks, continuous.default_weeks)
            as reaches_threshold_on
    from continuous
    left join previous_benefit using (family_key, measure_id, person_key, spell_number)
),

achieved as (
    select
        thresholds.*,
        case when thresholds.reaches_threshold_on <= as_at.as_at_date
            and coalesce(thresholds.spell_to, as_at.as_at_date) >= thresholds.reaches_threshold_on
            then thresholds.reaches_threshold_on end as achieved_date
    from thresholds, as_at
),

at_dates as (
    select
        dates.evaluation_date,
        achieved.*,
        achieved.spell_to is null or achieved.spell_to >= dates.evaluation_date as is_running,
        floor(
            (least(coalesce(achieved.spell_to, dates.evaluation_date), dates.evaluation_date)
                - achieved.spell_from) / 7
        ) as weeks_done
    from achieved
    inner join {{ ref('int_plan_evaluation_date') }} as dates
        on dates.family_key = achieved.family_key
        and achieved.spell_from <= dates.evaluation_date
),

best_spell as (
    -- per adult and date: a spell that met the measure, else a running one, else the longest
    select *
    from at_dates
    qualify row_number() over (
        partition by family_key, measure_id, person_key, evaluation_date
        order by achieved_date <= evaluation_date desc nulls last, is_running desc,
            weeks_done desc, spell_from
    ) = 1
)

select
    family_key,
    measure_id,
    evaluation_date,
    person_key as subject_key,
    min(achieved_date) over (partition by family_key, measure_id, person_key) as achieved_date,
    least(weeks_done, weeks_needed)::double as measured_value,
    weeks_needed::double as threshold_value,
    greatest(0, weeks_needed - weeks_done)::double as distance_to_threshold,
    least(weeks_done, weeks_needed)::integer as periods_done,
    weeks_needed as periods_needed,
    'weeks' as period_unit,
    is_running as can_still_be_met,
    spell_from as window_from,
    least(coalesce(spell_to, evaluation_date), evaluation_date) as window_to,
    least(weeks_done, weeks_needed)::bigint || ' of ' || weeks_needed || ' weeks (from '
        || strftime(spell_from, '%d %b %Y')
        || case when is_running then ', continuing)'
            else ' to ' || strftime(spell_to, '%d %b %Y') || ')' end as progress,
    case
        when is_running then 'needs ' || (weeks_needed - weeks_done)::bigint || ' more week'
            || case when weeks_needed - weeks_done = 1 then '' else 's' end
            || ' (' || weeks_needed || ' weeks on ' || strftime(reaches_threshold_on, '%d %b %Y')
            || ' if it continues)'
        else 'the spell ended after ' || weeks_done::bigint || ' weeks: needs a new one of '
            || weeks_needed || ' weeks'
    end as needs
from best_spell
