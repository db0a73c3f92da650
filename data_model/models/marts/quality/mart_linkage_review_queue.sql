-- Pairs of records an analyst should decide on: scored in the review band, or decided before.
-- Each side shows what was compared; the weights say how much each comparison counted.
-- One pair awaits a decision for each pair of people (their registrations' strongest pair):
-- deciding it joins or parts the two people, so their other pairs would ask the same question.
with scored_pairs as (
    select
        *,
        least(person_key_l, person_key_r) as person_pair_l,
        greatest(person_key_l, person_key_r) as person_pair_r
    from {{ ref('int_person_link_pair') }}
),

pairs as (
    select
        *,
        count(*) over (partition by person_pair_l, person_pair_r) as registration_pairs
    from scored_pairs
    qualify decision is not null or row_number() over (
        partition by person_pair_l, person_pair_r, decision is null
        order by match_probability desc, pair_id
    ) = 1
),

records as (
    select * from {{ ref('int_linkage_record') }}
)

select
    pairs.pair_id,
    pairs.registration_l,
    pairs.registration_r,
    record_l.source as source_l,
    record_r.source as source_r,
    record_l.first_name as first_name_l,
    record_r.first_name as first_name_r,
    record_l.last_name as last_name_l,
    record_r.last_name as last_name_r,
    record_l.dob as dob_l,
    record_r.dob as dob_r,
    record_l.sex as sex_l,
    record_r.sex as sex_r,
    record_l.address as address_l,
    record_r.address as address_r,
    record_l.postcode as postcode_l,
    record_r.postcode as postcode_r,
    pairs.match_probability,
    pairs.match_weight,
    pairs.mw_first_name + coalesce(pairs.mw_tf_adj_first_name, 0) as weight_first_name,
    pairs.mw_last_name + coalesce(pairs.mw_tf_adj_last_name, 0) as weight_last_name,
    pairs.mw_dob as weight_dob,
    pairs.mw_location as weight_location,
    pairs.mw_sex as weight_sex,
    pairs.person_key_l,
    pairs.person_key_r,
    -- twin-guard pairs no system holds apart are linked, and queued for a second look
    pairs.person_key_l = pairs.person_key_r as linked_by_last_build,
    pairs.registration_pairs,
    pairs.review_reason,
    pairs.decision,
    pairs.decided_at,
    pairs.decided_by
from pairs
inner join records as record_l on record_l.unique_id = pairs.unique_id_l
inner join records as record_r on record_r.unique_id = pairs.unique_id_r
order by pairs.decision is not null, pairs.match_probability desc, pairs.pair_id
