-- Where each person was last recorded living, and since when: the address whose records reach
-- latest, and the first day any record places them there. The family lookup compares it with
-- the child's to say who is no longer at the address.
with records as (
    select
        link.person_key,
        record.address_key,
        record.postcode,
        least(record.stay_from, record.day_first) as seen_from,
        greatest(record.stay_to, record.day_last) as seen_to
    from {{ ref('int_linkage_record') }} as record
    inner join {{ ref('int_person_link') }} as link using (unique_id)
    where record.address_key is not null and record.postcode is not null
),

addresses as (
    select
        person_key,
        address_key,
        postcode,
        min(seen_from) as address_from,
        max(seen_to) as address_to
    from records
    group by person_key, address_key, postcode
)

select person_key, address_key, postcode, address_from, address_to
from addresses
qualify row_number() over (
    partition by person_key order by address_to desc, address_from desc, address_key, postcode
) = 1
order by person_key
