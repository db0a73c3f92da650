-- What each service knows of each person, for the family lookup: one row per involvement
-- (an episode, a tenancy, a spell, a registration, an incident, a school attended, a service
-- involvement row), with its dates, team and contact and what the lookup shows of it. `feed`
-- names where the row comes from (a source, or a source and the kind of record); lookup.yaml
-- says which feeds make up each service, and the read layer decides Current or Historic.
with registration_person as (
    select registration_id, any_value(person_key) as person_key
    from {{ ref('int_person_link') }}
    group by registration_id
),

school as (
    -- one row per pupil and school: the census days they were on its roll
    select
        'school_census:' || upn as registration_id,
        'school_census' as feed,
        upn || '|' || school_urn as record_id,
        min(record_date) as start_date,
        cast(null as date) as end_date,
        max(record_date) as last_date,
        -- the latest school; two names on one day (a renamed school) settled the same way each build
        arg_max(school_name, (record_date, school_name)) as team,
        arg_max(school_name, (record_date, school_name)) as kind
    from {{ ref('stg_school_census') }}
    group by upn, school_urn
),

ehm_member as (
    select source_person_id, case_id
    from {{ ref('stg_ehm_people') }}
),

ehm_episode as (
    -- everyone recorded on a case is part of each episode of work on it
    select
        'ehm_people:' || member.source_person_id as registration_id,
        'ehm_episodes' as feed,
        episode.episode_id as record_id,
        episode.allocated_date as start_date,
        episode.closure_date as end_date,
        greatest(
            episode.allocated_date, episode.first_contact_date, episode.assessment_date,
            episode.family_plan_date, episode.closure_date
        ) as last_date,
        episode.team,
        episode.key_worker as contact_code,
        case when episode.attached_date is not null
            then 'Episode of work, attached to the programme'
            else 'Episode of work' end as kind,
        episode.closure_reason as outcome
    from {{ ref('stg_ehm_episodes') }} as episode
    inner join ehm_member as member using (case_id)
),

ehm_referral as (
    -- a referral with no episode of work: current while it awaits a decision or allocation
    select
        'ehm_people:' || member.source_person_id as registration_id,
        'ehm_referrals' as feed,
        referral.referral_id as record_id,
        referral.received_date as start_date,
        case when referral.decision in ('Accepted', 'Awaiting decision') then null
            else referral.decision_date end as end_date,
        coalesce(referral.decision_date, referral.received_date) as last_date,
        'Referral: ' || case referral.decision
            when 'Accepted' then 'accepted, awaiting allocation'
            when 'Awaiting decision' then 'awaiting a decision'
            else lower(referral.decision) end as kind
    from {{ ref('stg_ehm_referrals') }} as referral
    inner join ehm_member as member using (case_id)
    where referral.referral_id not in (select referral_id from {{ ref('stg_ehm_episodes') }})
),

