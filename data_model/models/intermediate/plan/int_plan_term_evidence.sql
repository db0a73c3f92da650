-- The school terms that are evidence somewhere (behind an indicator's hit on a family's date that
-- matters, or a measure judged on the as-at date), each in plain words for the evidence trail.
with term_hits as (
    select person_key, first_term_index, last_term_index
    from {{ ref('int_plan_hit') }}
    semi join (select distinct hit_id from {{ ref('int_plan_family_date_hit') }}) as used using (hit_id)
    where first_term_index is not null
),

measure_windows as (
    select subject_key as person_key, window_from, window_to
    from {{ ref('int_plan_measure_term') }}
    where evaluation_date = (select as_at_date from {{ ref('int_as_at_date') }})
),

terms as (
    select * from {{ ref('int_plan_term') }}
),

needed as (
    select terms.*
    from terms
    semi join term_hits
        on term_hits.person_key = terms.person_key
        and terms.term_index between term_hits.first_term_index and term_hits.last_term_index
    union
    select terms.*
    from terms
    semi join measure_windows
        on measure_windows.person_key = terms.person_key
        and terms.census_date between measure_windows.window_from and measure_windows.window_to
)

select
    needed.person_key,
    needed.term_index,
    needed.source_record_id,
    needed.census_date,
    calendar.term_label || ': ' || sessions_attended || ' of ' || sessions_possible
        || ' sessions attended (' || round(100 * sessions_attended / sessions_possible, 1)
        || '%), ' || sessions_unauthorised || ' unauthorised absences, '
        || fixed_term_exclusions || ' fixed-term exclusions'
        || case when permanent_exclusions > 0 then ', permanently excluded' else '' end
        as term_summary
from needed
inner join {{ ref('int_plan_term_calendar') }} as calendar using (term_index)
