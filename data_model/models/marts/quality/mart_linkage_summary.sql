-- The last build's linkage in figures, for the Data quality page.
with run as (
    select * from {{ ref('int_person_link_run') }}
),

families as (
    select
        count(*) as families,
        count(*) filter (where size > 1) as families_of_two_or_more,
        max(size) as largest_family
    from {{ ref('mart_family') }}
)

select
    run.*,
    families.families,
    families.families_of_two_or_more,
    families.largest_family,
    (select count(*) from {{ ref('int_family_link_communal') }}) as communal_dwellings
from run cross join families
