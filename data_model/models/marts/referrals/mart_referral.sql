-- One row per referral: its journey from receipt to family plan, with times in working days.
with timeline as (
    select * from {{ ref('int_referral_timeline') }}
),

staged as (
    select
        *,
        decision <> 'Awaiting decision' as is_decided,
        allocated_date is not null as is_allocated,
        case
            when family_plan_date is not null then 'Family plan'
            when assessment_date is not null then 'Assessment'
            when first_contact_date is not null then 'First contact'
            when allocated_date is not null then 'Allocated'
            when is_accepted then 'Accepted'
            when decision <> 'Awaiting decision' then 'Decided'
            else 'Referred'
        end as stage_reached,
        date_trunc('week', received_date)::date as received_week,
        date_trunc('month', received_date)::date as received_month,
        date_trunc('month', allocated_date)::date as allocated_month
    from timeline
)

select * from staged
