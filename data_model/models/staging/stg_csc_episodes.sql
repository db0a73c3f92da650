-- Children's social care episodes (child in need, child protection, looked after).
with source as (
    select * from {{ source('raw', 'raw_csc_episodes') }}
),

renamed as (
    select
        {{ person_identity('csc_episodes', 'episode_id', 'child_id') }},
        start_date as record_date,
        episode_type,
        category_of_need,
        start_date,
        end_date,
        team
    from source
)

select * from renamed
