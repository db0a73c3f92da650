-- Police incidents, one row per incident and person involved.
with source as (
    select * from {{ source('raw', 'raw_police_incidents') }}
),

renamed as (
    select
        {{ person_identity('police_incidents', "incident_ref || '|' || nominal_id", 'nominal_id') }},
        incident_ref,
        cast(incident_datetime as date) as record_date,
        incident_datetime,
        offence_category,
        person_role,
        coalesce(dv_flag = 'Y', false) as is_domestic_violence,
        coalesce(asb_flag = 'Y', false) as is_anti_social_behaviour,
        outcome
    from source
)

select * from renamed
