-- The members who had each problem when their family was attached: one of their hits held at some
-- time from the referral that led to the attachment to the day of attachment. One row per attached
-- family, member and problem. (int_plan_attachment applies the same period to the family's spans.)
with attached as (
    select family_key, identified_on, attached_date from {{ ref('int_plan_attachment') }}
)

select distinct hits.family_key, hits.person_key, hits.problem_id
from {{ ref('int_plan_hit') }} as hits
inner join attached using (family_key)
where hits.holds_from <= attached.attached_date and hits.holds_until >= attached.identified_on
