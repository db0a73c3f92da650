-- Every family on each of its dates that matter: how many of the plan's problems it has, which,
-- and whether that makes it eligible. Families with no problem appear on their as-at date only.
with dates as (
    select * from {{ ref('int_plan_family_date') }}
),

problems as (
    select * from {{ ref('mart_plan_family_problem') }}
),

attachment as (
    select family_key, attached_date, cluster as episode_cluster from {{ ref('int_plan_attachment') }}
),

families as (
    select family.family_key, family.ward_code, family.ward_name, wards.cluster as ward_cluster,
           wards.area_committee
    from {{ ref('mart_family') }} as family
    left join {{ ref('stg_wards') }} as wards using (ward_code)
),

counted as (
    select
        dates.family_key,
        dates.date_kind,
        dates.period_from,
        dates.evaluation_date,
        count(problems.problem_id) as problem_count,
        coalesce(
            list(problems.problem_title order by problems.problem_order)
                filter (where problems.problem_id is not null),
            []
        ) as problems
    from dates
    left join problems using (family_key, date_kind, evaluation_date)
    group by all
)

select
    counted.*,
    meets_eligibility_rule(
        counted.problem_count, (select eligibility_at_least from {{ source('config', 'cfg_plan') }})
    ) as is_eligible,
    attachment.attached_date is not null and attachment.attached_date <= counted.evaluation_date
        as is_attached,
    families.ward_code,
    families.ward_name,
    families.area_committee,
    coalesce(attachment.episode_cluster, families.ward_cluster) as cluster
from counted
inner join families using (family_key)
left join attachment using (family_key)
