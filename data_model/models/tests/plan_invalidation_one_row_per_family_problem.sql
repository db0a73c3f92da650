-- int_plan_invalidation has one row per attached family and problem another member developed:
-- the pairs with more (a tie on the first day must still give one member and one hit).
select family_key, problem_id, count(*) as rows_for_pair
from {{ ref('int_plan_invalidation') }}
group by all
having count(*) > 1
