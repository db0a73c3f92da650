-- For each source: its records, the persons they make, and the share of its registrations that
-- belong to a person some other source also knows.
with registration_sources as (
    select distinct link.registration_id, record.source, link.person_key
    from {{ ref('int_person_link') }} as link
    inner join {{ ref('int_linkage_record') }} as record using (unique_id)
),

person_sources as (
    select person_key, count(distinct source) as source_count
    from registration_sources group by person_key
),

source_rows as (
    select source, count(*) as source_rows from {{ ref('int_person_record') }} group by source
)

select
    registration_sources.source,
    source_rows.source_rows,
    count(*) as registrations,
    count(distinct registration_sources.person_key) as persons,
    count(*) filter (where person_sources.source_count > 1) as registrations_linked_elsewhere,
    count(*) filter (where person_sources.source_count > 1) / count(*) as linked_elsewhere_share
from registration_sources
inner join person_sources using (person_key)
inner join source_rows using (source)
group by registration_sources.source, source_rows.source_rows
order by registration_sources.source
