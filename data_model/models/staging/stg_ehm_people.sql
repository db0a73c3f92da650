-- People recorded in early help case management, one row per person record.
with source as (
    select * from {{ source('raw', 'raw_ehm_people') }}
),

renamed as (
    select
        'ehm_people' as source,
        person_id as source_record_id,
        person_id as source_person_id,
        case_id,
        first_name,
        last_name,
        dob,
        normalise_sex(sex) as sex,
        ethnicity,
        one_line_address(concat_ws(', ', address_line_1, address_line_2, town)) as address,
        normalise_postcode(postcode) as postcode,
        recorded_date as record_date
    from source
)

select * from renamed
