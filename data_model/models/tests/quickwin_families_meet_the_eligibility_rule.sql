-- A quick-win family short of the plan's eligibility number, or whose problems do not add up to
-- its count, would be a referral suggested on no evidence.
select quickwins.family_key
from {{ ref('mart_quickwin_unreferred') }} as quickwins
cross join {{ source('config', 'cfg_plan') }} as plan
where quickwins.problem_count < plan.eligibility_at_least
   or len(quickwins.problems) <> quickwins.problem_count
   or len(quickwins.problem_ids) <> quickwins.problem_count
