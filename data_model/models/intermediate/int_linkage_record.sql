-- The records person linkage compares: one per registration (a person as one system knows them)
-- and each distinct name, date of birth, sex and dwelling it was recorded with, standardised.
with person_rows as (
    select * from int_person_record
),

registration_variants as (
    select
        registration_id,
        source,
        source_person_id,
        shared_id,
        name_std(first_name) as first_name_std,
        name_std(last_name) as last_name_std,
        dob,
        sex,
        address_key(address) as address_key,
        postcode,
        any_value(first_name) as first_name,
        any_value(last_name) as last_name,
        any_value(address) as address,
        min(known_from) as first_seen,
        max(known_to) as last_seen,
        count(*) as source_rows
    from person_rows
    group by all
),

first_name_groups as (
    -- every nickname / spelling group the first given name belongs to (name_variants.yaml)
    select
        variants.first_name_std,
        list(distinct name_variant.name_group order by name_variant.name_group) as name_groups
    from (select distinct first_name_std from registration_variants) as variants
    inner join cfg_name_variant as name_variant
        on split_part(variants.first_name_std, ' ', 1) = name_variant.name_std
    group by variants.first_name_std
),

standardised as (
    select
        row_number() over (
            order by variants.registration_id, variants.first_name_std, variants.last_name_std,
                variants.dob, variants.address_key, variants.postcode, variants.sex
        ) as unique_id,
        variants.*,
        split_part(variants.first_name_std, ' ', 1) as first_given_name,
        coalesce(
            groups.name_groups, [split_part(variants.first_name_std, ' ', 1)]
        ) as first_name_groups,
        left(coalesce(groups.name_groups[1], variants.first_name_std), 1) as first_initial,
        name_skeleton(split_part(variants.first_name_std, ' ', 1)) as first_name_skeleton,
        name_skeleton(variants.last_name_std) as last_name_skeleton,
        string_split(variants.last_name_std, ' ') as last_name_parts,
        year(variants.dob) as birth_year,
        regexp_extract(variants.postcode, '^([A-Z0-9]+ [0-9])', 1) as postcode_sector
    from registration_variants as variants
    left join first_name_groups as groups
        on variants.first_name_std = groups.first_name_std
)

select * from standardised
