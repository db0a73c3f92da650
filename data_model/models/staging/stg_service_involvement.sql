-- Service involvement for Family Context, one row per person and service.
with source as (
    select * from {{ source('raw', 'raw_service_involvement') }}
),

renamed as (
    select
        'service_involvement' as source,
        record_id as source_record_id,
        system_name || ':' || cms_id as source_person_id,
        cms_id,
        system_name,
        service,
        first_name,
        last_name,
        dob,
        normalise_sex(sex) as sex,
        one_line_address(address) as address,
        normalise_postcode(postcode) as postcode,
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
