-- Every outcome measure for every attached family on the as-at date: status (met, near, not met,
-- not applicable), measured value, threshold and the distance between them in the measure's unit,
-- what the family needs in plain words, and where the family is. (Quarter-end history is in
-- mart_plan_blocker and mart_plan_family_status.) measured_value, threshold_value and near_margin
-- are kept so a page can re-apply another margin: near = not met, can_still_be_met and
-- distance <= margin.
with measures as (
    select * from {{ ref('int_plan_family_measure') }} where is_current
),

attached as (
    select family_key, case_id, cluster, team, key_worker from {{ ref('int_plan_attachment') }}
),

families as (
    select family.family_key, family.ward_code, family.ward_name, wards.area_committee
    from {{ ref('mart_family') }} as family
    left join {{ ref('stg_wards') }} as wards using (ward_code)
),

problems as (
    select problem_id, title as problem_title from {{ source('config', 'cfg_plan_problem') }}
)

select
    measures.*,
    problems.problem_title,
    attached.case_id,
    attached.cluster,
    attached.team,
    attached.key_worker,
    families.ward_code,
    families.ward_name,
    families.area_committee
from measures
inner join problems using (problem_id)
inner join attached using (family_key)
left join families using (family_key)
