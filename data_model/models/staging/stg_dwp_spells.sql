-- DWP benefit and employment spells, one row per spell.
with source as (
    select * from {{ source('raw', 'raw_dwp_spells') }}
),

renamed as (
    select
        {{ person_identity('dwp_spells', 'spell_id', 'claimant_ref', sex="'U'", address='cast(null as varchar)') }},
        nino,
        start_date as record_date,
        spell_type,
        benefit_type,
        start_date,
        end_date
    from source
)

select * from renamed
