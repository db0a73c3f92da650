-- Police incidents, one row per incident and person involved.
with source as (
    select * from {{ source('raw', 'raw_police_incidents') }}
),

renamed as (
    select
        'police_incidents' as source,
        incident_ref || '|' || nominal_id as source_record_id,
        nominal_id as source_person_id,
        incident_ref,
        first_name,
        last_name,
        dob,
        normalise_sex(sex) as sex,
        one_line_address(address) as address,
        normalise_postcode(postcode) as postcode,
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
