-- What stands between each attached family and each claim route on each evaluation date: one row
-- per measure not yet met (for a problem met by any one measure, the closest), per problem another
-- member has since developed, or the family's missing eligibility on the day it was attached.
with routes as (
    select * from {{ source('config', 'cfg_plan_route') }}
),

attached as (
    select family_key, eligible_at_attachment from {{ ref('int_plan_attachment') }}
),

dates as (
    select * from {{ ref('int_plan_evaluation_date') }}
),

measures as (
    select * from {{ ref('int_plan_family_measure') }}
),

progress as (
    select * from {{ ref('int_plan_family_problem_progress') }}
),

unmet_problem_measures as (
    select
        measures.*,
        progress.progress_rule,
        row_number() over (
            partition by measures.family_key, measures.evaluation_date, measures.problem_id
            order by measures.status = 'near' desc, measures.status = 'not available',
            measures.distance_to_threshold,
                measures.measure_id
        ) as closeness
    from measures
    inner join progress using (family_key, evaluation_date, problem_id)
    -- a measure without its source blocks: nothing can show it met
    where measures.status in ('near', 'not met', 'not available')
      and not coalesce(progress.achieved_date <= progress.evaluation_date, false)
),

every_problem_blockers as (
    select
        routes.route_id,
        unmet.family_key,
        unmet.evaluation_date,
        unmet.problem_id,
        unmet.measure_id,
        unmet.status
    from unmet_problem_measures as unmet
    cross join routes
    where routes.requires = 'every_problem'
      and (unmet.progress_rule = 'all' or unmet.closeness = 1)
),

invalid_blockers as (
    select
        routes.route_id,
        progress.family_key,
        progress.evaluation_date,
        progress.problem_id,
        cast(null as varchar) as measure_id,
        'invalid' as status
    from progress
    cross join routes
    where routes.requires = 'every_problem'
      and progress.developed_on is not null
      and progress.developed_on <= coalesce(progress.achieved_date, progress.evaluation_date)
),

measure_route_blockers as (
    select
        routes.route_id,
        measures.family_key,
        measures.evaluation_date,
        measures.problem_id,
        measures.measure_id,
        -- without the measure's source the route cannot be met, whatever the family had
        case when not measures.is_available then 'not available' else measures.status end
            as status
    from measures
    inner join routes on routes.requires = measures.measure_id
    where measures.status <> 'met'
),

eligibility_blockers as (
    select
        routes.route_id,
        dates.family_key,
        dates.evaluation_date,
        cast(null as varchar) as problem_id,
        cast(null as varchar) as measure_id,
        'not eligible' as status
    from dates
    inner join attached using (family_key)
    cross join routes
    where not attached.eligible_at_attachment
),

blockers as (
    select * from every_problem_blockers
    union all select * from invalid_blockers
    union all select * from measure_route_blockers
    union all select * from eligibility_blockers
)

select
    blockers.*,
    case blockers.status
        when 'invalid' then 'another member developed this problem after attachment'
        when 'not eligible' then 'the family did not meet the eligibility rule when attached'
        when 'not applicable' then 'the family did not have this problem when attached'
        when 'not available' then measures.not_available_text
        else measures.needs
    end as needs
from blockers
left join measures using (family_key, evaluation_date, measure_id)
