-- The clerical decisions the last build could not use, and why: a stored row that is not a decision
-- (with its number), a registration that is not in these extracts, or a decision that contradicts
-- others (kept apart until a reviewer settles it). Never skipped silently.
with problems as (
    select * from {{ ref('int_person_link_decision_problem') }}
)

select line, registration_l, registration_r, decision, problem
from problems
order by line nulls last, registration_l, registration_r
