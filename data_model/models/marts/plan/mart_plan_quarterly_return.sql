-- The quarterly return to government, quarter by quarter over the programme: families identified
-- (first met the eligibility rule), worked with (attached), claims that became claimable and their
-- income; and one forecast row for the quarter after the as-at date with the predicted results
-- claims and how they were predicted.
with plan as (
    select * from {{ ref('mart_plan') }}
),

as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

quarters as (
    select unnest(generate_series(
        date_trunc('quarter', plan.programme_start),
        date_trunc('quarter', as_at.as_at_date) + interval 3 month,
        interval 3 month
    ))::date as quarter_start
    from plan, as_at
),

labelled as (
    select
        quarters.quarter_start,
        (quarters.quarter_start + interval 3 month - interval 1 day)::date as quarter_end,
        quarters.quarter_start > as_at.as_at_date as is_forecast,
        -- UK financial year: April to June is the first quarter
        'Q' || ((month(quarters.quarter_start) + 8) // 3) % 4 + 1 || ' '
            || year(quarters.quarter_start - interval 3 month) || '/'
            || right((year(quarters.quarter_start - interval 3 month) + 1)::varchar, 2)
            || ' (' || strftime(quarters.quarter_start, '%b') || ' to '
            || strftime(quarters.quarter_start + interval 2 month, '%b %Y') || ')'
            as quarter_label
    from quarters, as_at
),

-- events before the programme started count in its first quarter
first_quarter as (
    select min(quarter_start) as quarter_start from quarters
),

identified as (
    select
        greatest(date_trunc('quarter', dates.evaluation_date)::date, first_quarter.quarter_start)
            as quarter_start,
        count(*) as families_identified
    from {{ ref('int_plan_family_date') }} as dates, first_quarter, as_at
    where dates.date_kind = 'first eligible' and dates.evaluation_date <= as_at.as_at_date
    group by 1
),

attached as (
    select
        greatest(date_trunc('quarter', attached_date)::date, first_quarter.quarter_start)
            as quarter_start,
        count(*) as families_attached
    from {{ ref('int_plan_attachment') }}, first_quarter, as_at
    where attached_date <= as_at.as_at_date
    group by 1
),

claims as (
    select
        greatest(claims.claim_quarter_start, first_quarter.quarter_start) as quarter_start,
        count(*) filter (where claims.claim_type = 'attachment fee' and claims.amount > 0)
            as attachment_claims,
        count(*) filter (where claims.claim_type = 'results') as results_claims,
        sum(claims.amount) filter (where claims.claim_type = 'attachment fee')
            as attachment_income,
        sum(claims.amount) filter (where claims.claim_type = 'results') as results_income
    from {{ ref('mart_claim') }} as claims, first_quarter
    group by 1
),

current_states as (
    select state, count(*) as families
    from {{ ref('mart_plan_family_status') }}
    where is_current and state <> 'claimable'
    group by state
),

prediction as (
    select
        coalesce(sum(current_states.families * coalesce(conversion.conversion_rate, 0)), 0)
            as predicted_results_claims,
        'families in each state on the as-at date times the share of families in that state '
            || 'at the end of each of the last ' || coalesce(max(conversion.quarters_observed), 0)
            || ' quarters who became claimable in the following quarter: '
            || coalesce(string_agg(
                current_states.families || ' ' || current_states.state || ' × '
                    || format('{:.1f}', 100 * coalesce(conversion.conversion_rate, 0)) || '%',
                ' + ' order by current_states.state), 'no families') as prediction_method
    from current_states
    left join {{ ref('mart_plan_conversion') }} as conversion using (state)
)

select
    labelled.quarter_start,
    labelled.quarter_end,
    labelled.quarter_label,
    labelled.is_forecast,
    coalesce(identified.families_identified, 0) as families_identified,
    coalesce(attached.families_attached, 0) as families_attached,
    sum(coalesce(attached.families_attached, 0)) over (order by labelled.quarter_start)::bigint
        as families_attached_to_date,
    coalesce(claims.attachment_claims, 0) as attachment_claims,
    coalesce(claims.results_claims, 0) as results_claims,
    sum(coalesce(claims.results_claims, 0)) over (order by labelled.quarter_start)::bigint
        as results_claims_to_date,
    coalesce(claims.attachment_income, 0) as attachment_income,
    coalesce(claims.results_income, 0) as results_income,
    sum(coalesce(claims.attachment_income, 0) + coalesce(claims.results_income, 0))
        over (order by labelled.quarter_start) as income_to_date,
    case when labelled.is_forecast then round(prediction.predicted_results_claims)::bigint end
        as predicted_results_claims,
    case when labelled.is_forecast then prediction.prediction_method end as prediction_method
from labelled
left join identified using (quarter_start)
left join attached using (quarter_start)
left join claims using (quarter_start)
cross join prediction
order by labelled.quarter_start
