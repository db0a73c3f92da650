-- One row per pupil (person) and term, for the pupils the plan can need: those with a term that
-- could meet a school-census indicator on its own (a rate over terms is a weighted mean of the
-- terms' rates; a count of at least n needs a term with one), and the children of attached
-- families (for the measures). Sessions and exclusions, dated by the census day.
with census as (
    select * from {{ ref('stg_school_census') }}
),

indicators as (
    select * from {{ source('config', 'cfg_plan_indicator') }} where kind = 'terms'
),

school_persons as (
    select source_person_id, source_record_id, person_key
    from {{ ref('mart_person_source_record') }}
    where source = 'school_census'
),

candidate_pupils as (
    select distinct census.source_person_id
    from census
    cross join indicators
    where census.sessions_possible > 0 and case
        when indicators.figure_kind = 'rate' then meets_threshold(
            case indicators.figure
                when 'attendance' then census.sessions_possible - census.sessions_missed
                when 'absence' then census.sessions_missed
                else census.sessions_unauthorised_absence
            end / census.sessions_possible,
            indicators.threshold, indicators.direction, indicators.slack)
        when indicators.direction > 0 then indicators.threshold <= 0 or case indicators.figure
            when 'fixed_term_exclusions' then census.fixed_term_exclusions
            else census.is_permanently_excluded::integer
        end > 0
        else meets_threshold(case indicators.figure
            when 'fixed_term_exclusions' then census.fixed_term_exclusions
            else census.is_permanently_excluded::integer
        end, indicators.threshold, indicators.direction, indicators.slack)
    end
),

attached_families as (
    select distinct case_family.family_key
    from {{ ref('stg_ehm_episodes') }} as episodes
    inner join {{ ref('int_plan_family_case') }} as case_family using (case_id)
    where episodes.attached_date is not null
),

needed_persons as (
    select person_key from school_persons semi join candidate_pupils using (source_person_id)
    union
    select members.person_key
    from {{ ref('mart_family_member') }} as members
    semi join attached_families using (family_key)
),

pupil_terms as (
    select
        persons.person_key,
        census.term_index,
        census.source_record_id,
        census.record_date as census_date,
        census.sessions_possible,
        census.sessions_possible - census.sessions_missed as sessions_attended,
        census.sessions_missed,
        census.sessions_unauthorised_absence as sessions_unauthorised,
        census.fixed_term_exclusions,
        census.is_permanently_excluded::integer as permanent_exclusions
    from census
    inner join school_persons as persons using (source_record_id)
    semi join needed_persons using (person_key)
    where census.sessions_possible > 0
),

-- a pupil on two rolls in a term (a second UPN, dual registration) counts once: the fuller row
-- (found among the few repeated terms only: ordering every row would cost more than the rest)
repeated as (
    select person_key, term_index
    from pupil_terms
    group by person_key, term_index
    having count(*) > 1
),

once as (
    select * from pupil_terms
    anti join repeated using (person_key, term_index)
),

fuller as (
    select * from pupil_terms
    semi join repeated using (person_key, term_index)
    qualify row_number() over (
        partition by person_key, term_index order by sessions_possible desc, source_record_id
    ) = 1
)

select * from once
union all
select * from fuller
