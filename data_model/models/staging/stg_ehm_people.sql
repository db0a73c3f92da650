-- People recorded in early help case management, one row per person record.
with source as (
    select * from {{ source('raw', 'raw_ehm_people') }}
),

renamed as (
    select
        {{ person_identity(
            'ehm_people', 'person_id', 'person_id',
            address="one_line_address(concat_ws(', ', address_line_1, address_line_2, town))",
        ) }},
        case_id,
        ethnicity,
        recorded_date as record_date
    from source
)

select * from renamed
