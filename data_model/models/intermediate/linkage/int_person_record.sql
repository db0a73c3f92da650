-- Every row of every person-bearing source, with the columns person linkage compares. One row per
-- source row; `registration_id` is the person as that system knows them (its own stable id).
-- `known_from` / `known_to`: the period the row places the person at its address. An event is one
-- day; a tenancy runs from its start to its end (or the extract date); a Family Context or service
-- involvement address is the one current on the day the data is current as of.
-- `address_known_from`: the first day the row shows where the person lives, which families
-- compare. The same as known_from except for an open GP registration: a practice keeps its
-- patient's address as it stands now, so the registration date says when they joined the
-- practice, not when they came to this address, and the address is known on the day the data
-- share is current to.
-- A view: a union of the staging tables, cheap to read where it is used (linkage, the source
-- records mart) and costly to write (2.9M rows at 70,000 households, about 2 s of the build).
{{ config(materialized='view') }}

with ehm_people as (
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, record_date, record_date as known_from, record_date as known_to,
           cast(null as varchar) as shared_id
    from {{ ref('stg_ehm_people') }}
),

school_census as (
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, record_date, record_date as known_from, record_date as known_to,
           cast(null as varchar) as shared_id
    from {{ ref('stg_school_census') }}
),

police_incidents as (
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, record_date, record_date as known_from, record_date as known_to,
           cast(null as varchar) as shared_id
    from {{ ref('stg_police_incidents') }}
),

dwp_spells as (
    -- a National Insurance number names one person across claimant records
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, record_date, start_date as known_from, coalesce(end_date, start_date) as known_to,
           'NINO:' || nino as shared_id
    from {{ ref('stg_dwp_spells') }}
),

housing_tenancies as (
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, record_date, tenancy_start as known_from,
           coalesce(tenancy_end, extract_date) as known_to, cast(null as varchar) as shared_id
    from {{ ref('stg_housing_tenancies') }}
),

health_events as (
    -- An NHS number names one person across GP registrations. A registration runs until it
    -- ends or, while open, to the day the data share is current to; other events are their days.
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, record_date, event_date as known_from,
           coalesce(
               event_end_date,
               case when event_type = 'GP registration' then (
                   select data_current_as_of from {{ source('load', 'load_manifest') }} where source = 'health_events'
               ) end,
               event_date
           ) as known_to,
           'NHS:' || nhs_number as shared_id
    from {{ ref('stg_health_events') }}
),

csc_episodes as (
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, record_date, start_date as known_from,
           coalesce(end_date, start_date) as known_to, cast(null as varchar) as shared_id
    from {{ ref('stg_csc_episodes') }}
),

service_involvement as (
    -- a service fed from a system we also load (SIMS, EMIS Web…) uses that system's person id
    select involvement.source, involvement.source_record_id, involvement.source_person_id,
           involvement.first_name, involvement.last_name, involvement.dob, involvement.sex,
           involvement.address, involvement.postcode, involvement.record_date,
           involvement.current_as_of as known_from, involvement.current_as_of as known_to,
           'ID:' || system_source.source || ':' || involvement.cms_id as shared_id
    from {{ ref('stg_service_involvement') }} as involvement
    left join {{ source('config', 'cfg_system_source') }} as system_source
        on involvement.system_name = system_source.system_name
),

family_context_csc as (
    -- The public Family Context extract format (optional; empty when not supplied). Its address
    -- is the one current on the extract date, so that is the date it is known for.
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, coalesce(current_as_of, record_date) as record_date,
           coalesce(current_as_of, record_date) as known_from,
           coalesce(current_as_of, record_date) as known_to, cast(null as varchar) as shared_id
    from {{ ref('stg_family_context_csc') }}
),

family_context_education as (
    select source, source_record_id, source_person_id, first_name, last_name, dob, sex, address,
           postcode, coalesce(current_as_of, record_date) as record_date,
           coalesce(current_as_of, record_date) as known_from,
           coalesce(current_as_of, record_date) as known_to, cast(null as varchar) as shared_id
    from {{ ref('stg_family_context_education') }}
),

unioned as (
    select * from ehm_people
    union all select * from school_census
    union all select * from police_incidents
    union all select * from dwp_spells
    union all select * from housing_tenancies
    union all select * from health_events
    union all select * from csc_episodes
    union all select * from service_involvement
    union all select * from family_context_csc
    union all select * from family_context_education
),

open_gp_registrations as (
    select source_record_id
    from {{ ref('stg_health_events') }}
    where event_type = 'GP registration' and event_end_date is null
)

select
    unioned.*,
    source || ':' || source_person_id as registration_id,
    case
        when source = 'health_events'
            and source_record_id in (select source_record_id from open_gp_registrations)
            then known_to
        else known_from
    end as address_known_from
from unioned
