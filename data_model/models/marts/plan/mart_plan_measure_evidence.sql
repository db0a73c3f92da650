-- The evidence behind each attached family's measures on the as-at date: the school terms, records
-- or spells in the window the measure was judged on (for a met measure, the window that met it),
-- and for a reduction the records before attachment it is compared with.
with measures as (
    select * from {{ ref('int_plan_family_measure') }} where is_current and status <> 'not applicable'
),

term_subjects as (
    select * from {{ ref('int_plan_measure_term') }}
    where evaluation_date = (select as_at_date from {{ ref('int_as_at_date') }})
),

term_evidence as (
    select
        subjects.family_key,
        subjects.measure_id,
        'counted' as role,
        'school_census' as source,
        terms.source_record_id,
        terms.person_key,
        terms.census_date as evidence_date,
        terms.term_summary as value
    from term_subjects as subjects
    inner join {{ ref('int_plan_term_evidence') }} as terms
        on terms.person_key = subjects.subject_key
        and terms.census_date between subjects.window_from and subjects.window_to
),

record_windows as (
    select
        measures.family_key,
        measures.measure_id,
        measures.window_from,
        measures.window_to,
        measures.baseline_from,
        measures.baseline_to,
        cfg.count_mode,
        cfg.after
    from measures
    inner join {{ source('config', 'cfg_plan_measure') }} as cfg using (measure_id)
    where measures.kind = 'records' and measures.window_from is not null
),

record_roles as (
    select
        windows.family_key,
        windows.measure_id,
        case
            when event.record_date <= windows.window_to
                and (event.record_date >= windows.window_from
                     or windows.count_mode = 'open'
                        and coalesce(event.end_date, date '2999-12-31') >= windows.window_from)
                then 'counted'
            when event.record_date between windows.baseline_from and windows.baseline_to
                then 'before ' || windows.after
        end as role,
        event.source,
        event.source_record_id,
        event.person_key,
        event.record_date as evidence_date,
        event.value
    from record_windows as windows
    inner join {{ ref('int_plan_event') }} as event
        on event.item_id = windows.measure_id
        and event.family_key = windows.family_key
),

record_evidence as (
    select * from record_roles where role is not null
),

spell_subjects as (
    select * from {{ ref('int_plan_measure_spell') }}
    where evaluation_date = (select as_at_date from {{ ref('int_as_at_date') }})
),

spell_evidence as (
    select
        subjects.family_key,
        subjects.measure_id,
        'counted' as role,
        event.source,
        event.source_record_id,
        event.person_key,
        event.record_date as evidence_date,
        event.value
    from spell_subjects as subjects
    inner join {{ ref('int_plan_event') }} as event
        on event.item_id = subjects.measure_id
        and event.person_key = subjects.subject_key
        and event.record_date between subjects.window_from and subjects.window_to
)

select evidence.*, measures.evaluation_date, measures.status
from (
    select * from term_evidence
    union all select * from record_evidence
    union all select * from spell_evidence
) as evidence
inner join measures using (family_key, measure_id)
