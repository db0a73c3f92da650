-- The Wards page's measures, ward by ward and quarter by quarter, exact: how many families count in
-- each, the cell key that cell key perturbation needs (data_model/disclosure.py), and both
-- denominators a rate may use. The read layer (data_model/read/wards.py) adds the area committees
-- and the district and protects small numbers; settings in data_model/wards.yaml say which
-- denominator each measure's rate uses.
-- Quarters run from the programme's first to the last complete one on or before the as-at date.
-- A family counts in the ward it lived in on the day that matters (int_family_ward_period):
-- the quarter's last day for the families known, eligible and with each problem (which they are
-- on that day); the day it was attached for the families engaged (being worked with on the
-- quarter's last day) and for results claims (which become claimable during the quarter).
-- Families with no known ward that day are in no ward.
-- Every measure but results claims is a stock on the quarter's last day, so no sum of these cells
-- is a count published elsewhere (the Overview's totals are flows over the whole programme).
with as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

programme as (
    select start_date from {{ ref('mart_programme') }}
),

wards as (
    select ward_code, population_0_15 from {{ ref('stg_wards') }}
),

ward_periods as (
    select * from {{ ref('int_family_ward_period') }}
),

record_keys as (
    select * from {{ ref('int_family_record_key') }}
),

quarters as (
    select quarter_start, (quarter_start + interval 3 month - interval 1 day)::date as quarter_end
    from (
        select unnest(generate_series(
            date_trunc('quarter', programme.start_date),
            date_trunc('quarter', as_at.as_at_date + 1) - interval 3 month,
            interval 3 month
        ))::date as quarter_start
        from programme, as_at
    )
),

families_known as (
    -- where every located family lived on the quarter's last day
    select 'families_known' as measure_id, quarters.quarter_end, periods.family_key, periods.ward_code
    from quarters
    inner join ward_periods as periods
        on quarters.quarter_end >= periods.ward_from
        and quarters.quarter_end <= coalesce(periods.ward_until, date '9999-12-31')
),

problems_held as (
    -- the plan's problems each family has on the quarter's last day
    select known.quarter_end, known.family_key, known.ward_code, spans.problem_id
    from families_known as known
    inner join {{ ref('int_plan_family_problem_span') }} as spans
        on spans.family_key = known.family_key
        and known.quarter_end between spans.span_from and spans.span_until
    group by all
),

families_with_problem as (
    select 'problem_' || problem_id as measure_id, quarter_end, family_key, ward_code
    from problems_held
),

families_eligible as (
    select 'families_eligible' as measure_id, quarter_end, family_key, ward_code
    from problems_held
    group by all
    having meets_eligibility_rule(
        count(*), (select eligibility_at_least from {{ source('config', 'cfg_plan') }})
    )
),

attached as (
    -- each attached family with the ward it lived in on the day it was attached
    select attachment.family_key, attachment.attached_date, attachment.closure_date,
           periods.ward_code
    from {{ ref('int_plan_attachment') }} as attachment
    inner join ward_periods as periods
        on periods.family_key = attachment.family_key
        and attachment.attached_date >= periods.ward_from
        and attachment.attached_date <= coalesce(periods.ward_until, date '9999-12-31')
),

families_engaged as (
    -- being worked with on the quarter's last day: attached by then, its episode not yet closed
    select 'families_engaged' as measure_id, quarters.quarter_end, attached.family_key,
           attached.ward_code
    from attached
    inner join quarters
        on attached.attached_date <= quarters.quarter_end
        and coalesce(attached.closure_date, date '9999-12-31') > quarters.quarter_end
),

results_claims as (
    select 'results_claims' as measure_id, quarters.quarter_end, claims.family_key, attached.ward_code
    from {{ ref('mart_claim') }} as claims
    inner join attached using (family_key)
    inner join quarters on claims.claimable_date between quarters.quarter_start and quarters.quarter_end
    where claims.claim_type = 'results'
),

counted_families as (
    select * from families_known
    union all select * from families_eligible
    union all select * from families_with_problem
    union all select * from families_engaged
    union all select * from results_claims
),

measures as (
    select 'families_known' as measure_id, 1 as measure_order
    union all select 'families_eligible', 2
    union all select 'families_engaged', 3
    union all select 'results_claims', 4
    union all
    select 'problem_' || problem_id, 10 + problem_order
    from {{ source('config', 'cfg_plan_problem') }}
),

cells as (
    select
        counted.measure_id,
        counted.quarter_end,
        counted.ward_code,
        count(*) as families,
        sum(record_keys.record_key) % 256 as cell_key
    from counted_families as counted
    inner join record_keys using (family_key)
    group by all
),

known_counts as (
    select quarter_end, ward_code, families as families_known
    from cells where measure_id = 'families_known'
)

select
    measures.measure_id,
    measures.measure_order,
    quarters.quarter_start,
    quarters.quarter_end,
    wards.ward_code,
    coalesce(cells.families, 0) as families,
    coalesce(cells.cell_key, 0) as cell_key,
    coalesce(known_counts.families_known, 0) as families_known,
    wards.population_0_15
from measures
cross join quarters
cross join wards
left join cells
    on cells.measure_id = measures.measure_id
    and cells.quarter_end = quarters.quarter_end
    and cells.ward_code = wards.ward_code
left join known_counts
    on known_counts.quarter_end = quarters.quarter_end and known_counts.ward_code = wards.ward_code
