-- The records person linkage compares: one per registration (a person as one system knows them)
-- and each distinct name, date of birth, sex and dwelling it was recorded with, standardised.
with person_rows as (
    select * from {{ ref('int_person_record') }}
),

-- Standardising is the costly step (regular expressions), so it runs once per distinct value:
-- the rows are first grouped by how each registration was recorded (3M rows become under 1M at
-- Bradford scale), and names and addresses standardised from their distinct values.
recorded_variants as (
    select
        registration_id, source, source_person_id, shared_id, first_name, last_name, dob, sex,
        address, postcode,
        min(known_from) as first_seen,
        max(known_to) as last_seen,
        -- Where the rows show the person living (families): rows that run over time (tenancies,
        -- spells, episodes, ended registrations) as the span they cover, one-day rows (events,
        -- census days, a GP address as it stands on the day of the data share) as their days.
        min(lived_from) filter (where lived_from < lived_to) as stay_from,
        max(lived_to) filter (where lived_from < lived_to) as stay_to,
        min(lived_from) filter (where lived_from = lived_to) as day_first,
        max(lived_to) filter (where lived_from = lived_to) as day_last,
        count(*) as source_rows
    from (
        select
            *,
            least(coalesce(address_known_from, known_to), coalesce(known_to, address_known_from))
                as lived_from,
            greatest(coalesce(address_known_from, known_to), coalesce(known_to, address_known_from))
                as lived_to
        from person_rows
    )
    group by all
),

-- Titles (linkage.yaml standardise.name_titles) are not names: "Mrs Jane" is Jane, and a field
-- holding only a title is empty.
titles as (
    select coalesce(list(title), []::varchar[]) as titles
    from {{ source('config', 'cfg_name_title') }}
),

standard_names as (
    select
        name,
        nullif(array_to_string(list_filter(
            string_split(name_std(name), ' '), lambda token: not list_contains(titles.titles, token)
        ), ' '), '') as name_std
    from (
        select first_name as name from recorded_variants
        union
        select last_name from recorded_variants
    )
    cross join titles
),

-- Postcodes and addresses meaning "not known" (NOT KNOWN, N/K, ZZ99 3WZ...; linkage.yaml
-- standardise) are missing: never a postcode, never a dwelling.
placeholders as (
    select field, compact_value, is_prefix
    from {{ source('config', 'cfg_placeholder_value') }}
),

placeholder_addresses as (
    select address
    from (select distinct address from recorded_variants) as addresses
    inner join placeholders
        on placeholders.field = 'address'
        and placeholders.compact_value = regexp_replace(upper(address), '[^A-Z0-9]', '', 'g')
),

-- Street types and their abbreviations (street_types.yaml), as dwelling_key reads them.
street_types as (
    select map_from_entries(list((word, street_type))) as street_types
    from {{ source('config', 'cfg_street_type') }}
),

-- address_key(), its parts computed once (the regular expressions are the costly part): the
-- building's key (dwelling_key without the flat), and the flat before it; the flat too, for
-- "the same building, one leaving out the flat".
standard_addresses as (
    select
        address,
        case when nullif(trim(address), '') is not null
            then concat_ws(' ', flat, building_key) end as address_key,
        case when nullif(trim(address), '') is not null then flat end as address_flat,
        -- the building a flat is in (for an address without a flat, its address_key)
        case when nullif(trim(address), '') is not null then building_key end as building_key
    from (
        select address, flat, dwelling_key(null, building, street_types) as building_key
        from (
            select address, address_flat(address) as flat, address_building(address) as building
            from (
                select distinct address from recorded_variants
                except
                select address from placeholder_addresses
            )
        )
        cross join street_types
    )
),

standard_postcodes as (
    select
        postcode,
        case when not exists (
            select 1 from placeholders
            where placeholders.field = 'postcode'
                and (placeholders.compact_value = compact
                     or placeholders.is_prefix and starts_with(compact, placeholders.compact_value))
        ) then postcodes.postcode end as postcode_std
    from (
        select postcode, regexp_replace(upper(postcode), '[^A-Z0-9]', '', 'g') as compact
        from (select distinct postcode from recorded_variants)
    ) as postcodes
),

registration_variants as (
    select
        variants.registration_id,
        variants.source,
        variants.source_person_id,
        variants.shared_id,
        -- A surname recorded in the forename field as well ("KHAN MOHAMMED" / "KHAN") is the
        -- surname: the forename is what is left.
        case
            when len(list_filter(
                string_split(first_names.name_std, ' '),
                lambda token: not list_contains(string_split(last_names.name_std, ' '), token)
            )) between 1 and len(string_split(first_names.name_std, ' ')) - 1
                then array_to_string(list_filter(
                    string_split(first_names.name_std, ' '),
                    lambda token: not list_contains(string_split(last_names.name_std, ' '), token)
                ), ' ')
            else first_names.name_std
        end as first_name_std,
        last_names.name_std as last_name_std,
        variants.dob,
        variants.sex,
        addresses.address_key,
        postcodes.postcode_std as postcode,
        -- one spelling of those that standardise alike, the same in every build (not any_value)
        min(variants.first_name) as first_name,
        min(variants.last_name) as last_name,
        min(variants.address) as address,
        -- the flat, where any address giving this dwelling names one ("21 Calder House" and
        -- "Flat 21, Calder House" are one dwelling), and the building it is in
        max(addresses.address_flat) as address_flat,
        max(addresses.building_key) as building_key,
        min(variants.first_seen) as first_seen,
        max(variants.last_seen) as last_seen,
        min(variants.stay_from) as stay_from,
        max(variants.stay_to) as stay_to,
        min(variants.day_first) as day_first,
        max(variants.day_last) as day_last,
        sum(variants.source_rows)::bigint as source_rows
    from recorded_variants as variants
    left join standard_names as first_names on first_names.name = variants.first_name
    left join standard_names as last_names on last_names.name = variants.last_name
    left join standard_addresses as addresses on addresses.address = variants.address
    left join standard_postcodes as postcodes on postcodes.postcode = variants.postcode
    group by all
),

