-- One row per pupil and term: sessions and exclusions, dated by the term's census day, with the
-- pupil's person and family.
with census as (
    select * from stg_school_census
),

persons as (
    select source_record_id, person_key
    from mart_person_source_record
    where source = 'school_census'
),

members as (
    select person_key, family_key from mart_family_member
),

calendar as (
    select * from int_plan_term_calendar
),

pupil_terms as (
    select
        persons.person_key,
        members.family_key,
        census.term_index,
        census.source_record_id,
        census.sessions_possible,
        census.sessions_possible - census.sessions_missed as sessions_attended,
        census.sessions_missed,
        census.sessions_unauthorised_absence as sessions_unauthorised,
        census.fixed_term_exclusions,
        census.is_permanently_excluded::integer as permanent_exclusions
    from census
    inner join persons using (source_record_id)
    inner join members using (person_key)
    where census.sessions_possible > 0
    -- a pupil on two rolls in a term (a second UPN, dual registration) counts once: the fuller row
    qualify row_number() over (
        partition by persons.person_key, census.term_index
        order by census.sessions_possible desc, census.source_record_id
    ) = 1
)

select
    pupil_terms.*,
    calendar.term_label,
    calendar.census_date,
    calendar.next_census_date
from pupil_terms
inner join calendar using (term_index)
