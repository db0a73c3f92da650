-- The measures that apply to each attached family (those of the problems it had when attached),
-- with the day each is measured from: the attachment, or the case's closure (empty while open).
with attached as (
    select * from {{ ref('int_plan_attachment') }}
),

measures as (
    select * from {{ source('config', 'cfg_plan_measure') }}
)

select
    attached.family_key,
    attached.attached_date,
    attached.identified_on,
    measures.*,
    case measures.after when 'closure' then attached.closure_date
        else attached.attached_date end as anchor_date
from attached
inner join measures on list_contains(attached.problems_at_attachment, measures.problem_id)
