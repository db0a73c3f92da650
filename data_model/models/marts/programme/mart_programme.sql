-- The programme in force: name, dates and the target number of families.
select programme_name, start_date, end_date, target_families, origin
from {{ ref('stg_programme') }}
