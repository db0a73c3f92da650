-- Relationships recorded in early help case management, between persons: the related person is
-- the <relationship> of the person ("Mother" of the child). Both ways round where both were
-- recorded; the read layer turns one recorded the other way ("the child is her Son") round.
with ehm_person as (
    select
        substr(registration_id, length('ehm_people:') + 1) as person_id,
        any_value(person_key) as person_key
    from {{ ref('int_person_link') }}
    where registration_id like 'ehm_people:%'
    group by registration_id
)

select
    person.person_key,
    related.person_key as related_person_key,
    relationship.relationship,
    relationship.start_date,
    relationship.end_date
from {{ ref('stg_ehm_relationships') }} as relationship
inner join ehm_person as person on person.person_id = relationship.person_id
inner join ehm_person as related on related.person_id = relationship.related_person_id
where person.person_key <> related.person_key
qualify row_number() over (
    partition by person.person_key, related.person_key
    order by relationship.end_date is null desc, relationship.start_date desc nulls last,
        relationship.relationship
) = 1
order by person.person_key, related.person_key
