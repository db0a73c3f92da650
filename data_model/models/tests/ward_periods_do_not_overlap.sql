-- A family lives in one ward at a time: the periods of int_family_ward_period that overlap another
-- of the same family.
select earlier.family_key, earlier.ward_from, later.ward_from as overlapping_from
from {{ ref('int_family_ward_period') }} as earlier
inner join {{ ref('int_family_ward_period') }} as later
    on later.family_key = earlier.family_key
    and later.ward_from > earlier.ward_from
    and later.ward_from <= coalesce(earlier.ward_until, date '9999-12-31')
