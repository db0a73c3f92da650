-- The outcomes plan this model was built with: which plan, its file and text (so the app can show
-- it), its rules in brief, and the programme it is measured against (stg_programme: a council's
-- reference/programme.csv when sent, else the plan's dates and target).
with plan as (
    select * from {{ source('config', 'cfg_plan') }}
),

programme as (
    select
        min(start_date) as programme_start,
        max(end_date) as programme_end,
        max(target_families) as target_families,
        any_value(origin) as programme_origin
    from {{ ref('stg_programme') }}
),

routes as (
    select string_agg(title, '; ' order by route_order) as claim_routes from {{ source('config', 'cfg_plan_route') }}
),

problems as (
    select count(*) as problems from {{ source('config', 'cfg_plan_problem') }}
)

select
    plan.plan_id,
    plan.plan_name,
    plan.plan_file,
    plan.plan_text,
    plan.council,
    plan.notes,
    programme.programme_start,
    programme.programme_end,
    programme.target_families,
    programme.programme_origin,
    plan.attachment_fee,
    plan.results_payment,
    plan.eligibility_at_least,
    problems.problems,
    'at least ' || plan.eligibility_at_least || ' of ' || problems.problems || ' problems'
        as eligibility_rule,
    routes.claim_routes,
    plan.near_max_blocking_measures,
    plan.near_all_met_but_one,
    (select coalesce(list(problem_id order by problem_order), [])
     from {{ source('config', 'cfg_plan_problem') }} where another_member_invalidates) as invalid_if_another_member_develops,
    plan.assume_claimed_through,
    (select as_at_date from {{ ref('int_as_at_date') }}) as as_at_date
from plan, programme, routes, problems
