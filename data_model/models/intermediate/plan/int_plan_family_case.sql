-- Which family each early help case is about: the family of the child the case's first referral
-- names, else the family most of the case's people belong to.
with people as (
    select case_id, source_person_id as person_id from {{ ref('stg_ehm_people') }}
),

referrals as (
    select case_id, referred_person_id, received_date, referral_id from {{ ref('stg_ehm_referrals') }}
),

ehm_persons as (
    select source_person_id as person_id, person_key
    from {{ ref('mart_person_source_record') }}
    where source = 'ehm_people'
    group by person_id, person_key
),

members as (
    select person_key, family_key from {{ ref('mart_family_member') }}
),

referred_family as (
    select referrals.case_id, members.family_key
    from referrals
    inner join ehm_persons on ehm_persons.person_id = referrals.referred_person_id
    inner join members using (person_key)
    qualify row_number() over (
        partition by referrals.case_id order by referrals.received_date, referrals.referral_id
    ) = 1
),

people_counts as (
    select people.case_id, members.family_key, count(*) as people
    from people
    inner join ehm_persons using (person_id)
    inner join members using (person_key)
    group by people.case_id, members.family_key
),

people_family as (
    select case_id, family_key
    from people_counts
    qualify row_number() over (partition by case_id order by people desc, family_key) = 1
)

select
    coalesce(referred_family.case_id, people_family.case_id) as case_id,
    coalesce(referred_family.family_key, people_family.family_key) as family_key
from referred_family
full outer join people_family using (case_id)