by_source_row as (
    -- sources whose every row is one involvement of one person
    select
        'csc_episodes:' || source_person_id as registration_id, source_record_id as record_id,
        'csc_episodes' as feed,
        start_date, end_date, coalesce(end_date, start_date) as last_date, team,
        cast(null as varchar) as contact_name, cast(null as varchar) as contact_role,
        cast(null as varchar) as contact_phone, cast(null as varchar) as contact_email,
        cast(null as varchar) as system_name,
        episode_type || coalesce(' (' || category_of_need || ')', '') as kind,
        cast(null as varchar) as nature, cast(null as boolean) as is_domestic_abuse,
        cast(null as varchar) as address, cast(null as decimal(18, 2)) as rent_arrears,
        cast(null as date) as nosp_date, cast(null as date) as eviction_date,
        cast(null as varchar) as status_given, cast(null as date) as current_as_of,
        cast(null as date) as coverage_start, cast(null as varchar) as coverage_area
    from {{ ref('stg_csc_episodes') }}
    union all
    select
        'health_events:' || source_person_id, source_record_id, 'health_events:' || event_type,
        event_date, event_end_date, coalesce(event_end_date, event_date),
        case when gp_practice_code is not null then 'Practice ' || gp_practice_code end,
        null, null, null, null, null, event_type, null, null, null, null, null, null,
        null, null, null, null
    from {{ ref('stg_health_events') }}
    where event_type <> 'A&E attendance'
    union all
    select
        'police_incidents:' || source_person_id, source_record_id, 'police_incidents',
        record_date, record_date, record_date, null, null, null, null, null, null,
        offence_category, person_role, is_domestic_violence, null, null, null, null,
        null, null, null, null
    from {{ ref('stg_police_incidents') }}
    union all
    select
        'housing_tenancies:' || source_person_id, source_record_id, 'housing_tenancies',
        tenancy_start, tenancy_end, greatest(tenancy_start, nosp_served_date, eviction_date),
        null, null, null, null, null, null, 'Tenancy', null, null, address, rent_arrears,
        nosp_served_date, eviction_date, null, extract_date, null, null
    from {{ ref('stg_housing_tenancies') }}
    union all
    select
        'dwp_spells:' || source_person_id, source_record_id, 'dwp_spells:' || spell_type,
        start_date, end_date, coalesce(end_date, start_date), null, null, null, null, null,
        null, coalesce(benefit_type, spell_type), null, null, null, null, null, null,
        null, null, null, null
    from {{ ref('stg_dwp_spells') }}
    union all
    select
        'service_involvement:' || source_person_id, source_record_id, 'service_involvement:' || service,
        start_date, end_date, coalesce(last_interaction_date, start_date), team,
        contact_name, contact_role, contact_phone, contact_email, system_name, service,
        null, null, null, null, null, null, null, current_as_of, coverage_start, coverage_area
    from {{ ref('stg_service_involvement') }}
    union all
    select
        'family_context_csc:' || source_person_id, source_record_id, 'family_context_csc',
        start_date, null, coalesce(last_interaction_date, start_date), organisation,
        contact_name, contact_role, contact_phone, contact_email, null, service,
        null, null, null, null, null, null, involvement, current_as_of, coverage_start,
        coverage_area
    from {{ ref('stg_family_context_csc') }}
    union all
    select
        'family_context_education:' || source_person_id, source_record_id,
        'family_context_education',
        start_date, null, coalesce(last_interaction_date, start_date), school_name,
        null, null, contact_phone, null, null, coalesce(admission_type, service),
        null, null, null, null, null, null, involvement, current_as_of, coverage_start,
        coverage_area
    from {{ ref('stg_family_context_education') }}
),

by_registration as (
    select registration_id, feed, record_id, start_date, end_date, last_date, team,
           cast(null as varchar) as contact_code, kind, cast(null as varchar) as outcome
    from school
    union all
    select registration_id, feed, record_id, start_date, end_date, last_date, team,
           contact_code, kind, outcome
    from ehm_episode
    union all
    select registration_id, feed, record_id, start_date, end_date, last_date, null, null, kind,
           null
    from ehm_referral
),

involvement as (
    select
        registration_id, feed, record_id, start_date, end_date, last_date, team,
        cast(null as varchar) as contact_name, case when contact_code is not null
            then 'Key worker' end as contact_role, cast(null as varchar) as contact_phone,
        cast(null as varchar) as contact_email, contact_code,
        cast(null as varchar) as system_name, kind, outcome, cast(null as varchar) as nature,
        cast(null as boolean) as is_domestic_abuse, cast(null as varchar) as address,
        cast(null as decimal(18, 2)) as rent_arrears, cast(null as date) as nosp_date,
        cast(null as date) as eviction_date, cast(null as varchar) as status_given,
        cast(null as date) as current_as_of, cast(null as date) as coverage_start,
        cast(null as varchar) as coverage_area
    from by_registration
    union all
    select
        registration_id, feed, record_id, start_date, end_date, last_date, team,
        contact_name, contact_role, contact_phone, contact_email, null, system_name, kind,
        null, nature, is_domestic_abuse, address, rent_arrears, nosp_date, eviction_date,
        status_given, current_as_of, coverage_start, coverage_area
    from by_source_row
)

select registration_person.person_key, involvement.* exclude (registration_id)
from involvement
inner join registration_person using (registration_id)
-- sorted by person, so a lookup of a few persons reads only the row groups that hold them
order by person_key
