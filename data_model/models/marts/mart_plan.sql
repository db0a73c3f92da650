-- The outcomes plan this model was built with: which plan, its file and text (so the app can show
-- it), its rules in brief, and the programme it is measured against. A council's
-- reference/programme.csv, when sent, gives the target and dates; else the plan does.
with plan as (
    select * from cfg_plan
),

programme as (
    select * from stg_programme where origin = 'reference/programme'
),

routes as (
    select string_agg(title, '; ' order by route_order) as claim_routes from cfg_plan_route
),

problems as (
    select count(*) as problems from cfg_plan_problem
)

select
    plan.plan_id,
    plan.plan_name,
    plan.plan_file,
    plan.plan_text,
    plan.council,
    plan.notes,
    coalesce((select min(start_date) from programme), plan.programme_start) as programme_start,
    coalesce((select max(end_date) from programme), plan.programme_end) as programme_end,
    coalesce((select max(target_families) from programme), plan.target_families)
        as target_families,
    case when exists (select 1 from programme) then 'reference/programme'
        else 'plan' end as programme_origin,
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
     from cfg_plan_problem where another_member_invalidates) as invalid_if_another_member_develops,
    plan.assume_claimed_through,
    (select as_at_date from int_plan_as_at) as as_at_date
from plan, routes, problems
