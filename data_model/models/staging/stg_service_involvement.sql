-- Service involvement for Family Context, one row per person and service.
with source as (
    select * from {{ source('raw', 'raw_service_involvement') }}
),

renamed as (
    select
        {{ person_identity('service_involvement', 'record_id', "system_name || ':' || cms_id") }},
        cms_id,
        system_name,
        service,
        coalesce(last_interaction_date, start_date, current_as_of) as record_date,
        team,
        contact_name,
        contact_role,
        contact_phone,
        contact_email,
        start_date,
        last_interaction_date,
        end_date,
        current_as_of,
        coverage_start,
        coverage_end,
        coverage_area
    from source
)

select * from renamed
