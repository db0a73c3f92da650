-- mart_ward_measure has one row per measure, quarter and ward: the cells with more.
select measure_id, quarter_end, ward_code, count(*) as rows_for_cell
from {{ ref('mart_ward_measure') }}
group by all
having count(*) > 1
