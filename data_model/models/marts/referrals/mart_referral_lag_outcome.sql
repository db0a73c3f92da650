-- Each attached family with the allocation lag of the referral that led to its attachment, the
-- plan's problems it had on the day that referral was received, and the day (if any) it reached a
-- results claim: what the Referrals page's "What the lag costs" estimates from. The problems are
-- those at referral, not at attachment: problems that begin while a family waits may be part of
-- what the wait costs, so adjusting for them would hide it.
with attachment as (
    select * from {{ ref('int_plan_attachment') }}
),

referral as (
    select * from {{ ref('mart_referral') }}
),

spans as (
    select * from {{ ref('int_plan_family_problem_span') }}
),

problems_at_referral as (
    select
        attachment.family_key,
        list(distinct spans.problem_id order by spans.problem_id) as problems_at_referral
    from attachment
    inner join spans
        on spans.family_key = attachment.family_key
        and attachment.identified_on between spans.span_from and spans.span_until
    group by attachment.family_key
),

results_claim as (
    select family_key, min(claimable_date) as results_claimable_date
    from {{ ref('mart_claim') }}
    where claim_type = 'results'
    group by family_key
)

select
    attachment.family_key,
    attachment.case_id,
    referral.referral_id,
    referral.cluster,
    referral.referral_source,
    referral.received_date,
    referral.allocated_date,
    referral.allocation_lag_working_days,
    attachment.attached_date,
    coalesce(problems_at_referral.problems_at_referral, []) as problems_at_referral,
    results_claim.results_claimable_date
from attachment
-- an attachment whose referral was rejected at load has no lag to measure
inner join referral on referral.episode_id = attachment.episode_id
left join problems_at_referral on problems_at_referral.family_key = attachment.family_key
left join results_claim on results_claim.family_key = attachment.family_key
where referral.allocated_date is not null
