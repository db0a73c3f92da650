-- One row per family: its index child, where it lives, its size and when it was seen.
with members as (
    select * from {{ ref('mart_family_member') }}
),

index_child as (
    select family_key, person_key as index_person_key
    from members where relationship_to_index_child = 'index child'
)

select
    members.family_key,
    index_child.index_person_key,
    index_person.ward_code,
    index_person.ward_name,
    count(*) as size,
    count(*) filter (where members.role = 'child') as children,
    count(*) filter (where members.role = 'adult') as adults,
    min(members.valid_from) as first_seen,
    max(members.valid_to) as last_seen
from members
inner join index_child using (family_key)
inner join {{ ref('mart_person') }} as index_person on index_person.person_key = index_child.index_person_key
group by all
