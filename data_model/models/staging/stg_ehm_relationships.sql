-- Relationships recorded in case management: related_person_id is the <relationship> of person_id.
with source as (
    select * from {{ source('raw', 'raw_ehm_relationships') }}
),

renamed as (
    select
        person_id,
        related_person_id,
        relationship,
        start_date,
        end_date
    from source
)

select * from renamed