first_name_groups as (
    -- every nickname / spelling group the first given name belongs to (name_variants.yaml)
    select
        variants.first_name_std,
        list(distinct name_variant.name_group order by name_variant.name_group) as name_groups
    from (select distinct first_name_std from registration_variants) as variants
    inner join {{ source('config', 'cfg_name_variant') }} as name_variant
        on split_part(variants.first_name_std, ' ', 1) = name_variant.name_std
    group by variants.first_name_std
),

-- (the names made distinct first: the skeleton is costly)
distinct_names as (
    select name_std
    from (
        select first_name_std as name_std from registration_variants
        union
        select last_name_std from registration_variants
    )
    where name_std is not null
    group by name_std
),

name_skeletons as (
    select
        name_std,
        name_skeleton(split_part(name_std, ' ', 1)) as given_name_skeleton,
        name_skeleton(name_std) as whole_name_skeleton
    from distinct_names
),

-- Each record's number (linkage works on positions 1..n), in an order that is the same in every
-- build. Numbered on the columns that tell records apart (registration_variants' grouping; the
-- source and its person id are the registration's), not on all of them: a window over one
-- unpartitioned order runs on one core, and carrying the other thirty columns through it cost a
-- second and a half at Bradford scale.
positions as (
    select
        registration_id, first_name_std, last_name_std, dob, address_key, postcode, sex, shared_id,
        row_number() over (
            order by registration_id, first_name_std, last_name_std, dob, address_key, postcode,
                sex, shared_id
        ) as unique_id
    from registration_variants
),

standardised as (
    select
        positions.unique_id,
        variants.*,
        split_part(variants.first_name_std, ' ', 1) as first_given_name,
        nullif(split_part(variants.first_name_std, ' ', 2), '') as second_given_name,
        -- every given name, for "one name contained in the other" ("MARY JANE" / "JANE")
        string_split(variants.first_name_std, ' ') as first_name_tokens,
        coalesce(
            groups.name_groups, [split_part(variants.first_name_std, ' ', 1)]
        ) as first_name_groups,
        -- the first given name is one name_variants.yaml lists: names listed in no common group
        -- are different names (Hassan and Hussain, Jack and Jake), however alike their letters
        groups.name_groups is not null as first_name_listed,
        left(coalesce(groups.name_groups[1], variants.first_name_std), 1) as first_initial,
        first_skeletons.given_name_skeleton as first_name_skeleton,
        -- the skeleton as evidence of a transliteration, where it holds two consonants or more
        -- (Choudhry/Chowdhury, Nasreen/Nasrin): with one (Mia/Maya, Ella/Ellie) the vowels are
        -- the name
        case when length(regexp_replace(first_skeletons.given_name_skeleton, '[AEIOU]', '', 'g')) >= 2
            then first_skeletons.given_name_skeleton end as first_name_transliteration_key,
        last_skeletons.whole_name_skeleton as last_name_skeleton,
        string_split(variants.last_name_std, ' ') as last_name_parts,
        year(variants.dob) as birth_year,
        -- date parts and digits, for the date of birth comparison's day-month swap and typo levels
        month(variants.dob) as birth_month,
        day(variants.dob) as birth_day,
        strftime(variants.dob, '%Y%m%d') as dob_digits,
        -- a date that stands for a year alone (linkage.yaml standardise.year_only_dates_of_birth)
        coalesce(year_only.birth_month is not null, false) as dob_year_only,
        regexp_extract(variants.postcode, '^([A-Z0-9]+ [0-9])', 1) as postcode_sector
    from registration_variants as variants
    inner join positions
        on positions.registration_id = variants.registration_id
        and positions.first_name_std is not distinct from variants.first_name_std
        and positions.last_name_std is not distinct from variants.last_name_std
        and positions.dob is not distinct from variants.dob
        and positions.address_key is not distinct from variants.address_key
        and positions.postcode is not distinct from variants.postcode
        and positions.sex is not distinct from variants.sex
        and positions.shared_id is not distinct from variants.shared_id
    left join first_name_groups as groups
        on variants.first_name_std = groups.first_name_std
    left join name_skeletons as first_skeletons
        on variants.first_name_std = first_skeletons.name_std
    left join name_skeletons as last_skeletons
        on variants.last_name_std = last_skeletons.name_std
    left join {{ source('config', 'cfg_year_only_dob') }} as year_only
        on month(variants.dob) = year_only.birth_month and day(variants.dob) = year_only.birth_day
)

select * from standardised
