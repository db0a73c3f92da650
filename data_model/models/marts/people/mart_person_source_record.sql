-- Every source row with the person it belongs to. match_probability is the strongest scored
-- pair that joined the row's registration to the rest of the person (1 for identifier links;
-- empty when the person has only that registration).
with registration_person as (
    select
        registration_id,
        any_value(person_key) as person_key,
        max(match_probability) as match_probability
    from {{ ref('int_person_link') }}
    group by registration_id
)

select
    person_rows.source,
    person_rows.source_record_id,
    person_rows.source_person_id,
    registration_person.person_key,
    registration_person.match_probability
from {{ ref('int_person_record') }} as person_rows
inner join registration_person using (registration_id)
