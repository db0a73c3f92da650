-- Each referral with its episode (if allocated) and the working days between the steps.
with referrals as (
    select * from {{ ref('stg_ehm_referrals') }}
),

episodes as (
    select * from {{ ref('stg_ehm_episodes') }}
),

calendar as (
    select calendar_date, working_day_index from {{ ref('int_calendar') }}
),

joined as (
    select
        referrals.*,
        episodes.episode_id,
        episodes.team,
        episodes.key_worker,
        episodes.allocated_date,
        episodes.first_contact_date,
        episodes.assessment_date,
        episodes.family_plan_date,
        episodes.attached_date,
        episodes.closure_date,
        episodes.closure_reason
    from referrals
    left join episodes on episodes.referral_id = referrals.referral_id
),

-- Working days after the first date up to and including the second (same day = 0).
with_working_days as (
    select
        joined.*,
        decided.working_day_index - received.working_day_index as decision_working_days,
        allocated.working_day_index - received.working_day_index as allocation_lag_working_days,
        allocated.working_day_index - decided.working_day_index as decision_to_allocation_working_days,
        contacted.working_day_index - allocated.working_day_index as allocation_to_first_contact_working_days,
        assessed.working_day_index - contacted.working_day_index as first_contact_to_assessment_working_days,
        planned.working_day_index - assessed.working_day_index as assessment_to_plan_working_days,
        joined.allocated_date - joined.received_date as allocation_lag_days,
        received.working_day_index as received_working_day_index
    from joined
    left join calendar as received on received.calendar_date = joined.received_date
    left join calendar as decided on decided.calendar_date = joined.decision_date
    left join calendar as allocated on allocated.calendar_date = joined.allocated_date
    left join calendar as contacted on contacted.calendar_date = joined.first_contact_date
    left join calendar as assessed on assessed.calendar_date = joined.assessment_date
    left join calendar as planned on planned.calendar_date = joined.family_plan_date
)

select * from with_working_days
