-- Children's social care episodes (child in need, child protection, looked after).
with source as (
    select * from {{ source('raw', 'raw_csc_episodes') }}
),

renamed as (
    select
        'csc_episodes' as source,
        episode_id as source_record_id,
        child_id as source_person_id,
        first_name,
        last_name,
        dob,
        normalise_sex(sex) as sex,
        one_line_address(address) as address,
        normalise_postcode(postcode) as postcode,
        start_date as record_date,
        episode_type,
        category_of_need,
        start_date,
        end_date,
        team
    from source
)

select * from renamed
