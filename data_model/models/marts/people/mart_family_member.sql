-- Who is in each family, why, and how they relate to the family's index child.
with settings as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

members as (
    select link.family_key, person.*,
           date_diff('year', person.dob, settings.as_at_date)
             - case when strftime(person.dob, '%m%d') > strftime(settings.as_at_date, '%m%d')
                 then 1 else 0 end as age_at_as_at
    from {{ ref('int_family_link') }} as link
    inner join {{ ref('mart_person') }} as person using (person_key)
    cross join settings
),

referred_child as (
    -- the child named on the family's first early help referral
    select family_link.family_key, link.person_key
    from {{ ref('stg_ehm_referrals') }} as referral
    inner join {{ ref('int_person_link') }} as link
        on link.registration_id = 'ehm_people:' || referral.referred_person_id
    inner join {{ ref('int_family_link') }} as family_link on family_link.person_key = link.person_key
    qualify row_number() over (
        partition by family_link.family_key order by referral.received_date, referral.referral_id
    ) = 1
),

index_child as (
    -- the referred child; else the eldest child; else the youngest member. Children of one age
    -- (twins) are told apart by date of birth, then person key, so that the choice does not
    -- depend on the order rows arrive in (it differed between the DuckDB and Spark engines).
    select family_key, coalesce(
        any_value(referred_child.person_key),
        first(members.person_key order by members.age_at_as_at desc, members.dob, members.person_key)
            filter (where members.age_at_as_at < 18),
        first(members.person_key order by members.age_at_as_at, members.dob desc, members.person_key)
            filter (where members.age_at_as_at is not null),
        min(members.person_key)
    ) as index_person_key
    from members
    left join referred_child using (family_key)
    group by family_key
),

ehm_ids as (
    select substr(registration_id, length('ehm_people:') + 1) as person_id, person_key
    from {{ ref('int_person_link') }} where registration_id like 'ehm_people:%'
    group by all
),

relationship_to_index as (
    -- case management records "related person is the <relationship> of person"
    -- two relationships recorded for one pair: the same one in every build
    select index_child.family_key, related.person_key, min(rel.relationship) as relationship
    from index_child
    inner join ehm_ids as child on child.person_key = index_child.index_person_key
    inner join {{ ref('stg_ehm_relationships') }} as rel on rel.person_id = child.person_id
    inner join ehm_ids as related on related.person_id = rel.related_person_id
    group by all
),

evidence_phrases as (
    -- each piece of evidence in plain words
    select
        family_key,
        person_key,
        valid_from,
        valid_to,
        case evidence
            when 'shared address' then 'lived at ' || detail || ' ('
                || case
                    when valid_from = valid_to then strftime(valid_from, '%d %b %Y')
                    else coalesce(strftime(valid_from, '%d %b %Y'), '?') || ' to '
                        || coalesce(strftime(valid_to, '%d %b %Y'), '?')
                end
                || '; ' || sources || ')'
            when 'recorded relationship' then 'recorded as ' || detail
                || ' in early help case management'
            when 'same surname, postcode and GP practice' then 'same surname, GP practice'
                || ' and postcode ' || detail || ' (GP records carry no address)'
            else 'in early help case ' || detail
        end as phrase
    from {{ ref('int_family_link_evidence') }}
),

evidence as (
    -- a member's reasons, in a stable order
    select
        family_key,
        person_key,
        -- sorted as a list, then joined: the same text as an ordered string_agg, a third faster
        nullif(array_to_string(
            list_sort(list(distinct phrase) filter (where phrase is not null)), '; '
        ), '') as reason,
        min(valid_from) as evidence_from,
        max(coalesce(valid_to, valid_from)) as evidence_to
    from evidence_phrases
    group by family_key, person_key
)


select
    members.family_key,
    members.person_key,
    case when members.age_at_as_at < 18 then 'child'
         when members.age_at_as_at is null then 'unknown age'
         else 'adult' end as role,
    case when members.person_key = index_child.index_person_key then 'index child'
         else relationship_to_index.relationship end as relationship_to_index_child,
    coalesce(least(members.first_seen, evidence.evidence_from), members.first_seen) as valid_from,
    coalesce(greatest(members.last_seen, evidence.evidence_to), members.last_seen) as valid_to,
    coalesce(evidence.reason, 'no one else found: a family of one') as reason
from members
inner join index_child using (family_key)
left join relationship_to_index
    on relationship_to_index.family_key = members.family_key
    and relationship_to_index.person_key = members.person_key
left join evidence
    on evidence.family_key = members.family_key and evidence.person_key = members.person_key
