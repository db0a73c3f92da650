-- Termly school census: one row per pupil and term, with attendance as a rate.
with source as (
    select * from {{ source('raw', 'raw_school_census') }}
),

-- The census repeats each pupil's address every term: each distinct address is cleaned once.
clean_addresses as (
    select
        address_line_1,
        address_line_2,
        town,
        one_line_address(concat_ws(', ', address_line_1, address_line_2, town)) as address
    from (select distinct address_line_1, address_line_2, town from source)
),

renamed as (
    select
        {{ person_identity(
            'school_census', "upn || '|' || academic_year || '|' || term", 'upn',
            address='clean_addresses.address',
        ) }},
        upn,
        census_date as record_date,
        school_urn,
        school_name,
        academic_year,
        term,
        -- terms in order across years: 2015/16 Autumn = 2015 * 3 + 0
        cast(left(academic_year, 4) as integer) * 3
            + case term when 'Autumn' then 0 when 'Spring' then 1 else 2 end as term_index,
        sessions_possible,
        sessions_authorised_absence,
        sessions_unauthorised_absence,
        sessions_authorised_absence + sessions_unauthorised_absence as sessions_missed,
        coalesce(fixed_term_exclusions, 0) as fixed_term_exclusions,
        coalesce(permanent_exclusion = 'Y', false) as is_permanently_excluded,
        ethnicity
    from source
    left join clean_addresses
        on source.address_line_1 is not distinct from clean_addresses.address_line_1
        and source.address_line_2 is not distinct from clean_addresses.address_line_2
        and source.town is not distinct from clean_addresses.town
),

with_rates as (
    select
        *,
        case when sessions_possible > 0
            then 1 - sessions_missed / sessions_possible
        end as attendance_rate
    from renamed
)

select * from with_rates
