-- The Phase 1 audit rule, for the problems the plan applies it to: a result is invalid when a
-- member who did not have the problem when the family was attached (from its referral to its
-- attachment) develops it afterwards. One row per attached family and problem that
-- another member developed, from the first day they had it, with the hit that shows it.
with attached as (
    select * from {{ ref('int_plan_attachment') }}
),

hits as (
    select * from {{ ref('int_plan_hit') }}
),

had_at_attachment as (
    select * from {{ ref('int_plan_member_problem_at_attachment') }}
),

developed as (
    select hits.*
    from hits
    inner join attached using (family_key)
    left join had_at_attachment using (family_key, person_key, problem_id)
    where hits.holds_from > attached.attached_date
      and list_contains(attached.problems_at_attachment, hits.problem_id)
      and had_at_attachment.person_key is null
      and hits.problem_id in (
          select problem_id from {{ source('config', 'cfg_plan_problem') }} where another_member_invalidates
      )
)

-- The first hit, one whole row: two hits from the same day (two members, or two indicators) are
-- told apart by person and hit, so every build names the same member and hit.
select
    family_key,
    problem_id,
    holds_from as developed_on,
    person_key,
    hit_id
from developed
qualify row_number() over (
    partition by family_key, problem_id order by holds_from, person_key, hit_id
) = 1
