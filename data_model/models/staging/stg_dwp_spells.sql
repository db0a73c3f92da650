-- DWP benefit and employment spells, one row per spell.
with source as (
    select * from {{ source('raw', 'raw_dwp_spells') }}
),

renamed as (
    select
        'dwp_spells' as source,
        spell_id as source_record_id,
        claimant_ref as source_person_id,
        nino,
        first_name,
        last_name,
        dob,
        'U' as sex,
        cast(null as varchar) as address,
        normalise_postcode(postcode) as postcode,
        start_date as record_date,
        spell_type,
        benefit_type,
        start_date,
        end_date
    from source
)

select * from renamed
