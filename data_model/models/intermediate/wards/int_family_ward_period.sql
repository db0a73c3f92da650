-- Where each family lived over time: the ward of the address its index child was last recorded at
-- on each day, as periods. On the as-at day it is mart_person's "latest address" rule read as at
-- that day: the record seen most recently up to the day (a record still running on the day
-- counts as seen that day), then a record with an address, then the systems that verify
-- identity, then the record's number. A family whose index child has no recorded address at all
-- is placed by its other members' addresses, by the same rule.
-- The winner can only change on a day some record starts or the day after one ends, so each
-- family's days are cut at those days and the rule runs once per piece; pieces in the same ward
-- are then joined. Days before the first record place the family nowhere (no row).
with index_child as (
    select family_key, index_person_key from {{ ref('mart_family') }}
),

members as (
    select family_key, person_key from {{ ref('mart_family_member') }}
),

member_records as (
    select
        members.family_key,
        members.person_key,
        members.person_key = index_child.index_person_key as is_index_child,
        record.unique_id,
        record.address,
        record.postcode,
        record.first_seen,
        coalesce(record.last_seen, record.first_seen) as last_seen,
        case record.source when 'ehm_people' then 1 when 'school_census' then 1
            when 'health_events' then 2 else 3 end as source_rank
    from {{ ref('int_linkage_record') }} as record
    inner join {{ ref('int_person_link') }} as link using (unique_id)
    inner join members on members.person_key = link.person_key
    inner join index_child on index_child.family_key = members.family_key
    where (record.postcode is not null or record.address is not null)
        and record.first_seen is not null
),

placing_records as (
    -- the index child's records; every member's where the index child has none
    select *
    from member_records
    where is_index_child
        or family_key not in (select family_key from member_records where is_index_child)
),

cuts as (
    select distinct family_key, first_seen as piece_from from placing_records
    union
    select distinct family_key, last_seen + 1 from placing_records
),

pieces as (
    select
        family_key,
        piece_from,
        lead(piece_from) over (partition by family_key order by piece_from) - 1 as piece_until
    from cuts
),

piece_address as (
    select pieces.family_key, pieces.piece_from, pieces.piece_until, records.postcode
    from pieces
    inner join placing_records as records
        on records.family_key = pieces.family_key and records.first_seen <= pieces.piece_from
    qualify row_number() over (
        partition by pieces.family_key, pieces.piece_from
        order by least(records.last_seen, pieces.piece_from) desc, (records.address is not null) desc,
            records.source_rank, records.unique_id
    ) = 1
),

piece_ward as (
    select piece_address.*, postcode_ward.ward_code
    from piece_address
    left join {{ ref('stg_postcode_ward') }} as postcode_ward using (postcode)
),

runs as (
    -- a new run starts where the ward differs from the piece before (no ward counts as a value)
    select
        *,
        sum(case when ward_code is not distinct from previous_ward then 0 else 1 end)
            over (partition by family_key order by piece_from rows unbounded preceding) as run_number
    from (
        select
            *,
            lag(ward_code) over (partition by family_key order by piece_from) as previous_ward
        from piece_ward
    )
)

select
    family_key,
    ward_code,
    min(piece_from) as ward_from,
    -- empty: still there (the last piece runs on)
    case when count(*) = count(piece_until) then max(piece_until) end as ward_until
from runs
where ward_code is not null
group by family_key, run_number, ward_code
