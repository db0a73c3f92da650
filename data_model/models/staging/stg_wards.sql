-- Wards of the district with their area committee and early help cluster.
with source as (
    select * from {{ source('raw', 'raw_ref_wards') }}
)

select
    ward_code,
    ward_name,
    area_committee,
    cluster,
    population,
    population_0_15,
    lat,
    lon
from source
