-- The hits that hold on each of a family's dates that matter: which problems it has that day,
-- through which indicators and members.
with dates as (
    select * from {{ ref('int_plan_family_date') }}
),

hits as (
    select * from {{ ref('int_plan_hit') }}
)

select
    dates.family_key,
    dates.date_kind,
    dates.period_from,
    dates.evaluation_date,
    hits.problem_id,
    hits.indicator_id,
    hits.person_key,
    hits.hit_id
from dates
inner join hits
    on hits.family_key = dates.family_key
    and hits.holds_from <= dates.evaluation_date
    and hits.holds_until >= dates.period_from
