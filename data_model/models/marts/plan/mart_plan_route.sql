-- The outcomes plan's claim routes in the plan's order: a family meeting any one earns the results
-- payment. `requires` is 'every_problem' or the one measure the route needs.
select route_id, route_order, title as route_title, requires
from {{ source('config', 'cfg_plan_route') }}
