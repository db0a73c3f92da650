-- The evidence behind each hit on a family's dates that matter: the source records, or the
-- school terms, that make it hold.
with hits as (
    select * from {{ ref('int_plan_hit') }}
    semi join (select distinct hit_id from {{ ref('int_plan_family_date_hit') }}) as used using (hit_id)
),

record_evidence as (
    select
        hits.hit_id,
        event.source,
        event.source_record_id,
        event.person_key,
        event.record_date as evidence_date,
        event.value
    from hits
    inner join {{ ref('int_plan_event') }} as event
        on event.item_id = hits.indicator_id
        and event.person_key = hits.person_key
        and event.record_date between hits.evidence_from and hits.evidence_to
    where hits.evidence_from is not null
),

term_evidence as (
    select
        hits.hit_id,
        'school_census' as source,
        terms.source_record_id,
        terms.person_key,
        terms.census_date as evidence_date,
        terms.term_summary as value
    from hits
    inner join {{ ref('int_plan_term_evidence') }} as terms
        on terms.person_key = hits.person_key
        and terms.term_index between hits.first_term_index and hits.last_term_index
    where hits.first_term_index is not null
)

select * from record_evidence
union all
select * from term_evidence
