-- The evidence trail behind each claim, for internal audit and government spot checks: for an
-- attachment fee, the records showing each problem the family had the day it was attached; for a
-- results claim, the terms, records and spells showing each measure its route needed was met.
with claims as (
    select * from {{ ref('mart_claim') }}
),

eligibility as (
    select
        claims.claim_id,
        'eligibility' as evidence_for,
        evidence.problem_id,
        cast(null as varchar) as measure_id,
        'Had ' || lower(problems.title) || ' when attached: ' || evidence.indicator_title
            as criterion,
        'counted' as role,
        evidence.source,
        evidence.source_record_id,
        evidence.person_key,
        evidence.evidence_date,
        evidence.value
    from claims
    inner join {{ ref('mart_plan_problem_evidence') }} as evidence
        on evidence.family_key = claims.family_key
        and evidence.date_kind = 'attachment'
    inner join {{ source('config', 'cfg_plan_problem') }} as problems using (problem_id)
    where claims.claim_type = 'attachment fee'
),

route_measures as (
    -- the measures a results claim rests on: its route's measure, or every applicable measure
    select claims.claim_id, claims.family_key, measures.measure_id, measures.problem_id,
           measures.measure_title, measures.progress
    from claims
    inner join {{ source('config', 'cfg_plan_route') }} as routes using (route_id)
    inner join {{ ref('int_plan_family_measure') }} as measures
        on measures.family_key = claims.family_key
        and measures.is_current
        and measures.status = 'met'
        and (routes.requires = measures.measure_id or routes.requires = 'every_problem')
    where claims.claim_type = 'results'
),

results as (
    select
        route_measures.claim_id,
        'outcome' as evidence_for,
        route_measures.problem_id,
        route_measures.measure_id,
        route_measures.measure_title || ': ' || route_measures.progress as criterion,
        evidence.role,
        evidence.source,
        evidence.source_record_id,
        evidence.person_key,
        evidence.evidence_date,
        evidence.value
    from route_measures
    inner join {{ ref('mart_plan_measure_evidence') }} as evidence using (family_key, measure_id)
)

select * from eligibility
union all
select * from results
