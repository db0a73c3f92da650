-- Postcode to ward lookup, postcodes in standard form.
with source as (
    select * from {{ source('raw', 'raw_ref_postcode_ward') }}
),

normalised as (
    select
        normalise_postcode(postcode) as postcode,
        ward_code,
        lat,
        lon
    from source
)

select * from normalised
