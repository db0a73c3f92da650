-- Each family attached to the programme, once, at its first attachment: the episode that attached
-- it (cluster, team, key worker, closure) and the problems it had when attached under the plan:
-- those it had at any time from the referral that led to the attachment to the day of attachment
-- (the family is identified at referral and attached once its plan is in place, months later).
with episodes as (
    select * from {{ ref('stg_ehm_episodes') }}
),

case_family as (
    select * from {{ ref('int_plan_family_case') }}
),

first_attachment as (
    select
        case_family.family_key,
        episodes.*,
        least(coalesce(referrals.received_date, episodes.attached_date), episodes.attached_date)
            as identified_on
    from episodes
    inner join case_family using (case_id)
    left join {{ ref('stg_ehm_referrals') }} as referrals using (referral_id)
    where episodes.attached_date is not null
    qualify row_number() over (
        partition by case_family.family_key
        order by episodes.attached_date, episodes.episode_id
    ) = 1
),

problems_that_day as (
    select
        first_attachment.family_key,
        list(distinct span.problem_id order by span.problem_id) as problems_at_attachment
    from first_attachment
    inner join {{ ref('int_plan_family_problem_span') }} as span
        on span.family_key = first_attachment.family_key
        and span.span_from <= first_attachment.attached_date
        and span.span_until >= first_attachment.identified_on
    group by first_attachment.family_key
)

select
    first_attachment.family_key,
    first_attachment.case_id,
    first_attachment.episode_id,
    first_attachment.identified_on,
    first_attachment.attached_date,
    first_attachment.closure_date,
    first_attachment.closure_reason,
    first_attachment.episode_cluster as cluster,
    first_attachment.team,
    first_attachment.key_worker,
    coalesce(problems_that_day.problems_at_attachment, []) as problems_at_attachment,
    meets_eligibility_rule(
        len(coalesce(problems_that_day.problems_at_attachment, [])),
        (select eligibility_at_least from {{ source('config', 'cfg_plan') }})
    ) as eligible_at_attachment
from first_attachment
left join problems_that_day using (family_key)
