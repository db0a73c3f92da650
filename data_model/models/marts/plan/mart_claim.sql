-- Claims under the plan as at the model's as-at date (the `claim` view): an attachment fee for each
-- attached family (evidenced when it met the eligibility rule that day) and a results payment for
-- each family that met a claim route, with dates, amounts from the plan and the route.
-- No extract says which claims were submitted: a claim counts as claimed when it became claimable
-- on or before the plan's assume_claimed_through date (by default the end of the last quarter
-- before the one the as-at date is in); the rest are ready.
with plan as (
    select * from {{ source('config', 'cfg_plan') }}
),

as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

claimed_through as (
    select case plan.assume_claimed_through
        when 'never' then null
        when 'last_complete_quarter' then date_trunc('quarter', as_at.as_at_date)::date - 1
        else plan.assume_claimed_through::date
    end as claimed_through
    from plan, as_at
),

attached as (
    select attachment.*
    from {{ ref('int_plan_attachment') }} as attachment, as_at
    where attachment.attached_date <= as_at.as_at_date
),

status as (
    select * from {{ ref('mart_plan_family_status') }} where is_current
),

attachment_claims as (
    select
        'attachment-' || attached.family_key as claim_id,
        attached.family_key,
        'attachment fee' as claim_type,
        cast(null as varchar) as route_id,
        'Family attached: one key worker, a whole-family assessment and a family plan'
            as route_title,
        attached.attached_date as claimable_date,
        attached.eligible_at_attachment as is_evidenced,
        plan.attachment_fee as amount
    from attached, plan
),

results_claims as (
    select
        'results-' || status.family_key as claim_id,
        status.family_key,
        'results' as claim_type,
        status.claim_route as route_id,
        routes.title as route_title,
        status.claimable_date,
        true as is_evidenced,
        plan.results_payment as amount
    from status
    inner join {{ source('config', 'cfg_plan_route') }} as routes on routes.route_id = status.claim_route
    cross join plan
    where status.state = 'claimable'
),

claims as (
    select * from attachment_claims
    union all
    select * from results_claims
)

select
    claims.claim_id,
    claims.family_key,
    attached.case_id,
    claims.claim_type,
    claims.route_id,
    claims.route_title,
    claims.claimable_date,
    date_trunc('quarter', claims.claimable_date)::date as claim_quarter_start,
    strftime(date_trunc('quarter', claims.claimable_date), '%b') || ' to '
        || strftime(date_trunc('quarter', claims.claimable_date) + interval 2 month, '%b %Y')
        as claim_quarter,
    case
        when not claims.is_evidenced then 'not evidenced'
        when claims.claimable_date <= claimed_through.claimed_through then 'claimed'
        else 'ready'
    end as status,
    -- why the status, in words that agree with it (a ready claim is not "assumed claimed")
    case
        when not claims.is_evidenced
            then 'the data do not show the family meeting the eligibility rule when attached'
        when claimed_through.claimed_through is null
            then 'not yet claimed: the plan takes no claim as submitted'
        when claims.claimable_date <= claimed_through.claimed_through
            then 'taken as claimed: claimable on or before '
                || strftime(claimed_through.claimed_through, '%d %b %Y')
                || ', the last day the plan takes claims as submitted'
        else 'not yet claimed: claimable after '
            || strftime(claimed_through.claimed_through, '%d %b %Y')
            || ', the last day the plan takes claims as submitted'
    end as status_basis,
    case when claims.is_evidenced then claims.amount else 0 end as amount,
    attached.attached_date,
    attached.cluster,
    attached.team,
    attached.key_worker,
    family.ward_code,
    family.ward_name
from claims
inner join attached using (family_key)
cross join claimed_through
left join {{ ref('mart_family') }} as family using (family_key)
