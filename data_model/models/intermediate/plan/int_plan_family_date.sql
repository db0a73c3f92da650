-- The dates that matter for each family: when it first met the plan's eligibility rule, its first
-- referral, its attachment, and the model's as-at date. Attachment is a period: from the referral
-- that led to it to the day of attachment (period_from); the others are single days.
with as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

spans as (
    select * from {{ ref('int_plan_family_problem_span') }}
),

candidates as (
    -- eligibility can only begin on a day some problem begins
    select distinct spans.family_key, spans.span_from as candidate_date
    from spans, as_at
    where spans.span_from <= as_at.as_at_date
),

problems_on_candidate as (
    select candidates.family_key, candidates.candidate_date, count(distinct spans.problem_id) as problems
    from candidates
    inner join spans
        on spans.family_key = candidates.family_key
        and candidates.candidate_date between spans.span_from and spans.span_until
    group by all
),

first_eligible as (
    select family_key, 'first eligible' as date_kind, min(candidate_date) as period_from,
           min(candidate_date) as evaluation_date
    from problems_on_candidate
    where meets_eligibility_rule(
        problems, (select eligibility_at_least from {{ source('config', 'cfg_plan') }})
    )
    group by family_key
),

first_referral as (
    select case_family.family_key, 'first referral' as date_kind,
           min(referrals.received_date) as period_from, min(referrals.received_date) as evaluation_date
    from {{ ref('stg_ehm_referrals') }} as referrals
    inner join {{ ref('int_plan_family_case') }} as case_family using (case_id)
    group by case_family.family_key
),

attachment as (
    select family_key, 'attachment' as date_kind, identified_on as period_from,
           attached_date as evaluation_date
    from {{ ref('int_plan_attachment') }}
),

as_at_date as (
    select family.family_key, 'as at' as date_kind, as_at.as_at_date as period_from,
           as_at.as_at_date as evaluation_date
    from {{ ref('mart_family') }} as family, as_at
)

select * from first_eligible
union all select * from first_referral
union all select * from attachment
union all select * from as_at_date
