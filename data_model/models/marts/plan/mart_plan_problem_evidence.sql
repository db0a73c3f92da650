-- The evidence trail behind each family's problems on each of its dates that matter: one row per
-- source record (or school term) with the person it is about, its date and what it says.
with held as (
    select * from {{ ref('int_plan_family_date_hit') }}
),

evidence as (
    select * from {{ ref('int_plan_hit_evidence') }}
),

indicators as (
    select indicator_id, problem_id, title as indicator_title from {{ source('config', 'cfg_plan_indicator') }}
)

select distinct
    held.family_key,
    held.date_kind,
    held.period_from,
    held.evaluation_date,
    held.problem_id,
    held.indicator_id,
    indicators.indicator_title,
    evidence.source,
    evidence.source_record_id,
    evidence.person_key,
    evidence.evidence_date,
    evidence.value
from held
inner join evidence using (hit_id)
inner join indicators using (indicator_id, problem_id)
