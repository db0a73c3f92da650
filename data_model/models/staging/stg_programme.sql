-- The programme and its target: the council's reference file if it sent one, else the outcomes
-- plan's (the build writes them to cfg_programme_default).
with from_reference as (
    select programme_name, start_date, end_date, target_families, 'reference/programme' as origin
    from {{ source('raw', 'raw_ref_programme') }}
),

from_plan as (
    select programme_name, start_date, end_date, target_families, 'plan' as origin
    from {{ source('config', 'cfg_programme_default') }}
    where not exists (select 1 from from_reference)
)

select * from from_reference
union all
select * from from_plan
