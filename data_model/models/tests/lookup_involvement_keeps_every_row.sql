-- Every row of a source the lookup reads row by row reaches mart_lookup_involvement once when its
-- person is known: the sources whose counts differ.
with expected as (
    select source, count(*) as rows_expected
    from {{ ref('mart_person_source_record') }}
    where source in ('csc_episodes', 'police_incidents', 'housing_tenancies', 'dwp_spells',
                     'service_involvement')
    group by source
),

found as (
    select split_part(feed, ':', 1) as source, count(*) as rows_found
    from {{ ref('mart_lookup_involvement') }}
    group by all
)

select expected.source, expected.rows_expected, coalesce(found.rows_found, 0) as rows_found
from expected
left join found using (source)
where expected.rows_expected <> coalesce(found.rows_found, 0)
