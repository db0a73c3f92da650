-- Family Context education extract: one row per pupil and the school they attend or attended.
-- The address arrives as lines in one field; its last line is the postcode when it looks like one.
with source as (
    select * from raw_family_context_education
),

address_lines as (
    select
        *,
        list_filter(
            list_transform(string_split_regex(address, '\r\n|\r|\n'),
                           lambda text: regexp_replace(text, '^\s+|\s+$', '', 'g')),
            lambda text: text <> ''
        ) as lines
    from source
),

address_parts as (
    select
        *,
        coalesce(regexp_full_match(upper(lines[-1]), '[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}'),
                 false) as ends_with_postcode
    from address_lines
),

renamed as (
    select
        'family_context_education' as source,
        cms_id as source_record_id,
        cms_id as source_person_id,
        first_name,
        last_name,
        dob,
        normalise_sex(sex) as sex,
        one_line_address(array_to_string(
            case when ends_with_postcode then list_slice(lines, 1, len(lines) - 1) else lines end,
            chr(10))) as address,
        case when ends_with_postcode then normalise_postcode(lines[-1]) end as postcode,
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
    from address_parts
)

select * from renamed
