-- Health events from the NHS data share, one row per event.
with source as (
    select * from {{ source('raw', 'raw_health_events') }}
),

renamed as (
    select
        {{ person_identity('health_events', 'event_id', 'patient_id') }},
        nhs_number,
        event_date as record_date,
        event_type,
        event_date,
        event_end_date,
        gp_practice_code
    from source
)

select * from renamed
