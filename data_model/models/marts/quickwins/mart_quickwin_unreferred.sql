-- Quick-win referrals: families who meet the plan's eligibility rule from the data on the as-at
-- date, yet have never been referred to early help nor attached to the programme. A rule, not a
-- model: every such family is listed, with the problems the plan found, how much evidence it
-- holds and where the family lives. The evidence itself is mart_plan_problem_evidence's as-at rows.
with eligible_now as (
    select family_key, evaluation_date as as_at_date, problem_count, problems, ward_code,
           ward_name, area_committee, cluster
    from {{ ref('mart_plan_family_eligibility') }}
    where date_kind = 'as at' and is_eligible
),

first_eligible as (
    select family_key, evaluation_date as first_eligible_date
    from {{ ref('mart_plan_family_eligibility') }}
    where date_kind = 'first eligible'
),

-- Known to early help: a referral's case is the family's, or a member of the family is a person
-- in early help case management (recorded there only when a referral names them).
case_families as (
    select case_family.family_key
    from {{ ref('stg_ehm_referrals') }} as referrals
    inner join {{ ref('int_plan_family_case') }} as case_family using (case_id)
),

member_families as (
    select members.family_key
    from {{ ref('mart_family_member') }} as members
    inner join {{ ref('mart_person_source_record') }} as records using (person_key)
    where records.source = 'ehm_people'
),

attached_families as (
    select family_key from {{ ref('int_plan_attachment') }}
),

known as (
    select family_key from case_families
    union
    select family_key from member_families
    union
    select family_key from attached_families
),

problem_ids as (
    select family_key, list(problem_id order by problem_order) as problem_ids
    from {{ ref('mart_plan_family_problem') }}
    where date_kind = 'as at'
    group by family_key
),

evidence as (
    select
        family_key,
        count(*) as evidence_records,
        list(distinct source order by source) as evidence_sources,
        max(evidence_date) as latest_evidence_date
    from {{ ref('mart_plan_problem_evidence') }}
    where date_kind = 'as at'
    group by family_key
),

families as (
    select family_key, size as family_size, children, adults from {{ ref('mart_family') }}
)

select
    eligible_now.family_key,
    eligible_now.as_at_date,
    eligible_now.problem_count,
    problem_ids.problem_ids,
    eligible_now.problems,
    first_eligible.first_eligible_date,
    evidence.evidence_records,
    evidence.evidence_sources,
    evidence.latest_evidence_date,
    families.family_size,
    families.children,
    families.adults,
    eligible_now.ward_code,
    eligible_now.ward_name,
    eligible_now.area_committee,
    eligible_now.cluster
from eligible_now
inner join families using (family_key)
inner join problem_ids using (family_key)
inner join evidence using (family_key)
left join first_eligible using (family_key)
where eligible_now.family_key not in (select family_key from known)
