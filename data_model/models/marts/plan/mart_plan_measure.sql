-- The plan's outcome measures as written: threshold, unit, sustain window, how near is near, and
-- the claim routes that need each.
with measures as (
    select * from {{ source('config', 'cfg_plan_measure') }}
),

problems as (
    select problem_id, title as problem_title from {{ source('config', 'cfg_plan_problem') }}
),

routes as (
    select requires, list(route_id order by route_order) as routes
    from {{ source('config', 'cfg_plan_route') }}
    group by requires
),

availability as (
    select * from {{ ref('int_source_availability') }}
)

select
    measures.measure_id,
    measures.measure_order,
    measures.title as measure_title,
    measures.problem_id,
    problems.problem_title,
    measures.kind,
    measures.after as measured_after,
    measures.comparison,
    measures.threshold,
    measures.unit,
    measures.near_within as near_margin,
    case measures.kind
        when 'terms' then measures.terms || ' consecutive terms'
        when 'continuous_spell' then measures.weeks || ' continuous weeks'
        else measures.window_months || ' months'
            || case when measures.window_mode = 'first' then ' after ' || measures.after
                else ' (any such period after ' || measures.after || ')' end
    end as sustain_window,
    coalesce(direct.routes, []) || coalesce(every_problem.routes, []) as claim_routes,
    -- the source it reads, and whether the model has it: a measure without its extract is never
    -- met or near (int_plan_family_measure: 'not available')
    measures.source,
    coalesce(availability.is_available, true) as is_available,
    availability.not_available_text
from measures
inner join problems using (problem_id)
left join availability using (source)
left join routes as direct on direct.requires = measures.measure_id
cross join (
    -- every measure counts towards the routes that need progress on every problem
    select coalesce(list(route_id order by route_order), []) as routes
    from {{ source('config', 'cfg_plan_route') }}
    where requires = 'every_problem'
) as every_problem
order by measures.measure_order
