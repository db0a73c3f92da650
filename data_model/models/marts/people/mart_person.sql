-- One row per person found by linkage: the best-attested name, date of birth and sex, where they
-- were last recorded, and the sources that know them.
with records as (
    select record.*, link.person_key
    from {{ ref('int_linkage_record') }} as record
    inner join {{ ref('int_person_link') }} as link using (unique_id)
),

-- Systems that verify identity (case management, the school census) outrank the others when
-- the records disagree; then the value most records give.
ranked_records as (
    select
        *,
        case source when 'ehm_people' then 1 when 'school_census' then 1
            when 'health_events' then 2 else 3 end as source_rank
    from records
),

-- A record with a first name outranks one with a surname alone; a person known only from
-- records without a name (a police nominal id, an NHS number) has none.
best_name as (
    select person_key, first_name, last_name
    from (
        select person_key, first_name, last_name, min(source_rank) as best_rank,
               sum(source_rows) as rows_with_name
        from ranked_records
        where first_name is not null or last_name is not null
        group by all
    )
    qualify row_number() over (
        partition by person_key
        order by first_name is null, best_rank, rows_with_name desc, first_name, last_name
    ) = 1
),

best_dob as (
    select person_key, dob
    from (
        select person_key, dob, min(source_rank) as best_rank, sum(source_rows) as rows_with_dob
        from ranked_records where dob is not null group by all
    )
    qualify row_number() over (
        partition by person_key order by best_rank, rows_with_dob desc, dob
    ) = 1
),

best_sex as (
    select person_key, sex
    from (
        select person_key, sex, sum(source_rows) as rows_with_sex
        from ranked_records where sex in ('M', 'F') group by all
    )
    qualify row_number() over (partition by person_key order by rows_with_sex desc, sex) = 1
),

latest_address as (
    select person_key, address, postcode, last_seen as address_last_seen
    from ranked_records
    where postcode is not null or address is not null
    qualify row_number() over (
        partition by person_key
        order by last_seen desc nulls last, (address is not null) desc, source_rank, unique_id
    ) = 1
),

coverage as (
    select
        person_key,
        count(distinct registration_id) as registrations,
        count(distinct source) as source_count,
        string_agg(distinct source, ', ' order by source) as sources,
        sum(source_rows) as source_rows,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from records
    group by person_key
)

select
    coverage.person_key,
    best_name.first_name,
    best_name.last_name,
    best_dob.dob,
    coalesce(best_sex.sex, 'U') as sex,
    latest_address.address,
    latest_address.postcode,
    postcode_ward.ward_code,
    wards.ward_name,
    coverage.registrations,
    coverage.source_count,
    coverage.sources,
    coverage.source_rows,
    coverage.first_seen,
    coverage.last_seen
from coverage
left join best_name using (person_key)
left join best_dob using (person_key)
left join best_sex using (person_key)
left join latest_address using (person_key)
left join {{ ref('stg_postcode_ward') }} as postcode_ward on postcode_ward.postcode = latest_address.postcode
left join {{ ref('stg_wards') }} as wards on wards.ward_code = postcode_ward.ward_code
