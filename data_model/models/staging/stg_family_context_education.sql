-- Family Context education extract: one row per pupil and the school they attend or attended.
-- The address arrives as lines in one field; its last line is the postcode when it looks like one.
with source as (
    select * from {{ source('raw', 'raw_family_context_education') }}
),

with_lines as (
    select *, address_lines(address) as lines
    from source
),

renamed as (
    select
        {{ person_identity(
            'family_context_education', 'cms_id', 'cms_id',
            address='address_before_postcode(lines)', postcode='postcode_line(lines)',
        ) }},
        coalesce(date_of_most_recent_interaction, start_date_of_last_involvement,
                 cast(date_current_as_of as date)) as record_date,
        'School' as service,
        service_involvement as involvement,
        school_name,
        contact_number as contact_phone,
        cast(date_current_as_of as date) as current_as_of,
        cast(coverage_start_date as date) as coverage_start,
        cast(coverage_end_date as date) as coverage_end,
        coverage_geographic_area as coverage_area,
        date_of_most_recent_interaction as last_interaction_date,
        start_date_of_last_involvement as start_date,
        admission_type
    from with_lines
)

select * from renamed
