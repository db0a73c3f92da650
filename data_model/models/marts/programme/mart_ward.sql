-- The district's wards with the early help cluster and area committee each belongs to: the places
-- the pages filter and group by.
select ward_code, ward_name, cluster, area_committee
from {{ ref('stg_wards') }}
