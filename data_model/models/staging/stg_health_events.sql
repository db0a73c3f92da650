-- Health events from the NHS data share, one row per event.
with source as (
    select * from {{ source('raw', 'raw_health_events') }}
),

renamed as (
    select
        'health_events' as source,
        event_id as source_record_id,
        patient_id as source_person_id,
        nhs_number,
        first_name,
        last_name,
        dob,
        normalise_sex(sex) as sex,
        one_line_address(address) as address,
        normalise_postcode(postcode) as postcode,
        event_date as record_date,
        event_type,
        event_date,
        event_end_date,
        gp_practice_code
    from source
)

select * from renamed
